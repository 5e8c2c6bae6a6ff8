"""The benchmark's machine ceiling charges a conversion's floor: two calls, the Ed25519 work, one transaction."""

from __future__ import annotations

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
