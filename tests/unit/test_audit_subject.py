"""Every audited call names what it acted on by an id, never by a member reference, pseudonym or value."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    conversions_pb2,
    donations_pb2,
    instructions_pb2,
    members_pb2,
    operator_pb2,
    redemptions_pb2,
    registry_pb2,
    settlement_pb2,
)
from exchange.api.answer_subject import subject_of
from exchange.domain.audit import is_state_change

MODULES = (
    accruals_pb2,
    agreements_pb2,
    conversions_pb2,
    donations_pb2,
    instructions_pb2,
    members_pb2,
    operator_pb2,
    redemptions_pb2,
    registry_pb2,
    settlement_pb2,
)
CALLER = "caller-partner"

# What each state change is recorded about: "answer:" or "request:" and the field's path, or the caller.
EXPECTED = {
    "ProposeAgreement": "answer:agreement.agreement_id",
    "AcceptAgreement": "answer:agreement.agreement_id",
    "SuspendAgreement": "answer:agreement.agreement_id",
    "ResumeAgreement": "answer:agreement.agreement_id",
    "TerminateAgreement": "answer:agreement.agreement_id",
    "AcknowledgeInstruction": "answer:instruction.instruction_id",
    "RejectInstruction": "answer:instruction.instruction_id",
    "ApprovePartner": "answer:partner.partner_id",
    "SuspendPartner": "answer:partner.partner_id",
    "ReinstatePartner": "answer:partner.partner_id",
    "CreateLinkCode": "caller",
    "RedeemLinkCode": "answer:link.link_id",
    "Unlink": "answer:link.link_id",
    "DeclareAttribute": "answer:attribute.partner_id",
    "PublishAttributes": "caller",
    "GrantConsent": "answer:consent.consent_id",
    "RevokeConsent": "answer:consent.consent_id",
    "ReadAttributes": "request:source_partner_id",
    "EraseMember": "caller",
    "ProposeDonationAgreement": "answer:agreement.agreement_id",
    "AcceptDonationAgreement": "answer:agreement.agreement_id",
    "Donate": "answer:donation.donation_id",
    "RegisterPartner": "answer:partner.partner_id",
    "RotateKey": "answer:partner.partner_id",
    "RevokeKey": "answer:partner.partner_id",
    "ClosePeriod": "answer:period.period_id",
    "RecordPayment": "answer:instruction.instruction_id",
    "StartReconciliation": "answer:reconciliation_id",
    "AddReconciliationPart": "request:reconciliation_id",
    "FinishReconciliation": "answer:report.reconciliation_id",
    "OpenDispute": "answer:dispute.dispute_id",
    "RespondToDispute": "answer:dispute.dispute_id",
    "ResolveDispute": "answer:dispute.dispute_id",
    "ProposeAccrualAgreement": "answer:agreement.agreement_id",
    "AcceptAccrualAgreement": "answer:agreement.agreement_id",
    "AwardPoints": "caller",
    "ConvertBatch": "caller",
    "AuthorizeHold": "answer:hold.hold_id",
    "CaptureHold": "answer:hold.hold_id",
    "VoidHold": "answer:hold.hold_id",
    "QuoteConversion": "answer:quote.quote_id",
    "Convert": "answer:conversion.conversion_id",
    "ReverseConversion": "answer:conversion.conversion_id",
}


def _state_changes() -> list[MethodDescriptor]:
    return [
        method
        for module in MODULES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
        if is_state_change(f"/{service.full_name}/{method.name}")
    ]


def _filled(message: Message, side: str, path: str = "", depth: int = 0) -> Message:
    """Every string field holds its own path ("answer:conversion.conversion_id"), every repeated field one item."""
    for field in message.DESCRIPTOR.fields:
        at = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                getattr(message, field.name).append(f"{side}:{at}")
            else:
                setattr(message, field.name, f"{side}:{at}")
        elif field.type == FieldDescriptor.TYPE_MESSAGE and depth < 3:
            inner = getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
            _filled(inner, side, f"{at}.", depth + 1)
    return message


def _subject(method: MethodDescriptor, *, answer: bool = True, request: bool = True) -> str:
    response_message = GetMessageClass(method.output_type)()
    request_message = GetMessageClass(method.input_type)()
    return subject_of(
        _filled(response_message, "answer") if answer else response_message,
        _filled(request_message, "request") if request else request_message,
        CALLER,
    )


def test_the_table_covers_every_state_change_of_the_contract() -> None:
    assert sorted(method.name for method in _state_changes()) == sorted(EXPECTED)


def test_every_state_change_is_recorded_about_the_id_of_what_it_acted_on() -> None:
    found = {method.name: _subject(method) for method in _state_changes()}
    assert found == {name: CALLER if where == "caller" else where for name, where in EXPECTED.items()}


def test_every_state_change_has_a_subject_even_when_its_messages_carry_no_id() -> None:
    for method in _state_changes():
        assert _subject(method, answer=False, request=False) == CALLER, method.name
        assert _subject(method, answer=False) != "", method.name


def test_a_subject_is_never_a_member_reference_a_pseudonym_a_key_id_or_a_value() -> None:
    for method in _state_changes():
        for subject in (_subject(method), _subject(method, answer=False)):
            if subject == CALLER:
                continue
            field = subject.rsplit(".", 1)[-1].split(":")[-1]
            assert field.endswith("_id"), (method.name, subject)
            assert "pairwise" not in field and "member_ref" not in field and "key_id" not in field, (
                method.name,
                subject,
            )


def test_the_pairwise_member_id_is_passed_over_for_the_next_id() -> None:
    link_code = members_pb2.CreateLinkCodeResponse(code="secret-code", pairwise_member_id="pw-1")
    assert subject_of(link_code, members_pb2.CreateLinkCodeRequest(member_ref="m-1"), "stride") == "stride"
    read = members_pb2.ReadAttributesRequest(pairwise_member_id="pw-1", source_partner_id="stride")
    assert subject_of(members_pb2.ReadAttributesResponse(), read, "voltline") == "stride"
    convert = conversions_pb2.ConvertRequest(quote_id="q-1", pairwise_member_id="pw-1")
    assert subject_of(conversions_pb2.ConvertResponse(), convert, "stride") == "q-1"
    donation = donations_pb2.DonateResponse(donation=donations_pb2.Donation(donor_pairwise_id="pw-1"))
    assert subject_of(donation, donations_pb2.DonateRequest(), "stride") == "stride"
