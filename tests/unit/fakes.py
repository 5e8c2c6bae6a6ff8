"""In-memory adapters of the service ports (exchange.service.ports), for service unit tests without a database.

`FakeBooks` is what the store would hold; `FakeConversionWork(books)` is one unit of work on it,
computing the limit figures with the same definitions (exchange.domain.limits) the store's
SQL read is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from exchange.domain.agreements import Agreement
from exchange.domain.conversions import Conversion, ConversionParties, Quote
from exchange.domain.instructions import Instruction
from exchange.domain.ledger import LedgerTransaction, money_positions
from exchange.domain.limits import LimitFigures, LimitReading, conversions_since, converted_today
from exchange.domain.partners import Partner


@dataclass
class FakeBooks:
    """Everything the money path's stores hold, in memory."""

    partners: dict[str, Partner] = field(default_factory=dict)
    agreements: list[Agreement] = field(default_factory=list)
    quotes: dict[str, Quote] = field(default_factory=dict)
    conversions: dict[str, Conversion] = field(default_factory=dict)
    ledger: list[LedgerTransaction] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)


class FakeQuoteAndConversionStore:
    """Quotes and conversions in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add_quote(self, quote: Quote) -> None:
        assert quote.quote_id not in self.books.quotes
        self.books.quotes[quote.quote_id] = quote

    def lock_for_conversion(self, source: str, quote_id: str) -> ConversionParties:
        quote = self.books.quotes.get(quote_id)
        agreement = None
        target = None
        if quote is not None:
            agreement = next((a for a in self.books.agreements if a.agreement_id == quote.agreement_id), None)
            target = self.books.partners.get(quote.target_partner_id)
        return ConversionParties(self.books.partners[source], quote, agreement, target)

    def limit_reading(
        self, source: str, target: str, member_ref: str, *, day: int, since_ms: int, currency: str, quote_id: str
    ) -> LimitReading:
        records = list(self.books.conversions.values())
        postings = [posting for transaction in self.books.ledger for posting in transaction.postings]
        figures = LimitFigures(
            converted_today=converted_today(records, source=source, target=target, member_ref=member_ref, day=day),
            conversions_since=conversions_since(records, source=source, member_ref=member_ref, since_ms=since_ms),
            money_position=money_positions(postings).get((source, currency), 0),
        )
        quote = self.books.quotes.get(quote_id)
        return LimitReading(figures, quote.used_by if quote else None)

    def mark_quote_used(self, quote_id: str, conversion_id: str) -> None:
        self.books.quotes[quote_id] = replace(self.books.quotes[quote_id], used_by=conversion_id)

    def add(self, conversion: Conversion) -> None:
        assert conversion.conversion_id not in self.books.conversions
        self.books.conversions[conversion.conversion_id] = conversion


class FakeAgreementReader:
    """Agreements in FakeBooks: the newest ACTIVE one of a pair is the one in force."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def active_for(self, source: str, target: str) -> Agreement | None:
        pair = [
            a
            for a in self.books.agreements
            if (a.terms.source_partner_id, a.terms.target_partner_id) == (source, target) and a.status.value == "ACTIVE"
        ]
        return max(pair, key=lambda a: a.terms.version, default=None)


class FakeLedger:
    """The ledger in FakeBooks (every transaction balanced, as the domain builds them)."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def post(self, transaction: LedgerTransaction, at_ms: int) -> str:
        self.books.ledger.append(transaction)
        return f"txn-{len(self.books.ledger)}"


class FakeInstructions:
    """Instructions in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add(self, instruction: Instruction) -> None:
        self.books.instructions.append(instruction)


class FakeConversionWork:
    """One unit of work of the conversion commands on FakeBooks (exchange.service.ports.ConversionWork)."""

    def __init__(self, books: FakeBooks) -> None:
        self.conversions = FakeQuoteAndConversionStore(books)
        self.agreements = FakeAgreementReader(books)
        self.ledger = FakeLedger(books)
        self.instructions = FakeInstructions(books)
