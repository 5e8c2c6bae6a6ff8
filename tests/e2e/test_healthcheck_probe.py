"""`python -m exchange.healthcheck`, the image's HEALTHCHECK: right answers for a fraction of the CLI's CPU."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

COALITION = str(Path(sys.executable).parent / "coalition")
PROBE = [sys.executable, "-m", "exchange.healthcheck"]
ROOT = Path(__file__).resolve().parents[2]
RUNS = 3
# What Docker pays per probe today (issue 18 measured `coalition health` at ~0.77 s of CPU).
MAX_PROBE_CPU_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROBE, *arguments], capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)


def children_cpu_s(command: list[str]) -> float:
    """CPU seconds (user + system) the command used, averaged over RUNS runs; each run must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(RUNS):
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / RUNS


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    var_dir = tmp_path_factory.mktemp("hub")
    target = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [COALITION, "serve", "--listen", target, "--metrics-listen", "", "--var-dir", str(var_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=var_dir,
    )
    try:
        deadline = time.monotonic() + 30
        while probe(target, "--timeout-s", "1").returncode != 0:
            assert server.poll() is None, f"the hub exited with {server.returncode}"
            assert time.monotonic() < deadline, "the hub never became SERVING"
            time.sleep(0.2)
        yield target, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_probe_exits_0_and_says_serving_for_a_serving_hub(hub: tuple[str, subprocess.Popen[bytes]]) -> None:
    target, _ = hub
    answer = probe(target)
    assert (answer.returncode, answer.stdout.strip()) == (0, "SERVING"), answer.stderr


def test_the_probe_exits_1_for_a_service_the_hub_does_not_serve(hub: tuple[str, subprocess.Popen[bytes]]) -> None:
    target, _ = hub
    answer = probe(target, "--service", "no.such.Service")
    assert answer.returncode == 1
    assert answer.stdout.strip() == "NOT SERVING: NOT_FOUND"


def test_the_probe_exits_1_when_nothing_answers() -> None:
    answer = probe(f"127.0.0.1:{free_port()}", "--timeout-s", "1")
    assert answer.returncode == 1
    assert answer.stdout.startswith("NOT SERVING: ")


def test_a_timeout_out_of_range_is_a_usage_error() -> None:
    answer = probe("127.0.0.1:1", "--timeout-s", "0")
    assert answer.returncode == 2
    assert "--timeout-s" in answer.stderr


def test_the_probe_imports_neither_the_cli_nor_the_database_stack() -> None:
    answer = subprocess.run(
        [sys.executable, "-X", "importtime", *PROBE[1:], f"127.0.0.1:{free_port()}", "--timeout-s", "0.2"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in answer.stderr.splitlines() if line.startswith("import")}
    assert {"grpc", "grpc_health.v1.health_pb2"} <= imported
    for heavy in ("typer", "click", "rich", "sqlalchemy", "alembic", "psycopg", "exchange.cli", "exchange.store"):
        assert heavy not in imported, f"the probe imports {heavy}"


def test_the_probe_costs_well_under_half_the_cpu_of_coalition_health(hub: tuple[str, subprocess.Popen[bytes]]) -> None:
    target, _ = hub
    probe_s = children_cpu_s([*PROBE, target])
    cli_s = children_cpu_s([COALITION, "health", "--target", target])
    assert probe_s < MAX_PROBE_CPU_S, f"the probe took {probe_s:.3f} s of CPU"
    assert probe_s < cli_s / 2, f"the probe took {probe_s:.3f} s of CPU, coalition health {cli_s:.3f} s"
