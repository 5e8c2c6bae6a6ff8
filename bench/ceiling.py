"""What this machine allows: the most conversions/s its cores could give if a conversion cost only its floor.

A conversion, by the contract, is two signed gRPC calls (QuoteConversion, Convert), each signed
by the client and verified by the hub, each answer signed by the hub and verified by the SDK, and
at least one durable transaction's work in the database. The floor charges exactly that, from
figures measured in the same run, and nothing else:

- the gRPC floor: two no-op calls' server and client CPU (bench/floor.py measure_floor);
- Ed25519: per call, the SDK's sign_request (canonical bytes and signature) and the hub's
  signature of the answer, and two verifications (the hub's of the request, the SDK's of the
  answer), each at the cheaper cost of a key already loaded;
- the database: PostgreSQL's CPU per pgbench TPC-B-like transaction (three updates, a select
  and an insert, committed), measured while pgbench ran with the same client count. A Convert
  alone writes more than that (a conversion, its event, four postings, positions, a credit
  instruction, the idempotency answer, the nonce, an audit event), so this undercounts.

No hub logic, protobuf, SQL building, logging or SDK logic is charged, so no hub could beat the
ceiling on this machine with client, hub and PostgreSQL sharing its cores, as they do here. When
the ceiling is below pgbench's tps, the target conversions/s ≥ pgbench tps can't be met here, by
any hub; it needs the clients or the database on cores of their own.

The embedded default gets its own ceiling, the same sum with SQLite's CPU for the same
TPC-B-like transaction on a durable file (bench/sqlite_tx.py) in place of PostgreSQL's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.floor import FloorResult
    from bench.pgbench import PgbenchResult
    from bench.sqlite_tx import SqliteTx


@dataclass(frozen=True)
class Ceiling:
    """The floor cost of one conversion and the conversions/s it allows on this machine's cores."""

    cores: int
    grpc_two_calls_ms: float
    ed25519_ms: float
    database_per_tx_ms: float  # the database's CPU for one TPC-B-like transaction
    floor_ms_per_conversion: float
    conversions_per_s: float
    pgbench_tps: float  # for SQLite, its own TPC-B-like transactions/s in one thread
    ratio_to_pgbench: float  # the best `ratio` any hub could reach here


def ceiling(
    *,
    cores: int,
    floor_server_us_per_call: float,
    floor_client_us_per_call: float,
    sign_request_us: float,
    verify_preloaded_key_us: float,
    sign_us: float,
    postgres_cpu_ms_per_tx: float,
    pgbench_tps: float,
) -> Ceiling:
    """Return the ceiling from one run's measurements (see the module docstring for what is charged)."""
    grpc_ms = 2 * (floor_server_us_per_call + floor_client_us_per_call) / 1000
    ed25519_ms = 2 * (sign_request_us + sign_us + 2 * verify_preloaded_key_us) / 1000
    floor_ms = grpc_ms + ed25519_ms + postgres_cpu_ms_per_tx
    per_s = cores * 1000 / floor_ms
    return Ceiling(
        cores=cores,
        grpc_two_calls_ms=round(grpc_ms, 3),
        ed25519_ms=round(ed25519_ms, 3),
        database_per_tx_ms=round(postgres_cpu_ms_per_tx, 3),
        floor_ms_per_conversion=round(floor_ms, 3),
        conversions_per_s=round(per_s, 1),
        pgbench_tps=round(pgbench_tps, 1),
        ratio_to_pgbench=round(per_s / pgbench_tps, 3),
    )


def machine_ceiling(
    floor: FloorResult | None, crypto: dict[str, float], pgbench: PgbenchResult | None
) -> Ceiling | None:
    """The conversions/s this machine allows at best (the function above), or None without the figures it needs."""
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


def sqlite_ceiling(floor: FloorResult | None, crypto: dict[str, float], tx: SqliteTx | None) -> Ceiling | None:
    """The conversions/s this machine allows the embedded default at best: SQLite's transaction in the sum."""
    if floor is None or floor.server_cpu_us_per_call is None or floor.client_cpu_us_per_call is None or tx is None:
        return None
    return ceiling(
        cores=os.cpu_count() or 1,
        floor_server_us_per_call=floor.server_cpu_us_per_call,
        floor_client_us_per_call=floor.client_cpu_us_per_call,
        sign_request_us=crypto["sign_request_us"],
        verify_preloaded_key_us=crypto["verify_preloaded_key_us"],
        sign_us=crypto["sign_us"],
        postgres_cpu_ms_per_tx=tx.cpu_ms_per_tx,
        pgbench_tps=tx.tps,
    )
