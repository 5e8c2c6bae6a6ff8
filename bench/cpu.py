"""CPU accounting from /proc: a process (and its children), PostgreSQL's processes for one database, the machine."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_stat_fields(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text.rsplit(")", 1)[1].split()  # fields from the 3rd (state) on; comm may hold spaces


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process, seconds (from /proc/<pid>/stat)."""
    fields = _proc_stat_fields(pid)
    if fields is None:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_tree_cpu_s(pid: int) -> float:
    """utime + stime of a process and of its live descendants (the workers of `serve --processes N`), seconds."""
    total = process_cpu_s(pid)
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for child in (int(c) for c in children.read_text().split()):
                    cpu = process_cpu_s(child)
                    if not math.isnan(cpu):  # exited since it was listed
                        total += cpu
                        pending.append(child)
    return total


def postgres_cpu_s(database: str | None) -> float | None:
    """CPU seconds of the PostgreSQL processes working for one database, or None.

    Counted: the backends connected to `database` (their process title names it) and the
    server's shared background processes (WAL writer, checkpointer, background writer, ...),
    which do the durable-commit work for every database. Not counted: backends of other
    databases, so a test suite running on the same server is left out (its share of the shared
    processes is not), and backends that exit during the window (the hub's pool keeps its
    connections). None for SQLite, or when no postgres process is visible (a remote server).
    """
    if database is None:
        return None
    total = 0.0
    seen = False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        is_client_backend = "(" in title or "[local]" in title
        if is_client_backend and f" {database} " not in title:
            continue  # another database's session
        fields = _proc_stat_fields(entry.name)
        if fields is None:
            continue
        seen = True
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total if seen else None


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclass
class CpuSnapshot:
    """Counters read at one instant."""

    at: float
    hub_s: float
    postgres_s: float | None
    client_s: float
    machine: tuple[float, float]

    @classmethod
    def take(cls, hub_pid: int, database: str | None, client_cpu_s: Callable[[], float]) -> CpuSnapshot:
        return cls(
            time.perf_counter(),
            process_tree_cpu_s(hub_pid),
            postgres_cpu_s(database),
            client_cpu_s(),
            machine_busy(),
        )
