"""A statement's exports against a real hub: the page's verify command, the fee, and the CSV upload layouts."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from exchange.cli.settlement_view import export_statement
from partner_sdk import ExchangeClient, InvalidArgumentError
from partner_sdk.settlement import Movement, StatementDocument, verify_statement
from partner_sdk.settlement_csv import COLUMNS, read_movements_csv
from tests.conftest import RunningHub
from tests.e2e.money import terms

COALITION = Path(sys.executable).parent / "coalition"


@dataclass
class Exported:
    """Stride's statement of the first period, exported in every format, and what made it."""

    hub: RunningHub
    stride: ExchangeClient
    doc: StatementDocument
    files: dict[str, Path]
    fee_points: int
    source_points_debited: int


@pytest.fixture
def exported(hub: RunningHub, tmp_path: Path) -> Exported:
    """Stride converts to voltline twice and voltline to stride once (1% fee); the period closes; stride exports."""
    stride, _ = hub.active_partner("stride", currency="GBP")
    voltline, _ = hub.active_partner("voltline", currency="GBP")
    for source, target in ((stride, voltline), (voltline, stride)):
        proposed = source.propose_agreement(terms(source.partner_id, target.partner_id))
        target.accept_agreement(proposed.agreement_id)
    fees = debited = 0
    for source, target, points in ((stride, voltline, 1000), (stride, voltline, 2000), (voltline, stride, 500)):
        quote = source.quote_conversion(target.partner_id, points)
        done = source.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="t-1")
        assert done.amounts == quote.amounts  # the fee shows on both
        for instruction in target.pull_instructions(wait_s=0):
            target.acknowledge_instruction(instruction.instruction_id, partner_reference="ok")
        if source is stride:
            fees += done.amounts.fee_points
            debited += done.amounts.source_points_debited
    operator = hub.operator()
    operator.close_period(operator.get_period().period_id)
    statement = stride.get_statement("stm-000001-stride")
    doc = verify_statement(statement, hub.hub_public_key)
    out = tmp_path / "out"
    paths = export_statement(stride, statement, doc, out, ("csv", "json", "html"), Console(file=io.StringIO()))
    return Exported(hub, stride, doc, {p.suffix[1:]: p for p in paths}, fees, debited)


def _page_command(page: str) -> list[str]:
    """The verify command the page tells its reader to run, as its words."""
    (command,) = re.findall(r'<code class="command">(.*?)</code>', page)
    return shlex.split(html.unescape(command))


def test_the_verify_command_the_page_names_verifies_the_exported_statement(exported: Exported) -> None:
    words = _page_command(exported.files["html"].read_text(encoding="utf-8"))
    assert words[:3] == ["coalition", "settlement", "verify"]
    filled = {"STATEMENT.json": str(exported.files["json"]), "HEX": exported.hub.hub_public_key.hex()}
    argv = [str(COALITION), *(filled.get(word, word) for word in words[1:])]
    assert set(filled) <= set(words), words
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, check=False, cwd=exported.files["json"].parent
    )
    assert done.returncode == 0, (argv, done.stdout, done.stderr)
    assert "verify" in done.stdout and exported.doc.statement_id in done.stdout


def test_a_conversions_source_points_are_what_converted_without_the_fee(exported: Exported) -> None:
    """docs/settlement.md: source_points is source_points_converted; the fee shows on the quote and conversion."""
    movements, problems = read_movements_csv(exported.files["csv"], expected_partner_id="stride")
    assert problems == []
    mine = [m for m in movements if m.source_partner_id == "stride"]
    assert exported.fee_points > 0
    assert sum(m.source_points for m in mine) == exported.source_points_debited - exported.fee_points
    retired = sum(line.points_retired_for_counterparty for line in exported.doc.counterparties)
    assert retired == exported.source_points_debited - exported.fee_points  # the statement has no fee either


def _per_currency_layout(movements: list[Movement], period_id: str, partner_id: str) -> list[str]:
    """A brand's file in the layout before per-flow trailers: one T record per currency, points of both brands."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(["H", period_id, partner_id, *[""] * 10])
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for m in movements:
        writer.writerow(
            ["D", m.period_id, partner_id, m.movement_id, m.kind, m.to_json_value()["final_at"], m.source_partner_id,
             m.target_partner_id, m.source_points, m.target_points, m.currency, m.amount_minor, ""]
        )  # fmt: skip
        for index, value in enumerate((m.source_points, m.target_points, m.amount_minor, 1)):
            sums[m.currency][index] += value
    for currency, (source, target, amount, count) in sorted(sums.items()):
        writer.writerow(["T", period_id, partner_id, "", "", "", "", "", source, target, currency, amount, count])
    writer.writerow(["E", period_id, partner_id, *[""] * 9, len(movements)])
    return out.getvalue().splitlines()


def test_the_hub_still_reconciles_a_brands_file_with_one_trailer_per_currency(exported: Exported) -> None:
    movements = list(exported.stride.iter_statement_movements("stm-000001-stride"))
    lines = _per_currency_layout(movements, "per-000001", "stride")
    assert len([x for x in lines if x.startswith("T,")]) == 1 < len(exported.doc.counterparties) + 1
    report = exported.stride.reconcile("per-000001", lines)
    assert (report.brand_lines, report.matched, report.breaks) == (3, 3, 0)


def test_the_hub_reconciles_the_export_with_its_per_flow_trailers_and_refuses_one_that_is_wrong(
    exported: Exported,
) -> None:
    lines = exported.files["csv"].read_text(encoding="utf-8").splitlines()
    trailers = [i for i, x in enumerate(lines) if x.startswith("T,")]
    assert len(trailers) == 2  # stride -> voltline and voltline -> stride, both in GBP
    report = exported.stride.reconcile("per-000001", lines)
    assert (report.brand_lines, report.matched, report.breaks) == (3, 3, 0)
    fields = next(csv.reader([lines[trailers[0]]]))
    fields[COLUMNS.index("source_points")] = str(int(fields[COLUMNS.index("source_points")]) + 1)
    lines[trailers[0]] = ",".join(fields)
    with pytest.raises(InvalidArgumentError, match="trailer"):
        exported.stride.reconcile("per-000001", lines)


def test_the_json_export_carries_per_flow_totals_that_add_up_to_the_signed_control_totals(exported: Exported) -> None:
    value = json.loads(exported.files["json"].read_text(encoding="utf-8"))
    flows = value["flow_totals"]
    assert {(f["source_partner_id"], f["target_partner_id"]) for f in flows} == {
        ("stride", "voltline"),
        ("voltline", "stride"),
    }
    (signed,) = value["statement"]["control_totals"]
    for name in ("movements", "source_points", "target_points", "amount_minor"):
        assert sum(f[name] for f in flows) == signed[name]


def test_the_csv_trailers_are_the_statements_lines_and_add_up_to_its_control_totals(exported: Exported) -> None:
    """docs/settlement.md: a trailer per direction and counterparty, adding up to the signed control totals."""
    rows = list(csv.reader(exported.files["csv"].read_text(encoding="utf-8").splitlines()))
    trailers = [dict(zip(COLUMNS, row, strict=True)) for row in rows if row[0] == "T"]
    (signed,) = exported.doc.control_totals
    for column, total in (("record_count", signed.movements), ("source_points", signed.source_points),
                          ("target_points", signed.target_points), ("amount_minor", signed.amount_minor)):  # fmt: skip
        assert sum(int(t[column]) for t in trailers) == total
    (line,) = exported.doc.counterparties
    owes = next(t for t in trailers if t["source_partner_id"] == "stride")
    owed = next(t for t in trailers if t["target_partner_id"] == "stride")
    assert (int(owes["record_count"]), int(owes["source_points"]), int(owes["amount_minor"])) == (
        line.movements_as_source,
        line.points_retired_for_counterparty,
        line.money_payable_minor,
    )
    assert (int(owed["record_count"]), int(owed["target_points"]), int(owed["amount_minor"])) == (
        line.movements_as_target,
        line.points_issued_for_counterparty,
        line.money_receivable_minor,
    )
