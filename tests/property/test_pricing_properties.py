"""Pricing never favours the caller: exact integer amounts, rounded down, reversals bounded by the conversion."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from exchange.domain.agreements import MAX_BASIS_POINTS, AgreementTerms, validate_terms
from exchange.domain.errors import InvalidArgument
from exchange.domain.money import MAX_MINOR_UNITS, MAX_POINTS, MAX_RATIO_TERM, Ratio
from exchange.domain.pricing import ConversionAmounts, ReversalAmounts, price_conversion, price_reversal

NOW = 1_800_000_000_000
DAY_MS = 86_400_000
NOTHING_REVERSED = ReversalAmounts(0, 0, 0)

# Small terms find the rounding edges; the full range finds the large-number ones.
ratio_terms = st.one_of(st.integers(1, 100), st.integers(1, 10_000), st.integers(1, MAX_RATIO_TERM))
ratios = st.tuples(ratio_terms, ratio_terms)


@dataclass(frozen=True)
class Request:
    """Valid terms and a source amount they allow (within [min, max], a multiple of the increment)."""

    terms: AgreementTerms
    source_points: int


def make_terms(**changes: object) -> AgreementTerms:
    fields: dict[str, object] = {
        "source_partner_id": "stride",
        "target_partner_id": "bloom",
        "version": 1,
        "rate": (1, 1),
        "min_source_points": 1,
        "max_source_points": MAX_POINTS,
        "source_increment": 1,
        "member_daily_cap_source_points": MAX_POINTS,
        "fee_basis_points": None,
        "fee_fixed_points": None,
        "valid_from_ms": NOW,
        "valid_until_ms": NOW + 365 * DAY_MS,
        "settlement_price_minor": (1, 2),
        "settlement_currency": "EUR",
    }
    fields.update(changes)
    return validate_terms(**fields)  # type: ignore[arg-type]


@st.composite
def requests(draw: st.DrawFn) -> Request:
    increment = draw(st.one_of(st.just(1), st.integers(1, 1_000)))
    multiples = draw(st.one_of(st.integers(1, 10_000), st.integers(1, MAX_POINTS // increment)))
    source_points = increment * multiples
    minimum = draw(st.one_of(st.just(source_points), st.integers(1, source_points)))
    maximum = draw(st.one_of(st.just(source_points), st.integers(source_points, MAX_POINTS)))
    fee = draw(
        st.one_of(
            st.just({"fee_basis_points": None, "fee_fixed_points": None}),
            st.builds(
                lambda bps: {"fee_basis_points": bps, "fee_fixed_points": None}, st.integers(0, MAX_BASIS_POINTS)
            ),
            st.builds(lambda fixed: {"fee_basis_points": None, "fee_fixed_points": fixed}, st.integers(0, minimum - 1)),
        )
    )
    terms = make_terms(
        rate=draw(ratios),
        min_source_points=minimum,
        max_source_points=maximum,
        source_increment=increment,
        member_daily_cap_source_points=draw(st.integers(1, MAX_POINTS)),
        settlement_price_minor=draw(ratios),
        settlement_currency=draw(st.sampled_from(["EUR", "USD", "JPY", "KWD"])),
        **fee,
    )
    return Request(terms, source_points)


def expected_fee(terms: AgreementTerms, requested: int) -> int:
    if terms.fee_basis_points is not None:
        return requested * terms.fee_basis_points // 10_000
    return terms.fee_fixed_points or 0


def expected_target(terms: AgreementTerms, requested: int) -> int:
    return (requested - expected_fee(terms, requested)) * terms.rate.numerator // terms.rate.denominator


def too_large(terms: AgreementTerms, requested: int) -> bool:
    target = expected_target(terms, requested)
    money = target * terms.settlement_price_minor.numerator // terms.settlement_price_minor.denominator
    return target > MAX_POINTS or money > MAX_MINOR_UNITS


@st.composite
def priced(draw: st.DrawFn) -> ConversionAmounts:
    """Amounts of a conversion that prices (at least one target point, no amount past the largest allowed)."""
    request = draw(
        requests().filter(
            lambda r: expected_target(r.terms, r.source_points) > 0 and not too_large(r.terms, r.source_points)
        )
    )
    return price_conversion(request.terms, request.source_points)


def assert_all_ints(amounts: ConversionAmounts) -> None:
    for value in (
        amounts.source_points_requested,
        amounts.fee_points,
        amounts.source_points_converted,
        amounts.target_points,
        amounts.settlement_amount_minor,
        amounts.source_points_debited,
        amounts.source_points_not_taken,
    ):
        assert type(value) is int, (value, type(value))


# --- price_conversion: the invariants -------------------------------------------------------------------


@given(requests())
def test_a_conversion_either_is_too_small_or_prices_every_amount_exactly_and_rounded_down(request: Request) -> None:
    terms, requested = request.terms, request.source_points
    target = expected_target(terms, requested)
    if target == 0:
        with pytest.raises(InvalidArgument) as refused:
            price_conversion(terms, requested)
        assert refused.value.reason == "AMOUNT_TOO_SMALL"
        return
    if too_large(terms, requested):
        with pytest.raises(InvalidArgument) as refused:
            price_conversion(terms, requested)
        assert refused.value.reason == "AMOUNT_TOO_LARGE"
        return

    amounts = price_conversion(terms, requested)
    rate, price = terms.rate, terms.settlement_price_minor
    converted = amounts.source_points_converted

    assert_all_ints(amounts)
    assert amounts.source_points_requested == requested
    assert amounts.fee_points == expected_fee(terms, requested)
    assert amounts.source_points_debited <= amounts.source_points_requested
    assert amounts.source_points_not_taken >= 0
    assert amounts.target_points == target
    assert converted * rate.numerator // rate.denominator == target
    assert (converted - 1) * rate.numerator // rate.denominator < target
    assert amounts.settlement_amount_minor == target * price.numerator // price.denominator
    assert amounts.settlement_currency == terms.settlement_currency
    assert amounts.rate == terms.rate


@given(priced())
def test_no_rounding_favours_the_caller(amounts: ConversionAmounts) -> None:
    rate, target, converted = amounts.rate, amounts.target_points, amounts.source_points_converted
    # The target points issued are worth no more than the source points charged for them ...
    assert target * rate.denominator <= converted * rate.numerator
    # ... and the member pays for less than one source point beyond them: never for a fractional target point.
    assert converted * rate.numerator - target * rate.denominator < rate.numerator
    # Nothing that could not be converted is taken.
    assert converted <= amounts.source_points_requested - amounts.fee_points


@given(requests())
def test_settlement_money_never_exceeds_the_exact_value_of_the_target_points(request: Request) -> None:
    price = request.terms.settlement_price_minor
    try:
        amounts = price_conversion(request.terms, request.source_points)
    except InvalidArgument as refused:
        assert refused.reason in {"AMOUNT_TOO_SMALL", "AMOUNT_TOO_LARGE"}
        return
    exact_times_denominator = amounts.target_points * price.numerator
    assert amounts.settlement_amount_minor * price.denominator <= exact_times_denominator
    assert exact_times_denominator - amounts.settlement_amount_minor * price.denominator < price.denominator


@given(priced())
def test_priced_amounts_pass_their_own_invariant_check(amounts: ConversionAmounts) -> None:
    amounts.check()


# --- price_conversion: one test per refusal -------------------------------------------------------------


def refusal_of(terms: AgreementTerms, source_points: int) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as refused:
        price_conversion(terms, source_points)
    assert refused.value.field == "source_points"
    return refused.value


def test_an_amount_below_the_agreements_minimum_is_refused() -> None:
    terms = make_terms(min_source_points=100, max_source_points=1_000)
    assert refusal_of(terms, 99).reason == "BELOW_MINIMUM"
    assert price_conversion(terms, 100).target_points == 100


def test_an_amount_above_the_agreements_maximum_is_refused() -> None:
    terms = make_terms(min_source_points=100, max_source_points=1_000)
    assert refusal_of(terms, 1_001).reason == "ABOVE_MAXIMUM"
    assert price_conversion(terms, 1_000).target_points == 1_000


def test_an_amount_that_is_not_a_multiple_of_the_increment_is_refused() -> None:
    terms = make_terms(min_source_points=100, max_source_points=1_000, source_increment=50)
    assert refusal_of(terms, 120).reason == "NOT_A_MULTIPLE_OF_INCREMENT"
    assert price_conversion(terms, 150).target_points == 150


@pytest.mark.parametrize("source_points", [0, -1, -100, -MAX_POINTS])
def test_a_zero_or_negative_amount_is_refused(source_points: int) -> None:
    assert refusal_of(make_terms(), source_points).reason == "NON_POSITIVE_AMOUNT"


def test_an_amount_above_the_largest_amount_of_points_is_refused() -> None:
    terms = make_terms()
    assert refusal_of(terms, MAX_POINTS + 1).reason == "AMOUNT_TOO_LARGE"
    assert price_conversion(terms, MAX_POINTS).target_points == MAX_POINTS


@pytest.mark.parametrize(
    ("changes", "source_points"),
    [
        ({"rate": (1, 100)}, 99),
        ({"fee_basis_points": MAX_BASIS_POINTS}, 500),
        ({"fee_fixed_points": 99, "min_source_points": 100, "rate": (1, 2)}, 100),
    ],
    ids=["rate-below-one", "fee-takes-everything", "fixed-fee-leaves-too-little"],
)
def test_an_amount_that_converts_to_no_target_points_is_refused(changes: dict[str, object], source_points: int) -> None:
    assert refusal_of(make_terms(**changes), source_points).reason == "AMOUNT_TOO_SMALL"


def test_the_member_keeps_what_a_rate_below_one_could_not_convert() -> None:
    amounts = price_conversion(make_terms(rate=(1, 3), settlement_price_minor=(7, 2)), 100)
    assert (amounts.target_points, amounts.source_points_converted) == (33, 99)
    assert amounts.source_points_not_taken == 1
    assert amounts.settlement_amount_minor == 115  # 33 * 7/2 = 115.5, rounded down


# --- price_reversal ----------------------------------------------------------------------------------------


@st.composite
def conversions_and_splits(draw: st.DrawFn) -> tuple[ConversionAmounts, list[int]]:
    """A conversion and its target points split into parts, in a random order.

    Kept to conversions of at most MAX_POINTS target points: price_reversal refuses a larger
    amount, see the xfail tests at the end of this module.
    """
    amounts = draw(priced().filter(lambda a: a.target_points <= MAX_POINTS))
    total = amounts.target_points
    cuts = draw(st.sets(st.integers(1, total - 1), max_size=min(7, total - 1))) if total > 1 else set()
    bounds = [0, *sorted(cuts), total]
    parts = [high - low for low, high in itertools.pairwise(bounds)]
    return amounts, draw(st.permutations(parts))


def add(before: ReversalAmounts, step: ReversalAmounts) -> ReversalAmounts:
    return ReversalAmounts(
        before.target_points + step.target_points,
        before.source_points + step.source_points,
        before.settlement_amount_minor + step.settlement_amount_minor,
    )


def assert_within(amounts: ConversionAmounts, reversed_so_far: ReversalAmounts) -> None:
    assert 0 <= reversed_so_far.target_points <= amounts.target_points
    assert 0 <= reversed_so_far.source_points <= amounts.source_points_converted
    assert 0 <= reversed_so_far.settlement_amount_minor <= amounts.settlement_amount_minor


@given(conversions_and_splits())
def test_partial_reversals_never_exceed_the_conversion_and_all_of_them_give_back_exactly_everything(
    case: tuple[ConversionAmounts, list[int]],
) -> None:
    amounts, parts = case
    so_far = NOTHING_REVERSED
    for part in parts:
        step = price_reversal(amounts, target_points=part, reversed_before=so_far)
        for value in (step.target_points, step.source_points, step.settlement_amount_minor):
            assert type(value) is int
            assert value >= 0
        assert step.target_points == part
        so_far = add(so_far, step)
        assert_within(amounts, so_far)
    assert so_far == ReversalAmounts(
        amounts.target_points, amounts.source_points_converted, amounts.settlement_amount_minor
    )


@given(conversions_and_splits(), st.data())
def test_a_partial_reversal_gives_back_no_more_than_its_exact_share(
    case: tuple[ConversionAmounts, list[int]], data: st.DataObject
) -> None:
    amounts, parts = case
    steps = data.draw(st.integers(0, len(parts) - 1))
    so_far = NOTHING_REVERSED
    for part in parts[:steps]:
        so_far = add(so_far, price_reversal(amounts, target_points=part, reversed_before=so_far))
    # Every reversal but the last is rounded down from its proportional share.
    assert so_far.source_points * amounts.target_points <= amounts.source_points_converted * so_far.target_points
    assert so_far.settlement_amount_minor * amounts.target_points <= (
        amounts.settlement_amount_minor * so_far.target_points
    )


@given(conversions_and_splits(), st.data())
def test_a_reversal_beyond_what_is_left_is_refused(
    case: tuple[ConversionAmounts, list[int]], data: st.DataObject
) -> None:
    amounts, parts = case
    steps = data.draw(st.integers(0, len(parts)))
    so_far = NOTHING_REVERSED
    for part in parts[:steps]:
        so_far = add(so_far, price_reversal(amounts, target_points=part, reversed_before=so_far))
    left = amounts.target_points - so_far.target_points
    # Past what is left but a points figure the hub takes (past MAX_POINTS it is AMOUNT_TOO_LARGE first).
    too_much = left + data.draw(st.integers(1, max(1, min(1_000, MAX_POINTS - left))))
    assume(too_much <= MAX_POINTS)
    with pytest.raises(InvalidArgument) as refused:
        price_reversal(amounts, target_points=too_much, reversed_before=so_far)
    assert refused.value.reason == "REVERSAL_EXCEEDS_CONVERSION"
    assert refused.value.field == "target_points"


def test_reversing_one_point_more_than_was_converted_is_refused() -> None:
    amounts = price_conversion(make_terms(), 10)
    with pytest.raises(InvalidArgument) as refused:
        price_reversal(amounts, target_points=11, reversed_before=NOTHING_REVERSED)
    assert refused.value.reason == "REVERSAL_EXCEEDS_CONVERSION"


def test_nothing_can_be_reversed_once_everything_was() -> None:
    amounts = price_conversion(make_terms(), 10)
    everything = price_reversal(amounts, target_points=10, reversed_before=NOTHING_REVERSED)
    with pytest.raises(InvalidArgument) as refused:
        price_reversal(amounts, target_points=1, reversed_before=everything)
    assert refused.value.reason == "REVERSAL_EXCEEDS_CONVERSION"


@pytest.mark.parametrize("target_points", [0, -1])
def test_a_reversal_of_zero_or_negative_points_is_refused(target_points: int) -> None:
    amounts = price_conversion(make_terms(), 10)
    with pytest.raises(InvalidArgument) as refused:
        price_reversal(amounts, target_points=target_points, reversed_before=NOTHING_REVERSED)
    assert refused.value.reason == "NON_POSITIVE_AMOUNT"


def test_the_last_reversal_takes_exactly_what_rounding_left() -> None:
    amounts = price_conversion(make_terms(settlement_price_minor=(1, 1)), 3)  # 3 points, 3 minor units
    first = price_reversal(amounts, target_points=1, reversed_before=NOTHING_REVERSED)
    second = price_reversal(amounts, target_points=1, reversed_before=first)
    last = price_reversal(amounts, target_points=1, reversed_before=add(first, second))
    assert [first.source_points, second.source_points, last.source_points] == [1, 1, 1]
    odd = price_conversion(make_terms(settlement_price_minor=(1, 2)), 3)  # 3 points, 1 minor unit
    halves = price_reversal(odd, target_points=2, reversed_before=NOTHING_REVERSED)
    rest = price_reversal(odd, target_points=1, reversed_before=halves)
    assert (halves.settlement_amount_minor, rest.settlement_amount_minor) == (0, 1)


def test_ratio_terms_are_kept_in_lowest_terms_in_the_amounts() -> None:
    assert price_conversion(make_terms(rate=(4, 2)), 5).rate == Ratio(2, 1)


# --- amounts past the largest a movement may carry are refused ----------------------------------------


def priced_or_refused(source_points: int, **changes: object) -> ConversionAmounts | None:
    """Price the conversion, or None if the terms or the amount are refused (either is a fix)."""
    try:
        return price_conversion(make_terms(**changes), source_points)
    except InvalidArgument:
        return None


def test_a_conversion_never_issues_more_than_the_largest_amount_of_points() -> None:
    amounts = priced_or_refused(2, rate=(MAX_RATIO_TERM, 1))  # 2 * 10**12 target points
    assert amounts is None or amounts.target_points <= MAX_POINTS


def test_every_priced_conversion_can_be_reversed_in_full() -> None:
    amounts = priced_or_refused(2, rate=(MAX_RATIO_TERM, 1))
    if amounts is not None:
        price_reversal(amounts, target_points=amounts.target_points, reversed_before=NOTHING_REVERSED)


def test_a_conversion_never_owes_more_than_the_largest_amount_of_money() -> None:
    amounts = priced_or_refused(1_001, settlement_price_minor=(MAX_RATIO_TERM, 1))  # 1.001 * 10**15 minor units
    assert amounts is None or amounts.settlement_amount_minor <= MAX_MINOR_UNITS
