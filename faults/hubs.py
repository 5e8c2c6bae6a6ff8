"""`coalition serve` replicas as subprocesses on one database: start, SIGKILL, restart, stop.

Every replica shares one hub key, one operator key and one keyring, as in production, and
keeps its listen port across restarts so clients find it again. Like bench/run.py's
HubProcess, readiness is the gRPC health check answering SERVING.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from exchange.secrets.keyring import Keyring
from faults.postgres import free_port
from partner_sdk import generate_private_key, public_key_bytes, save_private_key
from partner_sdk.keys import Ed25519PrivateKey

COALITION = str(Path(sys.executable).parent / "coalition")
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class HubSettings:
    """What every replica is started with."""

    db_url: str
    workers: int = 16
    credit_deadline_s: int = 900
    grace_s: float = 2.0


@dataclass(frozen=True)
class HubKeys:
    """The files and keys the replicas share."""

    operator_key: Ed25519PrivateKey
    hub_key: Ed25519PrivateKey
    operator_path: Path
    hub_path: Path
    keyring_path: Path

    @property
    def hub_public_key(self) -> bytes:
        """The key every answer must be signed with."""
        return public_key_bytes(self.hub_key)

    @classmethod
    def create(cls, workdir: Path) -> HubKeys:
        """Generate the shared keys into workdir."""
        operator_key, hub_key = generate_private_key(), generate_private_key()
        keys = cls(operator_key, hub_key, workdir / "operator.pem", workdir / "hub.pem", workdir / "keyring.json")
        save_private_key(keys.operator_path, operator_key)
        save_private_key(keys.hub_path, hub_key)
        Keyring.load_or_create(keys.keyring_path)
        return keys


class Replica:
    """One hub process; start() again after kill() brings it back on the same port."""

    def __init__(self, index: int, settings: HubSettings, keys: HubKeys, workdir: Path) -> None:
        self.index = index
        self.settings = settings
        self.keys = keys
        self.workdir = workdir / f"replica-{index}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.log_path = self.workdir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.lock = threading.Lock()

    def command(self) -> list[str]:
        """The `coalition serve` command line."""
        return [
            COALITION, "serve",
            "--listen", self.target,
            "--db", self.settings.db_url,
            "--hub-key", str(self.keys.hub_path),
            "--operator-key", str(self.keys.operator_path),
            "--keyring", str(self.keys.keyring_path),
            "--var-dir", str(self.workdir),
            "--workers", str(self.settings.workers),
            # One process, whatever the cores: a SIGKILL here must take the whole hub at once (forked
            # workers outlive their parent by up to a second, still serving the port it restarts on).
            "--processes", "1",
            "--grace-s", str(self.settings.grace_s),
            "--metrics-listen", "127.0.0.1:0",
            "--credit-deadline-s", str(self.settings.credit_deadline_s),
            # Risk limits out of the way: the workload makes its own refusals.
            "--member-conversions-per-hour", str(10**9),
            "--exposure-limit-minor", str(10**15),
        ]  # fmt: skip

    def start(self, *, attempts: int = 5) -> None:
        """Start the process and wait until it serves (tried again if it exits, e.g. while the database restarts)."""
        for attempt in range(1, attempts + 1):
            with self.log_path.open("ab") as log:
                log.write(f"\n=== start {self.starts + 1} (attempt {attempt}) ===\n".encode())
                log.flush()
                self.process = subprocess.Popen(  # noqa: S603 - our own command line
                    self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
                )
            if self._wait_ready():
                self.starts += 1
                return
            time.sleep(0.5 * attempt)
        raise RuntimeError(f"replica {self.index} would not start:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        with grpc.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                with contextlib.suppress(grpc.RpcError):
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return True
                time.sleep(0.05)
        self.process.kill()
        self.process.wait()
        return False

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight calls and transactions are cut."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> int | None:
        """SIGTERM and wait; return the exit code (None if it was not running)."""
        if self.process is None or self.process.poll() is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of this replica's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def internal_errors(self) -> int:
        """How many calls this replica answered INTERNAL, over all its lives (from its JSON log)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return text.count('"code": "INTERNAL"')


def channel_target(replicas: list[Replica]) -> str:
    """A gRPC target naming every replica (round robin over the live ones when there are several)."""
    if len(replicas) == 1:
        return replicas[0].target
    return "ipv4:" + ",".join(r.target for r in replicas)
