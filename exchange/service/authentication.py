"""Proving who sent a request: signing headers, key lookup, signature over the exact bytes.

The acceptance rules themselves are pure and live in exchange.domain.request_auth; this
module feeds them what they need from the request's metadata and the registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection

from exchange.domain.errors import Unauthenticated
from exchange.domain.request_auth import check_timestamp, claimed_key, key_may_sign
from exchange.store.partners_repo import PartnerRepository
from partner_sdk import signing

_HEADER_PATTERNS = {
    signing.HEADER_PRINCIPAL: signing.PRINCIPAL_PATTERN,
    signing.HEADER_KEY_ID: signing.KEY_ID_PATTERN,
    signing.HEADER_TIMESTAMP: signing.TIMESTAMP_PATTERN,
    signing.HEADER_NONCE: signing.NONCE_PATTERN,
    signing.HEADER_SIGNATURE: re.compile(r"^[A-Za-z0-9+/]{86}==$"),
}


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """One received request: its method, signing headers and the exact bytes that arrived."""

    method: str
    principal: str
    key_id: str
    timestamp_ms: int
    nonce: str
    signature: bytes
    body: bytes
    # The hex SHA-256 of body, computed once: the nonce, the idempotency key and the audit event keep it.
    body_sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body_sha256", signing.sha256_hex(self.body))

    def canonical(self) -> bytes:
        """The bytes the caller's signature must cover."""
        return signing.canonical_request(
            method=self.method,
            principal=self.principal,
            key_id=self.key_id,
            timestamp_ms=self.timestamp_ms,
            nonce=self.nonce,
            body=self.body,
        )


def read_call(method: str, metadata: Mapping[str, str], body: bytes) -> IncomingCall:
    """Parse the signing headers, or raise Unauthenticated naming the first missing or malformed one."""
    values: dict[str, str] = {}
    for header, pattern in _HEADER_PATTERNS.items():
        value = metadata.get(header)
        if not value:
            raise Unauthenticated("MISSING_SIGNATURE_HEADER", f"request has no {header} header")
        if not pattern.fullmatch(value):
            raise Unauthenticated("MALFORMED_SIGNATURE_HEADER", f"request header {header} is malformed")
        values[header] = value
    try:
        signature = signing.decode_signature(values[signing.HEADER_SIGNATURE])
    except ValueError as exc:
        raise Unauthenticated(
            "MALFORMED_SIGNATURE_HEADER", f"request header {signing.HEADER_SIGNATURE} is malformed"
        ) from exc
    return IncomingCall(
        method=method,
        principal=values[signing.HEADER_PRINCIPAL],
        key_id=values[signing.HEADER_KEY_ID],
        timestamp_ms=int(values[signing.HEADER_TIMESTAMP]),
        nonce=values[signing.HEADER_NONCE],
        signature=signature,
        body=body,
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a verified request came from."""

    principal: str
    key_id: str

    @property
    def is_operator(self) -> bool:
        """Whether the caller is the coalition operator."""
        return self.principal == signing.OPERATOR_PRINCIPAL


@dataclass(frozen=True, slots=True)
class OperatorKey:
    """The operator's public key, given to the hub at start."""

    key_id: str
    public_key: bytes


class Authenticator:
    """Checks signed requests against the registry, the operator key and the clock."""

    def __init__(self, *, operator_keys: list[OperatorKey], window_ms: int) -> None:
        # Several operator keys are accepted at once so the operator can rotate without a gap.
        self.operator_keys = {key.key_id: key.public_key for key in operator_keys}
        self.window_ms = window_ms

    def authenticate(self, connection: Connection, call: IncomingCall, now_ms: int) -> Caller:
        """Return the caller of a registered principal's request, or raise Unauthenticated."""
        check_timestamp(call.timestamp_ms, now_ms, self.window_ms)
        if call.principal == signing.OPERATOR_PRINCIPAL:
            public_key = self.operator_keys.get(call.key_id)
            if public_key is None:
                raise Unauthenticated("UNKNOWN_KEY", f"the operator has no key {call.key_id!r}")
            self._verify(call, public_key)
        else:
            partner = PartnerRepository(connection).get(call.principal)
            key = claimed_key(partner, call.key_id)
            self._verify(call, key.public_key)
            assert partner is not None
            key_may_sign(partner, key, now_ms)
        return Caller(call.principal, call.key_id)

    def authenticate_registrant(self, call: IncomingCall, public_key: bytes, now_ms: int) -> Caller:
        """Check a registration, which is signed by the key it registers."""
        check_timestamp(call.timestamp_ms, now_ms, self.window_ms)
        self._verify(call, public_key)
        return Caller(call.principal, call.key_id)

    @staticmethod
    def _verify(call: IncomingCall, public_key: bytes) -> None:
        if not signing.verify(public_key, call.signature, call.canonical()):
            raise Unauthenticated("BAD_SIGNATURE", "the signature does not match the request and key")
