"""A partner's answer to an instruction (acknowledge, reject) as the service runs it, on fake repositories.

The answer goes to the instruction's origin (exchange.service.outcomes.OUTCOMES): a credit applied
completes its conversion or award, a credit refused fails it, a refund applied closes a failed
conversion, and an answer past a credit's deadline expires the credit and is refused for good.
After every answer the books keep their invariants (tests.unit.fakes.assert_consistent), and a
refused answer leaves them exactly as they were, except the final refusal of a late one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

import pytest

from exchange.domain.accruals import AwardState
from exchange.domain.conversions import HUB_ACTOR, Conversion, ConversionState
from exchange.domain.errors import ExchangeError, FailedPrecondition, InvalidArgument, NotFound
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import money_positions
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import conversions, outcomes
from exchange.service.authentication import Caller
from exchange.service.conversions import ConversionPolicy
from tests.unit.fakes import (
    BOOKS_NOW,
    FakeBooks,
    FakeUnitOfWork,
    assert_consistent,
    brand,
    pending_award,
    stride_to_volt_agreement,
)

NOW = BOOKS_NOW
STRIDE = Caller("stride", "k1")
VOLT = Caller("volt", "k1")
ACME = Caller("acme", "k1")
POLICY = ConversionPolicy(quote_ttl_ms=60_000, credit_deadline_ms=900_000, member_conversions_per_hour=10)
SOON = NOW + 1_000
DEADLINE = NOW + POLICY.credit_deadline_ms
# 1,000 stride points at 3/2 with a 1% fee: 10 fee points, 990 converted, 1,485 volt points, 742 minor GBP.


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks(
        partners={"stride": brand("stride", "EUR"), "volt": brand("volt", "GBP"), "acme": brand("acme", "EUR")},
        agreements=[stride_to_volt_agreement()],
    )


def _pending(books: FakeBooks) -> Conversion:
    work = FakeUnitOfWork(books)
    offer = conversions.quote(work, STRIDE, "volt", 1_000, NOW, POLICY)
    return conversions.convert(
        work,
        STRIDE,
        quote_id=offer.quote_id,
        source_member_ref="m-1",
        target_member_ref="v-1",
        now_ms=NOW,
        policy=POLICY,
    )


def _of(books: FakeBooks, conversion_id: str, kind: InstructionKind) -> Instruction:
    (found,) = (i for i in books.instructions.values() if i.origin.conversion_id == conversion_id and i.kind is kind)
    return found


def _acknowledge(books: FakeBooks, caller: Caller, instruction_id: str, reference: str = "ref-1", at_ms: int = SOON):
    return outcomes.acknowledge(FakeUnitOfWork(books), caller, instruction_id, reference, at_ms)


def _reject(books: FakeBooks, caller: Caller, instruction_id: str, reason: str = "no such member", at_ms: int = SOON):
    return outcomes.reject(FakeUnitOfWork(books), caller, instruction_id, reason, at_ms)


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


# --- a conversion's credit ------------------------------------------------------------------------------------


def test_a_credit_acknowledged_completes_the_conversion_and_records_its_movement(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    ledger = list(books.ledger)
    answered = _acknowledge(books, VOLT, credit.instruction_id, " volt-ledger-9 ")
    assert (answered.state, answered.partner_reference) == (InstructionState.ACKNOWLEDGED, "volt-ledger-9")
    assert books.instructions[credit.instruction_id] == answered
    completed = books.conversions[conversion.conversion_id]
    assert completed.state is ConversionState.COMPLETED
    assert (completed.history[-1].actor, completed.history[-1].note) == ("volt", "volt-ledger-9")
    assert books.movements == [
        (
            "per-1",
            Movement(conversion.conversion_id, MovementKind.CONVERSION, "stride", "volt", 990, 1_485, "GBP", 742, SOON),
        )
    ]
    assert books.ledger == ledger  # the conversion was posted when it was made
    assert_consistent(books)


def test_acknowledging_a_credit_again_with_the_same_reference_changes_nothing(books: FakeBooks) -> None:
    credit = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    first = _acknowledge(books, VOLT, credit.instruction_id, "volt-ledger-9")
    before = copy.deepcopy(books)
    assert _acknowledge(books, VOLT, credit.instruction_id, "volt-ledger-9", at_ms=SOON + 5) == first
    assert books == before


def test_acknowledging_a_credit_again_with_another_reference_is_refused(books: FakeBooks) -> None:
    credit = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    _acknowledge(books, VOLT, credit.instruction_id, "volt-ledger-9")
    refusal = _refused(books, lambda: _acknowledge(books, VOLT, credit.instruction_id, "volt-ledger-10"))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "INSTRUCTION_ACKNOWLEDGED"


@pytest.mark.parametrize(("reference", "code"), [("", "EMPTY_FIELD"), ("r" * 129, "FIELD_TOO_LONG")])
def test_an_acknowledgement_needs_a_reference(books: FakeBooks, reference: str, code: str) -> None:
    credit = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    refusal = _refused(books, lambda: _acknowledge(books, VOLT, credit.instruction_id, reference))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == code and refusal.field == "partner_reference"


@pytest.mark.parametrize("answer", [_acknowledge, _reject])
@pytest.mark.parametrize(("caller", "which"), [(STRIDE, "theirs"), (ACME, "theirs"), (VOLT, "ins-nope")])
def test_an_instruction_given_to_another_brand_does_not_exist_for_the_caller(
    books: FakeBooks, answer: Callable[..., Instruction], caller: Caller, which: str
) -> None:
    credit = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    named = credit.instruction_id if which == "theirs" else which
    refusal = _refused(books, lambda: answer(books, caller, named))
    assert isinstance(refusal, NotFound) and refusal.reason == "INSTRUCTION_NOT_FOUND"


def test_a_credit_rejected_rejects_the_conversion_and_its_source_refunds_the_member(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    answered = _reject(books, VOLT, credit.instruction_id, " no such member ")
    assert (answered.state, answered.reason) == (InstructionState.REJECTED, "no such member")
    assert books.instructions[credit.instruction_id] == answered
    rejected = books.conversions[conversion.conversion_id]
    assert rejected.state is ConversionState.REJECTED
    assert (rejected.history[-1].actor, rejected.history[-1].note) == ("volt", "no such member")
    refund = _of(books, conversion.conversion_id, InstructionKind.REFUND)
    assert (refund.partner_id, refund.points, refund.member_ref) == ("stride", 1_000, "m-1")
    assert {position for position in money_positions(books.postings()).values()} == {0}
    assert books.movements == []
    assert_consistent(books)


@pytest.mark.parametrize(("reason", "code"), [(" ", "EMPTY_FIELD"), ("n" * 501, "FIELD_TOO_LONG")])
def test_a_rejection_needs_a_reason(books: FakeBooks, reason: str, code: str) -> None:
    credit = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    refusal = _refused(books, lambda: _reject(books, VOLT, credit.instruction_id, reason))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == code


def test_a_credit_is_answered_once(books: FakeBooks) -> None:
    acknowledged = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    _acknowledge(books, VOLT, acknowledged.instruction_id)
    assert _refused(books, lambda: _reject(books, VOLT, acknowledged.instruction_id)).reason == (
        "INSTRUCTION_ACKNOWLEDGED"
    )
    rejected = _of(books, _pending(books).conversion_id, InstructionKind.CREDIT)
    _reject(books, VOLT, rejected.instruction_id)
    for answer in (_acknowledge, _reject):
        refusal = _refused(books, lambda answer=answer: answer(books, VOLT, rejected.instruction_id))
        assert isinstance(refusal, FailedPrecondition) and refusal.reason == "INSTRUCTION_REJECTED"


@pytest.mark.parametrize("answer", [_acknowledge, _reject])
def test_an_answer_at_or_past_the_credits_deadline_expires_the_conversion_and_is_refused_for_good(
    books: FakeBooks, answer: Callable[..., Instruction]
) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    with pytest.raises(FailedPrecondition) as refusal:
        answer(books, VOLT, credit.instruction_id, at_ms=DEADLINE)
    assert refusal.value.reason == "CREDIT_DEADLINE_PASSED" and refusal.value.final
    # a final refusal commits what it implies: the credit is expired, as the sweep would have
    assert books.conversions[conversion.conversion_id].state is ConversionState.EXPIRED
    assert books.instructions[credit.instruction_id].state is InstructionState.CANCELLED
    assert _of(books, conversion.conversion_id, InstructionKind.REFUND).points == 1_000
    assert [(e.action, e.subject) for e in books.audit] == [("hub/ExpireConversion", conversion.conversion_id)]
    assert books.movements == []
    assert_consistent(books)


def test_an_answer_just_before_the_credits_deadline_is_in_time(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    _acknowledge(books, VOLT, credit.instruction_id, at_ms=DEADLINE - 1)
    assert books.conversions[conversion.conversion_id].state is ConversionState.COMPLETED
    assert books.audit == []


def test_a_credit_cancelled_at_its_deadline_can_no_longer_be_acknowledged(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, DEADLINE)
    refusal = _refused(books, lambda: _acknowledge(books, VOLT, credit.instruction_id, at_ms=DEADLINE + 1))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "INSTRUCTION_CANCELLED" and not refusal.final


# --- refunds and take-backs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["rejected", "expired"])
def test_the_refund_of_a_failed_conversion_acknowledged_closes_it_as_refunded(books: FakeBooks, failure: str) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    if failure == "rejected":
        _reject(books, VOLT, credit.instruction_id)
    else:
        conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, DEADLINE)
    refund = _of(books, conversion.conversion_id, InstructionKind.REFUND)
    _acknowledge(books, STRIDE, refund.instruction_id, "refund-1", at_ms=DEADLINE + 10)
    refunded = books.conversions[conversion.conversion_id]
    assert refunded.state is ConversionState.REFUNDED
    assert (refunded.history[-1].actor, refunded.history[-1].at_ms) == ("stride", DEADLINE + 10)
    assert books.movements == []
    assert_consistent(books)


def test_a_refund_is_given_to_the_source_and_cannot_be_rejected(books: FakeBooks) -> None:
    conversion = _pending(books)
    _reject(books, VOLT, _of(books, conversion.conversion_id, InstructionKind.CREDIT).instruction_id)
    refund = _of(books, conversion.conversion_id, InstructionKind.REFUND)
    refusal = _refused(books, lambda: _reject(books, STRIDE, refund.instruction_id))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "ONLY_CREDITS_REJECTABLE"
    assert isinstance(_refused(books, lambda: _acknowledge(books, VOLT, refund.instruction_id)), NotFound)


def test_a_take_back_of_an_expired_credit_acknowledged_changes_nothing_else(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _of(books, conversion.conversion_id, InstructionKind.CREDIT)
    books.instructions[credit.instruction_id] = replace(credit, delivery_count=1)
    conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, DEADLINE)
    take_back = _of(books, conversion.conversion_id, InstructionKind.CREDIT_CANCELLED)
    assert isinstance(_refused(books, lambda: _reject(books, VOLT, take_back.instruction_id)), FailedPrecondition)
    before = copy.deepcopy(books)
    _acknowledge(books, VOLT, take_back.instruction_id, "reversed-1", at_ms=DEADLINE + 10)
    assert books.instructions[take_back.instruction_id].state is InstructionState.ACKNOWLEDGED
    before.instructions[take_back.instruction_id] = books.instructions[take_back.instruction_id]
    assert books == before  # the conversion stays EXPIRED: its refund closes it


def test_the_refund_of_a_reversal_acknowledged_changes_nothing_else(books: FakeBooks) -> None:
    conversion = _pending(books)
    _acknowledge(books, VOLT, _of(books, conversion.conversion_id, InstructionKind.CREDIT).instruction_id)
    conversions.reverse(
        FakeUnitOfWork(books),
        VOLT,
        conversion_id=conversion.conversion_id,
        target_points=300,
        reason="returned",
        now_ms=SOON + 10,
    )
    (refund,) = (i for i in books.instructions_for("stride") if i.reversal_id)
    assert isinstance(_refused(books, lambda: _reject(books, STRIDE, refund.instruction_id)), FailedPrecondition)
    before = copy.deepcopy(books)
    assert _acknowledge(books, STRIDE, refund.instruction_id, "rf-1", at_ms=SOON + 20).state is (
        InstructionState.ACKNOWLEDGED
    )
    before.instructions[refund.instruction_id] = books.instructions[refund.instruction_id]
    assert books == before
    assert books.conversions[conversion.conversion_id].state is ConversionState.COMPLETED


# --- an award's credit ----------------------------------------------------------------------------------------


def test_an_award_credit_acknowledged_completes_the_award_and_volt_owes_stride_its_price(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    _acknowledge(books, STRIDE, f"ins-{award.award_id}", "credited-1")
    assert books.awards[award.award_id].state is AwardState.COMPLETED
    assert books.movements == [
        ("per-1", Movement(award.award_id, MovementKind.ACCRUAL, "volt", "stride", 0, 300, "GBP", 150, SOON))
    ]
    (posted,) = books.ledger
    assert (posted.kind, posted.reference) == ("ACCRUAL", award.award_id)
    assert money_positions(books.postings()) == {("stride", "GBP"): 150, ("volt", "GBP"): -150}
    assert_consistent(books)


def test_an_award_credit_rejected_voids_the_award_and_nothing_is_owed(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    _reject(books, STRIDE, f"ins-{award.award_id}", "member closed")
    voided = books.awards[award.award_id]
    assert (voided.state, voided.void_reason) == (AwardState.VOIDED, "the issuer rejected the credit: member closed")
    assert (books.ledger, books.movements) == ([], [])
    assert_consistent(books)


def test_an_award_credit_answered_past_its_deadline_voids_the_award_and_is_refused_for_good(
    books: FakeBooks,
) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    with pytest.raises(FailedPrecondition) as refusal:
        _acknowledge(books, STRIDE, f"ins-{award.award_id}", at_ms=DEADLINE)
    assert refusal.value.reason == "CREDIT_DEADLINE_PASSED" and refusal.value.final
    assert books.awards[award.award_id].state is AwardState.VOIDED
    assert books.instructions[f"ins-{award.award_id}"].state is InstructionState.CANCELLED
    assert [(e.actor, e.action, e.subject) for e in books.audit] == [(HUB_ACTOR, "hub/VoidAward", award.award_id)]
    assert (books.ledger, books.movements) == ([], [])
    assert_consistent(books)


def test_an_award_credit_is_acknowledged_only_by_its_issuer(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    refusal = _refused(books, lambda: _acknowledge(books, VOLT, f"ins-{award.award_id}"))
    assert isinstance(refusal, NotFound) and refusal.reason == "INSTRUCTION_NOT_FOUND"
    assert books.awards[award.award_id].state is AwardState.PENDING_CREDIT
    assert Origin.award(award.award_id) == books.instructions[f"ins-{award.award_id}"].origin
