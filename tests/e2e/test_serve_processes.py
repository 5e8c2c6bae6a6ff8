"""`coalition serve --processes 2`: two hub processes on one port, supervised by their parent, metrics summed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import grpc
import pytest

from exchange.cli import processes as hub_processes
from partner_sdk import ExchangeClient, OperatorClient, generate_private_key
from partner_sdk.keys import load_private_key
from tests.e2e.test_cli import COALITION, _free_port

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="Linux only (SO_REUSEPORT, /proc)")

# The kernel spreads connections over the workers by a hash of the addresses: with these 16 and
# the operator's, all landing on one worker is a one-in-65 536 chance.
CONNECTIONS = 16
START_TIMEOUT_S = 60


@dataclass
class TwoWorkers:
    """A running `serve --processes 2` and what its start-up output says."""

    process: subprocess.Popen[bytes]
    target: str
    port: int
    log: Path
    var_dir: Path
    workers: list[int]
    metrics_url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[TwoWorkers]:
    port = _free_port()
    log = tmp_path / "hub.log"
    command = [
        COALITION, "serve", "--processes", "2", "--listen", f"127.0.0.1:{port}", "--var-dir", str(tmp_path),
        "--metrics-listen", "127.0.0.1:0", "--workers", "4", "--grace-s", "5",
    ]  # fmt: skip
    with log.open("wb") as out:  # a file, not a pipe: nothing blocks on a full pipe of log lines
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (metrics := re.search(r"^metrics on (http://\S+)$", log.read_text(), re.MULTILINE)) is None:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the hub never started:\n{log.read_text()}"
            time.sleep(0.1)
        pids = re.search(r"^workers +2 processes, pids (\d+) (\d+)$", log.read_text(), re.MULTILINE)
        assert pids is not None, log.read_text()
        yield TwoWorkers(
            process, f"127.0.0.1:{port}", port, log, tmp_path, [int(p) for p in pids.groups()], metrics.group(1)
        )
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()  # the workers notice their parent is gone and stop by themselves
                process.wait()


def test_two_workers_share_the_port_answer_signed_calls_sum_their_metrics_and_stop_on_sigterm(
    two_workers: TwoWorkers,
) -> None:
    hub = two_workers
    assert len(set(hub.workers)) == 2
    assert all(_parent_of(pid) == hub.process.pid for pid in hub.workers)
    channels = [
        grpc.insecure_channel(hub.target, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(CONNECTIONS)
    ]
    clients = [
        ExchangeClient(
            hub.target, partner_id=f"brand-{i}", key_id="k1", private_key=generate_private_key(), channel=channel
        )
        for i, channel in enumerate(channels)
    ]
    operator = OperatorClient(hub.target, private_key=load_private_key(hub.var_dir / "operator_key.pem"))
    try:
        for i, client in enumerate(clients):
            client.register(
                display_name=f"Brand {i}",
                point_currency=f"PTS{i}",
                settlement_currency="EUR",
                point_value_minor=Fraction(1, 2),
            )
            operator.approve(f"brand-{i}")
            assert client.get_partner(f"brand-{i}").status == "ACTIVE"
        per_worker = [_connections_on(hub.port, pid) for pid in hub.workers]
        assert sum(per_worker) == CONNECTIONS + 1  # and the operator's
        assert all(per_worker), f"every connection went to one worker: {per_worker}"
        text = _scrape(hub.metrics_url)
        assert _sum(text, "coalition_requests_total", 'method="RegisterPartner"') == CONNECTIONS
        assert _sum(text, "coalition_requests_total", 'method="GetPartner"') == CONNECTIONS
        assert _sum(text, "coalition_request_seconds_count", 'method="RegisterPartner"') == CONNECTIONS
        assert _sum(text, "coalition_requests_total", 'method="ApprovePartner"') == CONNECTIONS
        assert text.count("\ncoalition_db_retries_total ") == 1  # from the workers' files, not the parent's too
    finally:
        operator.close()
        for client in clients:
            client.close()
        for channel in channels:
            channel.close()
    hub.process.send_signal(signal.SIGTERM)
    assert hub.process.wait(timeout=30) == 0, hub.output()
    assert "SIGTERM: finishing in-flight calls in 2 worker processes" in hub.output()
    assert "hub stopped" in hub.output()
    assert not any(Path(f"/proc/{pid}").exists() for pid in hub.workers)


def test_a_worker_that_dies_stops_the_other_and_the_parent_exits_1(two_workers: TwoWorkers) -> None:
    hub = two_workers
    os.kill(hub.workers[0], signal.SIGKILL)
    assert hub.process.wait(timeout=30) == 1, hub.output()
    assert f"worker {hub.workers[0]} exited unexpectedly (exit code -9)" in hub.output()
    assert not any(Path(f"/proc/{pid}").exists() for pid in hub.workers)


def test_several_processes_need_a_host_and_port_to_share(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            COALITION,
            "serve",
            "--processes",
            "2",
            "--listen",
            f"unix:{tmp_path / 'hub.sock'}",
            "--var-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "needs a HOST:PORT address" in result.stderr


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _connections_on(port: int, pid: int) -> int:
    """Established TCP connections to `port` that process `pid` holds (its socket inodes in /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port and inode in inodes:
                count += 1
    return count


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def _sum(text: str, name: str, label: str) -> float:
    """The sum of one metric's samples whose labels include `label`."""
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith(name + "{") and label in line.partition("}")[0]
    )


def _second_hub(two_workers: TwoWorkers, *extra: str) -> subprocess.CompletedProcess[str]:
    """Another hub, with a var dir (so keys) of its own, on the same address as the running group."""
    other = two_workers.var_dir / "other"
    other.mkdir(exist_ok=True)
    return subprocess.run(
        [COALITION, "serve", "--listen", two_workers.target, "--var-dir", str(other), "--metrics-listen", "", *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("extra", [(), ("--processes", "2")], ids=["one process", "another group"])
def test_no_other_hub_can_bind_the_address_of_a_running_group(two_workers: TwoWorkers, extra: tuple[str, ...]) -> None:
    refused = _second_hub(two_workers, *extra)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "cannot listen on" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert two_workers.process.poll() is None  # the running group is untouched


@pytest.mark.postgres
def test_serve_on_postgresql_without_processes_runs_one_per_core(tmp_path: Path, postgres_url: str) -> None:
    """The default is the fast configuration: a process per core (at most four) on PostgreSQL."""
    expected = hub_processes.default_count("127.0.0.1:1", "postgresql")
    assert expected == max(1, min(len(os.sched_getaffinity(0)), hub_processes.DEFAULT_MAX_PROCESSES))
    output = _started_and_stopped(
        [COALITION, "serve", "--listen", f"127.0.0.1:{_free_port()}", "--db", postgres_url, "--var-dir", str(tmp_path),
         "--metrics-listen", ""],
        tmp_path / "hub.log",
    )  # fmt: skip
    workers = re.search(r"^workers +(\d+) processes", output, re.MULTILINE)
    assert (int(workers.group(1)) if workers else 1) == expected, output


def test_serve_on_sqlite_without_processes_runs_one(tmp_path: Path) -> None:
    output = _started_and_stopped(
        [COALITION, "serve", "--listen", f"127.0.0.1:{_free_port()}", "--var-dir", str(tmp_path),
         "--metrics-listen", ""],
        tmp_path / "hub.log",
    )  # fmt: skip
    assert "workers" not in output, output


def _started_and_stopped(command: list[str], log: Path) -> str:
    """Run `serve` until it prints its listening line and its details, then SIGTERM it; its whole output."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not re.search(r"^operator key ", log.read_text(), re.MULTILINE):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the hub never started:\n{log.read_text()}"
            time.sleep(0.1)
        time.sleep(0.2)  # the workers line follows the details
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return log.read_text()
