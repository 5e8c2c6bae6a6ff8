"""Latency under a steady load: conversions offered on a fixed schedule (an open loop), timed from their arrival.

A closed loop (the main run) waits for each answer before it sends the next call, so when the
hub stalls, the clients stop offering work and the stall is counted once, by the call that
waited, not by every call that would have arrived meanwhile ("coordinated omission"). Here
arrivals are on a schedule that does not wait: arrival n of the run is due at
`epoch + n / rate` (a constant interval; each client process takes every P-th arrival, P the
number of processes, so together they keep the whole schedule). A process's worker threads take
its arrivals in order, one each at a time; when every worker is busy, the arrivals that fall due
queue, and their latency counts from when they were due, not from when a worker got to them.
"""

from __future__ import annotations

import collections
import math
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.brands import SOURCE_POINTS, TARGET_BRAND
from bench.clients import ClientJob, Clients, client_channel, raw_private_key
from bench.cpu import CpuSnapshot
from bench.fresh import fresh_hub
from bench.latency import percentile, round_or_none
from bench.postgres import Postgres
from partner_sdk import ExchangeClient, ExchangeError
from partner_sdk.keys import Ed25519PrivateKey

# (due, started, quoted, ended) of one arrival that converted: due is its place in the schedule,
# started when a worker began it; perf_counter (CLOCK_MONOTONIC), one clock for every process.
Arrival = tuple[float, float, float, float]
Missed = tuple[float, float, float, str]  # (due, started, ended, reason) of an arrival that failed
UNFINISHED = "unfinished: not done by the drain deadline"
RATE_OF_MAIN_RUN = 0.5  # the offered rate, as a share of the main run's conversions/s


class OpenLoopThreads:
    """One process's share of the schedule: every `shares`-th arrival, served in order by its worker threads.

    A free worker claims the earliest arrival not yet claimed, waits until it is due (not at all
    if it is already late) and runs it; so the arrivals are served first come, first served by
    however many workers are free, as a queue in front of a pool would serve them.
    """

    def __init__(self, job: ClientJob) -> None:
        if job.rate_per_s <= 0:
            raise ValueError(f"an open loop needs a positive rate, not {job.rate_per_s}")
        self.job = job
        self.interval_s = job.shares / job.rate_per_s
        self.offset_s = job.share / job.rate_per_s
        self.arrivals: list[Arrival] = []
        self.missed: list[Missed] = []
        self._claim = threading.Lock()
        self._next = 0
        self._finished: set[int] = set()
        self._epoch = 0.0
        self._cutoff = math.inf  # arrivals due from here on are not offered (set when finishing)
        self._deadline = math.inf  # no arrival is started after this (perf_counter)
        self._finishing = threading.Event()
        self._channels = [client_channel(job.target) for _ in job.indices]
        self._gate = threading.Barrier(len(job.indices) + 1)
        self._threads = [
            threading.Thread(target=self._serve, args=(slot,), name=f"open-loop-{index}", daemon=True)
            for slot, index in enumerate(job.indices)
        ]
        for thread in self._threads:
            thread.start()

    def due(self, n: int) -> float:
        """When this process's n-th arrival is due (perf_counter)."""
        return self._epoch + self.offset_s + n * self.interval_s

    def start(self, epoch: float) -> None:
        """Wait until every worker has built its client; the schedule starts at `epoch`."""
        self._epoch = epoch
        self._gate.wait()

    def finish(self, deadline: float) -> tuple[list[Arrival], list[Missed]]:
        """Offer no more arrivals; serve the ones already due until `deadline` (monotonic); the rest are missed."""
        now = time.perf_counter()
        self._deadline = now + max(0.0, deadline - time.monotonic())
        self._cutoff = now
        self._finishing.set()
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for channel in self._channels:
            channel.close()
        offered = max(0, math.ceil((self._cutoff - self._epoch - self.offset_s) / self.interval_s))
        finished, ended = set(self._finished), time.perf_counter()
        unfinished = [(self.due(n), ended, ended, UNFINISHED) for n in range(offered) if n not in finished]
        return list(self.arrivals), [*self.missed, *unfinished]

    def _serve(self, slot: int) -> None:
        operation = self._operation(slot)
        self._gate.wait()
        while True:
            with self._claim:
                n, self._next = self._next, self._next + 1
            due = self.due(n)
            delay = due - time.perf_counter()
            if delay > 0:
                self._finishing.wait(delay)
            if due >= self._cutoff or time.perf_counter() > self._deadline:
                return
            started = time.perf_counter()
            try:
                quoted = operation(n)
            except ExchangeError as exc:
                self.missed.append((due, started, time.perf_counter(), f"{type(exc).__name__}:{exc.reason}"))
            except Exception as exc:  # a closed channel at the very end, say: count it, don't die
                self.missed.append((due, started, time.perf_counter(), type(exc).__name__))
            else:
                self.arrivals.append((due, started, quoted, time.perf_counter()))
            self._finished.add(n)

    def _operation(self, slot: int) -> Callable[[int], float]:
        """Quote + convert for arrival n, new member references and key; returns when the quote came back."""
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
            reference = f"{job.run_tag}-{job.share}-{n}"
            client.convert(
                quote.quote_id,
                source_member_ref=f"m-{reference}",
                target_member_ref=f"t-{reference}",
                idempotency_key=f"open-{reference}",
            )
            return quoted

        return convert


@dataclass
class OpenLoopResult:
    """The open-loop step's figures (bench/README.md, "The figures": the open_loop_* keys)."""

    rate_per_s: float  # offered: the schedule's rate
    workers: int
    client_processes: int
    window_s: float
    offered: int  # arrivals due in the window
    completed_per_s: float  # conversions that ended in the window ÷ the window
    p50_ms: float | None  # from when each arrival due in the window was due to when it ended
    p99_ms: float | None
    p999_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    start_lag_p50_ms: float | None  # due → a worker began it: queueing, and the worker's wake-up
    start_lag_p99_ms: float | None
    service_p50_ms: float | None  # a worker began it → it ended: the two calls themselves
    service_p99_ms: float | None
    queued_at_window_end: int  # arrivals due before the window's end that no worker had begun by then
    hub_cpu_ms_per_conversion: float | None
    postgres_cpu_ms_per_conversion: float | None
    client_cpu_ms_per_conversion: float | None
    hub_cores: float
    postgres_cores: float | None
    other_cores: float
    machine_busy_pct: float
    db_retries: int | None
    calls_per_group: float | None
    errors: dict[str, int] = field(default_factory=dict)  # arrivals due in the window that failed, by reason


def measure_open_loop(
    *,
    postgres: Postgres,
    workdir: Path,
    rate_per_s: float,
    workers: int,
    client_processes: int,
    sources: int,
    hub_workers: int,
    hub_processes: int | None,
    group_commit: bool,
    warmup_s: float,
    duration_s: float,
) -> OpenLoopResult:
    """A fresh database and hub; arrivals at `rate_per_s` for the warm-up and the window; the window's figures."""
    with fresh_hub(
        backend="postgresql",
        postgres=postgres,
        workdir=workdir,
        label="open",
        sources=sources,
        workers=hub_workers,
        hub_processes=hub_processes,
        group_commit=group_commit,
    ) as fresh:
        hub, database = fresh.hub, fresh.database
        job = ClientJob(
            kind="open-loop",
            target=hub.target,
            run_tag=uuid.uuid4().hex[:8],
            hub_public_key=hub.hub_public_key,
            brands=tuple((b.partner_id, raw_private_key(b.key)) for b in fresh.brands),
            rate_per_s=rate_per_s,
        )
        pool = Clients(job, clients=workers, processes=client_processes, runner=OpenLoopThreads)
        try:
            time.sleep(max(0.0, pool.epoch + warmup_s - time.perf_counter()))
            metrics_before = hub.metrics()
            before = CpuSnapshot.take(hub.pid, database, pool.cpu_s)
            time.sleep(max(0.0, before.at + duration_s - time.perf_counter()))
            after = CpuSnapshot.take(hub.pid, database, pool.cpu_s)
            metrics_after = hub.metrics()
        finally:
            arrivals, missed = pool.stop()
    return open_loop_figures(
        rate_per_s=rate_per_s,
        workers=workers,
        client_processes=pool.processes,
        before=before,
        after=after,
        arrivals=arrivals,
        missed=missed,
        metrics=(metrics_before, metrics_after),
    )


def open_loop_figures(
    *,
    rate_per_s: float,
    workers: int,
    client_processes: int,
    before: CpuSnapshot,
    after: CpuSnapshot,
    arrivals: list[Arrival],
    missed: list[Missed],
    metrics: tuple[dict[str, float], dict[str, float]],
) -> OpenLoopResult:
    """The window [before.at, after.at): arrivals due in it (latencies, errors), conversions ended in it (rate)."""
    window = after.at - before.at
    due_in_window = [a for a in arrivals if before.at <= a[0] < after.at]
    failed = [m for m in missed if before.at <= m[0] < after.at]
    latencies = sorted((ended - due) * 1000 for due, _, _, ended in due_in_window)
    lags = sorted((started - due) * 1000 for due, started, _, _ in due_in_window)
    services = sorted((ended - started) * 1000 for _, started, _, ended in due_in_window)
    completed = sum(1 for a in arrivals if before.at <= a[3] < after.at)
    queued = sum(1 for due, started, *_ in [*arrivals, *missed] if due < after.at <= started)

    def per_conversion_ms(seconds: float | None) -> float | None:
        return None if seconds is None or completed == 0 else round(seconds * 1000 / completed, 3)

    def delta(name: str) -> float | None:
        return metrics[1][name] - metrics[0].get(name, 0.0) if name in metrics[1] else None

    hub_s = after.hub_s - before.hub_s
    client_s = after.client_s - before.client_s
    pg_s = (
        after.postgres_s - before.postgres_s if after.postgres_s is not None and before.postgres_s is not None else None
    )
    busy = (after.machine[0] - before.machine[0]) / max(1.0, after.machine[1] - before.machine[1])
    retries, groups = delta("coalition_db_retries_total"), delta("coalition_db_groups_total")
    grouped = delta("coalition_db_grouped_calls_total")
    return OpenLoopResult(
        rate_per_s=round(rate_per_s, 1),
        workers=workers,
        client_processes=client_processes,
        window_s=round(window, 3),
        offered=len(due_in_window) + len(failed),
        completed_per_s=round(completed / window, 1),
        p50_ms=round_or_none(percentile(latencies, 0.50)),
        p99_ms=round_or_none(percentile(latencies, 0.99)),
        p999_ms=round_or_none(percentile(latencies, 0.999)),
        max_ms=round_or_none(latencies[-1] if latencies else None),
        mean_ms=round_or_none(statistics.fmean(latencies) if latencies else None),
        start_lag_p50_ms=round_or_none(percentile(lags, 0.50)),
        start_lag_p99_ms=round_or_none(percentile(lags, 0.99)),
        service_p50_ms=round_or_none(percentile(services, 0.50)),
        service_p99_ms=round_or_none(percentile(services, 0.99)),
        queued_at_window_end=queued,
        hub_cpu_ms_per_conversion=per_conversion_ms(hub_s),
        postgres_cpu_ms_per_conversion=per_conversion_ms(pg_s),
        client_cpu_ms_per_conversion=per_conversion_ms(client_s),
        hub_cores=round(hub_s / window, 2),
        postgres_cores=None if pg_s is None else round(pg_s / window, 2),
        other_cores=round(max(0.0, busy * (os.cpu_count() or 1) - (hub_s + client_s + (pg_s or 0.0)) / window), 2),
        machine_busy_pct=round(100 * busy, 1),
        db_retries=None if retries is None else int(retries),
        calls_per_group=round(grouped / groups, 2) if groups and grouped is not None else None,
        errors=dict(collections.Counter(reason for *_, reason in failed)),
    )
