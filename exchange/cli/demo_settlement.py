"""Settlement in `coalition demo`: close the period after the traffic, statements, exports, reconciliation, a dispute.

The operator closes the period the money story filled; every brand's statement is signed and
chained, verified here with the SDK as a brand's staff would; stride's statement is written as
CSV, JSON and HTML; stride reconciles its own books (first the hub's export, then a copy with two
deliberate differences); voltline disputes a movement, stride contests, the operator decides,
and the award lands in the next period's statements.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from exchange.cli.settlement_view import (
    breaks_table,
    counterparties_table,
    disputes_table,
    export_statement,
    instructions_table,
    periods_table,
    report_table,
    statements_table,
)
from exchange.domain.netting import Payment, check_settles
from partner_sdk import ExchangeClient, OperatorClient
from partner_sdk.settlement import Movement, Statement, StatementDocument, verify_chain, verify_statement
from partner_sdk.settlement_csv import write_movements_csv

if TYPE_CHECKING:
    from exchange.cli.demo import Checks


def _csv_lines(period_id: str, partner_id: str, movements: list[Movement]) -> list[str]:
    out = io.StringIO()
    write_movements_csv(out, period_id=period_id, partner_id=partner_id, statement_id="", movements=movements)
    return out.getvalue().splitlines()


def _close(operator: OperatorClient, hub_key: bytes, console: Console) -> list[tuple[Statement, StatementDocument]]:
    period = operator.get_period()
    closed, following, _ = operator.close_period(period.period_id)
    console.print(periods_table([closed, following], "The operator closes the period"))
    rows = [(s, verify_statement(s, hub_key)) for s in operator.iter_statements() if s.period_id == closed.period_id]
    console.print(statements_table(rows, f"Every brand's statement for {closed.period_id} (signatures verified)"))
    return rows


def tell_settlement_story(
    operator: OperatorClient,
    clients: dict[str, ExchangeClient],
    hub_key: bytes,
    out_dir: Path,
    checks: Checks,
    console: Console,
) -> None:
    """Close, show, export, verify, reconcile, dispute, pay, close again."""
    console.rule("Settlement 1. The operator closes the period after the traffic")
    rows = _close(operator, hub_key, console)
    period_id = rows[0][0].period_id
    nets: dict[str, dict[str, int]] = {}
    for _, doc in rows:
        for position in doc.net_positions:
            nets.setdefault(position.currency, {})[doc.partner_id] = position.net_minor
    checks.expect(
        "all brands' net positions sum to zero, per currency",
        "0 in every currency",
        "0 in every currency" if all(sum(v.values()) == 0 for v in nets.values()) else f"{nets}",
    )
    instructions = operator.list_payment_instructions(period_id=period_id).items
    console.print(instructions_table(instructions))
    settled = all(
        check_settles(
            positions,
            [Payment(i.payer_partner_id, i.payee_partner_id, i.amount_minor) for i in instructions if i.currency == c],
        )
        for c, positions in nets.items()
    )
    checks.expect("the payment instructions settle every position", "True", str(settled))
    for _, doc in rows:
        console.print(counterparties_table(doc))

    console.rule("Settlement 2. Stride's staff export and verify its statement")
    stride = clients["stride"]
    statement = stride.get_statement(f"stm-{period_id[4:]}-stride")
    doc = verify_statement(statement, hub_key)
    for path in export_statement(stride, statement, doc, out_dir, ("csv", "json", "html"), console):
        console.print(f"wrote {path}")
    chains_ok = all(len(verify_chain(list(client.iter_statements()), hub_key)) >= 1 for client in clients.values())
    checks.expect("each brand verifies its statement chain offline", "True", str(chains_ok))

    console.rule("Settlement 3. Stride reconciles its own books")
    movements = list(stride.iter_statement_movements(statement.statement_id))
    clean = stride.reconcile(period_id, _csv_lines(period_id, "stride", movements))
    console.print(report_table(clean))
    checks.expect("uploading the hub's own export back", "0 breaks", f"{clean.breaks} breaks")
    books = [replace(movements[0], amount_minor=movements[0].amount_minor + 5), *movements[2:]]
    console.print(
        f"stride's books differ twice: {movements[0].movement_id} is 5 minor units higher, "
        f"{movements[1].movement_id} was never booked"
    )
    report = stride.reconcile(period_id, _csv_lines(period_id, "stride", books))
    console.print(report_table(report))
    console.print(breaks_table(stride.iter_reconciliation_breaks(report.reconciliation_id)))
    checks.expect(
        "the two deliberate differences",
        "AMOUNT_MISMATCH 1, MISSING_AT_BRAND 1",
        f"AMOUNT_MISMATCH {report.amount_mismatch}, MISSING_AT_BRAND {report.missing_at_brand}",
    )
    checks.expect_outcome(
        "voltline uploads stride's file",
        "INVALID_ARGUMENT/MALFORMED_UPLOAD",
        lambda: clients["voltline"].reconcile(period_id, _csv_lines(period_id, "stride", movements)),
    )

    console.rule("Settlement 4. A dispute: voltline claims, stride contests, the operator decides")
    voltline = clients["voltline"]
    disputed = next(
        m for m in voltline.iter_statement_movements(f"stm-{period_id[4:]}-voltline") if m.source_partner_id == "stride"
    )
    opened = voltline.open_dispute(
        movement_id=disputed.movement_id,
        claimed_amount_minor=120,
        reason="the member's points were credited late; compensation agreed by phone",
        evidence="support ticket VOLT-4411",
    )
    checks.expect_outcome(
        "a brand not party to the movement disputes it",
        "NOT_FOUND/MOVEMENT_NOT_FOUND",
        lambda: clients["brewhaus"].open_dispute(movement_id=disputed.movement_id, claimed_amount_minor=1, reason="x"),
    )
    stride.respond_to_dispute(opened.dispute_id, accept=False, note="the credit was on time by our logs")
    decided = operator.resolve_dispute(opened.dispute_id, awarded_amount_minor=60, note="half: the logs disagree")
    console.print(disputes_table([decided], "The dispute, decided"))
    checks.expect(
        "the award goes into the open period", "RESOLVED 60", f"{decided.state} {decided.awarded_amount_minor}"
    )

    console.rule("Settlement 5. A payment against an instruction")
    first = instructions[0]
    payer = clients[first.payer_partner_id]
    paid = payer.record_payment(first.instruction_id, first.amount_minor // 2, payment_reference="SEPA-2026-11-23-001")
    console.print(instructions_table([paid], "Half paid: the rest is outstanding"))
    checks.expect("a part payment", "PART_PAID", paid.state)

    console.rule("Settlement 6. The next period: the award and what is still outstanding")
    next_rows = _close(operator, hub_key, console)
    volt_doc = next(d for s, d in next_rows if s.partner_id == "voltline")
    console.print(counterparties_table(volt_doc))
    stride_doc = next(d for st, d in next_rows if st.partner_id == "stride")
    owed = sum(o.outstanding_minor for o in stride_doc.outstanding_from_earlier_periods)
    console.print(f"stride's new statement (sequence {stride_doc.sequence}) lists {owed} minor units still outstanding")
    checks.expect(
        "voltline's next statement shows the award",
        "receivable 60 from stride",
        next(
            (
                f"receivable {c.money_receivable_minor} from stride"
                for c in volt_doc.counterparties
                if c.counterparty == "stride"
            ),
            "no line",
        ),
    )
