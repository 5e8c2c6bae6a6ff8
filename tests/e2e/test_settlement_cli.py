"""`coalition settlement` as staff use it: against a running hub, as the operator and as a brand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exchange.cli import settlement as settlement_cli
from exchange.cli.main import app
from partner_sdk import save_private_key
from partner_sdk.settlement_csv import read_movements_csv
from tests.conftest import RunningHub
from tests.e2e.money import terms

runner = CliRunner()


@pytest.fixture
def staff(hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Two brands with one completed conversion; the options each kind of staff passes."""
    monkeypatch.setattr(settlement_cli.console, "width", 200)  # whole ids in the tables
    stride, stride_key = hub.active_partner("stride", currency="GBP")
    voltline, _ = hub.active_partner("voltline", currency="GBP")
    voltline.accept_agreement(stride.propose_agreement(terms()).agreement_id)
    quote = stride.quote_conversion("voltline", 1000)
    stride.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="v-1")
    for instruction in voltline.pull_instructions(wait_s=0):
        voltline.acknowledge_instruction(instruction.instruction_id, partner_reference="ok")
    save_private_key(tmp_path / "operator.pem", hub.operator_key)
    save_private_key(tmp_path / "stride.pem", stride_key)
    common = ["settlement", "--target", hub.target, "--hub-public-key", hub.hub_public_key.hex()]
    return {
        "operator": [*common, "--operator-key", str(tmp_path / "operator.pem")],
        "stride": [*common, "--partner", "stride", "--key", str(tmp_path / "stride.pem"), "--key-id", "k1"],
    }


def _run(args: list[str], expect: int = 0) -> str:
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result.output


def test_staff_close_show_export_verify_and_reconcile(staff: dict[str, list[str]], tmp_path: Path) -> None:
    closed = _run([*staff["operator"], "close"])
    assert "per-000001" in closed and "CLOSED" in closed and "stm-000001-stride" in closed
    assert "Already closed" in _run([*staff["operator"], "close", "per-000001"])
    assert "stm-000001-stride" in _run([*staff["stride"], "statements"])
    shown = _run([*staff["stride"], "show", "stm-000001-stride"])
    assert "voltline" in shown and "OUTSTANDING" in shown
    out = tmp_path / "out"
    _run([*staff["stride"], "export", "stm-000001-stride", "--out", str(out)])
    movements, problems = read_movements_csv(
        out / "stm-000001-stride.csv", expected_partner_id="stride", expected_period_id="per-000001"
    )
    assert (len(movements), problems) == (1, [])
    assert "<svg" in (out / "stm-000001-stride.html").read_text()
    assert "chain verify" in _run([*staff["operator"], "verify"])
    offline = [*staff["stride"], "verify", "--file", str(out / "stm-000001-stride.json")]
    assert "verify" in _run(offline)
    exported = json.loads((out / "stm-000001-stride.json").read_text())
    exported["statement"]["movement_count"] = 2
    (out / "tampered.json").write_text(json.dumps(exported))
    _run([*staff["stride"], "verify", "--file", str(out / "tampered.json")], expect=2)
    report = _run([*staff["stride"], "reconcile", "per-000001", str(out / "stm-000001-stride.csv")])
    assert "breaks in all" in report and "matched" in report


def test_staff_payments_and_disputes(staff: dict[str, list[str]], hub: RunningHub) -> None:
    _run([*staff["operator"], "close"])
    statement = hub.operator().get_statement("stm-000001-stride")
    (instruction,) = statement.payment_instructions
    paid = _run([*staff["stride"], "pay", instruction.instruction_id, "10", "--reference", "SEPA-77"])
    assert "PART_PAID" in paid
    assert instruction.instruction_id in _run([*staff["stride"], "payments", "--outstanding"])
    movement = next(hub.operator().iter_statement_movements("stm-000001-stride")).movement_id
    opened = _run([*staff["stride"], "dispute", "--movement", movement, "--claim", "15", "--reason", "overcharged"])
    assert "OPEN" in opened
    dispute_id = hub.operator().list_disputes().items[0].dispute_id
    refused = _run([*staff["stride"], "respond", dispute_id, "--accept", "--note", "self"], expect=2)
    assert "NOT_COUNTERPARTY" in refused
    _run([*staff["operator"], "resolve", dispute_id, "--award", "5", "--note", "early"], expect=2)
    assert dispute_id[:12] in _run([*staff["operator"], "disputes", "--state", "OPEN"])
