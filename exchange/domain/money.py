"""Exact amounts: points are ints, money is int minor units, ratios are integer fractions."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from exchange.domain.errors import InvalidArgument, require

MAX_RATIO_TERM = 10**12


@dataclass(frozen=True, slots=True)
class Ratio:
    """A positive exact ratio numerator/denominator, always stored in lowest terms."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        require(isinstance(self.numerator, int) and isinstance(self.denominator, int), "ratio terms are ints")
        require(self.numerator > 0 and self.denominator > 0, "ratio terms are positive")
        require(Fraction(self.numerator, self.denominator).denominator == self.denominator, "ratio is reduced")

    @classmethod
    def parse(cls, numerator: int, denominator: int, *, field: str) -> Ratio:
        """Validate caller-supplied terms and return the reduced ratio."""
        if numerator <= 0 or denominator <= 0:
            raise InvalidArgument(
                "NON_POSITIVE_RATIO", f"{field} must have a numerator and denominator greater than zero", field=field
            )
        if numerator > MAX_RATIO_TERM or denominator > MAX_RATIO_TERM:
            raise InvalidArgument("RATIO_TOO_LARGE", f"{field} terms must be at most {MAX_RATIO_TERM}", field=field)
        value = Fraction(numerator, denominator)
        return cls(value.numerator, value.denominator)

    def as_fraction(self) -> Fraction:
        """Return the value as a Fraction."""
        return Fraction(self.numerator, self.denominator)

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


MAX_POINTS = 10**12  # no single amount of points may exceed this
MAX_MINOR_UNITS = 10**15  # no single amount of money may exceed this


def round_down(value: Fraction) -> int:
    """The one rounding rule of the exchange: toward zero, so nobody is given what was not paid for.

    Target points, fees and settlement money are all rounded with this function; what a
    conversion could not convert is simply not taken from the member.
    """
    require(value >= 0, "only non-negative amounts are rounded")
    return value.numerator // value.denominator


def parse_points(value: int, *, field: str) -> int:
    """Return a positive points amount within MAX_POINTS, or raise InvalidArgument."""
    if value <= 0:
        raise InvalidArgument("NON_POSITIVE_AMOUNT", f"{field} must be greater than zero", field=field)
    if value > MAX_POINTS:
        raise InvalidArgument("AMOUNT_TOO_LARGE", f"{field} must be at most {MAX_POINTS}", field=field)
    return value
