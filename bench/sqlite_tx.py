"""SQLite's own cost of one TPC-B-like transaction, committed durably: the embedded default's pgbench.

pgbench measures what PostgreSQL's CPU charges for one small durable transaction; the SQLite
ceiling (bench/ceiling.py) needs the same figure for the file the embedded hub writes. This runs
pgbench's default script (update an account, select its balance, update a teller and a branch,
insert a history row, commit) on pgbench's scale-1 tables (100 000 accounts), in one thread, on a
file set up as the hub sets up its own (WAL, synchronous=FULL: each commit is fsynced), with the
standard library's sqlite3, the same library the hub's SQLAlchemy engine drives. SQLite takes
one writer at a time, so one thread is its best case. The CPU is this process's own: SQLite's
work and the sqlite3 module's few microseconds a statement, which the hub pays as well.
"""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

ACCOUNTS = 100_000  # pgbench's scale 1
TELLERS = 10
BRANCHES = 1


@dataclass(frozen=True)
class SqliteTx:
    """Transactions a second and the CPU each took, one thread on a durable SQLite file."""

    transactions: int
    duration_s: float
    tps: float
    cpu_ms_per_tx: float


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    connection.execute("PRAGMA synchronous=FULL")
    if mode != "wal" or connection.execute("PRAGMA synchronous").fetchone()[0] != 2:  # 2: FULL
        raise SystemExit(f"refusing to benchmark SQLite not set up as the hub sets it up: journal_mode={mode}")
    return connection


def _create(connection: sqlite3.Connection) -> None:
    connection.executescript(
        """
        CREATE TABLE branches (bid INTEGER PRIMARY KEY, bbalance INTEGER NOT NULL, filler TEXT);
        CREATE TABLE tellers (tid INTEGER PRIMARY KEY, bid INTEGER NOT NULL, tbalance INTEGER NOT NULL, filler TEXT);
        CREATE TABLE accounts (aid INTEGER PRIMARY KEY, bid INTEGER NOT NULL, abalance INTEGER NOT NULL, filler TEXT);
        CREATE TABLE history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime INTEGER, filler TEXT);
        """
    )
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO branches VALUES (?, 0, NULL)", ((b,) for b in range(1, BRANCHES + 1)))
    connection.executemany("INSERT INTO tellers VALUES (?, 1, 0, NULL)", ((t,) for t in range(1, TELLERS + 1)))
    connection.executemany("INSERT INTO accounts VALUES (?, 1, 0, '')", ((a,) for a in range(1, ACCOUNTS + 1)))
    connection.execute("COMMIT")


def measure_sqlite_tx(workdir: Path, duration_s: float, *, seed: int = 1) -> SqliteTx:
    """Run pgbench's TPC-B-like transaction on a fresh file under `workdir` for `duration_s`."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "tpcb.sqlite3"
    path.unlink(missing_ok=True)
    picks = random.Random(seed)
    connection = _connect(path)
    try:
        _create(connection)
        count = 0
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        deadline = wall_start + duration_s
        while time.perf_counter() < deadline:
            aid, tid, delta = picks.randint(1, ACCOUNTS), picks.randint(1, TELLERS), picks.randint(-5000, 5000)
            connection.execute("BEGIN")
            connection.execute("UPDATE accounts SET abalance = abalance + ? WHERE aid = ?", (delta, aid))
            connection.execute("SELECT abalance FROM accounts WHERE aid = ?", (aid,)).fetchone()
            connection.execute("UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?", (delta, tid))
            connection.execute("UPDATE branches SET bbalance = bbalance + ? WHERE bid = 1", (delta,))
            connection.execute(
                "INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (?, 1, ?, ?, ?)",
                (tid, aid, delta, time.time_ns()),
            )
            connection.execute("COMMIT")
            count += 1
        cpu_s, wall_s = time.process_time() - cpu_start, time.perf_counter() - wall_start
    finally:
        connection.close()
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    return SqliteTx(
        transactions=count,
        duration_s=round(wall_s, 3),
        tps=round(count / wall_s, 1),
        cpu_ms_per_tx=round(cpu_s * 1000 / max(count, 1), 4),
    )
