"""Earning at a partner: a fitness brand awards a sports brand's points to a linked member, and pays for them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
import sqlalchemy

from exchange.store.tables import awards, instructions
from partner_sdk import ExchangeClient, FailedPreconditionError, InvalidArgumentError, PermissionDeniedError
from partner_sdk.accruals import AccrualTerms, AwardItem
from partner_sdk.settlement import verify_statement
from tests.conftest import RunningHub


def accrual_terms(**changes: object) -> AccrualTerms:
    now = datetime.now(UTC)
    base = AccrualTerms(
        awarder_partner_id="pacer",
        issuer_partner_id="stride",
        version=1,
        activity_types=("run_logged", "streak_7_days"),
        price_per_point_minor=Fraction(1, 4),
        settlement_currency="EUR",
        monthly_budget_points=1_000,
        monthly_budget_minor=100_000,
        member_daily_cap_points=900,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Alliance:
    """Pacer (fitness app, awarder) and Stride (sports brand, issuer), one member linked at both."""

    hub: RunningHub
    pacer: ExchangeClient
    stride: ExchangeClient
    member: str  # Pacer's pairwise id for the member

    def item(self, points: int, reference: str = "run-1", **changes: object) -> AwardItem:
        base = AwardItem("stride", self.member, "run_logged", reference, points)
        return replace(base, **changes)  # type: ignore[arg-type]

    def count(self, table: sqlalchemy.Table) -> int:
        with self.hub.database.engine.connect() as connection:
            return int(connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)).scalar_one())


@pytest.fixture
def alliance(hub: RunningHub) -> Alliance:
    pacer, _ = hub.active_partner("pacer", currency="EUR")
    stride, _ = hub.active_partner("stride", currency="EUR")
    code = stride.create_link_code("stride-member-1")
    link = pacer.redeem_link_code(code.code, member_ref="pacer-user-9")
    proposed = pacer.propose_accrual_agreement(accrual_terms())
    accepted = stride.accept_accrual_agreement(proposed.agreement_id)
    assert (proposed.status, accepted.status) == ("PROPOSED", "ACTIVE")
    return Alliance(hub, pacer, stride, link.pairwise_member_id)


def test_an_award_is_credited_by_the_issuer_and_settles_as_money_owed_by_the_awarder(alliance: Alliance) -> None:
    result = alliance.pacer.award(alliance.item(400))
    assert result.ok and result.award is not None
    award = result.award
    assert (award.state, award.points, award.settlement_amount_minor) == ("PENDING_CREDIT", 400, 100)
    (credit,) = alliance.stride.pull_instructions(wait_s=0)
    assert (credit.kind, credit.award_id, credit.member_ref, credit.points) == (
        "CREDIT",
        award.award_id,
        "stride-member-1",
        400,
    )
    assert alliance.stride.get_award(award.award_id).pairwise_member_id == ""  # Pacer's id stays with Pacer
    alliance.stride.acknowledge_instruction(credit.instruction_id, partner_reference="stride-ledger-77")
    assert alliance.pacer.get_award(award.award_id).state == "COMPLETED"
    operator = alliance.hub.operator()
    closed, _, _ = operator.close_period(operator.get_period().period_id)
    statement = alliance.stride.get_statement(f"stm-{closed.period_id[4:]}-stride")
    doc = verify_statement(statement, alliance.hub.hub_public_key)
    (line,) = doc.counterparties
    assert (line.counterparty, line.points_issued_for_counterparty, line.money_receivable_minor) == ("pacer", 400, 100)
    (movement,) = alliance.stride.iter_statement_movements(statement.statement_id)
    assert (movement.kind, movement.movement_id) == ("ACCRUAL", award.award_id)


def test_a_rejected_award_is_void_and_gives_the_budget_back(alliance: Alliance) -> None:
    first = alliance.pacer.award(alliance.item(800))
    over = alliance.pacer.award(alliance.item(300, "run-2"))
    assert (over.ok, over.error_code, over.error_reason) == (False, "RESOURCE_EXHAUSTED", "MONTHLY_BUDGET")
    (credit,) = alliance.stride.pull_instructions(wait_s=0)
    alliance.stride.reject_instruction(credit.instruction_id, reason="member account closed")
    assert first.award is not None
    voided = alliance.pacer.get_award(first.award.award_id)
    assert voided.state == "VOIDED" and "member account closed" in voided.void_reason
    assert alliance.pacer.award(alliance.item(300, "run-2")).ok  # the budget is back


def test_the_member_daily_cap_counts_every_award_of_the_day(alliance: Alliance) -> None:
    assert alliance.pacer.award(alliance.item(600)).ok
    capped = alliance.pacer.award(alliance.item(301, "run-2"))
    assert (capped.error_code, capped.error_reason) == ("RESOURCE_EXHAUSTED", "MEMBER_DAILY_CAP")
    assert alliance.pacer.award(alliance.item(300, "run-2")).ok


def test_a_bulk_award_fails_only_its_bad_item_and_a_resend_happens_once(alliance: Alliance) -> None:
    items = [
        alliance.item(100, "run-1", idempotency_key="bulk-item-0001"),
        alliance.item(100, "swim-1", activity_type="swim_logged", idempotency_key="bulk-item-0002"),
        alliance.item(150, "run-2", activity_type="streak_7_days", idempotency_key="bulk-item-0003"),
    ]
    results = alliance.pacer.award_points(items)
    assert [r.ok for r in results] == [True, False, True]
    assert (results[1].error_code, results[1].error_reason, results[1].error_field) == (
        "INVALID_ARGUMENT",
        "UNKNOWN_ACTIVITY_TYPE",
        "activity_type",
    )
    assert alliance.count(awards) == 2 and alliance.count(instructions) == 2
    again = alliance.pacer.award_points(items)
    assert [r.award.award_id if r.award else None for r in again] == [
        r.award.award_id if r.award else None for r in results
    ]
    assert alliance.count(awards) == 2 and alliance.count(instructions) == 2
    reused = alliance.pacer.award(alliance.item(5, "other", idempotency_key="bulk-item-0001"))
    assert (reused.error_code, reused.error_reason) == ("FAILED_PRECONDITION", "IDEMPOTENCY_KEY_REUSED")


def test_bad_awards_are_refused_precisely_and_change_nothing(alliance: Alliance, hub: RunningHub) -> None:
    stranger = hub.active_partner("brewhaus", currency="EUR")[0]
    unlinked = stranger.create_link_code("brew-member-1").pairwise_member_id
    cases = {
        "unlinked member": (alliance.item(10, pairwise_member_id=unlinked), "NOT_FOUND"),
        "zero points": (alliance.item(0), "INVALID_ARGUMENT"),
        "over the daily cap at once": (alliance.item(901), "INVALID_ARGUMENT"),
        "no agreement with that issuer": (alliance.item(10, issuer_partner_id="brewhaus"), "FAILED_PRECONDITION"),
        "empty reference": (alliance.item(10, ""), "INVALID_ARGUMENT"),
    }
    for what, (item, code) in cases.items():
        result = alliance.pacer.award(item)
        assert (result.ok, result.error_code) == (False, code), what
    assert alliance.count(awards) == 0 and alliance.count(instructions) == 0
    with pytest.raises(InvalidArgumentError):
        alliance.pacer.award_points([])


def test_an_award_not_credited_in_time_is_voided(alliance: Alliance) -> None:
    result = alliance.pacer.award(alliance.item(200))
    assert result.award is not None
    (credit,) = alliance.stride.pull_instructions(wait_s=0)
    alliance.hub.clock.advance(16 * 60_000)
    assert alliance.hub.server.expire_overdue_once() == 1
    assert alliance.pacer.get_award(result.award.award_id).state == "VOIDED"
    with pytest.raises(FailedPreconditionError):
        alliance.stride.acknowledge_instruction(credit.instruction_id, partner_reference="too late")


def test_accrual_agreements_are_signed_by_both_and_versioned(alliance: Alliance) -> None:
    second = alliance.pacer.propose_accrual_agreement(accrual_terms(version=2))
    with pytest.raises(PermissionDeniedError):
        alliance.pacer.accept_accrual_agreement(second.agreement_id)  # the awarder can't accept its own
    with pytest.raises(FailedPreconditionError):
        alliance.pacer.propose_accrual_agreement(accrual_terms(version=9))
    third = alliance.pacer.propose_accrual_agreement(accrual_terms(version=3, price_per_point_minor=Fraction(1, 2)))
    alliance.stride.accept_accrual_agreement(third.agreement_id)
    result = alliance.pacer.award(alliance.item(100))
    assert result.award is not None
    assert (result.award.agreement_id, result.award.settlement_amount_minor) == (third.agreement_id, 50)
    with pytest.raises(InvalidArgumentError):
        alliance.pacer.propose_accrual_agreement(accrual_terms(version=4, activity_types=("Run Logged",)))


def test_racing_awards_never_exceed_the_monthly_budget(alliance: Alliance, hub: RunningHub) -> None:
    # Eight members linked at both brands, so the member cap is not what stops them.
    members = []
    for index in range(8):
        code = alliance.stride.create_link_code(f"stride-racer-{index}")
        members.append(alliance.pacer.redeem_link_code(code.code, member_ref=f"pacer-racer-{index}").pairwise_member_id)

    def award(index: int) -> bool:
        return alliance.pacer.award(AwardItem("stride", members[index % 8], "run_logged", f"race-{index}", 150)).ok

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(award, range(16)))
    with hub.database.engine.connect() as connection:
        total = connection.execute(sqlalchemy.select(sqlalchemy.func.sum(awards.c.points))).scalar_one()
    assert sum(outcomes) == 6 and total == 900  # 6 x 150 fit in the budget of 1,000; the 7th would not
