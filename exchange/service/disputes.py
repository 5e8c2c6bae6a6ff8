"""Dispute commands: open, answer, decide, read; an award is posted into the open period."""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.domain import disputes as rules
from exchange.domain.disputes import Dispute, DisputeState
from exchange.domain.errors import InvalidArgument, NotFound
from exchange.domain.ledger import adjustment_transaction
from exchange.service import settlement
from exchange.service.authentication import Caller
from exchange.service.paging import decode_cursor, encode_cursor, page_limit
from exchange.store.disputes_repo import DisputeRepository
from exchange.store.ids import new_id
from exchange.store.ledger_repo import LedgerRepository
from exchange.store.settlement_repo import SettlementRepository
from partner_sdk.settlement import StatementDocument


def open_dispute(
    connection: Connection,
    caller: Caller,
    *,
    movement_id: str,
    statement_id: str,
    counterparty: str,
    currency: str,
    claimed_amount_minor: int,
    reason: str,
    evidence: str,
    now_ms: int,
) -> Dispute:
    """Open a dispute on a movement the caller is party to, or on a line of one of its statements."""
    claimed, reason, evidence = rules.parse_claim(claimed_amount_minor, reason, evidence)
    if movement_id and statement_id:
        raise InvalidArgument("MOVEMENT_OR_STATEMENT", "name a movement or a statement line, not both")
    repository = SettlementRepository(connection)
    if movement_id:
        stored = repository.get_movement(movement_id)
        if stored is None or caller.principal not in (
            stored.movement.source_partner_id,
            stored.movement.target_partner_id,
        ):
            raise NotFound("MOVEMENT_NOT_FOUND", f"no movement {movement_id!r} of yours", field="movement_id")
        source, target = stored.movement.source_partner_id, stored.movement.target_partner_id
        other = target if source == caller.principal else source
        period_id, currency = stored.period_id, stored.movement.currency
    elif statement_id:
        statement = settlement.get_statement(connection, caller, statement_id)
        lines = StatementDocument.from_json(statement.document).counterparties
        if not any(line.counterparty == counterparty and line.currency == currency for line in lines):
            raise NotFound(
                "STATEMENT_LINE_NOT_FOUND",
                f"{statement_id} has no line for {counterparty!r} in {currency!r}",
                field="counterparty",
            )
        other, period_id = counterparty, statement.period_id
    else:
        raise InvalidArgument("MOVEMENT_OR_STATEMENT", "name the movement or the statement line disputed")
    dispute = Dispute(
        dispute_id=new_id("dsp"),
        opened_by=caller.principal,
        counterparty=other,
        movement_id=movement_id,
        statement_id=statement_id,
        period_id=period_id,
        currency=currency,
        claimed_amount_minor=claimed,
        reason=reason,
        evidence=evidence,
        state=DisputeState.OPEN,
        respond_by_ms=now_ms + rules.RESPONSE_WINDOW_MS,
        opened_at_ms=now_ms,
        updated_at_ms=now_ms,
    )
    DisputeRepository(connection).add(dispute)
    return dispute


def get(connection: Connection, caller: Caller, dispute_id: str) -> Dispute:
    """Return a dispute the caller is party to (the operator: any)."""
    found = DisputeRepository(connection).get(dispute_id)
    return rules.require_visible(found, caller.principal, dispute_id, is_operator=caller.is_operator)


def respond(
    connection: Connection, caller: Caller, *, dispute_id: str, accept: bool, note: str, now_ms: int
) -> Dispute:
    """The counterparty accepts (the claim is posted) or contests (the operator decides)."""
    dispute = get(connection, caller, dispute_id)
    answered = rules.respond(dispute, caller.principal, accept=accept, note=note, now_ms=now_ms)
    return _finish(connection, dispute, answered, now_ms)


def resolve(
    connection: Connection, caller: Caller, *, dispute_id: str, awarded_amount_minor: int, note: str, now_ms: int
) -> Dispute:
    """The operator decides; whatever is awarded is posted into the open period."""
    dispute = get(connection, caller, dispute_id)
    decided = rules.resolve(dispute, awarded_amount_minor=awarded_amount_minor, note=note, now_ms=now_ms)
    return _finish(connection, dispute, decided, now_ms)


def _finish(connection: Connection, before: Dispute, after: Dispute, now_ms: int) -> Dispute:
    movement = (
        rules.adjustment(after, now_ms) if after.state in (DisputeState.ACCEPTED, DisputeState.RESOLVED) else None
    )
    if movement is not None:
        period_id = settlement.record_movement(SettlementRepository(connection), movement)
        LedgerRepository(connection).post(
            adjustment_transaction(
                movement.movement_id,
                payer=movement.source_partner_id,
                payee=movement.target_partner_id,
                currency=movement.currency,
                amount=movement.amount_minor,
            ),
            now_ms,
        )
        after = rules.with_adjustment(after, movement.movement_id, period_id)
    DisputeRepository(connection).save(before, after)
    return after


def list_page(
    connection: Connection, caller: Caller, *, state: DisputeState | None, page_size: int, page_token: str
) -> tuple[list[Dispute], str]:
    """Return a page of the caller's disputes (the operator: all), newest first."""
    limit = page_limit(page_size)
    found = DisputeRepository(connection).list_page(
        None if caller.is_operator else caller.principal, state=state, before=decode_cursor(page_token), limit=limit + 1
    )
    page = found[:limit]
    return page, encode_cursor(page[-1].opened_at_ms, page[-1].dispute_id) if len(found) > limit else ""
