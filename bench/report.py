"""The tables the benchmark prints."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from bench.bulk import BulkResult
from bench.ceiling import Ceiling
from bench.conversions import RunResult
from bench.floor import FloorResult
from bench.open_loop import OpenLoopResult
from bench.pgbench import PgbenchResult


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


def open_loop_table(run: OpenLoopResult) -> Table:
    table = Table(
        title=f"Open loop on PostgreSQL: conversions offered at a fixed interval, latency from each arrival's due "
        f"time, {run.window_s:g} s window (target: p99 ≤ 30 ms)",
        title_justify="left",
    )
    columns = ("offered/s", "completed/s", "workers", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "start lag p99",
               "service p99", "queued at end", "errors", "hub CPU ms/conv", "PG CPU ms/conv",
               "other cores")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        f"{run.rate_per_s:,.1f}",
        f"{run.completed_per_s:,.1f}",
        f"{run.workers} in {run.client_processes}",
        ms(run.p50_ms),
        ms(run.p99_ms),
        ms(run.p999_ms),
        ms(run.max_ms),
        ms(run.start_lag_p99_ms),
        ms(run.service_p99_ms),
        str(run.queued_at_window_end),
        str(sum(run.errors.values())),
        ms(run.hub_cpu_ms_per_conversion),
        ms(run.postgres_cpu_ms_per_conversion),
        f"{run.other_cores:.2f}",
    )
    return table


def bulk_table(run: BulkResult, pgbench: PgbenchResult | None) -> Table:
    table = Table(
        title=f"Bulk on PostgreSQL: ConvertBatch of {run.batch_size} unquoted items, {run.window_s:g} s window "
        "(target: bulk conv/s ≥ pgbench tps)",
        title_justify="left",
    )
    columns = ("clients", "brands", "calls", "conv/s", "item errors", "call p50 ms", "call p99 ms", "hub CPU ms/conv",
               "PG CPU ms/conv", "client CPU ms/conv", "hub cores", "PG cores", "other cores", "pgbench tps",
               "conv/s ÷ tps")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        f"{run.clients} in {run.client_processes}",
        str(run.source_brands),
        str(run.batches),
        f"{run.conversions_per_s:,.1f}",
        str(run.item_errors),
        ms(run.batch_p50_ms),
        ms(run.batch_p99_ms),
        "-" if run.hub_cpu_ms_per_conversion is None else f"{run.hub_cpu_ms_per_conversion:.3f}",
        "-" if run.postgres_cpu_ms_per_conversion is None else f"{run.postgres_cpu_ms_per_conversion:.3f}",
        "-" if run.client_cpu_ms_per_conversion is None else f"{run.client_cpu_ms_per_conversion:.3f}",
        f"{run.hub_cores:.2f}",
        "-" if run.postgres_cores is None else f"{run.postgres_cores:.2f}",
        f"{run.other_cores:.2f}",
        "-" if pgbench is None else f"{pgbench.tps:,.0f}",
        "-" if pgbench is None or not pgbench.tps else f"{run.conversions_per_s / pgbench.tps:.3f}",
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


def ceiling_table(rows: list[tuple[str, Ceiling, float]]) -> Table:
    """One row per database: (its name, its ceiling, the conversions/s its main run measured)."""
    table = Table(
        title="What this machine allows: a conversion charged only its floor CPU, all processes on "
        f"{rows[0][1].cores} cores (bench/ceiling.py)",
        title_justify="left",
    )
    columns = ("database", "2 no-op gRPC calls ms", "Ed25519 ms", "DB per TPC-B tx ms", "floor ms/conv",
               "ceiling conv/s", "DB tx/s", "ceiling ÷ tx/s", "measured ÷ ceiling")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for name, limit, measured_per_s in rows:
        _ceiling_row(table, name, limit, measured_per_s)
    return table


def _ceiling_row(table: Table, name: str, limit: Ceiling, measured_per_s: float) -> None:
    table.add_row(
        name,
        f"{limit.grpc_two_calls_ms:.3f}",
        f"{limit.ed25519_ms:.3f}",
        f"{limit.database_per_tx_ms:.3f}",
        f"{limit.floor_ms_per_conversion:.3f}",
        f"{limit.conversions_per_s:,.1f}",
        f"{limit.pgbench_tps:,.0f}",
        f"{limit.ratio_to_pgbench:.3f}",
        f"{measured_per_s / limit.conversions_per_s:.3f}",
    )


def crypto_table(crypto: dict[str, float], runs: list[RunResult]) -> Table:
    """Ed25519's costs, and their share of the hub's CPU per conversion in the least contended PostgreSQL run."""
    hub_crypto_us = 2 * crypto["sign_us"] + 2 * crypto["verify_us"]
    measured = [r for r in runs if r.backend == "postgresql" and r.hub_cpu_ms_per_conversion]
    least_contended = min(measured, key=lambda r: r.clients) if measured else None
    table = Table(title="Ed25519 (median of one call, µs)", title_justify="left")
    share_column = (
        f"share of hub CPU/conv ({least_contended.clients} client{'s' if least_contended.clients > 1 else ''})"
        if least_contended
        else "share of hub CPU/conv"
    )
    for column in ("sign", "verify (signing.verify)", "verify, key preloaded", "sign_request (headers)",
                   "hub per conversion: 2 verify + 2 sign", share_column):  # fmt: skip
        table.add_column(column, justify="right")
    table.add_row(
        f"{crypto['sign_us']:.1f}",
        f"{crypto['verify_us']:.1f}",
        f"{crypto['verify_preloaded_key_us']:.1f}",
        f"{crypto['sign_request_us']:.1f}",
        f"{hub_crypto_us:.1f}",
        f"{100 * hub_crypto_us / 1000 / least_contended.hub_cpu_ms_per_conversion:.1f}%"
        if least_contended and least_contended.hub_cpu_ms_per_conversion
        else "-",
    )
    return table


def profile_tables(profile: dict[str, Any], run: str = "PostgreSQL main run") -> tuple[Table, Table]:
    """py-spy's buckets, then the hub functions with the most inclusive samples."""
    buckets = Table(
        title=f"Where the hub's CPU goes (py-spy, {profile['samples']} samples, {run})",
        title_justify="left",
    )
    buckets.add_column("bucket (leaf-most match)")
    buckets.add_column("% of samples", justify="right")
    for name, pct in profile["buckets_pct"].items():
        buckets.add_row(name, f"{pct:.1f}")
    functions = Table(title="Hub functions by inclusive share of samples (top 12)", title_justify="left")
    functions.add_column("function (file)")
    functions.add_column("% of samples", justify="right")
    for name, pct in list(profile["hub_functions_inclusive_pct"].items())[:12]:
        functions.add_row(name, f"{pct:.1f}")
    return buckets, functions
