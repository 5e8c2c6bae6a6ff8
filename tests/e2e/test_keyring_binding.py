"""Every replica runs with the keyring the database's members belong to, or does not start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import sqlalchemy

from exchange.secrets.keyring import Keyring
from exchange.store.database import Database
from exchange.store.members_repo import MemberRepository
from tests.e2e.test_cli import COALITION, _free_port, _wait_healthy


def _serve(directory: Path, db: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [COALITION, "serve", "--listen", f"127.0.0.1:{_free_port()}", "--db", db, "--metrics-listen", "", *extra],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _started(directory: Path, db: str, *extra: str) -> str:
    """Start serve until healthy, stop it, return what it printed."""
    process = _serve(directory, db, *extra)
    target = process.args[3]  # type: ignore[index]
    try:
        _wait_healthy(target, process)  # type: ignore[arg-type]
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    return out + err


def _refused(directory: Path, db: str, *extra: str) -> str:
    process = _serve(directory, db, *extra)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_the_first_start_records_the_keyring_and_a_replica_with_another_is_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'exchange.sqlite3'}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    printed = _started(tmp_path / "a", db, "--var-dir", "var", "--create")
    fingerprint = Keyring.load(tmp_path / "a" / "var" / "keyring.json").fingerprint
    assert f"keyring      {fingerprint}" in printed
    Keyring.generate().save(tmp_path / "b" / "other.json")
    error = _refused(tmp_path / "b", db, "--var-dir", "var", "--keyring", "other.json")
    assert fingerprint in error and "same --keyring" in error
    _started(tmp_path / "b", db, "--var-dir", "var", "--keyring", str(tmp_path / "a" / "var" / "keyring.json"))


def test_no_keyring_is_generated_for_a_database_that_has_one(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'exchange.sqlite3'}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _started(tmp_path / "a", db, "--var-dir", "var", "--create")
    error = _refused(tmp_path / "b", db, "--var-dir", "var")  # another directory: no keyring there
    assert "no keyring at var/keyring.json" in error
    assert not (tmp_path / "b" / "var" / "keyring.json").exists()


def test_a_database_with_members_from_an_older_hub_is_checked_against_their_pairwise_ids(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'exchange.sqlite3'}"
    (tmp_path / "var").mkdir()
    upgrade = [COALITION, "db", "upgrade", "--db", db, "--create"]
    assert subprocess.run(upgrade, cwd=tmp_path, capture_output=True).returncode == 0
    theirs = Keyring.generate()
    from exchange.secrets.pairwise import pairwise_member_id

    database = Database(db)

    def add(connection: sqlalchemy.Connection) -> None:
        repository = MemberRepository(connection)
        repository.add_member("mbr-1", 0)
        pairwise = pairwise_member_id(theirs.pairwise_secret, partner_id="stride", member_id="mbr-1")
        repository.add_account("stride", "s-1", "mbr-1", pairwise, 0)

    database.run(add)
    database.dispose()
    error = _refused(tmp_path, db, "--var-dir", "var")  # members, no keyring file: none is generated
    assert "already has members" in error
    Keyring.generate().save(tmp_path / "wrong.json")
    error = _refused(tmp_path, db, "--var-dir", "var", "--keyring", "wrong.json")
    assert "pairwise ids" in error
    theirs.save(tmp_path / "theirs.json")
    _started(tmp_path, db, "--var-dir", "var", "--keyring", "theirs.json")
