"""docker/grafana/coalition-hub.json: a dashboard Grafana can import, whose every query is valid PromQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_FILE = ROOT / "docker" / "grafana" / "coalition-hub.json"
# Grafana's variables, replaced by what Grafana would put there, so that promtool can parse the query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$instance": ".*"}


def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard: panel queries and the variables' queries."""
    found = [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            label_values = re.fullmatch(r"label_values\((.+), \w+\)", variable["definition"])
            assert label_values, variable["definition"]
            found.append(label_values[1])
    return found


def as_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"an unknown Grafana variable in {expr}"
    return expr


def test_the_dashboard_has_a_stable_uid_unique_panel_ids_and_a_datasource_variable() -> None:
    board = dashboard()
    assert board["uid"] == "coalition-hub"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "instance"}
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_the_dashboard_shows_what_an_operator_looks_for() -> None:
    text = "\n".join(expressions())
    for wanted in (
        "sum by (method) (rate(coalition_requests_total",
        'sum by (method, code) (rate(coalition_requests_total{code!="OK"',
        "histogram_quantile(0.99",
        "coalition_db_up",
        "coalition_db_retries_total",
        "coalition_db_groups_total",
        "coalition_db_grouped_calls_total",
        "coalition_db_group_handed_back_total",
        "coalition_signature_failures_total",
    ):
        assert wanted in text, f"no query uses {wanted}"


def test_every_query_of_the_dashboard_is_valid_promql(tmp_path: Path) -> None:
    # promtool has no command for one expression; a recording rule per query has it parse each one.
    binary = shutil.which("promtool")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI: .ci/run installs it (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    records = [{"record": f"dashboard:query_{n}", "expr": as_promql(e)} for n, e in enumerate(expressions())]
    rules = tmp_path / "dashboard_queries.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    checked = subprocess.run(
        [binary, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(records)} rules found" in checked.stdout
