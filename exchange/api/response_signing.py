"""The hub's signature on every answer, so a partner can prove what the hub told it."""

from __future__ import annotations

from dataclasses import dataclass

from partner_sdk import signing
from partner_sdk.keys import Ed25519PrivateKey, fingerprint, public_key_bytes


@dataclass(frozen=True)
class HubSigner:
    """Signs answers with the hub's Ed25519 key."""

    private_key: Ed25519PrivateKey
    key_id: str

    @classmethod
    def from_key(cls, private_key: Ed25519PrivateKey) -> HubSigner:
        """Name the key by its fingerprint: 'hub-' and the first 16 hex digits."""
        return cls(private_key, "hub-" + fingerprint(public_key_bytes(private_key))[7:23])

    @property
    def public_key(self) -> bytes:
        """The raw public key partners verify answers with."""
        return public_key_bytes(self.private_key)

    def headers(
        self, *, method: str, request_nonce: str, status: str, body: bytes, now_ms: int
    ) -> tuple[tuple[str, str], ...]:
        """Return the trailing metadata that signs one answer."""
        message = signing.canonical_response(
            method=method,
            request_nonce=request_nonce,
            hub_key_id=self.key_id,
            timestamp_ms=now_ms,
            status=status,
            body=body,
        )
        return (
            (signing.HEADER_HUB_KEY_ID, self.key_id),
            (signing.HEADER_HUB_TIMESTAMP, str(now_ms)),
            (signing.HEADER_HUB_SIGNATURE, signing.encode_signature(self.private_key.sign(message))),
        )
