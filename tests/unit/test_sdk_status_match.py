"""The SDK's status match without a hub: converters, the document, the client's checks, attestations, the loop."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import common_pb2, instructions_pb2, members_pb2, registry_pb2
from coalition.exchange.v1 import status_match_pb2 as pb
from partner_sdk import (
    Challenge,
    ExchangeClient,
    Instruction,
    InstructionLoop,
    MatchTerms,
    RejectInstruction,
    Tier,
    TierAttestation,
    TierAttestationDocument,
    TierAttestationVerificationError,
    _convert,
    generate_private_key,
    match_document,
    public_key_bytes,
    verify_tier_attestation,
)
from partner_sdk._client import status_match as convert
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.settlement import canonical_json
from partner_sdk.signing import verify
from partner_sdk.status_match import (
    TIER_ATTESTATION_FORMAT,
    TIER_ATTESTATION_PREFIX,
    render_tier_attestation_payload,
    tier_attestation_message,
)
from tests.unit.test_sdk_documents import FakeClient, FakeTransport, _instruction

NOW = datetime(2026, 3, 1, tzinfo=UTC)

TERMS = MatchTerms(
    recogniser_partner_id="harbour-hotels",
    attester_partner_id="skyways",
    version=1,
    mapping=(("gold", "platinum"), ("silver", "gold")),
    challenge=Challenge(days=90, activity="nights stayed", target=10),
    match_days=180,
    period_days=365,
    max_tier_age_days=30,
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


# ------------------------------------------------------- converters


@pytest.mark.parametrize("challenge", [TERMS.challenge, None], ids=["with a challenge", "without one"])
def test_terms_come_back_the_same_through_protobuf(challenge: Challenge | None) -> None:
    terms = dataclasses.replace(TERMS, challenge=challenge)
    message = _through_the_wire(convert.terms_to_proto(terms))
    assert message.HasField("challenge") == (challenge is not None)
    assert convert.terms(message) == terms


def test_the_terms_times_travel_as_whole_milliseconds() -> None:
    fine = dataclasses.replace(TERMS, valid_from=datetime(2026, 1, 1, 0, 0, 0, 1999, tzinfo=UTC))
    message = convert.terms_to_proto(fine)
    assert message.valid_from.ToMilliseconds() == 1_767_225_600_001
    assert match_document(convert.terms(message)) == match_document(fine)


def _agreement_message(
    document: bytes, recogniser_key: Ed25519PrivateKey, *, key_id: str = "harbour-hotels-k1", terms: Any = None
) -> Any:
    return pb.MatchAgreement(
        agreement_id="mta-1",
        terms=terms if terms is not None else convert.terms_to_proto(TERMS),
        status=pb.MATCH_AGREEMENT_STATUS_PROPOSED,
        document=document,
        proposer_key_id=key_id,
        proposer_signature=recogniser_key.sign(document),
        proposed_at=_stamp(NOW),
    )


def test_an_agreement_reads_its_terms_document_and_signatures() -> None:
    recogniser = generate_private_key()
    message = _agreement_message(match_document(TERMS), recogniser)
    message.status = pb.MATCH_AGREEMENT_STATUS_ACTIVE
    message.acceptor_key_id, message.acceptor_signature = "skyways-k1", b"s" * 64
    agreement = convert.agreement(_through_the_wire(message))
    assert (agreement.agreement_id, agreement.terms, agreement.status) == ("mta-1", TERMS, "ACTIVE")
    assert agreement.document == match_document(TERMS)
    assert agreement.proposer_key_id == "harbour-hotels-k1"
    assert verify(public_key_bytes(recogniser), agreement.proposer_signature, agreement.document)
    assert (agreement.acceptor_key_id, agreement.acceptor_signature) == ("skyways-k1", b"s" * 64)
    assert agreement.proposed_at == NOW


def _match_message(**changes: Any) -> Any:
    message = pb.StatusMatch(
        match_id="smt-1",
        recogniser_partner_id="harbour-hotels",
        attester_partner_id="skyways",
        member_ref="m-42",
        attester_tier="gold",
        matched_tier="platinum",
        state=pb.MATCH_STATE_ACTIVE,
        started_at=_stamp(NOW),
        ends_at=_stamp(NOW + timedelta(days=90)),
        challenge_ends_at=_stamp(NOW + timedelta(days=90)),
        agreement_version=1,
    )
    for name, value in changes.items():
        if isinstance(value, Timestamp):
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def test_a_match_under_challenge_reads_its_tiers_and_dates_and_has_not_ended() -> None:
    match = convert.status_match(_through_the_wire(_match_message()))
    assert (match.match_id, match.recogniser_partner_id, match.attester_partner_id) == (
        "smt-1",
        "harbour-hotels",
        "skyways",
    )
    assert (match.member_ref, match.attester_tier, match.matched_tier) == ("m-42", "gold", "platinum")
    assert (match.state, match.started_at, match.ends_at) == ("ACTIVE", NOW, NOW + timedelta(days=90))
    assert match.challenge_ends_at == NOW + timedelta(days=90)
    assert (match.ended_at, match.end_reason, match.agreement_version) == (None, "", 1)


def test_an_ended_match_reads_when_and_why_and_no_challenge() -> None:
    message = _match_message(state=pb.MATCH_STATE_ENDED, ended_at=_stamp(NOW + timedelta(days=3)), end_reason="ERASED")
    message.ClearField("challenge_ends_at")
    match = convert.status_match(message)
    assert (match.state, match.ended_at, match.end_reason, match.challenge_ends_at) == (
        "ENDED",
        NOW + timedelta(days=3),
        "ERASED",
        None,
    )


def test_a_value_newer_than_the_sdk_reads_unknown() -> None:
    assert convert.status_match(_match_message(state=99)).state == "UNKNOWN"
    assert convert.status_match(_match_message(state=pb.MATCH_STATE_UNSPECIFIED)).state == "UNKNOWN"
    assert convert.status_match(_match_message(end_reason="MERGED")).end_reason == "UNKNOWN"
    assert convert.AGREEMENT_STATUS.of(42) == "UNKNOWN"
    assert convert.AGREEMENT_STATUS.of(pb.MATCH_AGREEMENT_STATUS_SUPERSEDED) == "SUPERSEDED"
    assert _convert.INSTRUCTION_KIND.of(99) == "UNKNOWN"
    assert _convert.PURPOSE.of(members_pb2.PURPOSE_STATUS_MATCH) == "STATUS_MATCH"
    assert _convert.purpose("STATUS_MATCH") == members_pb2.PURPOSE_STATUS_MATCH


def test_a_ladder_and_an_attestation_read_as_sent() -> None:
    ladder = pb.TierLadder(partner_id="skyways", tiers=[pb.Tier(code="silver", name="Silver")])
    assert convert.ladder(_through_the_wire(ladder)).tiers == (Tier("silver", "Silver"),)
    attestation = pb.TierAttestation(payload=b"{}", hub_key_id="hub-k1", signature=b"x" * 64)
    assert convert.tier_attestation(attestation) == TierAttestation(b"{}", "hub-k1", b"x" * 64)


# ------------------------------------------------------- the document


def test_the_document_is_canonical_json_with_the_mapping_sorted_by_attester_tier() -> None:
    assert match_document(TERMS) == (
        b'{"attester_partner_id":"skyways","challenge":{"activity":"nights stayed","days":90,"target":10},'
        b'"format":"coalition-status-match/1","mapping":[{"attester_tier":"gold","recogniser_tier":"platinum"},'
        b'{"attester_tier":"silver","recogniser_tier":"gold"}],"match_days":180,"max_tier_age_days":30,'
        b'"period_days":365,"recogniser_partner_id":"harbour-hotels","valid_from_ms":1767225600000,'
        b'"valid_until_ms":1798761600000,"version":1}'
    )
    reordered = dataclasses.replace(TERMS, mapping=tuple(reversed(TERMS.mapping)))
    assert match_document(reordered) == match_document(TERMS)
    assert b'"challenge":null' in match_document(dataclasses.replace(TERMS, challenge=None))


def test_the_activity_is_signed_stripped_non_ascii_escaped_and_times_in_any_zone_are_the_same_moment() -> None:
    padded = dataclasses.replace(TERMS, challenge=Challenge(90, "  nuits passées ", 10))
    assert b'"activity":"nuits pass\\u00e9es"' in match_document(padded)
    plus_two = timezone(timedelta(hours=2))
    zoned = dataclasses.replace(TERMS, valid_from=TERMS.valid_from.astimezone(plus_two))
    assert match_document(zoned) == match_document(TERMS)


def test_a_float_a_bool_or_a_naive_time_is_never_signed() -> None:
    with pytest.raises(TypeError):
        match_document(dataclasses.replace(TERMS, match_days=180.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        match_document(dataclasses.replace(TERMS, challenge=Challenge(90, "nights", True)))
    with pytest.raises(ValueError, match="timezone-aware"):
        match_document(dataclasses.replace(TERMS, valid_until=datetime(2027, 1, 1)))
    with pytest.raises(ValueError, match="control characters"):
        match_document(dataclasses.replace(TERMS, challenge=Challenge(90, "nights\nstayed", 10)))


# ------------------------------------------------------- proposing and accepting


def test_proposing_signs_the_document_of_the_terms_sent() -> None:
    recogniser = generate_private_key()
    document = match_document(TERMS)
    client, transport = _client(
        "harbour-hotels",
        recogniser,
        {
            "ProposeMatchAgreement": lambda _: pb.ProposeMatchAgreementResponse(
                agreement=_agreement_message(document, recogniser)
            )
        },
    )
    assert client.propose_match_agreement(TERMS).status == "PROPOSED"
    sent = transport.calls[0][1]
    assert convert.terms(sent.terms) == TERMS
    assert verify(public_key_bytes(recogniser), sent.proposer_signature, document)


def _accept_answers(
    agreement: Any, recogniser_public: bytes, key_state: common_pb2.KeyState = common_pb2.KEY_STATE_ACTIVE
) -> dict[str, Callable[[Any], Message]]:
    def accept(request: Any) -> Message:
        accepted = pb.MatchAgreement()
        accepted.CopyFrom(agreement)
        accepted.status = pb.MATCH_AGREEMENT_STATUS_ACTIVE
        accepted.acceptor_key_id, accepted.acceptor_signature = "skyways-k1", request.acceptor_signature
        return pb.AcceptMatchAgreementResponse(agreement=accepted)

    recogniser = common_pb2.Partner(
        partner_id="harbour-hotels",
        point_value_minor=common_pb2.Ratio(numerator=1, denominator=1),
        keys=[common_pb2.PartnerKey(key_id="harbour-hotels-k1", public_key=recogniser_public, state=key_state)],
    )
    return {
        "GetMatchAgreement": lambda _: pb.GetMatchAgreementResponse(agreement=agreement),
        "GetPartner": lambda _: registry_pb2.GetPartnerResponse(partner=recogniser),
        "AcceptMatchAgreement": accept,
    }


def test_accepting_checks_the_document_and_the_recognisers_signature_then_signs_the_same_bytes() -> None:
    recogniser, attester = generate_private_key(), generate_private_key()
    answers = _accept_answers(_agreement_message(match_document(TERMS), recogniser), public_key_bytes(recogniser))
    client, transport = _client("skyways", attester, answers)
    agreement = client.accept_match_agreement("mta-1")
    assert [name for name, _, _ in transport.calls] == ["GetMatchAgreement", "GetPartner", "AcceptMatchAgreement"]
    assert transport.calls[0][1].agreement_id == "mta-1"
    assert transport.calls[-1][1].agreement_id == "mta-1"
    assert verify(public_key_bytes(attester), transport.calls[-1][1].acceptor_signature, match_document(TERMS))
    assert (agreement.status, agreement.acceptor_key_id) == ("ACTIVE", "skyways-k1")


def test_a_document_that_does_not_match_its_terms_is_never_signed() -> None:
    recogniser = generate_private_key()
    forged = match_document(TERMS).replace(b'"match_days":180', b'"match_days":730')
    client, transport = _client(
        "skyways",
        generate_private_key(),
        _accept_answers(_agreement_message(forged, recogniser), public_key_bytes(recogniser)),
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.accept_match_agreement("mta-1")
    assert caught.value.reason == "AGREEMENT_DOCUMENT_MISMATCH"
    assert [name for name, _, _ in transport.calls] == ["GetMatchAgreement"]


@pytest.mark.parametrize("who", ["someone else signed", "unknown key", "revoked key"])
def test_a_proposal_not_signed_by_the_recogniser_is_never_accepted(who: str) -> None:
    recogniser = generate_private_key()
    signer = generate_private_key() if who == "someone else signed" else recogniser
    key_id = "harbour-hotels-k9" if who == "unknown key" else "harbour-hotels-k1"
    agreement = _agreement_message(match_document(TERMS), signer, key_id=key_id)
    state = common_pb2.KEY_STATE_REVOKED if who == "revoked key" else common_pb2.KEY_STATE_ACTIVE
    client, transport = _client(
        "skyways", generate_private_key(), _accept_answers(agreement, public_key_bytes(recogniser), state)
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.accept_match_agreement("mta-1")
    assert caught.value.reason == "PROPOSER_SIGNATURE_INVALID"
    assert "AcceptMatchAgreement" not in [name for name, _, _ in transport.calls]


# ------------------------------------------------------- the other calls


def test_each_call_sends_what_it_is_given_and_a_key_when_none_is_given() -> None:
    match = _match_message()
    attestation = pb.TierAttestation(payload=b"{}", hub_key_id="hub-k1", signature=b"x" * 64)
    client, transport = _client(
        "harbour-hotels",
        generate_private_key(),
        {
            "PublishTierLadder": lambda r: pb.PublishTierLadderResponse(
                ladder=pb.TierLadder(partner_id="harbour-hotels", tiers=r.tiers)
            ),
            "PublishMemberTier": lambda _: pb.PublishMemberTierResponse(matches_ended=2),
            "GetMatchAgreement": lambda _: pb.GetMatchAgreementResponse(
                agreement=_agreement_message(match_document(TERMS), generate_private_key())
            ),
            "RequestStatusMatch": lambda r: pb.RequestStatusMatchResponse(
                match=match, attestation=attestation if r.member_ref == "m-42" else None
            ),
            "GetStatusMatch": lambda _: pb.GetStatusMatchResponse(match=match),
            "GetTierAttestation": lambda _: pb.GetTierAttestationResponse(attestation=attestation),
            "ReportChallenge": lambda _: pb.ReportChallengeResponse(
                match=_match_message(state=pb.MATCH_STATE_CONFIRMED)
            ),
        },
    )
    tiers = (Tier("member", "Member"), Tier("gold", "Gold"), Tier("platinum", "Platinum"))
    assert client.publish_tier_ladder(tiers).tiers == tiers
    reached, holds = NOW - timedelta(days=10), NOW + timedelta(days=355)
    assert client.publish_member_tier("m-42", tier_code="gold", reached_at=reached, holds_until=holds) == 2
    assert client.get_match_agreement("mta-1").terms == TERMS
    made, attested = client.request_status_match("m-42", counterparty_partner_id="skyways")
    assert (made.match_id, attested) == ("smt-1", TierAttestation(b"{}", "hub-k1", b"x" * 64))
    _, none = client.request_status_match("m-43", counterparty_partner_id="skyways", idempotency_key="ask-43")
    assert none is None  # the attester's answer carries no attestation
    assert client.get_status_match("smt-1").state == "ACTIVE"
    assert client.get_tier_attestation("smt-1").hub_key_id == "hub-k1"
    assert client.report_challenge("smt-1", met=True).state == "CONFIRMED"
    ladder, tier, get, ask, ask_keyed, get_match, get_attestation, report = (r for _, r, _ in transport.calls)
    assert [(t.code, t.name) for t in ladder.tiers] == [
        ("member", "Member"),
        ("gold", "Gold"),
        ("platinum", "Platinum"),
    ]
    assert (tier.member_ref, tier.tier_code) == ("m-42", "gold")
    assert (tier.reached_at.ToDatetime(UTC), tier.holds_until.ToDatetime(UTC)) == (reached, holds)
    assert get.agreement_id == "mta-1"
    assert (ask.member_ref, ask.counterparty_partner_id) == ("m-42", "skyways")
    assert ask.idempotency_key.startswith("sdk-status-match-")
    assert ask_keyed.idempotency_key == "ask-43"
    assert (get_match.match_id, get_attestation.match_id) == ("smt-1", "smt-1")
    assert (report.match_id, report.met) == ("smt-1", True)


def test_a_bad_argument_is_refused_before_anything_is_sent() -> None:
    client, transport = _client("harbour-hotels", generate_private_key(), {})
    with pytest.raises(TypeError, match="sequence of tiers"):
        client.publish_tier_ladder(Tier("gold", "Gold"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        client.publish_member_tier("m-1", tier_code="gold", reached_at=datetime(2026, 1, 1), holds_until=NOW)
    with pytest.raises(TypeError, match="bool"):
        client.report_challenge("smt-1", met=1)  # type: ignore[arg-type]
    assert transport.calls == []


# ------------------------------------------------------- instructions


def _tier_instruction(instruction_id: str, kind: str = "TIER_MATCHED", delivery: int = 1) -> Instruction:
    return dataclasses.replace(
        _instruction(instruction_id, kind, delivery),
        points=0,
        point_currency="",
        conversion_id="",
        match_id="smt-1",
        attester_partner_id="skyways" if kind == "TIER_MATCHED" else "",
        attester_tier="gold" if kind == "TIER_MATCHED" else "",
        matched_tier="platinum" if kind == "TIER_MATCHED" else "",
        match_ends_at=NOW + timedelta(days=90),
        reason="" if kind == "TIER_MATCHED" else "DOWNGRADED",
    )


def test_a_tier_matched_instruction_reads_its_match_tiers_and_end() -> None:
    message = instructions_pb2.Instruction(
        instruction_id="ins-1",
        kind=instructions_pb2.INSTRUCTION_KIND_TIER_MATCHED,
        state=instructions_pb2.INSTRUCTION_STATE_PENDING,
        member_ref="m-7",
        created_at=_stamp(NOW),
        match_id="smt-1",
        attester_partner_id="skyways",
        attester_tier="gold",
        matched_tier="platinum",
        match_ends_at=_stamp(NOW + timedelta(days=90)),
    )
    instruction = _convert.instruction(_through_the_wire(message))
    assert (instruction.kind, instruction.member_ref, instruction.match_id) == ("TIER_MATCHED", "m-7", "smt-1")
    assert (instruction.attester_partner_id, instruction.attester_tier, instruction.matched_tier) == (
        "skyways",
        "gold",
        "platinum",
    )
    assert instruction.match_ends_at == NOW + timedelta(days=90)
    ended = _convert.instruction(
        instructions_pb2.Instruction(
            instruction_id="ins-2",
            kind=instructions_pb2.INSTRUCTION_KIND_TIER_MATCH_ENDED,
            match_id="smt-1",
            reason="CONSENT_REVOKED",
        )
    )
    assert (ended.kind, ended.match_id, ended.reason, ended.match_ends_at, ended.matched_tier) == (
        "TIER_MATCH_ENDED",
        "smt-1",
        "CONSENT_REVOKED",
        None,
        "",
    )
    credit = _convert.instruction(instructions_pb2.Instruction(kind=instructions_pb2.INSTRUCTION_KIND_CREDIT))
    assert (credit.match_id, credit.match_ends_at) == ("", None)


class Tiers:
    """A recogniser's handler that recognises matched tiers and records what it did."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.applied: list[tuple[str, str]] = []
        self.refuse = refuse

    def credit(self, instruction: Instruction) -> str:
        raise AssertionError("no credits here")

    def refund(self, instruction: Instruction) -> str:
        raise AssertionError("no refunds here")

    def tier_matched(self, instruction: Instruction) -> str:
        self.applied.append(("matched", instruction.instruction_id))
        if self.refuse:
            raise RejectInstruction("member unknown")
        return f"tier-{instruction.instruction_id}"

    def tier_match_ended(self, instruction: Instruction) -> str:
        self.applied.append(("ended", instruction.instruction_id))
        return f"end-{instruction.instruction_id}"


def test_the_loop_calls_tier_matched_and_tier_match_ended_once_per_instruction() -> None:
    client = FakeClient(
        [_tier_instruction("t1"), _tier_instruction("e1", "TIER_MATCH_ENDED")],
        [_tier_instruction("t1", delivery=2), _tier_instruction("e1", "TIER_MATCH_ENDED", delivery=2)],
    )
    tiers = Tiers()
    loop = InstructionLoop(client, tiers)
    assert loop.run_once() == 2
    assert loop.run_once() == 2  # redelivered: answered again, the handler not called again
    assert tiers.applied == [("matched", "t1"), ("ended", "e1")]
    assert client.acknowledged == [("t1", "tier-t1"), ("e1", "end-e1"), ("t1", "tier-t1"), ("e1", "end-e1")]
    assert client.rejected == []


def test_a_tier_instruction_cannot_be_refused_and_stays_unacknowledged() -> None:
    client = FakeClient([_tier_instruction("t1")])
    assert InstructionLoop(client, Tiers(refuse=True)).run_once() == 0
    assert (client.acknowledged, client.rejected) == ([], [])


def test_a_handler_without_tier_methods_leaves_tier_instructions_unacknowledged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class CreditsOnly:
        def credit(self, instruction: Instruction) -> str:
            return "c"

        def refund(self, instruction: Instruction) -> str:
            return "r"

    client = FakeClient([_tier_instruction("t1"), _tier_instruction("e1", "TIER_MATCH_ENDED")])
    assert InstructionLoop(client, CreditsOnly()).run_once() == 0  # type: ignore[arg-type]
    assert (client.acknowledged, client.rejected) == ([], [])
    assert "can't apply" in caplog.text


# ------------------------------------------------------- the tier attestation

HUB_KEY = generate_private_key()
ISSUED_MS = 1_772_323_200_000  # NOW
VALID_UNTIL_MS = ISSUED_MS + 90 * 86_400_000


def _attestation_value(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "format": "coalition-tier-attestation/1",
        "match_id": "smt-1",
        "recogniser_partner_id": "harbour-hotels",
        "attester_partner_id": "skyways",
        "pairwise_member_id": "pw-7f3a",
        "attester_tier": "gold",
        "matched_tier": "platinum",
        "issued_at_ms": ISSUED_MS,
        "valid_until_ms": VALID_UNTIL_MS,
    }
    value.update(changes)
    return value


def _rendered(**changes: Any) -> bytes:
    return render_tier_attestation_payload(
        **{
            "match_id": "smt-1",
            "recogniser_partner_id": "harbour-hotels",
            "attester_partner_id": "skyways",
            "pairwise_member_id": "pw-7f3a",
            "attester_tier": "gold",
            "matched_tier": "platinum",
            "issued_at_ms": ISSUED_MS,
            "valid_until_ms": VALID_UNTIL_MS,
            **changes,
        }
    )


def _signed(payload: bytes, key: Ed25519PrivateKey = HUB_KEY) -> TierAttestation:
    return TierAttestation(payload=payload, hub_key_id="hub-k1", signature=key.sign(tier_attestation_message(payload)))


def _verify(
    attestation: TierAttestation,
    *,
    at: datetime = NOW + timedelta(minutes=1),
    hub_public_key: bytes = public_key_bytes(HUB_KEY),
) -> TierAttestationDocument:
    return verify_tier_attestation(attestation, hub_public_key, recogniser_partner_id="harbour-hotels", now=at)


def test_an_attestation_the_hub_signed_verifies_and_reads_the_match_member_tiers_and_dates() -> None:
    document = _verify(_signed(_rendered()))
    assert document == TierAttestationDocument(
        match_id="smt-1",
        recogniser_partner_id="harbour-hotels",
        attester_partner_id="skyways",
        pairwise_member_id="pw-7f3a",
        attester_tier="gold",
        matched_tier="platinum",
        issued_at=NOW,
        valid_until=NOW + timedelta(days=90),
    )


def test_the_payload_the_hub_renders_is_canonical_json_with_exactly_the_attestations_fields() -> None:
    payload = _rendered()
    assert payload == json.dumps(_attestation_value(), sort_keys=True, separators=(",", ":")).encode("ascii")
    assert tier_attestation_message(payload) == b"COALITION-TIER-ATTESTATION-V1\n" + payload
    assert TIER_ATTESTATION_PREFIX == b"COALITION-TIER-ATTESTATION-V1\n"
    assert TIER_ATTESTATION_FORMAT == "coalition-tier-attestation/1"
    with pytest.raises(TypeError):
        _rendered(valid_until_ms=float(VALID_UNTIL_MS))
    with pytest.raises(TypeError):
        _rendered(issued_at_ms=True)
    with pytest.raises(ValueError, match="control characters"):
        _rendered(matched_tier="gold\n")


def _non_canonical() -> bytes:
    return json.dumps(_attestation_value(), sort_keys=True, separators=(", ", ": ")).encode("ascii")


BAD_ATTESTATIONS: dict[str, tuple[Callable[[], TierAttestation], str]] = {
    "a tampered payload": (
        lambda: dataclasses.replace(
            _signed(_rendered()), payload=_rendered().replace(b'"matched_tier":"platinum"', b'"matched_tier":"diamond"')
        ),
        "BAD_SIGNATURE",
    ),
    "signed by another key": (lambda: _signed(_rendered(), generate_private_key()), "BAD_SIGNATURE"),
    "signed without the prefix": (
        lambda: dataclasses.replace(_signed(_rendered()), signature=HUB_KEY.sign(_rendered())),
        "BAD_SIGNATURE",
    ),
    "signed with a membership pass's prefix": (
        lambda: dataclasses.replace(
            _signed(_rendered()), signature=HUB_KEY.sign(b"COALITION-MEMBERSHIP-PASS-V1\n" + _rendered())
        ),
        "BAD_SIGNATURE",
    ),
    "issued to another recogniser": (lambda: _signed(_rendered(recogniser_partner_id="lakeside")), "WRONG_RECOGNISER"),
    "a non-canonical payload": (lambda: _signed(_non_canonical()), "NOT_CANONICAL"),
    "a payload escaping nothing": (
        lambda: _signed(_rendered().replace(b'"pw-7f3a"', '"pw-7f3\u00e9"'.encode())),
        "NOT_CANONICAL",
    ),
    "another format": (lambda: _signed(_rendered().replace(b"attestation/1", b"attestation/2")), "WRONG_FORMAT"),
    "a match document, not an attestation": (lambda: _signed(match_document(TERMS)), "WRONG_FORMAT"),
    "a JSON list": (lambda: _signed(b"[]"), "MALFORMED_ATTESTATION"),
    "a field missing": (
        lambda: _signed(canonical_json({k: v for k, v in _attestation_value().items() if k != "matched_tier"})),
        "MALFORMED_ATTESTATION",
    ),
    "a field unknown": (lambda: _signed(canonical_json(_attestation_value(scope="all"))), "MALFORMED_ATTESTATION"),
    "a time as text": (
        lambda: _signed(canonical_json(_attestation_value(issued_at_ms=str(ISSUED_MS)))),
        "MALFORMED_ATTESTATION",
    ),
    "a time as a boolean": (
        lambda: _signed(canonical_json(_attestation_value(valid_until_ms=True))),
        "MALFORMED_ATTESTATION",
    ),
    "an empty member id": (
        lambda: _signed(canonical_json(_attestation_value(pairwise_member_id=""))),
        "MALFORMED_ATTESTATION",
    ),
    "a float": (
        lambda: _signed(_rendered().replace(b'"issued_at_ms":', b'"issued_at_ms":0.5,"x":')),
        "MALFORMED_ATTESTATION",
    ),
    "a key twice": (
        lambda: _signed(_rendered().replace(b'{"attester_partner_id"', b'{"a":1,"a":1,"attester_partner_id"')),
        "MALFORMED_ATTESTATION",
    ),
    "not JSON": (lambda: _signed(b"gold until June"), "MALFORMED_ATTESTATION"),
    "not UTF-8": (lambda: _signed(b"\xff\xfe"), "MALFORMED_ATTESTATION"),
    "a time no datetime holds": (
        lambda: _signed(canonical_json(_attestation_value(valid_until_ms=10**30))),
        "MALFORMED_ATTESTATION",
    ),
}


@pytest.mark.parametrize("bad", BAD_ATTESTATIONS, ids=list(BAD_ATTESTATIONS))
def test_an_attestation_that_must_not_be_recognised_is_refused_with_its_reason(bad: str) -> None:
    make, reason = BAD_ATTESTATIONS[bad]
    with pytest.raises(TierAttestationVerificationError) as caught:
        _verify(make())
    assert (caught.value.reason, caught.value.code) == (reason, "TIER_ATTESTATION_NOT_VERIFIED")
    assert isinstance(caught.value, ResponseVerificationError)


def test_an_attestation_is_refused_from_its_valid_until_on() -> None:
    attestation = _signed(_rendered())
    assert _verify(attestation, at=NOW + timedelta(days=90) - timedelta(milliseconds=1)).match_id == "smt-1"
    for late in (timedelta(days=90), timedelta(days=400)):
        with pytest.raises(TierAttestationVerificationError) as caught:
            _verify(attestation, at=NOW + late)
        assert caught.value.reason == "ATTESTATION_EXPIRED"


def test_an_attestation_issued_up_to_five_minutes_ahead_of_this_clock_verifies_and_one_further_ahead_does_not() -> None:
    attestation = _signed(_rendered())
    assert _verify(attestation, at=NOW - timedelta(minutes=5)).match_id == "smt-1"
    with pytest.raises(TierAttestationVerificationError) as caught:
        _verify(attestation, at=NOW - timedelta(minutes=5, milliseconds=1))
    assert caught.value.reason == "ATTESTATION_NOT_YET_VALID"


def test_a_hub_key_of_the_wrong_size_or_a_naive_time_is_refused() -> None:
    with pytest.raises(TierAttestationVerificationError) as caught:
        _verify(_signed(_rendered()), hub_public_key=public_key_bytes(HUB_KEY)[:31])
    assert caught.value.reason == "BAD_HUB_KEY"
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(_signed(_rendered()), at=datetime(2026, 3, 1, 0, 1))


def test_without_a_time_an_attestation_is_checked_against_this_hosts_clock() -> None:
    stale = _signed(_rendered(issued_at_ms=ISSUED_MS - 86_400_000, valid_until_ms=ISSUED_MS))
    with pytest.raises(TierAttestationVerificationError) as caught:
        verify_tier_attestation(stale, public_key_bytes(HUB_KEY), recogniser_partner_id="harbour-hotels")
    assert caught.value.reason == "ATTESTATION_EXPIRED"
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    fresh = _signed(_rendered(issued_at_ms=now_ms, valid_until_ms=now_ms + 60_000))
    document = verify_tier_attestation(fresh, public_key_bytes(HUB_KEY), recogniser_partner_id="harbour-hotels")
    assert document.matched_tier == "platinum"
