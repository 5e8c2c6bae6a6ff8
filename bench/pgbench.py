"""pgbench's TPC-B-like run on the same server: the database's own speed, and its CPU per transaction."""

from __future__ import annotations

import math
import re
import subprocess
import time
from dataclasses import dataclass

from bench.cpu import CpuSnapshot
from bench.postgres import Postgres

PGBENCH = "/usr/bin/pgbench"


@dataclass
class PgbenchResult:
    clients: int
    duration_s: int
    scale: int
    tps: float
    latency_avg_ms: float | None
    # CPU per transaction over the middle of the run (the first and last PGBENCH_EDGE_S left out):
    # PostgreSQL (this database's backends and the shared processes) and pgbench itself.
    postgres_cpu_ms_per_tx: float | None = None
    pgbench_cpu_ms_per_tx: float | None = None


PGBENCH_EDGE_S = 1.0  # left out at each end of a pgbench run when its CPU is measured: connecting, ending


class Pgbench:
    """pgbench's built-in TPC-B-like script on one fresh database, initialised once."""

    def __init__(self, postgres: Postgres, scale: int) -> None:
        self.postgres = postgres
        self.scale = scale
        self.database = ""

    def initialise(self) -> None:
        self.database = self.postgres.create("pgbench")
        args, env = self.postgres.pgbench_env()
        subprocess.run(
            [PGBENCH, "-i", "-q", "-s", str(self.scale), *args, self.database],
            check=True,
            capture_output=True,
            env=env,
        )

    def run(self, clients: int, duration_s: int) -> PgbenchResult:
        if not self.database:
            self.initialise()
        args, env = self.postgres.pgbench_env()
        process = subprocess.Popen(
            [PGBENCH, "-c", str(clients), "-j", str(clients), "-T", str(duration_s), *args, self.database],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        # CPU is read while pgbench's connections are open: a backend's CPU leaves /proc with it.
        measured = duration_s > 3 * PGBENCH_EDGE_S
        if measured:  # as for the floor server, the snapshot's "hub" is the process measured: pgbench
            time.sleep(PGBENCH_EDGE_S)
            before = CpuSnapshot.take(process.pid, self.database, lambda: 0.0)
            time.sleep(duration_s - 2 * PGBENCH_EDGE_S)
            after = CpuSnapshot.take(process.pid, self.database, lambda: 0.0)
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"pgbench failed ({process.returncode}):\n{stdout}\n{stderr}")
        tps = re.search(r"^tps = ([0-9.]+)", stdout, re.MULTILINE)
        latency = re.search(r"^latency average = ([0-9.]+) ms", stdout, re.MULTILINE)
        if tps is None:
            raise RuntimeError(f"no tps in pgbench's output:\n{stdout}")
        result = PgbenchResult(
            clients, duration_s, self.scale, float(tps.group(1)), float(latency.group(1)) if latency else None
        )
        if measured and result.tps:
            # Transactions in the interval at pgbench's own average rate: pg_stat_database lags by up to a second.
            transactions = result.tps * (after.at - before.at)
            if before.postgres_s is not None and after.postgres_s is not None:
                result.postgres_cpu_ms_per_tx = round((after.postgres_s - before.postgres_s) * 1000 / transactions, 3)
            if not math.isnan(before.hub_s) and not math.isnan(after.hub_s):
                result.pgbench_cpu_ms_per_tx = round((after.hub_s - before.hub_s) * 1000 / transactions, 3)
        return result
