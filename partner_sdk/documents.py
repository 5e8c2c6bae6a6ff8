"""The agreement document: the exact bytes both partners sign, and the hub checks.

This module is the specification of the document. The hub renders it with the same
function, so an agreement is only ever signed over one text. It is UTF-8, lines joined by a
single line feed, no trailing one, in this order::

    COALITION-AGREEMENT-V1
    source=<source partner id>
    target=<target partner id>
    version=<int>
    rate=<numerator>/<denominator>                       (lowest terms)
    min_source_points=<int>
    max_source_points=<int>
    source_increment=<int>
    member_daily_cap_source_points=<int>
    fee=<none | bps:<int> | fixed:<int>>
    valid_from_ms=<integer milliseconds since the Unix epoch, UTC, rounded down>
    valid_until_ms=<int>
    settlement_price_minor=<numerator>/<denominator>     (lowest terms)
    settlement_currency=<ISO 4217 code>

Integers are plain decimal (a minus sign when negative, no leading zeros). Only what can't
be written canonically is refused here (a float, a zero denominator, a line break inside a
value, both fees at once, a naive datetime); every business rule is the hub's.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from partner_sdk._models import AgreementTerms

__all__ = ["AGREEMENT_SCHEME", "agreement_document", "epoch_ms", "render_agreement_document"]

AGREEMENT_SCHEME = "COALITION-AGREEMENT-V1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Return whole milliseconds since the Unix epoch (UTC), rounded down, computed exactly.

    Args:
        moment: a timezone-aware datetime.

    Returns:
        The integer count of milliseconds; microseconds below a millisecond are dropped
        (floor, also before 1970).

    Raises:
        ValueError: moment is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("pass a timezone-aware datetime (for example datetime.now(timezone.utc))")
    return (moment - _EPOCH) // _ONE_MS


def render_agreement_document(
    *,
    source_partner_id: str,
    target_partner_id: str,
    version: int,
    rate_numerator: int,
    rate_denominator: int,
    min_source_points: int,
    max_source_points: int,
    source_increment: int,
    member_daily_cap_source_points: int,
    fee_basis_points: int | None,
    fee_fixed_points: int | None,
    valid_from_ms: int,
    valid_until_ms: int,
    price_numerator: int,
    price_denominator: int,
    settlement_currency: str,
) -> bytes:
    """Return the agreement document for plain values (what the hub calls with its own).

    Ratios are reduced to lowest terms here, so 2/4 and 1/2 give the same document.

    Args:
        source_partner_id: the partner whose points are converted.
        target_partner_id: the partner whose points the member receives.
        version: the agreement version number.
        rate_numerator: target points per source point, numerator.
        rate_denominator: target points per source point, denominator (not zero).
        min_source_points: the fewest source points one conversion may take.
        max_source_points: the most source points one conversion may take.
        source_increment: conversions take source points in multiples of this.
        member_daily_cap_source_points: the most one member may convert per UTC day.
        fee_basis_points: the fee in basis points of the amount, or None.
        fee_fixed_points: the fee as fixed source points, or None.
        valid_from_ms: when the agreement starts, ms since the epoch.
        valid_until_ms: when it ends, ms since the epoch.
        price_numerator: settlement price per target point in minor units, numerator.
        price_denominator: settlement price denominator (not zero).
        settlement_currency: the ISO 4217 code of the settlement price.

    Returns:
        The UTF-8 bytes to sign.

    Raises:
        TypeError: a number is not an int (floats and bools are refused) or a text not a str.
        ValueError: a denominator is zero, both fees are set, or a text holds a line break
            or another control character.
    """
    if fee_basis_points is not None and fee_fixed_points is not None:
        raise ValueError("set at most one of fee_basis_points and fee_fixed_points")
    if fee_basis_points is not None:
        fee = f"bps:{_integer('fee_basis_points', fee_basis_points)}"
    elif fee_fixed_points is not None:
        fee = f"fixed:{_integer('fee_fixed_points', fee_fixed_points)}"
    else:
        fee = "none"
    lines = (
        AGREEMENT_SCHEME,
        f"source={_text('source_partner_id', source_partner_id)}",
        f"target={_text('target_partner_id', target_partner_id)}",
        f"version={_integer('version', version)}",
        f"rate={_ratio('rate', rate_numerator, rate_denominator)}",
        f"min_source_points={_integer('min_source_points', min_source_points)}",
        f"max_source_points={_integer('max_source_points', max_source_points)}",
        f"source_increment={_integer('source_increment', source_increment)}",
        f"member_daily_cap_source_points={_integer('member_daily_cap_source_points', member_daily_cap_source_points)}",
        f"fee={fee}",
        f"valid_from_ms={_integer('valid_from_ms', valid_from_ms)}",
        f"valid_until_ms={_integer('valid_until_ms', valid_until_ms)}",
        f"settlement_price_minor={_ratio('settlement_price_minor', price_numerator, price_denominator)}",
        f"settlement_currency={_text('settlement_currency', settlement_currency)}",
    )
    return "\n".join(lines).encode("utf-8")


def agreement_document(terms: AgreementTerms) -> bytes:
    """Return the exact bytes both partners sign for these terms.

    Args:
        terms: the agreement terms; rate and settlement_price_minor are Fractions (ints are
            accepted), valid_from and valid_until timezone-aware datetimes.

    Returns:
        The UTF-8 document (see the module docstring for its format).

    Raises:
        TypeError: a number is a float or bool, or a ratio is not a Fraction or int.
        ValueError: a datetime is naive, both fees are set, or a text holds a line break.

    Example:
        >>> signature = private_key.sign(agreement_document(terms))
    """
    rate = _fraction("rate", terms.rate)
    price = _fraction("settlement_price_minor", terms.settlement_price_minor)
    return render_agreement_document(
        source_partner_id=terms.source_partner_id,
        target_partner_id=terms.target_partner_id,
        version=terms.version,
        rate_numerator=rate.numerator,
        rate_denominator=rate.denominator,
        min_source_points=terms.min_source_points,
        max_source_points=terms.max_source_points,
        source_increment=terms.source_increment,
        member_daily_cap_source_points=terms.member_daily_cap_source_points,
        fee_basis_points=terms.fee_basis_points,
        fee_fixed_points=terms.fee_fixed_points,
        valid_from_ms=epoch_ms(terms.valid_from),
        valid_until_ms=epoch_ms(terms.valid_until),
        price_numerator=price.numerator,
        price_denominator=price.denominator,
        settlement_currency=terms.settlement_currency,
    )


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029" for ch in value):
        raise ValueError(f"{name} must not contain line breaks or other control characters")
    return value


def _ratio(name: str, numerator: object, denominator: object) -> str:
    top = _integer(f"{name} numerator", numerator)
    bottom = _integer(f"{name} denominator", denominator)
    if bottom == 0:
        raise ValueError(f"{name} denominator must not be zero")
    if bottom < 0:  # one canonical sign: on the numerator
        top, bottom = -top, -bottom
    divisor = math.gcd(top, bottom)
    return f"{top // divisor}/{bottom // divisor}"


def _fraction(name: str, value: object) -> Fraction:
    if isinstance(value, Fraction):
        return value
    return Fraction(_integer(name, value))
