"""DonationService: thin translations between protobuf and donation commands."""

from __future__ import annotations

from coalition.exchange.v1 import common_pb2
from coalition.exchange.v1 import donations_pb2 as pb
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.donations import Donation, DonationAgreement, DonationTerms
from exchange.domain.errors import FailedPrecondition, InvalidArgument
from exchange.domain.money import Ratio
from exchange.service import donations
from exchange.service.pipeline import PARTNERS, command

DONATION_SERVICE = pb.DESCRIPTOR.services_by_name["DonationService"].full_name


def _secret(call: Invocation) -> bytes:
    if call.hub.keyring is None:
        raise FailedPrecondition("NO_KEYRING", "this hub runs without a keyring; donations need member ids")
    return call.hub.keyring.pairwise_secret


def _terms(m: pb.DonationTerms) -> DonationTerms:
    if not m.HasField("valid_from") or not m.HasField("valid_until"):
        raise InvalidArgument("MISSING_VALIDITY", "valid_from and valid_until are required", field="terms.valid_from")
    return DonationTerms(
        brand_partner_id=m.brand_partner_id,
        charity_partner_id=m.charity_partner_id,
        version=m.version,
        value_per_point_minor=Ratio.parse(
            m.value_per_point_minor.numerator, m.value_per_point_minor.denominator, field="terms.value_per_point_minor"
        ),
        settlement_currency=m.settlement_currency,
        valid_from_ms=timestamp_ms(m.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(m.valid_until, "terms.valid_until"),
    )


def _agreement(a: DonationAgreement) -> pb.DonationAgreement:
    t = a.terms
    return pb.DonationAgreement(
        agreement_id=a.agreement_id,
        terms=pb.DonationTerms(
            brand_partner_id=t.brand_partner_id,
            charity_partner_id=t.charity_partner_id,
            version=t.version,
            value_per_point_minor=common_pb2.Ratio(
                numerator=t.value_per_point_minor.numerator, denominator=t.value_per_point_minor.denominator
            ),
            settlement_currency=t.settlement_currency,
            valid_from=timestamp(t.valid_from_ms),
            valid_until=timestamp(t.valid_until_ms),
        ),
        status=a.status.value,
        document=a.document,
        proposer_signature=a.proposer_signature,
        acceptor_signature=a.acceptor_signature,
    )


def _donation(call: Invocation, d: Donation) -> pb.Donation:
    viewer = call.caller.principal
    return pb.Donation(
        donation_id=d.donation_id,
        brand_partner_id=d.brand_partner_id,
        charity_partner_id=d.charity_partner_id,
        member_ref=d.member_ref if viewer == d.brand_partner_id else "",
        donor_pairwise_id=donations.donor_id(call.connection, d, viewer, _secret(call)),
        points=d.points,
        amount_minor=d.amount_minor,
        currency=d.currency,
        donated_at=timestamp(d.donated_at_ms),
        receipt=d.receipt if viewer == d.brand_partner_id else b"",
        receipt_signature=d.receipt_signature if viewer == d.brand_partner_id else b"",
        hub_key_id=d.hub_key_id,
    )


@command(pb.ProposeDonationAgreementRequest, callers=PARTNERS)
def _propose(call: Invocation, request: pb.ProposeDonationAgreementRequest) -> pb.ProposeDonationAgreementResponse:
    made = donations.propose(
        call.connection, call.caller, _terms(request.terms), request.proposer_signature, call.now_ms
    )
    return pb.ProposeDonationAgreementResponse(agreement=_agreement(made))


@command(pb.AcceptDonationAgreementRequest, callers=PARTNERS)
def _accept(call: Invocation, request: pb.AcceptDonationAgreementRequest) -> pb.AcceptDonationAgreementResponse:
    done = donations.accept(call.connection, call.caller, request.agreement_id, request.acceptor_signature, call.now_ms)
    return pb.AcceptDonationAgreementResponse(agreement=_agreement(done))


@command(pb.DonateRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _donate(call: Invocation, request: pb.DonateRequest) -> pb.DonateResponse:
    signer = call.hub.signer
    made = donations.donate(
        call.connection,
        call.caller,
        charity_partner_id=request.charity_partner_id,
        member_ref=request.member_ref,
        points=request.points,
        share_identity=request.share_identity_with_charity,
        now_ms=call.now_ms,
        secret=_secret(call),
        sign=signer.private_key.sign,
        hub_key_id=signer.key_id,
    )
    return pb.DonateResponse(donation=_donation(call, made))


@command(pb.ListDonationsRequest, callers=PARTNERS)
def _list(call: Invocation, request: pb.ListDonationsRequest) -> pb.ListDonationsResponse:
    page, token = donations.list_page(
        call.connection, call.caller, page_size=request.page_size, page_token=request.page_token
    )
    return pb.ListDonationsResponse(donations=[_donation(call, d) for d in page], next_page_token=token)


DONATION_METHODS: SignedMethods = {
    "ProposeDonationAgreement": _propose,
    "AcceptDonationAgreement": _accept,
    "Donate": _donate,
    "ListDonations": _list,
}
