"""Rules for accepting a signed request between organisations.

A request is accepted only if it is signed by a key of the principal it claims to be that
can sign now, over these exact bytes, within the time window, with a nonce never seen
before. A resent request (the same nonce with the same body digest, as a gRPC-level retry
produces) is the same call and gets the first answer; the same nonce with another body is
an attack. Parsing the headers and checking the signature itself (cryptography) live outside the
domain, in exchange.service.authentication.
"""

from __future__ import annotations

import enum

from exchange.domain.errors import Unauthenticated
from exchange.domain.partners import Partner, PartnerKey, PartnerStatus

DEFAULT_WINDOW_MS = 300_000


def check_timestamp(timestamp_ms: int, now_ms: int, window_ms: int) -> None:
    """Refuse a request whose timestamp is more than window_ms from the hub's clock either way."""
    skew = timestamp_ms - now_ms
    if skew > window_ms:
        raise Unauthenticated(
            "TIMESTAMP_TOO_NEW",
            f"request timestamp is {skew // 1000} s ahead of the hub clock (window {window_ms // 1000} s)",
        )
    if -skew > window_ms:
        raise Unauthenticated(
            "TIMESTAMP_TOO_OLD",
            f"request timestamp is {-skew // 1000} s behind the hub clock (window {window_ms // 1000} s)",
        )


def claimed_key(partner: Partner | None, key_id: str) -> PartnerKey:
    """Return the key a request claims to be signed with, or raise Unauthenticated.

    Only existence is checked here: the key's and the partner's state are told to a caller
    only after its signature proved it holds the key (see key_may_sign).
    """
    if partner is None:
        raise Unauthenticated("UNKNOWN_PARTNER", "the principal is not a registered partner")
    key = partner.key(key_id)
    if key is None:
        raise Unauthenticated("UNKNOWN_KEY", f"partner {partner.partner_id!r} has no key {key_id!r}")
    return key


def key_may_sign(partner: Partner, key: PartnerKey, now_ms: int) -> None:
    """Refuse a proven signer whose key or partner may not sign now, saying which check failed."""
    key_id = key.key_id
    if key.revoked_at_ms is not None:
        raise Unauthenticated("KEY_REVOKED", f"key {key_id!r} of partner {partner.partner_id!r} is revoked")
    if not key.can_sign_at(now_ms):
        raise Unauthenticated("KEY_EXPIRED", f"key {key_id!r} of partner {partner.partner_id!r} has expired")
    if partner.status is PartnerStatus.SUSPENDED:
        raise Unauthenticated("PARTNER_SUSPENDED", f"partner {partner.partner_id!r} is suspended")
    if partner.status is PartnerStatus.PENDING:
        raise Unauthenticated("PARTNER_PENDING", f"partner {partner.partner_id!r} is awaiting approval")


class NonceVerdict(enum.Enum):
    """What a nonce already on record means for a new request carrying it."""

    NEW = "NEW"
    RESENT = "RESENT"
    REPLAYED = "REPLAYED"


def judge_nonce(recorded: tuple[str, str] | None, request: tuple[str, str]) -> NonceVerdict:
    """Decide whether a nonce is fresh, a resend of the same call, or a replay of another call.

    recorded and request are (method, body digest): the same bytes sent to another method
    are another call.
    """
    if recorded is None:
        return NonceVerdict.NEW
    if recorded == request:
        return NonceVerdict.RESENT
    return NonceVerdict.REPLAYED


def nonce_replayed() -> Unauthenticated:
    """Return the error for a nonce reused with a different request."""
    return Unauthenticated("NONCE_REUSED", "this nonce was already used for a different request")
