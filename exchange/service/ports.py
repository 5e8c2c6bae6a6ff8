"""What the money path's services need from storage, as Protocols: the seam under the services.

A service command takes a `ConversionWork`: one unit of work (one transaction) exposing the
repositories it reads and writes. The SQL adapter is exchange.store.unit_of_work.SqlConversionWork
over a connection the api's call pipeline opened (isolation, group commit and retries stay
there); tests/unit/fakes.py holds an in-memory one, so every rule and refusal of the money path
runs in a unit test without a database.

The Protocols name only what the services call; a repository may offer more.
"""

from __future__ import annotations

from typing import Protocol

from exchange.domain.agreements import Agreement
from exchange.domain.conversions import Conversion, ConversionParties, Quote
from exchange.domain.instructions import Instruction
from exchange.domain.ledger import LedgerTransaction
from exchange.domain.limits import LimitReading


class QuoteAndConversionStore(Protocol):
    """Quotes and conversions."""

    def add_quote(self, quote: Quote) -> None:
        """Keep a new quote."""
        ...

    def lock_for_conversion(self, source: str, quote_id: str) -> ConversionParties:
        """Lock the source brand's row; read the quote, its agreement and the target brand."""
        ...

    def limit_reading(
        self, source: str, target: str, member_ref: str, *, day: int, since_ms: int, currency: str, quote_id: str
    ) -> LimitReading:
        """Read the figures of the three limits (exchange.domain.limits) and the quote's use, together."""
        ...

    def mark_quote_used(self, quote_id: str, conversion_id: str) -> None:
        """Record that the quote was used by the conversion (a quote converts once)."""
        ...

    def add(self, conversion: Conversion) -> None:
        """Keep a new conversion with its first event."""
        ...


class AgreementReader(Protocol):
    """Agreements in force."""

    def active_for(self, source: str, target: str) -> Agreement | None:
        """The agreement in force from source to target, if any."""
        ...


class LedgerWriter(Protocol):
    """The double-entry ledger."""

    def post(self, transaction: LedgerTransaction, at_ms: int) -> str:
        """Post a balanced transaction; return its id."""
        ...


class InstructionWriter(Protocol):
    """Instructions to brands."""

    def add(self, instruction: Instruction) -> None:
        """Queue a new instruction for its brand."""
        ...


class ConversionWork(Protocol):
    """One transaction of the conversion commands: the repositories they use, all on it."""

    @property
    def conversions(self) -> QuoteAndConversionStore:
        """Quotes and conversions."""
        ...

    @property
    def agreements(self) -> AgreementReader:
        """Agreements."""
        ...

    @property
    def ledger(self) -> LedgerWriter:
        """The ledger."""
        ...

    @property
    def instructions(self) -> InstructionWriter:
        """Instructions."""
        ...
