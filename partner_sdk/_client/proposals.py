"""Checking an agreement's document and its proposer's signature before signing it yourself.

A brand that accepts (or co-signs) an agreement the hub hands it signs the hub's document bytes.
Before it does, the client checks two things, the same way for every kind of agreement: that the
document is exactly what this SDK renders from the terms it was shown, and that the proposer's
signature over it verifies with the proposer's registered, unrevoked key. Nothing is signed when
either fails.
"""

from __future__ import annotations

from collections.abc import Callable

from partner_sdk import signing
from partner_sdk._client import registry
from partner_sdk._client.connection import PartnerConnection
from partner_sdk.errors import ResponseVerificationError


def check_document(label: str, document: bytes, render: Callable[[], bytes]) -> None:
    """Refuse a document that is not render() of the terms shown (label names the agreement in messages).

    Raises:
        ResponseVerificationError: AGREEMENT_DOCUMENT_MISMATCH, also when this SDK can't render the terms.
    """
    try:
        expected = render()
    except (TypeError, ValueError) as error:
        raise ResponseVerificationError(
            f"{label}: its terms can't be checked by this SDK ({error})", reason="AGREEMENT_DOCUMENT_MISMATCH"
        ) from error
    if document != expected:
        raise ResponseVerificationError(
            f"{label}: the hub's document does not match its terms", reason="AGREEMENT_DOCUMENT_MISMATCH"
        )


def check_proposer_signature(
    self: PartnerConnection,
    *,
    label: str,
    document: bytes,
    proposer_partner_id: str,
    role: str,
    key_id: str,
    signature: bytes,
    timeout_s: float | None,
) -> None:
    """Refuse a proposer's signature over document that its registered, unrevoked key does not verify.

    role names the proposer in messages ("funder", "recogniser", "seller").

    Raises:
        ResponseVerificationError: PROPOSER_SIGNATURE_INVALID.
    """
    proposer = registry.get_partner(self, proposer_partner_id, timeout_s=timeout_s)
    key = next((k for k in proposer.keys if k.key_id == key_id), None)
    if key is None or key.state == "REVOKED":
        problem = "is not registered" if key is None else "was revoked"
        raise ResponseVerificationError(
            f"{label}: the {role}'s key {key_id!r} {problem}", reason="PROPOSER_SIGNATURE_INVALID"
        )
    if not signing.verify(key.public_key, signature, document):
        raise ResponseVerificationError(
            f"{label}: the {role}'s signature does not verify", reason="PROPOSER_SIGNATURE_INVALID"
        )
