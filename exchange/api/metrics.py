"""Prometheus metrics of one hub process, served on their own HTTP port.

Request counters and latencies are recorded as calls finish; conversion and instruction
figures are read from the database when Prometheus scrapes, so every replica reports the same
shared truth and nothing is counted twice. Each hub has its own registry.

Under `serve --processes N` the workers keep their values in files (prometheus_client's
multiprocess mode, PROMETHEUS_MULTIPROC_DIR) and the parent serves `workers_registry`: the
workers' counters and histograms summed, the database figures read once.

The database figures fail alone: each scrape first probes the database (Database.probe) and
reports ``coalition_db_up`` 1 or 0; while it is 0, or when a read fails, the figures read from
the database are left out of that scrape (absent series, not stale ones) and one warning line
is logged, at most every DB_WARNING_INTERVAL_S; the rest of /metrics is served as ever. The
same HTTP server answers ``GET /ready`` (exchange.api.readiness).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    make_wsgi_app,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.registry import Collector
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from exchange import __version__
from exchange.api.readiness import RateLimitedWarning, with_ready_endpoint
from exchange.store.database import Database, one_line
from exchange.store.tables import audit_checkpoints, audit_events, conversions, instructions

log = logging.getLogger("exchange.metrics")

DB_WARNING_INTERVAL_S = 60.0  # while database figures can't be read, say so in the log at most this often
ReadinessCheck = Callable[[], "str | None"]  # why the hub is not ready, or None
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0)
# Counts the Database keeps in this process: name, help, how to read it.
DATABASE_COUNTS: tuple[tuple[str, str, Callable[[Database], int]], ...] = (
    ("coalition_db_retries", "Transactions run again after a serialization failure or deadlock.", lambda d: d.retries),
    (
        "coalition_db_groups",
        "Transactions committed holding a group of calls (group commit).",
        lambda d: d.group_commit.groups_committed,
    ),
    (
        "coalition_db_grouped_calls",
        "Calls committed in a group rather than in a transaction of their own.",
        lambda d: d.group_commit.calls_committed,
    ),
    (
        "coalition_db_group_handed_back",
        "Calls a group could not commit (one failed, or the commit), run again in a transaction of their own.",
        lambda d: d.group_commit.calls_handed_back,
    ),
)


class HubMetrics:
    """The metric families a hub exports."""

    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "coalition_requests",
            "Signed calls answered, by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "coalition_request_seconds",
            "Time to answer a call, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "coalition_signature_failures",
            "Calls refused as UNAUTHENTICATED, by reason.",
            ["reason"],
            registry=self.registry,
        )
        build = Gauge(
            "coalition_build_info", "The hub's version (always 1).", ["version"], registry=self.registry,
            multiprocess_mode="max",
        )  # fmt: skip
        build.labels(__version__).set(1)
        self.job_runs = Counter(
            "coalition_job_runs",
            "Runs of the hub's background jobs (expire_overdue, seal_audit, prune_nonces), by outcome (ok, failed).",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.job_items = Counter(
            "coalition_job_items",
            "What the background jobs did: credits, holds and awards expired; audit events sealed; nonces pruned.",
            ["job"],
            registry=self.registry,
        )
        self.job_last_success = Gauge(
            "coalition_job_last_success_timestamp_seconds",
            "When each background job last ran to the end (Unix time).",
            ["job"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # a worker's process figures can't be summed
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        # In multiprocess mode the parent reads only the files: the database's counts must be values there.
        self._database = database
        self._counts = (
            [(Counter(name, text, registry=self.registry), read) for name, text, read in DATABASE_COUNTS]
            if "PROMETHEUS_MULTIPROC_DIR" in os.environ
            else []
        )
        self._counted = [0] * len(self._counts)
        self._counts_lock = threading.Lock()
        self.registry.register(_DatabaseCollector(database, counts=not self._counts))
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def observe(self, method: str, code: str, seconds: float, unauthenticated_reason: str = "") -> None:
        """Record one answered call."""
        name = method.rsplit("/", 1)[-1]
        self.requests.labels(name, code).inc()
        self.latency.labels(name).observe(seconds)
        if unauthenticated_reason:
            self.signature_failures.labels(unauthenticated_reason).inc()
        for index, (counter, read) in enumerate(self._counts):
            if read(self._database) != self._counted[index]:
                with self._counts_lock:
                    value = read(self._database)
                    counter.inc(value - self._counted[index])
                    self._counted[index] = value

    def job_done(self, job: str, items: int, at_s: float) -> None:
        """Record a background job's run that went to the end, and what it did."""
        self.job_runs.labels(job, "ok").inc()
        self.job_items.labels(job).inc(items)
        self.job_last_success.labels(job).set(at_s)

    def job_failed(self, job: str) -> None:
        """Record a background job's run that failed (it is tried again on its next turn)."""
        self.job_runs.labels(job, "failed").inc()

    def serve(self, listen: str, readiness: ReadinessCheck | None = None) -> int:
        """Serve /metrics and /ready on HOST:PORT (port 0 picks one); return the port.

        readiness says why the hub is not ready, or None; by default a fresh database probe.
        """
        self._server, self._thread = serve_http(listen, self.registry, readiness or self._database.probe)
        return int(self._server.server_port)

    def stop(self) -> None:
        """Stop serving metrics."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def share_values_through(directory: str) -> None:
    """Keep this process's metric values in files under directory (prometheus_client's multiprocess mode).

    For a worker of `serve --processes N`, after the fork and before any metric exists:
    prometheus_client picks its value class when first imported, which the parent did.
    """
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def serve_http(
    listen: str, registry: CollectorRegistry, readiness: ReadinessCheck
) -> tuple[WSGIServer, threading.Thread]:
    """Serve registry at /metrics (and any other path, as prometheus_client does) and readiness at /ready.

    Raises OSError when HOST:PORT can't be bound.
    """
    host, port = listen.rsplit(":", 1)

    class Server(ThreadingWSGIServer):
        address_family = _address_family(host.strip("[]"))

    app = with_ready_endpoint(make_wsgi_app(registry), readiness)
    http = make_server(host.strip("[]"), int(port), app, Server, handler_class=_SilentHandler)
    thread = threading.Thread(target=http.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return http, thread


def _address_family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def workers_registry(database: Database, directory: str) -> CollectorRegistry:
    """What the parent of `serve --processes N` serves: its workers' values summed, the database's figures."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    registry.register(_DatabaseCollector(database, counts=False))
    return registry


class _DatabaseCollector(Collector):
    """Figures read from the shared database at scrape time (and this process's database counts, unless in files)."""

    def __init__(self, database: Database, *, counts: bool = True) -> None:
        self._database = database
        self._counts = counts
        self._warnings = RateLimitedWarning(log, DB_WARNING_INTERVAL_S)

    def collect(self) -> Iterator[Metric]:
        if self._counts:
            for name, text, read in DATABASE_COUNTS:
                count = CounterMetricFamily(name, text)
                count.add_metric([], read(self._database))
                yield count
        reason = self._database.probe()
        figures: list[Metric] = []
        if reason is None:
            try:
                figures = self._database.read_briefly(_database_figures)
            except SQLAlchemyError as error:
                reason = one_line(error)
        up = GaugeMetricFamily("coalition_db_up", "1 if the database answered this scrape's probe, else 0.")
        up.add_metric([], 1 if reason is None else 0)
        yield up
        if reason is not None:
            self._warnings.warn("database figures left out of /metrics: %s", reason)
        yield from figures


def _database_figures(connection: Connection) -> list[Metric]:
    by_state = GaugeMetricFamily("coalition_conversions_by_state", "Conversions now in each state.", labels=["state"])
    pending = GaugeMetricFamily(
        "coalition_instructions_pending", "Instructions waiting for each partner.", labels=["partner"]
    )
    for state, count in connection.execute(
        select(conversions.c.state, func.count()).group_by(conversions.c.state)
    ).all():
        by_state.add_metric([state], count)
    for partner, count in connection.execute(
        select(instructions.c.partner_id, func.count())
        .where(instructions.c.state == "PENDING")
        .group_by(instructions.c.partner_id)
    ).all():
        pending.add_metric([partner], count)
    unsealed = GaugeMetricFamily(
        "coalition_audit_unsealed_events", "Audit events not yet linked into the signed chain (the sealing backlog)."
    )
    sealed_up_to = select(func.coalesce(func.max(audit_checkpoints.c.last_seq), 0)).scalar_subquery()
    unsealed.add_metric(
        [], connection.execute(select(func.count()).where(audit_events.c.seq > sealed_up_to)).scalar_one()
    )
    return [by_state, pending, unsealed]
