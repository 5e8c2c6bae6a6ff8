"""End-to-end throughput of the exchange: signed conversions through the SDK against a real hub process.

Usage: .venv/bin/python bench/run.py [--short] [--clients N] [--duration S] [--hub-processes N]
       [--client-processes K] [--py-spy DIR] [--no-floor] [--no-open-loop] [--open-loop-rate R]
       [--no-bulk] [--bulk-clients N] [--bulk-batch-size B] [--no-settle]

A conversion here is QuoteConversion + Convert, two signed calls from the source brand; the
target brand acknowledging the credit is separate work and is not driven. Every run starts
`coalition serve` as a subprocess on a fresh database (PostgreSQL, created here and dropped at
the end; or a SQLite file), fully durable (synchronous_commit and fsync as the server has them,
which must be on; SQLite in WAL with synchronous=FULL). The clients are threads spread over one or
more processes; a no-op gRPC server driven the same way gives the floor one server process sets.
After the main run, conversions offered at half its rate on a fixed schedule (an open loop) give
the latency under a steady load, and client threads looping ConvertBatch the bulk rate.
Then bench/settle.py closes a settlement period of 1,000,000 movements through a hub of its own.
The last line printed is one JSON object; bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if not __package__:  # run as bench/run.py: the repository goes first on the path, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import benchmark, bulk, report
from bench.console import console
from bench.postgres import DEFAULT_POSTGRES, Postgres
from bench.result import summary
from bench.settle import settle_table


def options(argv: list[str] | None) -> benchmark.Options:
    """The command line, resolved: the mode's durations, the client processes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="a quick run (under two minutes)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent SDK clients of the main run (16)")
    parser.add_argument("--duration", type=float, help="seconds measured in the main runs (60; short 8)")
    parser.add_argument("--sources", type=int, default=4, help="source brands, each agreed with one target (4)")
    parser.add_argument("--workers", type=int, default=16, help="hub server threads, `serve --workers` (16)")
    parser.add_argument(
        "--hub-processes",
        type=int,
        help="hub processes, `serve --processes` (default: serve's own, one per core on PostgreSQL, one on SQLite)",
    )
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
    parser.add_argument("--no-open-loop", action="store_true", help="skip the open-loop step")
    parser.add_argument(
        "--open-loop-rate",
        type=float,
        metavar="R",
        help="conversions/s the open loop offers (half the main run's conversions/s)",
    )
    parser.add_argument("--no-bulk", action="store_true", help="skip the bulk step (ConvertBatch)")
    parser.add_argument(
        "--bulk-clients", type=int, default=bulk.CLIENTS, help=f"client threads looping ConvertBatch ({bulk.CLIENTS})"
    )
    parser.add_argument(
        "--bulk-batch-size",
        type=int,
        default=bulk.BATCH_SIZE,
        metavar="B",
        help=f"items per ConvertBatch call, 1 to 500 ({bulk.BATCH_SIZE})",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1/4/16/64-client line")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument(
        "--py-spy", type=Path, metavar="DIR", help="profile the main PostgreSQL hub and the bulk step's with py-spy"
    )
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
    if (args.hub_processes is not None and args.hub_processes < 1) or (
        args.client_processes is not None and args.client_processes < 1
    ):
        parser.error("--hub-processes and --client-processes must be at least 1")
    if args.open_loop_rate is not None and args.open_loop_rate <= 0:
        parser.error("--open-loop-rate must be positive")
    if args.bulk_clients < 1 or not 1 <= args.bulk_batch_size <= bulk.BATCH_SIZE:
        parser.error(f"--bulk-clients must be at least 1 and --bulk-batch-size 1 to {bulk.BATCH_SIZE}")
    mode = benchmark.SHORT if args.short else benchmark.FULL
    return benchmark.Options(
        mode=mode,
        clients=args.clients,
        duration_s=args.duration or mode.duration_s,
        sources=args.sources,
        workers=args.workers,
        hub_processes=args.hub_processes,
        client_processes=min(args.clients, args.client_processes or (1 if args.clients == 1 else 2)),
        group_commit=not args.no_group_commit,
        floor=not args.no_floor,
        pgbench_scale=args.pgbench_scale,
        analyze=args.analyze,
        scaling=not args.no_scaling,
        sqlite=not args.no_sqlite,
        py_spy=args.py_spy,
        settle=not args.no_settle,
        settle_movements=args.settle_movements,
        postgres_url=args.postgres_url,
        open_loop=not args.no_open_loop,
        open_loop_rate=args.open_loop_rate,
        bulk=not args.no_bulk,
        bulk_clients=args.bulk_clients,
        bulk_batch_size=args.bulk_batch_size,
    )


def main(argv: list[str] | None = None) -> int:
    chosen = options(argv)
    mode, duration = chosen.mode, chosen.duration_s
    started = time.monotonic()
    postgres = Postgres(chosen.postgres_url)
    settings = benchmark.durable_settings(postgres)
    console.print(
        f"[bold]coalition exchange benchmark[/bold] ({mode.name}): {os.cpu_count()} cores, PostgreSQL "
        f"{settings['server_version']} (synchronous_commit={settings['synchronous_commit']}, "
        f"fsync={settings['fsync']}, wal_sync_method={settings['wal_sync_method']}), "
        f"{chosen.clients} clients, {duration:g} s windows "
        f"after {mode.warmup_s:g} s warm-up, {chosen.sources} source brands -> 1 target, hub --workers "
        f"{chosen.workers} --processes {chosen.hub_processes or 'default'}"
        f"{'' if chosen.group_commit else ' --no-group-commit'}, "
        f"clients in {chosen.client_processes} "
        f"process{'es' if chosen.client_processes > 1 else ''}",
        soft_wrap=True,
    )
    outcome = benchmark.run(chosen, postgres)
    elapsed = time.monotonic() - started

    console.print()
    floor = outcome.floor
    console.print(
        report.latency_table(
            outcome.runs, outcome.pgbench, f"Main runs: {chosen.clients} clients, {duration:g} s window each", floor
        )
    )
    if outcome.scaling:
        console.print(
            report.latency_table(
                outcome.scaling,
                outcome.pgbench,
                f"Scaling on PostgreSQL: {mode.scaling_duration_s:g} s windows, pgbench "
                f"{mode.scaling_pgbench_duration_s} s (the {chosen.clients}-client row is the main run)",
            )
        )
    console.print(
        report.cpu_table(
            outcome.everything, "CPU per conversion (ms) and cores used in each window; PG per conversion", floor
        )
    )
    if outcome.open_loop is not None:
        console.print(report.open_loop_table(outcome.open_loop))
    else:
        console.print(f"open loop: null ({outcome.open_loop_note})")
    if outcome.bulk is not None:
        console.print(report.bulk_table(outcome.bulk, outcome.main_pgbench))
    else:
        console.print(f"bulk: null ({outcome.bulk_note})")
    if floor is not None:
        console.print(report.floor_table(floor))
    warnings = benchmark.warnings(outcome, settle=chosen.settle)
    for warning in warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")
    console.print(report.crypto_table(outcome.crypto, outcome.everything))
    limits = [
        (name, limit, run.conversions_per_s)
        for name, limit, run in (
            ("PostgreSQL", outcome.ceiling, outcome.main_run),
            ("SQLite", outcome.sqlite_ceiling, outcome.sqlite_run),
        )
        if limit is not None and run is not None
    ]
    if limits:
        console.print(report.ceiling_table(limits))
    if outcome.profile:
        for table in report.profile_tables(outcome.profile):
            console.print(table)
    if outcome.bulk is not None and outcome.bulk.profile:
        for table in report.profile_tables(outcome.bulk.profile, "bulk step"):
            console.print(table)
    if outcome.settled is None:
        console.print(f"settlement: null ({outcome.settle_fields['settle_note']})")
    else:
        console.print(settle_table(outcome.settled))
    console.print(f"total {elapsed:.0f} s; every database created was dropped")

    figures = summary(chosen, outcome, settings=settings, warnings=warnings, elapsed_s=elapsed)
    sys.stdout.flush()
    print(json.dumps(figures, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
