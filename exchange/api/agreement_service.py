"""AgreementService: thin translations between protobuf and agreement commands."""

from __future__ import annotations

from coalition.exchange.v1 import agreements_pb2
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.money_translate import AGREEMENT_STATUS_FROM_PROTO, agreement_message, terms_from_message
from exchange.domain.errors import InvalidArgument
from exchange.service import agreements
from exchange.service.pipeline import PARTNERS, command

AGREEMENT_SERVICE = agreements_pb2.DESCRIPTOR.services_by_name["AgreementService"].full_name


@command(agreements_pb2.ProposeAgreementRequest, callers=PARTNERS)
def _propose(
    call: Invocation, request: agreements_pb2.ProposeAgreementRequest
) -> agreements_pb2.ProposeAgreementResponse:
    if not request.HasField("terms"):
        raise InvalidArgument("MISSING_FIELD", "terms is required", field="terms")
    agreement = agreements.propose(
        call.connection, call.caller, terms_from_message(request.terms), request.proposer_signature, call.now_ms
    )
    return agreements_pb2.ProposeAgreementResponse(agreement=agreement_message(agreement))


@command(agreements_pb2.AcceptAgreementRequest, callers=PARTNERS)
def _accept(call: Invocation, request: agreements_pb2.AcceptAgreementRequest) -> agreements_pb2.AcceptAgreementResponse:
    agreement = agreements.accept(
        call.connection, call.caller, request.agreement_id, request.acceptor_signature, call.now_ms
    )
    return agreements_pb2.AcceptAgreementResponse(agreement=agreement_message(agreement))


@command(agreements_pb2.GetAgreementRequest, callers=PARTNERS)
def _get(call: Invocation, request: agreements_pb2.GetAgreementRequest) -> agreements_pb2.GetAgreementResponse:
    agreement = agreements.get(call.connection, call.caller, request.agreement_id)
    return agreements_pb2.GetAgreementResponse(agreement=agreement_message(agreement))


@command(agreements_pb2.ListAgreementsRequest, callers=PARTNERS)
def _list(call: Invocation, request: agreements_pb2.ListAgreementsRequest) -> agreements_pb2.ListAgreementsResponse:
    status = None
    if request.status:
        if request.status not in AGREEMENT_STATUS_FROM_PROTO:
            raise InvalidArgument("INVALID_STATUS", "status is not a known AgreementStatus", field="status")
        status = AGREEMENT_STATUS_FROM_PROTO[request.status]
    page = agreements.list_page(
        call.connection,
        call.caller,
        counterparty=request.counterparty_id,
        status=status,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return agreements_pb2.ListAgreementsResponse(
        agreements=[agreement_message(a) for a in page.agreements], next_page_token=page.next_page_token
    )


@command(agreements_pb2.SuspendAgreementRequest, callers=PARTNERS)
def _suspend(
    call: Invocation, request: agreements_pb2.SuspendAgreementRequest
) -> agreements_pb2.SuspendAgreementResponse:
    agreement = agreements.suspend(call.connection, call.caller, request.agreement_id, request.reason, call.now_ms)
    return agreements_pb2.SuspendAgreementResponse(agreement=agreement_message(agreement))


@command(agreements_pb2.ResumeAgreementRequest, callers=PARTNERS)
def _resume(call: Invocation, request: agreements_pb2.ResumeAgreementRequest) -> agreements_pb2.ResumeAgreementResponse:
    agreement = agreements.resume(call.connection, call.caller, request.agreement_id, call.now_ms)
    return agreements_pb2.ResumeAgreementResponse(agreement=agreement_message(agreement))


@command(agreements_pb2.TerminateAgreementRequest, callers=PARTNERS)
def _terminate(
    call: Invocation, request: agreements_pb2.TerminateAgreementRequest
) -> agreements_pb2.TerminateAgreementResponse:
    agreement = agreements.terminate(call.connection, call.caller, request.agreement_id, request.reason, call.now_ms)
    return agreements_pb2.TerminateAgreementResponse(agreement=agreement_message(agreement))


AGREEMENT_METHODS: SignedMethods = {
    "ProposeAgreement": _propose,
    "AcceptAgreement": _accept,
    "GetAgreement": _get,
    "ListAgreements": _list,
    "SuspendAgreement": _suspend,
    "ResumeAgreement": _resume,
    "TerminateAgreement": _terminate,
}
