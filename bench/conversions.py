"""One measured run: a fresh database and hub, the coalition set up, clients converting, the window's figures."""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.brands import Brand
from bench.clients import ClientJob, Clients, ClientThreads, raw_private_key
from bench.cpu import CpuSnapshot
from bench.fresh import fresh_hub
from bench.hub import HubProcess
from bench.latency import percentile, round_or_none
from bench.postgres import Postgres
from bench.py_spy import start_py_spy


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
        brands=tuple((b.partner_id, raw_private_key(b.key)) for b in brands),
    )
    pool = Clients(job, clients=clients, processes=client_processes, runner=ClientThreads)
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
        p50_ms=round_or_none(percentile(latencies, 0.50)),
        p99_ms=round_or_none(percentile(latencies, 0.99)),
        max_ms=round_or_none(latencies[-1] if latencies else None),
        mean_ms=round_or_none(statistics.fmean(latencies) if latencies else None),
        quote_p50_ms=round_or_none(percentile(quotes, 0.50)),
        convert_p50_ms=round_or_none(percentile(converts, 0.50)),
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


def run_hub(
    *,
    backend: str,
    postgres: Postgres,
    workdir: Path,
    clients: int,
    sources: int,
    workers: int,
    hub_processes: int | None,
    client_processes: int,
    warmup_s: float,
    duration_s: float,
    group_commit: bool = True,
    analyze: bool = False,
    py_spy: Path | None = None,
) -> tuple[RunResult, Path | None]:
    """Fresh database, fresh hub (`hub_processes` processes), coalition set up, one measured run, hub stopped."""
    with fresh_hub(
        backend=backend,
        postgres=postgres,
        workdir=workdir,
        label=f"{clients}c",
        sources=sources,
        workers=workers,
        hub_processes=hub_processes,
        group_commit=group_commit,
    ) as fresh:
        result, profile = drive(
            fresh.hub,
            fresh.brands,
            backend=backend,
            clients=clients,
            client_processes=client_processes,
            warmup_s=warmup_s,
            duration_s=duration_s,
            postgres=postgres,
            database=fresh.database or None,
            analyze=analyze,
            py_spy=py_spy,
        )
    if fresh.sqlite_path is None:
        result.rows_in_database = postgres.count_conversions(fresh.database)
    else:
        with contextlib.closing(sqlite3.connect(fresh.sqlite_path)) as db:
            result.rows_in_database = int(db.execute("SELECT count(*) FROM conversions").fetchone()[0])
    return result, profile
