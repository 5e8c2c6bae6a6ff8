"""DonationService: donation agreements between a brand and a charity, and donations."""

from __future__ import annotations

from fractions import Fraction

from coalition.exchange.v1 import common_pb2
from coalition.exchange.v1 import donations_pb2 as pb
from partner_sdk._client.connection import PartnerConnection, new_key
from partner_sdk._convert import Names, to_datetime, to_timestamp
from partner_sdk._models import Page
from partner_sdk.documents import _fraction
from partner_sdk.donations import Donation, DonationAgreement, DonationAgreementStatus, DonationTerms, donation_document

_DONATIONS = "/coalition.exchange.v1.DonationService/"
_STATUS: Names[DonationAgreementStatus] = Names(DonationAgreementStatus)


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


def _donation_agreement(m: pb.DonationAgreement) -> DonationAgreement:
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
        status=_STATUS.of_text(m.status),
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


def propose_donation_agreement(
    self: PartnerConnection, terms: DonationTerms, *, timeout_s: float | None = None
) -> DonationAgreement:
    """As the brand: sign the donation document of terms and propose it to the charity."""
    answer = self.transport.call(
        _DONATIONS + "ProposeDonationAgreement",
        pb.ProposeDonationAgreementRequest(
            terms=_terms_message(terms), proposer_signature=self.sign_document(donation_document(terms))
        ),
        pb.ProposeDonationAgreementResponse,
        timeout_s=timeout_s,
    )
    return _donation_agreement(answer.agreement)


def accept_donation_agreement(
    self: PartnerConnection, agreement_id: str, terms: DonationTerms, *, timeout_s: float | None = None
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
    return _donation_agreement(answer.agreement)


def donate(
    self: PartnerConnection,
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
            idempotency_key=idempotency_key or new_key("k-"),
        ),
        pb.DonateResponse,
        timeout_s=timeout_s,
    )
    return _donation(answer.donation)


def list_donations(
    self: PartnerConnection, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
) -> Page[Donation]:
    """Return a page of donations this partner made (a brand) or received (a charity), newest first."""
    answer = self.transport.call(
        _DONATIONS + "ListDonations",
        pb.ListDonationsRequest(page_size=page_size, page_token=page_token),
        pb.ListDonationsResponse,
        timeout_s=timeout_s,
    )
    return Page(tuple(_donation(d) for d in answer.donations), answer.next_page_token)
