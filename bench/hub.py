"""`coalition serve` as a subprocess: started on a database, asked for its metrics, stopped."""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc

from partner_sdk import generate_private_key, public_key_bytes, save_private_key

COALITION = str(Path(sys.executable).parent / "coalition")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """`coalition serve` as a subprocess, with the risk limits out of the benchmark's way."""

    def __init__(
        self, db_url: str, workdir: Path, *, workers: int, processes: int | None = None, group_commit: bool = True
    ) -> None:
        """`processes` None leaves `serve` its default (one per core on PostgreSQL); `self.processes` is what it ran."""
        self.group_commit = group_commit
        self.db_url = db_url
        self.workdir = workdir
        self.workers = workers
        self.requested_processes = processes
        self.processes = processes or 1  # read from the hub's start-up lines once it serves
        self.port = free_port()
        self.metrics_port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.operator_key = generate_private_key()
        self.hub_key = generate_private_key()
        self.hub_public_key = public_key_bytes(self.hub_key)
        self.log_path = workdir / "hub.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        save_private_key(self.workdir / "operator.pem", self.operator_key)
        save_private_key(self.workdir / "hub.pem", self.hub_key)
        command = [
            COALITION,
            "serve",
            "--listen", self.target,
            "--db", self.db_url,
            "--hub-key", str(self.workdir / "hub.pem"),
            "--operator-key", str(self.workdir / "operator.pem"),
            "--var-dir", str(self.workdir),
            "--workers", str(self.workers),
            "--metrics-listen", f"127.0.0.1:{self.metrics_port}",
            "--member-conversions-per-hour", "1000000000",
            "--exposure-limit-minor", str(10**15),
            "--group-commit" if self.group_commit else "--no-group-commit",
        ]  # fmt: skip
        if self.requested_processes is not None:
            command += ["--processes", str(self.requested_processes)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self._wait_ready()
        workers_line = re.search(r"^workers\s+(\d+) processes", self.log_tail(200), re.MULTILINE)
        self.processes = int(workers_line.group(1)) if workers_line else 1

    def _wait_ready(self) -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        assert self.process is not None
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(grpc.RpcError):
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    # With several processes one answering is not enough: the parent prints the
                    # listening line once every worker has bound the port.
                    if answer.status == health_pb2.HealthCheckResponse.SERVING and "hub listening on" in self.log_tail(
                        200
                    ):
                        return
                time.sleep(0.2)
        raise RuntimeError(f"the hub never answered:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def metrics(self) -> dict[str, float]:
        """The hub's Prometheus figures, keyed by 'name{labels}'."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    found[name] = float(value)
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
