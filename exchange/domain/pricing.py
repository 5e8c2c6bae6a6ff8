"""Pricing a conversion: fee, rounding, and the money the source partner owes the target partner.

The rule, in one place: the fee is taken first (basis points rounded down, or fixed); the rest
converts at the agreement's rate and the target points are rounded down; the member is charged
only the source points that rounding actually used (the smallest amount that yields those
target points), so what could not be converted is never taken; the settlement money is the
target points times the price, rounded down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from exchange.domain.agreements import AgreementTerms
from exchange.domain.errors import InvalidArgument, require
from exchange.domain.money import MAX_MINOR_UNITS, MAX_POINTS, Ratio, parse_points, round_down


@dataclass(frozen=True, slots=True)
class ConversionAmounts:
    """Every amount of one conversion, all integers."""

    source_points_requested: int
    fee_points: int
    source_points_converted: int
    target_points: int
    settlement_amount_minor: int
    settlement_currency: str
    rate: Ratio

    @property
    def source_points_debited(self) -> int:
        """What the source partner takes from its member: the fee plus what converted."""
        return self.fee_points + self.source_points_converted

    @property
    def source_points_not_taken(self) -> int:
        """What the member asked to convert but keeps."""
        return self.source_points_requested - self.source_points_debited

    def check(self) -> None:
        """Assert the pricing invariants (called where amounts are written and read)."""
        rate = self.rate.as_fraction()
        require(self.target_points > 0, "a conversion issues target points")
        require(self.fee_points >= 0, "fees are not negative")
        require(self.source_points_debited <= self.source_points_requested, "never take more than requested")
        require(round_down(self.source_points_converted * rate) == self.target_points, "converted yields target")
        require(
            self.source_points_converted == 0
            or round_down((self.source_points_converted - 1) * rate) < self.target_points,
            "the member is charged the smallest amount that yields the target points",
        )
        require(self.settlement_amount_minor >= 0, "settlement money is not negative")


def price_conversion(terms: AgreementTerms, source_points: int) -> ConversionAmounts:
    """Price converting source_points under terms, or raise InvalidArgument if the amount is not allowed."""
    source_points = parse_points(source_points, field="source_points")
    if source_points < terms.min_source_points:
        raise InvalidArgument(
            "BELOW_MINIMUM", f"the agreement's minimum is {terms.min_source_points} points", field="source_points"
        )
    if source_points > terms.max_source_points:
        raise InvalidArgument(
            "ABOVE_MAXIMUM", f"the agreement's maximum is {terms.max_source_points} points", field="source_points"
        )
    if source_points % terms.source_increment:
        raise InvalidArgument(
            "NOT_A_MULTIPLE_OF_INCREMENT",
            f"source_points must be a multiple of {terms.source_increment}",
            field="source_points",
        )
    fee = terms.fee_for(source_points)
    rate = terms.rate.as_fraction()
    target_points = round_down((source_points - fee) * rate)
    if target_points == 0:
        raise InvalidArgument(
            "AMOUNT_TOO_SMALL", "after the fee, this amount converts to no target points", field="source_points"
        )
    if target_points > MAX_POINTS:
        raise InvalidArgument(
            "AMOUNT_TOO_LARGE", f"this would issue more than {MAX_POINTS} target points", field="source_points"
        )
    converted = math.ceil(Fraction(target_points) / rate)
    amounts = ConversionAmounts(
        source_points_requested=source_points,
        fee_points=fee,
        source_points_converted=converted,
        target_points=target_points,
        settlement_amount_minor=round_down(target_points * terms.settlement_price_minor.as_fraction()),
        settlement_currency=terms.settlement_currency,
        rate=terms.rate,
    )
    if amounts.settlement_amount_minor > MAX_MINOR_UNITS:
        raise InvalidArgument(
            "AMOUNT_TOO_LARGE", f"this would owe more than {MAX_MINOR_UNITS} minor units", field="source_points"
        )
    amounts.check()
    return amounts


@dataclass(frozen=True, slots=True)
class ReversalAmounts:
    """What one reversal gives back: source points to refund and money no longer owed."""

    target_points: int
    source_points: int
    settlement_amount_minor: int


def price_reversal(
    amounts: ConversionAmounts, *, target_points: int, reversed_before: ReversalAmounts
) -> ReversalAmounts:
    """Price reversing target_points of a conversion, proportionally, rounded down.

    The fee is not refunded. The reversal that brings the total to the full target points
    takes exactly what is left, so reversing everything returns every converted point and
    every minor unit, whatever the rounding of earlier partial reversals.
    """
    target_points = parse_points(target_points, field="target_points")
    left = amounts.target_points - reversed_before.target_points
    if target_points > left:
        raise InvalidArgument(
            "REVERSAL_EXCEEDS_CONVERSION",
            f"only {left} target points of this conversion are left to reverse",
            field="target_points",
        )
    if target_points == left:
        return ReversalAmounts(
            target_points,
            amounts.source_points_converted - reversed_before.source_points,
            amounts.settlement_amount_minor - reversed_before.settlement_amount_minor,
        )
    share = Fraction(target_points, amounts.target_points)
    return ReversalAmounts(
        target_points,
        round_down(amounts.source_points_converted * share),
        round_down(amounts.settlement_amount_minor * share),
    )
