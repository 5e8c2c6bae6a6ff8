"""In-memory adapters of the service port (exchange.service.ports.UnitOfWork), for unit tests without a database.

`FakeBooks` is what the store would hold; `FakeUnitOfWork(books)` is one unit of work on it. The
fakes keep the store's own guards where a rule leans on them: a state change is refused (an
AssertionError, as the SQL repositories raise) when the record moved meanwhile, and the limit
figures are computed with the same definitions (exchange.domain.limits) the store's SQL read is
tested against.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from exchange.domain import agreements as agreement_rules
from exchange.domain.accruals import Award, AwardState
from exchange.domain.agreements import Agreement, AgreementStatus
from exchange.domain.audit import AuditEvent
from exchange.domain.conversions import Conversion, ConversionParties, Quote, Reversal
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin, OriginKind
from exchange.domain.ledger import LedgerTransaction, Posting, money_positions, totals_by_currency
from exchange.domain.limits import LimitFigures, LimitReading, conversions_since, converted_today
from exchange.domain.money import Ratio
from exchange.domain.partners import Partner, PartnerStatus
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

    def postings(self) -> list[Posting]:
        """Every posting of the ledger, in order."""
        return [posting for transaction in self.ledger for posting in transaction.postings]


def assert_consistent(books: FakeBooks) -> None:
    """The invariants every command keeps, whatever it did.

    The ledger balances in every currency and so do the money positions (what one brand is owed,
    another owes); every instruction's origin names a record in the books, and the instruction
    went to the brand that origin gives that kind of work to.
    """
    postings = books.postings()
    assert all(total == 0 for total in totals_by_currency(postings).values()), totals_by_currency(postings)
    money: dict[str, int] = defaultdict(int)
    for (_, currency), position in money_positions(postings).items():
        money[currency] += position
    assert all(total == 0 for total in money.values()), dict(money)
    for instruction in books.instructions.values():
        assert _addressee_of(books, instruction) == instruction.partner_id, instruction


def _addressee_of(books: FakeBooks, instruction: Instruction) -> str | None:
    """The brand the instruction's origin gives it to, or None when the origin is not in the books."""
    origin = instruction.origin
    if origin.kind is OriginKind.REVERSAL:
        reversed_ = books.conversions.get(origin.reversed_conversion_id)
        found = reversed_ is not None and any(r.reversal_id == origin.id for r in reversed_.reversals)
        return reversed_.source_partner_id if reversed_ is not None and found else None
    if origin.kind is OriginKind.CONVERSION:
        conversion = books.conversions.get(origin.id)
        if conversion is None:
            return None
        refunds = instruction.kind is InstructionKind.REFUND
        return conversion.source_partner_id if refunds else conversion.target_partner_id
    if origin.kind is OriginKind.HOLD:
        hold = books.holds.get(origin.id)
        return hold.source_partner_id if hold is not None else None
    if origin.kind is OriginKind.AWARD:
        award = books.awards.get(origin.id)
        return award.issuer_partner_id if award is not None else None
    return None  # an origin FakeBooks does not hold


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


# --- records to fill FakeBooks with ------------------------------------------------------------------------

BOOKS_NOW = 1_800_000_000_000
BOOKS_DAY_MS = 86_400_000


def brand(partner_id: str, currency: str, status: PartnerStatus = PartnerStatus.ACTIVE) -> Partner:
    """An active brand whose points are worth half a minor unit; its point currency is its id's first 4 letters."""
    return Partner(
        partner_id=partner_id,
        display_name=partner_id.title(),
        point_currency=partner_id[:4].upper(),
        settlement_currency=currency,
        point_value_minor=Ratio(1, 2),
        status=status,
        keys=(),
        created_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
        status_changed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
    )


def stride_to_volt_agreement(**changes: object) -> Agreement:
    """stride -> volt at 3/2, 100 to 10,000 points by 10, 1% fee, half a penny per volt point, in force 30 days."""
    terms = agreement_rules.validate_terms(
        source_partner_id="stride",
        target_partner_id="volt",
        version=1,
        rate=(3, 2),
        min_source_points=100,
        max_source_points=10_000,
        source_increment=10,
        member_daily_cap_source_points=5_000,
        fee_basis_points=100,
        fee_fixed_points=None,
        valid_from_ms=BOOKS_NOW - BOOKS_DAY_MS,
        valid_until_ms=BOOKS_NOW + 30 * BOOKS_DAY_MS,
        settlement_price_minor=(1, 2),
        settlement_currency="GBP",
    )
    agreement = Agreement(
        agreement_id="agr-1",
        terms=terms,
        status=AgreementStatus.ACTIVE,
        document=b"",
        proposer_key_id="k1",
        proposer_signature=b"",
        proposed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
        status_changed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
    )
    return replace(agreement, **changes)  # type: ignore[arg-type]


def pending_award(books: FakeBooks, award_id: str = "awd-1", *, deadline_ms: int, delivered: int = 0) -> Award:
    """Put a PENDING_CREDIT award of volt (awarder) for 300 stride points (150 minor GBP) and its credit in the books.

    Awards are made on a connection (exchange.service.accruals.award), not a unit of work: a unit
    test builds the records that command would have written.
    """
    award = Award(
        award_id=award_id,
        agreement_id="acc-1",
        awarder_partner_id="volt",
        issuer_partner_id="stride",
        awarder_pairwise_id="pw-1",
        issuer_member_ref="s-1",
        activity_type="ride",
        activity_reference=f"ride-{award_id}",
        points=300,
        settlement_amount_minor=150,
        settlement_currency="GBP",
        state=AwardState.PENDING_CREDIT,
        created_at_ms=deadline_ms - 900_000,
        credit_deadline_ms=deadline_ms,
    )
    books.awards[award_id] = award
    credit = Instruction(
        instruction_id=f"ins-{award_id}",
        partner_id="stride",
        kind=InstructionKind.CREDIT,
        state=InstructionState.PENDING,
        member_ref="s-1",
        points=300,
        point_currency="STRI",
        origin=Origin.award(award_id),
        created_at_ms=award.created_at_ms,
        deadline_ms=deadline_ms,
        delivery_count=delivered,
    )
    books.instructions[credit.instruction_id] = credit
    return award
