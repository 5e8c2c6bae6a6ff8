"""What an operator hit following the runbook, as the real `coalition` command does it now.

A mistyped SQLite path is refused instead of becoming an empty hub; a database that can't be
used is one line; the database file is its owner's alone; every stderr line of a JSON-logging
hub is one JSON object, gRPC core's own lines included; admin speaks TLS; --version.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from exchange import __version__
from exchange.store.database import Database
from tests.e2e.test_cli import COALITION, _free_port
from tests.e2e.test_tls import Pki, pki  # noqa: F401 (pki is the fixture)

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _usual_umask() -> None:
    os.umask(0o022)  # most hosts' default: files are made 0644 unless their maker says otherwise


def _run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")} | env
    return subprocess.run(
        argv, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60, preexec_fn=_usual_umask
    )


def _assert_one_line_refusal(result: subprocess.CompletedProcess[str], *said: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for words in said:
        assert words in result.stderr


def _documented(section: str, starts_with: str) -> list[str]:
    """The docs/operations.md command line of this section that starts so, split as the shell would."""
    text = OPERATIONS.read_text(encoding="utf-8")
    body = text[text.index(section) :]
    body = body[: body.index("\n## ", 1)]
    for block in re.findall(r"```sh\n(.*?)```", body, re.DOTALL):
        for line in block.splitlines():
            if line.startswith(starts_with):
                return shlex.split(line, comments=True)
    raise AssertionError(f"{section} shows no {starts_with!r}")


# ---------------------------------------------------------------- a SQLite file that does not exist


def test_db_status_on_a_sqlite_file_that_does_not_exist_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    refused = _run([COALITION, "db", "status", "--db", "sqlite:///var/lib/coalition/exchnage.sqlite3"], tmp_path)
    _assert_one_line_refusal(refused, "no database at var/lib/coalition/exchnage.sqlite3")
    default = _run([COALITION, "db", "status", "--var-dir", "var"], tmp_path)  # not even the default file
    _assert_one_line_refusal(default, "no database at")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", ""]])
def test_a_sqlite_file_that_does_not_exist_and_is_not_the_default_is_refused_without_create(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "var").mkdir()
    mistyped = "sqlite:///var/exchnage.sqlite3"
    _assert_one_line_refusal(_run([COALITION, *command, "--db", mistyped], tmp_path), "--create", "exchnage.sqlite3")
    assert list((tmp_path / "var").iterdir()) == []


def test_db_upgrade_makes_the_default_file_on_a_first_run_and_another_with_create(tmp_path: Path) -> None:
    first = _run([COALITION, "db", "upgrade", "--var-dir", "var"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "var" / "exchange.sqlite3").is_file()
    create = _documented("## 2. The database", "coalition db upgrade --db sqlite:///data/")
    created = _run([COALITION, *create[1:]], tmp_path)
    assert created.returncode == 0, created.stderr
    status = _run([COALITION, "db", "status", "--db", "sqlite:///data/exchange.sqlite3"], tmp_path)
    assert status.returncode == 0 and status.stdout.startswith("CURRENT"), status.stdout + status.stderr


def test_the_database_file_and_its_wal_and_shm_are_readable_by_their_owner_alone(tmp_path: Path) -> None:
    created = _run([COALITION, "db", "upgrade", "--var-dir", "var"], tmp_path)
    assert created.returncode == 0, created.stderr
    file = tmp_path / "var" / "exchange.sqlite3"
    database = Database(f"sqlite:///{file}")
    try:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")
        for path in (file, file.with_name("exchange.sqlite3-wal"), file.with_name("exchange.sqlite3-shm")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        database.dispose()


def test_the_documented_sqlite_backup_is_readable_by_its_owner_alone(tmp_path: Path) -> None:
    if subprocess.run(["sh", "-c", "command -v sqlite3"], capture_output=True).returncode != 0:
        pytest.skip("no sqlite3 command on this machine")
    assert _run([COALITION, "db", "upgrade", "--var-dir", "var"], tmp_path).returncode == 0
    (tmp_path / "backups").mkdir()
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text[text.index("### SQLite\n", text.index("## 10. Backup and restore")) :]
    block = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[0].replace("/backups/", "backups/")
    backed_up = subprocess.run(
        ["sh", "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=60, preexec_fn=_usual_umask
    )
    assert backed_up.returncode == 0, backed_up.stderr
    (backup,) = (tmp_path / "backups").iterdir()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


# ---------------------------------------------------------------- a database that can't be used


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/coalition", "Connection refused"),
        ("foo://x", "unsupported database 'foo'"),
        ("postgresql+psycopg2://postgres@127.0.0.1/coalition", "psycopg2"),
        ("sqlite:/var/exchange.sqlite3 --oops", "not a database this hub can use"),
    ],
)
@pytest.mark.parametrize(
    "command", [["db", "status"], ["db", "upgrade"], ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", ""]]
)
def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str], url: str, said: str
) -> None:
    _assert_one_line_refusal(_run([COALITION, *command, "--db", url, "--var-dir", "var"], tmp_path), said)


# ---------------------------------------------------------------- logs


@pytest.mark.parametrize("option", [["--log-format", "yaml"], ["--log-level", "LOUD"]])
def test_a_log_format_or_level_it_does_not_know_is_refused(tmp_path: Path, option: list[str]) -> None:
    refused = _run([COALITION, "serve", "--var-dir", "var", *option], tmp_path)
    assert refused.returncode == 2
    assert "Invalid value" in refused.stderr
    assert not (tmp_path / "var").exists()


@contextmanager
def _tls_hub(tmp_path: Path, certificates: Pki, *extra: str, **env: str) -> Iterator[tuple[str, dict[str, Path], Path]]:
    """A `coalition serve` TLS hub on a free port; yields its target, the PEM paths and its stderr file."""
    paths = certificates.write(tmp_path)
    target = f"127.0.0.1:{_free_port()}"
    tls = ["--tls-cert", str(paths["hub.crt"]), "--tls-key", str(paths["hub.key"])]
    stderr = tmp_path / "stderr.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")} | env
    argv = [COALITION, "serve", "--listen", target, "--metrics-listen", "", "--var-dir", "var", *tls, *extra]
    with stderr.open("w") as errors:
        process = subprocess.Popen(
            argv, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=errors, text=True
        )
    health = [COALITION, "health", "--target", target, "--tls-ca", str(paths["ca"])]
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(health, capture_output=True, timeout=30).returncode != 0:
            assert process.poll() is None and time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.2)
        yield target, paths, stderr
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert f"version      coalition {__version__}" in out


def _plaintext_knock(target: str) -> None:
    host, port = target.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\n\r\n")
        connection.recv(64)


def _json_lines(stderr: Path) -> list[dict[str, object]]:
    lines = [line for line in stderr.read_text().splitlines() if line]
    return [json.loads(line) for line in lines]  # fails on any line that is not one JSON object


def test_grpc_cores_own_lines_are_json_log_lines_too(tmp_path: Path, pki: Pki) -> None:  # noqa: F811 (the fixture)
    with _tls_hub(tmp_path, pki) as (target, _, stderr):
        deadline = time.monotonic() + 20
        while not any(line["logger"] == "grpc" for line in _json_lines(stderr)):
            assert time.monotonic() < deadline, stderr.read_text()
            _plaintext_knock(target)  # a plaintext client at a TLS hub: gRPC core says "Handshake failed"
            time.sleep(0.3)
    handshakes = [line for line in _json_lines(stderr) if line["logger"] == "grpc"]
    assert handshakes[0]["level"] == "INFO"
    assert "Handshake failed" in str(handshakes[0]["message"])


def test_log_level_warning_leaves_grpc_cores_info_lines_out(tmp_path: Path, pki: Pki) -> None:  # noqa: F811 (the fixture)
    with _tls_hub(tmp_path, pki, COALITION_LOG_LEVEL="WARNING") as (target, _, stderr):
        for _ in range(5):
            _plaintext_knock(target)
        time.sleep(1)
    assert [line for line in _json_lines(stderr) if line["level"] in ("DEBUG", "INFO")] == []


# ---------------------------------------------------------------- admin over TLS, --version


def test_admin_commands_reach_a_tls_hub_with_tls_options(tmp_path: Path, pki: Pki) -> None:  # noqa: F811 (the fixture)
    with _tls_hub(tmp_path, pki) as (target, paths, _):
        key = ["--target", target, "--operator-key", "var/operator_key.pem"]
        documented = _documented("## 11. Admin commands", "coalition admin list $ADMIN $TLS")
        given = {"$ADMIN": key, "$TLS": ["--tls-ca", str(paths["ca"])]}
        argv = [COALITION, *(word for token in documented[1:] for word in given.get(token, [token]))]
        over_tls = _run(argv, tmp_path)
        assert over_tls.returncode == 0, over_tls.stdout + over_tls.stderr
        assert "Partners" in over_tls.stdout
        plaintext = _run([COALITION, "admin", "list", *key], tmp_path)
        assert plaintext.returncode == 2
        _assert_one_line_refusal(
            _run([COALITION, "admin", "list", *key, "--tls-cert", str(paths["stride.crt"])], tmp_path),
            "--tls-cert and --tls-key go together",
        )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_package_version(tmp_path: Path, flag: str) -> None:
    shown = _run([COALITION, flag], tmp_path)
    assert shown.returncode == 0
    assert shown.stdout == f"coalition {__version__}\n"
    documented = _documented("## 1. Starting the hub", "coalition --version")
    assert _run([COALITION, *documented[1:]], tmp_path).stdout == shown.stdout
