"""The alert rules and the Grafana dashboard use only metric names a running hub exports."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from partner_sdk import NotFoundError
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair

ROOT = Path(__file__).resolve().parents[2]
# Sample names each metric type exposes, by suffix.
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ("",)}
# Series Prometheus makes itself for every target.
PROMETHEUS_SERIES = {"up"}
METRIC_NAME = re.compile(r"\b(coalition_[a-z0-9_]+|up)\b(?=\s*[{\[)]|\s*[=!<>]|\s*$)", re.MULTILINE)


def exported_names(exposition: str) -> set[str]:
    """Every sample name the exposition's metric families can have, samples present or not."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def alert_expressions() -> list[str]:
    loaded = yaml.safe_load((ROOT / "docker" / "prometheus" / "alerts.yaml").read_text())
    return [rule["expr"] for group in loaded["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    board = json.loads((ROOT / "docker" / "grafana" / "coalition-hub.json").read_text())
    found = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    found += [v["definition"] for v in board["templating"]["list"] if v["type"] == "query"]
    return found


def used_names(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC_NAME.findall(expr)}


@pytest.fixture
def exported(hub: RunningHub) -> set[str]:
    pair = accepted_pair(hub)
    pair.convert(100)
    with pytest.raises(NotFoundError):
        pair.source.get_conversion("cnv-nope")
    assert hub.server.context.metrics is not None
    port = hub.server.context.metrics.serve("127.0.0.1:0")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return exported_names(answer.read().decode()) | PROMETHEUS_SERIES


def test_the_name_finder_finds_names_in_selectors_ranges_and_comparisons() -> None:
    found = used_names(['sum(rate(coalition_a_total{x="y"}[5m])) / coalition_b > 0 and up == 0', "max(coalition_c)"])
    assert found == {"coalition_a_total", "coalition_b", "up", "coalition_c"}


def test_every_metric_an_alert_uses_is_one_the_hub_exports(exported: set[str]) -> None:
    used = used_names(alert_expressions())
    assert {"coalition_db_up", "coalition_requests_total", "coalition_request_seconds_bucket"} <= used
    assert used <= exported, f"the alerts use metrics no hub exports: {sorted(used - exported)}"


def test_every_metric_the_dashboard_uses_is_one_the_hub_exports(exported: set[str]) -> None:
    used = used_names(dashboard_expressions())
    assert {"coalition_db_up", "coalition_db_groups_total", "coalition_signature_failures_total"} <= used
    assert used <= exported, f"the dashboard uses metrics no hub exports: {sorted(used - exported)}"
