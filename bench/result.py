"""The JSON object bench/run.py prints last: its keys are what bench/compare.py and bench/README.md read."""

from __future__ import annotations

import os
from dataclasses import asdict

from bench.benchmark import Options, Outcome


def summary(
    options: Options, outcome: Outcome, *, settings: dict[str, str], warnings: list[str], elapsed_s: float
) -> dict[str, object]:
    """Every figure of one benchmark, the main run's first (bench/README.md explains each key)."""
    main_run, sqlite_run, floor, crypto = outcome.main_run, outcome.sqlite_run, outcome.floor, outcome.crypto
    main_pgbench, limit, pgbench_runs = outcome.main_pgbench, outcome.ceiling, outcome.pgbench
    sqlite_limit = outcome.sqlite_ceiling
    open_loop, bulk = outcome.open_loop, outcome.bulk
    tps = main_pgbench.tps if main_pgbench else None
    return {
        "mode": options.mode.name,
        "conversion": "QuoteConversion + Convert (two signed calls, source brand); target acknowledgement not driven",
        "clients": options.clients,
        "hub_processes": main_run.hub_processes,  # what `serve` ran (its default unless --hub-processes)
        "group_commit": options.group_commit,
        "client_processes": options.client_processes,
        "duration_s": options.duration_s,
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
        "pgbench_tps": tps,
        "pgbench_scale": options.pgbench_scale,
        "ratio": round(main_run.conversions_per_s / main_pgbench.tps, 4) if main_pgbench and main_pgbench.tps else None,
        "ceiling_conversions_per_s": limit.conversions_per_s if limit else None,
        "ceiling_ratio": limit.ratio_to_pgbench if limit else None,
        "ceiling": asdict(limit) if limit else None,
        "ceiling_fraction": round(main_run.conversions_per_s / limit.conversions_per_s, 3) if limit else None,
        "open_loop_rate_per_s": open_loop.rate_per_s if open_loop else None,
        "open_loop_completed_per_s": open_loop.completed_per_s if open_loop else None,
        "open_loop_p50_ms": open_loop.p50_ms if open_loop else None,
        "open_loop_p99_ms": open_loop.p99_ms if open_loop else None,
        "open_loop_p999_ms": open_loop.p999_ms if open_loop else None,
        "open_loop_max_ms": open_loop.max_ms if open_loop else None,
        "open_loop_errors": sum(open_loop.errors.values()) if open_loop else None,
        "open_loop_workers": open_loop.workers if open_loop else None,
        "open_loop_note": outcome.open_loop_note,
        "open_loop": asdict(open_loop) if open_loop else None,
        "bulk_conversions_per_s": bulk.conversions_per_s if bulk else None,
        "bulk_ratio": round(bulk.conversions_per_s / tps, 4) if bulk and tps else None,
        "bulk_item_errors": bulk.item_errors if bulk else None,
        "bulk_batch_p50_ms": bulk.batch_p50_ms if bulk else None,
        "bulk_clients": bulk.clients if bulk else None,
        "bulk_batch_size": bulk.batch_size if bulk else None,
        "bulk_hub_cpu_ms_per_conversion": bulk.hub_cpu_ms_per_conversion if bulk else None,
        "bulk_postgres_cpu_ms_per_conversion": bulk.postgres_cpu_ms_per_conversion if bulk else None,
        "bulk_note": outcome.bulk_note,
        "bulk": asdict(bulk) if bulk else None,
        "sqlite_conversions_per_s": sqlite_run.conversions_per_s if sqlite_run else None,
        "sqlite_p50_ms": sqlite_run.p50_ms if sqlite_run else None,
        "sqlite_p99_ms": sqlite_run.p99_ms if sqlite_run else None,
        "sqlite_hub_cpu_ms_per_conversion": sqlite_run.hub_cpu_ms_per_conversion if sqlite_run else None,
        "sqlite_ceiling_conversions_per_s": sqlite_limit.conversions_per_s if sqlite_limit else None,
        "sqlite_ceiling_fraction": (
            round(sqlite_run.conversions_per_s / sqlite_limit.conversions_per_s, 3)
            if sqlite_run and sqlite_limit
            else None
        ),
        "sqlite_ceiling": asdict(sqlite_limit) if sqlite_limit else None,
        "sqlite_tx": asdict(outcome.sqlite_tx) if outcome.sqlite_tx else None,
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
            for r in outcome.scaling
        ],
        **outcome.settle_fields,
        "profile": outcome.profile,
        "pgbench": [asdict(b) for b in pgbench_runs.values()],
        "runs": [asdict(r) for r in outcome.everything],
        "warnings": warnings,
        "postgres": settings,
        "cores": os.cpu_count(),
        "elapsed_s": round(elapsed_s, 1),
    }
