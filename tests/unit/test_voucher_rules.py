"""Voucher rules of a membership benefit: periods, issue, redeem, expire and who owes whom; no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.membership_terms import (
    FixedShare,
    MembershipTerms,
    PartnerTerms,
    RefundRule,
    TermLength,
    TermOffer,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
    validate_terms,
)
from exchange.domain.memberships import Membership, Obligation, cancel, enrol, renewal_failed
from exchange.domain.vouchers import (
    Voucher,
    VoucherState,
    breakage_minor,
    expire,
    issue_for_period,
    periods_of,
    redeem,
    redemption_obligation,
    require_visible,
    voucher_id_of,
)

DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SELLER = "tmall"
FOOD = "eleme"
STRANGER = "voltline"
BY_SELLER = Vouchers(2, VoucherPeriod.MONTHLY, 500, 30, VoucherFunding.SELLER)
BY_PARTNER = Vouchers(1, VoucherPeriod.WEEKLY, 300, 7, VoucherFunding.PARTNER)


def ms(year: int, month: int, day: int) -> int:
    return (datetime(year, month, day, tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)


START = ms(2027, 1, 31)


def programme() -> MembershipTerms:
    return validate_terms(
        programme_id="vip88",
        version=1,
        name="88VIP",
        seller_partner_id=SELLER,
        currency="CNY",
        offers=[TermOffer(TermLength.MONTHLY, 9_900), TermOffer(TermLength.YEARLY, 88_800)],
        partners=[
            PartnerTerms(
                FOOD,
                (BY_SELLER, BY_PARTNER),
                ((TermLength.MONTHLY, FixedShare(1_000)), (TermLength.YEARLY, FixedShare(10_000))),
            )
        ],
        refund_rule=RefundRule.PRO_RATA,
        grace_days=7,
        valid_from_ms=START,
        valid_until_ms=START + 3 * 365 * DAY_MS,
    )


def membership(term: TermLength = TermLength.MONTHLY) -> Membership:
    fee = 9_900 if term is TermLength.MONTHLY else 88_800
    return enrol(
        programme(),
        caller=SELLER,
        membership_id="mbr_1",
        member_ref="alice",
        term=term,
        score=None,
        fee_minor=fee,
        now_ms=START,
    )


def voucher(benefit: Vouchers = BY_SELLER) -> Voucher:
    return issue_for_period(benefit, membership=membership(), honouring_partner_id=FOOD, period_start_ms=START)[0]


def test_monthly_periods_follow_the_calendar_from_the_terms_start_and_stop_at_its_end() -> None:
    term = membership(TermLength.YEARLY).terms[0]
    periods = periods_of(BY_SELLER, term)
    assert len(periods) == 12
    assert periods[:3] == [
        (START, ms(2027, 2, 28)),
        (ms(2027, 2, 28), ms(2027, 3, 31)),
        (ms(2027, 3, 31), ms(2027, 4, 30)),
    ]
    assert periods[-1][1] == term.end_ms


def test_weekly_periods_are_seven_days_the_last_cut_at_the_terms_end() -> None:
    term = membership().terms[0]  # 31 January to 28 February 2027: exactly four weeks
    assert periods_of(BY_PARTNER, term) == [(START + k * 7 * DAY_MS, START + (k + 1) * 7 * DAY_MS) for k in range(4)]
    longer = membership(TermLength.YEARLY).terms[0]
    last = periods_of(BY_PARTNER, longer)[-1]
    assert last[1] == longer.end_ms and last[1] - last[0] < 7 * DAY_MS


def test_a_period_issues_per_period_vouchers_with_stable_ids_valid_for_validity_days() -> None:
    issued = issue_for_period(BY_SELLER, membership=membership(), honouring_partner_id=FOOD, period_start_ms=START)
    assert [v.voucher_id for v in issued] == [voucher_id_of("mbr_1", FOOD, START, n) for n in (1, 2)]
    assert {(v.value_minor, v.currency, v.member_ref, v.state) for v in issued} == {
        (500, "CNY", "alice", VoucherState.ISSUED)
    }
    assert all(v.expires_at_ms == START + 30 * DAY_MS for v in issued)
    again = issue_for_period(BY_SELLER, membership=membership(), honouring_partner_id=FOOD, period_start_ms=START)
    assert again == issued


def test_the_benefits_funding_names_who_pays_for_a_voucher() -> None:
    assert (voucher(BY_SELLER).funder_partner_id, voucher(BY_SELLER).honouring_partner_id) == (SELLER, FOOD)
    assert voucher(BY_PARTNER).funder_partner_id == FOOD


def test_no_vouchers_are_issued_for_a_period_the_membership_does_not_cover() -> None:
    ended = cancel(membership(), caller=SELLER, now_ms=START + DAY_MS)
    for member, at in ((membership(), START - DAY_MS), (ended, START + 7 * DAY_MS)):
        with pytest.raises(FailedPrecondition) as caught:
            issue_for_period(BY_SELLER, membership=member, honouring_partner_id=FOOD, period_start_ms=at)
        assert caught.value.reason == "MEMBERSHIP_NOT_ACTIVE"


def test_vouchers_are_issued_in_grace() -> None:
    in_grace = renewal_failed(membership(), caller=SELLER, now_ms=START + DAY_MS)
    at = in_grace.end_ms + DAY_MS
    assert issue_for_period(BY_PARTNER, membership=in_grace, honouring_partner_id=FOOD, period_start_ms=at)


def test_the_honouring_partner_redeems_a_voucher_once() -> None:
    redeemed = redeem(voucher(), caller=FOOD, now_ms=START + DAY_MS, reference=" order-1 ")
    assert (redeemed.state, redeemed.redeemed_at_ms, redeemed.reference) == (
        VoucherState.REDEEMED,
        START + DAY_MS,
        "order-1",
    )
    with pytest.raises(FailedPrecondition) as caught:
        redeem(redeemed, caller=FOOD, now_ms=START + 2 * DAY_MS, reference="order-2")
    assert caught.value.reason == "VOUCHER_ALREADY_REDEEMED"


def test_an_expired_voucher_is_not_redeemed_and_the_refusal_is_final() -> None:
    for expired_one, at in ((voucher(), START + 30 * DAY_MS), (expire(voucher(), START + 30 * DAY_MS), START + DAY_MS)):
        assert expired_one is not None
        with pytest.raises(FailedPrecondition) as caught:
            redeem(expired_one, caller=FOOD, now_ms=at, reference="order-1")
        assert (caught.value.reason, caught.value.final) == ("VOUCHER_EXPIRED", True)


def test_a_voucher_is_not_redeemed_before_its_period() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        redeem(voucher(), caller=FOOD, now_ms=START - 1, reference="order-1")
    assert caught.value.reason == "VOUCHER_NOT_YET_VALID"


def test_a_stranger_is_told_the_voucher_does_not_exist() -> None:
    with pytest.raises(NotFound) as caught:
        redeem(voucher(), caller=STRANGER, now_ms=START + DAY_MS, reference="order-1")
    assert (caught.value.reason, caught.value.field) == ("VOUCHER_NOT_FOUND", "voucher_id")
    with pytest.raises(NotFound):
        require_visible(None, FOOD, "vch-x")


def test_the_funder_sees_a_voucher_but_may_not_redeem_it() -> None:
    assert require_visible(voucher(), SELLER, "v") == voucher()
    with pytest.raises(PermissionDenied) as caught:
        redeem(voucher(), caller=SELLER, now_ms=START + DAY_MS, reference="order-1")
    assert caught.value.reason == "NOT_HONOURING_PARTNER"


def test_a_redemption_needs_a_reference() -> None:
    with pytest.raises(InvalidArgument) as caught:
        redeem(voucher(), caller=FOOD, now_ms=START + DAY_MS, reference="")
    assert caught.value.reason == "EMPTY_FIELD"


def test_expiring_only_takes_issued_vouchers_whose_time_has_come() -> None:
    assert expire(voucher(), START + 30 * DAY_MS - 1) is None
    expired = expire(voucher(), START + 30 * DAY_MS)
    assert expired is not None and expired.state is VoucherState.EXPIRED
    redeemed = redeem(voucher(), caller=FOOD, now_ms=START, reference="order-1")
    assert expire(redeemed, START + 365 * DAY_MS) is None


def test_a_redeemed_seller_funded_voucher_makes_the_seller_owe_the_partner_its_value() -> None:
    redeemed = redeem(voucher(BY_SELLER), caller=FOOD, now_ms=START, reference="order-1")
    assert redemption_obligation(redeemed) == Obligation(SELLER, FOOD, 500, "CNY")


def test_a_partner_funded_voucher_moves_no_money() -> None:
    redeemed = redeem(voucher(BY_PARTNER), caller=FOOD, now_ms=START, reference="order-1")
    assert redemption_obligation(redeemed) is None


def test_breakage_is_the_funders_and_moves_no_money() -> None:
    expired = expire(voucher(), START + 30 * DAY_MS)
    assert expired is not None
    assert breakage_minor(expired) == 500
    with pytest.raises(AssertionError):
        breakage_minor(voucher())
    with pytest.raises(AssertionError):
        redemption_obligation(expired)


def test_a_voucher_keeps_its_invariants() -> None:
    with pytest.raises(AssertionError):
        replace(voucher(), value_minor=0)
    with pytest.raises(AssertionError):
        replace(voucher(), state=VoucherState.REDEEMED)
