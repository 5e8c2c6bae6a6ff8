"""The database password can come from a secret file (COALITION_DB_PASSWORD_FILE), as compose passes it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.test_cli import COALITION

pytestmark = pytest.mark.postgres


def _status(url: str, password_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COALITION_DB_PASSWORD_FILE": str(password_file)}
    return subprocess.run([COALITION, "db", "status", "--db", url], capture_output=True, text=True, env=env, timeout=60)


def test_db_status_reads_the_password_from_the_file(postgres_url: str, tmp_path: Path) -> None:
    without_password = make_url(postgres_url).set(password=None).render_as_string(hide_password=False)
    secret = tmp_path / "db_password.txt"
    secret.write_text("s3cret with spaces/and:colons\n")
    status = _status(without_password, secret)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("CURRENT")


def test_an_empty_password_file_is_one_line_and_exit_2(postgres_url: str, tmp_path: Path) -> None:
    without_password = make_url(postgres_url).set(password=None).render_as_string(hide_password=False)
    secret = tmp_path / "db_password.txt"
    secret.write_text("")
    status = _status(without_password, secret)
    assert status.returncode == 2
    assert "Traceback" not in status.stderr and len(status.stderr.strip().splitlines()) == 1, status.stderr
