"""ISO 4217 settlement currencies and their minor-unit exponents.

Only circulating national and regional currencies are accepted for settlement: fund codes
(CHE, USN, ...), precious metals (XAU, ...), testing (XTS) and "no currency" (XXX) are not
money a brand can pay another brand in. Source: the ISO 4217 list (amendment 179, 2025).
"""

from __future__ import annotations

import re

from exchange.domain.errors import InvalidArgument

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMALS = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP "
    "GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD "
    "LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB "
    "PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC "
    "SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)

MINOR_UNIT_EXPONENT: dict[str, int] = {
    **{code: 0 for code in _ZERO_DECIMALS.split()},
    **{code: 2 for code in _TWO_DECIMALS.split()},
    **{code: 3 for code in _THREE_DECIMALS.split()},
}

_POINT_CURRENCY = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")


def parse_settlement_currency(code: str, *, field: str = "settlement_currency") -> str:
    """Return code if it is a circulating ISO 4217 currency, else raise InvalidArgument."""
    if code not in MINOR_UNIT_EXPONENT:
        raise InvalidArgument(
            "UNKNOWN_CURRENCY", f"{field} {code!r} is not a circulating ISO 4217 currency code", field=field
        )
    return code


def parse_point_currency(code: str, *, field: str = "point_currency") -> str:
    """Return code if it is a valid point currency code (2-10 of A-Z0-9, starting A-Z)."""
    if not _POINT_CURRENCY.fullmatch(code):
        raise InvalidArgument(
            "INVALID_POINT_CURRENCY",
            f"{field} must be 2 to 10 uppercase letters or digits starting with a letter",
            field=field,
        )
    if code in MINOR_UNIT_EXPONENT:
        raise InvalidArgument(
            "POINT_CURRENCY_IS_MONEY", f"{field} {code!r} is an ISO 4217 money code; points need their own", field=field
        )
    return code
