"""VoucherService: thin translations between protobuf and the voucher agreement commands."""

from __future__ import annotations

from coalition.exchange.v1 import vouchers_pb2 as pb
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.membership_translate import voucher_message
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.errors import InvalidArgument
from exchange.domain.voucher_agreements import VoucherAgreement, validate_terms
from exchange.service import voucher_agreements
from exchange.service.pipeline import PARTNERS, command

VOUCHER_SERVICE = pb.DESCRIPTOR.services_by_name["VoucherService"].full_name


def _agreement_message(a: VoucherAgreement) -> pb.VoucherAgreement:
    t = a.terms
    return pb.VoucherAgreement(
        agreement_id=a.agreement_id,
        terms=pb.VoucherTerms(
            funder_partner_id=t.funder_partner_id,
            honouring_partner_id=t.honouring_partner_id,
            version=t.version,
            value_minor=t.value_minor,
            currency=t.currency,
            validity_days=t.validity_days,
            monthly_limit=t.monthly_limit,
            valid_from=timestamp(t.valid_from_ms),
            valid_until=timestamp(t.valid_until_ms),
        ),
        status=f"VOUCHER_AGREEMENT_STATUS_{a.status.value}",  # type: ignore[arg-type]
        document=a.document,
        proposer_key_id=a.proposer_key_id,
        proposer_signature=a.proposer_signature,
        acceptor_key_id=a.acceptor_key_id,
        acceptor_signature=a.acceptor_signature,
        proposed_at=timestamp(a.proposed_at_ms),
    )


@command(pb.ProposeVoucherAgreementRequest, callers=PARTNERS)
def _propose(call: Invocation, request: pb.ProposeVoucherAgreementRequest) -> pb.ProposeVoucherAgreementResponse:
    t = request.terms
    if not t.HasField("valid_from") or not t.HasField("valid_until"):
        raise InvalidArgument("MISSING_VALIDITY", "valid_from and valid_until are required", field="terms.valid_from")
    terms = validate_terms(
        funder_partner_id=t.funder_partner_id,
        honouring_partner_id=t.honouring_partner_id,
        version=t.version,
        value_minor=t.value_minor,
        currency=t.currency,
        validity_days=t.validity_days,
        monthly_limit=t.monthly_limit,
        valid_from_ms=timestamp_ms(t.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(t.valid_until, "terms.valid_until"),
    )
    agreement = voucher_agreements.propose(call.work, call.caller, terms, request.proposer_signature, call.now_ms)
    return pb.ProposeVoucherAgreementResponse(agreement=_agreement_message(agreement))


@command(pb.AcceptVoucherAgreementRequest, callers=PARTNERS)
def _accept(call: Invocation, request: pb.AcceptVoucherAgreementRequest) -> pb.AcceptVoucherAgreementResponse:
    agreement = voucher_agreements.accept(
        call.work, call.caller, request.agreement_id, request.acceptor_signature, call.now_ms
    )
    return pb.AcceptVoucherAgreementResponse(agreement=_agreement_message(agreement))


@command(pb.GetVoucherAgreementRequest, callers=PARTNERS)
def _get_agreement(call: Invocation, request: pb.GetVoucherAgreementRequest) -> pb.GetVoucherAgreementResponse:
    return pb.GetVoucherAgreementResponse(
        agreement=_agreement_message(voucher_agreements.get(call.work, call.caller, request.agreement_id))
    )


@command(pb.IssueVoucherRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _issue(call: Invocation, request: pb.IssueVoucherRequest) -> pb.IssueVoucherResponse:
    issued = voucher_agreements.issue(
        call.work, call.caller, request.honouring_partner_id, request.member_ref, call.now_ms
    )
    return pb.IssueVoucherResponse(voucher=voucher_message(issued))


@command(pb.GetVoucherRequest, callers=PARTNERS)
def _get(call: Invocation, request: pb.GetVoucherRequest) -> pb.GetVoucherResponse:
    return pb.GetVoucherResponse(
        voucher=voucher_message(voucher_agreements.get_voucher(call.work, call.caller, request.voucher_id))
    )


VOUCHER_METHODS: SignedMethods = {
    "ProposeVoucherAgreement": _propose,
    "AcceptVoucherAgreement": _accept,
    "GetVoucherAgreement": _get_agreement,
    "IssueVoucher": _issue,
    "GetVoucher": _get,
}
