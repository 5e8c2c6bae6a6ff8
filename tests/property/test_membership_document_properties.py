"""The SDK signs the very bytes the hub renders: membership_document agrees with the domain's document_of.

For any valid terms, drawn once and built both as the SDK's dataclasses (in any order, with
datetimes in any zone and below the millisecond) and as the domain's (validated, so normalised
as the hub keeps them), the two documents are byte-identical; and terms sent through protobuf
and read back give the same document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.domain import membership_terms as domain
from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS
from exchange.domain.money import MAX_MINOR_UNITS, Ratio
from partner_sdk import memberships as sdk
from partner_sdk._client import memberships as convert

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TERMS = ("MONTHLY", "YEARLY")

ids = st.from_regex(r"[a-z][a-z0-9-]{2,31}", fullmatch=True)
minor = st.one_of(st.integers(1, 10_000), st.integers(1, MAX_MINOR_UNITS))
# Printable text, sometimes padded with spaces: both sides sign it stripped.
text_chars = st.characters(exclude_categories=("C", "Zl", "Zp", "Zs")) | st.just(" ")


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(text_chars, min_size=1, max_size=max_size).filter(lambda t: bool(t.strip()))


@dataclass(frozen=True)
class Drawn:
    """One benefit or share as plain values, built into both sides' classes."""

    kind: str
    values: tuple[Any, ...] = ()


benefits = st.one_of(
    st.builds(lambda n: Drawn("PARTNER_MEMBERSHIP", (n,)), texts(domain.BENEFIT_NAME_MAX)),
    st.builds(
        lambda bp, cap: Drawn("DISCOUNT", (bp, cap)),
        st.integers(1, 10_000),
        st.none() | minor,
    ),
    st.builds(
        lambda *v: Drawn("VOUCHERS", v),
        st.integers(1, domain.MAX_VOUCHERS_PER_PERIOD),
        st.sampled_from(["WEEKLY", "MONTHLY"]),
        minor,
        st.integers(1, domain.MAX_VOUCHER_VALIDITY_DAYS),
        st.sampled_from(["PARTNER", "SELLER"]),
    ),
    st.just(Drawn("FREE_DELIVERY")),
    st.builds(lambda t: Drawn("TEXT", (t,)), texts(domain.BENEFIT_TEXT_MAX)),
)


def sdk_benefit(b: Drawn) -> sdk.Benefit:
    if b.kind == "PARTNER_MEMBERSHIP":
        return sdk.PartnerMembership(*b.values)
    if b.kind == "DISCOUNT":
        return sdk.PercentageDiscount(*b.values)
    if b.kind == "VOUCHERS":
        return sdk.Vouchers(*b.values)
    if b.kind == "FREE_DELIVERY":
        return sdk.FreeDelivery()
    return sdk.TextBenefit(*b.values)


def domain_benefit(b: Drawn) -> domain.Benefit:
    if b.kind == "PARTNER_MEMBERSHIP":
        return domain.PartnerMembership(*b.values)
    if b.kind == "DISCOUNT":
        return domain.PercentageDiscount(*b.values)
    if b.kind == "VOUCHERS":
        per_period, period, value, validity, funding = b.values
        return domain.Vouchers(
            per_period, domain.VoucherPeriod(period), value, validity, domain.VoucherFunding(funding)
        )
    if b.kind == "FREE_DELIVERY":
        return domain.FreeDelivery()
    return domain.TextBenefit(*b.values)


def sdk_share(s: Drawn) -> sdk.Share:
    if s.kind == "FIXED":
        return sdk.FixedShare(s.values[0])
    return sdk.RatioShare(Fraction(*s.values))


def domain_share(s: Drawn) -> domain.Share:
    if s.kind == "FIXED":
        return domain.FixedShare(s.values[0])
    ratio = Fraction(*s.values)
    return domain.RatioShare(Ratio(ratio.numerator, ratio.denominator))


@st.composite
def drawn_terms(draw: st.DrawFn) -> dict[str, Any]:
    """Plain values of valid terms; every partner's share is at most 1/n of every fee, so they fit."""
    seller = draw(ids)
    partner_ids = draw(st.lists(ids.filter(lambda p: p != seller), min_size=1, max_size=4, unique=True))
    n = len(partner_ids)
    offered = draw(st.permutations(TERMS).flatmap(lambda ts: st.integers(1, 2).map(lambda k: ts[:k])))
    offers = []
    for term in offered:
        fee = draw(minor)
        scores = draw(st.lists(st.integers(0, domain.MAX_SCORE), max_size=3, unique=True).map(sorted))
        tiers = [(score, draw(minor)) for score in scores]
        offers.append((term, fee, tiers))
    lowest = {term: min([fee, *(f for _, f in tiers)]) for term, fee, tiers in offers}
    partners = []
    for partner_id in partner_ids:
        shares = []
        for term in draw(st.permutations(offered)):
            if draw(st.booleans()):
                shares.append((term, Drawn("FIXED", (draw(st.integers(0, lowest[term] // n)),))))
            else:
                denominator = draw(st.integers(n, 10**6))
                shares.append((term, Drawn("RATIO", (draw(st.integers(1, denominator // n)), denominator))))
        partners.append((partner_id, draw(st.lists(benefits, min_size=1, max_size=4)), shares))
    valid_from_ms = draw(st.integers(0, 4_102_444_800_000))
    return {
        "programme_id": draw(st.from_regex(r"[a-z][a-z0-9-]{2,63}", fullmatch=True)),
        "version": draw(st.integers(1, 10**6)),
        "name": draw(texts(100)),
        "seller_partner_id": seller,
        "currency": draw(st.sampled_from(["EUR", "USD", "CNY", "JPY", "KWD"])),
        "offers": offers,
        "partners": partners,
        "refund_rule": draw(st.sampled_from(["NONE", "PRO_RATA"])),
        "grace_days": draw(st.integers(0, domain.MAX_GRACE_DAYS)),
        "valid_from_ms": valid_from_ms,
        "valid_until_ms": valid_from_ms + draw(st.integers(1, MAX_AGREEMENT_DAYS * DAY_MS)),
        # how the SDK's datetimes say those milliseconds: any zone, any microseconds below them
        "zone": timezone(timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))),
        "micros": (draw(st.integers(0, 999)), draw(st.integers(0, 999))),
    }


def sdk_terms(v: dict[str, Any]) -> sdk.MembershipTerms:
    def moment(ms: int, micros: int) -> datetime:
        return (EPOCH + timedelta(milliseconds=ms, microseconds=micros)).astimezone(v["zone"])

    return sdk.MembershipTerms(
        programme_id=v["programme_id"],
        version=v["version"],
        name=v["name"],
        seller_partner_id=v["seller_partner_id"],
        currency=v["currency"],
        offers=tuple(
            sdk.TermOffer(term, fee, tuple(sdk.PriceTier(s, f) for s, f in tiers)) for term, fee, tiers in v["offers"]
        ),
        partners=tuple(
            sdk.PartnerTerms(
                partner_id,
                tuple(sdk_benefit(b) for b in benefits),
                tuple((term, sdk_share(s)) for term, s in shares),
            )
            for partner_id, benefits, shares in v["partners"]
        ),
        refund_rule=v["refund_rule"],
        grace_days=v["grace_days"],
        valid_from=moment(v["valid_from_ms"], v["micros"][0]),
        valid_until=moment(v["valid_until_ms"], v["micros"][1]),
    )


def domain_terms(v: dict[str, Any]) -> domain.MembershipTerms:
    return domain.validate_terms(
        programme_id=v["programme_id"],
        version=v["version"],
        name=v["name"],
        seller_partner_id=v["seller_partner_id"],
        currency=v["currency"],
        offers=[
            domain.TermOffer(domain.TermLength(term), fee, tuple(domain.PriceTier(s, f) for s, f in tiers))
            for term, fee, tiers in v["offers"]
        ],
        partners=[
            domain.PartnerTerms(
                partner_id,
                tuple(domain_benefit(b) for b in benefits),
                tuple((domain.TermLength(term), domain_share(s)) for term, s in shares),
            )
            for partner_id, benefits, shares in v["partners"]
        ],
        refund_rule=domain.RefundRule(v["refund_rule"]),
        grace_days=v["grace_days"],
        valid_from_ms=v["valid_from_ms"],
        valid_until_ms=v["valid_until_ms"],
    )


@settings(max_examples=300, deadline=None)
@given(drawn_terms())
def test_the_sdks_document_is_byte_identical_to_the_hubs_for_any_valid_terms(values: dict[str, Any]) -> None:
    assert sdk.membership_document(sdk_terms(values)) == domain.document_of(domain_terms(values))


@settings(max_examples=100, deadline=None)
@given(drawn_terms())
def test_terms_sent_through_protobuf_and_read_back_sign_the_same_document(values: dict[str, Any]) -> None:
    terms = sdk_terms(values)
    message = convert.terms_to_proto(terms)
    again = type(message)()
    again.ParseFromString(message.SerializeToString())
    assert sdk.membership_document(convert.terms(again)) == sdk.membership_document(terms)
