"""RedemptionService: thin translations between protobuf and redemption commands."""

from __future__ import annotations

from coalition.exchange.v1 import redemptions_pb2
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.money_translate import hold_message
from exchange.service import redemptions
from exchange.service.pipeline import PARTNERS, command

REDEMPTION_SERVICE = redemptions_pb2.DESCRIPTOR.services_by_name["RedemptionService"].full_name


@command(redemptions_pb2.AuthorizeHoldRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _authorize(
    call: Invocation, request: redemptions_pb2.AuthorizeHoldRequest
) -> redemptions_pb2.AuthorizeHoldResponse:
    hold = redemptions.authorize(
        call.work,
        call.caller,
        target_partner_id=request.target_partner_id,
        source_points=request.source_points,
        source_member_ref=request.source_member_ref,
        expires_in_s=request.expires_in_seconds,
        now_ms=call.now_ms,
    )
    return redemptions_pb2.AuthorizeHoldResponse(hold=hold_message(hold, call.caller.principal))


@command(redemptions_pb2.CaptureHoldRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _capture(call: Invocation, request: redemptions_pb2.CaptureHoldRequest) -> redemptions_pb2.CaptureHoldResponse:
    hold = redemptions.capture(
        call.work,
        call.caller,
        hold_id=request.hold_id,
        source_points=request.source_points,
        reference=request.target_reference,
        now_ms=call.now_ms,
    )
    return redemptions_pb2.CaptureHoldResponse(hold=hold_message(hold, call.caller.principal))


@command(redemptions_pb2.VoidHoldRequest, callers=PARTNERS)
def _void(call: Invocation, request: redemptions_pb2.VoidHoldRequest) -> redemptions_pb2.VoidHoldResponse:
    hold = redemptions.void(call.work, call.caller, hold_id=request.hold_id, reason=request.reason, now_ms=call.now_ms)
    return redemptions_pb2.VoidHoldResponse(hold=hold_message(hold, call.caller.principal))


@command(redemptions_pb2.GetHoldRequest, callers=PARTNERS)
def _get(call: Invocation, request: redemptions_pb2.GetHoldRequest) -> redemptions_pb2.GetHoldResponse:
    hold = redemptions.get(call.work, call.caller, request.hold_id)
    return redemptions_pb2.GetHoldResponse(hold=hold_message(hold, call.caller.principal))


REDEMPTION_METHODS: SignedMethods = {
    "AuthorizeHold": _authorize,
    "CaptureHold": _capture,
    "VoidHold": _void,
    "GetHold": _get,
}
