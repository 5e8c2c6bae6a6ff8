"""Membership money never goes wrong and the membership follows a simple model of its states.

Shares never exceed the fee and the seller's remainder makes them whole; pro-rata refunds stay
within the fee and never grow with time; reversals stay within the refund and each share, the
seller absorbing the rounding; and a machine over enrol / renew / renewal_failed / lapse / cancel
with a clock agrees with a model written without the module's calendar arithmetic.
"""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from exchange.domain.errors import ExchangeError, InvalidArgument
from exchange.domain.membership_terms import (
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerTerms,
    PriceTier,
    RatioShare,
    RefundRule,
    Share,
    TermLength,
    TermOffer,
    document_of,
    validate_terms,
)
from exchange.domain.memberships import (
    Membership,
    MembershipState,
    cancel,
    enrol,
    fee_for,
    is_active_at,
    lapse_if_due,
    pro_rata_refund,
    refund_obligations,
    refund_of,
    refund_shares,
    renew,
    renewal_failed,
    shares_of,
)
from exchange.domain.money import MAX_MINOR_UNITS, Ratio

DAY_MS = 86_400_000
NOW = 1_800_000_000_000
SELLER = "tmall"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)

fees = st.one_of(st.integers(1, 10_000), st.integers(1, MAX_MINOR_UNITS))


@st.composite
def shares(draw: st.DrawFn, fee: int, partners: int) -> Share:
    if draw(st.booleans()):
        return FixedShare(draw(st.integers(0, fee // partners)))
    denominator = draw(st.integers(partners, 10**6))
    return RatioShare(Ratio.parse(draw(st.integers(1, denominator // partners)), denominator, field="share"))


@st.composite
def programmes(draw: st.DrawFn) -> MembershipTerms:
    count = draw(st.integers(1, 4))
    base = draw(fees)
    tiers = tuple(
        PriceTier(score, fee)
        for score, fee in zip(
            sorted(draw(st.sets(st.integers(0, 10**9), max_size=3))), draw(st.lists(fees, min_size=3)), strict=False
        )
    )
    cheapest = min([base, *(t.fee_minor for t in tiers)])
    partners = [
        PartnerTerms(f"brand-{i}", (FreeDelivery(),), ((TermLength.YEARLY, draw(shares(cheapest, count))),))
        for i in range(count)
    ]
    try:
        return validate_terms(
            programme_id="vip88",
            version=1,
            name="88VIP",
            seller_partner_id=SELLER,
            currency="CNY",
            offers=[TermOffer(TermLength.YEARLY, base, tiers)],
            partners=partners,
            refund_rule=RefundRule.PRO_RATA,
            grace_days=7,
            valid_from_ms=NOW,
            valid_until_ms=NOW + DAY_MS,
        )
    except InvalidArgument as refused:
        assert refused.reason == "SHARES_EXCEED_FEE"
        assume(False)
        raise


@settings(max_examples=150, deadline=None)
@given(programmes(), st.integers(0, 10**9) | st.none())
def test_shares_never_exceed_the_fee_and_the_seller_keeps_exactly_the_rest(
    terms: MembershipTerms, score: int | None
) -> None:
    fee = fee_for(terms, TermLength.YEARLY, score)
    assert fee in terms.offers[0].fees()
    owed = shares_of(terms, TermLength.YEARLY, fee)
    assert all(amount >= 0 for amount in owed.values())
    remainder = fee - sum(owed.values())
    assert 0 <= remainder <= fee
    assert remainder + sum(owed.values()) == fee
    for partner in terms.partners:
        share = partner.share_for(TermLength.YEARLY)
        if isinstance(share, RatioShare):
            exact = fee * share.ratio.as_fraction()
            assert owed[partner.partner_id] <= exact < owed[partner.partner_id] + 1


@settings(max_examples=50, deadline=None)
@given(programmes())
def test_the_document_is_canonical_integers_and_the_same_for_the_same_terms(terms: MembershipTerms) -> None:
    document = document_of(terms)
    assert document == document_of(terms)

    def no_floats(value: object) -> bool:
        if isinstance(value, dict):
            return all(no_floats(v) for v in value.values())
        if isinstance(value, list):
            return all(no_floats(v) for v in value)
        return not isinstance(value, float)

    value = json.loads(document)
    assert no_floats(value)
    assert json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii") == document


@settings(max_examples=200, deadline=None)
@given(
    fees,
    st.integers(-(10**13), 10**13),
    st.integers(1, 5 * 366) | st.sampled_from([28, 29, 30, 31, 365, 366]),
    st.integers(-400 * DAY_MS, 400 * DAY_MS),
    st.integers(0, 400 * DAY_MS),
)
def test_a_pro_rata_refund_stays_within_the_fee_and_never_grows_with_time(
    fee: int, start: int, days: int, offset: int, later: int
) -> None:
    end = start + days * DAY_MS
    refund = pro_rata_refund(fee, start, end, start + offset)
    assert 0 <= refund <= fee
    assert pro_rata_refund(fee, start, end, start + offset + later) <= refund
    unused = min(days, max(0, (end - start - offset) // DAY_MS))
    assert refund == fee * unused // days


@settings(max_examples=200, deadline=None)
@given(fees, st.data())
def test_reversals_stay_within_the_refund_and_each_share_and_the_seller_absorbs_the_rounding(
    fee: int, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, fee), min_size=1, max_size=5)))
    owed = {f"brand-{i}": b - a for i, (a, b) in enumerate(zip([0, *cuts], cuts, strict=False))}
    refund = data.draw(st.integers(0, fee) | st.just(fee))
    back = refund_shares(owed, fee, refund)
    assert back.keys() == owed.keys()
    assert all(0 <= back[p] <= owed[p] for p in owed)
    assert sum(back.values()) <= refund
    seller_part = Fraction((fee - sum(owed.values())) * refund, fee)
    assert refund - sum(back.values()) >= seller_part
    if refund == fee:
        assert back == owed


# The membership machine against a model.


def model_add_months(anchor_ms: int, months: int) -> int:
    """The calendar, written again without the module: same time of day, the day clamped."""
    anchor = EPOCH + anchor_ms * ONE_MS
    year = anchor.year + (anchor.month - 1 + months) // 12
    month = (anchor.month - 1 + months) % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return (anchor.replace(year=year, month=month, day=day) - EPOCH) // ONE_MS


def machine_terms() -> MembershipTerms:
    return validate_terms(
        programme_id="vip88",
        version=1,
        name="88VIP",
        seller_partner_id=SELLER,
        currency="CNY",
        offers=[TermOffer(TermLength.MONTHLY, 9_900), TermOffer(TermLength.YEARLY, 88_800, (PriceTier(1_000, 8_800),))],
        partners=[
            PartnerTerms(
                "youku",
                (FreeDelivery(),),
                ((TermLength.MONTHLY, RatioShare(Ratio(1, 3))), (TermLength.YEARLY, FixedShare(2_000))),
            )
        ],
        refund_rule=RefundRule.PRO_RATA,
        grace_days=5,
        valid_from_ms=NOW,
        valid_until_ms=NOW + 5 * 366 * DAY_MS,
    )


class MembershipModel(RuleBasedStateMachine):
    """One member's membership over time; every refusal is the one the model expects."""

    def __init__(self) -> None:
        super().__init__()
        self.terms = machine_terms()
        self.now = NOW
        self.membership: Membership | None = None
        self.state = ""
        self.anchor = 0
        self.months = 0
        self.ends: list[int] = []
        self.grace_until: int | None = None
        self.paid = 0

    def expected_end(self, term: TermLength) -> int:
        return model_add_months(self.anchor, self.months + term.months)

    def refusal(self) -> str | None:
        """The refusal a renew / renewal_failed / cancel expects of the model's state now."""
        if self.state == "CANCELLED":
            return "ALREADY_CANCELLED"
        lapse_at = self.grace_until if self.state == "IN_GRACE" else self.ends[-1]
        if self.state == "LAPSED" or self.now >= (lapse_at or 0):
            return "MEMBERSHIP_LAPSED"
        return None

    @rule(days=st.integers(0, 10) | st.integers(0, 60) | st.integers(300, 400), extra_ms=st.integers(0, DAY_MS - 1))
    def tick(self, days: int, extra_ms: int) -> None:
        self.now += days * DAY_MS + extra_ms

    @precondition(lambda self: self.membership is None)
    @rule(term=st.sampled_from(TermLength), score=st.none() | st.integers(0, 2_000))
    def enrol(self, term: TermLength, score: int | None) -> None:
        fee = fee_for(self.terms, term, score)
        expected = None
        if self.now >= self.terms.valid_until_ms:
            expected = "TERMS_NOT_IN_FORCE"
        elif model_add_months(self.now, term.months) > self.terms.valid_until_ms:
            expected = "TERM_OUTLASTS_TERMS"
        try:
            self.membership = enrol(
                self.terms,
                caller=SELLER,
                membership_id="mbr_1",
                member_ref="alice",
                term=term,
                score=score,
                fee_minor=fee,
                now_ms=self.now,
            )
        except ExchangeError as refused:
            assert refused.reason == expected
            return
        assert expected is None
        self.state, self.anchor, self.months = "ACTIVE", self.now, term.months
        self.ends, self.paid = [model_add_months(self.now, term.months)], fee

    @precondition(lambda self: self.membership is not None)
    @rule(term=st.sampled_from(TermLength), score=st.none() | st.integers(0, 2_000))
    def renew(self, term: TermLength, score: int | None) -> None:
        assert self.membership is not None
        fee = fee_for(self.terms, term, score)
        expected = self.refusal()
        if expected is None and len(self.ends) > 1 and self.now < self.ends[-2]:
            expected = "ALREADY_RENEWED"
        if expected is None and self.expected_end(term) > self.terms.valid_until_ms:
            expected = "TERM_OUTLASTS_TERMS"
        try:
            renewed = renew(
                self.membership, self.terms, caller=SELLER, term=term, score=score, fee_minor=fee, now_ms=self.now
            )
        except ExchangeError as refused:
            assert refused.reason == expected
            return
        assert expected is None
        self.membership = renewed
        self.ends.append(self.expected_end(term))
        self.months += term.months
        self.state, self.grace_until, self.paid = "ACTIVE", None, self.paid + fee

    @precondition(lambda self: self.membership is not None)
    @rule()
    def renewal_failed(self) -> None:
        assert self.membership is not None
        expected = self.refusal()
        if expected is None and self.state == "ACTIVE" and len(self.ends) > 1 and self.now < self.ends[-2]:
            expected = "ALREADY_RENEWED"
        try:
            self.membership = renewal_failed(self.membership, caller=SELLER, now_ms=self.now)
        except ExchangeError as refused:
            assert refused.reason == expected
            return
        assert expected is None
        if self.state == "ACTIVE":
            self.state, self.grace_until = "IN_GRACE", self.ends[-1] + 5 * DAY_MS

    @precondition(lambda self: self.membership is not None)
    @rule()
    def lapse(self) -> None:
        assert self.membership is not None
        lapsed = lapse_if_due(self.membership, self.now)
        due = (self.state == "ACTIVE" and self.now >= self.ends[-1]) or (
            self.state == "IN_GRACE" and self.grace_until is not None and self.now >= self.grace_until
        )
        assert (lapsed is not None) == due
        if lapsed is not None:
            assert lapsed.ended_at_ms == (self.grace_until if self.state == "IN_GRACE" else self.ends[-1])
            self.membership, self.state, self.grace_until = lapsed, "LAPSED", None

    # Drawn one time in four: a cancellation ends the run's interesting part.
    @precondition(lambda self: self.membership is not None)
    @rule(now=st.integers(0, 3))
    def cancel(self, now: int) -> None:
        assert self.membership is not None
        if now:
            return
        expected = self.refusal()
        try:
            cancelled = cancel(self.membership, caller=SELLER, now_ms=self.now)
        except ExchangeError as refused:
            assert refused.reason == expected
            return
        assert expected is None
        starts = [self.anchor, *self.ends[:-1]]
        expected_refund = sum(
            t.fee_minor * min((end - start) // DAY_MS, max(0, (end - self.now) // DAY_MS)) // ((end - start) // DAY_MS)
            for t, start, end in zip(cancelled.terms, starts, self.ends, strict=True)
        )
        assert refund_of(cancelled) == expected_refund
        assert 0 <= -sum(o.amount_minor for o in refund_obligations(cancelled)) <= expected_refund
        self.membership, self.state, self.grace_until = cancelled, "CANCELLED", None

    @invariant()
    def the_membership_is_in_the_models_state(self) -> None:
        if self.membership is None:
            return
        assert self.membership.state is MembershipState(self.state)
        assert [t.end_ms for t in self.membership.terms] == self.ends
        assert self.membership.grace_until_ms == self.grace_until
        assert sum(t.fee_minor for t in self.membership.terms) == self.paid
        assert all(sum(a for _, a in t.shares) <= t.fee_minor for t in self.membership.terms)
        assert 0 <= refund_of(self.membership) <= self.paid

    @invariant()
    def benefits_are_honoured_exactly_when_the_model_says(self) -> None:
        if self.membership is None:
            return
        honoured = (self.state == "ACTIVE" and self.anchor <= self.now < self.ends[-1]) or (
            self.state == "IN_GRACE" and self.grace_until is not None and self.now < self.grace_until
        )
        assert is_active_at(self.membership, self.now) == honoured


MembershipModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestMembershipModel = MembershipModel.TestCase
