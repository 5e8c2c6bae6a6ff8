"""MembershipService: thin translations between protobuf and the joint membership commands."""

from __future__ import annotations

from coalition.exchange.v1 import memberships_pb2 as pb
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.member_service import pairwise_secret
from exchange.api.membership_translate import (
    agreement_message,
    membership_message,
    pass_message,
    term_from_proto,
    terms_from_proto,
    voucher_message,
)
from exchange.service import membership_benefits, memberships
from exchange.service.pipeline import PARTNERS, command

MEMBERSHIP_SERVICE = pb.DESCRIPTOR.services_by_name["MembershipService"].full_name


@command(pb.ProposeMembershipAgreementRequest, callers=PARTNERS)
def _propose(call: Invocation, request: pb.ProposeMembershipAgreementRequest) -> pb.ProposeMembershipAgreementResponse:
    agreement = memberships.propose_agreement(
        call.work, call.caller, terms_from_proto(request.terms), request.seller_signature, call.now_ms
    )
    return pb.ProposeMembershipAgreementResponse(agreement=agreement_message(agreement))


@command(pb.SignMembershipAgreementRequest, callers=PARTNERS)
def _sign(call: Invocation, request: pb.SignMembershipAgreementRequest) -> pb.SignMembershipAgreementResponse:
    agreement = memberships.sign_agreement(call.work, call.caller, request.agreement_id, request.signature, call.now_ms)
    return pb.SignMembershipAgreementResponse(agreement=agreement_message(agreement))


@command(pb.GetMembershipAgreementRequest, callers=PARTNERS)
def _get_agreement(call: Invocation, request: pb.GetMembershipAgreementRequest) -> pb.GetMembershipAgreementResponse:
    agreement = memberships.get_agreement(call.work, call.caller, request.agreement_id)
    return pb.GetMembershipAgreementResponse(agreement=agreement_message(agreement))


@command(pb.EnrolRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _enrol(call: Invocation, request: pb.EnrolRequest) -> pb.EnrolResponse:
    found = memberships.enrol(
        call.work,
        call.caller,
        programme_id=request.programme_id,
        member_ref=request.member_ref,
        term=term_from_proto(request.term, "term"),
        score=request.score if request.HasField("score") else None,
        fee_minor=request.fee_minor,
        pairwise_secret=pairwise_secret(call),
        now_ms=call.now_ms,
    )
    membership_benefits.issue_due_vouchers(call.work, found.membership.membership_id, call.now_ms)
    return pb.EnrolResponse(membership=membership_message(found))


@command(pb.RenewMembershipRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _renew(call: Invocation, request: pb.RenewMembershipRequest) -> pb.RenewMembershipResponse:
    found = memberships.renew(
        call.work,
        call.caller,
        membership_id=request.membership_id,
        term=term_from_proto(request.term, "term"),
        score=request.score if request.HasField("score") else None,
        fee_minor=request.fee_minor,
        now_ms=call.now_ms,
    )
    membership_benefits.issue_due_vouchers(call.work, found.membership.membership_id, call.now_ms)
    return pb.RenewMembershipResponse(membership=membership_message(found))


@command(pb.ReportRenewalFailureRequest, callers=PARTNERS)
def _renewal_failed(call: Invocation, request: pb.ReportRenewalFailureRequest) -> pb.ReportRenewalFailureResponse:
    found = memberships.report_renewal_failure(call.work, call.caller, request.membership_id, call.now_ms)
    return pb.ReportRenewalFailureResponse(membership=membership_message(found))


@command(pb.CancelMembershipRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _cancel(call: Invocation, request: pb.CancelMembershipRequest) -> pb.CancelMembershipResponse:
    found = memberships.cancel(call.work, call.caller, request.membership_id, call.now_ms)
    return pb.CancelMembershipResponse(membership=membership_message(found))


@command(pb.GetMembershipRequest, callers=PARTNERS)
def _get(call: Invocation, request: pb.GetMembershipRequest) -> pb.GetMembershipResponse:
    found = memberships.view(call.work, call.caller, request.membership_id)
    return pb.GetMembershipResponse(membership=membership_message(found))


@command(pb.ListMembershipsRequest, callers=PARTNERS)
def _list(call: Invocation, request: pb.ListMembershipsRequest) -> pb.ListMembershipsResponse:
    found = memberships.of_member(call.work, call.caller, request.member_ref)
    return pb.ListMembershipsResponse(memberships=[membership_message(v) for v in found])


@command(pb.IssueMembershipPassRequest, callers=PARTNERS)
def _issue_pass(call: Invocation, request: pb.IssueMembershipPassRequest) -> pb.IssueMembershipPassResponse:
    signer = call.hub.signer
    signed = membership_benefits.issue_pass(
        call.work,
        call.caller,
        request.membership_id,
        pairwise_secret=pairwise_secret(call),
        key_id=signer.key_id,
        sign=signer.private_key.sign,
        now_ms=call.now_ms,
    )
    return pb.IssueMembershipPassResponse(membership_pass=pass_message(signed))


@command(pb.ListVouchersRequest, callers=PARTNERS)
def _list_vouchers(call: Invocation, request: pb.ListVouchersRequest) -> pb.ListVouchersResponse:
    found, token = membership_benefits.list_vouchers(
        call.work, call.caller, request.membership_id, page_size=request.page_size, page_token=request.page_token
    )
    return pb.ListVouchersResponse(vouchers=[voucher_message(v) for v in found], next_page_token=token)


@command(pb.RedeemVoucherRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _redeem_voucher(call: Invocation, request: pb.RedeemVoucherRequest) -> pb.RedeemVoucherResponse:
    redeemed = membership_benefits.redeem_voucher(
        call.work, call.caller, request.voucher_id, request.reference, call.now_ms
    )
    return pb.RedeemVoucherResponse(voucher=voucher_message(redeemed))


MEMBERSHIP_METHODS: SignedMethods = {
    "ProposeMembershipAgreement": _propose,
    "SignMembershipAgreement": _sign,
    "GetMembershipAgreement": _get_agreement,
    "Enrol": _enrol,
    "RenewMembership": _renew,
    "ReportRenewalFailure": _renewal_failed,
    "CancelMembership": _cancel,
    "GetMembership": _get,
    "ListMemberships": _list,
    "IssueMembershipPass": _issue_pass,
    "ListVouchers": _list_vouchers,
    "RedeemVoucher": _redeem_voucher,
}
