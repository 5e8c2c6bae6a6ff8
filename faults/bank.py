"""The bank test: many SDK clients move money through real hub processes while things break.

Usage:
    .venv/bin/python -m faults.bank --operations 100000 --clients 16 --replicas 1 --seed 7

A throwaway PostgreSQL cluster (faults.postgres), one or two `coalition serve` replicas on it
(faults.hubs), the coalition registered through the SDK, then worker and consumer threads
(faults.workload) while the nemesis (faults.nemesis) SIGKILLs and restarts replicas, restarts
PostgreSQL once (immediate: crash recovery) and drops replies. Afterwards the instruction
loops drain, every replica is up, and faults.checker holds the database to what the clients
were told. Prints a table of figures and, last, one JSON line; exit code 0 when no violation
was found, 1 on any violation, 2 when the harness itself failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy
from rich.console import Console
from rich.table import Table

from exchange.store.tables import instructions
from faults.checker import Report, check
from faults.history import History
from faults.hubs import HubKeys, HubSettings, Replica, channel_target
from faults.nemesis import DropReplies, Nemesis, schedule
from faults.postgres import Cluster
from faults.workload import Mix, Workload, build_coalition, lease_s

DRAIN_MARGIN_S = 30.0  # after the last credit deadline, how long the instruction loops may still work
REPORTED_VIOLATIONS = 20
REPORTED_FAULTS = 10


@dataclass(frozen=True)
class BankConfig:
    """One run's size and faults."""

    operations: int = 500
    clients: int = 4
    replicas: int = 1
    seed: int = 1
    kills: int | None = None  # None: one per 1 000 operations, at least one
    db_restarts: int = 1
    drop_rate: float = 0.03
    credit_deadline_s: int = 30
    max_seconds: float = 6 * 3600.0
    sources: int | None = None  # source brands; None: one per two clients
    keep: Path | None = None  # copy the hub and PostgreSQL logs here
    target_loops: int | None = None  # the target brand's instruction loops; None: one per four clients

    @property
    def hub_kills(self) -> int:
        """How many SIGKILLs the run gets."""
        return self.kills if self.kills is not None else max(1, self.operations // 1_000)


@dataclass
class BankResult:
    """What a run did and found."""

    summary: dict[str, Any]
    figures: dict[str, int]
    violations: list[str]
    errors: list[str] = field(default_factory=list)
    faults_done: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 violations, 2 the harness failed."""
        if self.errors:
            return 2
        return 1 if self.violations else 0


def run(config: BankConfig, *, log: Callable[[str], None] = print) -> BankResult:
    """Run the whole test on a cluster of its own and return what it found."""
    with tempfile.TemporaryDirectory(prefix="coalition-faults-") as tmp, Cluster() as cluster:
        workdir = Path(tmp)
        cluster.create()
        durable = cluster.settings()
        if durable["fsync"] != "on" or durable["synchronous_commit"] != "on":
            raise SystemExit(f"refusing to test a non-durable database: {durable}")
        keys = HubKeys.create(workdir)
        settings = HubSettings(cluster.url, credit_deadline_s=config.credit_deadline_s)
        replicas = [Replica(i, settings, keys, workdir) for i in range(config.replicas)]
        try:
            for replica in replicas:  # one at a time: the first migrates the empty database
                replica.start()
            log(f"PostgreSQL {durable['server_version']} on port {cluster.port}; replicas at "
                f"{', '.join(r.target for r in replicas)}")  # fmt: skip
            return _run(config, cluster, keys, replicas, log)
        except BaseException:
            for replica in replicas:
                log(f"replica {replica.index} log:\n{replica.log_tail()}")
            log(f"PostgreSQL log:\n{cluster.log_tail()}")
            raise
        finally:
            for replica in replicas:
                replica.stop()
            if config.keep is not None:
                _keep_logs(config.keep, cluster, replicas)


def _keep_logs(keep: Path, cluster: Cluster, replicas: list[Replica]) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(cluster.log_path, keep / "postgres.log")
    for replica in replicas:
        shutil.copy(replica.log_path, keep / f"hub-{replica.index}.log")


class FaultThread(Protocol):
    """What causes the faults while the workload runs: the bank's Nemesis, or faults.failover's."""

    errors: list[str]
    done: list[str]

    def start(self) -> None:
        """Begin, in a thread of its own."""

    def finish(self) -> None:
        """Stop causing faults and leave every replica (and the database) up."""


class HasUrl(Protocol):
    """A database the hub runs on: one server (faults.postgres) or a formation (faults.formation)."""

    @property
    def url(self) -> str:
        """The hub's --db URL."""
        ...


def _run(
    config: BankConfig,
    cluster: HasUrl,
    keys: HubKeys,
    replicas: list[Replica],
    log: Callable[[str], None],
    *,
    make_nemesis: Callable[[History, Callable[[], None]], FaultThread] | None = None,
) -> BankResult:
    seed = str(config.seed)
    brands = build_coalition(
        replicas[0].target,
        hub_public_key=keys.hub_public_key,
        operator_key=keys.operator_key,
        sources=config.sources or max(1, config.clients // 2),
    )
    history = History()
    interceptor = DropReplies(history, rate=config.drop_rate, seed=seed)
    workload = Workload(
        target=channel_target(replicas),
        brands=brands,
        hub_public_key=keys.hub_public_key,
        history=history,
        interceptor=interceptor,
        operations=config.operations,
        seed=seed,
        mix=Mix(),
        credit_deadline_s=config.credit_deadline_s,
    )
    nemesis: FaultThread
    if make_nemesis is not None:  # it may end the work early (workload.stop_work) once its faults are done
        nemesis = make_nemesis(history, workload.stop_work.set)
    else:
        assert isinstance(cluster, Cluster)
        faults = schedule(config.operations, kills=config.hub_kills, db_restarts=config.db_restarts, seed=seed)
        nemesis = Nemesis(
            faults, replicas=replicas, cluster=cluster, history=history, progress=lambda: history.finished, seed=seed
        )
    errors: list[str] = []

    def guarded(target: Callable[..., None], *args: object) -> Callable[[], None]:
        def body() -> None:
            try:
                target(*args)
            except Exception:
                errors.append(traceback.format_exc())
                workload.stop_work.set()

        return body

    workers = [
        threading.Thread(target=guarded(workload.worker, i), name=f"worker-{i}", daemon=True)
        for i in range(config.clients)
    ]
    target_loops = config.target_loops or max(1, config.clients // 4)
    consumers = [
        threading.Thread(target=guarded(workload.consumer, i, brands[:1]), name=f"target-loop-{i}", daemon=True)
        for i in range(target_loops)
    ]
    consumers.append(
        threading.Thread(target=guarded(workload.consumer, target_loops, brands[1:]), name="source-loop", daemon=True)
    )
    began = time.monotonic()
    for thread in (*consumers, *workers):
        thread.start()
    nemesis.start()
    timed_out = _wait_for_workers(workers, history, config, began, workload, log)
    worked_s = time.monotonic() - began
    workload.stop_work.set()
    for thread in workers:
        thread.join()
    nemesis.finish()
    errors += nemesis.errors
    drained = _drain(cluster.url, workload, config)
    workload.stop_consumers.set()
    for thread in consumers:
        thread.join()
    workload.close()
    elapsed_s = time.monotonic() - began
    log(f"operations done in {worked_s:.1f} s, drained in {elapsed_s - worked_s:.1f} s; checking the database")
    report = check(cluster.url, history, workload.books)
    internal = sum(r.internal_errors() for r in replicas)
    return _result(config, history, report, nemesis, errors, worked_s, elapsed_s, timed_out, drained, internal)


def _wait_for_workers(
    workers: list[threading.Thread],
    history: History,
    config: BankConfig,
    began: float,
    workload: Workload,
    log: Callable[[str], None],
) -> bool:
    """Wait for the workers to spend the budget, reporting progress; return whether the time bound cut them short."""
    next_report = began + 30
    while any(t.is_alive() for t in workers):
        now = time.monotonic()
        if now - began > config.max_seconds:
            log(f"time bound of {config.max_seconds:g} s reached: stopping the workers")
            workload.stop_work.set()
            return True
        if now >= next_report:
            rate = history.finished / (now - began)
            log(f"  {history.finished}/{config.operations} operations, {rate:.1f}/s, {dict(_faults(history))}")
            next_report = now + 30
        time.sleep(0.2)
    return False


def _faults(history: History) -> dict[str, int]:
    return {k.split(".", 1)[1]: v for k, v in history.counters.items() if k.startswith("faults.")}


def _drain(url: str, workload: Workload, config: BankConfig) -> bool:
    """Let the instruction loops finish: until nothing is pending or parked, or the drain's time is up."""
    deadline = time.monotonic() + config.credit_deadline_s + 2 * lease_s(config.credit_deadline_s) + DRAIN_MARGIN_S
    engine = sqlalchemy.create_engine(url)
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                pending = connection.execute(
                    sqlalchemy.select(sqlalchemy.func.count()).where(instructions.c.state == "PENDING")
                ).scalar_one()
            if pending == 0 and workload.parked_count() == 0:
                return True
            time.sleep(0.5)
        return False
    finally:
        engine.dispose()


def _result(
    config: BankConfig,
    history: History,
    report: Report,
    nemesis: FaultThread,
    errors: list[str],
    worked_s: float,
    elapsed_s: float,
    timed_out: bool,
    drained: bool,
    internal: int,
) -> BankResult:
    counters = history.counters
    outcomes = history.outcomes()
    retries = counters["retries.sdk_resends"] + counters["retries.client_calls"]
    summary: dict[str, Any] = {
        "operations": len(history.ops),
        "acknowledged": outcomes["ok"],
        "refused": outcomes["refused"],
        "unknown": outcomes["unknown"],
        "retries": retries,
        "hub_kills": counters["faults.hub_kills"],
        "db_restarts": counters["faults.db_restarts"],
        "dropped_replies": counters["dropped.short_deadline"] + counters["dropped.answer_lost"],
        "violations": len(report.violations),
        "replicas": config.replicas,
        "clients": config.clients,
        "seed": config.seed,
        "internal_answers": internal,
        "seconds": round(elapsed_s, 1),
        "operations_per_s": round(len(history.ops) / worked_s, 1) if worked_s else 0.0,
        "drained": drained,
        "timed_out": timed_out,
    }
    figures = dict(sorted(counters.items()))
    figures.update(report.figures)
    return BankResult(summary, figures, report.violations, errors, nemesis.done)


def print_result(result: BankResult, config: BankConfig, console: Console) -> None:
    """The figures as a table, the faults, the first violations, then the JSON line."""
    shown = {k: v for k, v in asdict(config).items() if k in ("operations", "clients", "replicas", "seed")}
    table = Table(title="bank test " + " ".join(f"{k}={v}" for k, v in shown.items()))
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in result.summary.items():
        table.add_row(f"[bold]{name}[/bold]", str(value))
    table.add_section()
    for name, value in result.figures.items():
        table.add_row(name, str(value))
    console.print(table)
    for line in result.faults_done[:REPORTED_FAULTS]:
        console.print(f"fault: {line}", highlight=False)
    if len(result.faults_done) > REPORTED_FAULTS:
        console.print(f"... and {len(result.faults_done) - REPORTED_FAULTS} more faults")
    for violation in result.violations[:REPORTED_VIOLATIONS]:
        console.print(f"[red]VIOLATION[/red] {violation}", soft_wrap=True)
    if len(result.violations) > REPORTED_VIOLATIONS:
        console.print(f"[red]... and {len(result.violations) - REPORTED_VIOLATIONS} more[/red]")
    for error in result.errors:
        console.print(f"[red]HARNESS ERROR[/red]\n{error}", soft_wrap=True)
    sys.stdout.write(json.dumps(result.summary) + "\n")
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> BankConfig:
    """Read the command line into a config."""
    parser = argparse.ArgumentParser(prog="python -m faults.bank", description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=BankConfig.operations, help="client operations, in all")
    parser.add_argument("--clients", type=int, default=BankConfig.clients, help="worker threads (SDK clients)")
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=BankConfig.replicas)
    parser.add_argument("--seed", type=int, default=BankConfig.seed)
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs of a replica (default: 1 per 1 000 ops)")
    parser.add_argument("--db-restarts", type=int, default=BankConfig.db_restarts)
    parser.add_argument("--drop-rate", type=float, default=BankConfig.drop_rate, help="share of replies dropped")
    parser.add_argument("--credit-deadline-s", type=int, default=BankConfig.credit_deadline_s)
    parser.add_argument("--max-seconds", type=float, default=BankConfig.max_seconds, help="bound on the run")
    parser.add_argument("--sources", type=int, default=None, help="source brands (default: clients / 2)")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the hub and PostgreSQL logs here")
    args = parser.parse_args(argv)
    return BankConfig(
        operations=args.operations,
        clients=args.clients,
        replicas=args.replicas,
        seed=args.seed,
        kills=args.kills,
        db_restarts=args.db_restarts,
        drop_rate=args.drop_rate,
        credit_deadline_s=args.credit_deadline_s,
        max_seconds=args.max_seconds,
        sources=args.sources,
        keep=args.keep_logs,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the test from the command line; return the exit code."""
    config = parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    result = run(config, log=lambda line: console.print(line, soft_wrap=True))
    print_result(result, config, console)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
