"""The failover test: the bank workload on a pg_auto_failover formation whose primary is killed under load.

Usage:
    .venv/bin/python -m faults.failover --operations 20000 --clients 8 --failovers 6 --seed 7

A formation of its own (faults.formation: a monitor and three nodes, synchronous, number-sync-
standbys 1), two `coalition serve` replicas on its multi-host URL, the coalition registered
through the SDK, then the bank test's workers and instruction loops (faults.workload) while this
module's nemesis kills the primary, by turns its postmaster alone (its keeper lives and races the
monitor) and the whole node (keeper and postmaster), waits for a primary, lets the killed node
rejoin, and once kills a standby. Replies are dropped as in the bank test. A probe writes to the
formation every 0.1 s and measures how long no write could commit. Afterwards faults.checker
holds the database to what every client was told, as in the bank test.

`--asynchronous` builds two nodes with the standby outside the write quorum (asynchronous
replication) and kills whole primaries: the measurement of what an operator risks without a
synchronous standby. Such a run is expected to lose acknowledged work; it exits 0 unless the
harness failed, and reports what was lost.

Prints the figures, then one JSON line with operations, failovers, seconds_without_primary,
unavailable_answers, lost and duplicated. Exit code 0 when nothing was violated (synchronous),
1 on a violation, 2 when the harness itself failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console

from faults.bank import BankConfig, BankResult, _run, print_result
from faults.formation import Formation, Node
from faults.history import History
from faults.hubs import HubKeys, HubSettings, Replica

PROBE_INTERVAL_S = 0.1
HEALTH_INTERVAL_S = 0.25
READINESS_SERVICE = "coalition.exchange.v1.ConversionService"  # every service's status follows readiness
OUTAGE_GAP_S = 1.0  # a pause between two committed probe writes longer than this is counted as time without a primary


@dataclass(frozen=True)
class FailoverConfig:
    """One run's size and faults."""

    operations: int = 2_000
    clients: int = 6
    failovers: int = 2  # primary kills; they alternate postmaster-only and whole-node, starting with whole-node
    standby_kills: int = 1
    switchovers: int = 1  # planned, first: `pg_autoctl perform switchover`
    synchronous: bool = True
    seed: int = 1
    drop_rate: float = 0.03
    credit_deadline_s: int = 30
    max_seconds: float = 6 * 3600.0
    keep: Path | None = None

    def bank(self) -> BankConfig:
        """The bank test's settings for the workload (no hub kills, no single-server restarts).

        Its operations are a bound far above the run's: the nemesis ends the work once its kills
        are done and `operations` have been worked.
        """
        return BankConfig(
            operations=self.operations * 20,
            clients=self.clients,
            replicas=2,
            seed=self.seed,
            kills=0,
            db_restarts=0,
            drop_rate=self.drop_rate,
            credit_deadline_s=self.credit_deadline_s,
            max_seconds=self.max_seconds,
            keep=self.keep,
            # Twice the bank test's: calls are cheaper here (no hub kills), and after each failover
            # the loops have the outage's credits to catch up on before their deadlines.
            target_loops=max(1, self.clients // 2),
        )


def schedule(config: FailoverConfig) -> list[str]:
    """The kills in order: whole primary and primary postmaster by turns, the standby's in the middle."""
    kinds = [
        "primary_node" if i % 2 == 0 or not config.synchronous else "primary_postmaster"
        for i in range(config.failovers)
    ]
    for i in range(config.standby_kills):
        kinds.insert((len(kinds) + 1) * (i + 1) // (config.standby_kills + 1), "standby_node")
    return ["switchover"] * config.switchovers + kinds


class WriteProbe(threading.Thread):
    """Commits a row to the formation every PROBE_INTERVAL_S; the gaps between commits are the outages.

    A write, not a read: a commit on a primary whose synchronous standby is gone waits, and a
    server that came back read-only refuses; both are time without a primary for the hub.
    """

    def __init__(self, formation: Formation) -> None:
        super().__init__(name="write-probe", daemon=True)
        self.dsn = formation.libpq_dsn.replace("dbname=bank", "dbname=postgres")
        self.stop_event = threading.Event()
        self.commits: list[float] = []

    def run(self) -> None:
        """Write until stopped, reconnecting after any error."""
        connection: psycopg.Connection[Any] | None = None
        while not self.stop_event.is_set():
            try:
                if connection is None:
                    connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=2)
                    connection.execute("CREATE TABLE IF NOT EXISTS failover_probe (at timestamptz NOT NULL)")
                connection.execute("INSERT INTO failover_probe VALUES (now())")
                self.commits.append(time.monotonic())
            except psycopg.Error:
                if connection is not None:
                    connection.close()
                connection = None
            self.stop_event.wait(PROBE_INTERVAL_S)
        if connection is not None:
            connection.close()

    def outages(self) -> list[float]:
        """Each pause longer than OUTAGE_GAP_S between two commits, in seconds."""
        pairs = zip(self.commits, self.commits[1:], strict=False)
        return [later - earlier for earlier, later in pairs if later - earlier > OUTAGE_GAP_S]


class HealthWatch(threading.Thread):
    """Asks every replica's readiness (gRPC health of the conversion service) every HEALTH_INTERVAL_S.

    A replica must say NOT_SERVING while it reaches no writable primary, and SERVING again after.
    """

    def __init__(self, replicas: list[Replica]) -> None:
        super().__init__(name="health-watch", daemon=True)
        self.replicas = replicas
        self.stop_event = threading.Event()
        self.not_serving_s = 0.0  # summed over the replicas, while they were up
        self.last: dict[int, str] = {}

    def run(self) -> None:
        """Poll until stopped; a replica that can't be asked (killed, restarting) is not counted."""
        channels = {r.index: grpc.insecure_channel(r.target) for r in self.replicas}
        try:
            while not self.stop_event.wait(HEALTH_INTERVAL_S):
                for index, channel in channels.items():
                    status = _health(channel)
                    if status is None:
                        continue
                    self.last[index] = status
                    if status == "NOT_SERVING":
                        self.not_serving_s += HEALTH_INTERVAL_S
        finally:
            for channel in channels.values():
                channel.close()

    def finish(self) -> dict[int, str]:
        """Stop, then ask each replica once more; return each one's answer."""
        self.stop_event.set()
        self.join()
        final: dict[int, str] = {}
        for replica in self.replicas:
            with grpc.insecure_channel(replica.target) as channel:
                final[replica.index] = _health(channel) or "UNREACHABLE"
        return final


def _health(channel: grpc.Channel) -> str | None:
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=READINESS_SERVICE), timeout=2
        )
    except grpc.RpcError:
        return None
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


class FailoverNemesis(threading.Thread):
    """Runs the kills one after another, `every` operations apart, then ends the work `every` operations later.

    Each kill ends with the formation whole again (a primary, every node a healthy standby), so
    the next one starts from the same place. Counting operations rather than seconds gives a short
    run its kills as surely as a long one: the work waits for the faults, not the other way round.
    """

    def __init__(
        self, kills: list[str], *, every: int, formation: Formation, history: History, stop_work: Callable[[], None]
    ) -> None:
        super().__init__(name="failover-nemesis", daemon=True)
        self.kills = kills
        self.every = every
        self.formation = formation
        self.history = history
        self.stop_work = stop_work
        self.stop_event = threading.Event()
        self.done: list[str] = []
        self.errors: list[str] = []
        self.promotions_s: list[float] = []
        self.synchronous_with_a_standby_down: list[bool] = []

    def run(self) -> None:
        """Cause each kill after `every` more operations (an error ends the schedule and is reported)."""
        try:
            for kind in self.kills:
                if not self._wait_for_operations(self.every):
                    return
                try:
                    self._cause(kind)
                except Exception:
                    self.errors.append(traceback.format_exc())
                    return
            self._wait_for_operations(self.every)
        finally:
            self.stop_work()

    def _wait_for_operations(self, n: int) -> bool:
        target = self.history.finished + n
        while self.history.finished < target:
            if self.stop_event.wait(0.05):
                return False
        return True

    def _cause(self, kind: str) -> None:
        formation = self.formation
        formation.wait_until_stable()
        primary = formation.primary()
        assert primary is not None
        began = time.monotonic()
        if kind == "switchover":
            formation.switchover()
            formation.wait_until_stable()
            self.history.count("faults.switchovers")
            now_primary = formation.primary()
            assert now_primary is not None and now_primary is not primary, "the switchover left the primary in place"
            self._log(f"switchover: {primary.name} -> {now_primary.name} in {time.monotonic() - began:.1f} s")
            return
        if kind == "standby_node":
            standby = formation.standbys()[0]
            formation.kill_node(standby)
            self.history.count("faults.standby_kills")
            time.sleep(3.0)  # work goes on with one synchronous standby
            names = formation.synchronous_standby_names(primary)
            still = formation.primary() is primary and bool(names)
            self.synchronous_with_a_standby_down.append(still)
            took = formation.rejoin(standby)
            self._log(
                f"SIGKILL standby {standby.name} (keeper and postmaster); meanwhile {primary.name} stayed primary "
                f"with synchronous_standby_names {names!r}: {still}; rejoined in {took:.1f} s"
            )
            return
        if kind == "primary_postmaster":
            killed = primary.postmaster_pid()
            formation.kill_postmaster(primary)
            self.history.count("faults.postmaster_kills")
            formation.wait_for(
                lambda: primary.postmaster_pid() not in (None, killed) or formation.primary() not in (None, primary),
                "the killed postmaster restarted by its keeper, or another primary",
            )
            formation.wait_until_stable()
            now_primary = formation.primary()
            moved = now_primary is not None and now_primary is not primary
            if moved:
                self.history.count("faults.failovers")
            what = f"promoted {now_primary.name}" if moved and now_primary else "restarted in place by its keeper"
            self._log(
                f"SIGKILL {primary.name}'s postmaster (primary): {what}; whole in {time.monotonic() - began:.1f} s"
            )
            return
        formation.kill_node(primary)
        self.history.count("faults.node_kills")
        promoted = formation.wait_for_primary(other_than=primary)
        promotion_s = time.monotonic() - began
        self.promotions_s.append(promotion_s)
        self.history.count("faults.failovers")
        took = self._rejoin(primary)
        self._log(
            f"SIGKILL {primary.name} (primary: keeper and postmaster); {promoted.name} primary after "
            f"{promotion_s:.1f} s; {primary.name} rejoined as a standby in {took:.1f} s"
        )

    def _rejoin(self, node: Node) -> float:
        return self.formation.rejoin(node)

    def _log(self, line: str) -> None:
        self.done.append(f"{time.strftime('%H:%M:%S')} {line}")

    def finish(self) -> None:
        """Stop scheduling, wait for a kill in progress; the formation is left whole."""
        self.stop_event.set()
        self.join()


def run(config: FailoverConfig, *, log: Any = print) -> BankResult:
    """Build a formation, run the workload with the kills, check; return what was found."""
    bank = config.bank()
    nodes = 3 if config.synchronous else 2
    with (
        tempfile.TemporaryDirectory(prefix="coalition-failover-hubs-") as tmp,
        Formation(nodes=nodes, synchronous=config.synchronous) as formation,
    ):
        workdir = Path(tmp)
        began = time.monotonic()
        formation.create()
        durable = formation.settings()
        if durable["fsync"] != "on" or durable["synchronous_commit"] != "on":
            raise SystemExit(f"refusing to test a non-durable database: {durable}")
        log(
            f"formation of {nodes} nodes up in {time.monotonic() - began:.1f} s; synchronous standbys: "
            f"{durable['synchronous_standby_names'] or 'none'}"
        )
        keys = HubKeys.create(workdir)
        settings = HubSettings(formation.url, credit_deadline_s=config.credit_deadline_s)
        replicas = [Replica(i, settings, keys, workdir) for i in range(2)]
        probe = WriteProbe(formation)
        nemeses: list[FailoverNemesis] = []

        def make_nemesis(history: History, stop_work: Callable[[], None]) -> FailoverNemesis:
            kills = schedule(config)
            every = max(1, config.operations // (len(kills) + 1))
            nemeses.append(
                FailoverNemesis(kills, every=every, formation=formation, history=history, stop_work=stop_work)
            )
            return nemeses[0]

        try:
            for replica in replicas:
                replica.start()
            probe.start()
            watch = HealthWatch(replicas)
            watch.start()
            result = _run(bank, formation, keys, replicas, log, make_nemesis=make_nemesis)
            final_health = watch.finish()
        except BaseException:
            for replica in replicas:
                log(f"replica {replica.index} log:\n{replica.log_tail()}")
            log(f"formation:\n{formation.describe()}\n{formation.log_tail()}")
            raise
        finally:
            probe.stop_event.set()
            for replica in replicas:
                replica.stop()
            if config.keep is not None:
                formation.keep_logs(config.keep)
                for replica in replicas:
                    (config.keep / f"hub-{replica.index}.log").write_bytes(replica.log_path.read_bytes())
        probe.join()
        return _with_failover_figures(result, config, probe, nemeses[0] if nemeses else None, watch, final_health)


def _with_failover_figures(
    result: BankResult,
    config: FailoverConfig,
    probe: WriteProbe,
    nemesis: FailoverNemesis | None,
    watch: HealthWatch,
    final_health: dict[int, str],
) -> BankResult:
    figures = result.figures
    outages = probe.outages()
    summary: dict[str, Any] = {
        "operations": result.summary["operations"],
        "acknowledged": result.summary["acknowledged"],
        "replication": "synchronous" if config.synchronous else "asynchronous",
        "failovers": figures.get("faults.failovers", 0),
        "primary_node_kills": figures.get("faults.node_kills", 0),
        "primary_postmaster_kills": figures.get("faults.postmaster_kills", 0),
        "standby_kills": figures.get("faults.standby_kills", 0),
        "switchovers": figures.get("faults.switchovers", 0),
        "seconds_without_primary": round(sum(outages), 1),
        "longest_outage_s": round(max(outages, default=0.0), 1),
        "promotion_s_median": round(_median(nemesis.promotions_s), 1) if nemesis and nemesis.promotions_s else None,
        "synchronous_with_a_standby_down": (
            all(nemesis.synchronous_with_a_standby_down)
            if nemesis and nemesis.synchronous_with_a_standby_down
            else None
        ),
        "unavailable_answers": figures.get("answers.UNAVAILABLE", 0),
        "replica_seconds_not_serving": round(watch.not_serving_s, 1),
        "health_at_end": ",".join(final_health[i] for i in sorted(final_health)),
        "lost": figures.get("lost", 0),
        "duplicated": figures.get("duplicated", 0),
        "violations": len(result.violations),
        "internal_answers": result.summary["internal_answers"],
        "retries": result.summary["retries"],
        "dropped_replies": result.summary["dropped_replies"],
        "clients": config.clients,
        "seed": config.seed,
        "seconds": result.summary["seconds"],
        "operations_per_s": result.summary["operations_per_s"],
        "drained": result.summary["drained"],
        "timed_out": result.summary["timed_out"],
    }
    return BankResult(summary, figures, result.violations, result.errors, result.faults_done)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def parse_args(argv: list[str] | None = None) -> FailoverConfig:
    """Read the command line into a config."""
    parser = argparse.ArgumentParser(prog="python -m faults.failover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=FailoverConfig.operations, help="client operations, in all")
    parser.add_argument("--clients", type=int, default=FailoverConfig.clients, help="worker threads (SDK clients)")
    parser.add_argument("--failovers", type=int, default=FailoverConfig.failovers, help="kills of the primary")
    parser.add_argument("--standby-kills", type=int, default=FailoverConfig.standby_kills)
    parser.add_argument("--switchovers", type=int, default=FailoverConfig.switchovers, help="planned, first")
    parser.add_argument(
        "--asynchronous", action="store_true", help="two nodes, the standby asynchronous: measure what is lost"
    )
    parser.add_argument("--seed", type=int, default=FailoverConfig.seed)
    parser.add_argument("--drop-rate", type=float, default=FailoverConfig.drop_rate, help="share of replies dropped")
    parser.add_argument("--credit-deadline-s", type=int, default=FailoverConfig.credit_deadline_s)
    parser.add_argument("--max-seconds", type=float, default=FailoverConfig.max_seconds, help="bound on the run")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the hubs' and the formation's logs here")
    args = parser.parse_args(argv)
    return FailoverConfig(
        operations=args.operations,
        clients=args.clients,
        failovers=args.failovers,
        standby_kills=0 if args.asynchronous else args.standby_kills,
        switchovers=0 if args.asynchronous else args.switchovers,
        synchronous=not args.asynchronous,
        seed=args.seed,
        drop_rate=args.drop_rate,
        credit_deadline_s=args.credit_deadline_s,
        max_seconds=args.max_seconds,
        keep=args.keep_logs,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the test from the command line; return the exit code."""
    config = parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    result = run(config, log=lambda line: console.print(line, soft_wrap=True))
    print_result(result, config.bank(), console)
    if not config.synchronous and not result.errors:
        return 0  # losses are what this run measures
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
