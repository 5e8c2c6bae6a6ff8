"""Protobuf answers to the SDK's dataclasses (the only module that reads both)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import common_pb2, hub_pb2
from partner_sdk.models import HubInfo, Partner, PartnerKey


def _time(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def to_timestamp(moment: datetime) -> Timestamp:
    """Return a protobuf Timestamp for an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime (for example datetime.now(timezone.utc))")
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def partner(message: common_pb2.Partner) -> Partner:
    """Convert a Partner message."""
    return Partner(
        partner_id=message.partner_id,
        display_name=message.display_name,
        point_currency=message.point_currency,
        settlement_currency=message.settlement_currency,
        point_value_minor=Fraction(message.point_value_minor.numerator, message.point_value_minor.denominator),
        status=common_pb2.PartnerStatus.Name(message.status).removeprefix("PARTNER_STATUS_"),
        keys=tuple(
            PartnerKey(
                key_id=key.key_id,
                public_key=key.public_key,
                fingerprint=key.fingerprint,
                state=common_pb2.KeyState.Name(key.state).removeprefix("KEY_STATE_"),
                created_at=_time(key.created_at),
                not_after=_time(key.not_after) if key.HasField("not_after") else None,
                revoked_at=_time(key.revoked_at) if key.HasField("revoked_at") else None,
            )
            for key in message.keys
        ),
        created_at=_time(message.created_at),
        status_changed_at=_time(message.status_changed_at),
        status_reason=message.status_reason,
    )


def hub_info(message: hub_pb2.GetHubInfoResponse) -> HubInfo:
    """Convert a GetHubInfoResponse."""
    return HubInfo(
        hub_key_id=message.hub_key_id,
        hub_public_key=message.hub_public_key,
        hub_key_fingerprint=message.hub_key_fingerprint,
        timestamp_window_s=message.timestamp_window_seconds,
        max_request_bytes=message.max_request_bytes,
        server_time=_time(message.server_time),
        version=message.version,
    )
