"""Metrics on their own port and one JSON log line per call, with the request id, never a member reference."""

from __future__ import annotations

import json
import logging
import urllib.request

import pytest

from exchange.logs import JsonFormatter
from partner_sdk import NotFoundError, generate_private_key
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair


@pytest.fixture
def metrics_url(hub: RunningHub) -> str:
    assert hub.server.context.metrics is not None
    port = hub.server.context.metrics.serve("127.0.0.1:0")
    return f"http://127.0.0.1:{port}/metrics"


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def test_metrics_count_calls_failures_conversions_and_pending_instructions(hub: RunningHub, metrics_url: str) -> None:
    pair = accepted_pair(hub)
    pair.convert(100)
    with pytest.raises(NotFoundError):
        pair.source.get_conversion("cnv-nope")
    forged = hub.client("stride", generate_private_key())
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal; the metric is what is checked
        forged.get_partner("stride")
    text = _scrape(metrics_url)
    assert 'coalition_requests_total{code="OK",method="Convert"} 1.0' in text
    assert 'coalition_requests_total{code="NOT_FOUND",method="GetConversion"} 1.0' in text
    assert 'coalition_signature_failures_total{reason="BAD_SIGNATURE"} 1.0' in text
    assert 'coalition_request_seconds_bucket{le="0.001",method="Convert"}' in text
    assert 'coalition_conversions_by_state{state="PENDING_CREDIT"} 1.0' in text
    assert 'coalition_instructions_pending{partner="voltline"} 1.0' in text
    assert "coalition_db_retries_total" in text


def test_each_call_logs_one_json_line_with_the_request_id_and_no_member_reference(
    hub: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    pair = accepted_pair(hub)
    with caplog.at_level(logging.INFO, logger="exchange.api"):
        conversion = pair.convert(100, member="member-secret-4242", target_member="volt-secret-77")
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "exchange.api"]
    calls = [json.loads(line) for line in lines]
    assert {c["method"].rsplit("/", 1)[-1] for c in calls} >= {"QuoteConversion", "Convert"}
    assert all(c["request_id"] and c["code"] == "OK" and c["principal"] == "stride" for c in calls)
    assert all("duration_ms" in c for c in calls)
    everything = "\n".join(lines)
    assert "member-secret-4242" not in everything
    assert "volt-secret-77" not in everything
    assert conversion.conversion_id not in everything  # bodies are never logged


def test_the_request_id_the_sdk_sends_comes_back_in_the_answer(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    with pytest.raises(NotFoundError) as refused:
        pair.source.get_conversion("cnv-nope")
    assert len(refused.value.request_id) == 32


def test_metrics_say_the_version_the_process_and_what_the_background_jobs_did(
    hub: RunningHub, metrics_url: str
) -> None:
    from exchange import __version__

    pair = accepted_pair(hub)
    pair.convert(100)
    text = _scrape(metrics_url)
    assert f'coalition_build_info{{version="{__version__}"}} 1.0' in text
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text
    backlog = [line for line in text.splitlines() if line.startswith("coalition_audit_unsealed_events ")]
    assert backlog and float(backlog[0].split()[1]) > 0  # the calls' events wait for the sealer
    hub.clock.advance(15 * 60 * 1000 + 1)
    assert hub.server.expire_overdue_once() == 1
    assert hub.server.seal_audit_once(delay_ms=0) > 0
    text = _scrape(metrics_url)
    assert 'coalition_job_runs_total{job="expire_overdue",outcome="ok"} 1.0' in text
    assert 'coalition_job_items_total{job="expire_overdue"} 1.0' in text
    assert 'coalition_job_runs_total{job="seal_audit",outcome="ok"} 1.0' in text
    assert 'coalition_job_last_success_timestamp_seconds{job="seal_audit"}' in text
    assert "coalition_audit_unsealed_events 0.0" in text
