"""RedemptionService: holds on a member's points, captured where they are spent, or voided."""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from coalition.exchange.v1 import redemptions_pb2
from partner_sdk import _convert
from partner_sdk._client.connection import PartnerConnection, new_key, whole
from partner_sdk._models import Hold

_REDEMPTIONS = "/coalition.exchange.v1.RedemptionService/"


def authorize_hold(
    self: PartnerConnection,
    target_partner_id: str,
    source_points: int,
    *,
    source_member_ref: str,
    expires_in_s: int = 0,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Hold:
    """Authorise a hold on points this partner has reserved for its member, to spend at the target.

    Reserve the points in your own ledger first. The returned hold_id is the redemption
    token the member presents at the target partner's checkout. What is not captured
    comes back as a RELEASE instruction when the hold is voided or expires.

    Args:
        target_partner_id: where the member will spend the points (an active agreement is needed).
        source_points: points reserved (at most the agreement's max_source_points).
        source_member_ref: your member, 1 to 128 characters.
        expires_in_s: the hold's lifetime, 60 to 604800 seconds; 0 means 900.
        idempotency_key: as in convert().
        timeout_s: this call's deadline in seconds.
    """
    request = redemptions_pb2.AuthorizeHoldRequest(
        target_partner_id=target_partner_id,
        source_points=whole("source_points", source_points),
        source_member_ref=source_member_ref,
        expires_in_seconds=whole("expires_in_s", expires_in_s),
        idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-hold-"),
    )
    answer = self.transport.call(
        _REDEMPTIONS + "AuthorizeHold", request, redemptions_pb2.AuthorizeHoldResponse, timeout_s=timeout_s
    )
    return _convert.hold(answer.hold)


def capture_hold(
    self: PartnerConnection,
    hold_id: str,
    source_points: int,
    *,
    target_reference: str,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Hold:
    """Capture part or all of what is left of a hold, as the partner where the points are spent.

    Several partial captures are fine. Each is owed to you like a conversion, at the
    agreement's rate and price.
    """
    request = redemptions_pb2.CaptureHoldRequest(
        hold_id=hold_id,
        source_points=whole("source_points", source_points),
        target_reference=target_reference,
        idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-cap-"),
    )
    answer = self.transport.call(
        _REDEMPTIONS + "CaptureHold", request, redemptions_pb2.CaptureHoldResponse, timeout_s=timeout_s
    )
    return _convert.hold(answer.hold)


def void_hold(self: PartnerConnection, hold_id: str, *, reason: str, timeout_s: float | None = None) -> Hold:
    """End an open hold (either partner); what is left is released to the source partner."""
    answer = self.transport.call(
        _REDEMPTIONS + "VoidHold",
        redemptions_pb2.VoidHoldRequest(hold_id=hold_id, reason=reason),
        redemptions_pb2.VoidHoldResponse,
        timeout_s=timeout_s,
    )
    return _convert.hold(answer.hold)


def get_hold(self: PartnerConnection, hold_id: str, *, timeout_s: float | None = None) -> Hold:
    """Return a hold this partner is a party to, with its captures."""
    answer = self.transport.call(
        _REDEMPTIONS + "GetHold",
        redemptions_pb2.GetHoldRequest(hold_id=hold_id),
        redemptions_pb2.GetHoldResponse,
        timeout_s=timeout_s,
    )
    return _convert.hold(answer.hold)
