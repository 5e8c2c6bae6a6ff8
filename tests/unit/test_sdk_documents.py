"""The SDK's money path without a hub: the agreement document, converters, client checks, InstructionLoop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
from google.protobuf.message import Message

from coalition.exchange.v1 import agreements_pb2, common_pb2, conversions_pb2, instructions_pb2, registry_pb2
from partner_sdk import (
    AgreementTerms,
    ExchangeClient,
    Instruction,
    InstructionLoop,
    RejectInstruction,
    RetryPolicy,
    _convert,
    agreement_document,
    generate_private_key,
    public_key_bytes,
)
from partner_sdk.documents import epoch_ms, render_agreement_document
from partner_sdk.errors import (
    ExchangeError,
    FailedPreconditionError,
    PermissionDeniedError,
    ResponseVerificationError,
    UnavailableError,
)
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.signing import verify
from partner_sdk.transport import SignedTransport

TERMS = AgreementTerms(
    source_partner_id="sprk",
    target_partner_id="aero",
    version=3,
    rate=Fraction(6, 4),
    min_source_points=100,
    max_source_points=50_000,
    source_increment=10,
    member_daily_cap_source_points=200_000,
    fee_basis_points=150,
    fee_fixed_points=None,
    valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    valid_until=datetime(2027, 1, 1, 12, 30, tzinfo=UTC),
    settlement_price_minor=Fraction(10, 8),
    settlement_currency="EUR",
)

EXPECTED = (
    "COALITION-AGREEMENT-V1\n"
    "source=sprk\n"
    "target=aero\n"
    "version=3\n"
    "rate=3/2\n"
    "min_source_points=100\n"
    "max_source_points=50000\n"
    "source_increment=10\n"
    "member_daily_cap_source_points=200000\n"
    "fee=bps:150\n"
    "valid_from_ms=1767225600000\n"
    "valid_until_ms=1798806600000\n"
    "settlement_price_minor=5/4\n"
    "settlement_currency=EUR"
)

PLAIN: dict[str, Any] = {
    "source_partner_id": "sprk",
    "target_partner_id": "aero",
    "version": 1,
    "rate_numerator": 1,
    "rate_denominator": 1,
    "min_source_points": 1,
    "max_source_points": 1,
    "source_increment": 1,
    "member_daily_cap_source_points": 1,
    "fee_basis_points": None,
    "fee_fixed_points": None,
    "valid_from_ms": 0,
    "valid_until_ms": 1,
    "price_numerator": 1,
    "price_denominator": 1,
    "settlement_currency": "EUR",
}


def _line(document: bytes, key: str) -> str:
    return next(line for line in document.decode().split("\n") if line.startswith(key + "="))


# --------------------------------------------------------------------- the document


def test_the_document_is_exactly_the_specified_text() -> None:
    document = agreement_document(TERMS)
    assert document == EXPECTED.encode("utf-8")
    assert not document.endswith(b"\n")


def test_the_dataclass_and_the_plain_renderer_agree() -> None:
    plain = render_agreement_document(
        source_partner_id="sprk",
        target_partner_id="aero",
        version=3,
        rate_numerator=6,
        rate_denominator=4,
        min_source_points=100,
        max_source_points=50_000,
        source_increment=10,
        member_daily_cap_source_points=200_000,
        fee_basis_points=150,
        fee_fixed_points=None,
        valid_from_ms=1767225600000,
        valid_until_ms=1798806600000,
        price_numerator=10,
        price_denominator=8,
        settlement_currency="EUR",
    )
    assert plain == agreement_document(TERMS)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(2, 4, "1/2"), (1, 2, "1/2"), (10, 5, "2/1"), (7, 1, "7/1"), (21, 14, "3/2"), (3, -6, "-1/2")],
)
def test_ratios_are_written_in_lowest_terms(numerator: int, denominator: int, expected: str) -> None:
    ratios = {
        "rate_numerator": numerator,
        "rate_denominator": denominator,
        "price_numerator": numerator,
        "price_denominator": denominator,
    }
    document = render_agreement_document(**PLAIN | ratios)
    assert _line(document, "rate") == f"rate={expected}"
    assert _line(document, "settlement_price_minor") == f"settlement_price_minor={expected}"


def test_an_int_rate_is_a_whole_ratio() -> None:
    assert _line(agreement_document(replace(TERMS, rate=2)), "rate") == "rate=2/1"  # type: ignore[arg-type]


def test_a_zero_denominator_is_refused() -> None:
    with pytest.raises(ValueError, match="denominator"):
        render_agreement_document(**{**PLAIN, "rate_denominator": 0})


@pytest.mark.parametrize(
    ("basis_points", "fixed_points", "expected"),
    [(None, None, "fee=none"), (150, None, "fee=bps:150"), (0, None, "fee=bps:0"), (None, 25, "fee=fixed:25")],
)
def test_fee_variants(basis_points: int | None, fixed_points: int | None, expected: str) -> None:
    terms = replace(TERMS, fee_basis_points=basis_points, fee_fixed_points=fixed_points)
    assert _line(agreement_document(terms), "fee") == expected


def test_both_fees_at_once_are_refused() -> None:
    with pytest.raises(ValueError, match="at most one"):
        agreement_document(replace(TERMS, fee_basis_points=10, fee_fixed_points=5))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC), 1767225600999),
        # int(moment.timestamp() * 1000) says ...641 here: floats can't hold this exactly.
        (datetime(4373, 4, 10, 6, 9, 16, 640_999, tzinfo=UTC), 75839954956640),
        # Floor, not truncation, before the epoch.
        (datetime(1969, 12, 31, 23, 59, 59, 999_500, tzinfo=UTC), -1),
        # The same instant in another zone.
        (datetime(2026, 1, 1, 2, 0, 0, 1_000, tzinfo=timezone(timedelta(hours=2))), 1767225600001),
    ],
)
def test_milliseconds_are_exact_and_rounded_down(moment: datetime, expected: int) -> None:
    assert epoch_ms(moment) == expected
    assert _line(agreement_document(replace(TERMS, valid_from=moment)), "valid_from_ms") == f"valid_from_ms={expected}"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        agreement_document(replace(TERMS, valid_until=datetime(2027, 1, 1)))


@pytest.mark.parametrize(
    "change",
    [{"min_source_points": 100.0}, {"max_source_points": True}, {"version": "3"}, {"rate": 1.5}],
)
def test_numbers_that_are_not_ints_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        agreement_document(replace(TERMS, **change))


@pytest.mark.parametrize("value", ["sprk\ntarget=evil", "sp\rrk", "EUR\x00", "a\u2028b"])
def test_line_breaks_inside_values_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        agreement_document(replace(TERMS, source_partner_id=value))
    with pytest.raises(ValueError, match="line breaks"):
        agreement_document(replace(TERMS, settlement_currency=value))


# ----------------------------------------------------------------------- converters


@pytest.mark.parametrize(("basis_points", "fixed_points"), [(None, None), (0, None), (250, None), (None, 40)])
def test_terms_round_trip_through_the_proto(basis_points: int | None, fixed_points: int | None) -> None:
    terms = replace(
        TERMS,
        fee_basis_points=basis_points,
        fee_fixed_points=fixed_points,
        valid_from=datetime(2026, 3, 1, 9, 0, 0, 123_000, tzinfo=timezone(timedelta(hours=-5))),
    )
    message = _convert.agreement_terms_to_proto(terms)
    expected_oneof = "fee_basis_points" if basis_points is not None else "fee_fixed_points" if fixed_points else None
    assert message.WhichOneof("fee") == expected_oneof
    wire = agreements_pb2.AgreementTerms.FromString(message.SerializeToString())
    back = _convert.agreement_terms(wire)
    assert back == terms
    assert back.valid_from.tzinfo is UTC
    assert agreement_document(back) == agreement_document(terms)


def test_terms_with_both_fees_do_not_convert() -> None:
    with pytest.raises(ValueError, match="at most one"):
        _convert.agreement_terms_to_proto(replace(TERMS, fee_basis_points=1, fee_fixed_points=1))


def _stamp(moment: datetime) -> Any:
    return _convert.to_timestamp(moment)


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _conversion_message() -> conversions_pb2.Conversion:
    return conversions_pb2.Conversion(
        conversion_id="cnv-1",
        quote_id="quo-1",
        agreement_id="agr-1",
        agreement_version=2,
        source_partner_id="sprk",
        target_partner_id="aero",
        source_member_ref="m-1",
        amounts=conversions_pb2.ConversionAmounts(
            source_points_requested=1005,
            fee_points=15,
            source_points_converted=990,
            source_points_debited=1005,
            source_points_not_taken=0,
            target_points=1485,
            settlement_amount_minor=1856,
            settlement_currency="EUR",
            rate=common_pb2.Ratio(numerator=3, denominator=2),
        ),
        state=conversions_pb2.CONVERSION_STATE_COMPLETED,
        history=[
            conversions_pb2.ConversionEvent(
                at=_stamp(NOW), actor="sprk", to_state=conversions_pb2.CONVERSION_STATE_PENDING_CREDIT
            ),
            conversions_pb2.ConversionEvent(
                at=_stamp(NOW),
                actor="aero",
                from_state=conversions_pb2.CONVERSION_STATE_PENDING_CREDIT,
                to_state=conversions_pb2.CONVERSION_STATE_COMPLETED,
                note="ledger-9",
            ),
        ],
        credit_deadline=_stamp(NOW + timedelta(hours=1)),
        created_at=_stamp(NOW),
        reversals=[
            conversions_pb2.ConversionReversal(
                reversal_id="rev-1", target_points=100, source_points=66, settlement_amount_minor=125, reason="fraud"
            )
        ],
    )


def test_a_conversion_converts_with_plain_state_names() -> None:
    conversion = _convert.conversion(_conversion_message())
    assert conversion.state == "COMPLETED"
    assert conversion.amounts.rate == Fraction(3, 2)
    assert [(e.from_state, e.to_state, e.note) for e in conversion.history] == [
        (None, "PENDING_CREDIT", ""),
        ("PENDING_CREDIT", "COMPLETED", "ledger-9"),
    ]
    assert conversion.reversals[0].source_points == 66
    assert conversion.credit_deadline == NOW + timedelta(hours=1)


def test_an_instruction_converts_and_a_missing_deadline_is_none() -> None:
    message = instructions_pb2.Instruction(
        instruction_id="ins-1",
        kind=instructions_pb2.INSTRUCTION_KIND_REFUND,
        state=instructions_pb2.INSTRUCTION_STATE_PENDING,
        member_ref="m-1",
        points=1005,
        created_at=_stamp(NOW),
        delivery_count=2,
    )
    instruction = _convert.instruction(message)
    assert (instruction.kind, instruction.state, instruction.deadline) == ("REFUND", "PENDING", None)
    message.deadline.CopyFrom(_stamp(NOW))
    message.kind = 99  # type: ignore[assignment]  # a kind a newer hub might add
    assert _convert.instruction(message).deadline == NOW
    assert _convert.instruction(message).kind == "UNKNOWN"


def test_state_filters_take_plain_names_only() -> None:
    assert _convert.agreement_status("ACTIVE") == agreements_pb2.AGREEMENT_STATUS_ACTIVE
    assert _convert.conversion_state("PENDING_CREDIT") == conversions_pb2.CONVERSION_STATE_PENDING_CREDIT
    with pytest.raises(ValueError, match="unknown value"):
        _convert.agreement_status("UNSPECIFIED")
    with pytest.raises(ValueError, match="unknown value"):
        _convert.conversion_state("DONE")


# ------------------------------------------------------- the client, with a fake hub


class FakeTransport(SignedTransport):
    """Answers calls from a table of functions instead of a network; records every request."""

    def __init__(self, key: Ed25519PrivateKey, answers: dict[str, Callable[[Any], Message]]) -> None:
        super().__init__(
            channel=None,  # type: ignore[arg-type]
            principal="aero",
            key_id="aero-k1",
            private_key=key,
            hub_public_key=b"",
            timeout_s=10.0,
        )
        self.answers = answers
        self.calls: list[tuple[str, Any, float | None]] = []

    def call(self, method: str, request: Any, response_type: Any, *, timeout_s: float | None = None) -> Any:
        self.calls.append((method.rsplit("/", 1)[1], request, timeout_s))
        return self.answers[method.rsplit("/", 1)[1]](request)


def _client(
    key: Ed25519PrivateKey, answers: dict[str, Callable[[Any], Message]]
) -> tuple[ExchangeClient, FakeTransport]:
    client = ExchangeClient("localhost:1", partner_id="aero", key_id="aero-k1", private_key=key)
    client.close()
    transport = FakeTransport(key, answers)
    client._transport = transport
    return client, transport


def _proposed(proposer: Ed25519PrivateKey, *, document: bytes | None = None) -> agreements_pb2.Agreement:
    text = document if document is not None else agreement_document(TERMS)
    return agreements_pb2.Agreement(
        agreement_id="agr-1",
        terms=_convert.agreement_terms_to_proto(TERMS),
        status=agreements_pb2.AGREEMENT_STATUS_PROPOSED,
        document=text,
        proposer_key_id="sprk-k1",
        proposer_signature=proposer.sign(text),
        proposed_at=_stamp(NOW),
        status_changed_at=_stamp(NOW),
    )


def _accept_answers(
    agreement: agreements_pb2.Agreement,
    proposer_public: bytes,
    key_state: common_pb2.KeyState = common_pb2.KEY_STATE_ACTIVE,
) -> dict[str, Callable[[Any], Message]]:
    def accept(request: Any) -> Message:
        accepted = agreements_pb2.Agreement()
        accepted.CopyFrom(agreement)
        accepted.status = agreements_pb2.AGREEMENT_STATUS_ACTIVE
        accepted.acceptor_signature = request.acceptor_signature
        return agreements_pb2.AcceptAgreementResponse(agreement=accepted)

    partner = common_pb2.Partner(
        partner_id="sprk",
        point_value_minor=common_pb2.Ratio(numerator=1, denominator=2),
        keys=[common_pb2.PartnerKey(key_id="sprk-k1", public_key=proposer_public, state=key_state)],
    )
    return {
        "GetAgreement": lambda _: agreements_pb2.GetAgreementResponse(agreement=agreement),
        "GetPartner": lambda _: registry_pb2.GetPartnerResponse(partner=partner),
        "AcceptAgreement": accept,
    }


def test_accepting_checks_the_proposer_then_signs_the_same_document() -> None:
    proposer, acceptor = generate_private_key(), generate_private_key()
    client, transport = _client(acceptor, _accept_answers(_proposed(proposer), public_key_bytes(proposer)))
    agreement = client.accept_agreement("agr-1")
    assert agreement.status == "ACTIVE"
    assert agreement.terms == TERMS
    assert [name for name, _, _ in transport.calls] == ["GetAgreement", "GetPartner", "AcceptAgreement"]
    sent = transport.calls[-1][1]
    assert verify(public_key_bytes(acceptor), sent.acceptor_signature, agreement_document(TERMS))


def test_a_document_that_does_not_match_its_terms_is_never_signed() -> None:
    proposer = generate_private_key()
    forged = agreement_document(TERMS).replace(b"rate=3/2", b"rate=3/1")
    client, transport = _client(
        generate_private_key(), _accept_answers(_proposed(proposer, document=forged), public_key_bytes(proposer))
    )
    with pytest.raises(ResponseVerificationError) as caught:
        client.accept_agreement("agr-1")
    assert caught.value.reason == "AGREEMENT_DOCUMENT_MISMATCH"
    assert "AcceptAgreement" not in [name for name, _, _ in transport.calls]


@pytest.mark.parametrize("who", ["someone else signed", "unknown key", "revoked key"])
def test_a_proposal_not_signed_by_the_proposer_is_never_signed(who: str) -> None:
    proposer = generate_private_key()
    agreement = _proposed(generate_private_key() if who == "someone else signed" else proposer)
    if who == "unknown key":
        agreement.proposer_key_id = "sprk-k9"
    state = common_pb2.KEY_STATE_REVOKED if who == "revoked key" else common_pb2.KEY_STATE_ACTIVE
    client, transport = _client(generate_private_key(), _accept_answers(agreement, public_key_bytes(proposer), state))
    with pytest.raises(ResponseVerificationError) as caught:
        client.accept_agreement("agr-1")
    assert caught.value.reason == "PROPOSER_SIGNATURE_INVALID"
    assert "AcceptAgreement" not in [name for name, _, _ in transport.calls]


def test_proposing_signs_the_document_of_the_terms_sent() -> None:
    key = generate_private_key()
    client, transport = _client(
        key, {"ProposeAgreement": lambda r: agreements_pb2.ProposeAgreementResponse(agreement=_proposed(key))}
    )
    assert client.propose_agreement(TERMS).status == "PROPOSED"
    sent = transport.calls[0][1]
    assert _convert.agreement_terms(sent.terms) == TERMS
    assert verify(public_key_bytes(key), sent.proposer_signature, agreement_document(TERMS))


def test_convert_makes_up_an_idempotency_key_only_when_none_is_given() -> None:
    answer = conversions_pb2.ConvertResponse(conversion=_conversion_message())
    client, transport = _client(generate_private_key(), {"Convert": lambda _: answer})
    client.convert("quo-1", source_member_ref="m-1", target_member_ref="t-1")
    client.convert("quo-1", source_member_ref="m-1", target_member_ref="t-1", idempotency_key="ledger-42")
    first, second = (request.idempotency_key for _, request, _ in transport.calls)
    assert first.startswith("sdk-cnv-")
    assert len(first) == len("sdk-cnv-") + 32
    assert second == "ledger-42"


@pytest.mark.parametrize("points", [10.0, True])
def test_points_must_be_whole_numbers(points: Any) -> None:
    client, transport = _client(generate_private_key(), {})
    with pytest.raises(TypeError):
        client.quote_conversion("aero", points)
    with pytest.raises(TypeError):
        client.reverse_conversion("cnv-1", points, reason="x")
    assert transport.calls == []


def test_a_long_poll_gets_a_deadline_longer_than_its_wait() -> None:
    client, transport = _client(generate_private_key(), {"PullInstructions": lambda _: _pulled()})
    client.pull_instructions(wait_s=20)
    client.pull_instructions(wait_s=1, timeout_s=60)
    assert [timeout for _, _, timeout in transport.calls] == [25, 60]


def _pulled() -> instructions_pb2.PullInstructionsResponse:
    return instructions_pb2.PullInstructionsResponse()


# ------------------------------------------------------------------- InstructionLoop


def _instruction(instruction_id: str, kind: str = "CREDIT", delivery: int = 1) -> Instruction:
    return Instruction(
        instruction_id=instruction_id,
        kind=kind,
        state="PENDING",
        member_ref="m-1",
        points=100,
        point_currency="AERO",
        conversion_id="cnv-1",
        created_at=NOW,
        deadline=NOW + timedelta(hours=1) if kind == "CREDIT" else None,
        delivery_count=delivery,
        partner_reference="",
        reason="",
    )


class FakeClient:
    """Serves a script of pulls; records acknowledgements and rejections."""

    def __init__(self, *pulls: list[Instruction] | ExchangeError) -> None:
        self.pulls = list(pulls)
        self.acknowledged: list[tuple[str, str]] = []
        self.rejected: list[tuple[str, str]] = []
        self.ack_errors: dict[str, list[ExchangeError]] = {}
        self.on_empty: Callable[[], None] = lambda: None

    def pull_instructions(self, *, max_instructions: int, wait_s: int, lease_s: int) -> tuple[Instruction, ...]:
        if not self.pulls:
            self.on_empty()
            return ()
        step = self.pulls.pop(0)
        if isinstance(step, ExchangeError):
            raise step
        return tuple(step)

    def acknowledge_instruction(self, instruction_id: str, *, partner_reference: str) -> Instruction:
        errors = self.ack_errors.get(instruction_id)
        if errors:
            raise errors.pop(0)
        self.acknowledged.append((instruction_id, partner_reference))
        return _instruction(instruction_id)

    def reject_instruction(self, instruction_id: str, *, reason: str) -> Instruction:
        self.rejected.append((instruction_id, reason))
        return _instruction(instruction_id)


class Ledger:
    """A handler that records what it applied."""

    def __init__(self, *, reject: frozenset[str] = frozenset(), fail: frozenset[str] = frozenset()) -> None:
        self.applied: list[tuple[str, str]] = []
        self.reject = reject
        self.fail = fail

    def _apply(self, instruction: Instruction) -> str:
        self.applied.append((instruction.kind, instruction.instruction_id))
        if instruction.instruction_id in self.reject:
            raise RejectInstruction("member unknown")
        if instruction.instruction_id in self.fail:
            raise RuntimeError("ledger down")
        return f"ledger-{instruction.instruction_id}"

    def credit(self, instruction: Instruction) -> str:
        return self._apply(instruction)

    def refund(self, instruction: Instruction) -> str:
        return self._apply(instruction)


class CancellingLedger(Ledger):
    def __init__(self) -> None:
        super().__init__()
        self.cancelled: list[tuple[str, str]] = []

    def on_cancelled(self, instruction: Instruction, error: ExchangeError) -> None:
        self.cancelled.append((instruction.instruction_id, error.reason))


def test_a_redelivered_instruction_is_acknowledged_again_without_applying_it_twice() -> None:
    client = FakeClient([_instruction("i1"), _instruction("i2", "REFUND")], [_instruction("i1", delivery=2)])
    ledger = Ledger()
    loop = InstructionLoop(client, ledger)
    assert loop.run_once() == 2
    assert loop.run_once() == 1
    assert ledger.applied == [("CREDIT", "i1"), ("REFUND", "i2")]
    assert client.acknowledged == [("i1", "ledger-i1"), ("i2", "ledger-i2"), ("i1", "ledger-i1")]


def test_a_refused_credit_is_rejected_with_the_handlers_reason_once() -> None:
    client = FakeClient([_instruction("i1")], [_instruction("i1", delivery=2)])
    ledger = Ledger(reject=frozenset({"i1"}))
    loop = InstructionLoop(client, ledger)
    assert loop.run_once() == 1
    assert loop.run_once() == 1
    assert ledger.applied == [("CREDIT", "i1")]
    assert client.rejected == [("i1", "member unknown"), ("i1", "member unknown")]
    assert client.acknowledged == []


def test_a_refund_can_not_be_refused() -> None:
    client = FakeClient([_instruction("i1", "REFUND")])
    loop = InstructionLoop(client, Ledger(reject=frozenset({"i1"})))
    assert loop.run_once() == 0
    assert client.rejected == []
    assert client.acknowledged == []


def test_a_handler_failure_leaves_the_instruction_for_redelivery(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient([_instruction("i1")], [_instruction("i1", delivery=2)])
    ledger = Ledger(fail=frozenset({"i1"}))
    loop = InstructionLoop(client, ledger)
    with caplog.at_level(logging.ERROR, logger="partner_sdk.instructions"):
        assert loop.run_once() == 0
    assert "ledger down" in caplog.text
    assert client.acknowledged == []
    assert client.rejected == []
    ledger.fail = frozenset()
    assert loop.run_once() == 1  # it failed, so the handler is asked again
    assert ledger.applied == [("CREDIT", "i1"), ("CREDIT", "i1")]
    assert client.acknowledged == [("i1", "ledger-i1")]


def test_a_transient_acknowledgement_failure_is_answered_again_without_reapplying() -> None:
    client = FakeClient([_instruction("i1")], [_instruction("i1", delivery=2)])
    client.ack_errors["i1"] = [UnavailableError("hub down")]
    ledger = Ledger()
    loop = InstructionLoop(client, ledger)
    assert loop.run_once() == 0
    assert loop.owed == 1
    assert loop.run_once() == 1  # the owed acknowledgement is sent first, then the redelivery answered as before
    assert ledger.applied == [("CREDIT", "i1")]
    assert client.acknowledged == [("i1", "ledger-i1"), ("i1", "ledger-i1")]
    assert loop.owed == 0


def test_a_cancelled_credit_goes_to_on_cancelled_and_is_dropped() -> None:
    client = FakeClient([_instruction("i1")], [_instruction("i1", delivery=2)])
    client.ack_errors["i1"] = [FailedPreconditionError("deadline passed", reason="INSTRUCTION_CANCELLED")]
    ledger = CancellingLedger()
    loop = InstructionLoop(client, ledger)
    assert loop.run_once() == 1
    assert ledger.cancelled == [("i1", "INSTRUCTION_CANCELLED")]
    assert loop.run_once() == 0  # dropped: neither applied nor answered again
    assert ledger.applied == [("CREDIT", "i1")]
    assert client.acknowledged == []


def test_an_instruction_acknowledged_elsewhere_is_not_cancelled() -> None:
    client = FakeClient([_instruction("i1")])
    client.ack_errors["i1"] = [FailedPreconditionError("acknowledged already", reason="INSTRUCTION_ACKNOWLEDGED")]
    ledger = CancellingLedger()
    assert InstructionLoop(client, ledger).run_once() == 1
    assert ledger.cancelled == []


def test_without_on_cancelled_a_cancelled_credit_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient([_instruction("i1")])
    client.ack_errors["i1"] = [FailedPreconditionError("deadline passed", reason="INSTRUCTION_CANCELLED")]
    with caplog.at_level(logging.ERROR, logger="partner_sdk.instructions"):
        assert InstructionLoop(client, Ledger()).run_once() == 1
    assert "undo it" in caplog.text


def test_the_memory_of_handled_instructions_is_bounded() -> None:
    client = FakeClient(
        [_instruction(f"i{n}") for n in range(5)], [_instruction("i4", delivery=2), _instruction("i0", delivery=2)]
    )
    ledger = Ledger()
    loop = InstructionLoop(client, ledger, remember=3)
    assert loop.run_once() == 5
    assert loop.remembered == 3
    assert loop.run_once() == 2
    assert loop.remembered == 3
    # i4 was remembered: acknowledged again without the handler; i0 had been forgotten.
    assert [i for _, i in ledger.applied] == ["i0", "i1", "i2", "i3", "i4", "i0"]
    assert client.acknowledged[-2:] == [("i4", "ledger-i4"), ("i0", "ledger-i0")]


def test_the_memory_keeps_the_most_recently_seen() -> None:
    client = FakeClient(
        [_instruction("a"), _instruction("b")],
        [_instruction("a", delivery=2)],  # a is now more recent than b
        [_instruction("c")],  # evicts b, not a
        [_instruction("a", delivery=3), _instruction("b", delivery=2)],
    )
    ledger = Ledger()
    loop = InstructionLoop(client, ledger, remember=2)
    for _ in range(4):
        loop.run_once()
    assert [i for _, i in ledger.applied] == ["a", "b", "c", "b"]


def test_run_survives_transient_failures_and_stops_when_asked() -> None:
    client = FakeClient(UnavailableError("down"), UnavailableError("down"), [_instruction("i1")])
    stop = threading.Event()
    client.on_empty = stop.set
    ledger = Ledger()
    InstructionLoop(client, ledger, backoff=RetryPolicy(initial_backoff_s=0.001, max_backoff_s=0.001)).run(stop)
    assert client.acknowledged == [("i1", "ledger-i1")]


def test_run_ends_on_an_error_that_will_not_go_away() -> None:
    client = FakeClient(PermissionDeniedError("partner suspended", reason="PARTNER_SUSPENDED"))
    with pytest.raises(PermissionDeniedError):
        InstructionLoop(client, Ledger()).run(threading.Event())


def test_the_loop_needs_room_for_at_least_one_id() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InstructionLoop(FakeClient(), Ledger(), remember=0)
