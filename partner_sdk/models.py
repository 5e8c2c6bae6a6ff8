"""What the SDK returns: small frozen dataclasses, never protobuf messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["HubInfo", "Page", "Partner", "PartnerKey"]


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """One of a partner's Ed25519 keys. state is ACTIVE, EXPIRING, EXPIRED or REVOKED."""

    key_id: str
    public_key: bytes
    fingerprint: str
    state: str
    created_at: datetime
    not_after: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner's public record. status is PENDING, ACTIVE or SUSPENDED.

    point_value_minor is the money value of one point in minor units of
    settlement_currency, exact (a Fraction, never a float).
    """

    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: Fraction
    status: str
    keys: tuple[PartnerKey, ...]
    created_at: datetime
    status_changed_at: datetime
    status_reason: str


@dataclass(frozen=True, slots=True)
class HubInfo:
    """The hub's response-signing key and request rules."""

    hub_key_id: str
    hub_public_key: bytes
    hub_key_fingerprint: str
    timestamp_window_s: int
    max_request_bytes: int
    server_time: datetime
    version: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass next_page_token to get the next (empty on the last page)."""

    items: tuple[T, ...]
    next_page_token: str
