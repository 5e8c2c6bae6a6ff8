"""Joint paid membership rules (issue 21): terms, fees, shares, refunds and states; one test per refusal, no I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from exchange.domain.errors import (
    AlreadyExists,
    ExchangeError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from exchange.domain.membership_terms import (
    MAX_GRACE_DAYS,
    MAX_PARTNERS,
    MAX_PRICE_TIERS,
    MAX_VOUCHERS_PER_PERIOD,
    Benefit,
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerMembership,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    RefundRule,
    TermLength,
    TermOffer,
    TextBenefit,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
    document_of,
    validate_terms,
)
from exchange.domain.memberships import (
    Membership,
    MembershipState,
    Obligation,
    add_months,
    cancel,
    check_no_overlap,
    enrol,
    fee_for,
    fee_obligations,
    is_active_at,
    lapse_if_due,
    pro_rata_refund,
    refund_obligations,
    refund_of,
    refund_shares,
    renew,
    renewal_failed,
    require_visible,
    shares_of,
)
from exchange.domain.money import Ratio

DAY_MS = 86_400_000
NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
SELLER = "tmall"
VIDEO = "youku"
FOOD = "eleme"
STRANGER = "voltline"
MONTHLY, YEARLY = TermLength.MONTHLY, TermLength.YEARLY
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(year: int, month: int, day: int, hour: int = 0) -> int:
    return (datetime(year, month, day, hour, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)


def partner(partner_id: str = VIDEO, *benefits: Benefit, yearly: object = None, monthly: object = None) -> PartnerTerms:
    shares = ((YEARLY, yearly or RatioShare(Ratio(1, 4))), (MONTHLY, monthly or FixedShare(1_000)))
    return PartnerTerms(partner_id, benefits or (PartnerMembership("Youku VIP"),), shares)  # type: ignore[arg-type]


VALID: dict[str, object] = {
    "programme_id": "vip88",
    "version": 1,
    "name": "88VIP",
    "seller_partner_id": SELLER,
    "currency": "CNY",
    "offers": [TermOffer(YEARLY, 88_800, (PriceTier(1_000, 8_800),)), TermOffer(MONTHLY, 9_900)],
    "partners": [
        partner(VIDEO, PartnerMembership("Youku VIP"), PercentageDiscount(500, 2_000)),
        partner(FOOD, Vouchers(2, VoucherPeriod.MONTHLY, 500, 30, VoucherFunding.SELLER), FreeDelivery()),
    ],
    "refund_rule": RefundRule.PRO_RATA,
    "grace_days": 7,
    "valid_from_ms": NOW,
    "valid_until_ms": NOW + 3 * 365 * DAY_MS,
}


def terms(**changes: object) -> MembershipTerms:
    return validate_terms(**{**VALID, **changes})  # type: ignore[arg-type]


def refused(error: type[ExchangeError], reason: str, **changes: object) -> ExchangeError:
    with pytest.raises(error) as caught:
        terms(**changes)
    assert caught.value.reason == reason
    return caught.value


def enrolled(term: TermLength = YEARLY, score: int | None = 1_200, at: int = NOW, **changes: object) -> Membership:
    agreed = terms(**changes)
    fee = fee_for(agreed, term, score)
    return enrol(
        agreed,
        caller=SELLER,
        membership_id="mbr_1",
        member_ref="alice",
        term=term,
        score=score,
        fee_minor=fee,
        now_ms=at,
    )


# Terms


def test_valid_terms_are_normalised_partners_by_id_and_offers_by_term() -> None:
    agreed = terms()
    assert agreed.partner_ids == (FOOD, VIDEO)
    assert [o.term for o in agreed.offers] == [MONTHLY, YEARLY]


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"programme_id": "V"}, "INVALID_PROGRAMME_ID", "terms.programme_id"),
        ({"version": 0}, "INVALID_VERSION", "terms.version"),
        ({"name": "  "}, "EMPTY_FIELD", "terms.name"),
        ({"seller_partner_id": "X"}, "INVALID_PARTNER_ID", "terms.seller_partner_id"),
        ({"currency": "ABC"}, "UNKNOWN_CURRENCY", "terms.currency"),
        ({"offers": []}, "NO_TERMS_OFFERED", "terms.offers"),
        ({"offers": [TermOffer(YEARLY, 1), TermOffer(YEARLY, 2)]}, "DUPLICATE_TERM", "terms.offers[1].term"),
        ({"offers": [TermOffer(YEARLY, 0)]}, "NON_POSITIVE_AMOUNT", "terms.offers[0].fee_minor"),
        ({"offers": [TermOffer(YEARLY, 10**16)]}, "AMOUNT_TOO_LARGE", "terms.offers[0].fee_minor"),
        ({"offers": [TermOffer(YEARLY, 88.8)]}, "NOT_AN_INTEGER", "terms.offers[0].fee_minor"),  # type: ignore[arg-type]
        ({"grace_days": MAX_GRACE_DAYS + 1}, "INVALID_GRACE_DAYS", "terms.grace_days"),
        ({"grace_days": True}, "NOT_AN_INTEGER", "terms.grace_days"),
        ({"refund_rule": "PRO_RATA"}, "INVALID_REFUND_RULE", "terms.refund_rule"),
        ({"valid_until_ms": NOW}, "EMPTY_VALIDITY", "terms.valid_until"),
        ({"valid_until_ms": NOW + 6 * 366 * DAY_MS}, "VALIDITY_TOO_LONG", "terms.valid_until"),
        ({"partners": []}, "NO_PARTNERS", "terms.partners"),
        ({"partners": [partner(SELLER)]}, "SELLER_IS_PARTNER", "terms.partners[0].partner_id"),
        ({"partners": [partner(), partner()]}, "DUPLICATE_PARTNER", "terms.partners[1].partner_id"),
        ({"partners": [PartnerTerms(VIDEO, (), partner().shares)]}, "NO_BENEFITS", "terms.partners[0].benefits"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(changes: dict[str, object], reason: str, field: str) -> None:
    assert refused(InvalidArgument, reason, **changes).field == field


def test_price_tiers_must_ascend_by_min_score() -> None:
    tiers = (PriceTier(1_000, 8_800), PriceTier(1_000, 7_700))
    refused(InvalidArgument, "TIERS_NOT_ASCENDING", offers=[TermOffer(YEARLY, 88_800, tiers), TermOffer(MONTHLY, 900)])


def test_a_term_has_at_most_the_named_number_of_price_tiers() -> None:
    tiers = tuple(PriceTier(i, 100) for i in range(MAX_PRICE_TIERS + 1))
    refused(InvalidArgument, "TOO_MANY_PRICE_TIERS", offers=[TermOffer(YEARLY, 88_800, tiers), TermOffer(MONTHLY, 1)])


def test_a_tier_min_score_may_not_be_negative() -> None:
    offers = [TermOffer(YEARLY, 88_800, (PriceTier(-1, 8_800),)), TermOffer(MONTHLY, 9_900)]
    refused(InvalidArgument, "INVALID_SCORE", offers=offers)


def test_a_programme_has_at_most_the_named_number_of_partners() -> None:
    many = [partner(f"brand-{i:02d}", monthly=FixedShare(0), yearly=FixedShare(0)) for i in range(MAX_PARTNERS + 1)]
    refused(InvalidArgument, "TOO_MANY_PARTNERS", partners=many)


def test_shares_that_exceed_a_fee_are_refused() -> None:
    greedy = [partner(VIDEO, monthly=FixedShare(5_000)), partner(FOOD, monthly=FixedShare(5_000))]
    assert refused(InvalidArgument, "SHARES_EXCEED_FEE", partners=greedy).field == "terms.partners"


def test_shares_must_fit_the_cheapest_price_tier_too() -> None:
    # 2 x 4,500 fits the 88,800 base fee but not the 8,800 tier.
    fixed = [partner(VIDEO, yearly=FixedShare(4_500)), partner(FOOD, yearly=FixedShare(4_500))]
    refused(InvalidArgument, "SHARES_EXCEED_FEE", partners=fixed)


def test_ratio_shares_may_take_the_whole_fee_between_them() -> None:
    halves = [partner(VIDEO, yearly=RatioShare(Ratio(1, 2))), partner(FOOD, yearly=RatioShare(Ratio(1, 2)))]
    assert sum(shares_of(terms(partners=halves), YEARLY, 8_800).values()) == 8_800


def test_a_ratio_share_above_the_whole_fee_is_refused() -> None:
    refused(InvalidArgument, "SHARE_RATIO_ABOVE_ONE", partners=[partner(yearly=RatioShare(Ratio(3, 2)))])


def test_a_partner_must_have_a_share_of_every_offered_term() -> None:
    refused(
        InvalidArgument, "SHARE_MISSING", partners=[PartnerTerms(VIDEO, (FreeDelivery(),), ((YEARLY, FixedShare(1)),))]
    )


def test_a_share_of_a_term_not_offered_is_refused() -> None:
    refused(InvalidArgument, "TERM_NOT_OFFERED", offers=[TermOffer(YEARLY, 88_800)])


def test_two_shares_of_one_term_are_refused() -> None:
    shares = ((YEARLY, FixedShare(1)), (YEARLY, FixedShare(2)), (MONTHLY, FixedShare(1)))
    refused(InvalidArgument, "DUPLICATE_SHARE", partners=[PartnerTerms(VIDEO, (FreeDelivery(),), shares)])


@pytest.mark.parametrize(
    ("benefit", "reason"),
    [
        (PercentageDiscount(0), "INVALID_DISCOUNT"),
        (PercentageDiscount(10_001), "INVALID_DISCOUNT"),
        (PercentageDiscount(500, 0), "NON_POSITIVE_AMOUNT"),
        (Vouchers(0, VoucherPeriod.WEEKLY, 500, 7), "INVALID_VOUCHER_COUNT"),
        (Vouchers(MAX_VOUCHERS_PER_PERIOD + 1, VoucherPeriod.WEEKLY, 500, 7), "INVALID_VOUCHER_COUNT"),
        (Vouchers(1, VoucherPeriod.WEEKLY, 0, 7), "NON_POSITIVE_AMOUNT"),
        (Vouchers(1, VoucherPeriod.WEEKLY, 500, 0), "INVALID_VOUCHER_VALIDITY"),
        (Vouchers(1, "DAILY", 500, 7), "INVALID_VOUCHERS"),  # type: ignore[arg-type]
        (PartnerMembership(""), "EMPTY_FIELD"),
        (TextBenefit("x" * 501), "FIELD_TOO_LONG"),
        (TextBenefit("free\nlunch"), "INVALID_TEXT"),
        ("a free lunch", "INVALID_BENEFIT"),
    ],
)
def test_a_benefit_out_of_its_limits_is_refused(benefit: Benefit, reason: str) -> None:
    refused(InvalidArgument, reason, partners=[partner(VIDEO, benefit)])


def test_too_many_benefits_for_one_partner_are_refused() -> None:
    refused(InvalidArgument, "TOO_MANY_BENEFITS", partners=[partner(VIDEO, *[FreeDelivery()] * 11)])


# The document


def test_the_document_is_canonical_json_of_integers_with_sorted_keys() -> None:
    document = document_of(terms())
    value = json.loads(document)
    assert document == json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert value["format"] == "coalition-membership/1"
    assert [p["partner_id"] for p in value["partners"]] == [FOOD, VIDEO]
    assert value["partners"][1]["shares"][1] == {"term": "YEARLY", "kind": "RATIO", "numerator": 1, "denominator": 4}
    assert b"." not in document.replace(b"88VIP", b"")  # no float anywhere


def test_equal_terms_give_equal_documents_whatever_the_order_they_were_given_in() -> None:
    reordered = terms(partners=list(reversed(VALID["partners"])), offers=list(reversed(VALID["offers"])))  # type: ignore[call-overload]
    assert document_of(reordered) == document_of(terms())
    assert document_of(terms(version=2)) != document_of(terms())


# Fees and shares


def test_the_fee_is_the_highest_tier_at_most_the_attested_score() -> None:
    tiers = (PriceTier(500, 50_000), PriceTier(1_000, 8_800))
    agreed = terms(offers=[TermOffer(YEARLY, 88_800, tiers), TermOffer(MONTHLY, 9_900)])
    assert fee_for(agreed, YEARLY, 499) == 88_800
    assert fee_for(agreed, YEARLY, 500) == 50_000
    assert fee_for(agreed, YEARLY, 1_000) == 8_800
    assert fee_for(agreed, YEARLY, 5_000) == 8_800


def test_without_an_attested_score_the_base_fee_applies() -> None:
    assert fee_for(terms(), YEARLY, None) == 88_800


def test_a_score_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="score") as caught:
        fee_for(terms(), YEARLY, -1)
    assert caught.value.reason == "INVALID_SCORE"


def test_the_fee_of_a_term_not_offered_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        fee_for(terms(offers=[TermOffer(YEARLY, 88_800)], partners=[yearly_only()]), MONTHLY, None)
    assert caught.value.reason == "TERM_NOT_OFFERED"


def yearly_only() -> PartnerTerms:
    return PartnerTerms(VIDEO, (FreeDelivery(),), ((YEARLY, FixedShare(100)),))


def test_shares_are_fixed_amounts_or_ratios_rounded_down_and_the_seller_keeps_the_rest() -> None:
    mixed = [partner(VIDEO, yearly=RatioShare(Ratio(1, 3))), partner(FOOD, yearly=FixedShare(1_000))]
    shares = shares_of(terms(partners=mixed), YEARLY, 8_800)
    assert shares == {VIDEO: 2_933, FOOD: 1_000}
    assert 8_800 - sum(shares.values()) == 4_867


def test_shares_of_a_fee_the_terms_do_not_name_are_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        shares_of(terms(), YEARLY, 8_801)
    assert caught.value.reason == "FEE_MISMATCH"


# Refunds


def test_a_pro_rata_refund_pays_back_unused_whole_days_rounded_down() -> None:
    start, end = ms(2027, 1, 1), ms(2028, 1, 1)
    assert pro_rata_refund(36_500, start, end, start + 100 * DAY_MS) == 26_500
    assert pro_rata_refund(36_500, start, end, start + 100 * DAY_MS + 1) == 26_400  # a day begun is used
    assert pro_rata_refund(10, start, end, start + DAY_MS) == 9  # 10 * 364 / 365 = 9.97


def test_a_term_not_begun_is_refunded_whole_and_a_term_over_not_at_all() -> None:
    start, end = ms(2027, 1, 1), ms(2027, 2, 1)
    assert pro_rata_refund(9_900, start, end, start - DAY_MS) == 9_900
    assert pro_rata_refund(9_900, start, end, end) == 0
    assert pro_rata_refund(9_900, start, end, end + 10 * DAY_MS) == 0


def test_partners_give_back_their_share_in_the_refunds_proportion_rounded_down() -> None:
    back = refund_shares({VIDEO: 2_933, FOOD: 1_000}, 8_800, 4_400)
    assert back == {VIDEO: 1_466, FOOD: 500}
    assert refund_shares({VIDEO: 2_933}, 8_800, 0) == {VIDEO: 0}


# The membership's states


def test_enrolling_starts_an_active_term_now_for_a_calendar_year() -> None:
    membership = enrolled()
    assert membership.state is MembershipState.ACTIVE
    assert (membership.start_ms, membership.end_ms) == (NOW, add_months(NOW, 12))
    assert membership.terms[0].fee_minor == 8_800
    assert dict(membership.terms[0].shares) == {VIDEO: 2_200, FOOD: 2_200}
    assert membership.terms[0].seller_remainder_minor == 4_400


def test_monthly_terms_clamp_the_31st_to_the_months_end_without_drifting() -> None:
    assert add_months(ms(2027, 1, 31, 10), 1) == ms(2027, 2, 28, 10)
    assert add_months(ms(2028, 1, 31, 10), 1) == ms(2028, 2, 29, 10)
    assert add_months(ms(2027, 1, 31, 10), 2) == ms(2027, 3, 31, 10)
    assert add_months(ms(2028, 2, 29), 12) == ms(2029, 2, 28)
    assert add_months(ms(2027, 12, 15), 1) == ms(2028, 1, 15)
    start = ms(2027, 1, 31, 10)
    membership = enrolled(MONTHLY, None, at=start, valid_from_ms=start)
    agreed = terms(valid_from_ms=start)
    for _ in range(2):
        membership = renew(
            membership, agreed, caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=membership.end_ms - 1
        )
    assert [t.end_ms for t in membership.terms] == [ms(2027, 2, 28, 10), ms(2027, 3, 31, 10), ms(2027, 4, 30, 10)]


def test_only_the_seller_enrols() -> None:
    with pytest.raises(PermissionDenied) as caught:
        enrol(
            terms(),
            caller=VIDEO,
            membership_id="m",
            member_ref="a",
            term=YEARLY,
            score=None,
            fee_minor=88_800,
            now_ms=NOW,
        )
    assert caught.value.reason == "NOT_SELLER"


def test_enrolling_for_a_term_not_offered_is_refused() -> None:
    agreed = terms(offers=[TermOffer(YEARLY, 88_800)], partners=[yearly_only()])
    with pytest.raises(InvalidArgument) as caught:
        enrol(
            agreed, caller=SELLER, membership_id="m", member_ref="a", term=MONTHLY, score=None, fee_minor=1, now_ms=NOW
        )
    assert caught.value.reason == "TERM_NOT_OFFERED"


def test_enrolling_for_a_fee_other_than_the_agreed_one_for_the_score_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        enrol(
            terms(),
            caller=SELLER,
            membership_id="m",
            member_ref="a",
            term=YEARLY,
            score=999,
            fee_minor=8_800,
            now_ms=NOW,
        )
    assert (caught.value.reason, caught.value.field) == ("FEE_MISMATCH", "fee_minor")


def test_enrolling_before_or_after_the_terms_are_in_force_is_refused() -> None:
    for at in (NOW - 1, NOW + 3 * 365 * DAY_MS):
        with pytest.raises(FailedPrecondition) as caught:
            enrolled(MONTHLY, None, at=at)
        assert caught.value.reason == "TERMS_NOT_IN_FORCE"


def test_a_term_that_would_outlast_the_terms_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        enrolled(YEARLY, None, at=NOW + 3 * 365 * DAY_MS - 30 * DAY_MS)
    assert caught.value.reason == "TERM_OUTLASTS_TERMS"


def test_an_empty_member_ref_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        enrol(
            terms(),
            caller=SELLER,
            membership_id="m",
            member_ref=" ",
            term=YEARLY,
            score=None,
            fee_minor=88_800,
            now_ms=NOW,
        )
    assert caught.value.reason == "EMPTY_FIELD"


def test_enrolling_twice_for_overlapping_time_is_refused() -> None:
    first = enrolled()
    with pytest.raises(AlreadyExists) as caught:
        enrol(
            terms(),
            caller=SELLER,
            membership_id="mbr_2",
            member_ref="alice",
            term=MONTHLY,
            score=None,
            fee_minor=9_900,
            now_ms=NOW + 10 * DAY_MS,
            existing=[first],
        )
    assert caught.value.reason == "ALREADY_ENROLLED"


def test_another_member_or_programme_does_not_overlap() -> None:
    first = enrolled()
    check_no_overlap([first], programme_id="vip88", member_ref="bob", start_ms=NOW, end_ms=NOW + DAY_MS)
    check_no_overlap([first], programme_id="plus", member_ref="alice", start_ms=NOW, end_ms=NOW + DAY_MS)


def test_a_member_may_enrol_again_once_a_membership_has_ended() -> None:
    cancelled = cancel(enrolled(), caller=SELLER, now_ms=NOW + 10 * DAY_MS)
    check_no_overlap(
        [cancelled], programme_id="vip88", member_ref="alice", start_ms=NOW + 10 * DAY_MS, end_ms=NOW + 40 * DAY_MS
    )
    lapsed = lapse_if_due(enrolled(), add_months(NOW, 12))
    assert lapsed is not None
    check_no_overlap(
        [lapsed], programme_id="vip88", member_ref="alice", start_ms=lapsed.end_ms, end_ms=lapsed.end_ms + DAY_MS
    )


def test_renewing_starts_the_next_term_where_the_last_ended() -> None:
    membership = enrolled()
    renewed = renew(membership, terms(), caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=NOW + DAY_MS)
    assert renewed.terms[1].start_ms == membership.end_ms
    assert renewed.terms[1].end_ms == add_months(NOW, 13)


def test_renewing_twice_ahead_is_refused() -> None:
    renewed = renew(enrolled(), terms(), caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=NOW + DAY_MS)
    with pytest.raises(FailedPrecondition) as caught:
        renew(renewed, terms(), caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=NOW + 2 * DAY_MS)
    assert caught.value.reason == "ALREADY_RENEWED"


def test_renewing_for_the_wrong_fee_is_refused() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        renew(enrolled(), terms(), caller=SELLER, term=YEARLY, score=1_000, fee_minor=88_800, now_ms=NOW + DAY_MS)
    assert caught.value.reason == "FEE_MISMATCH"


def test_a_failed_renewal_keeps_benefits_until_the_end_plus_grace() -> None:
    membership = renewal_failed(enrolled(), caller=SELLER, now_ms=NOW + DAY_MS)
    grace_end = add_months(NOW, 12) + 7 * DAY_MS
    assert (membership.state, membership.grace_until_ms) == (MembershipState.IN_GRACE, grace_end)
    assert is_active_at(membership, grace_end - 1)
    assert not is_active_at(membership, grace_end)
    assert (
        renewal_failed(membership, caller=SELLER, now_ms=NOW + 2 * DAY_MS) == membership
    )  # the grace does not restart


def test_renewing_in_grace_makes_the_membership_active_again() -> None:
    in_grace = renewal_failed(enrolled(), caller=SELLER, now_ms=NOW + DAY_MS)
    at = in_grace.end_ms + 3 * DAY_MS
    renewed = renew(in_grace, terms(), caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=at)
    assert (renewed.state, renewed.grace_until_ms) == (MembershipState.ACTIVE, None)
    assert renewed.terms[1].start_ms == in_grace.end_ms


def test_a_grace_lapses_when_it_ends_and_not_before() -> None:
    in_grace = renewal_failed(enrolled(), caller=SELLER, now_ms=NOW + DAY_MS)
    assert in_grace.grace_until_ms is not None
    assert lapse_if_due(in_grace, in_grace.grace_until_ms - 1) is None
    lapsed = lapse_if_due(in_grace, in_grace.grace_until_ms + DAY_MS)
    assert lapsed is not None
    assert (lapsed.state, lapsed.ended_at_ms) == (MembershipState.LAPSED, in_grace.grace_until_ms)


def test_an_active_membership_not_renewed_lapses_at_its_end() -> None:
    membership = enrolled()
    assert lapse_if_due(membership, membership.end_ms - 1) is None
    lapsed = lapse_if_due(membership, membership.end_ms)
    assert lapsed is not None and lapsed.ended_at_ms == membership.end_ms
    assert lapse_if_due(lapsed, membership.end_ms + DAY_MS) is None


def test_a_lapsed_membership_is_neither_renewed_nor_cancelled() -> None:
    membership = enrolled()
    late = membership.end_ms + DAY_MS
    attempts: tuple[Callable[[Membership], Membership], ...] = (
        lambda m: renew(m, terms(), caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=late),
        lambda m: renewal_failed(m, caller=SELLER, now_ms=late),
        lambda m: cancel(m, caller=SELLER, now_ms=late),
    )
    for attempt in attempts:
        with pytest.raises(FailedPrecondition) as caught:
            attempt(membership)  # its end has passed: lapsed, even before lapse_if_due records it
        assert caught.value.reason == "MEMBERSHIP_LAPSED"


def test_cancelling_refunds_unused_days_pro_rata_and_partners_give_back_their_part() -> None:
    membership = enrolled()
    cancelled = cancel(membership, caller=SELLER, now_ms=NOW + 100 * DAY_MS)
    days = (membership.end_ms - NOW) // DAY_MS
    expected = 8_800 * (days - 100) // days
    assert (cancelled.state, refund_of(cancelled)) == (MembershipState.CANCELLED, expected)
    assert not is_active_at(cancelled, NOW + 100 * DAY_MS)
    back = 2_200 * expected // 8_800
    assert refund_obligations(cancelled) == [
        Obligation(SELLER, FOOD, -back, "CNY"),
        Obligation(SELLER, VIDEO, -back, "CNY"),
    ]


def test_cancelling_refunds_a_term_paid_ahead_in_full() -> None:
    renewed = renew(enrolled(), terms(), caller=SELLER, term=MONTHLY, score=None, fee_minor=9_900, now_ms=NOW + DAY_MS)
    cancelled = cancel(renewed, caller=SELLER, now_ms=renewed.terms[1].start_ms - DAY_MS)
    assert [t.refund_minor for t in cancelled.terms] == [
        8_800 * 1 // ((renewed.terms[0].end_ms - NOW) // DAY_MS),
        9_900,
    ]


def test_under_no_refund_rule_cancelling_refunds_nothing() -> None:
    cancelled = cancel(enrolled(refund_rule=RefundRule.NONE), caller=SELLER, now_ms=NOW + DAY_MS)
    assert refund_of(cancelled) == 0
    assert refund_obligations(cancelled) == []


def test_cancelling_a_cancelled_membership_is_refused() -> None:
    cancelled = cancel(enrolled(), caller=SELLER, now_ms=NOW + DAY_MS)
    with pytest.raises(FailedPrecondition) as caught:
        cancel(cancelled, caller=SELLER, now_ms=NOW + 2 * DAY_MS)
    assert caught.value.reason == "ALREADY_CANCELLED"


def test_only_the_seller_cancels_or_reports_a_failed_renewal() -> None:
    attempts: tuple[Callable[[], Membership], ...] = (
        lambda: cancel(enrolled(), caller=VIDEO, now_ms=NOW + DAY_MS),
        lambda: renewal_failed(enrolled(), caller=VIDEO, now_ms=NOW + DAY_MS),
        lambda: renew(enrolled(), terms(), caller=VIDEO, term=MONTHLY, score=None, fee_minor=9_900, now_ms=NOW + 1),
    )
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as caught:
            attempt()
        assert caught.value.reason == "NOT_SELLER"


def test_benefits_are_honoured_only_within_a_paid_term() -> None:
    membership = enrolled()
    assert not is_active_at(membership, NOW - 1)
    assert is_active_at(membership, NOW)
    assert is_active_at(membership, membership.end_ms - 1)
    assert not is_active_at(membership, membership.end_ms)


def test_a_collected_fee_makes_the_seller_owe_each_partner_its_share() -> None:
    zero_food = [partner(VIDEO), partner(FOOD, yearly=FixedShare(0))]
    membership = enrolled(partners=zero_food)
    assert fee_obligations(membership, membership.terms[0]) == [Obligation(SELLER, VIDEO, 2_200, "CNY")]


def test_the_seller_and_partners_see_a_membership_and_strangers_do_not() -> None:
    membership = enrolled()
    assert require_visible(membership, VIDEO, "mbr_1") is membership
    assert require_visible(membership, SELLER, "mbr_1") is membership
    for caller, found in ((STRANGER, membership), (SELLER, None)):
        with pytest.raises(NotFound) as caught:
            require_visible(found, caller, "mbr_1")
        assert caught.value.reason == "MEMBERSHIP_NOT_FOUND"


def test_a_membership_keeps_its_invariants() -> None:
    membership = enrolled()
    with pytest.raises(AssertionError):
        replace(membership, state=MembershipState.IN_GRACE)
    with pytest.raises(AssertionError):
        replace(membership.terms[0], shares=((VIDEO, 9_000),))
