"""Vouchers under a voucher agreement of their own, end to end through the SDK on both databases.

Brewhaus funds 3.00 coffee vouchers its members use at Voltline's café corner, valid 14 days, at
most 2 a month; Voltline honours them and Brewhaus pays Voltline for each one redeemed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from partner_sdk import (
    FailedPreconditionError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
)
from partner_sdk.memberships import VoucherTerms
from partner_sdk.settlement import verify_statement
from tests.conftest import RunningHub
from tests.e2e.plus_programme import DAY_MS, Coalition


def coffee_terms(hub: RunningHub, **changes: object) -> VoucherTerms:
    now = hub.clock.now()
    terms = VoucherTerms(
        funder_partner_id="brewhaus",
        honouring_partner_id="voltline",
        version=1,
        value_minor=300,
        currency="EUR",
        validity_days=14,
        monthly_limit=2,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=90),
    )
    return replace(terms, **changes)  # type: ignore[arg-type]


@pytest.fixture
def coffee(plus_brands: Coalition) -> Coalition:
    proposed = plus_brands.brewhaus.propose_voucher_agreement(coffee_terms(plus_brands.hub))
    assert proposed.status == "PROPOSED"
    assert plus_brands.voltline.accept_voucher_agreement(proposed.agreement_id).status == "ACTIVE"
    code = plus_brands.brewhaus.create_link_code("b-1")
    plus_brands.voltline.redeem_link_code(code.code, member_ref="v-1")
    return plus_brands


def test_a_voucher_the_funder_issues_is_redeemed_once_at_the_honouring_brand_and_paid_by_the_funder(
    coffee: Coalition,
) -> None:
    voucher = coffee.brewhaus.issue_voucher("voltline", member_ref="b-1", idempotency_key="coffee-b-1-001")
    assert (voucher.state, voucher.value_minor, voucher.funder_partner_id, voucher.membership_id) == (
        "ISSUED",
        300,
        "brewhaus",
        "",
    )
    assert voucher.agreement_id and voucher.expires_at - voucher.valid_from == timedelta(days=14)
    again = coffee.brewhaus.issue_voucher("voltline", member_ref="b-1", idempotency_key="coffee-b-1-001")
    assert again.voucher_id == voucher.voucher_id  # a retry issues nothing more
    seen = coffee.voltline.get_voucher(voucher.voucher_id)
    assert (seen.member_ref, seen.state) == ("v-1", "ISSUED")  # the honouring brand knows the member as its own
    with pytest.raises(PermissionDeniedError):
        coffee.brewhaus.redeem_voucher(voucher.voucher_id, reference="till-1")  # the funder does not honour it
    used = coffee.voltline.redeem_voucher(voucher.voucher_id, reference="till-1")
    assert used.state == "REDEEMED"
    with pytest.raises(FailedPreconditionError) as twice:
        coffee.voltline.redeem_voucher(voucher.voucher_id, reference="till-2")
    assert twice.value.reason == "VOUCHER_ALREADY_REDEEMED"
    operator = coffee.hub.operator()
    closed, _, _ = operator.close_period(operator.get_period().period_id)
    statement_id = f"stm-{closed.period_id[4:]}-voltline"
    moved = [(m.kind, m.amount_minor) for m in coffee.voltline.iter_statement_movements(statement_id)]
    assert moved == [("VOUCHER_REDEMPTION", 300)]
    (line,) = verify_statement(coffee.voltline.get_statement(statement_id), coffee.hub.hub_public_key).counterparties
    assert (line.counterparty, line.money_receivable_minor) == ("brewhaus", 300)


def test_each_refusal_of_an_issue_is_typed(coffee: Coalition) -> None:
    coffee.brewhaus.issue_voucher("voltline", member_ref="b-1")
    coffee.brewhaus.issue_voucher("voltline", member_ref="b-1")
    with pytest.raises(ResourceExhaustedError) as limit:
        coffee.brewhaus.issue_voucher("voltline", member_ref="b-1")
    assert limit.value.reason == "MONTHLY_LIMIT"
    with pytest.raises(FailedPreconditionError) as no_agreement:
        coffee.voltline.issue_voucher("brewhaus", member_ref="v-1")  # the agreement goes one way
    assert no_agreement.value.reason == "NO_VOUCHER_AGREEMENT"
    coffee.brewhaus.create_link_code("b-lonely")
    with pytest.raises(FailedPreconditionError) as unlinked:
        coffee.brewhaus.issue_voucher("voltline", member_ref="b-lonely")
    assert unlinked.value.reason == "MEMBER_NOT_LINKED"
    with pytest.raises(NotFoundError):
        coffee.brewhaus.issue_voucher("voltline", member_ref="b-nobody")
    outsider, _ = coffee.hub.active_partner("pacer")
    proposed = coffee.brewhaus.propose_voucher_agreement(coffee_terms(coffee.hub, version=2))
    with pytest.raises(NotFoundError):
        outsider.get_voucher_agreement(proposed.agreement_id)


def test_an_unused_voucher_expires_and_its_value_stays_with_its_funder(coffee: Coalition) -> None:
    voucher = coffee.brewhaus.issue_voucher("voltline", member_ref="b-1")
    coffee.hub.clock.advance(15 * DAY_MS)
    assert coffee.hub.server.expire_overdue_once() >= 1
    assert coffee.brewhaus.get_voucher(voucher.voucher_id).state == "EXPIRED"
    with pytest.raises(FailedPreconditionError) as late:
        coffee.voltline.redeem_voucher(voucher.voucher_id, reference="till-9")
    assert late.value.reason == "VOUCHER_EXPIRED"


def test_a_new_version_supersedes_the_old_and_an_older_one_is_not_accepted_after_it(coffee: Coalition) -> None:
    second = coffee.brewhaus.propose_voucher_agreement(coffee_terms(coffee.hub, version=2, value_minor=400))
    third = coffee.brewhaus.propose_voucher_agreement(coffee_terms(coffee.hub, version=3, value_minor=500))
    assert coffee.voltline.accept_voucher_agreement(third.agreement_id).status == "ACTIVE"
    with pytest.raises(FailedPreconditionError) as outdated:
        coffee.voltline.accept_voucher_agreement(second.agreement_id)
    assert outdated.value.reason == "AGREEMENT_SUPERSEDED"
    assert coffee.brewhaus.issue_voucher("voltline", member_ref="b-1").value_minor == 500
    with pytest.raises(FailedPreconditionError) as twice:
        coffee.voltline.accept_voucher_agreement(third.agreement_id)  # accepted already
    assert twice.value.reason == "AGREEMENT_NOT_PROPOSED"
