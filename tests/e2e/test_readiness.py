"""`coalition serve` (one process, or --processes 2) answers GET /ready beside /metrics: 503 while its database
can't be opened, 200 again when it can; /metrics answers 200 throughout."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from exchange.store import migrate
from exchange.store.database import Database
from tests.e2e.test_cli import COALITION, _free_port

START_TIMEOUT_S = 60
SETTLE_S = 10.0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _eventually_ready(url: str, expected: int) -> str:
    deadline = time.monotonic() + SETTLE_S
    while (answer := _get(url))[0] != expected:
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
    return answer[1]


def _health(target: str, service: str, *, expected: int) -> int:
    """`coalition health --service`'s exit code, once it is the expected one (readiness is probed every 2 s)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        code = subprocess.run(
            [COALITION, "health", "--target", target, "--service", service], capture_output=True
        ).returncode
        if code == expected or time.monotonic() > deadline:
            return code
        time.sleep(0.2)


@pytest.mark.parametrize("processes", [1, pytest.param(2, marks=pytest.mark.skipif(
    not os.path.exists("/proc/net/tcp"), reason="Linux only (SO_REUSEPORT)"))])  # fmt: skip
def test_ready_follows_the_database_and_metrics_keep_answering(tmp_path: Path, processes: int) -> None:
    home, away = tmp_path / "db", tmp_path / "db.away"
    log = tmp_path / "hub.log"
    database = Database(f"sqlite:///{home / 'exchange.sqlite3'}")
    migrate.upgrade(database)
    database.dispose()
    target = f"127.0.0.1:{_free_port()}"
    command = [
        COALITION, "serve", "--processes", str(processes), "--listen", target,
        "--var-dir", str(tmp_path / "var"), "--db", f"sqlite:///{home / 'exchange.sqlite3'}",
        "--metrics-listen", "127.0.0.1:0", "--workers", "2", "--grace-s", "1",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (found := re.search(r"^metrics on (http://\S+)/metrics$", log.read_text(), re.MULTILINE)) is None:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the hub never started:\n{log.read_text()}"
            time.sleep(0.1)
        base = found.group(1)
        assert _eventually_ready(f"{base}/ready", 200) == "ready\n"

        home.rename(away)
        home.write_text("not a directory")  # root opens any file: the path must stop leading to one
        reason = _eventually_ready(f"{base}/ready", 503)
        assert reason.startswith("not ready: database unreachable") and reason.count("\n") == 1
        assert _health(target, "coalition.exchange.v1.ConversionService", expected=1) == 1  # not ready
        assert _health(target, "", expected=0) == 0  # but alive
        status, text = _get(f"{base}/metrics")
        assert status == 200 and "coalition_db_up 0.0" in text

        home.unlink()
        away.rename(home)
        assert _eventually_ready(f"{base}/ready", 200) == "ready\n"
        status, text = _get(f"{base}/metrics")
        assert status == 200 and "coalition_db_up 1.0" in text
        assert _health(target, "coalition.exchange.v1.ConversionService", expected=0) == 0
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
