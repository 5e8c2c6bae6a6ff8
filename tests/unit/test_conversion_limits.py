"""A conversion's three limits, as plain rules: each refuses one past it, and allows one at it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.domain.errors import ResourceExhausted
from exchange.domain.limits import ConversionAsk, ConversionLimits, LimitFigures, RunningFigures, check_conversion

LIMITS = ConversionLimits(member_daily_cap_source_points=1_000, member_conversions_per_hour=3, exposure_limit_minor=500)
NOTHING_YET = LimitFigures(converted_today=0, conversions_since=0, money_position=0)


def _ask(debit: int = 100, amount: int = 50) -> ConversionAsk:
    return ConversionAsk(
        "stride", source_points_debited=debit, settlement_amount_minor=amount, settlement_currency="GBP"
    )


def _refusal(figures: LimitFigures, ask: ConversionAsk) -> str | None:
    try:
        check_conversion(figures, LIMITS, ask)
    except ResourceExhausted as refusal:
        return refusal.reason
    return None


def test_a_conversion_that_fills_the_daily_cap_exactly_is_allowed() -> None:
    assert _refusal(LimitFigures(900, 0, 0), _ask(debit=100)) is None


def test_a_conversion_one_point_past_the_daily_cap_is_refused() -> None:
    assert _refusal(LimitFigures(900, 0, 0), _ask(debit=101)) == "MEMBER_DAILY_CAP"


def test_the_daily_cap_counts_the_fee_with_the_points_converted() -> None:
    assert _refusal(NOTHING_YET, _ask(debit=1_001)) == "MEMBER_DAILY_CAP"


def test_the_last_conversion_the_hour_allows_is_allowed_and_the_next_refused() -> None:
    assert _refusal(LimitFigures(0, 2, 0), _ask()) is None
    assert _refusal(LimitFigures(0, 3, 0), _ask()) == "MEMBER_VELOCITY"


def test_a_source_may_owe_up_to_its_exposure_limit_and_no_further() -> None:
    assert _refusal(LimitFigures(0, 0, -450), _ask(amount=50)) is None
    assert _refusal(LimitFigures(0, 0, -450), _ask(amount=51)) == "EXPOSURE_LIMIT"


def test_money_owed_to_the_source_makes_room_under_its_exposure_limit() -> None:
    assert _refusal(LimitFigures(0, 0, 1_000), _ask(amount=1_400)) is None


def test_the_daily_cap_is_checked_before_velocity_and_velocity_before_exposure() -> None:
    everything_past = LimitFigures(converted_today=1_000, conversions_since=3, money_position=-500)
    assert _refusal(everything_past, _ask()) == "MEMBER_DAILY_CAP"
    assert _refusal(LimitFigures(0, 3, -500), _ask()) == "MEMBER_VELOCITY"


def test_a_refusal_says_the_limit_and_what_is_used() -> None:
    with pytest.raises(ResourceExhausted, match=r"at most 1000 points a day .* 950 used today"):
        check_conversion(LimitFigures(950, 0, 0), LIMITS, _ask(debit=100))


@given(
    today=st.integers(0, 2_000),
    since=st.integers(0, 6),
    position=st.integers(-1_000, 1_000),
    debit=st.integers(1, 2_000),
    amount=st.integers(0, 1_000),
)
def test_a_conversion_is_refused_exactly_when_it_passes_a_limit(
    today: int, since: int, position: int, debit: int, amount: int
) -> None:
    past = (
        today + debit > LIMITS.member_daily_cap_source_points
        or since >= LIMITS.member_conversions_per_hour
        or -position + amount > LIMITS.exposure_limit_minor
    )
    assert (_refusal(LimitFigures(today, since, position), _ask(debit, amount)) is not None) == past


@given(
    asks=st.lists(
        st.tuples(
            st.sampled_from(["ann", "bob"]),
            st.sampled_from(["voltline", "glowmart"]),
            st.integers(1, 600),
            st.integers(0, 300),
        ),
        max_size=12,
    ),
    owed_before=st.integers(-200, 400),
)
def test_a_batchs_running_figures_decide_each_ask_as_the_conversions_before_it_would(
    asks: list[tuple[str, str, int, int]], owed_before: int
) -> None:
    running = RunningFigures(converted_today={}, conversions_since={}, money_positions={"GBP": -owed_before})
    accepted: list[tuple[str, str, int, int]] = []
    for member, target, debit, amount in asks:
        ask = _ask(debit=debit, amount=amount)
        before = LimitFigures(
            converted_today=sum(d for m, t, d, _ in accepted if (m, t) == (member, target)),
            conversions_since=sum(1 for m, *_ in accepted if m == member),
            money_position=-owed_before - sum(a for *_, a in accepted),
        )
        try:
            running.check_and_count(target, member, LIMITS, ask)
            decided = None
        except ResourceExhausted as refusal:
            decided = refusal.reason
        assert decided == _refusal(before, ask)
        if decided is None:
            accepted.append((member, target, debit, amount))
