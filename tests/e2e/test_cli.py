"""`coalition` as an operator runs it: serve, health, admin, db, graceful stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
import sqlalchemy

from exchange.store import migrate
from exchange.store.database import Database
from partner_sdk import ExchangeClient, generate_private_key

COALITION = str(Path(sys.executable).parent / "coalition")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(target: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        if subprocess.run([COALITION, "health", "--target", target], capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail("the hub never became healthy")


@pytest.fixture
def served(tmp_path: Path) -> tuple[str, Path, subprocess.Popen[str]]:
    port = _free_port()
    target = f"127.0.0.1:{port}"
    process = subprocess.Popen(
        [COALITION, "serve", "--listen", target, "--var-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_healthy(target, process)
    return target, tmp_path, process


def test_serve_creates_keys_migrates_and_admin_approves_then_sigterm_stops_cleanly(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    target, var_dir, process = served
    assert (var_dir / "operator_key.pem").exists()
    assert (var_dir / "hub_key.pem").exists()
    with ExchangeClient(target, partner_id="stride", key_id="k1", private_key=generate_private_key()) as client:
        client.register(
            display_name="Stride", point_currency="STRD", settlement_currency="EUR", point_value_minor=Fraction(1, 2)
        )
        admin = [COALITION, "admin"]
        options = ["--target", target, "--operator-key", str(var_dir / "operator_key.pem")]
        approved = subprocess.run([*admin, "approve", "stride", *options], capture_output=True, text=True)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert "ACTIVE" in approved.stdout
        listed = subprocess.run([*admin, "list", *options], capture_output=True, text=True)
        assert "stride" in listed.stdout
        again = subprocess.run([*admin, "approve", "stride", *options], capture_output=True, text=True)
        assert again.returncode == 2
        assert "FAILED_PRECONDITION" in again.stderr
        assert client.get_partner("stride").status == "ACTIVE"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "hub stopped" in output


def test_serve_refuses_a_database_it_does_not_know(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'exchange.sqlite3'}"
    database = Database(url)
    migrate.upgrade(database)
    with database.engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = 'future'"))
    result = subprocess.run(
        [COALITION, "serve", "--listen", f"127.0.0.1:{_free_port()}", "--db", url, "--var-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "does not know" in result.stderr
    assert "future" in result.stderr


def test_db_upgrade_then_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert subprocess.run([COALITION, "db", "status", "--db", url], capture_output=True).returncode == 2  # no file
    upgraded = subprocess.run([COALITION, "db", "upgrade", "--db", url, "--create"], capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    status = subprocess.run([COALITION, "db", "status", "--db", url], capture_output=True, text=True)
    assert status.returncode == 0
    assert status.stdout.startswith("CURRENT")


def test_the_demo_runs_and_every_step_behaves(tmp_path: Path) -> None:
    result = subprocess.run(
        [COALITION, "demo", "--var-dir", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every step behaved as expected." in result.stdout
    assert "UNEXPECTED" not in result.stdout


def test_a_second_hub_can_not_bind_the_address_of_a_running_one(
    served: tuple[str, Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    target, _, running = served
    refused = subprocess.run(
        [COALITION, "serve", "--listen", target, "--var-dir", str(tmp_path / "other"), "--metrics-listen", ""],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert f"cannot listen on {target}" in refused.stderr and "Traceback" not in refused.stderr
    assert running.poll() is None
    running.terminate()
    running.communicate(timeout=30)
