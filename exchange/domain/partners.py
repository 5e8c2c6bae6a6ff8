"""Partners and their keys: registration rules, status transitions, key lifecycle.

Times are integer milliseconds since the Unix epoch (UTC) everywhere in the domain.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from exchange.domain.currency import parse_point_currency, parse_settlement_currency
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, require
from exchange.domain.money import Ratio

PARTNER_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
RESERVED_PARTNER_IDS = frozenset({"operator", "hub", "coalition", "admin", "system"})
DISPLAY_NAME_MAX = 100
REASON_MAX = 500
PUBLIC_KEY_BYTES = 32
MAX_KEY_OVERLAP_MS = 30 * 24 * 3600 * 1000
MAX_KEYS_PER_PARTNER = 20


class PartnerStatus(enum.Enum):
    """Where a partner stands in the coalition."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class KeyState(enum.Enum):
    """Whether a key may sign at a given moment."""

    ACTIVE = "ACTIVE"
    EXPIRING = "EXPIRING"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """An Ed25519 public key a partner signs with."""

    key_id: str
    public_key: bytes
    created_at_ms: int
    not_after_ms: int | None = None
    revoked_at_ms: int | None = None
    revoke_reason: str = ""

    def state_at(self, now_ms: int) -> KeyState:
        """Return the key's state at now_ms."""
        if self.revoked_at_ms is not None:
            return KeyState.REVOKED
        if self.not_after_ms is None:
            return KeyState.ACTIVE
        return KeyState.EXPIRING if now_ms < self.not_after_ms else KeyState.EXPIRED

    def can_sign_at(self, now_ms: int) -> bool:
        """Return whether a signature by this key is acceptable at now_ms."""
        return self.state_at(now_ms) in (KeyState.ACTIVE, KeyState.EXPIRING)


class PartnerKind(enum.Enum):
    """A brand has points of its own; a charity receives donations of brands' points."""

    BRAND = "BRAND"
    CHARITY = "CHARITY"


@dataclass(frozen=True, slots=True)
class Partner:
    """A brand (or charity) in the coalition, with its keys (newest first)."""

    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: Ratio
    status: PartnerStatus
    keys: tuple[PartnerKey, ...]
    created_at_ms: int
    status_changed_at_ms: int
    status_reason: str = ""
    kind: PartnerKind = PartnerKind.BRAND

    def key(self, key_id: str) -> PartnerKey | None:
        """Return the key with this id, or None."""
        return next((k for k in self.keys if k.key_id == key_id), None)

    def signing_keys_at(self, now_ms: int) -> tuple[PartnerKey, ...]:
        """Return the keys that can sign at now_ms."""
        return tuple(k for k in self.keys if k.can_sign_at(now_ms))


def parse_partner_id(value: str, *, field: str = "partner_id") -> str:
    """Return value if it is a valid partner slug, else raise InvalidArgument."""
    if not PARTNER_ID_PATTERN.fullmatch(value):
        raise InvalidArgument(
            "INVALID_PARTNER_ID",
            f"{field} must be 3 to 32 characters of lowercase letters, digits and '-', starting with a letter",
            field=field,
        )
    return value


def parse_key_id(value: str, *, field: str = "key_id") -> str:
    """Return value if it is a valid key id, else raise InvalidArgument."""
    if not KEY_ID_PATTERN.fullmatch(value):
        raise InvalidArgument(
            "INVALID_KEY_ID", f"{field} must be 1 to 64 characters of letters, digits, '.', '_' or '-'", field=field
        )
    return value


def parse_public_key(value: bytes, *, field: str = "key.public_key") -> bytes:
    """Return value if it has the length of a raw Ed25519 public key, else raise InvalidArgument."""
    if len(value) != PUBLIC_KEY_BYTES:
        raise InvalidArgument(
            "MALFORMED_PUBLIC_KEY",
            f"{field} must be a raw {PUBLIC_KEY_BYTES}-byte Ed25519 public key, got {len(value)} bytes",
            field=field,
        )
    return value


def parse_text(value: str, *, field: str, max_length: int, reason: str = "INVALID_TEXT") -> str:
    """Return value stripped if it is 1..max_length printable characters, else raise InvalidArgument."""
    text = value.strip()
    if not text:
        raise InvalidArgument("EMPTY_FIELD", f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidArgument("FIELD_TOO_LONG", f"{field} must be at most {max_length} characters", field=field)
    if not text.isprintable():
        raise InvalidArgument(reason, f"{field} must not contain control characters", field=field)
    return text


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated request to register a partner."""

    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: Ratio
    key_id: str
    public_key: bytes
    kind: PartnerKind = PartnerKind.BRAND


def validate_registration(
    *,
    partner_id: str,
    display_name: str,
    point_currency: str,
    settlement_currency: str,
    point_value_numerator: int,
    point_value_denominator: int,
    key_id: str,
    public_key: bytes,
    kind: PartnerKind = PartnerKind.BRAND,
) -> Registration:
    """Check every field of a registration and return it, or raise InvalidArgument on the first bad one."""
    parse_partner_id(partner_id)
    if partner_id in RESERVED_PARTNER_IDS:
        raise InvalidArgument("RESERVED_PARTNER_ID", f"partner_id {partner_id!r} is reserved", field="partner_id")
    if kind is PartnerKind.CHARITY:
        if point_currency:
            raise InvalidArgument(
                "CHARITY_HAS_NO_POINTS", "a charity has no points: leave point_currency empty", field="point_currency"
            )
        return Registration(
            partner_id=partner_id,
            display_name=parse_text(display_name, field="display_name", max_length=DISPLAY_NAME_MAX),
            point_currency="",
            settlement_currency=parse_settlement_currency(settlement_currency),
            point_value_minor=Ratio(1, 1),
            key_id=parse_key_id(key_id, field="key.key_id"),
            public_key=parse_public_key(public_key),
            kind=kind,
        )
    return Registration(
        partner_id=partner_id,
        display_name=parse_text(display_name, field="display_name", max_length=DISPLAY_NAME_MAX),
        point_currency=parse_point_currency(point_currency),
        settlement_currency=parse_settlement_currency(settlement_currency),
        point_value_minor=Ratio.parse(point_value_numerator, point_value_denominator, field="point_value_minor"),
        key_id=parse_key_id(key_id, field="key.key_id"),
        public_key=parse_public_key(public_key),
    )


def new_partner(registration: Registration, now_ms: int) -> Partner:
    """Return the PENDING partner a registration creates."""
    key = PartnerKey(registration.key_id, registration.public_key, created_at_ms=now_ms)
    return Partner(
        partner_id=registration.partner_id,
        display_name=registration.display_name,
        point_currency=registration.point_currency,
        settlement_currency=registration.settlement_currency,
        point_value_minor=registration.point_value_minor,
        status=PartnerStatus.PENDING,
        keys=(key,),
        created_at_ms=now_ms,
        status_changed_at_ms=now_ms,
        kind=registration.kind,
    )


_TRANSITIONS: dict[str, tuple[PartnerStatus, PartnerStatus]] = {
    "approve": (PartnerStatus.PENDING, PartnerStatus.ACTIVE),
    "suspend": (PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED),
    "reinstate": (PartnerStatus.SUSPENDED, PartnerStatus.ACTIVE),
}


def change_status(partner: Partner, action: str, now_ms: int, reason: str = "") -> Partner:
    """Apply an operator action (approve, suspend, reinstate) or raise FailedPrecondition."""
    source, target = _TRANSITIONS[action]
    if partner.status is not source:
        raise FailedPrecondition(
            f"PARTNER_NOT_{source.value}",
            f"cannot {action} partner {partner.partner_id!r}: it is {partner.status.value}, not {source.value}",
        )
    return replace(partner, status=target, status_changed_at_ms=now_ms, status_reason=reason)


def rotate_key(
    partner: Partner,
    *,
    signing_key_id: str,
    new_key_id: str,
    new_public_key: bytes,
    previous_key_not_after_ms: int | None,
    now_ms: int,
) -> Partner:
    """Add a new key; the key that signed the rotation keeps signing until the chosen time.

    The new key becomes ACTIVE. The signing key gets not_after = the chosen time (now if
    none); other keys are untouched.
    """
    parse_key_id(new_key_id, field="new_key.key_id")
    parse_public_key(new_public_key, field="new_key.public_key")
    if partner.key(new_key_id) is not None:
        raise FailedPrecondition(
            "KEY_ID_IN_USE", f"key id {new_key_id!r} is already used by this partner", field="new_key.key_id"
        )
    if any(k.public_key == new_public_key for k in partner.keys):
        raise FailedPrecondition(
            "PUBLIC_KEY_IN_USE", "this public key was already registered by this partner", field="new_key.public_key"
        )
    if len(partner.keys) >= MAX_KEYS_PER_PARTNER:
        raise FailedPrecondition("TOO_MANY_KEYS", f"a partner may hold at most {MAX_KEYS_PER_PARTNER} keys")
    not_after = now_ms if previous_key_not_after_ms is None else previous_key_not_after_ms
    if not_after < now_ms:
        raise InvalidArgument(
            "OVERLAP_IN_PAST", "previous_key_not_after must not be in the past", field="previous_key_not_after"
        )
    if not_after - now_ms > MAX_KEY_OVERLAP_MS:
        raise InvalidArgument(
            "OVERLAP_TOO_LONG", "previous_key_not_after must be at most 30 days ahead", field="previous_key_not_after"
        )
    signing = partner.key(signing_key_id)
    require(signing is not None and signing.can_sign_at(now_ms), "rotation is signed by a usable key")
    assert signing is not None
    if signing.not_after_ms is not None:
        not_after = min(not_after, signing.not_after_ms)
    new_key = PartnerKey(new_key_id, new_public_key, created_at_ms=now_ms)
    keys = tuple(replace(k, not_after_ms=not_after) if k.key_id == signing_key_id else k for k in partner.keys)
    return replace(partner, keys=(new_key, *keys))


def revoke_key(partner: Partner, *, key_id: str, reason: str, now_ms: int) -> Partner:
    """Revoke a key at once, unless it would leave the partner without a key that can sign."""
    parse_key_id(key_id)
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    key = partner.key(key_id)
    if key is None:
        raise NotFound("KEY_NOT_FOUND", f"partner {partner.partner_id!r} has no key {key_id!r}", field="key_id")
    if key.state_at(now_ms) is KeyState.REVOKED:
        raise FailedPrecondition("KEY_ALREADY_REVOKED", f"key {key_id!r} is already revoked", field="key_id")
    if not [k for k in partner.keys if k.key_id != key_id and k.state_at(now_ms) is KeyState.ACTIVE]:
        raise FailedPrecondition(
            "LAST_ACTIVE_KEY",
            f"revoking {key_id!r} would leave the partner no active key without an end date; rotate first",
            field="key_id",
        )
    keys = tuple(
        replace(k, revoked_at_ms=now_ms, revoke_reason=reason) if k.key_id == key_id else k for k in partner.keys
    )
    return replace(partner, keys=keys)
