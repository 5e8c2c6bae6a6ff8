"""Multilateral netting: few payments, every position settled, the same answer for the same input."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.domain.errors import InvalidArgument, InvariantViolation
from exchange.domain.netting import EXACT_LIMIT, Payment, check_settles, settle


@st.composite
def net_positions(draw: st.DrawFn, max_partners: int = 10) -> dict[str, int]:
    """Positions summing to zero; small amounts make zero-sum subgroups (the hard case) common."""
    n = draw(st.integers(0, max_partners))
    magnitude = draw(st.sampled_from([3, 10**12]))
    amounts = draw(st.lists(st.integers(-magnitude, magnitude), min_size=max(n - 1, 0), max_size=max(n - 1, 0)))
    if n:
        amounts.append(-sum(amounts))
    partners = draw(st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=n, max_size=n, unique=True))
    return dict(zip(partners, amounts, strict=True))


def _set_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _set_partitions(rest):
        for i in range(len(partition)):
            yield [*partition[:i], [first, *partition[i]], *partition[i + 1 :]]
        yield [[first], *partition]


def _brute_force_minimum(positions: dict[str, int]) -> int:
    amounts = [amount for amount in positions.values() if amount != 0]
    most_groups = max(
        len(partition) for partition in _set_partitions(amounts) if all(sum(block) == 0 for block in partition)
    )
    return len(amounts) - most_groups


def _random_positions(n: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    amounts = [rng.randint(-(10**12), 10**12) for _ in range(n - 1)]
    return {f"partner-{i:02d}": amount for i, amount in enumerate([*amounts, -sum(amounts)])}


# Examples


def test_two_parties_settle_with_one_payment() -> None:
    assert settle({"a": 500, "b": -500}) == [Payment("b", "a", 500)]


def test_a_chain_collapses_to_one_payment() -> None:
    # a owes b 100, b owes c 100: b nets to zero, a pays c directly.
    assert settle({"a": -100, "b": 0, "c": 100}) == [Payment("a", "c", 100)]


def test_two_independent_pairs_take_two_payments_not_three() -> None:
    payments = settle({"a": 7, "b": -7, "c": 5, "d": -5})
    assert payments == [Payment("b", "a", 7), Payment("d", "c", 5)]


def test_zero_sum_subgroups_are_found_where_greedy_over_everyone_would_need_more() -> None:
    # Greedy over all five needs four payments (e pays a 3, b pays c 2, then e and b both pay d).
    payments = settle({"a": 3, "b": -3, "c": 2, "d": 2, "e": -4})
    assert payments == [Payment("b", "a", 3), Payment("e", "c", 2), Payment("e", "d", 2)]


def test_all_zero_positions_need_no_payment() -> None:
    assert settle({"a": 0, "b": 0}) == []
    assert settle({}) == []


def test_positions_that_do_not_net_to_zero_are_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        settle({"a": 100, "b": -99})
    assert refused.value.reason == "POSITIONS_DO_NOT_NET_TO_ZERO"
    assert refused.value.field == "positions"


def test_amounts_beyond_any_machine_word_stay_exact() -> None:
    big = 10**40 + 1
    assert settle({"a": big, "b": -big}) == [Payment("b", "a", big)]


def test_a_payment_of_nothing_or_to_oneself_is_a_broken_invariant() -> None:
    with pytest.raises(InvariantViolation):
        Payment("a", "b", 0)
    with pytest.raises(InvariantViolation):
        Payment("a", "a", 1)


def test_check_settles_rejects_payments_that_leave_a_balance() -> None:
    positions = {"a": 10, "b": -10}
    assert check_settles(positions, [Payment("b", "a", 10)])
    assert not check_settles(positions, [Payment("b", "a", 9)])
    assert not check_settles(positions, [Payment("a", "b", 10)])
    assert not check_settles(positions, [Payment("b", "a", 10), Payment("c", "a", 1)])


# Properties


@given(net_positions())
def test_the_payments_settle_every_position_with_at_most_n_minus_one(positions: dict[str, int]) -> None:
    payments = settle(positions)
    non_zero = sum(1 for amount in positions.values() if amount != 0)
    assert check_settles(positions, payments)
    assert all(payment.amount_minor > 0 and payment.payer != payment.payee for payment in payments)
    assert len(payments) <= max(non_zero - 1, 0)
    assert payments == sorted(payments, key=lambda p: (p.payer, p.payee))


@given(net_positions())
def test_only_debtors_pay_and_only_creditors_are_paid(positions: dict[str, int]) -> None:
    payments = settle(positions)
    assert {p.payer for p in payments} == {partner for partner, amount in positions.items() if amount < 0}
    assert {p.payee for p in payments} == {partner for partner, amount in positions.items() if amount > 0}


@given(net_positions(max_partners=7))
def test_the_number_of_payments_is_the_brute_force_minimum(positions: dict[str, int]) -> None:
    assert len(settle(positions)) == _brute_force_minimum(positions)


@given(st.data())
def test_the_order_of_the_positions_does_not_change_the_payments(data: st.DataObject) -> None:
    positions = data.draw(net_positions())
    shuffled = data.draw(st.permutations(list(positions.items())))
    assert settle(dict(shuffled)) == settle(positions)


# Limits


def test_sixteen_partners_are_settled_exactly_and_quickly() -> None:
    # Five hidden zero-sum groups (3, 3, 3, 3 and 4 partners): greedy over everyone would need 14 payments.
    rng = random.Random(16)
    amounts: list[int] = []
    for size in (3, 3, 3, 3, 4):
        group = [rng.choice((1, -1)) * rng.randint(1, 10**12) for _ in range(size - 1)]
        amounts += [*group, -sum(group)]
    partners = [f"partner-{i:02d}" for i in range(len(amounts))]
    rng.shuffle(partners)
    positions = dict(zip(partners, amounts, strict=True))
    assert len(positions) == EXACT_LIMIT
    assert 0 not in positions.values()

    started = time.perf_counter()
    grouped = settle(positions)
    unstructured = settle(_random_positions(EXACT_LIMIT, seed=1))
    elapsed_s = time.perf_counter() - started

    assert elapsed_s < 2.0
    assert len(grouped) == EXACT_LIMIT - 5
    assert check_settles(positions, grouped)
    assert len(unstructured) == EXACT_LIMIT - 1  # random large amounts: no zero-sum subgroup


def test_forty_partners_fall_back_to_greedy_with_at_most_thirty_nine_payments() -> None:
    positions = _random_positions(40, seed=40)
    started = time.perf_counter()
    payments = settle(positions)
    assert time.perf_counter() - started < 1.0
    assert check_settles(positions, payments)
    assert len(payments) <= 39
