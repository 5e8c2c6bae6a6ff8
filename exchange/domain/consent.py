"""Attributes brands share about their members, and the member's consent to each read.

A brand reads another brand's attribute of a member only under a live consent that names the
reader, the source brand, that attribute and that purpose, and only while both brands stand with
the member (exchange.domain.members.standing_partners); everything else is withheld with a
reason, and every read, refused or not, is logged for the member to see.

Who may grant: a consent to brand A's attributes is recorded by A, in A's app, where the member
is signed in to A (the grant names A as its source and A signs the request). The hub can't tell a
member's wish from a brand's say-so, so it trusts only the brand whose data is at stake: a
grantee can't grant itself access (SAME_PARTNER), and no third brand can grant access to data
that is not its own (GRANT_NOT_BY_SOURCE), even for a member it is linked with. Revoking takes
access away, so any brand standing with the member may record it.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, replace

from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.partners import REASON_MAX, parse_text

ATTRIBUTE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
TEXT_MAX = 1000
MAX_KEYS_PER_CALL = 50
MAX_CONSENT_MS = 2 * 366 * 86_400_000
INTEGER_LIMIT = 2**63

# Why a consent ended before its expiry.
ENDED_REVOKED = "REVOKED"  # the member revoked it
ENDED_UNLINKED = "UNLINKED"  # its grantee or its source no longer stands with the member
ENDED_ERASED = "ERASED"  # the member was erased

# Access log events.
EVENT_READ = "READ"
EVENT_READ_REFUSED = "READ_REFUSED"
EVENT_CONSENT_ENDED = "CONSENT_ENDED"


class AttributeType(enum.Enum):
    """The type of an attribute's values."""

    TEXT = "TEXT"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"


class Purpose(enum.Enum):
    """Why a member's data is read."""

    PERSONALISED_OFFERS = "PERSONALISED_OFFERS"
    FRAUD_PREVENTION = "FRAUD_PREVENTION"
    SERVICE = "SERVICE"
    STATUS_MATCH = "STATUS_MATCH"  # recognising the member's tier at the source brand (exchange.service.status_match)


Value = str | int | bool | dt.date


@dataclass(frozen=True, slots=True)
class Declaration:
    """An attribute a brand can share."""

    partner_id: str
    key: str
    type: AttributeType
    description: str


@dataclass(frozen=True, slots=True)
class Consent:
    """A member's permission for one reader to read named attributes of one source, for one purpose."""

    consent_id: str
    member_id: str
    source_partner_id: str
    grantee_partner_id: str
    attribute_keys: tuple[str, ...]
    purpose: Purpose
    granted_at_ms: int
    expires_at_ms: int
    granted_via: str
    revoked_at_ms: int | None = None
    end_reason: str = ""

    def live_at(self, now_ms: int) -> bool:
        """Whether it allows reads at now_ms."""
        return self.revoked_at_ms is None and self.granted_at_ms <= now_ms < self.expires_at_ms

    def covers(self, *, reader: str, source: str, key: str, purpose: Purpose, now_ms: int) -> bool:
        """Whether it allows this reader to read this attribute of this source for this purpose now."""
        return (
            self.live_at(now_ms)
            and self.grantee_partner_id == reader
            and self.source_partner_id == source
            and self.purpose is purpose
            and key in self.attribute_keys
        )


def parse_key(key: str, *, field: str = "key") -> str:
    """Return a valid attribute key, or raise InvalidArgument."""
    if not ATTRIBUTE_KEY.fullmatch(key):
        raise InvalidArgument(
            "INVALID_ATTRIBUTE_KEY", f"{field} must be 1 to 64 of a-z, 0-9 and '_', starting with a letter", field=field
        )
    return key


def parse_keys(keys: list[str], *, field: str = "attribute_keys") -> tuple[str, ...]:
    """Return 1 to MAX_KEYS_PER_CALL distinct valid keys, in order."""
    if not 1 <= len(keys) <= MAX_KEYS_PER_CALL:
        raise InvalidArgument(
            "INVALID_ATTRIBUTE_KEYS", f"{field} must name 1 to {MAX_KEYS_PER_CALL} attributes", field=field
        )
    return tuple(dict.fromkeys(parse_key(k, field=field) for k in keys))


def declare(partner_id: str, key: str, type_: AttributeType | None, description: str) -> Declaration:
    """Validate a declaration."""
    if type_ is None:
        raise InvalidArgument("INVALID_ATTRIBUTE_TYPE", "type must be TEXT, INTEGER, BOOLEAN or DATE", field="type")
    return Declaration(
        partner_id, parse_key(key), type_, parse_text(description, field="description", max_length=REASON_MAX)
    )


def check_value(declaration: Declaration | None, key: str, value: Value) -> Value:
    """Return the value if it matches the declared type of the key, or raise InvalidArgument."""
    if declaration is None:
        raise FailedPrecondition("ATTRIBUTE_NOT_DECLARED", f"attribute {key!r} is not declared", field="values")
    expected = {
        AttributeType.TEXT: str,
        AttributeType.INTEGER: int,
        AttributeType.BOOLEAN: bool,
        AttributeType.DATE: dt.date,
    }[declaration.type]
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok:
        raise InvalidArgument("WRONG_ATTRIBUTE_TYPE", f"attribute {key!r} is {declaration.type.value}", field="values")
    if isinstance(value, str) and len(value) > TEXT_MAX:
        raise InvalidArgument("FIELD_TOO_LONG", f"attribute {key!r} is at most {TEXT_MAX} characters", field="values")
    return value


def grant(
    *,
    consent_id: str,
    member_id: str,
    source: str,
    grantee: str,
    keys: tuple[str, ...],
    purpose: Purpose | None,
    expires_at_ms: int,
    via: str,
    declared: set[str],
    now_ms: int,
) -> Consent:
    """Validate and return a new consent."""
    if purpose is None:
        raise InvalidArgument(
            "UNKNOWN_PURPOSE",
            "purpose must be PERSONALISED_OFFERS, FRAUD_PREVENTION, SERVICE or STATUS_MATCH",
            field="purpose",
        )
    if expires_at_ms <= now_ms:
        raise InvalidArgument("EXPIRY_IN_PAST", "expires_at must be in the future", field="expires_at")
    if expires_at_ms - now_ms > MAX_CONSENT_MS:
        raise InvalidArgument("EXPIRY_TOO_FAR", "a consent lasts at most 2 years", field="expires_at")
    if source == grantee:
        raise InvalidArgument(
            "SAME_PARTNER", "a brand reads its own attributes without consent", field="grantee_partner_id"
        )
    if via != source:
        raise PermissionDenied(
            "GRANT_NOT_BY_SOURCE",
            f"only {source!r} records consents to its attributes (the member grants them in its app)",
            field="source_partner_id",
        )
    undeclared = [k for k in keys if k not in declared]
    if undeclared:
        raise FailedPrecondition(
            "ATTRIBUTE_NOT_DECLARED", f"{source!r} has not declared {', '.join(undeclared)}", field="attribute_keys"
        )
    return Consent(consent_id, member_id, source, grantee, keys, purpose, now_ms, expires_at_ms, via)


def revoke(
    consent: Consent | None, member_id: str, consent_id: str, now_ms: int, *, reason: str = ENDED_REVOKED
) -> Consent:
    """End one of the member's consents at once, for a reason (revoked, unlinked, erased)."""
    if consent is None or consent.member_id != member_id:
        raise NotFound("CONSENT_NOT_FOUND", f"no consent {consent_id!r} for this member", field="consent_id")
    if consent.revoked_at_ms is not None:
        raise FailedPrecondition("CONSENT_REVOKED", f"consent {consent_id!r} is already revoked")
    return replace(consent, revoked_at_ms=now_ms, end_reason=reason)


def left_without_standing(consents: list[Consent], standing: frozenset[str], now_ms: int) -> list[Consent]:
    """The consents still in force whose grantee or source no longer stands with the member, ended UNLINKED."""
    return [
        revoke(c, c.member_id, c.consent_id, now_ms, reason=ENDED_UNLINKED)
        for c in consents
        if c.revoked_at_ms is None
        and now_ms < c.expires_at_ms
        and not {c.grantee_partner_id, c.source_partner_id} <= standing
    ]


def withhold_reasons(
    keys: tuple[str, ...],
    *,
    consents: list[Consent],
    declared: set[str],
    reader: str,
    source: str,
    purpose: Purpose,
    now_ms: int,
    source_stands: bool = True,
) -> dict[str, str]:
    """Return, for each key the reader may not see, why (keys absent from the result are covered)."""
    reasons: dict[str, str] = {}
    for key in keys:
        if not source_stands:
            reasons[key] = "SOURCE_NOT_LINKED"
        elif key not in declared:
            reasons[key] = "NOT_DECLARED"
        elif not any(c.covers(reader=reader, source=source, key=key, purpose=purpose, now_ms=now_ms) for c in consents):
            reasons[key] = "NO_CONSENT"
    return reasons


def receipt(consent: Consent, *, pairwise_member_id: str) -> bytes:
    """The text the hub signs for the member: who, what, for what, until when."""
    lines = (
        "COALITION-CONSENT-RECEIPT-V1",
        f"consent={consent.consent_id}",
        f"member={pairwise_member_id}",
        f"granted_via={consent.granted_via}",
        f"source={consent.source_partner_id}",
        f"grantee={consent.grantee_partner_id}",
        f"attributes={','.join(consent.attribute_keys)}",
        f"purpose={consent.purpose.value}",
        f"granted_at_ms={consent.granted_at_ms}",
        f"expires_at_ms={consent.expires_at_ms}",
    )
    return "\n".join(lines).encode("utf-8")
