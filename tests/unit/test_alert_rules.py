"""docker/prometheus: the alert rules and the example Prometheus configuration, checked by promtool."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "docker" / "prometheus"
RULES = PROMETHEUS / "alerts.yaml"
# What an operator expects to be paged or warned about (issue 18).
EXPECTED_ALERTS = {
    "CoalitionHubDown",
    "CoalitionHubAbsent",
    "CoalitionDatabaseDown",
    "CoalitionServerErrors",
    "CoalitionHighErrorRate",
    "CoalitionSignatureFailuresSpike",
    "CoalitionSlowCalls",
    "CoalitionDatabaseRetries",
    "CoalitionInstructionsNotCollected",
}


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run promtool from the repository root; skip without it, but fail in CI, which installs it."""
    binary = shutil.which("promtool")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing in CI: .ci/run installs it (apt-get install prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return subprocess.run([binary, *arguments], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_promtool_check_rules_accepts_the_alert_rules() -> None:
    checked = promtool("check", "rules", "docker/prometheus/alerts.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


def test_promtool_test_rules_passes_the_alerts_unit_tests() -> None:
    tested = promtool("test", "rules", "docker/prometheus/alerts.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_promtool_check_config_accepts_the_example_prometheus_configuration() -> None:
    checked = promtool("check", "config", "docker/prometheus/prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_cover_what_an_operator_expects() -> None:
    assert {rule["alert"] for rule in rules()} == EXPECTED_ALERTS


def test_every_alert_has_a_severity_a_summary_a_description_and_a_wait() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert "for" in rule, f"{rule['alert']} would fire on a single evaluation"


def test_the_latency_alert_leaves_out_the_long_poll() -> None:
    (slow,) = (rule for rule in rules() if rule["alert"] == "CoalitionSlowCalls")
    assert 'method!="PullInstructions"' in slow["expr"]


def test_the_alert_unit_tests_cover_down_database_errors_and_instructions() -> None:
    tested = yaml.safe_load((PROMETHEUS / "alerts.test.yaml").read_text())
    assert tested["rule_files"] == ["alerts.yaml"]
    covered = {case["alertname"] for test in tested["tests"] for case in test["alert_rule_test"]}
    assert {
        "CoalitionHubDown",
        "CoalitionDatabaseDown",
        "CoalitionServerErrors",
        "CoalitionSlowCalls",
        "CoalitionInstructionsNotCollected",
    } <= covered
    scrape = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert [job["job_name"] for job in scrape["scrape_configs"]] == ["coalition-hub"]  # what the rules select on
