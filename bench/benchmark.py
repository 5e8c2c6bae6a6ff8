"""The benchmark's steps in order: Ed25519, gRPC floor, main runs, pgbench, open loop, bulk, scaling, settling."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bulk import BulkResult, measure_bulk
from bench.ceiling import Ceiling, machine_ceiling, sqlite_ceiling
from bench.console import console
from bench.conversions import RunResult, run_hub
from bench.ed25519 import crypto_costs
from bench.floor import FloorResult, measure_floor
from bench.open_loop import RATE_OF_MAIN_RUN, OpenLoopResult, measure_open_loop
from bench.pgbench import Pgbench, PgbenchResult
from bench.postgres import Postgres
from bench.py_spy import summarise_profile
from bench.settle import MOVEMENTS, SettleResult, headline, measure_settlement, shortfalls
from bench.sqlite_tx import SqliteTx, measure_sqlite_tx

SCALING_CLIENTS = (1, 4, 16, 64)
OTHER_LOAD_WARNING_CORES = 0.25


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


@dataclass(frozen=True)
class Options:
    """What to run: bench/run.py's options, resolved."""

    mode: Mode
    clients: int
    duration_s: float
    sources: int
    workers: int
    hub_processes: int | None  # None: `serve`'s default
    client_processes: int
    group_commit: bool
    floor: bool
    pgbench_scale: int
    analyze: bool
    scaling: bool
    sqlite: bool
    py_spy: Path | None
    settle: bool
    settle_movements: int | None
    postgres_url: str
    open_loop: bool = True
    open_loop_rate: float | None = None  # offered conversions/s; None: half the main run's
    bulk: bool = True
    bulk_clients: int = 4
    bulk_batch_size: int = 500


@dataclass
class Outcome:
    """Every figure one benchmark measured."""

    crypto: dict[str, float]
    floor: FloorResult | None
    main_run: RunResult
    sqlite_run: RunResult | None
    scaling: list[RunResult]
    pgbench: dict[int, PgbenchResult]
    profile: dict[str, Any] | None
    settled: SettleResult | None
    settle_fields: dict[str, object]
    open_loop: OpenLoopResult | None = None
    open_loop_note: str = "not run"
    bulk: BulkResult | None = None
    bulk_note: str = "not run"
    sqlite_tx: SqliteTx | None = None  # SQLite's own TPC-B-like transaction, for its ceiling

    @property
    def runs(self) -> list[RunResult]:
        """The main runs: PostgreSQL, then SQLite."""
        return [self.main_run, *([self.sqlite_run] if self.sqlite_run else [])]

    @property
    def everything(self) -> list[RunResult]:
        """The main runs and the scaling runs, the main run once."""
        return [*self.runs, *(r for r in self.scaling if r is not self.main_run)]

    @property
    def main_pgbench(self) -> PgbenchResult | None:
        return self.pgbench.get(self.main_run.clients)

    @property
    def ceiling(self) -> Ceiling | None:
        return machine_ceiling(self.floor, self.crypto, self.main_pgbench)

    @property
    def sqlite_ceiling(self) -> Ceiling | None:
        return sqlite_ceiling(self.floor, self.crypto, self.sqlite_tx)


def durable_settings(postgres: Postgres) -> dict[str, str]:
    """The server's version and durability settings; refuses a server that does not commit durably."""
    settings = postgres.settings()
    if settings["synchronous_commit"] != "on" or settings["fsync"] != "on":
        raise SystemExit(f"refusing to benchmark a non-durable server: {settings}")
    return settings


def run(options: Options, postgres: Postgres) -> Outcome:
    """Every step, each database dropped at the end; then the settlement close (a failure there is reported)."""
    mode = options.mode
    common: dict[str, Any] = {
        "postgres": postgres,
        "sources": options.sources,
        "workers": options.workers,
        "group_commit": options.group_commit,
        "hub_processes": options.hub_processes,
        "client_processes": options.client_processes,
        "warmup_s": mode.warmup_s,
        "analyze": options.analyze,
    }
    pgbench_runs: dict[int, PgbenchResult] = {}
    profile: dict[str, Any] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="coalition-bench-") as tmp:
            workdir = Path(tmp)
            pgbench = Pgbench(postgres, options.pgbench_scale)
            console.print("crypto: timing Ed25519 sign and verify ...")
            crypto = crypto_costs(mode.crypto_iterations)
            floor = None
            if options.floor:
                console.print(
                    f"grpc floor: a no-op call, {options.clients} clients for {mode.floor_duration_s:g} s ..."
                )
                floor = measure_floor(
                    clients=options.clients,
                    client_processes=options.client_processes,
                    workers=options.workers,
                    warmup_s=mode.warmup_s,
                    duration_s=mode.floor_duration_s,
                )

            console.print(f"postgresql: {options.clients} clients for {options.duration_s:g} s ...")
            main_run, spy_out = run_hub(
                backend="postgresql",
                workdir=workdir,
                clients=options.clients,
                duration_s=options.duration_s,
                py_spy=options.py_spy,
                **common,
            )
            if spy_out is not None and spy_out.exists():
                profile = summarise_profile(spy_out)
            console.print(f"pgbench: {options.clients} clients for {int(options.duration_s)} s ...")
            pgbench_runs[options.clients] = pgbench.run(options.clients, int(options.duration_s))
            open_loop, open_loop_note = open_loop_step(options, postgres, workdir, main_run)
            bulk, bulk_note = bulk_step(options, postgres, workdir)

            sqlite_run, sqlite_tx = None, None
            if options.sqlite:
                console.print(f"sqlite: pgbench's transaction on a durable file for {mode.floor_duration_s:g} s ...")
                sqlite_tx = measure_sqlite_tx(workdir / "sqlite-tx", mode.floor_duration_s)
                console.print(f"sqlite: {options.clients} clients for {options.duration_s:g} s ...")
                sqlite_run, _ = run_hub(
                    backend="sqlite",
                    workdir=workdir,
                    clients=options.clients,
                    duration_s=options.duration_s,
                    **common,
                )

            scaling: list[RunResult] = []
            if options.scaling:
                for clients in SCALING_CLIENTS:
                    if clients == options.clients:
                        scaling.append(main_run)
                        continue
                    console.print(f"scaling: {clients} clients for {mode.scaling_duration_s:g} s, then pgbench ...")
                    scaled, _ = run_hub(
                        backend="postgresql",
                        workdir=workdir,
                        clients=clients,
                        duration_s=mode.scaling_duration_s,
                        **common,
                    )
                    scaling.append(scaled)
                    pgbench_runs[clients] = pgbench.run(clients, mode.scaling_pgbench_duration_s)
    finally:
        postgres.drop_all()
    settled, settle_fields = settlement(options.postgres_url, options.settle_movements, skip=not options.settle)
    return Outcome(
        crypto,
        floor,
        main_run,
        sqlite_run,
        scaling,
        pgbench_runs,
        profile,
        settled,
        settle_fields,
        open_loop,
        open_loop_note,
        bulk,
        bulk_note,
        sqlite_tx,
    )


def open_loop_step(
    options: Options, postgres: Postgres, workdir: Path, main_run: RunResult
) -> tuple[OpenLoopResult | None, str]:
    """Latency at a steady offered rate (bench/open_loop.py); a failure is reported, not raised."""
    if not options.open_loop:
        return None, "not run: --no-open-loop"
    rate = options.open_loop_rate or round(main_run.conversions_per_s * RATE_OF_MAIN_RUN, 1)
    if rate <= 0:
        return None, "not run: the main run converted nothing, so there is no rate to offer"
    console.print(
        f"open loop: {rate:g} conversions/s offered to {options.clients} workers, "
        f"{options.mode.warmup_s:g} s warm-up and {options.duration_s:g} s ..."
    )
    try:
        result = measure_open_loop(
            postgres=postgres,
            workdir=workdir,
            rate_per_s=rate,
            workers=options.clients,
            client_processes=options.client_processes,
            sources=options.sources,
            hub_workers=options.workers,
            hub_processes=options.hub_processes,
            group_commit=options.group_commit,
            warmup_s=options.mode.warmup_s,
            duration_s=options.duration_s,
        )
    except Exception as exc:  # the other figures are worth keeping without this one
        console.print(f"[red]open loop failed: {type(exc).__name__}: {exc}[/red]")
        return None, f"not measured: the run failed ({type(exc).__name__}: {exc})"
    source = "--open-loop-rate" if options.open_loop_rate else f"{RATE_OF_MAIN_RUN:g} of the main run's conversions/s"
    return result, f"{rate:g}/s offered ({source}), a fixed interval"


def bulk_step(options: Options, postgres: Postgres, workdir: Path) -> tuple[BulkResult | None, str]:
    """ConvertBatch as fast as it answers (bench/bulk.py); a failure is reported, not raised."""
    if not options.bulk:
        return None, "not run: --no-bulk"
    console.print(
        f"bulk: {options.bulk_clients} clients looping ConvertBatch of {options.bulk_batch_size} items, "
        f"{options.mode.warmup_s:g} s warm-up and {options.duration_s:g} s ..."
    )
    try:
        result = measure_bulk(
            postgres=postgres,
            workdir=workdir,
            clients=options.bulk_clients,
            client_processes=options.client_processes,
            batch_size=options.bulk_batch_size,
            sources=options.sources,
            hub_workers=options.workers,
            hub_processes=options.hub_processes,
            group_commit=options.group_commit,
            warmup_s=options.mode.warmup_s,
            duration_s=options.duration_s,
            py_spy=options.py_spy,
        )
    except Exception as exc:  # the other figures are worth keeping without this one
        console.print(f"[red]bulk failed: {type(exc).__name__}: {exc}[/red]")
        return None, f"not measured: the run failed ({type(exc).__name__}: {exc})"
    return result, f"{result.clients} clients, {result.batch_size} unquoted items a call"


def settlement(admin_url: str, movements: int | None, *, skip: bool) -> tuple[SettleResult | None, dict[str, object]]:
    """Close a settlement period through a hub of its own (bench/settle.py); a failure is reported, not raised."""
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


def warnings(outcome: Outcome, *, settle: bool) -> list[str]:
    """What makes this run's figures doubtful: other load on the machine, failed calls, a settlement shortfall."""
    found = []
    floor = outcome.floor
    disturbed = [
        (f"{r.backend}/{r.clients}", r.other_cores)
        for r in outcome.everything
        if r.other_cores > OTHER_LOAD_WARNING_CORES
    ]
    if floor is not None and floor.other_cores > OTHER_LOAD_WARNING_CORES:
        disturbed.append(("the gRPC floor", floor.other_cores))
    open_loop, bulk = outcome.open_loop, outcome.bulk
    for name, step in (("the open loop", open_loop), ("bulk", bulk)):
        if step is not None and step.other_cores > OTHER_LOAD_WARNING_CORES:
            disturbed.append((name, step.other_cores))
    if disturbed:
        found.append(
            "other processes used "
            + ", ".join(f"{cores:.2f} cores during {name}" for name, cores in disturbed)
            + ": those figures are disturbed; run again on a quiet machine"
        )
    if floor is not None and floor.errors:
        found.append(f"failed gRPC floor calls: {floor.errors}")
    failed = [r for r in outcome.everything if r.errors]
    if failed:
        found.append("failed conversions: " + "; ".join(f"{r.backend}/{r.clients}: {r.errors}" for r in failed))
    if open_loop is not None and open_loop.errors:
        found.append(f"failed open-loop arrivals: {open_loop.errors}")
    if bulk is not None and bulk.errors:
        found.append(f"failed bulk items: {bulk.errors}")
    if bulk is not None and bulk.rows_in_database is not None and bulk.rows_in_database != bulk.converted_total:
        found.append(
            f"bulk: the database holds {bulk.rows_in_database} conversions, the answers said {bulk.converted_total} "
            "(more: a call still running when the clients stopped; fewer: an answered conversion is missing)"
        )
    for name, note in (("open loop", outcome.open_loop_note), ("bulk", outcome.bulk_note)):
        if note.startswith("not measured"):
            found.append(f"{name} {note}")
    if outcome.settled is None and settle:
        found.append(f"settlement {outcome.settle_fields['settle_note']}")
    if outcome.settled is not None:
        found.extend(shortfalls(outcome.settled))
    return found
