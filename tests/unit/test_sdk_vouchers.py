"""The SDK's voucher agreements without a hub: converters, the document, the client's checks, the calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import common_pb2, memberships_pb2, registry_pb2
from coalition.exchange.v1 import vouchers_pb2 as pb
from partner_sdk import (
    ExchangeClient,
    VoucherTerms,
    generate_private_key,
    public_key_bytes,
    voucher_agreement_document,
)
from partner_sdk._client import memberships as membership_convert
from partner_sdk._client import vouchers as convert
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.memberships import VOUCHER_AGREEMENT_FORMAT
from partner_sdk.signing import verify
from tests.unit.test_sdk_documents import FakeTransport

NOW = datetime(2026, 3, 1, tzinfo=UTC)

TERMS = VoucherTerms(
    funder_partner_id="skyways",
    honouring_partner_id="harbour-hotels",
    version=1,
    value_minor=1500,
    currency="EUR",
    validity_days=30,
    monthly_limit=500,
    valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    valid_until=datetime(2027, 1, 1, tzinfo=UTC),
)


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _through_the_wire(message: Message) -> Any:
    again = type(message)()
    again.ParseFromString(message.SerializeToString())
    return again


def _client(
    partner_id: str, key: Ed25519PrivateKey, answers: dict[str, Callable[[Any], Message]]
) -> tuple[ExchangeClient, FakeTransport]:
    client = ExchangeClient("localhost:1", partner_id=partner_id, key_id=f"{partner_id}-k1", private_key=key)
    client.close()
    transport = FakeTransport(key, answers)
    client._transport = transport
    return client, transport


def _agreement_message(document: bytes, funder_key: Ed25519PrivateKey, *, key_id: str = "skyways-k1") -> Any:
    return pb.VoucherAgreement(
        agreement_id="vag-1",
        terms=convert.terms_to_proto(TERMS),
        status=pb.VOUCHER_AGREEMENT_STATUS_PROPOSED,
        document=document,
        proposer_key_id=key_id,
        proposer_signature=funder_key.sign(document),
        proposed_at=_stamp(NOW),
    )


def _voucher_message(**changes: Any) -> Any:
    message = memberships_pb2.Voucher(
        voucher_id="vch-9",
        funder_partner_id="skyways",
        honouring_partner_id="harbour-hotels",
        member_ref="m-42",
        value_minor=1500,
        currency="EUR",
        valid_from=_stamp(NOW),
        expires_at=_stamp(NOW + timedelta(days=30)),
        state=memberships_pb2.VOUCHER_STATE_ISSUED,
        agreement_id="vag-1",
    )
    for name, value in changes.items():
        setattr(message, name, value)
    return message


# ------------------------------------------------------- converters


def test_terms_come_back_the_same_through_protobuf() -> None:
    assert convert.terms(_through_the_wire(convert.terms_to_proto(TERMS))) == TERMS


def test_the_terms_times_travel_as_whole_milliseconds() -> None:
    fine = dataclasses.replace(TERMS, valid_from=datetime(2026, 1, 1, 0, 0, 0, 1999, tzinfo=UTC))
    message = convert.terms_to_proto(fine)
    assert message.valid_from.ToMilliseconds() == 1_767_225_600_001
    assert voucher_agreement_document(convert.terms(message)) == voucher_agreement_document(fine)


def test_an_agreement_reads_its_terms_document_and_signatures() -> None:
    funder = generate_private_key()
    message = _agreement_message(voucher_agreement_document(TERMS), funder)
    message.status = pb.VOUCHER_AGREEMENT_STATUS_ACTIVE
    message.acceptor_key_id, message.acceptor_signature = "harbour-hotels-k1", b"s" * 64
    agreement = convert.agreement(_through_the_wire(message))
    assert (agreement.agreement_id, agreement.terms, agreement.status) == ("vag-1", TERMS, "ACTIVE")
    assert agreement.document == voucher_agreement_document(TERMS)
    assert agreement.proposer_key_id == "skyways-k1"
    assert verify(public_key_bytes(funder), agreement.proposer_signature, agreement.document)
    assert (agreement.acceptor_key_id, agreement.acceptor_signature) == ("harbour-hotels-k1", b"s" * 64)
    assert agreement.proposed_at == NOW


def test_an_agreement_status_newer_than_the_sdk_or_unset_reads_unknown() -> None:
    funder = generate_private_key()
    for status in (99, pb.VOUCHER_AGREEMENT_STATUS_UNSPECIFIED):
        message = _agreement_message(voucher_agreement_document(TERMS), funder)
        message.status = status
        assert convert.agreement(message).status == "UNKNOWN"
    assert convert.AGREEMENT_STATUS.of(pb.VOUCHER_AGREEMENT_STATUS_SUPERSEDED) == "SUPERSEDED"


def test_a_voucher_names_its_agreement_and_a_membership_voucher_names_none() -> None:
    issued = membership_convert.voucher(_through_the_wire(_voucher_message()))
    assert (issued.voucher_id, issued.agreement_id, issued.membership_id) == ("vch-9", "vag-1", "")
    assert (issued.funder_partner_id, issued.honouring_partner_id, issued.member_ref) == (
        "skyways",
        "harbour-hotels",
        "m-42",
    )
    assert (issued.value_minor, issued.currency, issued.state) == (1500, "EUR", "ISSUED")
    assert (issued.valid_from, issued.expires_at, issued.redeemed_at) == (NOW, NOW + timedelta(days=30), None)
    of_a_membership = membership_convert.voucher(_voucher_message(agreement_id="", membership_id="mbs-1"))
    assert (of_a_membership.agreement_id, of_a_membership.membership_id) == ("", "mbs-1")


# ------------------------------------------------------- the document


def test_the_document_is_canonical_json_of_every_term_with_times_in_milliseconds() -> None:
    assert voucher_agreement_document(TERMS) == (
        b'{"currency":"EUR","format":"coalition-voucher-agreement/1","funder_partner_id":"skyways",'
        b'"honouring_partner_id":"harbour-hotels","monthly_limit":500,"valid_from_ms":1767225600000,'
        b'"valid_until_ms":1798761600000,"validity_days":30,"value_minor":1500,"version":1}'
    )
    assert VOUCHER_AGREEMENT_FORMAT == "coalition-voucher-agreement/1"


def test_times_in_any_zone_are_the_same_moment_and_below_a_millisecond_are_rounded_down() -> None:
    plus_two = timezone(timedelta(hours=2))
    zoned = dataclasses.replace(TERMS, valid_from=TERMS.valid_from.astimezone(plus_two))
    assert voucher_agreement_document(zoned) == voucher_agreement_document(TERMS)
    fine = dataclasses.replace(TERMS, valid_until=TERMS.valid_until + timedelta(microseconds=999))
    assert voucher_agreement_document(fine) == voucher_agreement_document(TERMS)
    before_1970 = dataclasses.replace(TERMS, valid_from=datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    assert b'"valid_from_ms":-1,' in voucher_agreement_document(before_1970)


def test_a_float_a_bool_a_naive_time_or_a_control_character_is_never_signed() -> None:
    with pytest.raises(TypeError):
        voucher_agreement_document(dataclasses.replace(TERMS, value_minor=1500.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        voucher_agreement_document(dataclasses.replace(TERMS, monthly_limit=True))
    with pytest.raises(ValueError, match="timezone-aware"):
        voucher_agreement_document(dataclasses.replace(TERMS, valid_until=datetime(2027, 1, 1)))
    with pytest.raises(ValueError, match="control characters"):
        voucher_agreement_document(dataclasses.replace(TERMS, currency="EU\nR"))


# ------------------------------------------------------- proposing and accepting


def test_proposing_signs_the_document_of_the_terms_sent() -> None:
    funder = generate_private_key()
    document = voucher_agreement_document(TERMS)
    client, transport = _client(
        "skyways",
        funder,
        {
            "ProposeVoucherAgreement": lambda _: pb.ProposeVoucherAgreementResponse(
                agreement=_agreement_message(document, funder)
            )
        },
    )
    assert client.propose_voucher_agreement(TERMS).status == "PROPOSED"
    sent = transport.calls[0][1]
    assert convert.terms(sent.terms) == TERMS
    assert verify(public_key_bytes(funder), sent.proposer_signature, document)


def _accept_answers(
    agreement: Any, funder_public: bytes, key_state: common_pb2.KeyState = common_pb2.KEY_STATE_ACTIVE
) -> dict[str, Callable[[Any], Message]]:
    def accept(request: Any) -> Message:
        accepted = pb.VoucherAgreement()
        accepted.CopyFrom(agreement)
        accepted.status = pb.VOUCHER_AGREEMENT_STATUS_ACTIVE
        accepted.acceptor_key_id, accepted.acceptor_signature = "harbour-hotels-k1", request.acceptor_signature
        return pb.AcceptVoucherAgreementResponse(agreement=accepted)

    funder = common_pb2.Partner(
        partner_id="skyways",
        point_value_minor=common_pb2.Ratio(numerator=1, denominator=1),
        keys=[common_pb2.PartnerKey(key_id="skyways-k1", public_key=funder_public, state=key_state)],
    )
    return {
        "GetVoucherAgreement": lambda _: pb.GetVoucherAgreementResponse(agreement=agreement),
        "GetPartner": lambda _: registry_pb2.GetPartnerResponse(partner=funder),
        "AcceptVoucherAgreement": accept,
    }


def test_accepting_checks_the_document_and_the_funders_signature_then_signs_the_same_bytes() -> None:
    funder, honouring = generate_private_key(), generate_private_key()
    answers = _accept_answers(_agreement_message(voucher_agreement_document(TERMS), funder), public_key_bytes(funder))
    client, transport = _client("harbour-hotels", honouring, answers)
    agreement = client.accept_voucher_agreement("vag-1")
    assert [name for name, _, _ in transport.calls] == ["GetVoucherAgreement", "GetPartner", "AcceptVoucherAgreement"]
    assert transport.calls[0][1].agreement_id == "vag-1"
    assert transport.calls[1][1].partner_id == "skyways"
    assert transport.calls[-1][1].agreement_id == "vag-1"
    signed = transport.calls[-1][1].acceptor_signature
    assert verify(public_key_bytes(honouring), signed, voucher_agreement_document(TERMS))
    assert (agreement.status, agreement.acceptor_key_id) == ("ACTIVE", "harbour-hotels-k1")


def test_a_document_that_does_not_match_its_terms_is_never_signed() -> None:
    funder = generate_private_key()
    forged = voucher_agreement_document(TERMS).replace(b'"value_minor":1500', b'"value_minor":150')
    client, transport = _client(
        "harbour-hotels",
        generate_private_key(),
        _accept_answers(_agreement_message(forged, funder), public_key_bytes(funder)),
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.accept_voucher_agreement("vag-1")
    assert caught.value.reason == "AGREEMENT_DOCUMENT_MISMATCH"
    assert [name for name, _, _ in transport.calls] == ["GetVoucherAgreement"]


@pytest.mark.parametrize("who", ["someone else signed", "unknown key", "revoked key"])
def test_a_proposal_not_signed_by_the_funder_is_never_accepted(who: str) -> None:
    funder = generate_private_key()
    signer = generate_private_key() if who == "someone else signed" else funder
    key_id = "skyways-k9" if who == "unknown key" else "skyways-k1"
    agreement = _agreement_message(voucher_agreement_document(TERMS), signer, key_id=key_id)
    state = common_pb2.KEY_STATE_REVOKED if who == "revoked key" else common_pb2.KEY_STATE_ACTIVE
    client, transport = _client(
        "harbour-hotels", generate_private_key(), _accept_answers(agreement, public_key_bytes(funder), state)
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.accept_voucher_agreement("vag-1")
    assert caught.value.reason == "PROPOSER_SIGNATURE_INVALID"
    assert "AcceptVoucherAgreement" not in [name for name, _, _ in transport.calls]


# ------------------------------------------------------- the other calls


def test_each_call_sends_what_it_is_given_and_a_key_when_none_is_given() -> None:
    client, transport = _client(
        "skyways",
        generate_private_key(),
        {
            "GetVoucherAgreement": lambda _: pb.GetVoucherAgreementResponse(
                agreement=_agreement_message(voucher_agreement_document(TERMS), generate_private_key())
            ),
            "IssueVoucher": lambda _: pb.IssueVoucherResponse(voucher=_voucher_message()),
            "GetVoucher": lambda _: pb.GetVoucherResponse(voucher=_voucher_message()),
        },
    )
    assert client.get_voucher_agreement("vag-1").terms == TERMS
    issued = client.issue_voucher("harbour-hotels", member_ref="m-42")
    assert (issued.voucher_id, issued.agreement_id, issued.state) == ("vch-9", "vag-1", "ISSUED")
    client.issue_voucher("harbour-hotels", member_ref="m-43", idempotency_key="issue-43", timeout_s=2.0)
    assert client.get_voucher("vch-9").agreement_id == "vag-1"
    get, issue, issue_keyed, get_voucher = transport.calls
    assert get[1].agreement_id == "vag-1"
    assert (issue[1].honouring_partner_id, issue[1].member_ref) == ("harbour-hotels", "m-42")
    assert issue[1].idempotency_key.startswith("sdk-issue-voucher-")
    assert len(issue[1].idempotency_key) > len("sdk-issue-voucher-")
    assert (issue_keyed[1].member_ref, issue_keyed[1].idempotency_key, issue_keyed[2]) == ("m-43", "issue-43", 2.0)
    assert get_voucher[1].voucher_id == "vch-9"
