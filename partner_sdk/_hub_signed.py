"""Documents the hub signs for one brand to check offline (a membership pass, a tier attestation): one verifier.

Each is canonical JSON the hub signs with Ed25519 over a prefix followed by it, names its format,
holds exactly its keys, names the brand it is issued to, and is valid from issued_at_ms (less a
clock skew) until valid_until_ms. A SignedKind describes one; the public verifiers
(memberships.verify_membership_pass, status_match.verify_tier_attestation) check, in order:

1. open_signed: the hub key's length (BAD_HUB_KEY), the signature over prefix + payload
   (BAD_SIGNATURE), strict JSON (no repeated key, no float or constant: the malformed reason),
   canonical bytes (NOT_CANONICAL), a JSON object (malformed), the format (WRONG_FORMAT) and
   exactly the kind's keys (malformed);
2. the typed fields, read inside ``with reading(kind):`` (a ValueError or OverflowError is the
   malformed reason), with str_of, int_of and time_of;
3. check_recipient: issued to this brand (the kind's wrong-recipient reason);
4. check_window: now before valid_until_ms (the kind's expired reason) and no earlier than
   issued_at_ms less the skew (the kind's not-yet-valid reason).

render_payload writes a payload for plain values, as the hub renders them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from partner_sdk import signing
from partner_sdk._receipts import HUB_PUBLIC_KEY_BYTES
from partner_sdk.documents import _integer, _text
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.settlement import canonical_json

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SignedKind:
    """One kind of document the hub signs for a brand: how it is named, signed and refused.

    noun names it in messages ("pass": "the pass's payload ..."). error is the exception class
    every refusal raises; malformed, wrong_recipient, expired and not_yet_valid are its reason
    codes for those checks (BAD_HUB_KEY, BAD_SIGNATURE, NOT_CANONICAL and WRONG_FORMAT are
    shared). use is what the brand must never do with one issued to another ("honour"), and
    expired_hint what to do once it expired ("issue a new one").
    """

    noun: str
    format: str
    prefix: bytes
    keys: frozenset[str]
    error: type[ResponseVerificationError]
    malformed: str
    wrong_recipient: str
    expired: str
    not_yet_valid: str
    skew_ms: int
    use: str
    expired_hint: str

    def refused(self, reason: str, message: str) -> ResponseVerificationError:
        """Return this kind's error for reason, to raise."""
        return self.error(message, reason=reason)


def render_payload(
    kind: SignedKind, texts: Mapping[str, object], *, issued_at_ms: object, valid_until_ms: object, **other: object
) -> bytes:
    """Return a payload of this kind for plain values: the canonical JSON the hub signs.

    Args:
        kind: the kind; its format is written.
        texts: the text fields by key, each checked (a str without control characters), in order.
        issued_at_ms: when it was issued, integer milliseconds since the epoch.
        valid_until_ms: when it stops being valid.
        **other: any other fields, written as they are.

    Raises:
        TypeError: a number is a float or bool, or a text is not a str.
        ValueError: a text has control characters.
    """
    value: dict[str, object] = {"format": kind.format}
    value.update((key, _text(key, text)) for key, text in texts.items())
    value.update(other)
    value["issued_at_ms"] = _integer("issued_at_ms", issued_at_ms)
    value["valid_until_ms"] = _integer("valid_until_ms", valid_until_ms)
    return canonical_json(value)


def open_signed(kind: SignedKind, payload: bytes, signature: bytes, hub_public_key: bytes) -> dict[str, Any]:
    """Return the payload's object once the hub's signature, the JSON, the format and the keys check out.

    Raises:
        ResponseVerificationError: kind.error, reason BAD_HUB_KEY, BAD_SIGNATURE, kind.malformed,
            NOT_CANONICAL or WRONG_FORMAT.
    """
    noun = kind.noun
    if len(hub_public_key) != HUB_PUBLIC_KEY_BYTES:
        raise kind.refused(
            "BAD_HUB_KEY", f"the hub public key must be {HUB_PUBLIC_KEY_BYTES} bytes, not {len(hub_public_key)}"
        )
    if not signing.verify(hub_public_key, signature, kind.prefix + payload):
        raise kind.refused(
            "BAD_SIGNATURE",
            f"the {noun}'s signature does not verify with this hub public key: wrong key, or an altered {noun}",
        )
    value = _load(kind, payload)
    if canonical_json(value) != payload:
        raise kind.refused("NOT_CANONICAL", f"the {noun}'s payload is not canonical JSON")
    if not isinstance(value, dict):
        raise kind.refused(kind.malformed, f"the {noun}'s payload is not a JSON object")
    if value.get("format") != kind.format:
        raise kind.refused("WRONG_FORMAT", f"the {noun}'s format is {value.get('format')!r}, not {kind.format!r}")
    if missing := sorted(kind.keys - value.keys()):
        raise kind.refused(kind.malformed, f"the {noun}'s payload is missing {', '.join(missing)}")
    if unknown := sorted(value.keys() - kind.keys):
        raise kind.refused(kind.malformed, f"the {noun}'s payload has unknown key(s) {', '.join(unknown)}")
    return value


def _load(kind: SignedKind, payload: bytes) -> object:
    def duplicate_keys_refused(pairs: list[tuple[str, object]]) -> dict[str, object]:
        value = dict(pairs)
        if len(value) != len(pairs):
            raise kind.refused(kind.malformed, f"the {kind.noun}'s payload repeats a key")
        return value

    def number_refused(text: str) -> object:
        raise kind.refused(kind.malformed, f"the {kind.noun}'s payload holds a non-integer number {text}")

    try:
        return json.loads(
            payload.decode("utf-8"),
            object_pairs_hook=duplicate_keys_refused,
            parse_float=number_refused,
            parse_constant=number_refused,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise kind.refused(kind.malformed, f"the {kind.noun}'s payload is not JSON: {error}") from error


@contextmanager
def reading(kind: SignedKind) -> Iterator[None]:
    """Refuse as kind.malformed a ValueError or OverflowError (a time no datetime holds) reading the fields."""
    try:
        yield
    except (ValueError, OverflowError) as error:
        raise kind.refused(kind.malformed, f"the {kind.noun}'s payload is malformed: {error}") from error


def int_of(obj: dict[str, Any], key: str) -> int:
    """Return obj[key], an integer (never a bool); ValueError otherwise."""
    value = obj[key]
    if type(value) is not int:  # bool is an int subclass: true is not 1 here
        raise ValueError(f"{key} must be an integer, not {value!r}")
    return value


def str_of(obj: dict[str, Any], key: str) -> str:
    """Return obj[key], a non-empty string; ValueError otherwise."""
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, not {value!r}")
    return value


def time_of(obj: dict[str, Any], key: str) -> datetime:
    """Return obj[key], integer milliseconds since the epoch, as an aware UTC datetime (OverflowError: out of range)."""
    return _EPOCH + timedelta(milliseconds=int_of(obj, key))


def check_recipient(kind: SignedKind, issued_to: str, expected: str) -> None:
    """Refuse (kind.wrong_recipient) a document issued to another brand than expected."""
    if issued_to != expected:
        raise kind.refused(
            kind.wrong_recipient,
            f"the {kind.noun} was issued to {issued_to!r}, not to {expected!r}: never {kind.use} it",
        )


def check_window(kind: SignedKind, now_ms: int, issued_at_ms: int, valid_until_ms: int) -> None:
    """Refuse a document at or after valid_until_ms (kind.expired) or before issued_at_ms less the skew."""
    if now_ms >= valid_until_ms:
        valid_until = _EPOCH + timedelta(milliseconds=valid_until_ms)
        raise kind.refused(kind.expired, f"the {kind.noun} expired at {valid_until.isoformat()}: {kind.expired_hint}")
    if now_ms < issued_at_ms - kind.skew_ms:
        issued_at = _EPOCH + timedelta(milliseconds=issued_at_ms)
        raise kind.refused(
            kind.not_yet_valid,
            f"the {kind.noun} was issued at {issued_at.isoformat()}, more than {kind.skew_ms // 60_000} minutes "
            "ahead of this clock",
        )
