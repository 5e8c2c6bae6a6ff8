"""Receipts the hub signs for a member (a consent, a donation), checked with the hub's public key."""

from __future__ import annotations

from partner_sdk import signing
from partner_sdk.errors import ReceiptVerificationError

HUB_PUBLIC_KEY_BYTES = 32


def check_receipt(hub_public_key: bytes, signature: bytes, message: bytes, *, what: str) -> None:
    """Raise ReceiptVerificationError unless signature is the hub key's Ed25519 signature over message.

    Args:
        hub_public_key: the raw 32-byte public key of the hub key that signed the receipt.
        signature: the receipt's signature.
        message: exactly what the hub signed.
        what: what the receipt is for, to name it in the error (e.g. "consent cst-...").
    """
    if len(hub_public_key) != HUB_PUBLIC_KEY_BYTES:
        raise ReceiptVerificationError(
            f"{what}: the hub public key must be {HUB_PUBLIC_KEY_BYTES} bytes, not {len(hub_public_key)}",
            reason="BAD_HUB_KEY",
        )
    if not signing.verify(hub_public_key, signature, message):
        raise ReceiptVerificationError(
            f"{what}: the receipt's signature does not verify with this hub public key: wrong key, or an "
            "altered receipt",
            reason="BAD_SIGNATURE",
        )
