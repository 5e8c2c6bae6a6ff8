"""Conversions through a real server and the SDK: the push flow, refunds, expiry, reversals, exactly once."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import pytest

from exchange.store.ledger_repo import LedgerRepository
from partner_sdk import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
)
from tests.conftest import RunningHub
from tests.e2e.money import Pair, accepted_pair


def positions(hub: RunningHub) -> dict[tuple[str, str], int]:
    with hub.database.engine.connect() as connection:
        return {k: v for k, v in LedgerRepository(connection).money_positions().items() if v}


@pytest.fixture
def pair(hub: RunningHub) -> Pair:
    return accepted_pair(hub)


def test_a_quote_shows_the_fee_the_rounding_and_the_money(pair: Pair) -> None:
    quote = pair.source.quote_conversion("voltline", 1001)
    amounts = quote.amounts
    assert (amounts.fee_points, amounts.target_points) == (10, 1486)  # 1% fee rounded down; 991 * 3/2 rounded down
    assert amounts.source_points_converted == 991
    assert (amounts.source_points_debited, amounts.source_points_not_taken) == (1001, 0)
    assert (amounts.settlement_amount_minor, amounts.settlement_currency) == (743, "GBP")
    assert amounts.rate == Fraction(3, 2)
    assert quote.agreement_id == pair.agreement.agreement_id
    assert (quote.expires_at - quote.created_at).total_seconds() == 60


def test_what_could_not_be_converted_is_not_taken_from_the_member(hub: RunningHub) -> None:
    pair = accepted_pair(hub, rate=Fraction(2, 3), fee_basis_points=None)
    amounts = pair.source.quote_conversion("voltline", 100).amounts
    assert amounts.target_points == 66  # 100 * 2/3 = 66.67, rounded down
    assert amounts.source_points_converted == 99  # 99 * 2/3 = 66 exactly
    assert (amounts.source_points_debited, amounts.source_points_not_taken) == (99, 1)


def test_a_conversion_completes_when_the_target_acknowledges_the_credit(pair: Pair) -> None:
    conversion = pair.convert(1001, member="m-42", target_member="v-42")
    assert conversion.state == "PENDING_CREDIT"
    credit = pair.only_instruction(pair.target)
    assert (credit.kind, credit.member_ref, credit.points, credit.point_currency) == ("CREDIT", "v-42", 1486, "VOLT")
    assert credit.conversion_id == conversion.conversion_id
    pair.target.acknowledge_instruction(credit.instruction_id, partner_reference="volt-ledger-9")
    done = pair.source.get_conversion(conversion.conversion_id)
    assert done.state == "COMPLETED"
    assert [(e.actor, e.from_state, e.to_state, e.note) for e in done.history] == [
        ("stride", None, "PENDING_CREDIT", ""),
        ("voltline", "PENDING_CREDIT", "COMPLETED", "volt-ledger-9"),
    ]
    assert positions(pair.hub) == {("stride", "GBP"): -743, ("voltline", "GBP"): 743}


def test_each_side_sees_only_its_own_member_reference(pair: Pair) -> None:
    conversion = pair.convert(100, member="m-secret", target_member="v-secret")
    assert (conversion.source_member_ref, conversion.target_member_ref) == ("m-secret", "")
    seen_by_target = pair.target.get_conversion(conversion.conversion_id)
    assert (seen_by_target.source_member_ref, seen_by_target.target_member_ref) == ("", "v-secret")


def test_a_rejected_credit_is_refunded_to_the_source_and_unwinds_the_ledger(pair: Pair) -> None:
    conversion = pair.convert(1001)
    credit = pair.only_instruction(pair.target)
    pair.target.reject_instruction(credit.instruction_id, reason="member unknown")
    assert pair.source.get_conversion(conversion.conversion_id).state == "REJECTED"
    refund = pair.only_instruction(pair.source)
    assert (refund.kind, refund.member_ref, refund.points) == ("REFUND", "m-1", 1001)  # the fee too
    pair.source.acknowledge_instruction(refund.instruction_id, partner_reference="refund-1")
    refunded = pair.source.get_conversion(conversion.conversion_id)
    assert [e.to_state for e in refunded.history] == ["PENDING_CREDIT", "REJECTED", "REFUNDED"]
    assert refunded.history[1].note == "member unknown"
    assert positions(pair.hub) == {}


def test_an_unanswered_credit_expires_and_a_late_acknowledgement_is_refused(pair: Pair) -> None:
    conversion = pair.convert(500)
    credit = pair.only_instruction(pair.target)
    pair.hub.clock.advance(15 * 60 * 1000 + 1)
    assert pair.hub.server.expire_overdue_once() == 1
    assert pair.hub.server.expire_overdue_once() == 0
    assert pair.source.get_conversion(conversion.conversion_id).state == "EXPIRED"
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.acknowledge_instruction(credit.instruction_id, partner_reference="too-late")
    assert refused.value.reason == "INSTRUCTION_CANCELLED"
    refund = pair.only_instruction(pair.source)
    assert (refund.kind, refund.points) == ("REFUND", 500)
    assert positions(pair.hub) == {}


def test_reversals_refund_proportionally_and_never_exceed_the_conversion(pair: Pair) -> None:
    conversion = pair.convert(1001)
    pair.target.acknowledge_instruction(pair.only_instruction(pair.target).instruction_id, partner_reference="r")
    first = pair.target.reverse_conversion(conversion.conversion_id, 100, reason="returned goods")
    assert [(r.target_points, r.source_points, r.settlement_amount_minor) for r in first.reversals] == [(100, 66, 50)]
    refund = pair.only_instruction(pair.source)
    assert (refund.kind, refund.points) == ("REFUND", 66)
    pair.source.acknowledge_instruction(refund.instruction_id, partner_reference="rf")
    assert pair.source.get_conversion(conversion.conversion_id).state == "COMPLETED"
    with pytest.raises(InvalidArgumentError) as refused:
        pair.target.reverse_conversion(conversion.conversion_id, 1387, reason="too much")
    assert refused.value.reason == "REVERSAL_EXCEEDS_CONVERSION"
    last = pair.target.reverse_conversion(conversion.conversion_id, 1386, reason="everything else")
    assert sum(r.source_points for r in last.reversals) == 991
    assert sum(r.settlement_amount_minor for r in last.reversals) == 743
    assert positions(pair.hub) == {}


def test_only_the_target_reverses_and_only_a_completed_conversion(pair: Pair) -> None:
    conversion = pair.convert(100)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.reverse_conversion(conversion.conversion_id, 10, reason="x")
    assert refused.value.reason == "CONVERSION_NOT_COMPLETED"
    pair.target.acknowledge_instruction(pair.only_instruction(pair.target).instruction_id, partner_reference="r")
    with pytest.raises(PermissionDeniedError) as refused:
        pair.source.reverse_conversion(conversion.conversion_id, 10, reason="x")
    assert refused.value.reason == "NOT_TARGET_PARTNER"


def test_the_same_idempotency_key_returns_the_first_answer_and_converts_once(pair: Pair) -> None:
    quote = pair.source.quote_conversion("voltline", 100)
    first = pair.source.convert(
        quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="order-0001"
    )
    again = pair.source.convert(
        quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="order-0001"
    )
    assert again == first
    assert len(pair.source.list_conversions().items) == 1
    other = pair.source.quote_conversion("voltline", 100)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.convert(other.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="order-0001")
    assert refused.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert len(pair.source.list_conversions().items) == 1


def test_a_quote_is_single_use_expires_and_belongs_to_its_partner(pair: Pair) -> None:
    quote = pair.source.quote_conversion("voltline", 100)
    pair.source.convert(quote.quote_id, source_member_ref="m", target_member_ref="v")
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.convert(quote.quote_id, source_member_ref="m", target_member_ref="v")
    assert refused.value.reason == "QUOTE_ALREADY_USED"
    stale = pair.source.quote_conversion("voltline", 100)
    pair.hub.clock.advance(60_000)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.convert(stale.quote_id, source_member_ref="m", target_member_ref="v")
    assert refused.value.reason == "QUOTE_EXPIRED"
    fresh = pair.source.quote_conversion("voltline", 100)
    with pytest.raises(NotFoundError) as refused:
        pair.target.convert(fresh.quote_id, source_member_ref="m", target_member_ref="v")
    assert refused.value.reason == "QUOTE_NOT_FOUND"
    with pytest.raises(NotFoundError):
        pair.source.convert("quo-unknown", source_member_ref="m", target_member_ref="v")


def test_the_member_daily_cap_counts_standing_conversions_only(hub: RunningHub) -> None:
    pair = accepted_pair(hub, member_daily_cap_source_points=1000, fee_basis_points=None)
    pair.convert(600)
    with pytest.raises(ResourceExhaustedError) as refused:
        pair.convert(500)
    assert refused.value.reason == "MEMBER_DAILY_CAP"
    assert "1000" in refused.value.message
    pair.convert(400, member="m-2")  # another member has a cap of their own
    pair.target.reject_instruction(pair.target.pull_instructions(wait_s=0)[0].instruction_id, reason="no")
    pair.convert(500)  # the rejected 600 no longer counts


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        (0, "NON_POSITIVE_AMOUNT"),
        (-5, "NON_POSITIVE_AMOUNT"),
        (10**13, "AMOUNT_TOO_LARGE"),
        (9, "BELOW_MINIMUM"),
        (100_001, "ABOVE_MAXIMUM"),
    ],
)
def test_bad_amounts_are_invalid_argument_and_nothing_is_quoted(pair: Pair, points: int, reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        pair.source.quote_conversion("voltline", points)
    assert (refused.value.reason, refused.value.field) == (reason, "source_points")


@pytest.mark.parametrize(
    ("member", "target_member", "key", "field"),
    [
        ("", "v", "key-00000001", "source_member_ref"),
        ("m", "v" * 129, "key-00000001", "target_member_ref"),
        ("m", "v", "short", "idempotency_key"),
        ("m", "v", "has spaces in it", "idempotency_key"),
    ],
)
def test_bad_convert_fields_are_invalid_argument_and_nothing_is_converted(
    pair: Pair, member: str, target_member: str, key: str, field: str
) -> None:
    quote = pair.source.quote_conversion("voltline", 100)
    with pytest.raises(InvalidArgumentError) as refused:
        pair.source.convert(
            quote.quote_id, source_member_ref=member, target_member_ref=target_member, idempotency_key=key
        )
    assert refused.value.field == field
    assert pair.source.list_conversions().items == ()
    assert pair.target.pull_instructions(wait_s=0) == ()


def test_list_conversions_filters_and_pages(pair: Pair) -> None:
    made = [pair.convert(100 + i, member=f"m-{i % 2}") for i in range(5)]
    pair.target.acknowledge_instruction(
        next(
            i for i in pair.target.pull_instructions(wait_s=0) if i.conversion_id == made[0].conversion_id
        ).instruction_id,
        partner_reference="r",
    )
    newest_first = [c.conversion_id for c in reversed(made)]
    assert [c.conversion_id for c in pair.source.iter_conversions(page_size=2)] == newest_first
    assert [c.conversion_id for c in pair.target.iter_conversions(page_size=2)] == newest_first
    assert [c.conversion_id for c in pair.source.list_conversions(state="COMPLETED").items] == [made[0].conversion_id]
    assert {c.conversion_id for c in pair.source.list_conversions(member_ref="m-1").items} == {
        made[1].conversion_id,
        made[3].conversion_id,
    }
    assert pair.source.list_conversions(created_before=made[0].created_at).items == ()
    assert len(pair.source.list_conversions(created_from=made[2].created_at).items) >= 3


def test_an_unacknowledged_instruction_is_redelivered_after_its_lease(pair: Pair) -> None:
    pair.convert(100)
    first = pair.target.pull_instructions(wait_s=0, lease_s=5)
    assert pair.target.pull_instructions(wait_s=0) == ()  # leased
    pair.hub.clock.advance(5_000)
    again = pair.target.pull_instructions(wait_s=0)
    assert [i.instruction_id for i in again] == [first[0].instruction_id]
    assert again[0].delivery_count == 2
    pair.target.acknowledge_instruction(again[0].instruction_id, partner_reference="once")
    pair.target.acknowledge_instruction(again[0].instruction_id, partner_reference="once")  # a repeat is harmless
    with pytest.raises(FailedPreconditionError):
        pair.target.acknowledge_instruction(again[0].instruction_id, partner_reference="another")


def test_a_partner_cannot_touch_another_partners_instruction(pair: Pair) -> None:
    pair.convert(100)
    credit = pair.only_instruction(pair.target)
    with pytest.raises(NotFoundError):
        pair.source.acknowledge_instruction(credit.instruction_id, partner_reference="mine?")


def test_a_long_poll_returns_as_soon_as_an_instruction_arrives(pair: Pair) -> None:
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(pair.target.pull_instructions(wait_s=10)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.5)
    pair.convert(100)
    waiter.join(timeout=15)
    assert len(got) == 1 and len(got[0]) == 1  # type: ignore[arg-type]
    assert time.monotonic() - started < 5


def test_a_member_past_the_velocity_limit_is_refused_until_the_hour_passes(hub: RunningHub) -> None:
    from dataclasses import replace

    hub.server.context.__dict__["policy"] = replace(hub.server.context.policy, member_conversions_per_hour=3)
    pair = accepted_pair(hub)
    for _ in range(3):
        pair.convert(10)
    with pytest.raises(ResourceExhaustedError) as refused:
        pair.convert(10)
    assert refused.value.reason == "MEMBER_VELOCITY"
    assert "3 times an hour" in refused.value.message
    pair.convert(10, member="someone-else")
    hub.clock.advance(3_600_001)
    pair.convert(10)


def test_a_partner_past_its_exposure_limit_is_refused_until_it_owes_less(hub: RunningHub) -> None:
    from dataclasses import replace

    hub.server.context.__dict__["policy"] = replace(hub.server.context.policy, exposure_limit_minor=1000)
    pair = accepted_pair(hub, fee_basis_points=None)
    pair.convert(1200)  # owes 900 minor units
    with pytest.raises(ResourceExhaustedError) as refused:
        pair.convert(200, member="m-2")  # +150 would pass 1000
    assert refused.value.reason == "EXPOSURE_LIMIT"
    assert "1000" in refused.value.message
    pair.target.reject_instruction(pair.only_instruction(pair.target).instruction_id, reason="member unknown")
    pair.convert(200, member="m-2")  # the refund brought the exposure back down


def test_an_answer_after_the_credit_deadline_expires_the_credit_there_and_then(pair: Pair) -> None:
    """The refusal commits the expiry the sweep would make, so it conflicts with an in-time answer still running."""
    conversion = pair.convert(100)
    credit = pair.only_instruction(pair.target)
    pair.hub.clock.advance(15 * 60 * 1000)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.acknowledge_instruction(credit.instruction_id, partner_reference="late")
    assert refused.value.reason == "CREDIT_DEADLINE_PASSED"
    assert pair.source.get_conversion(conversion.conversion_id).state == "EXPIRED"
    refund = pair.only_instruction(pair.source)
    assert (refund.kind, refund.points) == ("REFUND", 100)
    assert pair.hub.server.expire_overdue_once() == 0
    with pytest.raises(FailedPreconditionError) as again:
        pair.target.reject_instruction(credit.instruction_id, reason="late too")
    assert again.value.reason == "INSTRUCTION_CANCELLED"
    assert positions(pair.hub) == {}


def test_a_refusal_for_an_expired_quote_stays_the_answer_to_its_idempotency_key(pair: Pair) -> None:
    """A deadline refusal is final: the key keeps it, so an earlier attempt still running can't succeed later."""
    quote = pair.source.quote_conversion("voltline", 100)
    pair.hub.clock.advance(60_000)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.convert(quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="order-0042")
    assert refused.value.reason == "QUOTE_EXPIRED"
    pair.hub.clock.advance(-60_000)  # an attempt that arrived in time, decided only now, gets the same answer
    with pytest.raises(FailedPreconditionError) as remembered:
        pair.source.convert(quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="order-0042")
    assert remembered.value.reason == "QUOTE_EXPIRED"
    assert pair.source.list_conversions().items == ()
    done = pair.source.convert(
        quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="order-0043"
    )
    assert done.state == "PENDING_CREDIT"


def test_a_limit_refusal_is_not_kept_so_the_same_key_succeeds_once_the_cause_is_gone(hub: RunningHub) -> None:
    pair = accepted_pair(hub, member_daily_cap_source_points=100)
    pair.convert(100, member="m-9")
    quote = pair.source.quote_conversion("voltline", 50)

    def convert() -> str:
        return pair.source.convert(
            quote.quote_id, source_member_ref="m-9", target_member_ref="v", idempotency_key="order-0077"
        ).state

    with pytest.raises(ResourceExhaustedError) as refused:
        convert()
    assert refused.value.reason == "MEMBER_DAILY_CAP"
    pair.target.reject_instruction(pair.only_instruction(pair.target).instruction_id, reason="unknown member")
    assert convert() == "PENDING_CREDIT"  # the cap counts standing conversions; the key was free


def test_a_refund_after_a_reversal_names_the_reversal(pair: Pair) -> None:
    conversion = pair.convert(1001)
    pair.target.acknowledge_instruction(pair.only_instruction(pair.target).instruction_id, partner_reference="r")
    reversed_ = pair.target.reverse_conversion(conversion.conversion_id, 10, reason="r")
    refund = pair.only_instruction(pair.source)
    assert refund.reversal_id == reversed_.reversals[0].reversal_id


def test_a_limit_refusal_names_the_limit_in_its_details(hub: RunningHub) -> None:
    pair = accepted_pair(hub, member_daily_cap_source_points=100, fee_basis_points=None)
    with pytest.raises(ResourceExhaustedError) as refused:
        pair.convert(101)
    assert refused.value.limit is not None
    assert "at most 100 points a day" in refused.value.limit


def test_a_delivered_credit_cancelled_at_its_deadline_is_taken_back_through_the_stream(pair: Pair) -> None:
    conversion = pair.convert(500)
    credit = pair.only_instruction(pair.target)  # delivered: the target may have applied it
    pair.hub.clock.advance(15 * 60 * 1000 + 1)
    assert pair.hub.server.expire_overdue_once() == 1
    take_back = pair.only_instruction(pair.target)
    assert (take_back.kind, take_back.cancels_instruction_id, take_back.member_ref, take_back.points) == (
        "CREDIT_CANCELLED",
        credit.instruction_id,
        "v-1",
        credit.points,
    )
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.reject_instruction(take_back.instruction_id, reason="no")
    assert refused.value.reason == "ONLY_CREDITS_REJECTABLE"
    done = pair.target.acknowledge_instruction(take_back.instruction_id, partner_reference="reversed-1")
    assert done.state == "ACKNOWLEDGED"
    with pytest.raises(FailedPreconditionError) as late:  # the late acknowledgement keeps its final refusal
        pair.target.acknowledge_instruction(credit.instruction_id, partner_reference="too-late")
    assert late.value.reason == "INSTRUCTION_CANCELLED"
    refund = pair.only_instruction(pair.source)
    pair.source.acknowledge_instruction(refund.instruction_id, partner_reference="refund-1")
    assert pair.source.get_conversion(conversion.conversion_id).state == "REFUNDED"
    assert positions(pair.hub) == {}


def test_a_credit_never_delivered_is_cancelled_without_a_take_back(pair: Pair) -> None:
    pair.convert(500)
    pair.hub.clock.advance(15 * 60 * 1000 + 1)
    assert pair.hub.server.expire_overdue_once() == 1
    assert pair.target.pull_instructions(wait_s=0) == ()
