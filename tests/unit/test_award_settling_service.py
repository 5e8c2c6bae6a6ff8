"""The settling of an award (complete, void, expire_overdue) as the service runs it, on fake repositories.

An award is made on a connection (exchange.service.accruals.award), so the books start with the
records it would have written (tests.unit.fakes.pending_award: volt awards 300 stride points worth
150 minor GBP, and stride has the credit). Completed, volt owes stride the price; voided, nothing
is owed. After every command the books keep their invariants (tests.unit.fakes.assert_consistent),
and a refused command leaves them exactly as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from exchange.domain.accruals import AwardState
from exchange.domain.conversions import HUB_ACTOR
from exchange.domain.errors import ExchangeError, FailedPrecondition
from exchange.domain.instructions import InstructionKind, InstructionState, Origin
from exchange.domain.ledger import Account, AccountKind, money_positions
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import accruals, outcomes
from exchange.service.authentication import Caller
from tests.unit.fakes import BOOKS_NOW, FakeBooks, FakeUnitOfWork, assert_consistent, brand, pending_award

NOW = BOOKS_NOW
DEADLINE = NOW + 900_000
STRIDE = Caller("stride", "k1")


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks(partners={"stride": brand("stride", "EUR"), "volt": brand("volt", "GBP")})


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


# --- complete -------------------------------------------------------------------------------------------------


def test_a_completed_award_is_settled_volt_owing_stride_its_price(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    accruals.complete(FakeUnitOfWork(books), award.award_id, NOW + 5)
    assert books.awards[award.award_id].state is AwardState.COMPLETED
    assert books.movements == [
        ("per-1", Movement(award.award_id, MovementKind.ACCRUAL, "volt", "stride", 0, 300, "GBP", 150, NOW + 5))
    ]
    (posted,) = books.ledger
    assert (posted.kind, posted.reference) == ("ACCRUAL", award.award_id)
    issued = [
        p for p in posted.postings if p.account == Account("stride", AccountKind.POINTS_ISSUED_FOR_OTHERS, "volt")
    ]
    assert [(p.currency, p.amount) for p in issued] == [("STRI", -300)]
    assert money_positions(books.postings()) == {("stride", "GBP"): 150, ("volt", "GBP"): -150}
    assert_consistent(books)


def test_an_award_completes_once(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    accruals.complete(FakeUnitOfWork(books), award.award_id, NOW)
    refusal = _refused(books, lambda: accruals.complete(FakeUnitOfWork(books), award.award_id, NOW + 1))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "AWARD_NOT_PENDING"
    refusal = _refused(books, lambda: accruals.void(FakeUnitOfWork(books), award.award_id, "too late"))
    assert refusal.reason == "AWARD_NOT_PENDING"


# --- void -----------------------------------------------------------------------------------------------------


def test_a_voided_award_owes_nothing_and_keeps_its_reason(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    accruals.void(FakeUnitOfWork(books), award.award_id, "member closed")
    voided = books.awards[award.award_id]
    assert (voided.state, voided.void_reason) == (AwardState.VOIDED, "member closed")
    assert (books.ledger, books.movements, books.audit) == ([], [], [])
    assert_consistent(books)


def test_a_voided_award_can_be_neither_voided_again_nor_completed(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    accruals.void(FakeUnitOfWork(books), award.award_id, "member closed")
    for command in (
        lambda: accruals.void(FakeUnitOfWork(books), award.award_id, "again"),
        lambda: accruals.complete(FakeUnitOfWork(books), award.award_id, NOW),
    ):
        refusal = _refused(books, command)
        assert isinstance(refusal, FailedPrecondition) and refusal.reason == "AWARD_NOT_PENDING"


# --- expire_overdue -------------------------------------------------------------------------------------------


def test_an_award_still_waiting_at_its_credit_deadline_is_voided_and_its_credit_withdrawn(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    assert accruals.expire_overdue(FakeUnitOfWork(books), award.award_id, DEADLINE) is True
    voided = books.awards[award.award_id]
    assert (voided.state, voided.void_reason) == (AwardState.VOIDED, "the issuer did not credit it before the deadline")
    credit = books.instructions[f"ins-{award.award_id}"]
    assert (credit.state, credit.reason) == (InstructionState.CANCELLED, "credit deadline passed")
    assert list(books.instructions) == [credit.instruction_id]  # never delivered: nothing to take back
    assert [(e.actor, e.action, e.subject, e.at_ms) for e in books.audit] == [
        (HUB_ACTOR, "hub/VoidAward", award.award_id, DEADLINE)
    ]
    assert (books.ledger, books.movements) == ([], [])
    assert_consistent(books)


def test_an_overdue_award_credit_the_issuer_had_pulled_is_taken_back(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE, delivered=2)
    assert accruals.expire_overdue(FakeUnitOfWork(books), award.award_id, DEADLINE + 1)
    (take_back,) = (i for i in books.instructions.values() if i.kind is InstructionKind.CREDIT_CANCELLED)
    assert (take_back.partner_id, take_back.member_ref, take_back.points) == ("stride", "s-1", 300)
    assert (take_back.origin, take_back.cancels_instruction_id) == (
        Origin.award(award.award_id),
        f"ins-{award.award_id}",
    )
    assert_consistent(books)
    before = copy.deepcopy(books)
    outcomes.acknowledge(FakeUnitOfWork(books), STRIDE, take_back.instruction_id, "reversed-1", DEADLINE + 2)
    assert books.instructions[take_back.instruction_id].state is InstructionState.ACKNOWLEDGED
    before.instructions[take_back.instruction_id] = books.instructions[take_back.instruction_id]
    assert books == before  # a take-back applied settles nothing: the award stays void


def test_an_award_before_its_credit_deadline_is_not_voided(books: FakeBooks) -> None:
    award = pending_award(books, deadline_ms=DEADLINE)
    before = copy.deepcopy(books)
    assert not accruals.expire_overdue(FakeUnitOfWork(books), award.award_id, DEADLINE - 1)
    assert books == before


def test_a_settled_or_unknown_award_never_expires(books: FakeBooks) -> None:
    completed = pending_award(books, "awd-done", deadline_ms=DEADLINE)
    voided = pending_award(books, "awd-void", deadline_ms=DEADLINE)
    accruals.complete(FakeUnitOfWork(books), completed.award_id, NOW)
    accruals.void(FakeUnitOfWork(books), voided.award_id, "member closed")
    before = copy.deepcopy(books)
    for award_id in (completed.award_id, voided.award_id, "awd-nope"):
        assert not accruals.expire_overdue(FakeUnitOfWork(books), award_id, DEADLINE + 1)
    assert books == before
