"""SettlementService: thin translations between protobuf and the settlement, reconciliation and dispute commands."""

from __future__ import annotations

from collections.abc import Sequence

from coalition.exchange.v1 import settlement_pb2 as pb
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.translate import optional_ms, timestamp
from exchange.domain.disputes import Dispute, DisputeState
from exchange.domain.errors import InvalidArgument
from exchange.domain.settlement import Period
from exchange.service import disputes, reconciliation, settlement
from exchange.service.pipeline import OPERATOR, PARTNERS, PARTNERS_AND_OPERATOR, command
from exchange.service.settlement import StatementSigner
from exchange.store.reconciliation_repo import Break, Reconciliation, Values
from exchange.store.settlement_repo import InstructionStatus, StoredMovement, StoredStatement

SETTLEMENT_SERVICE = pb.DESCRIPTOR.services_by_name["SettlementService"].full_name


def _period(period: Period) -> pb.Period:
    message = pb.Period(
        period_id=period.period_id,
        number=period.number,
        state=f"PERIOD_STATE_{period.state.value}",  # type: ignore[arg-type]
        opened_at=timestamp(period.opened_at_ms),
        movement_count=period.movement_count,
        statement_count=period.statement_count,
    )
    if period.cutoff_ms is not None:
        message.cutoff.CopyFrom(timestamp(period.cutoff_ms))
    if period.closed_at_ms is not None:
        message.closed_at.CopyFrom(timestamp(period.closed_at_ms))
    return message


def _movement(stored: StoredMovement) -> pb.Movement:
    m = stored.movement
    return pb.Movement(
        movement_id=m.movement_id,
        kind=f"MOVEMENT_KIND_{m.kind.value}",  # type: ignore[arg-type]
        period_id=stored.period_id,
        source_partner_id=m.source_partner_id,
        target_partner_id=m.target_partner_id,
        source_points=m.source_points,
        target_points=m.target_points,
        currency=m.currency,
        amount_minor=m.amount_minor,
        final_at=timestamp(m.final_at_ms),
    )


def _instruction(status: InstructionStatus) -> pb.PaymentInstruction:
    i = status.instruction
    state = "OUTSTANDING" if status.paid_minor == 0 else "PAID" if status.outstanding_minor == 0 else "PART_PAID"
    return pb.PaymentInstruction(
        instruction_id=i.instruction_id,
        period_id=status.period_id,
        currency=i.currency,
        payer_partner_id=i.payer,
        payee_partner_id=i.payee,
        amount_minor=i.amount_minor,
        paid_minor=status.paid_minor,
        outstanding_minor=status.outstanding_minor,
        state=f"PAYMENT_STATE_{state}",  # type: ignore[arg-type]
        payments=[
            pb.Payment(
                payment_id=p.payment_id,
                amount_minor=p.amount_minor,
                payment_reference=p.payment_reference,
                recorded_by=p.recorded_by,
                recorded_at=timestamp(p.recorded_at_ms),
            )
            for p in status.payments
        ],
    )


def _statement(stored: StoredStatement, instructions: Sequence[InstructionStatus] = ()) -> pb.Statement:
    return pb.Statement(
        statement_id=stored.statement_id,
        partner_id=stored.partner_id,
        period_id=stored.period_id,
        sequence=stored.sequence,
        document=stored.document,
        document_sha256=stored.document_sha256,
        previous_statement_sha256=stored.previous_statement_sha256,
        signature=stored.signature,
        hub_key_id=stored.hub_key_id,
        payment_instructions=[_instruction(i) for i in instructions],
    )


def _dispute(d: Dispute) -> pb.Dispute:
    return pb.Dispute(
        dispute_id=d.dispute_id,
        opened_by=d.opened_by,
        counterparty=d.counterparty,
        movement_id=d.movement_id,
        statement_id=d.statement_id,
        period_id=d.period_id,
        currency=d.currency,
        claimed_amount_minor=d.claimed_amount_minor,
        reason=d.reason,
        evidence=d.evidence,
        state=f"DISPUTE_STATE_{d.state.value}",  # type: ignore[arg-type]
        respond_by=timestamp(d.respond_by_ms),
        response_note=d.response_note,
        awarded_amount_minor=d.awarded_amount_minor,
        resolution_note=d.resolution_note,
        adjustment_movement_id=d.adjustment_movement_id,
        adjustment_period_id=d.adjustment_period_id,
        opened_at=timestamp(d.opened_at_ms),
        updated_at=timestamp(d.updated_at_ms),
    )


def _report(r: Reconciliation) -> pb.ReconciliationReport:
    return pb.ReconciliationReport(
        reconciliation_id=r.reconciliation_id,
        period_id=r.period_id,
        brand_lines=r.brand_lines,
        hub_movements=r.hub_movements,
        matched=r.matched,
        breaks=r.breaks,
        missing_at_hub=r.missing_at_hub,
        missing_at_brand=r.missing_at_brand,
        amount_mismatch=r.amount_mismatch,
        duplicate=r.duplicate,
        in_other_period=r.in_other_period,
    )


def _values(values: Values | None) -> pb.MovementValues | None:
    if values is None:
        return None
    return pb.MovementValues(
        kind=values.kind,
        period_id=values.period_id,
        source_points=values.source_points,
        target_points=values.target_points,
        currency=values.currency,
        amount_minor=values.amount_minor,
    )


def _break(b: Break) -> pb.ReconciliationBreak:
    return pb.ReconciliationBreak(
        kind=f"BREAK_KIND_{b.kind}",  # type: ignore[arg-type]
        movement_id=b.movement_id,
        line_number=b.line_number,
        hub=_values(b.hub),
        brand=_values(b.brand),
    )


@command(pb.ClosePeriodRequest, callers=OPERATOR)
def _close(call: Invocation, request: pb.ClosePeriodRequest) -> pb.ClosePeriodResponse:
    hub_signer = call.hub.signer
    closing = settlement.close_period(
        call.connection,
        period_id=request.period_id,
        cutoff_ms=optional_ms(request.cutoff, request.HasField("cutoff"), "cutoff"),
        now_ms=call.now_ms,
        actor=call.caller.principal,
        signer=StatementSigner(hub_signer.key_id, hub_signer.private_key.sign),
    )
    return pb.ClosePeriodResponse(
        period=_period(closing.period), next_period=_period(closing.next_period), closed_now=closing.closed_now
    )


@command(pb.GetPeriodRequest, callers=PARTNERS_AND_OPERATOR)
def _get_period(call: Invocation, request: pb.GetPeriodRequest) -> pb.GetPeriodResponse:
    return pb.GetPeriodResponse(period=_period(settlement.get_period(call.connection, request.period_id)))


@command(pb.ListPeriodsRequest, callers=PARTNERS_AND_OPERATOR)
def _list_periods(call: Invocation, request: pb.ListPeriodsRequest) -> pb.ListPeriodsResponse:
    page, token = settlement.list_periods(call.connection, page_size=request.page_size, page_token=request.page_token)
    return pb.ListPeriodsResponse(periods=[_period(p) for p in page], next_page_token=token)


@command(pb.ListStatementsRequest, callers=PARTNERS_AND_OPERATOR)
def _list_statements(call: Invocation, request: pb.ListStatementsRequest) -> pb.ListStatementsResponse:
    page, token = settlement.list_statements(
        call.connection,
        call.caller,
        partner_id=request.partner_id,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return pb.ListStatementsResponse(statements=[_statement(s) for s in page], next_page_token=token)


@command(pb.GetStatementRequest, callers=PARTNERS_AND_OPERATOR)
def _get_statement(call: Invocation, request: pb.GetStatementRequest) -> pb.GetStatementResponse:
    found = settlement.get_statement(call.connection, call.caller, request.statement_id)
    live = settlement.statement_instructions(call.connection, found)
    return pb.GetStatementResponse(statement=_statement(found, live))


@command(pb.ListStatementMovementsRequest, callers=PARTNERS_AND_OPERATOR)
def _movements(call: Invocation, request: pb.ListStatementMovementsRequest) -> pb.ListStatementMovementsResponse:
    page, token = settlement.statement_movements(
        call.connection,
        call.caller,
        statement_id=request.statement_id,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return pb.ListStatementMovementsResponse(movements=[_movement(m) for m in page], next_page_token=token)


@command(pb.ListPaymentInstructionsRequest, callers=PARTNERS_AND_OPERATOR)
def _list_instructions(
    call: Invocation, request: pb.ListPaymentInstructionsRequest
) -> pb.ListPaymentInstructionsResponse:
    page, token = settlement.list_instructions(
        call.connection,
        call.caller,
        period_id=request.period_id,
        outstanding_only=request.outstanding_only,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return pb.ListPaymentInstructionsResponse(instructions=[_instruction(i) for i in page], next_page_token=token)


@command(pb.RecordPaymentRequest, callers=PARTNERS_AND_OPERATOR, idempotency_key=lambda r: r.idempotency_key)
def _record_payment(call: Invocation, request: pb.RecordPaymentRequest) -> pb.RecordPaymentResponse:
    status = settlement.record_payment(
        call.connection,
        call.caller,
        instruction_id=request.instruction_id,
        amount_minor=request.amount_minor,
        reference=request.payment_reference,
        now_ms=call.now_ms,
    )
    return pb.RecordPaymentResponse(instruction=_instruction(status))


@command(pb.StartReconciliationRequest, callers=PARTNERS)
def _start(call: Invocation, request: pb.StartReconciliationRequest) -> pb.StartReconciliationResponse:
    started = reconciliation.start(call.connection, call.caller, request.period_id, call.now_ms)
    return pb.StartReconciliationResponse(reconciliation_id=started.reconciliation_id)


@command(pb.AddReconciliationPartRequest, callers=PARTNERS)
def _add_part(call: Invocation, request: pb.AddReconciliationPartRequest) -> pb.AddReconciliationPartResponse:
    lines = reconciliation.add_part(
        call.connection, call.caller, request.reconciliation_id, request.part_number, request.content
    )
    return pb.AddReconciliationPartResponse(lines_received=lines)


@command(pb.FinishReconciliationRequest, callers=PARTNERS)
def _finish(call: Invocation, request: pb.FinishReconciliationRequest) -> pb.FinishReconciliationResponse:
    done = reconciliation.finish(call.connection, call.caller, request.reconciliation_id, call.now_ms)
    return pb.FinishReconciliationResponse(report=_report(done))


@command(pb.ListReconciliationBreaksRequest, callers=PARTNERS)
def _breaks(call: Invocation, request: pb.ListReconciliationBreaksRequest) -> pb.ListReconciliationBreaksResponse:
    summary, page, token = reconciliation.breaks_page(
        call.connection,
        call.caller,
        request.reconciliation_id,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return pb.ListReconciliationBreaksResponse(
        report=_report(summary), breaks=[_break(b) for b in page], next_page_token=token
    )


@command(pb.OpenDisputeRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _open_dispute(call: Invocation, request: pb.OpenDisputeRequest) -> pb.OpenDisputeResponse:
    opened = disputes.open_dispute(
        call.connection,
        call.caller,
        movement_id=request.movement_id,
        statement_id=request.statement_id,
        counterparty=request.counterparty,
        currency=request.currency,
        claimed_amount_minor=request.claimed_amount_minor,
        reason=request.reason,
        evidence=request.evidence,
        now_ms=call.now_ms,
    )
    return pb.OpenDisputeResponse(dispute=_dispute(opened))


@command(pb.RespondToDisputeRequest, callers=PARTNERS)
def _respond(call: Invocation, request: pb.RespondToDisputeRequest) -> pb.RespondToDisputeResponse:
    answered = disputes.respond(
        call.connection,
        call.caller,
        dispute_id=request.dispute_id,
        accept=request.accept,
        note=request.note,
        now_ms=call.now_ms,
    )
    return pb.RespondToDisputeResponse(dispute=_dispute(answered))


@command(pb.ResolveDisputeRequest, callers=OPERATOR)
def _resolve(call: Invocation, request: pb.ResolveDisputeRequest) -> pb.ResolveDisputeResponse:
    decided = disputes.resolve(
        call.connection,
        call.caller,
        dispute_id=request.dispute_id,
        awarded_amount_minor=request.awarded_amount_minor,
        note=request.note,
        now_ms=call.now_ms,
    )
    return pb.ResolveDisputeResponse(dispute=_dispute(decided))


@command(pb.GetDisputeRequest, callers=PARTNERS_AND_OPERATOR)
def _get_dispute(call: Invocation, request: pb.GetDisputeRequest) -> pb.GetDisputeResponse:
    return pb.GetDisputeResponse(dispute=_dispute(disputes.get(call.connection, call.caller, request.dispute_id)))


@command(pb.ListDisputesRequest, callers=PARTNERS_AND_OPERATOR)
def _list_disputes(call: Invocation, request: pb.ListDisputesRequest) -> pb.ListDisputesResponse:
    if request.state not in pb.DisputeState.values():
        raise InvalidArgument("INVALID_STATE", "unknown dispute state", field="state")
    state = None
    if request.state != pb.DISPUTE_STATE_UNSPECIFIED:
        state = DisputeState(pb.DisputeState.Name(request.state).removeprefix("DISPUTE_STATE_"))
    page, token = disputes.list_page(
        call.connection, call.caller, state=state, page_size=request.page_size, page_token=request.page_token
    )
    return pb.ListDisputesResponse(disputes=[_dispute(d) for d in page], next_page_token=token)


SETTLEMENT_METHODS: SignedMethods = {
    "ClosePeriod": _close,
    "GetPeriod": _get_period,
    "ListPeriods": _list_periods,
    "ListStatements": _list_statements,
    "GetStatement": _get_statement,
    "ListStatementMovements": _movements,
    "ListPaymentInstructions": _list_instructions,
    "RecordPayment": _record_payment,
    "StartReconciliation": _start,
    "AddReconciliationPart": _add_part,
    "FinishReconciliation": _finish,
    "ListReconciliationBreaks": _breaks,
    "OpenDispute": _open_dispute,
    "RespondToDispute": _respond,
    "ResolveDispute": _resolve,
    "GetDispute": _get_dispute,
    "ListDisputes": _list_disputes,
}
