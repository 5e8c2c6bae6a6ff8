r"""Giving: the donation document a brand and a charity sign, donation receipts, and the calls.

A brand proposes a donation agreement with a charity (a partner of kind CHARITY), signing the
donation document; the charity accepts, signing the same bytes. Then the brand, having taken
the member's points, records a donation: the hub answers with a receipt it signs (who, how
much, to whom, when) for the member, and at settlement the brand owes the charity the points'
money value. The charity sees who donated only if the member chose to share it.

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

import uuid
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from coalition.exchange.v1 import common_pb2
from coalition.exchange.v1 import donations_pb2 as pb
from partner_sdk._convert import to_datetime, to_timestamp
from partner_sdk._mixin import ClientCalls
from partner_sdk.documents import _fraction, _integer, _ratio, _text, epoch_ms
from partner_sdk.models import Page

__all__ = [
    "DONATION_SCHEME",
    "RECEIPT_PREFIX",
    "Donation",
    "DonationAgreement",
    "DonationCalls",
    "DonationTerms",
    "donation_document",
    "render_donation_document",
    "verify_receipt",
]

DONATION_SCHEME = "COALITION-DONATION-V1"
RECEIPT_PREFIX = b"coalition-donation-receipt-v1\n"
_DONATIONS = "/coalition.exchange.v1.DonationService/"


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
    status: str
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


def verify_receipt(donation: Donation, hub_public_key: bytes) -> bool:
    """Whether the hub signed this donation's receipt (a brand shows the member a verified receipt)."""
    try:
        Ed25519PublicKey.from_public_bytes(hub_public_key).verify(
            donation.receipt_signature, RECEIPT_PREFIX + donation.receipt
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _terms_message(terms: DonationTerms) -> pb.DonationTerms:
    value = _fraction("value_per_point_minor", terms.value_per_point_minor)
    return pb.DonationTerms(
        brand_partner_id=terms.brand_partner_id,
        charity_partner_id=terms.charity_partner_id,
        version=terms.version,
        value_per_point_minor=common_pb2.Ratio(numerator=value.numerator, denominator=value.denominator),
        settlement_currency=terms.settlement_currency,
        valid_from=to_timestamp(terms.valid_from),
        valid_until=to_timestamp(terms.valid_until),
    )


def _agreement(m: pb.DonationAgreement) -> DonationAgreement:
    t = m.terms
    return DonationAgreement(
        agreement_id=m.agreement_id,
        terms=DonationTerms(
            brand_partner_id=t.brand_partner_id,
            charity_partner_id=t.charity_partner_id,
            version=t.version,
            value_per_point_minor=Fraction(t.value_per_point_minor.numerator, t.value_per_point_minor.denominator),
            settlement_currency=t.settlement_currency,
            valid_from=to_datetime(t.valid_from),
            valid_until=to_datetime(t.valid_until),
        ),
        status=m.status,
        document=m.document,
        proposer_signature=m.proposer_signature,
        acceptor_signature=m.acceptor_signature,
    )


def _donation(m: pb.Donation) -> Donation:
    return Donation(
        donation_id=m.donation_id,
        brand_partner_id=m.brand_partner_id,
        charity_partner_id=m.charity_partner_id,
        member_ref=m.member_ref,
        donor_pairwise_id=m.donor_pairwise_id,
        points=m.points,
        amount_minor=m.amount_minor,
        currency=m.currency,
        donated_at=to_datetime(m.donated_at),
        receipt=m.receipt,
        receipt_signature=m.receipt_signature,
        hub_key_id=m.hub_key_id,
    )


class DonationCalls(ClientCalls):
    """Donation methods, mixed into ExchangeClient (which provides ``transport`` and ``sign_document``)."""

    def propose_donation_agreement(self, terms: DonationTerms, *, timeout_s: float | None = None) -> DonationAgreement:
        """As the brand: sign the donation document of terms and propose it to the charity."""
        answer = self.transport.call(
            _DONATIONS + "ProposeDonationAgreement",
            pb.ProposeDonationAgreementRequest(
                terms=_terms_message(terms), proposer_signature=self.sign_document(donation_document(terms))
            ),
            pb.ProposeDonationAgreementResponse,
            timeout_s=timeout_s,
        )
        return _agreement(answer.agreement)

    def accept_donation_agreement(
        self, agreement_id: str, terms: DonationTerms, *, timeout_s: float | None = None
    ) -> DonationAgreement:
        """As the charity: sign the document of the terms you agreed (the hub checks it is the proposal's)."""
        answer = self.transport.call(
            _DONATIONS + "AcceptDonationAgreement",
            pb.AcceptDonationAgreementRequest(
                agreement_id=agreement_id, acceptor_signature=self.sign_document(donation_document(terms))
            ),
            pb.AcceptDonationAgreementResponse,
            timeout_s=timeout_s,
        )
        return _agreement(answer.agreement)

    def donate(
        self,
        charity_partner_id: str,
        *,
        member_ref: str,
        points: int,
        share_identity_with_charity: bool = False,
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> Donation:
        """Record a member's donation of this brand's points (already taken from the member)."""
        answer = self.transport.call(
            _DONATIONS + "Donate",
            pb.DonateRequest(
                charity_partner_id=charity_partner_id,
                member_ref=member_ref,
                points=points,
                share_identity_with_charity=share_identity_with_charity,
                idempotency_key=idempotency_key or "k-" + uuid.uuid4().hex,
            ),
            pb.DonateResponse,
            timeout_s=timeout_s,
        )
        return _donation(answer.donation)

    def list_donations(
        self, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
    ) -> Page[Donation]:
        """Return a page of donations this partner made (a brand) or received (a charity), newest first."""
        answer = self.transport.call(
            _DONATIONS + "ListDonations",
            pb.ListDonationsRequest(page_size=page_size, page_token=page_token),
            pb.ListDonationsResponse,
            timeout_s=timeout_s,
        )
        return Page(tuple(_donation(d) for d in answer.donations), answer.next_page_token)
