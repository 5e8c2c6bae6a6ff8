"""Reverse, fail a credit and expire an overdue conversion as the service runs them, on fake repositories.

The same commands run against the real store in tests/e2e/test_conversions.py; here each rule is
one sentence. After every command the books keep their invariants (tests.unit.fakes.assert_consistent:
a balanced ledger, money positions summing to zero, every instruction naming its origin), and a
refused command leaves the books exactly as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

import pytest

from exchange.domain.conversions import HUB_ACTOR, Conversion, ConversionState
from exchange.domain.errors import ExchangeError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import money_positions
from exchange.domain.partners import PartnerStatus
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import conversions, outcomes
from exchange.service.authentication import Caller
from exchange.service.conversions import ConversionPolicy
from tests.unit.fakes import BOOKS_NOW, FakeBooks, FakeUnitOfWork, assert_consistent, brand, stride_to_volt_agreement

NOW = BOOKS_NOW
STRIDE = Caller("stride", "k1")
VOLT = Caller("volt", "k1")
ACME = Caller("acme", "k1")
POLICY = ConversionPolicy(quote_ttl_ms=60_000, credit_deadline_ms=900_000, member_conversions_per_hour=10)
LATER = NOW + 60_000
# 1,000 stride points at 3/2 with a 1% fee: 10 fee points, 990 converted, 1,485 volt points, 742 minor GBP.


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks(
        partners={"stride": brand("stride", "EUR"), "volt": brand("volt", "GBP"), "acme": brand("acme", "EUR")},
        agreements=[stride_to_volt_agreement()],
    )


def _pending(books: FakeBooks, points: int = 1_000) -> Conversion:
    work = FakeUnitOfWork(books)
    offer = conversions.quote(work, STRIDE, "volt", points, NOW, POLICY)
    return conversions.convert(
        work,
        STRIDE,
        quote_id=offer.quote_id,
        source_member_ref="m-1",
        target_member_ref="v-1",
        now_ms=NOW,
        policy=POLICY,
    )


def _credit(books: FakeBooks, conversion_id: str) -> Instruction:
    (credit,) = (
        i
        for i in books.instructions.values()
        if i.origin == Origin.conversion(conversion_id) and i.kind is InstructionKind.CREDIT
    )
    return credit


def _completed(books: FakeBooks, points: int = 1_000) -> Conversion:
    conversion = _pending(books, points)
    credit = _credit(books, conversion.conversion_id)
    outcomes.acknowledge(FakeUnitOfWork(books), VOLT, credit.instruction_id, "volt-ledger-1", NOW + 1_000)
    return books.conversions[conversion.conversion_id]


def _reverse(
    books: FakeBooks,
    conversion_id: str,
    target_points: int,
    *,
    caller: Caller = VOLT,
    reason: str = "returned goods",
    at_ms: int = LATER,
) -> Conversion:
    return conversions.reverse(
        FakeUnitOfWork(books),
        caller,
        conversion_id=conversion_id,
        target_points=target_points,
        reason=reason,
        now_ms=at_ms,
    )


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


def _new(books: FakeBooks, before: FakeBooks) -> list[Instruction]:
    return [i for key, i in books.instructions.items() if key not in before.instructions]


# --- reverse ------------------------------------------------------------------------------------------------


def test_the_target_reverses_part_of_a_completed_conversion_and_the_source_refunds_its_member(
    books: FakeBooks,
) -> None:
    conversion = _completed(books)
    before = copy.deepcopy(books)
    reversed_ = _reverse(books, conversion.conversion_id, 100, reason="  returned goods  ")
    (reversal,) = reversed_.reversals
    assert reversed_.state is ConversionState.COMPLETED and books.conversions[conversion.conversion_id] == reversed_
    # 100 of 1,485 target points: 990 x 100/1,485 = 66.7 source points and 742 x 100/1,485 = 49.97 minor, rounded down
    assert (reversal.amounts.target_points, reversal.amounts.source_points) == (100, 66)
    assert (reversal.amounts.settlement_amount_minor, reversal.reason, reversal.at_ms) == (49, "returned goods", LATER)
    (refund,) = _new(books, before)
    assert (refund.partner_id, refund.kind, refund.state) == (
        "stride",
        InstructionKind.REFUND,
        InstructionState.PENDING,
    )
    assert (refund.member_ref, refund.points, refund.point_currency) == ("m-1", 66, "STRI")
    assert refund.origin == Origin.reversal(reversal.reversal_id, of_conversion=conversion.conversion_id)
    assert refund.deadline_ms is None
    assert books.movements[len(before.movements) :] == [
        ("per-1", Movement(reversal.reversal_id, MovementKind.REVERSAL, "stride", "volt", -66, -100, "GBP", -49, LATER))
    ]
    (posted,) = books.ledger[len(before.ledger) :]
    assert (posted.kind, posted.reference) == ("REVERSAL", reversal.reversal_id)
    assert money_positions(books.postings())[("stride", "GBP")] == -742 + 49
    assert_consistent(books)


def test_partial_reversals_give_back_exactly_what_converted_whatever_the_rounding_and_keep_the_fee(
    books: FakeBooks,
) -> None:
    conversion = _completed(books)
    _reverse(books, conversion.conversion_id, 100)
    assert_consistent(books)
    done = _reverse(books, conversion.conversion_id, 1_385, reason="everything else")
    assert [r.amounts.source_points for r in done.reversals] == [66, 924]  # 990 in all, though 1,385/1,485 of 990 < 924
    assert sum(r.amounts.settlement_amount_minor for r in done.reversals) == 742
    refunds = [i for i in books.instructions_for("stride") if i.kind is InstructionKind.REFUND]
    assert sum(i.points for i in refunds) == 990  # the 10 fee points are not refunded
    assert all(position == 0 for position in money_positions(books.postings()).values())
    assert sum(m.amount_minor for _, m in books.movements) == 0  # the conversion's movement, cancelled out
    assert_consistent(books)


def test_a_reversal_past_what_is_left_of_the_conversion_is_refused(books: FakeBooks) -> None:
    conversion = _completed(books)
    _reverse(books, conversion.conversion_id, 100)
    refusal = _refused(books, lambda: _reverse(books, conversion.conversion_id, 1_386))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == "REVERSAL_EXCEEDS_CONVERSION"
    assert refusal.field == "target_points"


@pytest.mark.parametrize("points", [0, -5])
def test_a_reversal_of_no_points_is_refused(books: FakeBooks, points: int) -> None:
    conversion = _completed(books)
    refusal = _refused(books, lambda: _reverse(books, conversion.conversion_id, points))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == "NON_POSITIVE_AMOUNT"


def test_a_reversal_too_small_to_give_back_a_source_point_instructs_no_refund_and_one_point_is_refunded(
    books: FakeBooks,
) -> None:
    conversion = _completed(books)
    before = copy.deepcopy(books)
    (reversal,) = _reverse(books, conversion.conversion_id, 1).reversals
    assert (reversal.amounts.source_points, reversal.amounts.settlement_amount_minor) == (0, 0)
    assert books.instructions == before.instructions
    assert len(books.movements) == len(before.movements) + 1 and len(books.ledger) == len(before.ledger) + 1
    assert_consistent(books)
    (_, second) = _reverse(books, conversion.conversion_id, 2).reversals  # 990 x 2/1,485 = 1.3: one point back
    (refund,) = _new(books, before)
    assert (second.amounts.source_points, refund.points, refund.reversal_id) == (1, 1, second.reversal_id)
    assert_consistent(books)


def test_only_the_target_reverses_a_conversion(books: FakeBooks) -> None:
    conversion = _completed(books)
    refusal = _refused(books, lambda: _reverse(books, conversion.conversion_id, 100, caller=STRIDE))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_TARGET_PARTNER"


@pytest.mark.parametrize("conversion_id", ["theirs", "cnv-nope"])
def test_a_conversion_the_caller_is_no_party_to_does_not_exist_for_it(books: FakeBooks, conversion_id: str) -> None:
    conversion = _completed(books)
    named = conversion.conversion_id if conversion_id == "theirs" else conversion_id
    refusal = _refused(books, lambda: _reverse(books, named, 100, caller=ACME))
    assert isinstance(refusal, NotFound) and refusal.reason == "CONVERSION_NOT_FOUND"


def test_only_a_completed_conversion_is_reversed(books: FakeBooks) -> None:
    pending = _pending(books)
    refusal = _refused(books, lambda: _reverse(books, pending.conversion_id, 100))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "CONVERSION_NOT_COMPLETED"
    conversions.expire_overdue(FakeUnitOfWork(books), pending.conversion_id, pending.credit_deadline_ms)
    refusal = _refused(books, lambda: _reverse(books, pending.conversion_id, 100))
    assert refusal.reason == "CONVERSION_NOT_COMPLETED"


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "EMPTY_FIELD"), ("   ", "EMPTY_FIELD"), ("x" * 501, "FIELD_TOO_LONG"), ("a\x00b", "INVALID_TEXT")],
)
def test_a_reversal_needs_a_reason_in_plain_text(books: FakeBooks, reason: str, code: str) -> None:
    conversion = _completed(books)
    refusal = _refused(books, lambda: _reverse(books, conversion.conversion_id, 100, reason=reason))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == code and refusal.field == "reason"


# --- fail_credit ----------------------------------------------------------------------------------------------


def test_a_failed_credit_unwinds_the_ledger_and_instructs_the_source_to_refund_all_it_debited(
    books: FakeBooks,
) -> None:
    conversion = _pending(books)
    before = copy.deepcopy(books)
    failed = conversions.fail_credit(
        FakeUnitOfWork(books), conversion, ConversionState.REJECTED, actor="volt", note="no such member", now_ms=LATER
    )
    assert failed.state is ConversionState.REJECTED and books.conversions[conversion.conversion_id] == failed
    last = failed.history[-1]
    assert (last.actor, last.from_state, last.to_state, last.note) == (
        "volt",
        ConversionState.PENDING_CREDIT,
        ConversionState.REJECTED,
        "no such member",
    )
    converted, unwound = books.ledger
    assert (unwound.kind, unwound.reference) == ("REFUND", conversion.conversion_id)
    assert [(p.account, p.currency, -p.amount) for p in unwound.postings] == [
        (p.account, p.currency, p.amount) for p in converted.postings
    ]
    (refund,) = _new(books, before)
    assert (refund.partner_id, refund.kind, refund.member_ref) == ("stride", InstructionKind.REFUND, "m-1")
    assert (refund.points, refund.origin) == (1_000, Origin.conversion(conversion.conversion_id))  # the fee too
    assert books.movements == []  # nothing to settle
    assert all(position == 0 for position in money_positions(books.postings()).values())
    assert_consistent(books)


def test_a_credit_fails_only_while_the_conversion_waits_for_it(books: FakeBooks) -> None:
    conversion = _completed(books)
    refusal = _refused(
        books,
        lambda: conversions.fail_credit(
            FakeUnitOfWork(books), conversion, ConversionState.REJECTED, actor="volt", note="late", now_ms=LATER
        ),
    )
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "CONVERSION_COMPLETED"


def test_a_credit_fails_and_is_refunded_even_when_the_target_brand_was_suspended_since(books: FakeBooks) -> None:
    conversion = _pending(books)
    books.partners["volt"] = replace(books.partners["volt"], status=PartnerStatus.SUSPENDED)
    failed = conversions.fail_credit(
        FakeUnitOfWork(books), conversion, ConversionState.REJECTED, actor="volt", note="closed", now_ms=LATER
    )
    assert failed.state is ConversionState.REJECTED
    assert [i.kind for i in books.instructions_for("stride")] == [InstructionKind.REFUND]
    assert_consistent(books)


# --- expire_overdue -------------------------------------------------------------------------------------------


def test_a_conversion_still_waiting_at_its_credit_deadline_expires_and_its_source_refunds(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _credit(books, conversion.conversion_id)
    deadline = conversion.credit_deadline_ms
    assert conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, deadline) is True
    expired = books.conversions[conversion.conversion_id]
    assert expired.state is ConversionState.EXPIRED
    assert (expired.history[-1].actor, expired.history[-1].note) == (HUB_ACTOR, "no acknowledgement")
    cancelled = books.instructions[credit.instruction_id]
    assert (cancelled.state, cancelled.reason) == (InstructionState.CANCELLED, "credit deadline passed")
    (refund,) = books.instructions_for("stride")
    assert (refund.kind, refund.points, refund.member_ref) == (InstructionKind.REFUND, 1_000, "m-1")
    assert refund.origin == Origin.conversion(conversion.conversion_id)
    assert books.instructions_for("volt") == [cancelled]  # never delivered: nothing to take back
    assert {position for position in money_positions(books.postings()).values()} == {0}
    assert [(e.actor, e.action, e.subject, e.at_ms) for e in books.audit] == [
        (HUB_ACTOR, "hub/ExpireConversion", conversion.conversion_id, deadline)
    ]
    assert books.movements == []
    assert_consistent(books)


def test_an_expired_credit_the_target_had_pulled_is_taken_back(books: FakeBooks) -> None:
    conversion = _pending(books)
    credit = _credit(books, conversion.conversion_id)
    books.instructions[credit.instruction_id] = replace(credit, delivery_count=1)
    assert conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, conversion.credit_deadline_ms)
    (take_back,) = (i for i in books.instructions_for("volt") if i.instruction_id != credit.instruction_id)
    assert (take_back.kind, take_back.state) == (InstructionKind.CREDIT_CANCELLED, InstructionState.PENDING)
    assert (take_back.cancels_instruction_id, take_back.points, take_back.member_ref) == (
        credit.instruction_id,
        1_485,
        "v-1",
    )
    assert take_back.origin == Origin.conversion(conversion.conversion_id) and take_back.deadline_ms is None
    assert_consistent(books)


def test_a_conversion_before_its_credit_deadline_does_not_expire(books: FakeBooks) -> None:
    conversion = _pending(books)
    before = copy.deepcopy(books)
    assert not conversions.expire_overdue(
        FakeUnitOfWork(books), conversion.conversion_id, conversion.credit_deadline_ms - 1
    )
    assert books == before


def test_a_completed_conversion_never_expires(books: FakeBooks) -> None:
    conversion = _completed(books)
    before = copy.deepcopy(books)
    assert not conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, NOW + 10 * 900_000)
    assert books == before


def test_a_conversion_expires_once_and_an_unknown_one_not_at_all(books: FakeBooks) -> None:
    conversion = _pending(books)
    at = conversion.credit_deadline_ms + 5
    assert conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, at)
    before = copy.deepcopy(books)
    assert not conversions.expire_overdue(FakeUnitOfWork(books), conversion.conversion_id, at + 1)
    assert not conversions.expire_overdue(FakeUnitOfWork(books), "cnv-nope", at + 1)
    assert books == before


def test_an_expired_conversion_gives_its_points_back_to_the_members_daily_cap(books: FakeBooks) -> None:
    first = _pending(books, 5_000)  # the member's whole daily cap with the pair
    conversions.expire_overdue(FakeUnitOfWork(books), first.conversion_id, first.credit_deadline_ms)
    assert _pending(books, 5_000).state is ConversionState.PENDING_CREDIT
