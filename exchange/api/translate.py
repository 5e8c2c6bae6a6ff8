"""Domain objects to protobuf messages and back; nothing else knows both sides."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import common_pb2
from exchange.domain.errors import InvalidArgument
from exchange.domain.partners import KeyState, Partner, PartnerStatus
from partner_sdk.keys import fingerprint

PARTNER_STATUS_TO_PROTO = {
    PartnerStatus.PENDING: common_pb2.PARTNER_STATUS_PENDING,
    PartnerStatus.ACTIVE: common_pb2.PARTNER_STATUS_ACTIVE,
    PartnerStatus.SUSPENDED: common_pb2.PARTNER_STATUS_SUSPENDED,
}
PARTNER_STATUS_FROM_PROTO = {value: key for key, value in PARTNER_STATUS_TO_PROTO.items()}

KEY_STATE_TO_PROTO = {
    KeyState.ACTIVE: common_pb2.KEY_STATE_ACTIVE,
    KeyState.EXPIRING: common_pb2.KEY_STATE_EXPIRING,
    KeyState.EXPIRED: common_pb2.KEY_STATE_EXPIRED,
    KeyState.REVOKED: common_pb2.KEY_STATE_REVOKED,
}


def timestamp(ms: int) -> Timestamp:
    """Return a protobuf Timestamp for epoch milliseconds."""
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


def timestamp_ms(stamp: Timestamp, field: str) -> int:
    """Return a Timestamp the caller sent as epoch milliseconds, or raise InvalidArgument naming the field.

    protobuf refuses seconds outside 0001-01-01..9999-12-31 and nanos outside 0..999 999 999
    with a ValueError, which would otherwise reach the caller as INTERNAL.
    """
    try:
        return stamp.ToMilliseconds()
    except ValueError as exc:
        raise InvalidArgument(
            "INVALID_TIMESTAMP",
            f"{field} must be a valid time between 0001-01-01 and 9999-12-31 with nanos 0 to 999999999",
            field=field,
        ) from exc


def optional_ms(stamp: Timestamp, present: bool, field: str) -> int | None:
    """Return a Timestamp field as epoch milliseconds, or None when the field is unset."""
    return timestamp_ms(stamp, field) if present else None


def partner_message(partner: Partner, now_ms: int) -> common_pb2.Partner:
    """Return the public record of a partner, with key states as of now_ms."""
    message = common_pb2.Partner(
        partner_id=partner.partner_id,
        display_name=partner.display_name,
        point_currency=partner.point_currency,
        settlement_currency=partner.settlement_currency,
        point_value_minor=common_pb2.Ratio(
            numerator=partner.point_value_minor.numerator, denominator=partner.point_value_minor.denominator
        ),
        status=PARTNER_STATUS_TO_PROTO[partner.status],
        created_at=timestamp(partner.created_at_ms),
        status_changed_at=timestamp(partner.status_changed_at_ms),
        status_reason=partner.status_reason,
        kind=f"PARTNER_KIND_{partner.kind.value}",  # type: ignore[arg-type]
    )
    for key in partner.keys:
        entry = message.keys.add(
            key_id=key.key_id,
            public_key=key.public_key,
            state=KEY_STATE_TO_PROTO[key.state_at(now_ms)],
            created_at=timestamp(key.created_at_ms),
            fingerprint=fingerprint(key.public_key),
        )
        if key.not_after_ms is not None:
            entry.not_after.CopyFrom(timestamp(key.not_after_ms))
        if key.revoked_at_ms is not None:
            entry.revoked_at.CopyFrom(timestamp(key.revoked_at_ms))
    return message
