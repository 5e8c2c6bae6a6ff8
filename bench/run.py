"""End-to-end throughput of the exchange: signed conversions through the SDK against a real hub process.

Usage: .venv/bin/python bench/run.py [--short] [--clients N] [--duration S] [--hub-processes N]
       [--client-processes K] [--py-spy DIR] [--no-floor] [--no-settle]

A conversion here is QuoteConversion + Convert, two signed calls from the source brand; the
target brand acknowledging the credit is separate work and is not driven. Every run starts
`coalition serve` as a subprocess on a fresh database (PostgreSQL, created here and dropped at
the end; or a SQLite file), fully durable (synchronous_commit and fsync as the server has them,
which must be on; SQLite in WAL with synchronous=FULL). The clients are threads spread over one or
more processes; a no-op gRPC server driven the same way gives the floor one server process sets.
Then bench/settle.py closes a settlement period of 1,000,000 movements through a hub of its own.
The last line printed is one JSON object; bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import sqlalchemy
from ceiling import Ceiling, ceiling
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from partner_sdk import (
    AgreementTerms,
    ExchangeClient,
    ExchangeError,
    OperatorClient,
    generate_private_key,
    public_key_bytes,
    save_private_key,
    signing,
)
from partner_sdk.client import MAX_MESSAGE_BYTES
from partner_sdk.keys import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from settle import SettleResult

ROOT = Path(__file__).resolve().parent.parent
COALITION = str(Path(sys.executable).parent / "coalition")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PGBENCH = "/usr/bin/pgbench"
TARGET_BRAND = "bench-target"
SOURCE_POINTS = 1_000  # per conversion: fee 10, 990 converted, 1 485 target points, 742 minor units
CLK_TCK = os.sysconf("SC_CLK_TCK")
SCALING_CLIENTS = (1, 4, 16, 64)

OTHER_LOAD_WARNING_CORES = 0.25
DRAIN_S = 30  # after the window, how long in-flight conversions may finish before the channels close
CLIENT_START_TIMEOUT_S = 120  # spawned client processes import the SDK and build their clients first
FLOOR_METHOD = "/bench.Floor/Echo"
FLOOR_REQUEST_BYTES = 128  # about a conversion request's body; no metadata, no signature

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


@dataclass(frozen=True)
class Mode:
    """How long each part of the benchmark runs."""

    name: str
    warmup_s: float
    duration_s: float
    scaling_duration_s: float
    scaling_pgbench_duration_s: int  # the main pgbench run lasts as long as the main window
    crypto_iterations: int
    floor_duration_s: float


SHORT = Mode("short", warmup_s=2, duration_s=8, scaling_duration_s=5, scaling_pgbench_duration_s=4,
             crypto_iterations=3_000, floor_duration_s=4)  # fmt: skip
FULL = Mode("full", warmup_s=5, duration_s=60, scaling_duration_s=30, scaling_pgbench_duration_s=30,
            crypto_iterations=20_000, floor_duration_s=10)  # fmt: skip


# --------------------------------------------------------------------------- CPU accounting


def _proc_stat_fields(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text.rsplit(")", 1)[1].split()  # fields from the 3rd (state) on; comm may hold spaces


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process, seconds (from /proc/<pid>/stat)."""
    fields = _proc_stat_fields(pid)
    if fields is None:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_tree_cpu_s(pid: int) -> float:
    """utime + stime of a process and of its live descendants (the workers of `serve --processes N`), seconds."""
    total = process_cpu_s(pid)
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for child in (int(c) for c in children.read_text().split()):
                    cpu = process_cpu_s(child)
                    if not math.isnan(cpu):  # exited since it was listed
                        total += cpu
                        pending.append(child)
    return total


def postgres_cpu_s(database: str | None) -> float | None:
    """CPU seconds of the PostgreSQL processes working for one database, or None.

    Counted: the backends connected to `database` (their process title names it) and the
    server's shared background processes (WAL writer, checkpointer, background writer, ...),
    which do the durable-commit work for every database. Not counted: backends of other
    databases, so a test suite running on the same server is left out (its share of the shared
    processes is not), and backends that exit during the window (the hub's pool keeps its
    connections). None for SQLite, or when no postgres process is visible (a remote server).
    """
    if database is None:
        return None
    total = 0.0
    seen = False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        is_client_backend = "(" in title or "[local]" in title
        if is_client_backend and f" {database} " not in title:
            continue  # another database's session
        fields = _proc_stat_fields(entry.name)
        if fields is None:
            continue
        seen = True
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total if seen else None


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclass
class CpuSnapshot:
    """Counters read at one instant."""

    at: float
    hub_s: float
    postgres_s: float | None
    client_s: float
    machine: tuple[float, float]

    @classmethod
    def take(cls, hub_pid: int, database: str | None, client_cpu_s: Callable[[], float]) -> CpuSnapshot:
        return cls(
            time.perf_counter(),
            process_tree_cpu_s(hub_pid),
            postgres_cpu_s(database),
            client_cpu_s(),
            machine_busy(),
        )


# --------------------------------------------------------------------------- databases


class Postgres:
    """The PostgreSQL server: fresh databases for each run, dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def settings(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return {
                name: connection.execute(sqlalchemy.text(f"SHOW {name}")).scalar_one()
                for name in ("server_version", "synchronous_commit", "fsync", "full_page_writes", "wal_sync_method")
            }

    def create(self, label: str) -> str:
        name = f"coalition_bench_{uuid.uuid4().hex[:10]}_{label}"
        with self.engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return name

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def durable(self, name: str) -> dict[str, str]:
        """synchronous_commit and fsync as a connection to this database sees them (role or db overrides too)."""
        engine = sqlalchemy.create_engine(self.url(name))
        try:
            with engine.connect() as connection:
                return {
                    n: connection.execute(sqlalchemy.text(f"SHOW {n}")).scalar_one()
                    for n in ("synchronous_commit", "fsync")
                }
        finally:
            engine.dispose()

    def count_conversions(self, name: str) -> int:
        engine = sqlalchemy.create_engine(self.url(name))
        try:
            with engine.connect() as connection:
                return int(connection.execute(sqlalchemy.text("SELECT count(*) FROM conversions")).scalar_one())
        finally:
            engine.dispose()

    def transactions(self, name: str) -> tuple[int, int]:
        """(commits, rollbacks) of one database so far, from pg_stat_database (flushed about every second)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sqlalchemy.text("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = :name"),
                {"name": name},
            ).one()
        return int(row[0]), int(row[1])

    def analyze(self, name: str) -> None:
        """ANALYZE one database, so the planner knows how many rows the warm-up wrote."""
        engine = sqlalchemy.create_engine(self.url(name), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("ANALYZE"))
        finally:
            engine.dispose()

    def siread_locks(self, name: str) -> dict[str, int]:
        """The serializable transactions' predicate locks now held in one database, by relation and granularity."""
        engine = sqlalchemy.create_engine(self.url(name))
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    sqlalchemy.text(
                        "SELECT relation::regclass::text, locktype, count(*) FROM pg_locks "
                        "WHERE mode = 'SIReadLock' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "GROUP BY 1, 2 ORDER BY 3 DESC"
                    )
                ).all()
        finally:
            engine.dispose()
        return {f"{relation} ({locktype})": int(count) for relation, locktype, count in rows}

    def drop_all(self) -> None:
        with self.engine.connect() as connection:
            for name in self.created:
                connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.clear()
        self.engine.dispose()

    def pgbench_env(self) -> tuple[list[str], dict[str, str]]:
        url = make_url(self.admin_url)
        args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
        env = dict(os.environ)
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        return args, env


# --------------------------------------------------------------------------- the hub process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """`coalition serve` as a subprocess, with the risk limits out of the benchmark's way."""

    def __init__(
        self, db_url: str, workdir: Path, *, workers: int, processes: int = 1, group_commit: bool = True
    ) -> None:
        self.group_commit = group_commit
        self.db_url = db_url
        self.workdir = workdir
        self.workers = workers
        self.processes = processes
        self.port = free_port()
        self.metrics_port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.operator_key = generate_private_key()
        self.hub_key = generate_private_key()
        self.hub_public_key = public_key_bytes(self.hub_key)
        self.log_path = workdir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        save_private_key(self.workdir / "operator.pem", self.operator_key)
        save_private_key(self.workdir / "hub.pem", self.hub_key)
        command = [
            COALITION,
            "serve",
            "--listen", self.target,
            "--db", self.db_url,
            "--hub-key", str(self.workdir / "hub.pem"),
            "--operator-key", str(self.workdir / "operator.pem"),
            "--var-dir", str(self.workdir),
            "--workers", str(self.workers),
            "--processes", str(self.processes),
            "--metrics-listen", f"127.0.0.1:{self.metrics_port}",
            "--member-conversions-per-hour", "1000000000",
            "--exposure-limit-minor", str(10**15),
            "--group-commit" if self.group_commit else "--no-group-commit",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self._wait_ready()

    def _wait_ready(self) -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        assert self.process is not None
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(grpc.RpcError):
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    # With several processes one answering is not enough: the parent prints the
                    # listening line once every worker has bound the port.
                    if answer.status == health_pb2.HealthCheckResponse.SERVING and (
                        self.processes == 1 or "hub listening on" in self.log_tail(200)
                    ):
                        return
                time.sleep(0.2)
        raise RuntimeError(f"the hub never answered:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def metrics(self) -> dict[str, float]:
        """The hub's Prometheus figures, keyed by 'name{labels}'."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    found[name] = float(value)
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --------------------------------------------------------------------------- the coalition


@dataclass(frozen=True)
class Brand:
    partner_id: str
    key: Ed25519PrivateKey


def agreement_terms(source: str) -> AgreementTerms:
    now = datetime.now(UTC)
    return AgreementTerms(
        source_partner_id=source,
        target_partner_id=TARGET_BRAND,
        version=1,
        rate=Fraction(3, 2),
        min_source_points=10,
        max_source_points=100_000,
        source_increment=1,
        member_daily_cap_source_points=1_000_000_000,
        fee_basis_points=100,
        fee_fixed_points=None,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
        settlement_price_minor=Fraction(1, 2),
        settlement_currency="EUR",
    )


def build_coalition(
    address: str, *, hub_public_key: bytes, operator_key: Ed25519PrivateKey, sources: int
) -> list[Brand]:
    """Register the target brand and `sources` source brands, approve them, agree source -> target."""
    target_key = generate_private_key()
    with (
        OperatorClient(address, private_key=operator_key, hub_public_key=hub_public_key) as operator,
        ExchangeClient(
            address, partner_id=TARGET_BRAND, key_id="k1", private_key=target_key, hub_public_key=hub_public_key
        ) as target,
    ):
        target.register(
            display_name="Bench Target", point_currency="TGTPTS", settlement_currency="EUR", point_value_minor=1
        )
        operator.approve(TARGET_BRAND)
        brands = []
        for index in range(sources):
            brand = Brand(f"bench-source-{index}", generate_private_key())
            with ExchangeClient(
                address, partner_id=brand.partner_id, key_id="k1", private_key=brand.key, hub_public_key=hub_public_key
            ) as source:
                source.register(
                    display_name=f"Bench Source {index}",
                    point_currency=f"SRC{index}",
                    settlement_currency="EUR",
                    point_value_minor=Fraction(1, 2),
                )
                operator.approve(brand.partner_id)
                proposed = source.propose_agreement(agreement_terms(brand.partner_id))
            target.accept_agreement(proposed.agreement_id)
            brands.append(brand)
    return brands


# --------------------------------------------------------------------------- one measured run


@dataclass
class RunResult:
    """One hub, one client count, one measurement window (see bench/README.md for each figure)."""

    backend: str
    clients: int
    hub_processes: int
    client_processes: int  # the client threads are spread over this many processes
    source_brands: int
    window_s: float
    conversions: int
    conversions_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    quote_p50_ms: float | None
    convert_p50_ms: float | None
    hub_cpu_ms_per_conversion: float | None
    postgres_cpu_ms_per_conversion: float | None
    client_cpu_ms_per_conversion: float | None
    hub_cores: float
    postgres_cores: float | None
    client_cores: float
    other_cores: float  # machine busy minus hub, PostgreSQL and the clients: anything else running
    machine_busy_pct: float
    first_quarter_per_s: float
    last_quarter_per_s: float
    hub_side_quote_ms: float | None  # mean time inside the hub (its own histogram), in the window
    hub_side_convert_ms: float | None
    db_retries: int | None  # transactions the hub ran again (serialization failures, deadlocks), in the window
    # Group commit, in the window: calls committed in groups ÷ groups, and calls a group handed back to run alone.
    calls_per_group: float | None
    group_handed_back: int | None
    pg_commits_per_conversion: float | None
    pg_rollbacks_per_conversion: float | None
    siread_locks_mid_window: dict[str, int] | None = None
    errors: dict[str, int] = field(default_factory=dict)  # failed conversions in the window, by reason
    converted_total: int = 0  # every successful Convert, warm-up and tail included
    rows_in_database: int | None = None  # conversions the database holds afterwards (= converted_total)


# --------------------------------------------------------------------------- the clients

# (began, middle, ended) of one completed loop: for a conversion the middle is when the quote came
# back, for a floor call it is the end. time.perf_counter is CLOCK_MONOTONIC on Linux, one clock
# for every process, so the client processes' figures compare with the window's bounds.
Record = tuple[float, float, float]
Failure = tuple[float, str]  # when, and the reason (exception class, and the hub's reason code)


@dataclass(frozen=True)
class ClientJob:
    """What a share of the client threads runs (picklable: it crosses into spawned processes)."""

    kind: str  # "conversion" (quote + convert through the SDK) or "floor" (one no-op call)
    target: str
    run_tag: str = ""
    hub_public_key: bytes | None = None
    brands: tuple[tuple[str, bytes], ...] = ()  # partner id and raw Ed25519 private key
    indices: tuple[int, ...] = ()  # the clients' numbers across all processes


def _raw_private_key(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


class ClientThreads:
    """One process's client threads, each on its own connection, looping from release() until `stop`."""

    def __init__(self, job: ClientJob, stop: threading.Event) -> None:
        self.job = job
        self.records: list[list[Record]] = [[] for _ in job.indices]
        self.failures: list[Failure] = []
        self._stop = stop
        self._channels = [_channel(job.target) for _ in job.indices]
        self._gate = threading.Barrier(len(job.indices) + 1)
        self._threads = [
            threading.Thread(target=self._loop, args=(slot,), name=f"client-{index}", daemon=True)
            for slot, index in enumerate(job.indices)
        ]
        for thread in self._threads:
            thread.start()

    def release(self) -> None:
        """Wait until every thread has built its client, then let them all go."""
        self._gate.wait()

    def join(self, deadline: float) -> None:
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for channel in self._channels:
            channel.close()

    def _loop(self, slot: int) -> None:
        call = self._conversion(slot) if self.job.kind == "conversion" else self._floor_call(slot)
        mine = self.records[slot]
        self._gate.wait()
        n = 0
        while not self._stop.is_set():
            n += 1
            began = time.perf_counter()
            try:
                middle = call(n)
            except ExchangeError as exc:
                self.failures.append((time.perf_counter(), f"{type(exc).__name__}:{exc.reason}"))
                continue
            except Exception as exc:  # a closed channel at the very end, say: count it, don't die
                self.failures.append((time.perf_counter(), type(exc).__name__))
                continue
            mine.append((began, middle, time.perf_counter()))

    def _conversion(self, slot: int) -> Callable[[int], float]:
        job, index = self.job, self.job.indices[slot]
        partner_id, key = job.brands[index % len(job.brands)]
        client = ExchangeClient(
            job.target,
            partner_id=partner_id,
            key_id="k1",
            private_key=Ed25519PrivateKey.from_private_bytes(key),
            hub_public_key=job.hub_public_key,
            channel=self._channels[slot],
        )

        def convert(n: int) -> float:
            quote = client.quote_conversion(TARGET_BRAND, SOURCE_POINTS)
            quoted = time.perf_counter()
            client.convert(
                quote.quote_id,
                source_member_ref=f"m-{job.run_tag}-{index}-{n}",
                target_member_ref=f"t-{job.run_tag}-{index}-{n}",
                idempotency_key=f"bench-{job.run_tag}-{index}-{n}",
            )
            return quoted

        return convert

    def _floor_call(self, slot: int) -> Callable[[int], float]:
        echo = self._channels[slot].unary_unary(FLOOR_METHOD)  # no serializers: bytes in, bytes out
        body = os.urandom(FLOOR_REQUEST_BYTES)

        def call(_n: int) -> float:
            echo(body, timeout=DRAIN_S)
            return time.perf_counter()

        return call


def _client_process(job: ClientJob, gate: Any, stop: Any, results: Any) -> None:
    """A spawned client process: its share of the threads, released with every other process's."""
    local_stop = threading.Event()  # the threads test it every call: cheaper than the shared semaphore
    threads = ClientThreads(job, local_stop)
    gate.wait(timeout=CLIENT_START_TIMEOUT_S)
    threads.release()
    stop.wait()
    local_stop.set()
    threads.join(time.monotonic() + DRAIN_S)
    results.put((threads.records, threads.failures))


class Clients:
    """`clients` client threads: in this process, or spread round-robin over `processes` spawned ones.

    One process's GIL holds its SDK clients (signing, verifying, gRPC) near one core, so with
    several client threads they are spread over processes (multiprocessing's 'spawn': a fresh
    interpreter, nothing of this one's gRPC state). Starts them and returns once all are looping.
    """

    def __init__(self, job: ClientJob, *, clients: int, processes: int) -> None:
        self.processes = max(1, min(processes, clients))
        self._local: ClientThreads | None = None
        self._spawned: list[multiprocessing.process.BaseProcess] = []
        if self.processes == 1:
            self._stop: Any = threading.Event()
            self._local = ClientThreads(replace(job, indices=tuple(range(clients))), self._stop)
            self._local.release()
            return
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._results = context.Queue()
        gate = context.Barrier(self.processes + 1)
        for share in range(self.processes):
            mine = replace(job, indices=tuple(range(share, clients, self.processes)))
            process = context.Process(
                target=_client_process, args=(mine, gate, self._stop, self._results), name=f"clients-{share}"
            )
            process.daemon = True
            process.start()
            self._spawned.append(process)
        try:
            gate.wait(timeout=CLIENT_START_TIMEOUT_S)
        except threading.BrokenBarrierError:
            self._terminate()
            raise RuntimeError("the client processes did not start") from None

    def cpu_s(self) -> float:
        """CPU seconds of this process (the coordinator, and the threads if local) and the client processes."""
        return time.process_time() + sum(process_cpu_s(p.pid) for p in self._spawned if p.pid is not None)

    def stop(self) -> tuple[list[Record], list[Failure]]:
        """Stop looping, let in-flight calls finish (up to DRAIN_S), close; every record and failure."""
        self._stop.set()
        if self._local is not None:
            self._local.join(time.monotonic() + DRAIN_S)
            return [r for mine in self._local.records for r in mine], self._local.failures
        records: list[Record] = []
        failures: list[Failure] = []
        try:
            for _ in self._spawned:  # read before joining: a process exits once its results are taken
                shares, failed = self._results.get(timeout=DRAIN_S + CLIENT_START_TIMEOUT_S)
                records.extend(r for mine in shares for r in mine)
                failures.extend(failed)
        finally:
            self._terminate()
        return records, failures

    def _terminate(self) -> None:
        for process in self._spawned:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def _channel(target: str) -> grpc.Channel:
    # Its own subchannel pool: each client gets its own TCP connection, like a separate brand backend.
    return grpc.insecure_channel(
        target,
        options=[
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )


def drive(
    hub: HubProcess,
    brands: list[Brand],
    *,
    backend: str,
    clients: int,
    client_processes: int,
    warmup_s: float,
    duration_s: float,
    postgres: Postgres,
    database: str | None,
    analyze: bool = False,
    py_spy: Path | None = None,
) -> tuple[RunResult, Path | None]:
    """Run `clients` threads converting as fast as they can; measure the window after the warm-up."""
    job = ClientJob(
        kind="conversion",
        target=hub.target,
        run_tag=uuid.uuid4().hex[:8],
        hub_public_key=hub.hub_public_key,
        brands=tuple((b.partner_id, _raw_private_key(b.key)) for b in brands),
    )
    pool = Clients(job, clients=clients, processes=client_processes)
    time.sleep(warmup_s)
    if analyze and database:
        postgres.analyze(database)
    spy: subprocess.Popen[bytes] | None = None
    spy_out: Path | None = None
    if py_spy is not None:
        spy, spy_out = start_py_spy(hub.pid, py_spy, backend, clients, duration_s, subprocesses=hub.processes > 1)
    metrics_before = hub.metrics()
    xacts_before = postgres.transactions(database) if database else None
    before = CpuSnapshot.take(hub.pid, database, pool.cpu_s)
    time.sleep(duration_s / 2)
    siread = postgres.siread_locks(database) if database else None
    time.sleep(max(0.0, before.at + duration_s - time.perf_counter()))
    after = CpuSnapshot.take(hub.pid, database, pool.cpu_s)
    xacts_after = postgres.transactions(database) if database else None
    metrics_after = hub.metrics()
    done, failures = pool.stop()
    if spy is not None:
        spy.wait(timeout=120)

    window = after.at - before.at
    in_window = sorted((r for r in done if before.at <= r[2] < after.at), key=lambda r: r[2])
    latencies = sorted((end - began) * 1000 for began, _, end in in_window)
    quotes = sorted((quoted - began) * 1000 for began, quoted, _ in in_window)
    converts = sorted((end - quoted) * 1000 for _, quoted, end in in_window)
    count = len(in_window)
    quarter = window / 4
    first = sum(1 for r in in_window if r[2] < before.at + quarter) / quarter
    last = sum(1 for r in in_window if r[2] >= after.at - quarter) / quarter
    errors = collections.Counter(reason for at, reason in failures if before.at <= at < after.at)

    def per_conversion_ms(delta: float | None) -> float | None:
        return None if delta is None or count == 0 else round(delta * 1000 / count, 3)

    def delta(name: str) -> float | None:
        if name not in metrics_after:
            return None
        return metrics_after[name] - metrics_before.get(name, 0.0)

    def hub_side_ms(method: str) -> float | None:
        total = delta(f'coalition_request_seconds_sum{{method="{method}"}}')
        calls = delta(f'coalition_request_seconds_count{{method="{method}"}}')
        return round(total * 1000 / calls, 3) if total is not None and calls else None

    hub_s = after.hub_s - before.hub_s
    client_s = after.client_s - before.client_s
    pg_s = (
        after.postgres_s - before.postgres_s if after.postgres_s is not None and before.postgres_s is not None else None
    )
    busy = (after.machine[0] - before.machine[0]) / max(1.0, after.machine[1] - before.machine[1])
    busy_cores = busy * (os.cpu_count() or 1)
    retries = delta("coalition_db_retries_total")
    groups = delta("coalition_db_groups_total")
    grouped_calls = delta("coalition_db_grouped_calls_total")
    handed_back = delta("coalition_db_group_handed_back_total")
    commits = rollbacks = None
    if xacts_before is not None and xacts_after is not None and count:
        commits = round((xacts_after[0] - xacts_before[0]) / count, 2)
        rollbacks = round((xacts_after[1] - xacts_before[1]) / count, 2)
    result = RunResult(
        backend=backend,
        clients=clients,
        hub_processes=hub.processes,
        client_processes=pool.processes,
        source_brands=len(brands),
        window_s=round(window, 3),
        conversions=count,
        conversions_per_s=round(count / window, 1),
        p50_ms=_round(percentile(latencies, 0.50)),
        p99_ms=_round(percentile(latencies, 0.99)),
        max_ms=_round(latencies[-1] if latencies else None),
        mean_ms=_round(statistics.fmean(latencies) if latencies else None),
        quote_p50_ms=_round(percentile(quotes, 0.50)),
        convert_p50_ms=_round(percentile(converts, 0.50)),
        hub_cpu_ms_per_conversion=per_conversion_ms(hub_s),
        postgres_cpu_ms_per_conversion=per_conversion_ms(pg_s),
        client_cpu_ms_per_conversion=per_conversion_ms(client_s),
        hub_cores=round(hub_s / window, 2),
        postgres_cores=None if pg_s is None else round(pg_s / window, 2),
        client_cores=round(client_s / window, 2),
        other_cores=round(max(0.0, busy_cores - (hub_s + client_s + (pg_s or 0.0)) / window), 2),
        machine_busy_pct=round(100 * busy, 1),
        first_quarter_per_s=round(first, 1),
        last_quarter_per_s=round(last, 1),
        hub_side_quote_ms=hub_side_ms("QuoteConversion"),
        hub_side_convert_ms=hub_side_ms("Convert"),
        db_retries=None if retries is None else int(retries),
        calls_per_group=round(grouped_calls / groups, 2) if groups and grouped_calls is not None else None,
        group_handed_back=None if handed_back is None else int(handed_back),
        pg_commits_per_conversion=commits,
        pg_rollbacks_per_conversion=rollbacks,
        siread_locks_mid_window=siread,
        errors=dict(errors),
        converted_total=len(done),
    )
    return result, spy_out


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def run_hub(
    *,
    backend: str,
    postgres: Postgres,
    workdir: Path,
    clients: int,
    sources: int,
    workers: int,
    hub_processes: int,
    client_processes: int,
    warmup_s: float,
    duration_s: float,
    group_commit: bool = True,
    analyze: bool = False,
    py_spy: Path | None = None,
) -> tuple[RunResult, Path | None]:
    """Fresh database, fresh hub (`hub_processes` processes), coalition set up, one measured run, hub stopped."""
    label = f"{backend}-{clients}c-{uuid.uuid4().hex[:6]}"
    hub_dir = workdir / label
    if backend == "postgresql":
        name = postgres.create(f"{clients}c")
        durable = postgres.durable(name)
        if durable["synchronous_commit"] != "on" or durable["fsync"] != "on":
            raise SystemExit(f"refusing to benchmark a non-durable database: {durable}")
        url = postgres.url(name)
    else:
        name = ""
        url = f"sqlite:///{hub_dir / 'exchange.sqlite3'}"
    hub = HubProcess(url, hub_dir, workers=workers, processes=hub_processes, group_commit=group_commit)
    try:
        hub.start()
        brands = build_coalition(
            hub.target, hub_public_key=hub.hub_public_key, operator_key=hub.operator_key, sources=sources
        )
        result, profile = drive(
            hub,
            brands,
            backend=backend,
            clients=clients,
            client_processes=client_processes,
            warmup_s=warmup_s,
            duration_s=duration_s,
            postgres=postgres,
            database=name or None,
            analyze=analyze,
            py_spy=py_spy,
        )
    except Exception:
        console.print(f"[red]hub log ({hub.log_path}):[/red]\n{hub.log_tail()}", markup=True)
        raise
    finally:
        hub.stop()
    if backend == "postgresql":
        result.rows_in_database = postgres.count_conversions(name)
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(hub_dir / "exchange.sqlite3")) as db:
            result.rows_in_database = int(db.execute("SELECT count(*) FROM conversions").fetchone()[0])
    return result, profile


# --------------------------------------------------------------------------- pgbench


@dataclass
class PgbenchResult:
    clients: int
    duration_s: int
    scale: int
    tps: float
    latency_avg_ms: float | None
    # CPU per transaction over the middle of the run (the first and last PGBENCH_EDGE_S left out):
    # PostgreSQL (this database's backends and the shared processes) and pgbench itself.
    postgres_cpu_ms_per_tx: float | None = None
    pgbench_cpu_ms_per_tx: float | None = None


PGBENCH_EDGE_S = 1.0  # left out at each end of a pgbench run when its CPU is measured: connecting, ending


class Pgbench:
    """pgbench's built-in TPC-B-like script on one fresh database, initialised once."""

    def __init__(self, postgres: Postgres, scale: int) -> None:
        self.postgres = postgres
        self.scale = scale
        self.database = ""

    def initialise(self) -> None:
        self.database = self.postgres.create("pgbench")
        args, env = self.postgres.pgbench_env()
        subprocess.run(
            [PGBENCH, "-i", "-q", "-s", str(self.scale), *args, self.database],
            check=True,
            capture_output=True,
            env=env,
        )

    def run(self, clients: int, duration_s: int) -> PgbenchResult:
        if not self.database:
            self.initialise()
        args, env = self.postgres.pgbench_env()
        process = subprocess.Popen(
            [PGBENCH, "-c", str(clients), "-j", str(clients), "-T", str(duration_s), *args, self.database],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        # CPU is read while pgbench's connections are open: a backend's CPU leaves /proc with it.
        measured = duration_s > 3 * PGBENCH_EDGE_S
        if measured:  # as for the floor server, the snapshot's "hub" is the process measured: pgbench
            time.sleep(PGBENCH_EDGE_S)
            before = CpuSnapshot.take(process.pid, self.database, lambda: 0.0)
            time.sleep(duration_s - 2 * PGBENCH_EDGE_S)
            after = CpuSnapshot.take(process.pid, self.database, lambda: 0.0)
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"pgbench failed ({process.returncode}):\n{stdout}\n{stderr}")
        tps = re.search(r"^tps = ([0-9.]+)", stdout, re.MULTILINE)
        latency = re.search(r"^latency average = ([0-9.]+) ms", stdout, re.MULTILINE)
        if tps is None:
            raise RuntimeError(f"no tps in pgbench's output:\n{stdout}")
        result = PgbenchResult(
            clients, duration_s, self.scale, float(tps.group(1)), float(latency.group(1)) if latency else None
        )
        if measured and result.tps:
            # Transactions in the interval at pgbench's own average rate: pg_stat_database lags by up to a second.
            transactions = result.tps * (after.at - before.at)
            if before.postgres_s is not None and after.postgres_s is not None:
                result.postgres_cpu_ms_per_tx = round((after.postgres_s - before.postgres_s) * 1000 / transactions, 3)
            if not math.isnan(before.hub_s) and not math.isnan(after.hub_s):
                result.pgbench_cpu_ms_per_tx = round((after.hub_s - before.hub_s) * 1000 / transactions, 3)
        return result


# --------------------------------------------------------------------------- the gRPC floor


class _Echo(grpc.GenericRpcHandler):
    """FLOOR_METHOD answers with its request's bytes: no protobuf, no signature, no database."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        if handler_call_details.method != FLOOR_METHOD:
            return None
        return grpc.unary_unary_rpc_method_handler(lambda request, _context: request)


def _floor_server(port: int, workers: int, ready: Any, stop: Any) -> None:
    """A spawned process serving _Echo the way the hub serves: grpc.server on a pool of `workers` threads."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="floor-rpc"))
    server.add_generic_rpc_handlers((_Echo(),))
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise OSError(f"the floor server cannot listen on port {port}")
    server.start()
    ready.set()
    stop.wait()
    server.stop(1).wait()


@dataclass
class FloorResult:
    """A no-op unary call against one Python gRPC server process (see bench/README.md for each figure)."""

    clients: int
    client_processes: int
    server_workers: int
    window_s: float
    calls: int
    calls_per_s: float
    conversions_per_s_ceiling: float  # calls_per_s ÷ 2: a conversion is two calls
    p50_ms: float | None
    p99_ms: float | None
    server_cpu_us_per_call: float | None
    server_cores: float
    client_cpu_us_per_call: float | None
    client_cores: float
    other_cores: float
    machine_busy_pct: float
    errors: dict[str, int] = field(default_factory=dict)


def measure_floor(
    *, clients: int, client_processes: int, workers: int, warmup_s: float, duration_s: float
) -> FloorResult:
    """Drive the no-op server with the main run's client threads and processes; measure after a warm-up."""
    context = multiprocessing.get_context("spawn")
    port = free_port()
    ready, stop = context.Event(), context.Event()
    server = context.Process(target=_floor_server, args=(port, workers, ready, stop), name="grpc-floor", daemon=True)
    server.start()
    try:
        if not ready.wait(timeout=CLIENT_START_TIMEOUT_S) or server.pid is None:
            raise RuntimeError(f"the floor server did not start (exit code {server.exitcode})")
        pool = Clients(ClientJob(kind="floor", target=f"127.0.0.1:{port}"), clients=clients, processes=client_processes)
        try:
            time.sleep(warmup_s)
            before = CpuSnapshot.take(server.pid, None, pool.cpu_s)
            time.sleep(duration_s)
            after = CpuSnapshot.take(server.pid, None, pool.cpu_s)
        finally:
            done, failures = pool.stop()
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
            server.join()
    window = after.at - before.at
    latencies = sorted((end - began) * 1000 for began, _, end in done if before.at <= end < after.at)
    calls = len(latencies)
    server_s = after.hub_s - before.hub_s
    client_s = after.client_s - before.client_s
    busy = (after.machine[0] - before.machine[0]) / max(1.0, after.machine[1] - before.machine[1])
    calls_per_s = calls / window
    return FloorResult(
        clients=clients,
        client_processes=pool.processes,
        server_workers=workers,
        window_s=round(window, 3),
        calls=calls,
        calls_per_s=round(calls_per_s, 1),
        conversions_per_s_ceiling=round(calls_per_s / 2, 1),
        p50_ms=_round(percentile(latencies, 0.50), 3),
        p99_ms=_round(percentile(latencies, 0.99), 3),
        server_cpu_us_per_call=round(server_s * 1e6 / calls, 1) if calls else None,
        server_cores=round(server_s / window, 2),
        client_cpu_us_per_call=round(client_s * 1e6 / calls, 1) if calls else None,
        client_cores=round(client_s / window, 2),
        other_cores=round(max(0.0, busy * (os.cpu_count() or 1) - (server_s + client_s) / window), 2),
        machine_busy_pct=round(100 * busy, 1),
        errors=dict(collections.Counter(reason for at, reason in failures if before.at <= at < after.at)),
    )


def machine_ceiling(
    floor: FloorResult | None, crypto: dict[str, float], pgbench: PgbenchResult | None
) -> Ceiling | None:
    """The conversions/s this machine allows at best (bench/ceiling.py), or None without the figures it needs."""
    if (
        floor is None
        or floor.server_cpu_us_per_call is None
        or floor.client_cpu_us_per_call is None
        or pgbench is None
        or pgbench.postgres_cpu_ms_per_tx is None
    ):
        return None
    return ceiling(
        cores=os.cpu_count() or 1,
        floor_server_us_per_call=floor.server_cpu_us_per_call,
        floor_client_us_per_call=floor.client_cpu_us_per_call,
        sign_request_us=crypto["sign_request_us"],
        verify_preloaded_key_us=crypto["verify_preloaded_key_us"],
        sign_us=crypto["sign_us"],
        postgres_cpu_ms_per_tx=pgbench.postgres_cpu_ms_per_tx,
        pgbench_tps=pgbench.tps,
    )


def ceiling_table(limit: Ceiling, measured_per_s: float) -> Table:
    table = Table(
        title="What this machine allows: a conversion charged only its floor CPU, all processes on "
        f"{limit.cores} cores (bench/ceiling.py)",
        title_justify="left",
    )
    columns = ("2 no-op gRPC calls ms", "Ed25519 ms", "PG per pgbench tx ms", "floor ms/conv", "ceiling conv/s",
               "pgbench tps", "ceiling ÷ tps", "measured ÷ ceiling")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        f"{limit.grpc_two_calls_ms:.3f}",
        f"{limit.ed25519_ms:.3f}",
        f"{limit.postgres_per_tx_ms:.3f}",
        f"{limit.floor_ms_per_conversion:.3f}",
        f"{limit.conversions_per_s:,.1f}",
        f"{limit.pgbench_tps:,.0f}",
        f"{limit.ratio_to_pgbench:.3f}",
        f"{measured_per_s / limit.conversions_per_s:.3f}",
    )
    return table


# --------------------------------------------------------------------------- Ed25519


def median_us(fn: Any, iterations: int) -> float:
    timings = []
    for _ in range(iterations):
        began = time.perf_counter_ns()
        fn()
        timings.append(time.perf_counter_ns() - began)
    return round(statistics.median(timings) / 1000, 2)


def crypto_costs(iterations: int) -> dict[str, float]:
    """Median cost of the signing operations a conversion's four signed messages need, in microseconds."""
    key = generate_private_key()
    public = public_key_bytes(key)
    body = os.urandom(120)  # about the size of a ConvertRequest
    message = signing.canonical_request(
        method="/coalition.exchange.v1.ConversionService/Convert",
        principal="bench-source-0",
        key_id="k1",
        timestamp_ms=1_800_000_000_000,
        nonce=signing.new_nonce(),
        body=body,
    )
    signature = key.sign(message)
    loaded = Ed25519PublicKey.from_public_bytes(public)
    for _ in range(200):  # warm up
        key.sign(message)
        signing.verify(public, signature, message)
    return {
        "sign_us": median_us(lambda: key.sign(message), iterations),
        "verify_us": median_us(lambda: signing.verify(public, signature, message), iterations),
        "verify_preloaded_key_us": median_us(lambda: loaded.verify(signature, message), iterations),
        "sign_request_us": median_us(
            lambda: signing.sign_request(
                key,
                method="/coalition.exchange.v1.ConversionService/Convert",
                principal="bench-source-0",
                key_id="k1",
                body=body,
                timestamp_ms=1_800_000_000_000,
            ),
            iterations,
        ),
    }


# --------------------------------------------------------------------------- py-spy


def start_py_spy(
    pid: int, out_dir: Path, backend: str, clients: int, duration_s: float, *, subprocesses: bool = False
) -> tuple[subprocess.Popen[bytes], Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"hub-{backend}-{clients}c.txt"
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [
        str(py_spy), "record", "--pid", str(pid), "--duration", str(max(1, int(duration_s))),
        "--rate", "100", "--nonblocking", "--gil", "--format", "raw", "--output", str(out),
        *(["--subprocesses"] if subprocesses else []),  # the workers of `serve --processes N`
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


# Where a sample's time goes: the first rule matching a frame, from the leaf up, names its bucket.
PROFILE_BUCKETS = (
    ("Ed25519 + SHA-256 (partner_sdk.signing, response signing)", ("partner_sdk/signing.py", "cryptography/")),
    ("psycopg (driver: send, receive, adapt)", ("psycopg/", "psycopg_binary")),
    ("SQLAlchemy (compile, execute, rows, pool)", ("sqlalchemy/",)),
    ("logging (one JSON line per call)", ("logging/", "exchange/logs.py", "json/")),
    ("Prometheus metrics", ("prometheus_client/",)),
    ("protobuf", ("google/protobuf/",)),
    ("gRPC Python layer", ("grpc/", "grpc_")),
    ("hub code (api, service, domain, store)", ("exchange/",)),
    ("thread pool, other stdlib", ("concurrent/", "threading.py", "queue.py", "uuid.py", "secrets.py")),
)


def summarise_profile(path: Path) -> dict[str, Any]:
    """Collapse py-spy's raw stacks into buckets and the hub functions with the most inclusive samples."""
    buckets: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        bucket = "other"
        for frame in reversed(frames):
            match = next((name for name, needles in PROFILE_BUCKETS if any(n in frame for n in needles)), None)
            if match:
                bucket = match
                break
        buckets[bucket] += count
        hub_frames = {re.sub(r":\d+\)$", ")", f) for f in frames if "exchange/" in f or "partner_sdk/" in f}
        for frame in hub_frames:
            inclusive[frame.replace(str(ROOT) + "/", "")] += count
    return {
        "samples": total,
        "buckets_pct": {k: round(100 * v / total, 1) for k, v in buckets.most_common()} if total else {},
        "hub_functions_inclusive_pct": {k: round(100 * v / total, 1) for k, v in inclusive.most_common(20)}
        if total
        else {},
    }


# --------------------------------------------------------------------------- settlement


def settlement(admin_url: str, movements: int | None, skip: bool) -> tuple[SettleResult | None, dict[str, object]]:
    """Close a settlement period through a hub of its own (bench/settle.py); a failure is reported, not raised.

    Imported here, not at the top: settle.py imports this module for its helpers.
    """
    from settle import MOVEMENTS, headline, measure_settlement

    if skip:
        return None, headline(None, "not run: --no-settle")
    count = movements or MOVEMENTS
    console.print(f"settlement: closing a period of {count:,} movements (and a smaller one) ...")
    try:
        result = measure_settlement(admin_url, count)
    except Exception as exc:  # the conversion figures are worth keeping without this one
        console.print(f"[red]settlement failed: {type(exc).__name__}: {exc}[/red]")
        return None, headline(None, f"not measured: the run failed ({type(exc).__name__}: {exc})")
    return result, headline(result)


# --------------------------------------------------------------------------- report


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def latency_table(
    runs: list[RunResult], pgbench: dict[int, PgbenchResult], title: str, floor: FloorResult | None = None
) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ("backend", "clients", "conv/s", "p50 ms", "p99 ms", "max ms", "quote p50", "convert p50",
               "errors", "db retries", "pgbench tps", "conv/s ÷ tps")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "backend" else "right")
    for run in runs:
        bench = pgbench.get(run.clients) if run.backend == "postgresql" else None
        table.add_row(
            run.backend,
            str(run.clients),
            f"{run.conversions_per_s:,.1f}",
            ms(run.p50_ms),
            ms(run.p99_ms),
            ms(run.max_ms),
            ms(run.quote_p50_ms),
            ms(run.convert_p50_ms),
            str(sum(run.errors.values())),
            "-" if run.db_retries is None else f"{run.db_retries:,}",
            "-" if bench is None else f"{bench.tps:,.0f}",
            "-" if bench is None or not bench.tps else f"{run.conversions_per_s / bench.tps:.4f}",
        )
    if floor is not None:  # the most one hub process could do with zero work per call
        table.add_row("gRPC floor ÷ 2", str(floor.clients), f"{floor.conversions_per_s_ceiling:,.1f}", *["-"] * 9)
    return table


def cpu_table(runs: list[RunResult], title: str, floor: FloorResult | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ("backend", "clients", "hub", "PostgreSQL", "client", "hub cores", "PG cores", "client cores",
               "other cores", "machine busy", "PG commits", "PG rollbacks")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "backend" else "right")
    for run in runs:
        table.add_row(
            run.backend,
            str(run.clients),
            ms(run.hub_cpu_ms_per_conversion),
            ms(run.postgres_cpu_ms_per_conversion),
            ms(run.client_cpu_ms_per_conversion),
            f"{run.hub_cores:.2f}",
            "-" if run.postgres_cores is None else f"{run.postgres_cores:.2f}",
            f"{run.client_cores:.2f}",
            f"{run.other_cores:.2f}",
            f"{run.machine_busy_pct:.0f}%",
            "-" if run.pg_commits_per_conversion is None else f"{run.pg_commits_per_conversion:.2f}",
            "-" if run.pg_rollbacks_per_conversion is None else f"{run.pg_rollbacks_per_conversion:.2f}",
        )
    if floor is not None:  # per two no-op calls, the floor's equivalent of a conversion
        table.add_row(
            "gRPC floor, 2 calls",
            str(floor.clients),
            ms(None if floor.server_cpu_us_per_call is None else 2 * floor.server_cpu_us_per_call / 1000),
            "-",
            ms(None if floor.client_cpu_us_per_call is None else 2 * floor.client_cpu_us_per_call / 1000),
            f"{floor.server_cores:.2f}",
            "-",
            f"{floor.client_cores:.2f}",
            f"{floor.other_cores:.2f}",
            f"{floor.machine_busy_pct:.0f}%",
            "-",
            "-",
        )
    return table


def floor_table(floor: FloorResult) -> Table:
    table = Table(
        title=f"gRPC floor: a no-op unary call (request bytes echoed; no protobuf, signing or database), "
        f"one server process, {floor.window_s:g} s",
        title_justify="left",
    )
    columns = ("clients", "client processes", "server threads", "calls/s", "floor ÷ 2 (conv/s)", "p50 ms",
               "p99 ms", "server CPU µs/call", "server cores", "client CPU µs/call", "client cores",
               "errors")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        str(floor.clients),
        str(floor.client_processes),
        str(floor.server_workers),
        f"{floor.calls_per_s:,.1f}",
        f"{floor.conversions_per_s_ceiling:,.1f}",
        "-" if floor.p50_ms is None else f"{floor.p50_ms:.3f}",
        "-" if floor.p99_ms is None else f"{floor.p99_ms:.3f}",
        "-" if floor.server_cpu_us_per_call is None else f"{floor.server_cpu_us_per_call:,.1f}",
        f"{floor.server_cores:.2f}",
        "-" if floor.client_cpu_us_per_call is None else f"{floor.client_cpu_us_per_call:,.1f}",
        f"{floor.client_cores:.2f}",
        str(sum(floor.errors.values())),
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="a quick run (under two minutes)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent SDK clients of the main run (16)")
    parser.add_argument("--duration", type=float, help="seconds measured in the main runs (60; short 8)")
    parser.add_argument("--sources", type=int, default=4, help="source brands, each agreed with one target (4)")
    parser.add_argument("--workers", type=int, default=16, help="hub server threads, `serve --workers` (16)")
    parser.add_argument("--hub-processes", type=int, default=1, help="hub processes, `serve --processes` (1)")
    parser.add_argument(
        "--no-group-commit",
        action="store_true",
        help="serve with --no-group-commit: every quote and conversion in a transaction of its own",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        help="processes the client threads are spread over (2; 1 with --clients 1; never more than the clients)",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the no-op gRPC floor")
    parser.add_argument("--pgbench-scale", type=int, default=1, help="pgbench -i scale factor (1, its default)")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE the PostgreSQL database at the end of each warm-up (default: leave it to autovacuum)",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1/4/16/64-client line")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="profile the main PostgreSQL hub with py-spy")
    parser.add_argument(
        "--settle-movements",
        type=int,
        metavar="N",
        help="movements in the settlement period closed at the end (1,000,000, short mode too)",
    )
    parser.add_argument("--no-settle", action="store_true", help="skip closing a settlement period")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("COALITION_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an admin URL of the server to create databases on (env COALITION_BENCH_POSTGRES_URL)",
    )
    args = parser.parse_args(argv)
    if args.settle_movements is not None and args.settle_movements <= 0:
        parser.error("--settle-movements must be positive")
    if args.hub_processes < 1 or (args.client_processes is not None and args.client_processes < 1):
        parser.error("--hub-processes and --client-processes must be at least 1")
    client_processes = min(args.clients, args.client_processes or (1 if args.clients == 1 else 2))
    mode = SHORT if args.short else FULL
    duration = args.duration or mode.duration_s
    started = time.monotonic()
    postgres = Postgres(args.postgres_url)
    settings = postgres.settings()
    if settings["synchronous_commit"] != "on" or settings["fsync"] != "on":
        raise SystemExit(f"refusing to benchmark a non-durable server: {settings}")
    console.print(
        f"[bold]coalition exchange benchmark[/bold] ({mode.name}): {os.cpu_count()} cores, PostgreSQL "
        f"{settings['server_version']} (synchronous_commit={settings['synchronous_commit']}, "
        f"fsync={settings['fsync']}, wal_sync_method={settings['wal_sync_method']}), "
        f"{args.clients} clients, {duration:g} s windows "
        f"after {mode.warmup_s:g} s warm-up, {args.sources} source brands -> 1 target, hub --workers {args.workers} "
        f"--processes {args.hub_processes}{' --no-group-commit' if args.no_group_commit else ''}, "
        f"clients in {client_processes} "
        f"process{'es' if client_processes > 1 else ''}",
        soft_wrap=True,
    )
    runs: list[RunResult] = []
    pgbench_runs: dict[int, PgbenchResult] = {}
    profile: dict[str, Any] | None = None
    common = {
        "postgres": postgres,
        "sources": args.sources,
        "workers": args.workers,
        "group_commit": not args.no_group_commit,
        "hub_processes": args.hub_processes,
        "client_processes": client_processes,
        "warmup_s": mode.warmup_s,
        "analyze": args.analyze,
    }
    try:
        with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
            workdir = Path(tmp)
            pgbench = Pgbench(postgres, args.pgbench_scale)
            console.print("crypto: timing Ed25519 sign and verify ...")
            crypto = crypto_costs(mode.crypto_iterations)
            floor = None
            if not args.no_floor:
                console.print(f"grpc floor: a no-op call, {args.clients} clients for {mode.floor_duration_s:g} s ...")
                floor = measure_floor(
                    clients=args.clients,
                    client_processes=client_processes,
                    workers=args.workers,
                    warmup_s=mode.warmup_s,
                    duration_s=mode.floor_duration_s,
                )

            console.print(f"postgresql: {args.clients} clients for {duration:g} s ...")
            main_run, spy_out = run_hub(
                backend="postgresql",
                workdir=workdir,
                clients=args.clients,
                duration_s=duration,
                py_spy=args.py_spy,
                **common,
            )
            runs.append(main_run)
            if spy_out is not None and spy_out.exists():
                profile = summarise_profile(spy_out)
            console.print(f"pgbench: {args.clients} clients for {int(duration)} s ...")
            pgbench_runs[args.clients] = pgbench.run(args.clients, int(duration))

            sqlite_run = None
            if not args.no_sqlite:
                console.print(f"sqlite: {args.clients} clients for {duration:g} s ...")
                sqlite_run, _ = run_hub(
                    backend="sqlite",
                    workdir=workdir,
                    clients=args.clients,
                    duration_s=duration,
                    **common,
                )
                runs.append(sqlite_run)

            scaling: list[RunResult] = []
            if not args.no_scaling:
                for clients in SCALING_CLIENTS:
                    if clients == args.clients:
                        scaling.append(main_run)
                        continue
                    console.print(f"scaling: {clients} clients for {mode.scaling_duration_s:g} s, then pgbench ...")
                    run, _ = run_hub(
                        backend="postgresql",
                        workdir=workdir,
                        clients=clients,
                        duration_s=mode.scaling_duration_s,
                        **common,
                    )
                    scaling.append(run)
                    pgbench_runs[clients] = pgbench.run(clients, mode.scaling_pgbench_duration_s)
    finally:
        postgres.drop_all()
    settled, settle_fields = settlement(args.postgres_url, args.settle_movements, args.no_settle)

    elapsed = time.monotonic() - started
    console.print()
    everything = [*runs, *(r for r in scaling if r is not runs[0])]
    console.print(
        latency_table(runs, pgbench_runs, f"Main runs: {args.clients} clients, {duration:g} s window each", floor)
    )
    if scaling:
        console.print(
            latency_table(
                scaling,
                pgbench_runs,
                f"Scaling on PostgreSQL: {mode.scaling_duration_s:g} s windows, pgbench "
                f"{mode.scaling_pgbench_duration_s} s (the {args.clients}-client row is the main run)",
            )
        )
    console.print(
        cpu_table(everything, "CPU per conversion (ms) and cores used in each window; PG per conversion", floor)
    )
    if floor is not None:
        console.print(floor_table(floor))
    warnings = []
    disturbed = [
        (f"{r.backend}/{r.clients}", r.other_cores) for r in everything if r.other_cores > OTHER_LOAD_WARNING_CORES
    ]
    if floor is not None and floor.other_cores > OTHER_LOAD_WARNING_CORES:
        disturbed.append(("the gRPC floor", floor.other_cores))
    if disturbed:
        warnings.append(
            "other processes used "
            + ", ".join(f"{cores:.2f} cores during {name}" for name, cores in disturbed)
            + ": those figures are disturbed; run again on a quiet machine"
        )
    if floor is not None and floor.errors:
        warnings.append(f"failed gRPC floor calls: {floor.errors}")
    failed = [r for r in everything if r.errors]
    if failed:
        warnings.append("failed conversions: " + "; ".join(f"{r.backend}/{r.clients}: {r.errors}" for r in failed))
    if settled is None and not args.no_settle:
        warnings.append(f"settlement {settle_fields['settle_note']}")
    if settled is not None:
        from settle import shortfalls

        warnings.extend(shortfalls(settled))
    for warning in warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")
    hub_crypto_us = 2 * crypto["sign_us"] + 2 * crypto["verify_us"]
    measured = [r for r in everything if r.backend == "postgresql" and r.hub_cpu_ms_per_conversion]
    least_contended = min(measured, key=lambda r: r.clients) if measured else None
    crypto_table = Table(title="Ed25519 (median of one call, µs)", title_justify="left")
    share_column = (
        f"share of hub CPU/conv ({least_contended.clients} client{'s' if least_contended.clients > 1 else ''})"
        if least_contended
        else "share of hub CPU/conv"
    )
    for column in ("sign", "verify (signing.verify)", "verify, key preloaded", "sign_request (headers)",
                   "hub per conversion: 2 verify + 2 sign", share_column):  # fmt: skip
        crypto_table.add_column(column, justify="right")
    crypto_table.add_row(
        f"{crypto['sign_us']:.1f}",
        f"{crypto['verify_us']:.1f}",
        f"{crypto['verify_preloaded_key_us']:.1f}",
        f"{crypto['sign_request_us']:.1f}",
        f"{hub_crypto_us:.1f}",
        f"{100 * hub_crypto_us / 1000 / least_contended.hub_cpu_ms_per_conversion:.1f}%"
        if least_contended and least_contended.hub_cpu_ms_per_conversion
        else "-",
    )
    console.print(crypto_table)
    main_pgbench = pgbench_runs.get(args.clients)
    limit = machine_ceiling(floor, crypto, main_pgbench)
    if limit is not None:
        console.print(ceiling_table(limit, main_run.conversions_per_s))
    if profile:
        profile_table = Table(
            title=f"Where the hub's CPU goes (py-spy, {profile['samples']} samples, PostgreSQL main run)",
            title_justify="left",
        )
        profile_table.add_column("bucket (leaf-most match)")
        profile_table.add_column("% of samples", justify="right")
        for name, pct in profile["buckets_pct"].items():
            profile_table.add_row(name, f"{pct:.1f}")
        console.print(profile_table)
        functions = Table(title="Hub functions by inclusive share of samples (top 12)", title_justify="left")
        functions.add_column("function (file)")
        functions.add_column("% of samples", justify="right")
        for name, pct in list(profile["hub_functions_inclusive_pct"].items())[:12]:
            functions.add_row(name, f"{pct:.1f}")
        console.print(functions)
    if settled is None:
        console.print(f"settlement: null ({settle_fields['settle_note']})")
    else:
        from settle import settle_table

        console.print(settle_table(settled))
    console.print(f"total {elapsed:.0f} s; every database created was dropped")

    summary = {
        "mode": mode.name,
        "conversion": "QuoteConversion + Convert (two signed calls, source brand); target acknowledgement not driven",
        "clients": args.clients,
        "hub_processes": args.hub_processes,
        "group_commit": not args.no_group_commit,
        "client_processes": client_processes,
        "duration_s": duration,
        "conversions_per_s": main_run.conversions_per_s,
        "p50_ms": main_run.p50_ms,
        "p99_ms": main_run.p99_ms,
        "max_ms": main_run.max_ms,
        "hub_cpu_ms_per_conversion": main_run.hub_cpu_ms_per_conversion,
        "postgres_cpu_ms_per_conversion": main_run.postgres_cpu_ms_per_conversion,
        "client_cpu_ms_per_conversion": main_run.client_cpu_ms_per_conversion,
        "db_retries": main_run.db_retries,
        "calls_per_group": main_run.calls_per_group,
        "group_handed_back": main_run.group_handed_back,
        "pgbench_tps": main_pgbench.tps if main_pgbench else None,
        "pgbench_scale": args.pgbench_scale,
        "ratio": round(main_run.conversions_per_s / main_pgbench.tps, 4) if main_pgbench and main_pgbench.tps else None,
        "ceiling_conversions_per_s": limit.conversions_per_s if limit else None,
        "ceiling_ratio": limit.ratio_to_pgbench if limit else None,
        "ceiling": asdict(limit) if limit else None,
        "sqlite_conversions_per_s": sqlite_run.conversions_per_s if sqlite_run else None,
        "sqlite_p50_ms": sqlite_run.p50_ms if sqlite_run else None,
        "sqlite_p99_ms": sqlite_run.p99_ms if sqlite_run else None,
        "sqlite_hub_cpu_ms_per_conversion": sqlite_run.hub_cpu_ms_per_conversion if sqlite_run else None,
        "grpc_floor_calls_per_s": floor.calls_per_s if floor else None,
        "grpc_floor_server_cpu_us_per_call": floor.server_cpu_us_per_call if floor else None,
        "grpc_floor": asdict(floor) if floor else None,
        "ed25519_sign_us": crypto["sign_us"],
        "ed25519_verify_us": crypto["verify_us"],
        "ed25519": crypto,
        "scaling": [
            {
                "clients": r.clients,
                "conversions_per_s": r.conversions_per_s,
                "p50_ms": r.p50_ms,
                "p99_ms": r.p99_ms,
                "hub_cpu_ms_per_conversion": r.hub_cpu_ms_per_conversion,
                "db_retries": r.db_retries,
                "pgbench_tps": pgbench_runs[r.clients].tps if r.clients in pgbench_runs else None,
                "ratio": round(r.conversions_per_s / pgbench_runs[r.clients].tps, 4)
                if r.clients in pgbench_runs and pgbench_runs[r.clients].tps
                else None,
            }
            for r in scaling
        ],
        **settle_fields,
        "profile": profile,
        "pgbench": [asdict(b) for b in pgbench_runs.values()],
        "runs": [asdict(r) for r in everything],
        "warnings": warnings,
        "postgres": settings,
        "cores": os.cpu_count(),
        "elapsed_s": round(elapsed, 1),
    }
    sys.stdout.flush()
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
