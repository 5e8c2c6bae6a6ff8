"""Spending one partner's points at another: holds, partial captures, voids, expiry and releases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from partner_sdk import (
    ExchangeError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.conftest import RunningHub
from tests.e2e.money import Pair, accepted_pair
from tests.e2e.test_conversions import positions


@pytest.fixture
def pair(hub: RunningHub) -> Pair:
    return accepted_pair(hub)


def test_partial_captures_settle_and_the_rest_is_released_on_void(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 1000, source_member_ref="m-7")
    assert (hold.state, hold.remaining_points, hold.source_member_ref) == ("OPEN", 1000, "m-7")
    seen_by_target = pair.target.get_hold(hold.hold_id)
    assert seen_by_target.source_member_ref == ""  # the member reference stays with the source
    first = pair.target.capture_hold(hold.hold_id, 300, target_reference="order-1")
    assert [(c.source_points, c.target_points_value, c.settlement_amount_minor) for c in first.captures] == [
        (300, 450, 225)  # 300 * 3/2 = 450 points of value; 450 * 1/2 = 225 minor units
    ]
    pair.target.capture_hold(hold.hold_id, 201, target_reference="order-2")
    voided = pair.target.void_hold(hold.hold_id, reason="checkout finished")
    assert (voided.state, voided.captured_points, voided.released_points) == ("VOIDED", 501, 499)
    release = pair.only_instruction(pair.source)
    assert (release.kind, release.points, release.member_ref, release.hold_id) == ("RELEASE", 499, "m-7", hold.hold_id)
    pair.source.acknowledge_instruction(release.instruction_id, partner_reference="unreserved")
    assert positions(pair.hub) == {("stride", "GBP"): -(225 + 150), ("voltline", "GBP"): 225 + 150}


def test_a_fully_captured_hold_is_closed_and_releases_nothing(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 100, source_member_ref="m")
    done = pair.target.capture_hold(hold.hold_id, 100, target_reference="o")
    assert done.state == "CAPTURED"
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.capture_hold(hold.hold_id, 1, target_reference="o2")
    assert refused.value.reason == "HOLD_CAPTURED"
    assert pair.source.pull_instructions(wait_s=0) == ()


def test_an_expired_hold_releases_what_is_left(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 500, source_member_ref="m", expires_in_s=60)
    pair.target.capture_hold(hold.hold_id, 100, target_reference="o")
    pair.hub.clock.advance(60_000)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.capture_hold(hold.hold_id, 100, target_reference="late")
    assert refused.value.reason == "HOLD_EXPIRED"
    assert pair.hub.server.expire_overdue_once() == 0  # the late capture expired it there and then
    expired = pair.source.get_hold(hold.hold_id)
    assert (expired.state, expired.released_points) == ("EXPIRED", 400)
    release = pair.only_instruction(pair.source)
    assert (release.kind, release.points) == ("RELEASE", 400)


def test_a_capture_beyond_the_hold_is_refused_and_changes_nothing(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 100, source_member_ref="m")
    with pytest.raises(InvalidArgumentError) as refused:
        pair.target.capture_hold(hold.hold_id, 101, target_reference="o")
    assert (refused.value.reason, refused.value.field) == ("CAPTURE_EXCEEDS_HOLD", "source_points")
    assert pair.target.get_hold(hold.hold_id).captured_points == 0
    assert positions(pair.hub) == {}


def test_only_the_target_captures_and_a_stranger_sees_no_hold(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 100, source_member_ref="m")
    with pytest.raises(PermissionDeniedError) as refused:
        pair.source.capture_hold(hold.hold_id, 10, target_reference="o")
    assert refused.value.reason == "NOT_TARGET_PARTNER"
    stranger, _ = pair.hub.active_partner("brewhaus", currency="USD")
    with pytest.raises(NotFoundError):
        stranger.capture_hold(hold.hold_id, 10, target_reference="o")
    with pytest.raises(NotFoundError):
        stranger.get_hold(hold.hold_id)


def test_a_capture_retried_with_its_key_is_captured_once(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 100, source_member_ref="m")
    first = pair.target.capture_hold(hold.hold_id, 40, target_reference="o", idempotency_key="capture-0001")
    again = pair.target.capture_hold(hold.hold_id, 40, target_reference="o", idempotency_key="capture-0001")
    assert again == first
    assert pair.target.get_hold(hold.hold_id).captured_points == 40


def test_concurrent_captures_never_exceed_the_hold(pair: Pair) -> None:
    hold = pair.source.authorize_hold("voltline", 100, source_member_ref="m")

    def capture(i: int) -> str:
        try:
            pair.target.capture_hold(hold.hold_id, 30, target_reference=f"o-{i}")
        except ExchangeError as error:
            return error.reason
        return "OK"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(capture, range(8)))
    assert outcomes.count("OK") == 3
    assert pair.target.get_hold(hold.hold_id).captured_points == 90


@pytest.mark.parametrize(
    ("points", "expires_in_s", "reason"),
    [
        (0, 0, "NON_POSITIVE_AMOUNT"),
        (100_001, 0, "ABOVE_MAXIMUM"),
        (100, 59, "INVALID_HOLD_LIFETIME"),
        (100, 7 * 86_400 + 1, "INVALID_HOLD_LIFETIME"),
    ],
)
def test_bad_holds_are_invalid_argument(pair: Pair, points: int, expires_in_s: int, reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        pair.source.authorize_hold("voltline", points, source_member_ref="m", expires_in_s=expires_in_s)
    assert refused.value.reason == reason


def test_a_hold_needs_an_active_agreement(pair: Pair) -> None:
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.authorize_hold("stride", 100, source_member_ref="m")  # no agreement voltline -> stride
    assert refused.value.reason == "NO_ACTIVE_AGREEMENT"
