"""The bank fault test, short: real hub processes on a PostgreSQL cluster of the test's own.

Each test kills a hub replica with SIGKILL once and restarts it, restarts PostgreSQL once
(immediate: crash recovery), drops replies, and then checks that every answer the clients got
is true in the database and the ledger balances. The long version is
`.venv/bin/python -m faults.bank --operations 100000 --clients 16` (docs/operations.md).
COALITION_FAULT_SEED picks another seed.
"""

from __future__ import annotations

import json
import os

import pytest

from faults.bank import BankConfig, BankResult, run

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("cluster_available")]

SEED = int(os.environ.get("COALITION_FAULT_SEED", "20240601"))
OPERATIONS = 400
MAX_SECONDS = 75.0  # the operations' time bound: a hung run fails instead of waiting forever


def _short(**changes: object) -> BankConfig:
    settings: dict[str, object] = {
        "operations": OPERATIONS,
        "clients": 4,
        "replicas": 1,
        "seed": SEED,
        "kills": 1,
        "db_restarts": 1,
        "credit_deadline_s": 6,
        "max_seconds": MAX_SECONDS,
        **changes,
    }
    return BankConfig(**settings)  # type: ignore[arg-type]


def _assert_clean(result: BankResult) -> None:
    print(json.dumps(result.summary))
    for line in result.faults_done:
        print("fault:", line)
    summary = result.summary
    assert result.errors == [], "\n".join(result.errors)
    assert result.violations == [], "\n".join(result.violations[:20])
    assert not summary["timed_out"], summary
    assert summary["drained"], f"instructions still pending after the drain: {summary}"
    assert summary["operations"] >= OPERATIONS
    assert summary["hub_kills"] == 1
    assert summary["db_restarts"] == 1
    assert summary["dropped_replies"] > 0
    assert summary["retries"] > 0
    assert summary["acknowledged"] > OPERATIONS // 2
    assert summary["refused"] > 0  # the deliberate mistakes were refused, and left nothing (checked)
    assert summary["internal_answers"] == 0  # a database restart is UNAVAILABLE (resend), not INTERNAL
    # Credits applied in the brand's books but acknowledged only after their deadline were taken
    # back through CREDIT_CANCELLED, and the books agree with the hub (faults.checker._check_books).
    assert result.figures["books.credits_taken_back"] > 0


def test_a_killed_hub_and_a_restarted_database_lose_nothing_and_do_nothing_twice() -> None:
    _assert_clean(run(_short()))


def test_two_replicas_on_one_database_one_killed_lose_nothing_and_do_nothing_twice() -> None:
    _assert_clean(run(_short(replicas=2, clients=6)))
