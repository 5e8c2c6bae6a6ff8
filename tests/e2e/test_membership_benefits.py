"""At a partner's checkout: a membership's vouchers and its pass, end to end through the SDK on both databases.

Coalition Plus (tests/e2e/plus_programme.py) gives, at Voltline, a 5.00 voucher a month that
Stride funds, valid 30 days; at Brewhaus, a free coffee (a text benefit) and free delivery.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy

from exchange.store.tables import movements, vouchers
from partner_sdk import (
    FailedPreconditionError,
    MembershipPassVerificationError,
    NotFoundError,
    PermissionDeniedError,
    verify_membership_pass,
)
from partner_sdk.settlement import verify_statement
from partner_sdk.settlement_csv import write_movements_csv
from tests.e2e.plus_programme import DAY_MS, PLUS, Coalition, plus_terms


def _enrolled(plus: Coalition, ref: str, term: str = "YEARLY") -> str:
    plus.link(plus.voltline, ref, f"v-{ref}")
    fee = 88_800 if term == "YEARLY" else 900
    membership = plus.stride.enrol(PLUS, member_ref=ref, term=term, fee_minor=fee)  # type: ignore[arg-type]
    (grant,) = plus.voltline.pull_instructions(wait_s=0)
    plus.voltline.acknowledge_instruction(grant.instruction_id, partner_reference=f"plus-{ref}")
    return membership.membership_id


def test_a_member_gets_this_months_voucher_at_once_and_next_months_when_it_begins(plus: Coalition) -> None:
    membership_id = _enrolled(plus, "s-10")
    (first,) = plus.voltline.list_vouchers(membership_id).items
    assert (first.state, first.value_minor, first.funder_partner_id, first.member_ref) == (
        "ISSUED",
        500,
        "stride",
        "v-s-10",
    )
    assert first.expires_at - first.valid_from == timedelta(days=30)
    assert plus.brewhaus.list_vouchers(membership_id).items == ()  # Brewhaus gives no vouchers
    assert len(plus.stride.list_vouchers(membership_id).items) == 1  # the seller sees every voucher
    plus.hub.clock.advance(32 * DAY_MS)
    assert plus.hub.server.expire_overdue_once() >= 2  # next month's voucher issued, this one expired
    paged = [(v.valid_from, v.state) for v in plus.voltline.iter_vouchers(membership_id, page_size=1)]
    assert paged == sorted(paged) and [state for _, state in paged] == ["EXPIRED", "ISSUED"]  # oldest first
    plus.hub.server.expire_overdue_once()
    assert len(list(plus.voltline.iter_vouchers(membership_id))) == 2  # issuing again issues nothing twice


def test_a_voucher_is_redeemed_once_by_its_partner_and_the_seller_owes_its_value(plus: Coalition) -> None:
    membership_id = _enrolled(plus, "s-11")
    (voucher,) = plus.voltline.list_vouchers(membership_id).items
    with pytest.raises(NotFoundError):
        plus.brewhaus.redeem_voucher(voucher.voucher_id, reference="order-1")  # not Brewhaus's to see
    with pytest.raises(PermissionDeniedError):
        plus.stride.redeem_voucher(voucher.voucher_id, reference="order-1")  # the funder does not honour it
    used = plus.voltline.redeem_voucher(voucher.voucher_id, reference="volt-order-7", idempotency_key="redeem-s-11")
    assert (used.state, used.reference) == ("REDEEMED", "volt-order-7")
    again = plus.voltline.redeem_voucher(voucher.voucher_id, reference="volt-order-7", idempotency_key="redeem-s-11")
    assert again.redeemed_at == used.redeemed_at  # a retry gets the same answer
    with pytest.raises(FailedPreconditionError) as twice:
        plus.voltline.redeem_voucher(voucher.voucher_id, reference="volt-order-8")
    assert twice.value.reason == "VOUCHER_ALREADY_REDEEMED"

    operator = plus.hub.operator()
    closed, _, _ = operator.close_period(operator.get_period().period_id)
    statement_id = f"stm-{closed.period_id[4:]}-voltline"
    kinds = sorted((m.kind, m.amount_minor) for m in plus.voltline.iter_statement_movements(statement_id))
    assert kinds == [("MEMBERSHIP_FEE_SHARE", 8_880), ("VOUCHER_REDEMPTION", 500)]
    (line,) = verify_statement(plus.voltline.get_statement(statement_id), plus.hub.hub_public_key).counterparties
    assert line.money_receivable_minor - line.money_payable_minor == 8_880 + 500


def test_an_expired_voucher_is_refused_for_good_and_its_value_stays_with_its_funder(plus: Coalition) -> None:
    membership_id = _enrolled(plus, "s-12")
    (voucher,) = plus.voltline.list_vouchers(membership_id).items
    plus.hub.clock.advance(31 * DAY_MS)
    with pytest.raises(FailedPreconditionError) as late:
        plus.voltline.redeem_voucher(voucher.voucher_id, reference="too-late-1")
    assert late.value.reason == "VOUCHER_EXPIRED"
    with plus.hub.database.engine.connect() as connection:
        state = connection.execute(
            sqlalchemy.select(vouchers.c.state).where(vouchers.c.voucher_id == voucher.voucher_id)
        ).scalar_one()
        redeemed = connection.execute(
            sqlalchemy.select(sqlalchemy.func.count())
            .select_from(movements)
            .where(movements.c.kind == "VOUCHER_REDEMPTION")
        ).scalar_one()
    assert (state, redeemed) == ("EXPIRED", 0)


def test_a_partners_checkout_verifies_a_pass_offline_and_refuses_a_bad_one(plus: Coalition) -> None:
    membership_id = _enrolled(plus, "s-13")
    membership_pass = plus.voltline.issue_membership_pass(membership_id)
    document = verify_membership_pass(membership_pass, plus.hub.hub_public_key, partner_id="voltline")
    (link,) = plus.voltline.list_links("v-s-13")
    assert (document.membership_id, document.programme_id, document.pairwise_member_id) == (
        membership_id,
        PLUS,
        link.pairwise_member_id,
    )
    assert document.benefits == plus_terms(plus.hub).partners[0].benefits
    assert document.valid_until - document.issued_at == timedelta(minutes=15)
    with pytest.raises(MembershipPassVerificationError):
        verify_membership_pass(membership_pass, plus.hub.hub_public_key, partner_id="brewhaus")  # not its pass
    with pytest.raises(MembershipPassVerificationError):
        verify_membership_pass(
            membership_pass, plus.hub.hub_public_key, partner_id="voltline", now=document.valid_until
        )  # expired
    with pytest.raises(FailedPreconditionError):
        plus.brewhaus.issue_membership_pass(membership_id)  # the member is not linked at Brewhaus yet
    plus.stride.cancel_membership(membership_id)
    with pytest.raises(FailedPreconditionError) as ended:
        plus.voltline.issue_membership_pass(membership_id)
    assert ended.value.reason == "MEMBERSHIP_NOT_ACTIVE"


def test_a_period_of_fees_refunds_and_vouchers_balances_and_each_brand_reconciles_it_with_no_break(
    plus: Coalition,
) -> None:
    kept = _enrolled(plus, "s-14")
    (voucher,) = plus.voltline.list_vouchers(kept).items
    plus.voltline.redeem_voucher(voucher.voucher_id, reference="volt-order-14")
    cancelled = _enrolled(plus, "s-15", term="MONTHLY")
    plus.hub.clock.advance(3 * DAY_MS)
    refund = plus.stride.cancel_membership(cancelled).terms[0].refund_minor
    operator = plus.hub.operator()
    closed, _, _ = operator.close_period(operator.get_period().period_id)
    net: dict[str, int] = {}
    for name, brand in (("stride", plus.stride), ("voltline", plus.voltline), ("brewhaus", plus.brewhaus)):
        statement_id = f"stm-{closed.period_id[4:]}-{name}"
        statement = brand.get_statement(statement_id)
        document = verify_statement(statement, plus.hub.hub_public_key)
        net[name] = sum(line.money_receivable_minor - line.money_payable_minor for line in document.counterparties)
        moved = list(brand.iter_statement_movements(statement_id))
        out = io.StringIO()
        write_movements_csv(
            out, period_id=closed.period_id, partner_id=name, statement_id=statement_id, movements=moved
        )
        report = brand.reconcile(closed.period_id, out.getvalue().splitlines())
        assert (report.breaks, report.matched) == (0, len(moved)), name
    assert sum(net.values()) == 0  # what one brand is owed, the others owe
    assert 0 < refund < 900
    # Each partner: its shares (a tenth of 88.00 and of 9.00; 5.00 and 0.50), less its part of the
    # monthly refund rounded down, and Voltline the voucher Stride funds.
    assert net["voltline"] == 8_880 + 90 - 90 * refund // 900 + 500
    assert net["brewhaus"] == 500 + 50 - 50 * refund // 900
