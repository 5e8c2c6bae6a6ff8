"""A throwaway pg_auto_failover formation: a monitor and two or three PostgreSQL nodes, ours to kill.

Everything runs on 127.0.0.1 in one temporary folder, as the postgres user when we are root,
with HOME and the XDG folders pointed inside it so that several formations (and the machine's
own PostgreSQL) never share state. The nodes are started by their own keepers (`pg_autoctl
run`), which the monitor drives: we only start, kill and restart processes, and read the
monitor's view of the nodes. Replication is synchronous unless asked otherwise; with three nodes
the formation is set to `number-sync-standbys 1`, so the primary never commits without a
synchronous standby, even while one standby is down (see docs/operations.md, "Failover").

The hub reaches it through `url`: one host parameter per node and target_session_attrs=read-write,
so libpq connects to whichever node is the writable primary at the moment.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

import psycopg

from faults.postgres import DATABASE, SUPERUSER, ClusterUnavailable, durability_settings, find_bindir, free_port

PG_AUTOCTL = "pg_autoctl"
CREATE_TIMEOUT_S = 180.0
PROMOTION_TIMEOUT_S = 120.0
# Two replicas hold at most 2 x (16 + 16) pooled connections, the probe, checker and drain a few more.
MAX_CONNECTIONS = 200
# The monitor's failure detection, shortened for a test (defaults: a check every 5 s, a node unhealthy
# after 20 s, a new primary waits 30 s for the old one to report itself demoted). The keepers'
# network_partition_timeout (a primary that can't reach the monitor nor a standby demotes itself)
# stays below primary_demote_timeout, as in the defaults, so there is never a moment where the
# monitor promotes while the old primary still believes it may take writes.
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "4000",
    "pgautofailover.primary_demote_timeout": "8000",
}
KEEPER_SETTINGS = {"timeout.network_partition_timeout": "4"}
# The states in which the monitor lets a node take writes (wait_primary: no standby to wait for).
WRITABLE_STATES = frozenset({"single", "primary", "wait_primary"})


def require_available() -> None:
    """Raise ClusterUnavailable, with the reason, unless a formation can be built here."""
    find_bindir()
    if shutil.which(PG_AUTOCTL) is None and not (find_bindir() / PG_AUTOCTL).is_file():
        raise ClusterUnavailable(
            "pg_autoctl not found (Debian: apt-get install postgresql-15-auto-failover); the failover test needs it"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError as exc:
            raise ClusterUnavailable("running as root and there is no postgres user to run PostgreSQL as") from exc


@dataclass
class Node:
    """One data node: its keeper process, and its PostgreSQL on its own port."""

    name: str
    port: int
    pgdata: Path
    log_path: Path
    keeper: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        """This node's database, whatever its role."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def postmaster_pid(self) -> int | None:
        """The running postmaster's process id (first line of postmaster.pid), None when it is not running."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid


@dataclass(frozen=True)
class NodeState:
    """The monitor's view of one node."""

    name: str
    port: int
    reported: str
    assigned: str
    healthy: bool


def _text(value: object) -> str:
    """A text column of the monitor's database (SQL_ASCII: psycopg hands its text over as bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Formation:
    """A monitor and `nodes` data nodes in a temporary folder; close() stops and removes everything."""

    def __init__(self, *, nodes: int = 3, synchronous: bool = True) -> None:
        if nodes not in (2, 3):
            raise ValueError("a formation here has two or three data nodes")
        require_available()
        self.bindir = find_bindir()
        self.pg_autoctl = shutil.which(PG_AUTOCTL) or str(self.bindir / PG_AUTOCTL)
        self.user = SUPERUSER if os.geteuid() == 0 else None
        self.synchronous = synchronous
        self.root = Path(tempfile.mkdtemp(prefix="coalition-failover-"))
        self.monitor_port = free_port()
        self.monitor_pgdata = self.root / "monitor"
        self.monitor_log = self.root / "monitor.log"
        self.monitor: subprocess.Popen[bytes] | None = None
        self.nodes = [
            Node(f"node{i}", free_port(), self.root / f"node{i}", self.root / f"node{i}.log")
            for i in range(1, nodes + 1)
        ]
        self.log_path = self.root / "formation.log"  # the keepers' logs, concatenated by log_tail
        self._closed = False

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """The hub's URL: every node, and libpq picks the writable one."""
        hosts = "&".join(f"host=127.0.0.1:{node.port}" for node in self.nodes)
        return f"postgresql+psycopg://{SUPERUSER}@/{DATABASE}?{hosts}&target_session_attrs=read-write"

    @property
    def monitor_uri(self) -> str:
        """The monitor's database, as the keepers reach it."""
        return f"postgresql://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    @property
    def libpq_dsn(self) -> str:
        """The same as url, in libpq's own form (psycopg.connect)."""
        hosts = ",".join("127.0.0.1" for _ in self.nodes)
        ports = ",".join(str(node.port) for node in self.nodes)
        return f"host={hosts} port={ports} user={SUPERUSER} dbname={DATABASE} target_session_attrs=read-write"

    # ------------------------------------------------------------------ processes

    def _environment(self) -> dict[str, str]:
        home = str(self.root / "home")
        return {
            "PATH": f"{self.bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_DATA_HOME": f"{home}/data",
            "XDG_RUNTIME_DIR": f"{home}/run",
            # initdb takes its encoding from the locale: without one, SQL_ASCII, which drivers hand over as bytes.
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }

    def _command(self, *args: str) -> list[str]:
        env = [f"{k}={v}" for k, v in self._environment().items()]
        command = ["env", "-i", *env, self.pg_autoctl, *args]
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def _run(self, *args: str, timeout_s: float = CREATE_TIMEOUT_S) -> str:
        done = subprocess.run(  # noqa: S603 - our own arguments, no shell
            self._command(*args), capture_output=True, text=True, errors="replace", timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_autoctl {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _spawn(self, log_path: Path, *args: str) -> subprocess.Popen[bytes]:
        with log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} pg_autoctl {' '.join(args)} ===\n".encode())
            log.flush()
            return subprocess.Popen(  # noqa: S603 - our own command line
                self._command(*args), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _pgctl(self) -> str:
        return str(self.bindir / "pg_ctl")

    # ------------------------------------------------------------------ building

    def create(self) -> None:
        """Monitor, first node (primary), then the standbys; wait until all are healthy; create the database."""
        for folder in (self.root, self.root / "home"):
            folder.mkdir(exist_ok=True)
            folder.chmod(0o755)
            if self.user:
                entry = pwd.getpwnam(self.user)
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        self._run(
            "create", "monitor", "--pgdata", str(self.monitor_pgdata), "--pgport", str(self.monitor_port),
            "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--pgctl", self._pgctl(),
        )  # fmt: skip
        self._run("config", "set", "--pgdata", str(self.monitor_pgdata), "postgresql.listen_addresses", "127.0.0.1")
        self.monitor = self._spawn(self.monitor_log, "run", "--pgdata", str(self.monitor_pgdata))
        self._wait(lambda: self._monitor_answers(), "the monitor to accept connections", 60)
        with psycopg.connect(self._monitor_admin_dsn(), autocommit=True) as connection:
            for name, value in MONITOR_SETTINGS.items():
                connection.execute(f"ALTER SYSTEM SET {name} = {value}")
            connection.execute("SELECT pg_reload_conf()")
        first, *standbys = self.nodes
        self._run(*self._create_node_args(first))
        with (first.pgdata / "postgresql.auto.conf").open("a") as conf:  # copied to the standbys by their base backup
            conf.write(f"max_connections = {MAX_CONNECTIONS}\n")
        self._configure_keeper(first)
        self.start_keeper(first)
        self._wait(lambda: self._state_of(first) in WRITABLE_STATES, "the first node to be primary", 60)
        for node in standbys:
            node.keeper = self._spawn(node.log_path, *self._create_node_args(node), "--run")
            self._checkpoint_until(partial(self._is_secondary, node), first)
        for node in standbys:
            self._configure_keeper(node)
            assert node.keeper is not None
            os.killpg(node.keeper.pid, signal.SIGHUP)  # the keeper reads its configuration again
        if len(self.nodes) == 3 and self.synchronous:
            self._run("set", "formation", "number-sync-standbys", "1", "--monitor", self.monitor_uri)
        self.wait_until_stable()

    def _is_secondary(self, node: Node) -> bool:
        return self._state_of(node) == "secondary"

    def _configure_keeper(self, node: Node) -> None:
        for name, value in KEEPER_SETTINGS.items():
            self._run("config", "set", "--pgdata", str(node.pgdata), name, value)

    def _monitor_admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.monitor_port} user={SUPERUSER} dbname=pg_auto_failover"

    def _create_node_args(self, node: Node) -> list[str]:
        args = [
            "create", "postgres", "--pgdata", str(node.pgdata), "--pgport", str(node.port),
            "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl",
            "--monitor", self.monitor_uri, "--dbname", DATABASE, "--name", node.name, "--pgctl", self._pgctl(),
        ]  # fmt: skip
        if not self.synchronous:
            args += ["--replication-quorum", "false"]
        return args

    def _checkpoint_until(self, done: Callable[[], bool], primary: Node) -> None:
        """Wait for a standby to be built, with a CHECKPOINT on the primary now and then.

        Its pg_basebackup waits for the primary's next checkpoint, which an idle server takes
        minutes to reach.
        """
        deadline = time.monotonic() + CREATE_TIMEOUT_S
        while time.monotonic() < deadline:
            if done():
                return
            self._checkpoint_on(primary)
            time.sleep(1.0)
        raise RuntimeError(f"a standby was not built within {CREATE_TIMEOUT_S:g} s:\n{self.log_tail()}")

    def _node_dsn(self, node: Node, dbname: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={node.port} user={SUPERUSER} dbname={dbname}"

    def _monitor_answers(self) -> bool:
        try:
            with psycopg.connect(self.monitor_uri, connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    # ------------------------------------------------------------------ the monitor's view

    def states(self) -> list[NodeState]:
        """Every node as the monitor sees it (empty if the monitor can't be asked)."""
        try:
            with psycopg.connect(self.monitor_uri, connect_timeout=2) as connection:
                rows = connection.execute(
                    "SELECT nodename, nodeport, reportedstate::text, goalstate::text, health = 1"
                    " FROM pgautofailover.node ORDER BY nodeid"
                ).fetchall()
        except psycopg.Error:
            return []
        return [NodeState(_text(r[0]), int(r[1]), _text(r[2]), _text(r[3]), bool(r[4])) for r in rows]

    def _state_of(self, node: Node) -> str | None:
        for state in self.states():
            if state.name == node.name:
                return state.reported if state.reported == state.assigned else None
        return None

    def primary(self) -> Node | None:
        """The node the monitor holds as primary, once it reports so itself; None during a failover."""
        for state in self.states():
            if state.assigned in WRITABLE_STATES and state.reported == state.assigned:
                return self.node(state.name)
        return None

    def node(self, name: str) -> Node:
        """The node of that name."""
        return next(node for node in self.nodes if node.name == name)

    def standbys(self) -> list[Node]:
        """The nodes the monitor holds as secondaries."""
        names = {s.name for s in self.states() if s.assigned == "secondary"}
        return [node for node in self.nodes if node.name in names]

    def stable(self) -> bool:
        """Every node is where the monitor wants it: one primary, the rest healthy secondaries."""
        states = self.states()
        if len(states) != len(self.nodes) or any(s.reported != s.assigned or not s.healthy for s in states):
            return False
        roles = sorted(s.reported for s in states)
        return roles == sorted(["primary"] + ["secondary"] * (len(self.nodes) - 1))

    def wait_until_stable(self, timeout_s: float = PROMOTION_TIMEOUT_S) -> float:
        """Wait for stable(); return how long it took, s."""
        return self._wait(self.stable, "the formation to settle (one primary, healthy secondaries)", timeout_s)

    def wait_for_primary(self, *, other_than: Node | None = None, timeout_s: float = PROMOTION_TIMEOUT_S) -> Node:
        """Wait until a node (other than the one given) is the primary; return it."""
        found: list[Node] = []

        def promoted() -> bool:
            primary = self.primary()
            if primary is None or primary is other_than:
                return False
            found[:] = [primary]
            return True

        self._wait(promoted, "a primary" + (f" other than {other_than.name}" if other_than else ""), timeout_s)
        return found[0]

    def wait_for(self, condition: Callable[[], bool], what: str, timeout_s: float = PROMOTION_TIMEOUT_S) -> float:
        """Wait until condition() holds; return how long it took, s (RuntimeError, with the state, if never)."""
        return self._wait(condition, what, timeout_s)

    def _wait(self, condition: Callable[[], bool], what: str, timeout_s: float) -> float:
        began = time.monotonic()
        while time.monotonic() - began < timeout_s:
            if condition():
                return time.monotonic() - began
            time.sleep(0.2)
        raise RuntimeError(f"timed out after {timeout_s:g} s waiting for {what}:\n{self.describe()}\n{self.log_tail()}")

    def describe(self) -> str:
        """The monitor's view, one line per node."""
        return "\n".join(
            f"  {s.name} :{s.port} reported={s.reported} assigned={s.assigned} healthy={s.healthy}"
            for s in self.states()
        )

    # ------------------------------------------------------------------ faults

    def start_keeper(self, node: Node) -> None:
        """Start (or start again) the node's keeper, which starts its PostgreSQL and rejoins the formation."""
        node.keeper = self._spawn(node.log_path, "run", "--pgdata", str(node.pgdata))

    def kill_postmaster(self, node: Node) -> None:
        """SIGKILL the node's postmaster only: its keeper lives on and races the monitor."""
        pid = node.postmaster_pid()
        if pid is None:
            raise RuntimeError(f"{node.name} has no running postmaster")
        os.kill(pid, signal.SIGKILL)
        node.kills += 1

    def kill_node(self, node: Node) -> None:
        """SIGKILL the whole node: its keeper first (so nothing restarts PostgreSQL), then its postmaster."""
        pid = node.postmaster_pid()
        if node.keeper is not None and node.keeper.poll() is None:
            os.killpg(node.keeper.pid, signal.SIGKILL)  # the keeper and its supervised children
            node.keeper.wait()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        node.kills += 1

    def synchronous_standby_names(self, node: Node) -> str | None:
        """The node's synchronous_standby_names ('' : its commits wait for no standby), None if it can't be asked."""
        try:
            with psycopg.connect(self._node_dsn(node), autocommit=True, connect_timeout=2) as connection:
                row = connection.execute("SHOW synchronous_standby_names").fetchone()
        except psycopg.Error:
            return None
        return str(row[0]) if row else None

    def switchover(self) -> None:
        """A planned switchover, as the runbook has it: a standby is promoted and the primary follows it."""
        self._run("perform", "switchover", "--pgdata", str(self.monitor_pgdata), timeout_s=PROMOTION_TIMEOUT_S)

    def checkpoint(self) -> None:
        """CHECKPOINT on the primary (a rejoining node's rewind or base backup waits for one)."""
        primary = self.primary()
        if primary is not None:
            self._checkpoint_on(primary)

    def _checkpoint_on(self, node: Node) -> None:
        try:
            with psycopg.connect(self._node_dsn(node), autocommit=True, connect_timeout=2) as connection:
                connection.execute("CHECKPOINT")
        except psycopg.Error:
            pass  # not up (yet): the next round tries again

    def rejoin(self, node: Node, timeout_s: float = PROMOTION_TIMEOUT_S) -> float:
        """Start a killed node's keeper again and wait until the formation is stable; return how long it took."""
        began = time.monotonic()
        self.start_keeper(node)
        done = threading.Event()

        def checkpoints() -> None:
            while not done.wait(2.0):
                self.checkpoint()

        helper = threading.Thread(target=checkpoints, name="checkpoints", daemon=True)
        helper.start()
        try:
            self.wait_until_stable(timeout_s)
        finally:
            done.set()
            helper.join()
        return time.monotonic() - began

    # ------------------------------------------------------------------ what the harness asks of a cluster

    def settings(self) -> dict[str, str]:
        """The durability settings as the hub's connection sees them, and the synchronous standbys."""
        return durability_settings(self.url, "synchronous_standby_names")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the monitor's and each keeper's log."""
        parts = []
        for name, path in [("monitor", self.monitor_log)] + [(n.name, n.log_path) for n in self.nodes]:
            try:
                tail = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def keep_logs(self, folder: Path) -> None:
        """Copy the monitor's and keepers' logs, and each node's PostgreSQL log, into folder."""
        folder.mkdir(parents=True, exist_ok=True)
        for path in [self.monitor_log, *(n.log_path for n in self.nodes)]:
            with contextlib.suppress(OSError):
                shutil.copy(path, folder / path.name)
        for node in self.nodes:
            for log in sorted((node.pgdata / "log").glob("*")) if (node.pgdata / "log").is_dir() else []:
                with contextlib.suppress(OSError):
                    shutil.copy(log, folder / f"{node.name}-{log.name}")

    def close(self) -> None:
        """Stop every keeper and the monitor (SIGTERM, then SIGKILL), stop stray postmasters, remove the folder."""
        if self._closed:
            return
        self._closed = True
        processes = [node.keeper for node in self.nodes] + [self.monitor]
        for process in processes:
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in processes:
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pgdata in [self.monitor_pgdata, *(n.pgdata for n in self.nodes)]:
            stray = Node("stray", 0, pgdata, pgdata).postmaster_pid()
            if stray is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(stray, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Formation:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
