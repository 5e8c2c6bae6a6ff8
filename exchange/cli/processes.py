"""`coalition serve --processes N`: N hub processes on one address, supervised by their parent.

One Python process serves on about one core (the GIL), and nothing correct lives in a hub
process's memory (nonces, idempotency keys, quotes and limits are rows of the shared database),
so several processes may serve the same --listen address. As in gRPC Python's multiprocessing
example, the parent forks the workers before any gRPC object exists in it (gRPC's core state
does not survive a fork), and each worker builds its own server with grpc.so_reuseport on the
same address; the kernel spreads new connections over them. Linux only.

The parent has already migrated the database and loaded or created the keys and the keyring,
so the workers never race to create files; each worker opens its own database engine after the
fork. Then the parent only supervises:

- SIGTERM or SIGINT is forwarded to every worker as SIGTERM, and each stops as `serve` does
  (NOT_SERVING, in-flight calls get --grace-s); the parent exits 0 when all exited 0.
- A worker that exits on its own is not restarted: the parent stops the others and exits 1, so
  the service manager (systemd, Kubernetes) sees the failure and restarts the hub, instead of a
  crash loop hiding inside a process that looks alive.
- A worker whose parent is gone (killed with SIGKILL) stops by itself within a second.
- Metrics: each worker keeps its counters and histograms in files under a fresh temporary
  directory (prometheus_client's multiprocess mode); the parent serves /metrics, the sum over
  the workers plus the figures read from the database, and removes the directory at the end.
  It serves /ready too, from its own probe of the database and its keyring (each worker's gRPC
  health per service follows that worker's own probe).
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from wsgiref.simple_server import WSGIServer

import typer
from prometheus_client.multiprocess import mark_process_dead
from rich.console import Console

from exchange.api import metrics
from exchange.api.readiness import Readiness
from exchange.api.server import HubConfig, HubServer
from exchange.store.database import Database

START_TIMEOUT_S = 60.0  # a worker that has not bound its port by then has failed
KILL_AFTER_GRACE_S = 30.0  # past --grace-s, how long a stopping worker may take before SIGKILL
SUPERVISE_INTERVAL_S = 1.0  # how often the parent looks at the kill deadline; workers at their parent
METRICS_POOL_SIZE = 2  # the parent's own engine only answers scrapes
DEFAULT_POOL_SIZE = 16  # a worker's, as Database's own default
# `serve` without --processes on PostgreSQL: one process per core, at most this many. Each process
# holds up to --workers (16) connections in use at once, so four stay within PostgreSQL's default
# max_connections (100) with room for the metrics engine, psql and a second hub during a deploy.
DEFAULT_MAX_PROCESSES = 4


def unsupported(listen: str) -> str | None:
    """Why several processes cannot share `listen` on this machine, or None if they can."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        return "--processes above 1 needs Linux (SO_REUSEPORT)"
    if listen.startswith("unix:") or ":" not in listen:
        return f"--processes above 1 needs a HOST:PORT address to share, not {listen}"
    return None


def default_count(listen: str, dialect: str) -> int:
    """How many hub processes `serve` runs when --processes is not given.

    On PostgreSQL, one per core this process may run on (at most DEFAULT_MAX_PROCESSES): one
    Python process serves on about one core (the GIL), and on a 2-core machine bench/run.py
    measured 187 conversions/s with two processes against 121 with one, p99 142 against 244 ms
    (bench/README.md, 2026-12-04). On SQLite, one:
    the processes take turns on the file's one writer, and two measured no faster than one. Also
    one where processes can't share the address (not Linux, a Unix socket).
    """
    if dialect == "sqlite" or unsupported(listen) is not None:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), DEFAULT_MAX_PROCESSES))


@dataclass
class _Worker:
    process: BaseProcess
    ready: Connection  # the worker sends its bound port once it serves

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid


def serve(config: HubConfig, *, processes: int, grace_s: float, console: Console, details: Sequence[str]) -> int:
    """Serve config with `processes` forked workers until SIGTERM or SIGINT; return the exit code.

    `details` are the start-up lines `serve` prints after the listening line.
    """
    database_url = config.database.url.render_as_string(hide_password=False)
    config.database.dispose()  # no pooled connection may cross the fork
    metrics_dir = tempfile.mkdtemp(prefix="coalition-metrics-") if config.metrics_listen else None
    supervisor = _Supervisor(console, grace_s, processes, metrics_dir)
    try:
        try:
            with _reserved_port(config.listen) as listen:
                _hold_listen_lock(listen)
                worker_config = replace(config, listen=listen, metrics_listen=None, reuse_port=True)
                for index in range(processes):
                    supervisor.fork(index, worker_config, database_url)
                supervisor.handle_signals()
                port = supervisor.wait_ready()
            metrics_server = None if port is None else _serve_metrics(config, database_url, metrics_dir)
        except OSError as error:
            typer.echo(f"coalition serve: {error}", err=True)
            supervisor.stop_and_reap()
            return 2
        if port is None:
            supervisor.stop_and_reap()
            return 1
        host = config.listen.rsplit(":", 1)[0]
        console.print(f"hub listening on {host}:{port}  database {config.database.url.render_as_string()}")
        for line in details:
            console.print(line, soft_wrap=True)
        pids = " ".join(str(worker.pid) for worker in supervisor.workers)
        console.print(f"workers      {processes} processes, pids {pids}", soft_wrap=True)
        if metrics_server is not None:
            console.print(f"metrics on http://{metrics_server.host}:{metrics_server.port}/metrics")
        try:
            supervisor.reap()
        finally:
            if metrics_server is not None:
                metrics_server.close()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    console.print("hub stopped")
    return 1 if supervisor.failed else 0


class _Supervisor:
    """The parent's side: fork, wait for readiness, forward stop signals, reap, judge."""

    def __init__(self, console: Console, grace_s: float, processes: int, metrics_dir: str | None) -> None:
        self.console = console
        self.metrics_dir = metrics_dir
        self.grace_s = grace_s
        self.processes = processes
        self.workers: list[_Worker] = []
        self.failed = False
        self._stop_at: float | None = None
        self._context = multiprocessing.get_context("fork")

    def fork(self, index: int, config: HubConfig, database_url: str) -> None:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(config, database_url, self.metrics_dir, self.grace_s, writer),
            name=f"hub-worker-{index + 1}",
        )
        process.start()
        writer.close()  # only the worker holds it: its death is the reader's end of file
        self.workers.append(_Worker(process, reader))

    def handle_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self._stop_at is None:
            self.console.print(
                f"{signal.Signals(signum).name}: finishing in-flight calls in {self.processes} worker processes "
                f"(up to {self.grace_s:g} s)"
            )
            self.stop_all()

    def stop_all(self) -> None:
        if self._stop_at is None:
            self._stop_at = time.monotonic()
        for worker in self.workers:
            if worker.process.exitcode is None:
                with suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def wait_ready(self) -> int | None:
        """The port every worker bound, or None (and `failed`) if one exited or timed out first."""
        deadline = time.monotonic() + START_TIMEOUT_S
        ports = set()
        for worker in self.workers:
            try:
                if not worker.ready.poll(max(0.0, deadline - time.monotonic())):
                    raise EOFError
                ports.add(int(worker.ready.recv()))
            except EOFError:
                worker.process.join(timeout=1)
                self.console.print(
                    f"[red]worker {worker.pid} did not start (exit code {worker.process.exitcode})[/red]"
                )
                self.failed = True
                return None
            finally:
                worker.ready.close()
        assert len(ports) == 1, f"workers bound different ports: {ports}"
        return ports.pop()

    def stop_and_reap(self) -> None:
        self.stop_all()
        self.reap()

    def reap(self) -> None:
        """Wait for every worker to exit; the first unexpected exit stops the others."""
        alive = {worker.process.sentinel: worker for worker in self.workers}
        while alive:
            for sentinel in wait(list(alive), timeout=SUPERVISE_INTERVAL_S):
                assert isinstance(sentinel, int)
                worker = alive.pop(sentinel)
                worker.process.join()
                if self.metrics_dir is not None:
                    mark_process_dead(worker.pid, self.metrics_dir)  # type: ignore[no-untyped-call]
                self._judge(worker)
            if alive and self._stop_at is not None and time.monotonic() > self._kill_at():
                for worker in alive.values():
                    self.console.print(f"[red]worker {worker.pid} did not stop in time: killing it[/red]")
                    with suppress(ProcessLookupError):
                        os.kill(worker.pid, signal.SIGKILL)
                self.failed = True

    def _kill_at(self) -> float:
        assert self._stop_at is not None
        return self._stop_at + self.grace_s + KILL_AFTER_GRACE_S

    def _judge(self, worker: _Worker) -> None:
        code = worker.process.exitcode
        if self._stop_at is None:
            self.console.print(f"[red]worker {worker.pid} exited unexpectedly (exit code {code}): stopping[/red]")
            self.failed = True
            self.stop_all()
        elif code != 0:
            self.console.print(f"[red]worker {worker.pid} stopped with exit code {code}[/red]")
            self.failed = True


@contextmanager
def _reserved_port(listen: str) -> Iterator[str]:
    """`listen` with a fixed port, held with SO_REUSEPORT while the workers bind it too (port 0 picks one)."""
    host, port = listen.rsplit(":", 1)
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as reservation:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            reservation.bind(address)
        except OSError as error:
            raise OSError(error.errno, f"cannot listen on {listen}: {error.strerror}") from None
        yield f"{host}:{reservation.getsockname()[1]}"


_LISTEN_LOCKS: list[int] = []  # open for the parent's lifetime (and inherited by its workers)


def _hold_listen_lock(listen: str) -> None:
    """Make this the only `serve --processes` group on the address: SO_REUSEPORT alone would let another join.

    A hub of one process binds without SO_REUSEPORT, so the kernel refuses it (and refuses a group
    while it holds the port); two groups would both set it, so a host-wide lock file decides.
    """
    path = Path(tempfile.gettempdir()) / f"coalition-listen-{listen.replace(':', '-').strip('[]')}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise OSError(errno.EADDRINUSE, f"cannot listen on {listen}: another coalition serve listens there") from None
    _LISTEN_LOCKS.append(descriptor)


@dataclass
class _MetricsServer:
    """The workers' metrics summed, served by the parent (started after the fork: no thread crosses it)."""

    http: WSGIServer
    database: Database  # the parent's own engine, for the figures read from the database
    host: str

    @property
    def port(self) -> int:
        return int(self.http.server_port)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.database.dispose()


def _serve_metrics(config: HubConfig, database_url: str, metrics_dir: str | None) -> _MetricsServer | None:
    listen = config.metrics_listen
    if not listen or metrics_dir is None:
        return None
    host = listen.rsplit(":", 1)[0]
    database = _database(config, database_url, pool_size=METRICS_POOL_SIZE)
    ready = Readiness(database, config.keyring)
    try:
        http, _ = metrics.serve_http(listen, metrics.workers_registry(database, metrics_dir), ready.check)
    except OSError as error:
        database.dispose()
        raise OSError(error.errno, f"cannot serve metrics on {listen}: {error.strerror}") from None
    return _MetricsServer(http, database, host)


def _worker_main(
    config: HubConfig, database_url: str, metrics_dir: str | None, grace_s: float, ready: Connection
) -> None:
    """One hub process: its own database engine and gRPC server, until SIGTERM or its parent is gone."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent forwards it
    parent = os.getppid()
    if metrics_dir is not None:
        metrics.share_values_through(metrics_dir)
    server = HubServer(replace(config, database=_database(config, database_url)))
    try:
        port = server.start()
    except (OSError, RuntimeError) as error:  # grpc raises RuntimeError when it cannot bind
        print(f"worker {os.getpid()}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    ready.send(port)
    ready.close()
    while not stop.wait(SUPERVISE_INTERVAL_S):
        if os.getppid() != parent:
            break
    server.stop(grace_s)


def _database(config: HubConfig, database_url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
    """A database engine of this process's own, with the time limits `serve` was given."""
    return Database(
        database_url,
        statement_timeout_s=config.database.statement_timeout_s,
        lock_timeout_s=config.database.lock_timeout_s,
        pool_size=pool_size,
    )
