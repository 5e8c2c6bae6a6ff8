"""SettlementService: periods, statements and their movements, payments, reconciliation, disputes.

Statements come back as partner_sdk.settlement.Statement and are verified offline with
verify_statement / verify_chain; movements page in the hub's order and export through
partner_sdk.settlement_csv and partner_sdk.settlement_html without ever being held in memory.
Both clients have these calls (closing a period and resolving a dispute are the operator's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from coalition.exchange.v1 import settlement_pb2 as pb
from partner_sdk._client.connection import Connection, new_key
from partner_sdk._convert import Names, to_datetime, to_timestamp
from partner_sdk._models import Page, every_page
from partner_sdk._settlement_models import (
    BreakKind,
    Dispute,
    DisputeState,
    MovementValues,
    Period,
    PeriodState,
    ReconciliationBreak,
    ReconciliationReport,
)
from partner_sdk.settlement import (
    Movement,
    MovementKind,
    PaymentInstructionStatus,
    PaymentRecord,
    PaymentState,
    Statement,
)

_SETTLEMENT = "/coalition.exchange.v1.SettlementService/"
RECONCILIATION_PART_BYTES = 512 * 1024
_PERIOD_STATE: Names[PeriodState] = Names(PeriodState, pb.PeriodState, "PERIOD_STATE_")
_MOVEMENT_KIND: Names[MovementKind] = Names(MovementKind, pb.MovementKind, "MOVEMENT_KIND_")
_PAYMENT_STATE: Names[PaymentState] = Names(PaymentState, pb.PaymentState, "PAYMENT_STATE_")
_DISPUTE_STATE: Names[DisputeState] = Names(DisputeState, pb.DisputeState, "DISPUTE_STATE_")
_BREAK_KIND: Names[BreakKind] = Names(BreakKind, pb.BreakKind, "BREAK_KIND_")


def _period(m: pb.Period) -> Period:
    return Period(
        period_id=m.period_id,
        number=m.number,
        state=_PERIOD_STATE.of(m.state),
        opened_at=to_datetime(m.opened_at),
        cutoff=to_datetime(m.cutoff) if m.HasField("cutoff") else None,
        closed_at=to_datetime(m.closed_at) if m.HasField("closed_at") else None,
        movement_count=m.movement_count,
        statement_count=m.statement_count,
    )


def _ms(stamp: object) -> int:
    return int(stamp.ToMilliseconds())  # type: ignore[attr-defined]


def _movement(m: pb.Movement) -> Movement:
    """Return the SDK movement for a protobuf one."""
    return Movement(
        movement_id=m.movement_id,
        kind=_MOVEMENT_KIND.of(m.kind),
        period_id=m.period_id,
        source_partner_id=m.source_partner_id,
        target_partner_id=m.target_partner_id,
        source_points=m.source_points,
        target_points=m.target_points,
        currency=m.currency,
        amount_minor=m.amount_minor,
        final_at_ms=_ms(m.final_at),
    )


def _instruction(m: pb.PaymentInstruction) -> PaymentInstructionStatus:
    return PaymentInstructionStatus(
        instruction_id=m.instruction_id,
        period_id=m.period_id,
        currency=m.currency,
        payer_partner_id=m.payer_partner_id,
        payee_partner_id=m.payee_partner_id,
        amount_minor=m.amount_minor,
        paid_minor=m.paid_minor,
        outstanding_minor=m.outstanding_minor,
        state=_PAYMENT_STATE.of(m.state),
        payments=tuple(
            PaymentRecord(p.payment_id, p.amount_minor, p.payment_reference, p.recorded_by, _ms(p.recorded_at))
            for p in m.payments
        ),
    )


def _statement(m: pb.Statement) -> Statement:
    return Statement(
        statement_id=m.statement_id,
        partner_id=m.partner_id,
        period_id=m.period_id,
        sequence=m.sequence,
        document=m.document,
        document_sha256=m.document_sha256,
        previous_statement_sha256=m.previous_statement_sha256,
        signature=m.signature,
        hub_key_id=m.hub_key_id,
        payment_instructions=tuple(_instruction(i) for i in m.payment_instructions),
    )


def _dispute(m: pb.Dispute) -> Dispute:
    return Dispute(
        dispute_id=m.dispute_id,
        opened_by=m.opened_by,
        counterparty=m.counterparty,
        movement_id=m.movement_id,
        statement_id=m.statement_id,
        period_id=m.period_id,
        currency=m.currency,
        claimed_amount_minor=m.claimed_amount_minor,
        reason=m.reason,
        evidence=m.evidence,
        state=_DISPUTE_STATE.of(m.state),
        respond_by=to_datetime(m.respond_by),
        response_note=m.response_note,
        awarded_amount_minor=m.awarded_amount_minor,
        resolution_note=m.resolution_note,
        adjustment_movement_id=m.adjustment_movement_id,
        adjustment_period_id=m.adjustment_period_id,
        opened_at=to_datetime(m.opened_at),
        updated_at=to_datetime(m.updated_at),
    )


def _report(m: pb.ReconciliationReport) -> ReconciliationReport:
    return ReconciliationReport(
        reconciliation_id=m.reconciliation_id,
        period_id=m.period_id,
        brand_lines=m.brand_lines,
        hub_movements=m.hub_movements,
        matched=m.matched,
        breaks=m.breaks,
        missing_at_hub=m.missing_at_hub,
        missing_at_brand=m.missing_at_brand,
        amount_mismatch=m.amount_mismatch,
        duplicate=m.duplicate,
        in_other_period=m.in_other_period,
    )


def _values(m: pb.ReconciliationBreak, side: str) -> MovementValues | None:
    if not m.HasField(side):
        return None
    v: pb.MovementValues = getattr(m, side)
    return MovementValues(
        _MOVEMENT_KIND.of_text(v.kind), v.period_id, v.source_points, v.target_points, v.currency, v.amount_minor
    )


def _break(m: pb.ReconciliationBreak) -> ReconciliationBreak:
    kind = _BREAK_KIND.of(m.kind)
    return ReconciliationBreak(kind, m.movement_id, m.line_number, _values(m, "hub"), _values(m, "brand"))


def _parts(lines: Iterable[str], limit: int) -> Iterator[bytes]:
    """Group whole lines into parts of at most ``limit`` bytes (a longer single line is its own part)."""
    part: list[bytes] = []
    size = 0
    for line in lines:
        encoded = (line.rstrip("\r\n") + "\r\n").encode("utf-8")
        if part and size + len(encoded) > limit:
            yield b"".join(part)
            part, size = [], 0
        part.append(encoded)
        size += len(encoded)
    if part:
        yield b"".join(part)


# periods (ClosePeriod is the operator's)


def close_period(
    self: Connection, period_id: str, *, cutoff: datetime | None = None, timeout_s: float | None = None
) -> tuple[Period, Period, bool]:
    """Close a period (operator only); return (closed period, open period, whether this call closed it)."""
    request = pb.ClosePeriodRequest(period_id=period_id)
    if cutoff is not None:
        request.cutoff.CopyFrom(to_timestamp(cutoff))
    answer = self.transport.call(_SETTLEMENT + "ClosePeriod", request, pb.ClosePeriodResponse, timeout_s=timeout_s)
    return _period(answer.period), _period(answer.next_period), answer.closed_now


def get_period(self: Connection, period_id: str = "", *, timeout_s: float | None = None) -> Period:
    """Return a period; the open one when period_id is empty."""
    answer = self.transport.call(
        _SETTLEMENT + "GetPeriod",
        pb.GetPeriodRequest(period_id=period_id),
        pb.GetPeriodResponse,
        timeout_s=timeout_s,
    )
    return _period(answer.period)


def list_periods(
    self: Connection, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
) -> Page[Period]:
    """Return a page of periods, newest first."""
    answer = self.transport.call(
        _SETTLEMENT + "ListPeriods",
        pb.ListPeriodsRequest(page_size=page_size, page_token=page_token),
        pb.ListPeriodsResponse,
        timeout_s=timeout_s,
    )
    return Page(tuple(_period(p) for p in answer.periods), answer.next_page_token)


# statements


def list_statements(
    self: Connection, *, partner_id: str = "", page_size: int = 0, page_token: str = "", timeout_s: float | None = None
) -> Page[Statement]:
    """Return a page of statements, newest period first (a brand: its own; the operator: any brand's)."""
    answer = self.transport.call(
        _SETTLEMENT + "ListStatements",
        pb.ListStatementsRequest(partner_id=partner_id, page_size=page_size, page_token=page_token),
        pb.ListStatementsResponse,
        timeout_s=timeout_s,
    )
    return Page(tuple(_statement(s) for s in answer.statements), answer.next_page_token)


def iter_statements(self: Connection, *, partner_id: str = "") -> Iterator[Statement]:
    """Yield every statement visible to the caller, newest period first."""
    return every_page(lambda token: list_statements(self, partner_id=partner_id, page_token=token))


def get_statement(self: Connection, statement_id: str, *, timeout_s: float | None = None) -> Statement:
    """Return a statement with the live state of its payment instructions."""
    answer = self.transport.call(
        _SETTLEMENT + "GetStatement",
        pb.GetStatementRequest(statement_id=statement_id),
        pb.GetStatementResponse,
        timeout_s=timeout_s,
    )
    return _statement(answer.statement)


def iter_statement_movements(self: Connection, statement_id: str, *, page_size: int = 1000) -> Iterator[Movement]:
    """Yield every movement behind a statement, a page at a time, in the hub's order."""

    def fetch(token: str) -> Page[Movement]:
        answer = self.transport.call(
            _SETTLEMENT + "ListStatementMovements",
            pb.ListStatementMovementsRequest(statement_id=statement_id, page_size=page_size, page_token=token),
            pb.ListStatementMovementsResponse,
        )
        return Page(tuple(_movement(m) for m in answer.movements), answer.next_page_token)

    return every_page(fetch)


# payments


def list_payment_instructions(
    self: Connection,
    *,
    period_id: str = "",
    outstanding_only: bool = False,
    page_size: int = 0,
    page_token: str = "",
    timeout_s: float | None = None,
) -> Page[PaymentInstructionStatus]:
    """Return a page of payment instructions the caller pays or receives (the operator: all)."""
    answer = self.transport.call(
        _SETTLEMENT + "ListPaymentInstructions",
        pb.ListPaymentInstructionsRequest(
            period_id=period_id, outstanding_only=outstanding_only, page_size=page_size, page_token=page_token
        ),
        pb.ListPaymentInstructionsResponse,
        timeout_s=timeout_s,
    )
    return Page(tuple(_instruction(i) for i in answer.instructions), answer.next_page_token)


def record_payment(
    self: Connection,
    instruction_id: str,
    amount_minor: int,
    *,
    payment_reference: str,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> PaymentInstructionStatus:
    """Record a payment made against an instruction; returns it with what is still outstanding."""
    answer = self.transport.call(
        _SETTLEMENT + "RecordPayment",
        pb.RecordPaymentRequest(
            instruction_id=instruction_id,
            amount_minor=amount_minor,
            payment_reference=payment_reference,
            idempotency_key=idempotency_key or new_key("k-"),
        ),
        pb.RecordPaymentResponse,
        timeout_s=timeout_s,
    )
    return _instruction(answer.instruction)


# reconciliation


def reconcile(
    self: Connection, period_id: str, lines: Iterable[str], *, part_bytes: int = RECONCILIATION_PART_BYTES
) -> ReconciliationReport:
    """Upload the brand's own record of a closed period (CSV lines) in parts; return the break report.

    A malformed part raises InvalidArgumentError naming each bad line; nothing of it is kept.
    """
    started = self.transport.call(
        _SETTLEMENT + "StartReconciliation",
        pb.StartReconciliationRequest(period_id=period_id),
        pb.StartReconciliationResponse,
    )
    rid = started.reconciliation_id
    for number, content in enumerate(_parts(lines, part_bytes), start=1):
        self.transport.call(
            _SETTLEMENT + "AddReconciliationPart",
            pb.AddReconciliationPartRequest(reconciliation_id=rid, part_number=number, content=content),
            pb.AddReconciliationPartResponse,
        )
    answer = self.transport.call(
        _SETTLEMENT + "FinishReconciliation",
        pb.FinishReconciliationRequest(reconciliation_id=rid),
        pb.FinishReconciliationResponse,
    )
    return _report(answer.report)


def iter_reconciliation_breaks(
    self: Connection, reconciliation_id: str, *, page_size: int = 500
) -> Iterator[ReconciliationBreak]:
    """Yield every break of a finished reconciliation, in order of movement id."""

    def fetch(token: str) -> Page[ReconciliationBreak]:
        answer = self.transport.call(
            _SETTLEMENT + "ListReconciliationBreaks",
            pb.ListReconciliationBreaksRequest(
                reconciliation_id=reconciliation_id, page_size=page_size, page_token=token
            ),
            pb.ListReconciliationBreaksResponse,
        )
        return Page(tuple(_break(b) for b in answer.breaks), answer.next_page_token)

    return every_page(fetch)


# disputes


def open_dispute(
    self: Connection,
    *,
    claimed_amount_minor: int,
    reason: str,
    movement_id: str = "",
    statement_id: str = "",
    counterparty: str = "",
    currency: str = "",
    evidence: str = "",
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Dispute:
    """Open a dispute on a movement, or on a statement line (statement_id, counterparty, currency)."""
    answer = self.transport.call(
        _SETTLEMENT + "OpenDispute",
        pb.OpenDisputeRequest(
            movement_id=movement_id,
            statement_id=statement_id,
            counterparty=counterparty,
            currency=currency,
            claimed_amount_minor=claimed_amount_minor,
            reason=reason,
            evidence=evidence,
            idempotency_key=idempotency_key or new_key("k-"),
        ),
        pb.OpenDisputeResponse,
        timeout_s=timeout_s,
    )
    return _dispute(answer.dispute)


def respond_to_dispute(
    self: Connection, dispute_id: str, *, accept: bool, note: str, timeout_s: float | None = None
) -> Dispute:
    """As the counterparty: accept the claim (it is posted) or contest it (the operator decides)."""
    answer = self.transport.call(
        _SETTLEMENT + "RespondToDispute",
        pb.RespondToDisputeRequest(dispute_id=dispute_id, accept=accept, note=note),
        pb.RespondToDisputeResponse,
        timeout_s=timeout_s,
    )
    return _dispute(answer.dispute)


def resolve_dispute(
    self: Connection, dispute_id: str, *, awarded_amount_minor: int, note: str, timeout_s: float | None = None
) -> Dispute:
    """As the operator: decide a contested (or unanswered) dispute."""
    answer = self.transport.call(
        _SETTLEMENT + "ResolveDispute",
        pb.ResolveDisputeRequest(dispute_id=dispute_id, awarded_amount_minor=awarded_amount_minor, note=note),
        pb.ResolveDisputeResponse,
        timeout_s=timeout_s,
    )
    return _dispute(answer.dispute)


def get_dispute(self: Connection, dispute_id: str, *, timeout_s: float | None = None) -> Dispute:
    """Return one dispute."""
    answer = self.transport.call(
        _SETTLEMENT + "GetDispute",
        pb.GetDisputeRequest(dispute_id=dispute_id),
        pb.GetDisputeResponse,
        timeout_s=timeout_s,
    )
    return _dispute(answer.dispute)


def list_disputes(
    self: Connection,
    *,
    state: str | None = None,
    page_size: int = 0,
    page_token: str = "",
    timeout_s: float | None = None,
) -> Page[Dispute]:
    """Return a page of disputes the caller opened or must answer (the operator: all), newest first."""
    request = pb.ListDisputesRequest(page_size=page_size, page_token=page_token)
    if state is not None:
        request = pb.ListDisputesRequest(
            state="DISPUTE_STATE_" + state,  # type: ignore[arg-type]
            page_size=page_size,
            page_token=page_token,
        )
    answer = self.transport.call(_SETTLEMENT + "ListDisputes", request, pb.ListDisputesResponse, timeout_s=timeout_s)
    return Page(tuple(_dispute(d) for d in answer.disputes), answer.next_page_token)
