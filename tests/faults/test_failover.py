"""The failover test, short: the bank workload on a pg_auto_failover formation whose primary is killed.

A monitor and three nodes of the test's own (synchronous, number-sync-standbys 1), two hub
replicas on the multi-host URL. A planned switchover first; then the primary is killed whole
(keeper and postmaster) and then by its postmaster alone, and a standby is killed once; after
each the formation is made whole again.
Then every answer the clients got must be true in the database: nothing acknowledged lost,
nothing done twice, no INTERNAL, and the calls caught in the switch were answered UNAVAILABLE and
resent. The long run is `.venv/bin/python -m faults.failover --operations 20000 --clients 8
--failovers 6 --seed 7` (docs/operations.md, "Failover"). COALITION_FAULT_SEED picks another seed.
"""

from __future__ import annotations

import json
import os

import pytest

from faults.failover import FailoverConfig, run

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("formation_available")]

SEED = int(os.environ.get("COALITION_FAULT_SEED", "20261203"))
OPERATIONS = 450
MAX_SECONDS = 240.0  # the work's time bound: a hung run fails instead of waiting forever


def test_a_primary_killed_under_load_loses_no_acknowledged_work_and_does_nothing_twice() -> None:
    config = FailoverConfig(
        operations=OPERATIONS, clients=4, failovers=2, standby_kills=1, seed=SEED, credit_deadline_s=6,
        max_seconds=MAX_SECONDS,
    )  # fmt: skip
    result = run(config)
    summary = result.summary
    print(json.dumps(summary))
    for line in result.faults_done:
        print("fault:", line)
    assert result.errors == [], "\n".join(result.errors)
    assert result.violations == [], "\n".join(result.violations[:20])
    assert (summary["lost"], summary["duplicated"]) == (0, 0)
    assert not summary["timed_out"], summary
    assert summary["drained"], f"instructions still pending after the drain: {summary}"
    assert summary["primary_node_kills"] == 1
    assert summary["primary_postmaster_kills"] == 1
    assert summary["standby_kills"] == 1
    assert summary["synchronous_with_a_standby_down"]  # number-sync-standbys 1: commits still wait for one
    assert summary["switchovers"] == 1  # `pg_autoctl perform switchover`, as the runbook has it
    assert summary["failovers"] >= 1  # the whole-node kill always moves the primary
    assert summary["seconds_without_primary"] > 0
    assert summary["unavailable_answers"] > 0  # calls caught in the switch: UNAVAILABLE, then resent
    assert summary["internal_answers"] == 0
    assert summary["replica_seconds_not_serving"] > 0  # readiness followed the primary's absence...
    assert summary["health_at_end"] == "SERVING,SERVING"  # ...and came back without a restart
    assert summary["acknowledged"] > OPERATIONS // 2
