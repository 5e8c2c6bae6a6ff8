"""The terms of a joint paid membership (issue 21): what the seller and its partners sign.

A selling brand sells one paid membership made with partner brands (like 88VIP or JD Plus).
The terms say, in integers only:

- which lengths of term are offered (MONTHLY, YEARLY), each with a fee in minor units of one
  currency, and optionally a price rule by standing: tiers of (min_score, fee). The seller
  attests the member's score; the fee is the tier with the highest min_score <= score, or the
  term's base fee when no tier applies (or no score is attested). 88VIP: 888.00 a year, 88.00
  at a score of 1000 or more.
- what each partner gives members (typed benefits with named limits), and what each partner is
  paid of each fee: a fixed amount, or an exact ratio of the fee rounded down. For every term and
  every price tier the shares sum to at most the fee; the seller keeps the rest.
- the refund rule on cancellation (NONE, or PRO_RATA by unused whole days, rounded down), the
  grace days after a failed renewal, and when the terms are in force.

``validate_terms`` checks everything and returns the terms normalised (partners sorted by id,
offers by term); ``document_of`` renders the canonical document both sides sign: canonical JSON
(sorted keys, no spaces, ASCII, integers only, never a float).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS, MAX_BASIS_POINTS
from exchange.domain.currency import parse_settlement_currency
from exchange.domain.errors import InvalidArgument, require
from exchange.domain.money import MAX_MINOR_UNITS, Ratio, round_down
from exchange.domain.partners import DISPLAY_NAME_MAX, parse_partner_id, parse_text

MEMBERSHIP_FORMAT = "coalition-membership/1"
PROGRAMME_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,63}$")
MAX_PARTNERS = 20
MAX_BENEFITS_PER_PARTNER = 10
MAX_PRICE_TIERS = 10
MAX_SCORE = 10**9
MAX_GRACE_DAYS = 30
MAX_VOUCHERS_PER_PERIOD = 31
MAX_VOUCHER_VALIDITY_DAYS = 366
BENEFIT_NAME_MAX = 100
BENEFIT_TEXT_MAX = 500


class TermLength(enum.Enum):
    """How long one paid term lasts: a calendar month or a calendar year, in UTC."""

    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"

    @property
    def months(self) -> int:
        """The calendar months one term spans."""
        return 1 if self is TermLength.MONTHLY else 12


class RefundRule(enum.Enum):
    """What a member gets back on cancelling."""

    NONE = "NONE"
    PRO_RATA = "PRO_RATA"  # the fee times unused whole days over the term's days, rounded down


class VoucherPeriod(enum.Enum):
    """How often a vouchers benefit issues its vouchers."""

    WEEKLY = "WEEKLY"  # every 7 days from the term's start
    MONTHLY = "MONTHLY"  # every calendar month from the term's start


class VoucherFunding(enum.Enum):
    """Who pays a voucher's value when it is redeemed."""

    PARTNER = "PARTNER"  # the honouring partner gives it out of its share: no money moves
    SELLER = "SELLER"  # the seller pays the honouring partner the value of each redeemed voucher


@dataclass(frozen=True, slots=True)
class PartnerMembership:
    """The member is also a member of the partner's own programme (e.g. a video subscription)."""

    name: str


@dataclass(frozen=True, slots=True)
class PercentageDiscount:
    """A discount at the partner, in basis points, capped per purchase (None: no cap)."""

    basis_points: int
    cap_minor: int | None = None


@dataclass(frozen=True, slots=True)
class Vouchers:
    """per_period vouchers of value_minor each period, each valid for validity_days."""

    per_period: int
    period: VoucherPeriod
    value_minor: int
    validity_days: int
    funded_by: VoucherFunding = VoucherFunding.PARTNER


@dataclass(frozen=True, slots=True)
class FreeDelivery:
    """Deliveries from the partner are free."""


@dataclass(frozen=True, slots=True)
class TextBenefit:
    """Any other benefit, described in words (honoured by the partner, not computed by the hub)."""

    text: str


Benefit: TypeAlias = PartnerMembership | PercentageDiscount | Vouchers | FreeDelivery | TextBenefit


@dataclass(frozen=True, slots=True)
class FixedShare:
    """A fixed amount of each fee, in minor units (0 allowed: a partner may be paid nothing)."""

    amount_minor: int


@dataclass(frozen=True, slots=True)
class RatioShare:
    """An exact part of each fee (at most 1), rounded down."""

    ratio: Ratio


Share: TypeAlias = FixedShare | RatioShare


def share_amount(share: Share, fee_minor: int) -> int:
    """Return what a share is of one fee: the fixed amount, or the ratio of the fee rounded down."""
    if isinstance(share, FixedShare):
        return share.amount_minor
    return round_down(fee_minor * share.ratio.as_fraction())


@dataclass(frozen=True, slots=True)
class PriceTier:
    """The fee for members whose attested score is at least min_score."""

    min_score: int
    fee_minor: int


@dataclass(frozen=True, slots=True)
class TermOffer:
    """One term length on sale: its base fee and its price tiers (ascending min_score)."""

    term: TermLength
    fee_minor: int
    tiers: tuple[PriceTier, ...] = ()

    def fees(self) -> tuple[int, ...]:
        """Every fee a member may be charged for this term."""
        return (self.fee_minor, *(tier.fee_minor for tier in self.tiers))


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """What one partner gives members and is paid: one share per offered term."""

    partner_id: str
    benefits: tuple[Benefit, ...]
    shares: tuple[tuple[TermLength, Share], ...]

    def share_for(self, term: TermLength) -> Share:
        """The partner's share of a term's fee (validate_terms made sure there is one)."""
        found = next((share for length, share in self.shares if length is term), None)
        require(found is not None, f"partner {self.partner_id!r} has a share of every offered term")
        assert found is not None
        return found


@dataclass(frozen=True, slots=True)
class MembershipTerms:
    """What the seller and every partner sign, normalised by validate_terms."""

    programme_id: str
    version: int
    name: str
    seller_partner_id: str
    currency: str
    offers: tuple[TermOffer, ...]
    partners: tuple[PartnerTerms, ...]
    refund_rule: RefundRule
    grace_days: int
    valid_from_ms: int
    valid_until_ms: int

    @property
    def partner_ids(self) -> tuple[str, ...]:
        """The partners, sorted."""
        return tuple(p.partner_id for p in self.partners)

    def offer(self, term: TermLength) -> TermOffer:
        """Return the offer of a term, or raise InvalidArgument TERM_NOT_OFFERED."""
        found = next((o for o in self.offers if o.term is term), None)
        if found is None:
            raise InvalidArgument(
                "TERM_NOT_OFFERED", f"programme {self.programme_id!r} does not sell {term.value} terms", field="term"
            )
        return found

    def in_force_at(self, now_ms: int) -> bool:
        """Whether memberships may be sold under these terms at now_ms."""
        return self.valid_from_ms <= now_ms < self.valid_until_ms


def validate_terms(
    *,
    programme_id: str,
    version: int,
    name: str,
    seller_partner_id: str,
    currency: str,
    offers: Sequence[TermOffer],
    partners: Sequence[PartnerTerms],
    refund_rule: RefundRule,
    grace_days: int,
    valid_from_ms: int,
    valid_until_ms: int,
) -> MembershipTerms:
    """Check every term and return them normalised, or raise InvalidArgument naming the first bad field."""
    if not isinstance(programme_id, str) or not PROGRAMME_ID_PATTERN.fullmatch(programme_id):
        raise InvalidArgument(
            "INVALID_PROGRAMME_ID",
            "programme_id must be 3 to 64 characters of lowercase letters, digits and '-', starting with a letter",
            field="terms.programme_id",
        )
    if _integer(version, "terms.version") < 1:
        raise InvalidArgument("INVALID_VERSION", "version must be 1 or more", field="terms.version")
    name = parse_text(name, field="terms.name", max_length=DISPLAY_NAME_MAX)
    seller = parse_partner_id(seller_partner_id, field="terms.seller_partner_id")
    currency = parse_settlement_currency(currency, field="terms.currency")
    checked_offers = _check_offers(offers)
    checked_partners = _check_partners(partners, seller, checked_offers)
    if not isinstance(refund_rule, RefundRule):
        raise InvalidArgument("INVALID_REFUND_RULE", "refund_rule must be NONE or PRO_RATA", field="terms.refund_rule")
    if not 0 <= _integer(grace_days, "terms.grace_days") <= MAX_GRACE_DAYS:
        raise InvalidArgument(
            "INVALID_GRACE_DAYS", f"grace_days must be 0 to {MAX_GRACE_DAYS}", field="terms.grace_days"
        )
    if _integer(valid_until_ms, "terms.valid_until") <= _integer(valid_from_ms, "terms.valid_from"):
        raise InvalidArgument("EMPTY_VALIDITY", "valid_until must be after valid_from", field="terms.valid_until")
    if valid_until_ms - valid_from_ms > MAX_AGREEMENT_DAYS * DAY_MS:
        raise InvalidArgument(
            "VALIDITY_TOO_LONG",
            f"membership terms may last at most {MAX_AGREEMENT_DAYS} days",
            field="terms.valid_until",
        )
    return MembershipTerms(
        programme_id=programme_id,
        version=version,
        name=name,
        seller_partner_id=seller,
        currency=currency,
        offers=checked_offers,
        partners=checked_partners,
        refund_rule=refund_rule,
        grace_days=grace_days,
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
    )


def _integer(value: object, field: str) -> int:
    # bool is an int to Python; a float is never an amount.
    if type(value) is not int:
        raise InvalidArgument("NOT_AN_INTEGER", f"{field} must be an integer", field=field)
    return value


def _minor(value: object, field: str, *, allow_zero: bool = False) -> int:
    amount = _integer(value, field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidArgument("NON_POSITIVE_AMOUNT", f"{field} must be greater than zero", field=field)
    if amount > MAX_MINOR_UNITS:
        raise InvalidArgument("AMOUNT_TOO_LARGE", f"{field} must be at most {MAX_MINOR_UNITS}", field=field)
    return amount


def _check_offers(offers: Sequence[TermOffer]) -> tuple[TermOffer, ...]:
    if not offers:
        raise InvalidArgument("NO_TERMS_OFFERED", "offer at least one term", field="terms.offers")
    seen: set[TermLength] = set()
    for i, offer in enumerate(offers):
        field = f"terms.offers[{i}]"
        if not isinstance(offer.term, TermLength):
            raise InvalidArgument("INVALID_TERM", "term must be MONTHLY or YEARLY", field=f"{field}.term")
        if offer.term in seen:
            raise InvalidArgument("DUPLICATE_TERM", f"{offer.term.value} is offered twice", field=f"{field}.term")
        seen.add(offer.term)
        _minor(offer.fee_minor, f"{field}.fee_minor")
        if len(offer.tiers) > MAX_PRICE_TIERS:
            raise InvalidArgument(
                "TOO_MANY_PRICE_TIERS", f"at most {MAX_PRICE_TIERS} price tiers per term", field=f"{field}.tiers"
            )
        previous = -1
        for j, tier in enumerate(offer.tiers):
            if not 0 <= _integer(tier.min_score, f"{field}.tiers[{j}].min_score") <= MAX_SCORE:
                raise InvalidArgument(
                    "INVALID_SCORE", f"min_score must be 0 to {MAX_SCORE}", field=f"{field}.tiers[{j}].min_score"
                )
            if tier.min_score <= previous:
                raise InvalidArgument(
                    "TIERS_NOT_ASCENDING",
                    "price tiers must be in strictly ascending min_score",
                    field=f"{field}.tiers[{j}].min_score",
                )
            previous = tier.min_score
            _minor(tier.fee_minor, f"{field}.tiers[{j}].fee_minor")
    return tuple(sorted(offers, key=lambda o: o.term.value))


def _check_partners(
    partners: Sequence[PartnerTerms], seller: str, offers: tuple[TermOffer, ...]
) -> tuple[PartnerTerms, ...]:
    if not partners:
        raise InvalidArgument("NO_PARTNERS", "a joint membership needs at least one partner", field="terms.partners")
    if len(partners) > MAX_PARTNERS:
        raise InvalidArgument("TOO_MANY_PARTNERS", f"at most {MAX_PARTNERS} partners", field="terms.partners")
    offered = {o.term for o in offers}
    seen: set[str] = set()
    normalised = []
    for i, partner in enumerate(partners):
        field = f"terms.partners[{i}]"
        partner_id = parse_partner_id(partner.partner_id, field=f"{field}.partner_id")
        if partner_id == seller:
            raise InvalidArgument(
                "SELLER_IS_PARTNER", "the seller keeps the remainder; it is not a partner", field=f"{field}.partner_id"
            )
        if partner_id in seen:
            raise InvalidArgument("DUPLICATE_PARTNER", f"{partner_id!r} is named twice", field=f"{field}.partner_id")
        seen.add(partner_id)
        if not partner.benefits:
            raise InvalidArgument("NO_BENEFITS", "each partner gives at least one benefit", field=f"{field}.benefits")
        if len(partner.benefits) > MAX_BENEFITS_PER_PARTNER:
            raise InvalidArgument(
                "TOO_MANY_BENEFITS",
                f"at most {MAX_BENEFITS_PER_PARTNER} benefits per partner",
                field=f"{field}.benefits",
            )
        benefits = tuple(_check_benefit(b, f"{field}.benefits[{j}]") for j, b in enumerate(partner.benefits))
        shares = _check_shares(partner.shares, offered, f"{field}.shares")
        normalised.append(PartnerTerms(partner_id, benefits, shares))
    for offer in offers:
        for fee in offer.fees():
            total = sum(share_amount(p.share_for(offer.term), fee) for p in normalised)
            if total > fee:
                raise InvalidArgument(
                    "SHARES_EXCEED_FEE",
                    f"the partners' shares of the {offer.term.value} fee {fee} sum to {total}",
                    field="terms.partners",
                )
    return tuple(sorted(normalised, key=lambda p: p.partner_id))


def _check_shares(
    shares: Sequence[tuple[TermLength, Share]], offered: set[TermLength], field: str
) -> tuple[tuple[TermLength, Share], ...]:
    named: dict[TermLength, Share] = {}
    for k, (term, share) in enumerate(shares):
        if term not in offered:
            raise InvalidArgument(
                "TERM_NOT_OFFERED", f"a share of {term} names a term that is not offered", field=f"{field}[{k}]"
            )
        if term in named:
            raise InvalidArgument("DUPLICATE_SHARE", f"two shares of the {term.value} fee", field=f"{field}[{k}]")
        if isinstance(share, FixedShare):
            _minor(share.amount_minor, f"{field}[{k}].amount_minor", allow_zero=True)
        elif isinstance(share, RatioShare):
            if share.ratio.as_fraction() > 1:
                raise InvalidArgument(
                    "SHARE_RATIO_ABOVE_ONE", "a ratio share is at most the whole fee", field=f"{field}[{k}].ratio"
                )
        else:
            raise InvalidArgument("INVALID_SHARE", "a share is fixed or a ratio", field=f"{field}[{k}]")
        named[term] = share
    missing = sorted(t.value for t in offered - named.keys())
    if missing:
        raise InvalidArgument("SHARE_MISSING", f"no share of the {', '.join(missing)} fee", field=field)
    return tuple(sorted(named.items(), key=lambda item: item[0].value))


def _check_benefit(benefit: Benefit, field: str) -> Benefit:
    if isinstance(benefit, PartnerMembership):
        return PartnerMembership(parse_text(benefit.name, field=f"{field}.name", max_length=BENEFIT_NAME_MAX))
    if isinstance(benefit, PercentageDiscount):
        if not 1 <= _integer(benefit.basis_points, f"{field}.basis_points") <= MAX_BASIS_POINTS:
            raise InvalidArgument(
                "INVALID_DISCOUNT", f"basis_points must be 1 to {MAX_BASIS_POINTS}", field=f"{field}.basis_points"
            )
        if benefit.cap_minor is not None:
            _minor(benefit.cap_minor, f"{field}.cap_minor")
        return benefit
    if isinstance(benefit, Vouchers):
        if not 1 <= _integer(benefit.per_period, f"{field}.per_period") <= MAX_VOUCHERS_PER_PERIOD:
            raise InvalidArgument(
                "INVALID_VOUCHER_COUNT",
                f"per_period must be 1 to {MAX_VOUCHERS_PER_PERIOD}",
                field=f"{field}.per_period",
            )
        if not isinstance(benefit.period, VoucherPeriod) or not isinstance(benefit.funded_by, VoucherFunding):
            raise InvalidArgument("INVALID_VOUCHERS", "period and funded_by must be named values", field=field)
        _minor(benefit.value_minor, f"{field}.value_minor")
        if not 1 <= _integer(benefit.validity_days, f"{field}.validity_days") <= MAX_VOUCHER_VALIDITY_DAYS:
            raise InvalidArgument(
                "INVALID_VOUCHER_VALIDITY",
                f"validity_days must be 1 to {MAX_VOUCHER_VALIDITY_DAYS}",
                field=f"{field}.validity_days",
            )
        return benefit
    if isinstance(benefit, FreeDelivery):
        return benefit
    if isinstance(benefit, TextBenefit):
        return TextBenefit(parse_text(benefit.text, field=f"{field}.text", max_length=BENEFIT_TEXT_MAX))
    raise InvalidArgument("INVALID_BENEFIT", "unknown kind of benefit", field=field)


def document_of(terms: MembershipTerms) -> bytes:
    """Return the canonical document the seller and every partner sign for these terms.

    Canonical JSON, as the settlement statement: sorted keys, no spaces, ASCII only, integers
    only (a ratio is {"numerator", "denominator"} in lowest terms), partners sorted by id and
    offers by term; a benefit keeps its place in its partner's list (the order is shown to
    members). Equal terms give equal bytes, so a signature is over one text only.
    """
    value = {
        "format": MEMBERSHIP_FORMAT,
        "programme_id": terms.programme_id,
        "version": terms.version,
        "name": terms.name,
        "seller_partner_id": terms.seller_partner_id,
        "currency": terms.currency,
        "offers": [
            {
                "term": o.term.value,
                "fee_minor": o.fee_minor,
                "tiers": [{"min_score": t.min_score, "fee_minor": t.fee_minor} for t in o.tiers],
            }
            for o in terms.offers
        ],
        "partners": [
            {
                "partner_id": p.partner_id,
                "benefits": [benefit_value(b) for b in p.benefits],
                "shares": [{"term": term.value, **_share_value(share)} for term, share in p.shares],
            }
            for p in terms.partners
        ],
        "refund_rule": terms.refund_rule.value,
        "grace_days": terms.grace_days,
        "valid_from_ms": terms.valid_from_ms,
        "valid_until_ms": terms.valid_until_ms,
    }
    _require_no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def benefit_value(benefit: Benefit) -> dict[str, Any]:
    """A benefit as the document writes it (instructions carry benefits in the same form)."""
    if isinstance(benefit, PartnerMembership):
        return {"kind": "PARTNER_MEMBERSHIP", "name": benefit.name}
    if isinstance(benefit, PercentageDiscount):
        return {"kind": "PERCENTAGE_DISCOUNT", "basis_points": benefit.basis_points, "cap_minor": benefit.cap_minor}
    if isinstance(benefit, Vouchers):
        return {
            "kind": "VOUCHERS",
            "per_period": benefit.per_period,
            "period": benefit.period.value,
            "value_minor": benefit.value_minor,
            "validity_days": benefit.validity_days,
            "funded_by": benefit.funded_by.value,
        }
    if isinstance(benefit, FreeDelivery):
        return {"kind": "FREE_DELIVERY"}
    return {"kind": "TEXT", "text": benefit.text}


def _share_value(share: Share) -> dict[str, Any]:
    if isinstance(share, FixedShare):
        return {"kind": "FIXED", "amount_minor": share.amount_minor}
    return {"kind": "RATIO", "numerator": share.ratio.numerator, "denominator": share.ratio.denominator}


def _require_no_floats(value: object) -> None:
    require(not isinstance(value, float | Fraction), "a membership document holds integers only")
    if isinstance(value, dict):
        for item in value.values():
            _require_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _require_no_floats(item)
