"""In-memory adapters of the service port (exchange.service.ports.UnitOfWork), for unit tests without a database.

`FakeBooks` is what the store would hold; `FakeUnitOfWork(books)` is one unit of work on it. The
fakes keep the store's own guards where a rule leans on them: a state change is refused (an
AssertionError, as the SQL repositories raise) when the record moved meanwhile, and the limit
figures are computed with the same definitions (exchange.domain.limits) the store's SQL read is
tested against.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from exchange.domain.accruals import Award
from exchange.domain.agreements import Agreement
from exchange.domain.audit import AuditEvent
from exchange.domain.conversions import Conversion, ConversionParties, Quote, Reversal
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import LedgerTransaction, money_positions
from exchange.domain.limits import LimitFigures, LimitReading, conversions_since, converted_today
from exchange.domain.partners import Partner
from exchange.domain.redemptions import Hold
from exchange.domain.settlement import Movement, Period, PeriodState


@dataclass
class FakeBooks:
    """Everything the money path's stores hold, in memory."""

    partners: dict[str, Partner] = field(default_factory=dict)
    agreements: list[Agreement] = field(default_factory=list)
    quotes: dict[str, Quote] = field(default_factory=dict)
    conversions: dict[str, Conversion] = field(default_factory=dict)
    ledger: list[LedgerTransaction] = field(default_factory=list)
    instructions: dict[str, Instruction] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    awards: dict[str, Award] = field(default_factory=dict)
    movements: list[tuple[str, Movement]] = field(default_factory=list)  # (period id, movement)
    audit: list[AuditEvent] = field(default_factory=list)
    period: Period = field(
        default_factory=lambda: Period(
            period_id="per-1",
            number=1,
            state=PeriodState.OPEN,
            opened_at_ms=0,
            cutoff_ms=None,
            closed_at_ms=None,
            closed_by="",
            movement_count=0,
            statement_count=0,
        )
    )

    def instructions_for(self, partner_id: str) -> list[Instruction]:
        """The partner's instructions, oldest first."""
        return [i for i in self.instructions.values() if i.partner_id == partner_id]


class FakeConversionStore:
    """Quotes, conversions and reversals in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add_quote(self, quote: Quote) -> None:
        assert quote.quote_id not in self.books.quotes
        self.books.quotes[quote.quote_id] = quote

    def get_quote(self, quote_id: str) -> Quote | None:
        return self.books.quotes.get(quote_id)

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

    def get(self, conversion_id: str) -> Conversion | None:
        return self.books.conversions.get(conversion_id)

    def save_state(self, before: Conversion, after: Conversion) -> None:
        assert self.books.conversions[after.conversion_id].state is before.state, "the conversion changed state"
        self.books.conversions[after.conversion_id] = after

    def add_reversal(self, conversion_id: str, reversal: Reversal) -> None:
        conversion = self.books.conversions[conversion_id]
        self.books.conversions[conversion_id] = replace(conversion, reversals=(*conversion.reversals, reversal))


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


class FakePartners:
    """The registry in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def get(self, partner_id: str) -> Partner | None:
        return self.books.partners.get(partner_id)

    def get_pair(self, first: str, second: str) -> tuple[Partner | None, Partner | None]:
        return self.books.partners.get(first), self.books.partners.get(second)


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
        assert instruction.instruction_id not in self.books.instructions
        self.books.instructions[instruction.instruction_id] = instruction

    def get(self, instruction_id: str) -> Instruction | None:
        return self.books.instructions.get(instruction_id)

    def save(self, instruction: Instruction) -> None:
        assert instruction.instruction_id in self.books.instructions
        self.books.instructions[instruction.instruction_id] = instruction

    def pending_credit_of(self, origin: Origin) -> Instruction | None:
        return next(
            (
                i
                for i in self.books.instructions.values()
                if i.origin == origin and i.kind is InstructionKind.CREDIT and i.state is InstructionState.PENDING
            ),
            None,
        )


class FakeHolds:
    """Holds in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add(self, hold: Hold) -> None:
        assert hold.hold_id not in self.books.holds
        self.books.holds[hold.hold_id] = hold

    def get(self, hold_id: str) -> Hold | None:
        return self.books.holds.get(hold_id)

    def save(self, before: Hold, after: Hold) -> None:
        stored = self.books.holds[after.hold_id]
        assert (stored.state, stored.captured_points) == (before.state, before.captured_points), "the hold changed"
        self.books.holds[after.hold_id] = after


class FakeAwards:
    """Awards in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def get_award(self, award_id: str) -> Award | None:
        return self.books.awards.get(award_id)

    def save_award(self, before: Award, after: Award) -> None:
        assert self.books.awards[before.award_id].state is before.state, "the award changed"
        self.books.awards[after.award_id] = after


class FakeMovementBook:
    """The open settlement period and its movements in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def open_period(self) -> Period:
        return self.books.period

    def add_movement(self, movement: Movement, period_id: str) -> None:
        assert all(m.movement_id != movement.movement_id for _, m in self.books.movements)
        self.books.movements.append((period_id, movement))


class FakeAuditLog:
    """The audit log in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def append(
        self,
        *,
        at_ms: int,
        actor: str,
        action: str,
        subject: str = "",
        request_sha256: str = "",
        response_sha256: str = "",
    ) -> None:
        seq = len(self.books.audit) + 1
        self.books.audit.append(AuditEvent(seq, at_ms, actor, action, subject, request_sha256, response_sha256))


class FakeUnitOfWork:
    """One unit of work on FakeBooks (exchange.service.ports.UnitOfWork)."""

    def __init__(self, books: FakeBooks) -> None:
        self.conversions = FakeConversionStore(books)
        self.agreements = FakeAgreementReader(books)
        self.partners = FakePartners(books)
        self.ledger = FakeLedger(books)
        self.instructions = FakeInstructions(books)
        self.holds = FakeHolds(books)
        self.awards = FakeAwards(books)
        self.movements = FakeMovementBook(books)
        self.audit = FakeAuditLog(books)
