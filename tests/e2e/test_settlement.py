"""Settlement end to end: periods, signed chained statements, netting, payments, reconciliation, disputes."""

from __future__ import annotations

import io
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
import sqlalchemy

from exchange.domain.netting import Payment, check_settles
from exchange.store.tables import movements
from partner_sdk import (
    ExchangeClient,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from partner_sdk.operator import OperatorClient
from partner_sdk.settlement import Movement, StatementDocument, verify_chain, verify_statement
from partner_sdk.settlement_csv import write_movements_csv
from tests.conftest import RunningHub
from tests.e2e.money import terms


@dataclass
class Coalition:
    """Three brands converting in a ring (stride -> voltline -> cadence -> stride), all settling in GBP."""

    hub: RunningHub
    operator: OperatorClient
    brands: dict[str, ExchangeClient]

    def convert(self, source: str, target: str, points: int, member: str = "m-1") -> str:
        """Convert and have the target credit it: a completed movement; return its id."""
        client = self.brands[source]
        quote = client.quote_conversion(target, points)
        done = client.convert(quote.quote_id, source_member_ref=member, target_member_ref="t-" + member)
        self.credit(target)
        return done.conversion_id

    def credit(self, brand: str) -> None:
        for instruction in self.brands[brand].pull_instructions(wait_s=0):
            self.brands[brand].acknowledge_instruction(instruction.instruction_id, partner_reference="ok")

    def close(self, cutoff: datetime | None = None) -> tuple[str, str]:
        current = self.operator.get_period()
        closed, following, now = self.operator.close_period(current.period_id, cutoff=cutoff)
        assert now and closed.state == "CLOSED" and following.state == "OPEN"
        return closed.period_id, following.period_id

    def statement(self, brand: str, period_id: str) -> tuple[StatementDocument, object]:
        statement = self.brands[brand].get_statement(f"stm-{period_id[4:]}-{brand}")
        return verify_statement(statement, self.hub.hub_public_key), statement


RING = (("stride", "voltline"), ("voltline", "cadence"), ("cadence", "stride"))


@pytest.fixture
def coalition(hub: RunningHub) -> Coalition:
    brands = {name: hub.active_partner(name, currency="GBP")[0] for name in ("stride", "voltline", "cadence")}
    for source, target in RING:
        proposed = brands[source].propose_agreement(terms(source, target))
        brands[target].accept_agreement(proposed.agreement_id)
    return Coalition(hub, hub.operator(), brands)


def _sum_positions(docs: list[StatementDocument]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for doc in docs:
        for position in doc.net_positions:
            totals[position.currency] += position.net_minor
    return dict(totals)


def test_close_signs_a_statement_per_brand_whose_positions_net_to_zero_and_payments_settle_them(
    coalition: Coalition,
) -> None:
    coalition.convert("stride", "voltline", 1000)  # stride owes voltline 1000*0.99*1.5*0.5 = 742
    coalition.convert("stride", "voltline", 400)
    coalition.convert("voltline", "cadence", 200)
    coalition.convert("cadence", "stride", 100)
    period_id, _ = coalition.close()
    docs = {brand: coalition.statement(brand, period_id)[0] for brand in coalition.brands}
    assert _sum_positions(list(docs.values())) == {"GBP": 0}
    assert all(check.sum_of_net_positions_minor == 0 for d in docs.values() for check in d.coalition_check)
    stride = docs["stride"]
    line = next(c for c in stride.counterparties if c.counterparty == "voltline")
    assert (line.movements_as_source, line.points_retired_for_counterparty) == (2, 990 + 396)
    assert line.money_payable_minor == 742 + 297
    assert line.bilateral_net_minor == line.money_receivable_minor - line.money_payable_minor
    # The payment instructions settle every position, in at most n - 1 payments.
    positions = {b: next((p.net_minor for p in d.net_positions), 0) for b, d in docs.items()}
    netted = {p.instruction_id: p for d in docs.values() for p in d.payment_instructions}
    payments = [Payment(p.payer, p.payee, p.amount_minor) for p in netted.values()]
    assert check_settles(positions, payments) and len(payments) <= 2
    assert stride.movement_count == 3 and stride.control_totals[0].movements == 3


def test_statements_chain_per_brand_and_an_altered_one_is_detected(coalition: Coalition) -> None:
    coalition.convert("stride", "voltline", 500)
    first, _ = coalition.close()
    coalition.convert("voltline", "cadence", 500)
    second, _ = coalition.close()
    chain = list(coalition.brands["stride"].iter_statements())
    assert [s.sequence for s in sorted(chain, key=lambda s: s.sequence)] == [1, 2]
    verified = verify_chain(chain, coalition.hub.hub_public_key)
    assert [d.period.period_id for d in verified] == [first, second]
    assert verified[1].movement_count == 0  # a brand with no movements still gets its link in the chain
    tampered = replace(chain[-1], document=chain[-1].document.replace(b'"sequence":1', b'"sequence":9'))
    with pytest.raises(Exception, match=r"(?i)sha|signature|chain|sequence"):
        verify_chain([tampered, chain[0]], coalition.hub.hub_public_key)


def test_closing_again_answers_the_existing_closing_and_a_closed_period_never_changes(coalition: Coalition) -> None:
    coalition.convert("stride", "voltline", 500)
    period_id, next_id = coalition.close()
    before = coalition.brands["stride"].get_statement(f"stm-{period_id[4:]}-stride")
    again, still_open, closed_now = coalition.operator.close_period(period_id)
    assert (again.period_id, still_open.period_id, closed_now) == (period_id, next_id, False)
    coalition.convert("stride", "voltline", 700)  # after the close: the next period
    after = coalition.brands["stride"].get_statement(f"stm-{period_id[4:]}-stride")
    assert after.document == before.document and after.signature == before.signature
    assert coalition.operator.get_period(next_id).movement_count == 1
    assert coalition.operator.get_period(period_id).movement_count == 1


def test_a_cutoff_moves_later_movements_to_the_next_period(coalition: Coalition) -> None:
    coalition.convert("stride", "voltline", 500)
    cutoff = datetime.fromtimestamp(coalition.hub.clock.now_ms() / 1000, UTC)
    coalition.hub.clock.advance(1000)
    late = coalition.convert("stride", "voltline", 300)
    period_id, next_id = coalition.close(cutoff=cutoff)
    doc, _ = coalition.statement("stride", period_id)
    assert doc.movement_count == 1
    with coalition.hub.database.engine.connect() as connection:
        period_of_late = connection.execute(
            sqlalchemy.select(movements.c.period_id).where(movements.c.movement_id == late)
        ).scalar_one()
    assert period_of_late == next_id


def test_bad_closes_are_refused(coalition: Coalition) -> None:
    current = coalition.operator.get_period()
    future = datetime.fromtimestamp(coalition.hub.clock.now_ms() / 1000 + 3600, UTC)
    with pytest.raises(InvalidArgumentError) as refused:
        coalition.operator.close_period(current.period_id, cutoff=future)
    assert refused.value.reason == "CUTOFF_IN_FUTURE"
    with pytest.raises(NotFoundError):
        coalition.operator.close_period("per-999999")
    with pytest.raises(PermissionDeniedError):
        coalition.brands["stride"].close_period(current.period_id)
    assert coalition.operator.get_period().period_id == current.period_id


def test_every_movement_lands_in_exactly_one_period_while_traffic_continues(coalition: Coalition) -> None:
    def traffic(index: int) -> str:
        return coalition.convert("stride", "voltline", 100 + index, member=f"m-{index % 5}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(traffic, i) for i in range(24)]
        closed_at_half = None
        while sum(f.done() for f in futures) < 12:
            pass
        closed_at_half = coalition.close()
        ids = [f.result() for f in futures]
    first, second = closed_at_half
    with coalition.hub.database.engine.connect() as connection:
        placed = dict(connection.execute(sqlalchemy.select(movements.c.movement_id, movements.c.period_id)).all())
    assert set(ids) <= set(placed) and set(placed.values()) <= {first, second}
    counted = coalition.operator.get_period(first).movement_count + coalition.operator.get_period(second).movement_count
    assert counted == len(placed) == len(ids)


def _export(client: ExchangeClient, statement_id: str) -> tuple[str, list[Movement]]:
    statement = client.get_statement(statement_id)
    moved = list(client.iter_statement_movements(statement_id))
    out = io.StringIO()
    write_movements_csv(
        out, period_id=statement.period_id, partner_id=statement.partner_id, statement_id=statement_id, movements=moved
    )
    return out.getvalue(), moved


def test_reconciling_the_hubs_own_export_finds_no_breaks_and_two_differences_are_reported(
    coalition: Coalition,
) -> None:
    for points in (100, 200, 300):
        coalition.convert("stride", "voltline", points)
    coalition.convert("cadence", "stride", 150)
    period_id, _ = coalition.close()
    stride = coalition.brands["stride"]
    text, moved = _export(stride, f"stm-{period_id[4:]}-stride")
    clean = stride.reconcile(period_id, text.splitlines())
    assert (clean.brand_lines, clean.hub_movements, clean.matched, clean.breaks) == (4, 4, 4, 0)

    # The brand's books: one amount differs, one movement is missing.
    changed = replace(moved[0], amount_minor=moved[0].amount_minor + 1)
    books = [changed, *moved[2:]]
    out = io.StringIO()
    write_movements_csv(out, period_id=period_id, partner_id="stride", statement_id="", movements=books)
    report = stride.reconcile(period_id, out.getvalue().splitlines())
    assert (report.breaks, report.amount_mismatch, report.missing_at_brand, report.matched) == (2, 1, 1, 2)
    breaks = {b.kind: b for b in stride.iter_reconciliation_breaks(report.reconciliation_id)}
    mismatch = breaks["AMOUNT_MISMATCH"]
    assert mismatch.movement_id == moved[0].movement_id and mismatch.line_number == 3
    assert mismatch.brand is not None and mismatch.hub is not None
    assert mismatch.brand.amount_minor == mismatch.hub.amount_minor + 1
    assert breaks["MISSING_AT_BRAND"].movement_id == moved[1].movement_id and breaks["MISSING_AT_BRAND"].brand is None


def test_duplicates_unknown_and_other_period_lines_are_breaks(coalition: Coalition) -> None:
    early = coalition.convert("stride", "voltline", 100)
    first, _ = coalition.close()
    coalition.convert("stride", "voltline", 200)
    second, _ = coalition.close()
    stride = coalition.brands["stride"]
    _, moved = _export(stride, f"stm-{second[4:]}-stride")
    strays = [
        moved[0],
        moved[0],
        replace(moved[0], movement_id="cnv-not-at-the-hub"),
        replace(moved[0], movement_id=early),
    ]
    out = io.StringIO()
    write_movements_csv(out, period_id=second, partner_id="stride", statement_id="", movements=strays)
    report = stride.reconcile(second, out.getvalue().splitlines())
    assert (report.duplicate, report.missing_at_hub, report.in_other_period, report.matched) == (1, 1, 1, 1)
    other = next(b for b in stride.iter_reconciliation_breaks(report.reconciliation_id) if b.kind == "IN_OTHER_PERIOD")
    assert other.hub is not None and other.hub.period_id == first


def test_a_malformed_or_foreign_upload_is_refused_naming_the_line(coalition: Coalition) -> None:
    coalition.convert("stride", "voltline", 100)
    period_id, _ = coalition.close()
    stride, voltline = coalition.brands["stride"], coalition.brands["voltline"]
    text, _ = _export(stride, f"stm-{period_id[4:]}-stride")
    lines = text.splitlines()
    broken = [*lines[:2], lines[2].replace(",GBP,", ",GBP,12.50x,", 1), *lines[3:]]
    with pytest.raises(InvalidArgumentError, match="line 3"):
        stride.reconcile(period_id, broken)
    with pytest.raises(InvalidArgumentError, match="this file is for partner 'stride'"):
        voltline.reconcile(period_id, lines)
    with pytest.raises(InvalidArgumentError, match="end"):
        stride.reconcile(period_id, lines[:-1])  # truncated: no end record
    with pytest.raises(FailedPreconditionError):
        stride.reconcile(coalition.operator.get_period().period_id, lines)  # still open


def test_a_dispute_accepted_posts_an_adjustment_into_the_open_period(coalition: Coalition) -> None:
    conversion = coalition.convert("stride", "voltline", 1000)
    period_id, next_id = coalition.close()
    voltline, stride = coalition.brands["voltline"], coalition.brands["stride"]
    dispute = voltline.open_dispute(movement_id=conversion, claimed_amount_minor=25, reason="rate was higher")
    assert (dispute.state, dispute.counterparty, dispute.period_id) == ("OPEN", "stride", period_id)
    with pytest.raises(PermissionDeniedError):
        voltline.respond_to_dispute(dispute.dispute_id, accept=True, note="me")  # the opener can't answer
    accepted = stride.respond_to_dispute(dispute.dispute_id, accept=True, note="agreed")
    assert (accepted.state, accepted.awarded_amount_minor, accepted.adjustment_period_id) == ("ACCEPTED", 25, next_id)
    coalition.close()
    doc, _ = coalition.statement("voltline", next_id)
    line = next(c for c in doc.counterparties if c.counterparty == "stride")
    assert (line.money_receivable_minor, line.movements_as_target) == (25, 1)
    closed_doc, _ = coalition.statement("voltline", period_id)
    assert closed_doc.movement_count == 1  # the disputed period never changes


def test_a_contested_dispute_is_decided_by_the_operator(coalition: Coalition) -> None:
    conversion = coalition.convert("stride", "voltline", 1000)
    period_id, _ = coalition.close()
    voltline, stride = coalition.brands["voltline"], coalition.brands["stride"]
    dispute = voltline.open_dispute(
        statement_id=f"stm-{period_id[4:]}-voltline",
        counterparty="stride",
        currency="GBP",
        claimed_amount_minor=40,
        reason="short paid",
        evidence="see invoice 77",
    )
    with pytest.raises(FailedPreconditionError):
        coalition.operator.resolve_dispute(dispute.dispute_id, awarded_amount_minor=10, note="too early")
    stride.respond_to_dispute(dispute.dispute_id, accept=False, note="we paid in full")
    with pytest.raises(InvalidArgumentError):
        coalition.operator.resolve_dispute(dispute.dispute_id, awarded_amount_minor=41, note="more than claimed")
    decided = coalition.operator.resolve_dispute(dispute.dispute_id, awarded_amount_minor=10, note="split")
    assert (decided.state, decided.awarded_amount_minor) == ("RESOLVED", 10)
    assert [d.dispute_id for d in stride.list_disputes().items] == [dispute.dispute_id]
    assert stride.list_disputes(state="OPEN").items == ()
    # A brand may not dispute a movement it is not party to.
    with pytest.raises(NotFoundError):
        coalition.brands["cadence"].open_dispute(movement_id=conversion, claimed_amount_minor=5, reason="nosy")


def test_payments_are_recorded_against_instructions_until_nothing_is_outstanding(coalition: Coalition) -> None:
    coalition.convert("stride", "voltline", 1000)
    period_id, _ = coalition.close()
    stride, voltline = coalition.brands["stride"], coalition.brands["voltline"]
    (instruction,) = stride.list_payment_instructions(period_id=period_id).items
    assert (instruction.payer_partner_id, instruction.payee_partner_id, instruction.state) == (
        "stride",
        "voltline",
        "OUTSTANDING",
    )
    part = stride.record_payment(instruction.instruction_id, 100, payment_reference="SEPA-1")
    assert (part.paid_minor, part.outstanding_minor, part.state) == (100, instruction.amount_minor - 100, "PART_PAID")
    with pytest.raises(FailedPreconditionError):
        voltline.record_payment(instruction.instruction_id, part.outstanding_minor + 1, payment_reference="SEPA-2")
    with pytest.raises(NotFoundError):
        coalition.brands["cadence"].record_payment(instruction.instruction_id, 1, payment_reference="SEPA-3")
    paid = voltline.record_payment(instruction.instruction_id, part.outstanding_minor, payment_reference="SEPA-2")
    assert (paid.state, paid.outstanding_minor, len(paid.payments)) == ("PAID", 0, 2)
    assert stride.list_payment_instructions(outstanding_only=True).items == ()
    live = stride.get_statement(f"stm-{period_id[4:]}-stride").payment_instructions
    assert [(i.instruction_id, i.state) for i in live] == [(instruction.instruction_id, "PAID")]
    # The next statement shows nothing outstanding from earlier periods.
    coalition.convert("voltline", "cadence", 100)
    second, _ = coalition.close()
    doc, _ = coalition.statement("stride", second)
    assert doc.outstanding_from_earlier_periods == ()


def test_a_brand_sees_only_its_own_statements(coalition: Coalition) -> None:
    coalition.convert("stride", "voltline", 100)
    period_id, _ = coalition.close()
    stride = coalition.brands["stride"]
    with pytest.raises(NotFoundError):
        stride.get_statement(f"stm-{period_id[4:]}-voltline")
    with pytest.raises(PermissionDeniedError):
        stride.list_statements(partner_id="voltline")
    with pytest.raises(NotFoundError):
        list(stride.iter_statement_movements(f"stm-{period_id[4:]}-voltline"))
    everyone = {s.partner_id for s in coalition.operator.iter_statements()}
    assert everyone == {"stride", "voltline", "cadence"}


def test_an_unanswered_dispute_goes_to_the_operator_after_its_deadline(coalition: Coalition) -> None:
    conversion = coalition.convert("stride", "voltline", 1000)
    coalition.close()
    voltline, stride = coalition.brands["voltline"], coalition.brands["stride"]
    dispute = voltline.open_dispute(movement_id=conversion, claimed_amount_minor=30, reason="late credit")
    with pytest.raises(FailedPreconditionError, match="contested"):
        coalition.operator.resolve_dispute(dispute.dispute_id, awarded_amount_minor=30, note="too early")
    coalition.hub.clock.advance(14 * 24 * 3_600_000 + 1)
    with pytest.raises(FailedPreconditionError) as late:
        stride.respond_to_dispute(dispute.dispute_id, accept=True, note="sorry, late")
    assert late.value.reason == "DISPUTE_RESPONSE_OVERDUE"
    decided = coalition.operator.resolve_dispute(dispute.dispute_id, awarded_amount_minor=30, note="no answer")
    assert (decided.state, decided.awarded_amount_minor) == ("RESOLVED", 30)
    assert decided.adjustment_movement_id.startswith("adj-")
