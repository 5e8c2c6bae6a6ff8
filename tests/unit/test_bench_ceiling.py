"""The benchmark's machine ceiling charges a conversion's floor: two calls, the Ed25519 work, one transaction."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from bench.ceiling import ceiling


def test_the_ceiling_charges_two_calls_four_ed25519_operations_and_one_database_transaction() -> None:
    limit = ceiling(
        cores=2,
        floor_server_us_per_call=300.0,
        floor_client_us_per_call=200.0,
        sign_request_us=40.0,
        verify_preloaded_key_us=100.0,
        sign_us=30.0,
        postgres_cpu_ms_per_tx=0.8,
        pgbench_tps=1_000.0,
    )
    assert limit.grpc_two_calls_ms == pytest.approx(1.0)  # 2 x (300 + 200) us
    assert limit.ed25519_ms == pytest.approx(0.54)  # 2 x (40 + 30 + 2 x 100) us
    assert limit.floor_ms_per_conversion == pytest.approx(2.34)
    assert limit.conversions_per_s == pytest.approx(2 * 1000 / 2.34, abs=0.05)
    assert limit.ratio_to_pgbench == pytest.approx(0.855, abs=0.0005)


def test_more_cores_raise_the_ceiling_in_proportion() -> None:
    figures = {
        "floor_server_us_per_call": 250.0,
        "floor_client_us_per_call": 250.0,
        "sign_request_us": 0.0,
        "verify_preloaded_key_us": 0.0,
        "sign_us": 0.0,
        "postgres_cpu_ms_per_tx": 0.0,
        "pgbench_tps": 500.0,
    }
    assert ceiling(cores=2, **figures).conversions_per_s == 2_000.0
    assert ceiling(cores=8, **figures).conversions_per_s == 8_000.0


def test_the_sqlite_ceiling_charges_sqlites_own_transaction_in_place_of_postgresqls() -> None:
    from bench.ceiling import sqlite_ceiling
    from bench.floor import FloorResult
    from bench.sqlite_tx import SqliteTx

    floor = FloorResult(**{f.name: None for f in fields(FloorResult)})
    floor = replace(floor, server_cpu_us_per_call=300.0, client_cpu_us_per_call=200.0)
    crypto = {"sign_request_us": 40.0, "verify_preloaded_key_us": 100.0, "sign_us": 30.0}
    tx = SqliteTx(transactions=1_000, duration_s=1.0, tps=1_000.0, cpu_ms_per_tx=0.8)
    limit = sqlite_ceiling(floor, crypto, tx)
    assert limit is not None
    assert limit.database_per_tx_ms == pytest.approx(0.8)
    assert limit.floor_ms_per_conversion == pytest.approx(2.34)  # as the PostgreSQL case above
    assert sqlite_ceiling(floor, crypto, None) is None


def test_sqlites_transaction_is_measured_and_its_file_removed(tmp_path: Path) -> None:
    from bench.sqlite_tx import measure_sqlite_tx

    tx = measure_sqlite_tx(tmp_path, 0.3)
    assert tx.transactions > 0
    assert tx.tps == pytest.approx(tx.transactions / tx.duration_s, rel=0.01)
    assert tx.cpu_ms_per_tx > 0
    assert list(tmp_path.iterdir()) == []
