"""The request and response signing rules shared by the hub and every client.

docs/signing.md is the specification; this module is its reference implementation and the
test vectors in docs/signing_vectors.json are checked against it.

A request is signed over a canonical string, never over a re-encoded message:

    COALITION-REQUEST-V1
    <full method, e.g. /coalition.exchange.v1.RegistryService/GetPartner>
    <principal: the caller's partner id, or "operator">
    <key id>
    <timestamp: integer milliseconds since the Unix epoch, UTC>
    <nonce>
    <lowercase hex SHA-256 of the exact request bytes sent>

(lines joined by a single line feed, no trailing one). The hub's answer is signed the same
way over COALITION-RESPONSE-V1, the method, the request's nonce, the hub's key id, the
hub's timestamp, the status ("OK" or the gRPC status code name) and the SHA-256 of the
response bytes (for an error: of the google.rpc.Status bytes sent in grpc-status-details-bin).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

REQUEST_SCHEME = "COALITION-REQUEST-V1"
RESPONSE_SCHEME = "COALITION-RESPONSE-V1"
POSSESSION_SCHEME = "COALITION-KEY-POSSESSION-V1"

HEADER_PRINCIPAL = "x-coalition-principal"
HEADER_KEY_ID = "x-coalition-key-id"
HEADER_TIMESTAMP = "x-coalition-timestamp"
HEADER_NONCE = "x-coalition-nonce"
HEADER_SIGNATURE = "x-coalition-signature"
HEADER_HUB_KEY_ID = "x-coalition-hub-key-id"
HEADER_HUB_TIMESTAMP = "x-coalition-hub-timestamp"
HEADER_HUB_SIGNATURE = "x-coalition-hub-signature"
HEADER_REQUEST_ID = "x-request-id"

OPERATOR_PRINCIPAL = "operator"
STATUS_OK = "OK"

PRINCIPAL_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TIMESTAMP_PATTERN = re.compile(r"^(0|[1-9][0-9]{0,14})$")  # canonical decimal: no leading zeros
SIGNATURE_BYTES = 64


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of data."""
    return hashlib.sha256(data).hexdigest()


def new_nonce() -> str:
    """Return a fresh 128-bit random nonce, URL-safe base64 without padding (22 characters)."""
    return secrets.token_urlsafe(16)


def encode_signature(signature: bytes) -> str:
    """Encode a signature for a header: standard base64 with padding."""
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text: str) -> bytes:
    """Decode a header signature; raise ValueError unless it is 64 bytes of valid base64."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("signature is not valid base64") from exc
    if len(raw) != SIGNATURE_BYTES:
        raise ValueError(f"signature must be {SIGNATURE_BYTES} bytes, got {len(raw)}")
    if encode_signature(raw) != text:
        raise ValueError("signature is not in canonical base64")
    return raw


def canonical_request(*, method: str, principal: str, key_id: str, timestamp_ms: int, nonce: str, body: bytes) -> bytes:
    """Return the exact bytes a request signature covers."""
    lines = (REQUEST_SCHEME, method, principal, key_id, str(timestamp_ms), nonce, sha256_hex(body))
    return "\n".join(lines).encode("utf-8")


def canonical_response(
    *, method: str, request_nonce: str, hub_key_id: str, timestamp_ms: int, status: str, body: bytes
) -> bytes:
    """Return the exact bytes a hub response signature covers."""
    lines = (RESPONSE_SCHEME, method, request_nonce, hub_key_id, str(timestamp_ms), status, sha256_hex(body))
    return "\n".join(lines).encode("utf-8")


def possession_message(*, principal: str, key_id: str, public_key: bytes) -> bytes:
    """Return the message a new key signs to prove the registrant holds its private half."""
    return "\n".join((POSSESSION_SCHEME, principal, key_id, public_key.hex())).encode("utf-8")


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Return whether signature is a valid Ed25519 signature of message by public_key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The metadata a signed request carries."""

    principal: str
    key_id: str
    timestamp_ms: int
    nonce: str
    signature: str

    def as_metadata(self) -> tuple[tuple[str, str], ...]:
        """Return the headers as gRPC metadata pairs."""
        return (
            (HEADER_PRINCIPAL, self.principal),
            (HEADER_KEY_ID, self.key_id),
            (HEADER_TIMESTAMP, str(self.timestamp_ms)),
            (HEADER_NONCE, self.nonce),
            (HEADER_SIGNATURE, self.signature),
        )


def sign_request(
    private_key: Ed25519PrivateKey,
    *,
    method: str,
    principal: str,
    key_id: str,
    body: bytes,
    timestamp_ms: int,
    nonce: str | None = None,
) -> SignedHeaders:
    """Sign a request's exact bytes and return the headers to send with it."""
    nonce = nonce or new_nonce()
    message = canonical_request(
        method=method, principal=principal, key_id=key_id, timestamp_ms=timestamp_ms, nonce=nonce, body=body
    )
    return SignedHeaders(principal, key_id, timestamp_ms, nonce, encode_signature(private_key.sign(message)))
