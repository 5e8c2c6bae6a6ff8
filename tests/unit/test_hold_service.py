"""Holds (authorise, capture, void, expire, read) as the service runs them, on fake repositories.

A hold's points are always accounted for (authorised = captured + released + left); a capture is
posted and settled like a conversion, and what is not captured goes back to the source brand
through a RELEASE instruction. After every command the books keep their invariants
(tests.unit.fakes.assert_consistent), and a refused command leaves them exactly as they were,
except the final refusal of a late one, which expires the hold as the sweep would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

import pytest

from exchange.domain.agreements import AgreementStatus
from exchange.domain.conversions import HUB_ACTOR
from exchange.domain.errors import ExchangeError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import money_positions
from exchange.domain.money import Ratio
from exchange.domain.partners import PartnerStatus
from exchange.domain.redemptions import DEFAULT_HOLD_S, MAX_HOLD_S, MIN_HOLD_S, Hold, HoldState
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import outcomes, redemptions
from exchange.service.authentication import Caller
from tests.unit.fakes import (
    BOOKS_DAY_MS,
    BOOKS_NOW,
    FakeBooks,
    FakeUnitOfWork,
    assert_consistent,
    brand,
    stride_to_volt_agreement,
)

NOW = BOOKS_NOW
STRIDE = Caller("stride", "k1")
VOLT = Caller("volt", "k1")
ACME = Caller("acme", "k1")
EXPIRY = NOW + DEFAULT_HOLD_S * 1000
SOON = NOW + 1_000
# The agreement converts stride points to volt points at 3/2, a volt point worth half a penny (GBP).


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks(
        partners={"stride": brand("stride", "EUR"), "volt": brand("volt", "GBP"), "acme": brand("acme", "EUR")},
        agreements=[stride_to_volt_agreement()],
    )


def _authorize(
    books: FakeBooks,
    points: int = 1_000,
    *,
    caller: Caller = STRIDE,
    target: str = "volt",
    member: str = "m-1",
    expires_in_s: int = 0,
    at_ms: int = NOW,
) -> Hold:
    return redemptions.authorize(
        FakeUnitOfWork(books),
        caller,
        target_partner_id=target,
        source_points=points,
        source_member_ref=member,
        expires_in_s=expires_in_s,
        now_ms=at_ms,
    )


def _capture(
    books: FakeBooks, hold_id: str, points: int, *, caller: Caller = VOLT, reference: str = "till-1", at_ms: int = SOON
) -> Hold:
    return redemptions.capture(
        FakeUnitOfWork(books), caller, hold_id=hold_id, source_points=points, reference=reference, now_ms=at_ms
    )


def _void(
    books: FakeBooks, hold_id: str, *, caller: Caller = STRIDE, reason: str = "basket emptied", at_ms: int = SOON
):
    return redemptions.void(FakeUnitOfWork(books), caller, hold_id=hold_id, reason=reason, now_ms=at_ms)


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


def _release_of(books: FakeBooks, hold_id: str) -> Instruction:
    (release,) = (i for i in books.instructions.values() if i.origin == Origin.hold(hold_id))
    return release


# --- authorise ------------------------------------------------------------------------------------------------


def test_a_hold_reserves_the_members_points_under_the_agreement_and_writes_nothing_else(books: FakeBooks) -> None:
    hold = _authorize(books, 1_000, member=" m-1 ")
    assert books.holds == {hold.hold_id: hold}
    assert (hold.state, hold.source_partner_id, hold.target_partner_id) == (HoldState.OPEN, "stride", "volt")
    assert (hold.source_member_ref, hold.authorized_points, hold.remaining) == ("m-1", 1_000, 1_000)
    assert (hold.agreement_id, hold.rate, hold.settlement_price_minor) == ("agr-1", Ratio(3, 2), Ratio(1, 2))
    assert (hold.settlement_currency, hold.created_at_ms, hold.expires_at_ms) == ("GBP", NOW, EXPIRY)
    assert (books.ledger, books.instructions, books.movements, books.audit) == ([], {}, [], [])


@pytest.mark.parametrize("seconds", [MIN_HOLD_S, MAX_HOLD_S])
def test_a_hold_lives_as_long_as_asked_within_its_bounds(books: FakeBooks, seconds: int) -> None:
    assert _authorize(books, expires_in_s=seconds).expires_at_ms == NOW + seconds * 1000


@pytest.mark.parametrize("seconds", [MIN_HOLD_S - 1, MAX_HOLD_S + 1, -1])
def test_a_hold_lifetime_out_of_bounds_is_refused(books: FakeBooks, seconds: int) -> None:
    refusal = _refused(books, lambda: _authorize(books, expires_in_s=seconds))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == "INVALID_HOLD_LIFETIME"


@pytest.mark.parametrize(("points", "code"), [(0, "NON_POSITIVE_AMOUNT"), (10_001, "ABOVE_MAXIMUM")])
def test_a_hold_outside_the_agreements_maximum_is_refused(books: FakeBooks, points: int, code: str) -> None:
    refusal = _refused(books, lambda: _authorize(books, points))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == code and refusal.field == "source_points"


def test_a_hold_needs_a_member_reference(books: FakeBooks) -> None:
    refusal = _refused(books, lambda: _authorize(books, member="  "))
    assert isinstance(refusal, InvalidArgument) and refusal.field == "source_member_ref"


def test_a_hold_needs_an_agreement_in_force_from_the_caller_to_the_target(books: FakeBooks) -> None:
    assert _refused(books, lambda: _authorize(books, caller=VOLT, target="stride")).reason == "NO_ACTIVE_AGREEMENT"
    books.agreements[0] = replace(books.agreements[0], status=AgreementStatus.SUSPENDED)  # none in force any more
    assert _refused(books, lambda: _authorize(books)).reason == "NO_ACTIVE_AGREEMENT"
    books.agreements[0] = stride_to_volt_agreement()
    late = NOW + 30 * BOOKS_DAY_MS
    refusal = _refused(books, lambda: _authorize(books, at_ms=late))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "AGREEMENT_NOT_IN_FORCE"


def test_a_hold_at_a_suspended_target_is_refused(books: FakeBooks) -> None:
    books.partners["volt"] = replace(books.partners["volt"], status=PartnerStatus.SUSPENDED)
    refusal = _refused(books, lambda: _authorize(books))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "COUNTERPARTY_NOT_ACTIVE"


# --- read -----------------------------------------------------------------------------------------------------


def test_a_hold_is_seen_by_its_two_brands_only(books: FakeBooks) -> None:
    hold = _authorize(books)
    assert redemptions.get(FakeUnitOfWork(books), STRIDE, hold.hold_id) == hold
    assert redemptions.get(FakeUnitOfWork(books), VOLT, hold.hold_id) == hold
    for caller, hold_id in ((ACME, hold.hold_id), (STRIDE, "hold-nope")):
        with pytest.raises(NotFound) as refusal:
            redemptions.get(FakeUnitOfWork(books), caller, hold_id)
        assert refusal.value.reason == "HOLD_NOT_FOUND"


# --- capture --------------------------------------------------------------------------------------------------


def test_the_target_captures_part_of_a_hold_and_it_is_posted_and_settled_like_a_conversion(books: FakeBooks) -> None:
    hold = _authorize(books)
    captured = _capture(books, hold.hold_id, 401, reference=" till-7 ")
    assert books.holds[hold.hold_id] == captured
    assert (captured.state, captured.captured_points, captured.remaining) == (HoldState.OPEN, 401, 599)
    (taken,) = captured.captures
    # 401 stride points are worth 601.5 volt points (601) and 300.5 pennies (300), rounded down
    assert (taken.source_points, taken.target_points_value, taken.settlement_amount_minor) == (401, 601, 300)
    assert (taken.target_reference, taken.at_ms) == ("till-7", SOON)
    assert books.movements == [
        ("per-1", Movement(taken.capture_id, MovementKind.CAPTURE, "stride", "volt", 401, 0, "GBP", 300, SOON))
    ]
    (posted,) = books.ledger
    assert (posted.kind, posted.reference) == ("CAPTURE", taken.capture_id)
    assert money_positions(books.postings()) == {("volt", "GBP"): 300, ("stride", "GBP"): -300}
    assert books.instructions == {}
    assert_consistent(books)


def test_captures_that_take_everything_left_capture_the_hold(books: FakeBooks) -> None:
    hold = _authorize(books)
    _capture(books, hold.hold_id, 400)
    done = _capture(books, hold.hold_id, 600, reference="till-2")
    assert (done.state, done.captured_points, done.remaining, len(done.captures)) == (HoldState.CAPTURED, 1_000, 0, 2)
    assert money_positions(books.postings())[("volt", "GBP")] == 300 + 450
    assert books.instructions == {}  # nothing left to release
    for command in (lambda: _capture(books, hold.hold_id, 1), lambda: _void(books, hold.hold_id)):
        refusal = _refused(books, command)
        assert isinstance(refusal, FailedPrecondition) and refusal.reason == "HOLD_CAPTURED"
    assert_consistent(books)


def test_a_capture_of_more_than_is_left_is_refused(books: FakeBooks) -> None:
    hold = _authorize(books)
    _capture(books, hold.hold_id, 400)
    refusal = _refused(books, lambda: _capture(books, hold.hold_id, 601))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == "CAPTURE_EXCEEDS_HOLD"


def test_only_the_target_captures(books: FakeBooks) -> None:
    hold = _authorize(books)
    refusal = _refused(books, lambda: _capture(books, hold.hold_id, 100, caller=STRIDE))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_TARGET_PARTNER"


@pytest.mark.parametrize("command", ["capture", "void"])
def test_a_brand_not_party_to_the_hold_is_told_it_does_not_exist(books: FakeBooks, command: str) -> None:
    hold = _authorize(books)
    run = {
        "capture": lambda: _capture(books, hold.hold_id, 100, caller=ACME),
        "void": lambda: _void(books, hold.hold_id, caller=ACME),
    }[command]
    refusal = _refused(books, run)
    assert isinstance(refusal, NotFound) and refusal.reason == "HOLD_NOT_FOUND"


@pytest.mark.parametrize(("points", "code"), [(0, "NON_POSITIVE_AMOUNT"), (2, "AMOUNT_TOO_SMALL")])
def test_a_capture_worth_nothing_at_the_target_is_refused(books: FakeBooks, points: int, code: str) -> None:
    terms = replace(books.agreements[0].terms, rate=Ratio(1, 3))  # 2 stride points are worth 0.67 volt points
    books.agreements[0] = replace(books.agreements[0], terms=terms)
    hold = _authorize(books)
    refusal = _refused(books, lambda: _capture(books, hold.hold_id, points))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == code


def test_a_capture_needs_the_targets_reference(books: FakeBooks) -> None:
    hold = _authorize(books)
    refusal = _refused(books, lambda: _capture(books, hold.hold_id, 100, reference=""))
    assert isinstance(refusal, InvalidArgument) and refusal.field == "target_reference"


def test_a_capture_at_the_holds_expiry_expires_it_releases_what_is_left_and_is_refused_for_good(
    books: FakeBooks,
) -> None:
    hold = _authorize(books)
    _capture(books, hold.hold_id, 400)
    ledger, movements = list(books.ledger), list(books.movements)
    with pytest.raises(FailedPrecondition) as refusal:
        _capture(books, hold.hold_id, 100, at_ms=EXPIRY)
    assert refusal.value.reason == "HOLD_EXPIRED" and refusal.value.final
    expired = books.holds[hold.hold_id]
    assert (expired.state, expired.captured_points, expired.released_points) == (HoldState.EXPIRED, 400, 600)
    release = _release_of(books, hold.hold_id)
    assert (release.partner_id, release.kind, release.state) == (
        "stride",
        InstructionKind.RELEASE,
        InstructionState.PENDING,
    )
    assert (release.member_ref, release.points, release.point_currency) == ("m-1", 600, "STRI")
    assert [(e.actor, e.action, e.subject, e.at_ms) for e in books.audit] == [
        (HUB_ACTOR, "hub/ExpireHold", hold.hold_id, EXPIRY)
    ]
    assert (books.ledger, books.movements) == (ledger, movements)  # the late capture took nothing
    assert_consistent(books)


# --- void -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [STRIDE, VOLT])
def test_either_brand_voids_a_hold_and_what_is_left_goes_back_to_the_source(books: FakeBooks, caller: Caller) -> None:
    hold = _authorize(books)
    _capture(books, hold.hold_id, 400)
    ledger = list(books.ledger)
    voided = _void(books, hold.hold_id, caller=caller)
    assert books.holds[hold.hold_id] == voided
    assert (voided.state, voided.captured_points, voided.released_points, voided.remaining) == (
        HoldState.VOIDED,
        400,
        600,
        0,
    )
    release = _release_of(books, hold.hold_id)
    assert (release.partner_id, release.kind, release.points, release.member_ref) == (
        "stride",
        InstructionKind.RELEASE,
        600,
        "m-1",
    )
    assert books.ledger == ledger and books.audit == []
    assert_consistent(books)


def test_a_hold_is_voided_once(books: FakeBooks) -> None:
    hold = _authorize(books)
    _void(books, hold.hold_id)
    for command in (lambda: _void(books, hold.hold_id, caller=VOLT), lambda: _capture(books, hold.hold_id, 10)):
        refusal = _refused(books, command)
        assert isinstance(refusal, FailedPrecondition) and refusal.reason == "HOLD_VOIDED"


@pytest.mark.parametrize(("reason", "code"), [("", "EMPTY_FIELD"), ("v" * 501, "FIELD_TOO_LONG")])
def test_a_void_needs_a_reason(books: FakeBooks, reason: str, code: str) -> None:
    hold = _authorize(books)
    refusal = _refused(books, lambda: _void(books, hold.hold_id, reason=reason))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == code


def test_a_void_past_the_holds_expiry_expires_it_and_is_refused_for_good(books: FakeBooks) -> None:
    hold = _authorize(books)
    with pytest.raises(FailedPrecondition) as refusal:
        _void(books, hold.hold_id, at_ms=EXPIRY + 1)
    assert refusal.value.reason == "HOLD_EXPIRED" and refusal.value.final
    assert books.holds[hold.hold_id].state is HoldState.EXPIRED
    assert _release_of(books, hold.hold_id).points == 1_000
    assert [e.action for e in books.audit] == ["hub/ExpireHold"]
    assert_consistent(books)


# --- expire_overdue -------------------------------------------------------------------------------------------


def test_an_open_hold_expires_at_its_expiry_and_releases_everything_left(books: FakeBooks) -> None:
    hold = _authorize(books)
    before = copy.deepcopy(books)
    assert not redemptions.expire_overdue(FakeUnitOfWork(books), hold.hold_id, EXPIRY - 1)
    assert books == before
    assert redemptions.expire_overdue(FakeUnitOfWork(books), hold.hold_id, EXPIRY)
    expired = books.holds[hold.hold_id]
    assert (expired.state, expired.released_points, expired.remaining) == (HoldState.EXPIRED, 1_000, 0)
    assert _release_of(books, hold.hold_id).points == 1_000
    assert [(e.action, e.subject) for e in books.audit] == [("hub/ExpireHold", hold.hold_id)]
    assert_consistent(books)


def test_a_hold_expires_once_and_a_closed_or_unknown_hold_never(books: FakeBooks) -> None:
    expired, captured, voided = _authorize(books), _authorize(books), _authorize(books)
    assert redemptions.expire_overdue(FakeUnitOfWork(books), expired.hold_id, EXPIRY)
    _capture(books, captured.hold_id, 1_000)
    _void(books, voided.hold_id)
    before = copy.deepcopy(books)
    for hold_id in (expired.hold_id, captured.hold_id, voided.hold_id, "hold-nope"):
        assert not redemptions.expire_overdue(FakeUnitOfWork(books), hold_id, EXPIRY + BOOKS_DAY_MS)
    assert books == before


def test_a_release_acknowledged_changes_nothing_else_and_cannot_be_rejected(books: FakeBooks) -> None:
    hold = _authorize(books)
    _void(books, hold.hold_id)
    release = _release_of(books, hold.hold_id)
    refusal = _refused(
        books, lambda: outcomes.reject(FakeUnitOfWork(books), STRIDE, release.instruction_id, "no", SOON)
    )
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "ONLY_CREDITS_REJECTABLE"
    before = copy.deepcopy(books)
    answered = outcomes.acknowledge(FakeUnitOfWork(books), STRIDE, release.instruction_id, "rel-1", SOON + 1)
    assert (answered.state, answered.partner_reference) == (InstructionState.ACKNOWLEDGED, "rel-1")
    before.instructions[release.instruction_id] = answered
    assert books == before
