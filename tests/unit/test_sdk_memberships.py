"""The SDK's joint paid membership without a hub: converters, the document, the client's checks, the loop's benefits."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import common_pb2, instructions_pb2, registry_pb2
from coalition.exchange.v1 import memberships_pb2 as pb
from partner_sdk import (
    ExchangeClient,
    FixedShare,
    FreeDelivery,
    Instruction,
    InstructionLoop,
    MembershipPass,
    MembershipPassDocument,
    MembershipPassVerificationError,
    MembershipTerms,
    PartnerMembership,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    RejectInstruction,
    TermOffer,
    TextBenefit,
    UnknownBenefit,
    UnknownShare,
    Vouchers,
    _convert,
    generate_private_key,
    membership_document,
    public_key_bytes,
    verify_membership_pass,
)
from partner_sdk._client import memberships as convert
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.memberships import (
    MEMBERSHIP_PASS_PREFIX,
    _benefit_of,
    _benefit_value,
    membership_pass_message,
    render_membership_pass_payload,
)
from partner_sdk.settlement import MOVEMENT_KINDS, Movement, canonical_json
from partner_sdk.settlement_csv import MovementCsvReader, write_movements_csv
from partner_sdk.signing import verify
from tests.unit.test_sdk_documents import FakeClient, FakeTransport, _instruction

NOW = datetime(2026, 3, 1, tzinfo=UTC)

TERMS = MembershipTerms(
    programme_id="88vip",
    version=2,
    name="88VIP",
    seller_partner_id="tmall",
    currency="CNY",
    offers=(
        TermOffer("YEARLY", 88_800, (PriceTier(1000, 8_800), PriceTier(2000, 4_400))),
        TermOffer("MONTHLY", 8_800),
    ),
    partners=(
        PartnerTerms(
            "youku",
            (
                PartnerMembership("Youku VIP"),
                PercentageDiscount(500),
                PercentageDiscount(1000, cap_minor=2_000),
            ),
            (("YEARLY", FixedShare(10_000)), ("MONTHLY", FixedShare(0))),
        ),
        PartnerTerms(
            "eleme",
            (
                Vouchers(4, "MONTHLY", 500, 30),
                Vouchers(1, "WEEKLY", 300, 7, funded_by="SELLER"),
                FreeDelivery(),
                TextBenefit("Priority support"),
            ),
            (("MONTHLY", RatioShare(Fraction(1, 10))), ("YEARLY", RatioShare(Fraction(15, 100)))),
        ),
    ),
    refund_rule="PRO_RATA",
    grace_days=7,
    valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    valid_until=datetime(2028, 1, 1, tzinfo=UTC),
)


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _through_the_wire(message: Message) -> Any:
    again = type(message)()
    again.ParseFromString(message.SerializeToString())
    return again


# ------------------------------------------------------- converters


def test_terms_with_every_benefit_and_share_kind_come_back_the_same_through_protobuf() -> None:
    assert convert.terms(_through_the_wire(convert.terms_to_proto(TERMS))) == TERMS


@pytest.mark.parametrize(
    "benefit",
    [
        PartnerMembership("Youku VIP"),
        PercentageDiscount(250),
        PercentageDiscount(10_000, cap_minor=1),
        Vouchers(31, "WEEKLY", 1, 366, funded_by="PARTNER"),
        Vouchers(1, "MONTHLY", 999, 1, funded_by="SELLER"),
        FreeDelivery(),
        TextBenefit("Free returns"),
    ],
)
def test_each_benefit_kind_comes_back_the_same_through_protobuf(benefit: Any) -> None:
    assert _convert.benefit(_through_the_wire(_convert.benefit_to_proto(benefit))) == benefit


@pytest.mark.parametrize(
    "share", [FixedShare(0), FixedShare(12_345), RatioShare(Fraction(1, 3)), RatioShare(Fraction(1))]
)
def test_each_share_kind_comes_back_the_same_through_protobuf(share: Any) -> None:
    assert convert.share(_through_the_wire(convert.share_to_proto("YEARLY", share))) == ("YEARLY", share)


def test_a_ratio_travels_in_lowest_terms_and_a_discount_without_a_cap_travels_as_zero() -> None:
    ratio = convert.share_to_proto("MONTHLY", RatioShare(Fraction(30, 200)))
    assert (ratio.WhichOneof("amount"), ratio.ratio.numerator, ratio.ratio.denominator) == ("ratio", 3, 20)
    fixed = convert.share_to_proto("MONTHLY", FixedShare(0))
    assert (fixed.WhichOneof("amount"), fixed.fixed_minor) == ("fixed_minor", 0)  # set, though zero
    assert _convert.benefit_to_proto(PercentageDiscount(100)).discount.cap_minor == 0
    assert _convert.benefit(pb.Benefit(discount=pb.DiscountBenefit(basis_points=100))) == PercentageDiscount(100)


def test_the_terms_times_travel_as_whole_milliseconds() -> None:
    terms = dataclasses.replace(TERMS, valid_from=TERMS.valid_from + timedelta(microseconds=1999))
    message = convert.terms_to_proto(terms)
    assert message.valid_from.ToMilliseconds() == int(TERMS.valid_from.timestamp() * 1000) + 1
    assert message.valid_from.nanos % 1_000_000 == 0


def _agreement_message(document: bytes, seller_key: Ed25519PrivateKey, *, seller_key_id: str = "tmall-k1") -> Any:
    return pb.MembershipAgreement(
        agreement_id="mag-1",
        terms=convert.terms_to_proto(TERMS),
        status=pb.MEMBERSHIP_AGREEMENT_STATUS_PROPOSED,
        document=document,
        signatures=[
            pb.AgreementSignature(
                partner_id="tmall", key_id=seller_key_id, signature=seller_key.sign(document), signed_at=_stamp(NOW)
            )
        ],
        awaiting_partner_ids=["eleme", "youku"],
        proposed_at=_stamp(NOW),
    )


def test_an_agreement_reads_its_terms_signatures_and_who_it_awaits() -> None:
    seller = generate_private_key()
    agreement = convert.agreement(_through_the_wire(_agreement_message(membership_document(TERMS), seller)))
    assert agreement.agreement_id == "mag-1"
    assert agreement.terms == TERMS
    assert agreement.status == "PROPOSED"
    assert agreement.document == membership_document(TERMS)
    assert [(s.partner_id, s.key_id, s.signed_at) for s in agreement.signatures] == [("tmall", "tmall-k1", NOW)]
    assert verify(public_key_bytes(seller), agreement.signatures[0].signature, agreement.document)
    assert agreement.awaiting_partner_ids == ("eleme", "youku")
    assert agreement.proposed_at == NOW


def _membership_message(**changes: Any) -> Any:
    message = pb.Membership(
        membership_id="mbs-1",
        programme_id="88vip",
        programme_name="88VIP",
        seller_partner_id="tmall",
        member_ref="m-42",
        state=pb.MEMBERSHIP_STATE_IN_GRACE,
        terms=[
            pb.PaidTerm(
                term=pb.TERM_LENGTH_MONTHLY,
                starts_at=_stamp(NOW),
                ends_at=_stamp(NOW + timedelta(days=31)),
                fee_minor=8_800,
                score=1200,
                terms_version=2,
                refund_minor=0,
            ),
            pb.PaidTerm(
                term=pb.TERM_LENGTH_YEARLY,
                starts_at=_stamp(NOW + timedelta(days=31)),
                ends_at=_stamp(NOW + timedelta(days=396)),
                fee_minor=88_800,
                terms_version=2,
                refund_minor=100,
            ),
        ],
        grace_until=_stamp(NOW + timedelta(days=38)),
        currency="CNY",
        grants=[
            pb.PartnerGrant(
                partner_id="youku",
                state=pb.GRANT_STATE_HONOURED,
                benefits=[pb.Benefit(partner_membership=pb.PartnerMembershipBenefit(name="Youku VIP"))],
            )
        ],
        honoured_until=_stamp(NOW + timedelta(days=38)),
    )
    for name, value in changes.items():
        if name == "grants":
            del message.grants[:]
            message.grants.extend(value)
        else:
            setattr(message, name, value)
    return message


def test_a_membership_reads_its_terms_grants_and_dates_and_an_unattested_score_reads_none() -> None:
    membership = convert.membership(_through_the_wire(_membership_message()))
    assert (membership.membership_id, membership.programme_id, membership.programme_name) == ("mbs-1", "88vip", "88VIP")
    assert (membership.seller_partner_id, membership.member_ref, membership.currency) == ("tmall", "m-42", "CNY")
    assert membership.state == "IN_GRACE"
    assert [(t.term, t.fee_minor, t.score, t.terms_version, t.refund_minor) for t in membership.terms] == [
        ("MONTHLY", 8_800, 1200, 2, 0),
        ("YEARLY", 88_800, None, 2, 100),
    ]
    assert membership.terms[0].ends_at == NOW + timedelta(days=31)
    assert membership.grace_until == membership.honoured_until == NOW + timedelta(days=38)
    assert membership.ended_at is None
    assert [(g.partner_id, g.state, g.benefits) for g in membership.grants] == [
        ("youku", "HONOURED", (PartnerMembership("Youku VIP"),))
    ]


def test_a_value_newer_than_the_sdk_reads_unknown() -> None:
    membership = convert.membership(_membership_message(state=99))
    assert membership.state == "UNKNOWN"
    grant = pb.PartnerGrant(partner_id="youku", state=pb.GRANT_STATE_UNSPECIFIED)
    assert convert.membership(_membership_message(grants=[grant])).grants[0].state == "UNKNOWN"
    assert convert.TERM_LENGTH.of(7) == "UNKNOWN"
    assert convert.REFUND_RULE.of(pb.REFUND_RULE_UNSPECIFIED) == "UNKNOWN"
    assert convert.AGREEMENT_STATUS.of(42) == "UNKNOWN"
    vouchers = _convert.benefit(pb.Benefit(vouchers=pb.VouchersBenefit(per_period=1, period=9, funded_by=9)))
    assert isinstance(vouchers, Vouchers)
    assert (vouchers.period, vouchers.funded_by) == ("UNKNOWN", "UNKNOWN")
    assert _convert.benefit(pb.Benefit()) == UnknownBenefit()  # a kind of benefit a newer hub added
    assert convert.share(pb.FeeShare(term=pb.TERM_LENGTH_YEARLY)) == ("YEARLY", UnknownShare())


def test_terms_holding_a_value_newer_than_the_sdk_are_never_signed_or_sent() -> None:
    unknown_term = dataclasses.replace(TERMS, offers=(TermOffer("UNKNOWN", 100),))
    unknown_benefit = dataclasses.replace(TERMS, partners=(PartnerTerms("youku", (UnknownBenefit(),), ()),))
    unknown_share = dataclasses.replace(TERMS, partners=(PartnerTerms("youku", (), (("YEARLY", UnknownShare()),)),))
    for terms in (unknown_term, unknown_benefit, unknown_share, dataclasses.replace(TERMS, refund_rule="UNKNOWN")):
        with pytest.raises(ValueError, match=r"newer than this SDK"):
            membership_document(terms)
        with pytest.raises(ValueError, match=r"newer than this SDK|unknown value 'UNKNOWN'"):
            convert.terms_to_proto(terms)


# ------------------------------------------------------- the document


def test_the_document_is_canonical_json_with_partners_by_id_offers_and_shares_by_term() -> None:
    document = membership_document(TERMS)
    value = json.loads(document)
    assert document == json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert value["format"] == "coalition-membership/1"
    assert [p["partner_id"] for p in value["partners"]] == ["eleme", "youku"]
    assert [o["term"] for o in value["offers"]] == ["MONTHLY", "YEARLY"]
    assert [s["term"] for s in value["partners"][0]["shares"]] == ["MONTHLY", "YEARLY"]
    assert value["partners"][0]["shares"][1] == {"term": "YEARLY", "kind": "RATIO", "numerator": 3, "denominator": 20}
    assert [b["kind"] for b in value["partners"][0]["benefits"]] == ["VOUCHERS", "VOUCHERS", "FREE_DELIVERY", "TEXT"]
    assert value["partners"][1]["benefits"][1] == {
        "kind": "PERCENTAGE_DISCOUNT",
        "basis_points": 500,
        "cap_minor": None,
    }
    assert value["offers"][1]["tiers"] == [
        {"min_score": 1000, "fee_minor": 8800},
        {"min_score": 2000, "fee_minor": 4400},
    ]
    assert (value["valid_from_ms"], value["valid_until_ms"]) == (1_767_225_600_000, 1_830_297_600_000)


def test_the_order_partners_offers_and_shares_are_given_in_does_not_change_the_document() -> None:
    shuffled = dataclasses.replace(
        TERMS,
        offers=TERMS.offers[::-1],
        partners=tuple(dataclasses.replace(p, shares=p.shares[::-1]) for p in TERMS.partners[::-1]),
    )
    assert membership_document(shuffled) == membership_document(TERMS)


def test_text_is_signed_stripped_as_the_hub_keeps_it_and_a_float_is_refused() -> None:
    padded = dataclasses.replace(TERMS, name="  88VIP ")
    assert membership_document(padded) == membership_document(TERMS)
    with pytest.raises(TypeError):
        membership_document(dataclasses.replace(TERMS, grace_days=7.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        membership_document(dataclasses.replace(TERMS, valid_from=datetime(2026, 1, 1)))


# ------------------------------------------------------- the client, with a fake hub


def _client(
    partner_id: str, key: Ed25519PrivateKey, answers: dict[str, Callable[[Any], Message]]
) -> tuple[ExchangeClient, FakeTransport]:
    client = ExchangeClient("localhost:1", partner_id=partner_id, key_id=f"{partner_id}-k1", private_key=key)
    client.close()
    transport = FakeTransport(key, answers)
    client._transport = transport
    return client, transport


def test_proposing_signs_the_document_of_the_terms_sent() -> None:
    seller = generate_private_key()
    document = membership_document(TERMS)
    client, transport = _client(
        "tmall",
        seller,
        {
            "ProposeMembershipAgreement": lambda _: pb.ProposeMembershipAgreementResponse(
                agreement=_agreement_message(document, seller)
            )
        },
    )
    assert client.propose_membership_agreement(TERMS).status == "PROPOSED"
    sent = transport.calls[0][1]
    assert convert.terms(sent.terms) == TERMS
    assert verify(public_key_bytes(seller), sent.seller_signature, document)


def _sign_answers(
    agreement: Any, seller_public: bytes, key_state: common_pb2.KeyState = common_pb2.KEY_STATE_ACTIVE
) -> dict[str, Callable[[Any], Message]]:
    def sign(request: Any) -> Message:
        signed = pb.MembershipAgreement()
        signed.CopyFrom(agreement)
        signed.signatures.add(partner_id="youku", key_id="youku-k1", signature=request.signature)
        signed.awaiting_partner_ids.remove("youku")
        return pb.SignMembershipAgreementResponse(agreement=signed)

    seller = common_pb2.Partner(
        partner_id="tmall",
        point_value_minor=common_pb2.Ratio(numerator=1, denominator=1),
        keys=[common_pb2.PartnerKey(key_id="tmall-k1", public_key=seller_public, state=key_state)],
    )
    return {
        "GetMembershipAgreement": lambda _: pb.GetMembershipAgreementResponse(agreement=agreement),
        "GetPartner": lambda _: registry_pb2.GetPartnerResponse(partner=seller),
        "SignMembershipAgreement": sign,
    }


def test_signing_checks_the_document_and_the_sellers_signature_then_signs_the_same_bytes() -> None:
    seller, partner = generate_private_key(), generate_private_key()
    answers = _sign_answers(_agreement_message(membership_document(TERMS), seller), public_key_bytes(seller))
    client, transport = _client("youku", partner, answers)
    agreement = client.sign_membership_agreement("mag-1")
    assert [name for name, _, _ in transport.calls] == [
        "GetMembershipAgreement",
        "GetPartner",
        "SignMembershipAgreement",
    ]
    assert verify(public_key_bytes(partner), transport.calls[-1][1].signature, membership_document(TERMS))
    assert agreement.awaiting_partner_ids == ("eleme",)
    assert [s.partner_id for s in agreement.signatures] == ["tmall", "youku"]


def test_a_document_that_does_not_match_its_terms_is_never_signed() -> None:
    seller = generate_private_key()
    forged = membership_document(TERMS).replace(b'"grace_days":7', b'"grace_days":30')
    client, transport = _client(
        "youku", generate_private_key(), _sign_answers(_agreement_message(forged, seller), public_key_bytes(seller))
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.sign_membership_agreement("mag-1")
    assert caught.value.reason == "AGREEMENT_DOCUMENT_MISMATCH"
    assert [name for name, _, _ in transport.calls] == ["GetMembershipAgreement"]


@pytest.mark.parametrize("who", ["someone else signed", "unknown key", "revoked key", "no seller signature"])
def test_a_proposal_not_signed_by_the_seller_is_never_signed(who: str) -> None:
    seller = generate_private_key()
    document = membership_document(TERMS)
    signer = generate_private_key() if who == "someone else signed" else seller
    agreement = _agreement_message(document, signer, seller_key_id="tmall-k9" if who == "unknown key" else "tmall-k1")
    if who == "no seller signature":
        agreement.signatures[0].partner_id = "eleme"
    state = common_pb2.KEY_STATE_REVOKED if who == "revoked key" else common_pb2.KEY_STATE_ACTIVE
    client, transport = _client(
        "youku", generate_private_key(), _sign_answers(agreement, public_key_bytes(seller), state)
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.sign_membership_agreement("mag-1")
    assert caught.value.reason == "PROPOSER_SIGNATURE_INVALID"
    assert "SignMembershipAgreement" not in [name for name, _, _ in transport.calls]


def test_the_sellers_calls_send_what_they_are_given_and_a_key_when_none_is_given() -> None:
    answer = _membership_message()
    client, transport = _client(
        "tmall",
        generate_private_key(),
        {
            "Enrol": lambda _: pb.EnrolResponse(membership=answer),
            "RenewMembership": lambda _: pb.RenewMembershipResponse(membership=answer),
            "ReportRenewalFailure": lambda _: pb.ReportRenewalFailureResponse(membership=answer),
            "CancelMembership": lambda _: pb.CancelMembershipResponse(membership=answer),
            "GetMembership": lambda _: pb.GetMembershipResponse(membership=answer),
        },
    )
    assert client.enrol("88vip", member_ref="m-42", term="YEARLY", fee_minor=8_800, score=1200).membership_id == "mbs-1"
    client.enrol("88vip", member_ref="m-43", term="MONTHLY", fee_minor=8_800, idempotency_key="enrol-43")
    client.renew_membership("mbs-1", term="YEARLY", fee_minor=88_800, idempotency_key="renew-1")
    client.report_renewal_failure("mbs-1")
    client.cancel_membership("mbs-1")
    assert client.get_membership("mbs-1").state == "IN_GRACE"
    enrol, enrol_keyed, renew, failure, cancel, get = (request for _, request, _ in transport.calls)
    assert (enrol.programme_id, enrol.member_ref, enrol.term, enrol.fee_minor) == ("88vip", "m-42", 2, 8_800)
    assert enrol.HasField("score") and enrol.score == 1200
    assert enrol.idempotency_key.startswith("sdk-enrol-")
    assert not enrol_keyed.HasField("score")  # no score attested: unset, not 0
    assert enrol_keyed.idempotency_key == "enrol-43"
    assert (renew.membership_id, renew.term, renew.fee_minor, renew.idempotency_key) == ("mbs-1", 2, 88_800, "renew-1")
    assert not renew.HasField("score")
    assert failure.membership_id == "mbs-1"
    assert cancel.idempotency_key.startswith("sdk-cancel-")
    assert get.membership_id == "mbs-1"


def test_a_term_the_sdk_does_not_name_or_a_float_fee_is_refused_before_anything_is_sent() -> None:
    client, transport = _client("tmall", generate_private_key(), {})
    with pytest.raises(ValueError, match="unknown value"):
        client.enrol("88vip", member_ref="m-1", term="WEEKLY", fee_minor=100)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.enrol("88vip", member_ref="m-1", term="YEARLY", fee_minor=100.0)  # type: ignore[arg-type]
    assert transport.calls == []


# ------------------------------------------------------- instructions


def _grant(instruction_id: str, kind: str = "BENEFIT_GRANT", delivery: int = 1) -> Instruction:
    return dataclasses.replace(
        _instruction(instruction_id, kind, delivery),
        points=0,
        point_currency="",
        conversion_id="",
        membership_id="mbs-1",
        programme_id="88vip",
        benefits=(PartnerMembership("Youku VIP"),) if kind == "BENEFIT_GRANT" else (),
        honoured_from=NOW if kind == "BENEFIT_GRANT" else None,
        honoured_until=NOW + timedelta(days=31),
    )


def test_a_benefit_grant_instruction_reads_its_membership_benefits_and_dates() -> None:
    message = instructions_pb2.Instruction(
        instruction_id="ins-1",
        kind=instructions_pb2.INSTRUCTION_KIND_BENEFIT_GRANT,
        state=instructions_pb2.INSTRUCTION_STATE_PENDING,
        member_ref="m-7",
        created_at=_stamp(NOW),
        membership_id="mbs-1",
        programme_id="88vip",
        benefits=[_convert.benefit_to_proto(b) for b in TERMS.partners[1].benefits],
        honoured_from=_stamp(NOW),
        honoured_until=_stamp(NOW + timedelta(days=31)),
    )
    instruction = _convert.instruction(_through_the_wire(message))
    assert instruction.kind == "BENEFIT_GRANT"
    assert (instruction.membership_id, instruction.programme_id) == ("mbs-1", "88vip")
    assert instruction.benefits == TERMS.partners[1].benefits
    assert (instruction.honoured_from, instruction.honoured_until) == (NOW, NOW + timedelta(days=31))
    revoke = _convert.instruction(
        instructions_pb2.Instruction(instruction_id="ins-2", kind=instructions_pb2.INSTRUCTION_KIND_BENEFIT_REVOKE)
    )
    assert (revoke.kind, revoke.benefits, revoke.honoured_from, revoke.honoured_until) == (
        "BENEFIT_REVOKE",
        (),
        None,
        None,
    )


class Perks:
    """A partner's handler that honours memberships' benefits and records what it did."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.applied: list[tuple[str, str]] = []
        self.refuse = refuse

    def credit(self, instruction: Instruction) -> str:
        raise AssertionError("no credits here")

    def refund(self, instruction: Instruction) -> str:
        raise AssertionError("no refunds here")

    def grant_benefit(self, instruction: Instruction) -> str:
        self.applied.append(("grant", instruction.instruction_id))
        if self.refuse:
            raise RejectInstruction("member unknown")
        return f"perk-{instruction.instruction_id}"

    def revoke_benefit(self, instruction: Instruction) -> str:
        self.applied.append(("revoke", instruction.instruction_id))
        return f"end-{instruction.instruction_id}"


def test_the_loop_grants_and_revokes_once_per_instruction_and_acknowledges_with_the_handlers_reference() -> None:
    client = FakeClient(
        [_grant("g1"), _grant("r1", "BENEFIT_REVOKE")],
        [_grant("g1", delivery=2), _grant("r1", "BENEFIT_REVOKE", delivery=2)],  # redelivered: answered again
    )
    perks = Perks()
    loop = InstructionLoop(client, perks)
    assert loop.run_once() == 2
    assert loop.run_once() == 2
    assert perks.applied == [("grant", "g1"), ("revoke", "r1")]
    assert client.acknowledged == [("g1", "perk-g1"), ("r1", "end-r1"), ("g1", "perk-g1"), ("r1", "end-r1")]
    assert client.rejected == []


def test_a_benefit_instruction_cannot_be_refused_and_stays_unacknowledged() -> None:
    client = FakeClient([_grant("g1")])
    assert InstructionLoop(client, Perks(refuse=True)).run_once() == 0
    assert (client.acknowledged, client.rejected) == ([], [])


def test_a_handler_without_benefit_methods_leaves_benefit_instructions_unacknowledged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class CreditsOnly:
        def credit(self, instruction: Instruction) -> str:
            return "c"

        def refund(self, instruction: Instruction) -> str:
            return "r"

    client = FakeClient([_grant("g1"), _grant("r1", "BENEFIT_REVOKE")])
    assert InstructionLoop(client, CreditsOnly()).run_once() == 0  # type: ignore[arg-type]
    assert (client.acknowledged, client.rejected) == ([], [])
    assert "can't apply" in caplog.text


# ------------------------------------------------------- the membership pass

HUB_KEY = generate_private_key()
ISSUED_MS = 1_772_323_200_000  # NOW
VALID_UNTIL_MS = ISSUED_MS + 15 * 60 * 1000
PASS_BENEFITS = (
    PartnerMembership("Youku VIP"),
    PercentageDiscount(500),
    PercentageDiscount(1000, cap_minor=2_000),
    Vouchers(1, "WEEKLY", 300, 7, funded_by="SELLER"),
    FreeDelivery(),
    TextBenefit("Priority support"),
)


def _pass_value(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "format": "coalition-membership-pass/1",
        "membership_id": "mbs-1",
        "programme_id": "88vip",
        "programme_name": "88VIP",
        "partner_id": "youku",
        "pairwise_member_id": "pw-7f3a",
        "benefits": [_benefit_value(b) for b in PASS_BENEFITS],
        "issued_at_ms": ISSUED_MS,
        "valid_until_ms": VALID_UNTIL_MS,
    }
    value.update(changes)
    return value


def _signed(payload: bytes, key: Ed25519PrivateKey = HUB_KEY) -> MembershipPass:
    return MembershipPass(payload=payload, hub_key_id="hub-k1", signature=key.sign(membership_pass_message(payload)))


def _rendered(**changes: Any) -> bytes:
    return render_membership_pass_payload(
        **{
            "membership_id": "mbs-1",
            "programme_id": "88vip",
            "programme_name": "88VIP",
            "partner_id": "youku",
            "pairwise_member_id": "pw-7f3a",
            "benefit_values": [_benefit_value(b) for b in PASS_BENEFITS],
            "issued_at_ms": ISSUED_MS,
            "valid_until_ms": VALID_UNTIL_MS,
            **changes,
        }
    )


def _verify(
    membership_pass: MembershipPass,
    *,
    at: datetime = NOW + timedelta(minutes=1),
    hub_public_key: bytes = public_key_bytes(HUB_KEY),
) -> MembershipPassDocument:
    return verify_membership_pass(membership_pass, hub_public_key, partner_id="youku", now=at)


def test_a_pass_the_hub_signed_verifies_and_reads_the_partners_benefits_member_and_dates() -> None:
    document = _verify(_signed(_rendered()))
    assert (document.membership_id, document.programme_id, document.programme_name) == ("mbs-1", "88vip", "88VIP")
    assert (document.partner_id, document.pairwise_member_id) == ("youku", "pw-7f3a")
    assert document.benefits == PASS_BENEFITS
    assert (document.issued_at, document.valid_until) == (NOW, NOW + timedelta(minutes=15))


def test_the_payload_the_hub_renders_is_canonical_json_with_exactly_the_passs_fields() -> None:
    payload = _rendered()
    assert payload == json.dumps(_pass_value(), sort_keys=True, separators=(",", ":")).encode("ascii")
    assert membership_pass_message(payload) == b"COALITION-MEMBERSHIP-PASS-V1\n" + payload
    assert MEMBERSHIP_PASS_PREFIX == b"COALITION-MEMBERSHIP-PASS-V1\n"
    with pytest.raises(TypeError):
        _rendered(valid_until_ms=float(VALID_UNTIL_MS))
    with pytest.raises(TypeError):
        _rendered(benefit_values=[{"kind": "PERCENTAGE_DISCOUNT", "basis_points": 5.0, "cap_minor": None}])


@pytest.mark.parametrize(
    "benefit",
    [
        *PASS_BENEFITS,
        Vouchers(31, "MONTHLY", 1, 366, funded_by="PARTNER"),
        PercentageDiscount(10_000, cap_minor=None),
    ],
)
def test_each_benefit_kind_reads_back_from_the_object_the_document_writes(benefit: Any) -> None:
    assert _benefit_of(_benefit_value(benefit)) == benefit


def test_a_benefit_kind_or_voucher_name_newer_than_the_sdk_reads_unknown_in_a_pass() -> None:
    newer = {"kind": "VOUCHERS", "per_period": 1, "period": "DAILY", "value_minor": 1, "validity_days": 1}
    payload = _rendered(benefit_values=[{"kind": "CASHBACK", "basis_points": 100}, {**newer, "funded_by": "BANK"}])
    assert _verify(_signed(payload)).benefits == (UnknownBenefit(), Vouchers(1, "UNKNOWN", 1, 1, "UNKNOWN"))


def _non_canonical() -> bytes:
    return json.dumps(_pass_value(), sort_keys=True, separators=(", ", ": ")).encode("ascii")


BAD_PASSES: dict[str, tuple[Callable[[], Any], str]] = {
    "a tampered payload": (
        lambda: dataclasses.replace(
            _signed(_rendered()), payload=_rendered().replace(b'"partner_id":"youku"', b'"partner_id":"eleme"')
        ),
        "BAD_SIGNATURE",
    ),
    "signed by another key": (lambda: _signed(_rendered(), generate_private_key()), "BAD_SIGNATURE"),
    "signed without the prefix": (
        lambda: dataclasses.replace(_signed(_rendered()), signature=HUB_KEY.sign(_rendered())),
        "BAD_SIGNATURE",
    ),
    "issued to another partner": (lambda: _signed(_rendered(partner_id="eleme")), "WRONG_PARTNER"),
    "a non-canonical payload": (lambda: _signed(_non_canonical()), "NOT_CANONICAL"),
    "a payload escaping nothing": (
        lambda: _signed(_rendered(programme_name="88VIP").replace(b"88VIP", "88VIP\u00e9".encode())),
        "NOT_CANONICAL",
    ),
    "another format": (lambda: _signed(_rendered().replace(b"pass/1", b"pass/2")), "WRONG_FORMAT"),
    "a membership document, not a pass": (lambda: _signed(membership_document(TERMS)), "WRONG_FORMAT"),
    "a field missing": (
        lambda: _signed(canonical_json({k: v for k, v in _pass_value().items() if k != "pairwise_member_id"})),
        "MALFORMED_PASS",
    ),
    "a field unknown": (lambda: _signed(canonical_json(_pass_value(scope="all"))), "MALFORMED_PASS"),
    "a time as text": (lambda: _signed(canonical_json(_pass_value(issued_at_ms=str(ISSUED_MS)))), "MALFORMED_PASS"),
    "a time as a boolean": (lambda: _signed(canonical_json(_pass_value(valid_until_ms=True))), "MALFORMED_PASS"),
    "an empty member id": (lambda: _signed(canonical_json(_pass_value(pairwise_member_id=""))), "MALFORMED_PASS"),
    "a float": (lambda: _signed(_rendered().replace(b'"issued_at_ms":', b'"issued_at_ms":0.5,"x":')), "MALFORMED_PASS"),
    "a benefit lacking a key": (
        lambda: _signed(canonical_json(_pass_value(benefits=[{"kind": "PERCENTAGE_DISCOUNT", "basis_points": 5}]))),
        "MALFORMED_PASS",
    ),
    "not JSON": (lambda: _signed(b"88VIP until midnight"), "MALFORMED_PASS"),
    "a time no datetime holds": (
        lambda: _signed(canonical_json(_pass_value(valid_until_ms=10**30))),
        "MALFORMED_PASS",
    ),
}


@pytest.mark.parametrize("bad", BAD_PASSES, ids=list(BAD_PASSES))
def test_a_pass_that_must_not_be_honoured_is_refused_with_its_reason(bad: str) -> None:
    make, reason = BAD_PASSES[bad]
    with pytest.raises(MembershipPassVerificationError) as caught:
        _verify(make())
    assert (caught.value.reason, caught.value.code) == (reason, "MEMBERSHIP_PASS_NOT_VERIFIED")
    assert isinstance(caught.value, ResponseVerificationError)


def test_a_pass_is_refused_from_its_valid_until_on() -> None:
    membership_pass = _signed(_rendered())
    assert _verify(membership_pass, at=NOW + timedelta(minutes=15) - timedelta(milliseconds=1)).membership_id
    for late in (timedelta(minutes=15), timedelta(days=1)):
        with pytest.raises(MembershipPassVerificationError) as caught:
            _verify(membership_pass, at=NOW + late)
        assert caught.value.reason == "PASS_EXPIRED"


def test_a_pass_issued_up_to_five_minutes_ahead_of_this_clock_is_honoured_and_one_further_ahead_is_not() -> None:
    membership_pass = _signed(_rendered())
    assert _verify(membership_pass, at=NOW - timedelta(minutes=5)).membership_id == "mbs-1"
    with pytest.raises(MembershipPassVerificationError) as caught:
        _verify(membership_pass, at=NOW - timedelta(minutes=5, milliseconds=1))
    assert caught.value.reason == "PASS_NOT_YET_VALID"


def test_a_hub_key_of_the_wrong_size_or_a_naive_time_is_refused() -> None:
    with pytest.raises(MembershipPassVerificationError) as caught:
        _verify(_signed(_rendered()), hub_public_key=public_key_bytes(HUB_KEY)[:31])
    assert caught.value.reason == "BAD_HUB_KEY"
    with pytest.raises(ValueError, match="timezone-aware"):
        _verify(_signed(_rendered()), at=datetime(2026, 3, 1, 0, 1))


def test_without_a_time_a_pass_is_checked_against_this_hosts_clock() -> None:
    stale = _signed(_rendered())  # issued on 2026-03-01, valid for 15 minutes
    with pytest.raises(MembershipPassVerificationError) as caught:
        verify_membership_pass(stale, public_key_bytes(HUB_KEY), partner_id="youku")
    assert caught.value.reason == "PASS_EXPIRED"
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    fresh = _signed(_rendered(issued_at_ms=now_ms, valid_until_ms=now_ms + 60_000))
    assert verify_membership_pass(fresh, public_key_bytes(HUB_KEY), partner_id="youku").membership_id == "mbs-1"


# ------------------------------------------------------- vouchers and the partner's calls


def _voucher_message(**changes: Any) -> Any:
    message = pb.Voucher(
        voucher_id="vch-1",
        membership_id="mbs-1",
        funder_partner_id="tmall",
        honouring_partner_id="eleme",
        member_ref="e-9",
        value_minor=300,
        currency="CNY",
        valid_from=_stamp(NOW),
        expires_at=_stamp(NOW + timedelta(days=7)),
        state=pb.VOUCHER_STATE_ISSUED,
    )
    for name, value in changes.items():
        if isinstance(value, Message):
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def test_a_voucher_reads_its_parties_value_and_dates_and_is_not_redeemed_until_it_is() -> None:
    issued = convert.voucher(_through_the_wire(_voucher_message()))
    assert (issued.voucher_id, issued.membership_id, issued.funder_partner_id, issued.honouring_partner_id) == (
        "vch-1",
        "mbs-1",
        "tmall",
        "eleme",
    )
    assert (issued.member_ref, issued.value_minor, issued.currency) == ("e-9", 300, "CNY")
    assert (issued.valid_from, issued.expires_at) == (NOW, NOW + timedelta(days=7))
    assert (issued.state, issued.redeemed_at, issued.reference) == ("ISSUED", None, "")
    redeemed = convert.voucher(
        _voucher_message(state=pb.VOUCHER_STATE_REDEEMED, redeemed_at=_stamp(NOW + timedelta(days=1)), reference="o-1")
    )
    assert (redeemed.state, redeemed.redeemed_at, redeemed.reference) == ("REDEEMED", NOW + timedelta(days=1), "o-1")
    assert convert.voucher(_voucher_message(state=pb.VOUCHER_STATE_EXPIRED)).state == "EXPIRED"


def test_a_voucher_state_newer_than_the_sdk_or_unset_reads_unknown() -> None:
    assert convert.voucher(_voucher_message(state=7)).state == "UNKNOWN"
    assert convert.voucher(_voucher_message(state=pb.VOUCHER_STATE_UNSPECIFIED)).state == "UNKNOWN"


def test_the_partners_calls_send_what_they_are_given_and_a_key_when_none_is_given() -> None:
    payload = _rendered()
    pages = {
        "": pb.ListVouchersResponse(vouchers=[_voucher_message(voucher_id="vch-1")], next_page_token="p2"),
        "p2": pb.ListVouchersResponse(vouchers=[_voucher_message(voucher_id="vch-2")]),
    }
    redeemed = _voucher_message(state=pb.VOUCHER_STATE_REDEEMED, reference="o-1", redeemed_at=_stamp(NOW))
    client, transport = _client(
        "eleme",
        generate_private_key(),
        {
            "IssueMembershipPass": lambda _: pb.IssueMembershipPassResponse(
                membership_pass=pb.MembershipPass(
                    payload=payload, hub_key_id="hub-k1", signature=HUB_KEY.sign(membership_pass_message(payload))
                )
            ),
            "ListVouchers": lambda request: pages[request.page_token],
            "RedeemVoucher": lambda _: pb.RedeemVoucherResponse(voucher=redeemed),
        },
    )
    membership_pass = client.issue_membership_pass("mbs-1")
    assert membership_pass == _signed(payload)  # Ed25519 signatures are deterministic
    page = client.list_vouchers("mbs-1", page_size=1)
    assert ([v.voucher_id for v in page.items], page.next_page_token) == (["vch-1"], "p2")
    assert [v.voucher_id for v in client.iter_vouchers("mbs-1", page_size=1)] == ["vch-1", "vch-2"]
    assert client.redeem_voucher("vch-1", reference="o-1").state == "REDEEMED"
    client.redeem_voucher("vch-1", reference="o-1", idempotency_key="redeem-o-1", timeout_s=2.0)
    issue, listed, first, second, redeem, redeem_keyed = transport.calls
    assert issue[1].membership_id == "mbs-1"
    assert (listed[1].membership_id, listed[1].page_size, listed[1].page_token) == ("mbs-1", 1, "")
    assert [request.page_token for _, request, _ in (first, second)] == ["", "p2"]
    assert (redeem[1].voucher_id, redeem[1].reference) == ("vch-1", "o-1")
    assert redeem[1].idempotency_key.startswith("sdk-redeem-voucher-")
    assert (redeem_keyed[1].idempotency_key, redeem_keyed[2]) == ("redeem-o-1", 2.0)


# ------------------------------------------------------- settlement


def test_membership_movements_are_movement_kinds_a_statements_csv_writes_and_reads_back() -> None:
    assert {"MEMBERSHIP_FEE_SHARE", "MEMBERSHIP_FEE_REFUND", "VOUCHER_REDEMPTION"} <= MOVEMENT_KINDS
    movements = [
        Movement("mfs-1", "MEMBERSHIP_FEE_SHARE", "2026-03", "tmall", "youku", 0, 0, "CNY", 10_000, 1_772_323_200_000),
        Movement("mfr-1", "MEMBERSHIP_FEE_REFUND", "2026-03", "tmall", "youku", 0, 0, "CNY", -5_000, 1_772_323_200_001),
        Movement("vr-1", "VOUCHER_REDEMPTION", "2026-03", "tmall", "eleme", 0, 0, "CNY", 300, 1_772_323_200_002),
    ]
    out = io.StringIO()
    write_movements_csv(out, period_id="2026-03", partner_id="tmall", statement_id="stm-1", movements=movements)
    reader = MovementCsvReader(expected_partner_id="tmall", expected_period_id="2026-03")
    assert list(reader.read(out.getvalue().splitlines())) == movements
    assert reader.problems == []
