r"""Giving: the donation document a brand and a charity sign, donation receipts, and what the calls return.

A brand proposes a donation agreement with a charity (a partner of kind CHARITY), signing the
donation document; the charity accepts, signing the same bytes. Then the brand, having taken
the member's points, records a donation: the hub answers with a receipt it signs (who, how
much, to whom, when) for the member, and at settlement the brand owes the charity the points'
money value. The charity sees who donated only if the member chose to share it. The calls are
ExchangeClient's (propose_donation_agreement, accept_donation_agreement, donate, list_donations).

The document is UTF-8, lines joined by a single line feed, no trailing one::

    COALITION-DONATION-V1
    brand=<brand partner id>
    charity=<charity partner id>
    version=<int>
    value_per_point_minor=<numerator>/<denominator>      (lowest terms)
    settlement_currency=<ISO 4217 code>
    valid_from_ms=<int>
    valid_until_ms=<int>

The receipt is canonical JSON (partner_sdk.settlement.canonical_json) with the keys format
("coalition-donation-receipt/1"), donation_id, brand_partner_id, charity_partner_id,
member_at_brand (the brand's pairwise id for the member), identity_shared_with_charity,
points, amount_minor, currency, donated_at_ms; the hub signs
"coalition-donation-receipt-v1\n" followed by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal, TypeAlias

from partner_sdk._models import Consent
from partner_sdk._receipts import check_receipt
from partner_sdk.documents import _fraction, _integer, _ratio, _text, epoch_ms

__all__ = [
    "DONATION_SCHEME",
    "RECEIPT_PREFIX",
    "Donation",
    "DonationAgreement",
    "DonationAgreementStatus",
    "DonationTerms",
    "donation_document",
    "render_donation_document",
    "verify_receipt",
]

DONATION_SCHEME = "COALITION-DONATION-V1"
RECEIPT_PREFIX = b"coalition-donation-receipt-v1\n"

DonationAgreementStatus: TypeAlias = Literal["PROPOSED", "ACTIVE", "SUPERSEDED", "UNKNOWN"]


def render_donation_document(
    *,
    brand_partner_id: str,
    charity_partner_id: str,
    version: int,
    value_numerator: int,
    value_denominator: int,
    settlement_currency: str,
    valid_from_ms: int,
    valid_until_ms: int,
) -> bytes:
    """Return the donation document for plain values (the hub renders it with its own)."""
    lines = (
        DONATION_SCHEME,
        f"brand={_text('brand_partner_id', brand_partner_id)}",
        f"charity={_text('charity_partner_id', charity_partner_id)}",
        f"version={_integer('version', version)}",
        f"value_per_point_minor={_ratio('value_per_point_minor', value_numerator, value_denominator)}",
        f"settlement_currency={_text('settlement_currency', settlement_currency)}",
        f"valid_from_ms={_integer('valid_from_ms', valid_from_ms)}",
        f"valid_until_ms={_integer('valid_until_ms', valid_until_ms)}",
    )
    return "\n".join(lines).encode("utf-8")


@dataclass(frozen=True, slots=True)
class DonationTerms:
    """What a brand and a charity sign: each donated point is worth value_per_point_minor."""

    brand_partner_id: str
    charity_partner_id: str
    version: int
    value_per_point_minor: Fraction
    settlement_currency: str
    valid_from: datetime
    valid_until: datetime


def donation_document(terms: DonationTerms) -> bytes:
    """Return the exact bytes the brand and the charity sign."""
    value = _fraction("value_per_point_minor", terms.value_per_point_minor)
    return render_donation_document(
        brand_partner_id=terms.brand_partner_id,
        charity_partner_id=terms.charity_partner_id,
        version=terms.version,
        value_numerator=value.numerator,
        value_denominator=value.denominator,
        settlement_currency=terms.settlement_currency,
        valid_from_ms=epoch_ms(terms.valid_from),
        valid_until_ms=epoch_ms(terms.valid_until),
    )


@dataclass(frozen=True, slots=True)
class DonationAgreement:
    """One version; status is PROPOSED, ACTIVE or SUPERSEDED."""

    agreement_id: str
    terms: DonationTerms
    status: DonationAgreementStatus
    document: bytes
    proposer_signature: bytes
    acceptor_signature: bytes


@dataclass(frozen=True, slots=True)
class Donation:
    """A donation; member_ref is shown to the brand only, donor_pairwise_id to the charity only if shared."""

    donation_id: str
    brand_partner_id: str
    charity_partner_id: str
    member_ref: str
    donor_pairwise_id: str
    points: int
    amount_minor: int
    currency: str
    donated_at: datetime
    receipt: bytes
    receipt_signature: bytes
    hub_key_id: str

    def verify_receipt(self, hub_public_key: bytes) -> bytes:
        """Check that the hub signed this donation's receipt, and return the receipt (to show the member).

        Args:
            hub_public_key: the raw 32-byte public key of the hub key hub_key_id.

        Returns:
            The receipt, exactly the canonical JSON the hub signed (after RECEIPT_PREFIX).

        Raises:
            ReceiptVerificationError: reason BAD_SIGNATURE (another key, or an altered receipt)
                or BAD_HUB_KEY (not a 32-byte key).
        """
        check_receipt(
            hub_public_key, self.receipt_signature, RECEIPT_PREFIX + self.receipt, what=f"donation {self.donation_id}"
        )
        return self.receipt


def verify_receipt(signed: Donation | Consent, hub_public_key: bytes) -> bytes:
    """Check that the hub signed a donation's or a consent's receipt, and return the receipt.

    The same as ``signed.verify_receipt(hub_public_key)``.

    Args:
        signed: a Donation (from donate or list_donations) or a Consent (from grant_consent, ...).
        hub_public_key: the raw 32-byte public key of the hub key that signed it.

    Returns:
        The receipt, exactly the bytes the hub signed.

    Raises:
        ReceiptVerificationError: reason BAD_SIGNATURE (another key, or an altered receipt) or
            BAD_HUB_KEY (not a 32-byte key).
    """
    return signed.verify_receipt(hub_public_key)
