"""Settlement commands: record movements, close periods with signed statements, record payments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.ledger import payment_transaction
from exchange.domain.partners import parse_text
from exchange.domain.settlement import (
    GENESIS_SHA256,
    Movement,
    PairTotals,
    Period,
    PeriodState,
    StatementParty,
    net_positions,
    payment_instructions,
    period_id_of,
    require_cutoff,
    statement_document,
    statement_id_of,
)
from exchange.service.authentication import Caller
from exchange.service.paging import decode_key_cursor, encode_key_cursor, page_limit, token_int
from exchange.service.ports import MovementBook
from exchange.store.ids import new_id
from exchange.store.ledger_repo import LedgerRepository
from exchange.store.partners_repo import PartnerRepository
from exchange.store.settlement_repo import (
    InstructionStatus,
    SettlementRepository,
    StoredMovement,
    StoredPayment,
    StoredStatement,
)
from partner_sdk.settlement import canonical_json, document_sha256, statement_message

PAYMENT_REFERENCE_MAX = 128
MOVEMENT_PAGE_DEFAULT = 500
MOVEMENT_PAGE_MAX = 1000


@dataclass(frozen=True, slots=True)
class StatementSigner:
    """The hub key that signs statements."""

    key_id: str
    sign: Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class Closing:
    """The outcome of a close: the closed period, the open one, and whether this call closed it."""

    period: Period
    next_period: Period
    closed_now: bool


def record_movement(book: MovementBook, movement: Movement) -> str:
    """Append a completed movement to the open period, in the caller's transaction; return the period id.

    Reading the open period here is what makes a close and a movement serialise: either the
    movement commits first and the close sees it, or it lands in the next period.
    """
    period = book.open_period()
    book.add_movement(movement, period.period_id)
    return period.period_id


def close_period(
    connection: Connection, *, period_id: str, cutoff_ms: int | None, now_ms: int, actor: str, signer: StatementSigner
) -> Closing:
    """Close the open period at a cut-off: move later movements on, sign every brand's statement, net payments."""
    repository = SettlementRepository(connection)
    period = repository.get_period(period_id)
    if period is None:
        raise NotFound("PERIOD_NOT_FOUND", f"no period {period_id!r}", field="period_id")
    if period.state is PeriodState.CLOSED:
        return Closing(period, repository.open_period(), closed_now=False)
    cutoff = now_ms if cutoff_ms is None else cutoff_ms
    require_cutoff(period, cutoff, now_ms)
    following = Period(
        period_id_of(period.number + 1), period.number + 1, PeriodState.OPEN, cutoff, None, None, "", 0, 0
    )
    repository.add_period(following)
    repository.move_from_cutoff(period.period_id, following.period_id, cutoff)
    totals = repository.pair_totals(period.period_id)
    closed = replace(
        period,
        state=PeriodState.CLOSED,
        cutoff_ms=cutoff,
        closed_at_ms=now_ms,
        closed_by=actor,
        movement_count=sum(t.movements for t in totals),
    )
    positions = net_positions(totals)
    instructions = payment_instructions(period.number, positions)
    outstanding = repository.outstanding_instructions()
    heads = repository.chain_heads()
    partners = PartnerRepository(connection)
    brands = [
        b
        for b in (
            partners.get(i) for i in sorted(_statement_brands(totals, heads) | set(repository.admitted_partners()))
        )
        if b is not None
    ]
    for brand in brands:
        sequence, previous = heads.get(brand.partner_id, (0, GENESIS_SHA256))
        party = StatementParty(brand.partner_id, brand.display_name, brand.point_currency, sequence + 1, previous)
        value = statement_document(
            party=party,
            period=closed,
            hub_key_id=signer.key_id,
            totals=totals,
            positions=positions,
            instructions=instructions,
            outstanding=outstanding,
        )
        document = canonical_json(value)
        repository.add_statement(
            StoredStatement(
                statement_id=statement_id_of(period.number, brand.partner_id),
                partner_id=brand.partner_id,
                period_id=period.period_id,
                period_number=period.number,
                sequence=party.sequence,
                document=document,
                document_sha256=document_sha256(document),
                previous_statement_sha256=previous,
                signature=signer.sign(statement_message(document)),
                hub_key_id=signer.key_id,
            )
        )
    repository.add_instructions(period.period_id, instructions)
    closed = replace(closed, statement_count=len(brands))
    repository.mark_closed(closed)
    return Closing(closed, following, closed_now=True)


def _statement_brands(totals: list[PairTotals], heads: dict[str, tuple[int, str]]) -> set[str]:
    """Brands with movements this period or a chain already (even if no longer admitted)."""
    return {t.source_partner_id for t in totals} | {t.target_partner_id for t in totals} | set(heads)


def get_period(connection: Connection, period_id: str) -> Period:
    """Return a period (the open one for an empty id), with its live movement count while open."""
    repository = SettlementRepository(connection)
    period = repository.open_period() if not period_id else repository.get_period(period_id)
    if period is None:
        raise NotFound("PERIOD_NOT_FOUND", f"no period {period_id!r}", field="period_id")
    if period.state is PeriodState.OPEN:
        period = replace(period, movement_count=repository.count_movements(period.period_id))
    return period


def list_periods(connection: Connection, *, page_size: int, page_token: str) -> tuple[list[Period], str]:
    """Return a page of periods, newest first."""
    limit = page_limit(page_size)
    after = decode_key_cursor(page_token)
    before = token_int(after) if after else None
    found = SettlementRepository(connection).list_periods(before_number=before, limit=limit + 1)
    page = found[:limit]
    return page, encode_key_cursor(str(page[-1].number)) if len(found) > limit else ""


def get_statement(connection: Connection, caller: Caller, statement_id: str) -> StoredStatement:
    """Return a statement: a brand sees its own, the operator every one."""
    found = SettlementRepository(connection).get_statement(statement_id)
    if found is None or not (caller.is_operator or found.partner_id == caller.principal):
        raise NotFound("STATEMENT_NOT_FOUND", f"no statement {statement_id!r}", field="statement_id")
    return found


def list_statements(
    connection: Connection, caller: Caller, *, partner_id: str, page_size: int, page_token: str
) -> tuple[list[StoredStatement], str]:
    """Return a page of statements, newest period first."""
    if not caller.is_operator:
        if partner_id not in ("", caller.principal):
            raise PermissionDenied("NOT_YOUR_STATEMENTS", "a brand lists only its own statements")
        partner_id = caller.principal
    limit = page_limit(page_size)
    after = decode_key_cursor(page_token)
    before = None
    if after:
        number, _, partner = after.partition(":")
        before = (token_int(number), partner)
    found = SettlementRepository(connection).list_statements(partner_id or None, before=before, limit=limit + 1)
    page = found[:limit]
    token = encode_key_cursor(f"{page[-1].period_number}:{page[-1].partner_id}") if len(found) > limit else ""
    return page, token


def statement_movements(
    connection: Connection, caller: Caller, *, statement_id: str, page_size: int, page_token: str
) -> tuple[list[StoredMovement], str]:
    """Return a page of the movements behind a statement, in the order they were written."""
    statement = get_statement(connection, caller, statement_id)
    limit = page_limit(page_size, default=MOVEMENT_PAGE_DEFAULT, maximum=MOVEMENT_PAGE_MAX)
    after = decode_key_cursor(page_token)
    found = SettlementRepository(connection).partner_movements(
        statement.period_id, statement.partner_id, after_seq=token_int(after) if after else 0, limit=limit + 1
    )
    page = found[:limit]
    return page, encode_key_cursor(str(page[-1].seq)) if len(found) > limit else ""


def statement_instructions(connection: Connection, statement: StoredStatement) -> list[InstructionStatus]:
    """Return the live state of the statement period's instructions its brand pays or receives."""
    return SettlementRepository(connection).instruction_statuses(
        partner_id=statement.partner_id,
        period_id=statement.period_id,
        outstanding_only=False,
        after_id="",
        limit=MOVEMENT_PAGE_MAX,
    )


def list_instructions(
    connection: Connection,
    caller: Caller,
    *,
    period_id: str,
    outstanding_only: bool,
    page_size: int,
    page_token: str,
) -> tuple[list[InstructionStatus], str]:
    """Return a page of the payment instructions the caller pays or receives (the operator: all)."""
    limit = page_limit(page_size)
    found = SettlementRepository(connection).instruction_statuses(
        partner_id=None if caller.is_operator else caller.principal,
        period_id=period_id or None,
        outstanding_only=outstanding_only,
        after_id=decode_key_cursor(page_token),
        limit=limit + 1,
    )
    page = found[:limit]
    return page, encode_key_cursor(page[-1].instruction.instruction_id) if len(found) > limit else ""


def record_payment(
    connection: Connection, caller: Caller, *, instruction_id: str, amount_minor: int, reference: str, now_ms: int
) -> InstructionStatus:
    """Record a payment against an instruction (by its payer, its payee or the operator) and post it."""
    repository = SettlementRepository(connection)
    status = repository.get_instruction(instruction_id)
    parties = (status.instruction.payer, status.instruction.payee) if status else ()
    if status is None or not (caller.is_operator or caller.principal in parties):
        raise NotFound("INSTRUCTION_NOT_FOUND", f"no payment instruction {instruction_id!r}", field="instruction_id")
    reference = parse_text(reference, field="payment_reference", max_length=PAYMENT_REFERENCE_MAX)
    if amount_minor <= 0:
        raise InvalidArgument("INVALID_AMOUNT", "amount_minor must be greater than zero", field="amount_minor")
    if amount_minor > status.outstanding_minor:
        raise FailedPrecondition(
            "PAYMENT_EXCEEDS_OUTSTANDING",
            f"{instruction_id} has {status.outstanding_minor} minor units outstanding; {amount_minor} is too much",
            field="amount_minor",
        )
    payment = StoredPayment(new_id("pmt"), instruction_id, amount_minor, reference, caller.principal, now_ms)
    repository.add_payment(payment, status.paid_minor)
    order = status.instruction
    LedgerRepository(connection).post(
        payment_transaction(
            payment.payment_id, payer=order.payer, payee=order.payee, currency=order.currency, amount=amount_minor
        ),
        now_ms,
    )
    updated = repository.get_instruction(instruction_id)
    assert updated is not None
    return updated
