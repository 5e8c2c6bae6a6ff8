"""The operator's side of erasure and backups, run as docs/privacy.md shows it: db upgrade, retire-master."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from exchange.secrets.envelope import UnwrapError, WrappedKey, new_data_key, unwrap_data_key, wrap_data_key
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring
from exchange.secrets.pairwise import pairwise_member_id
from exchange.store.consent_repo import ConsentRepository
from exchange.store.database import Database
from exchange.store.members_repo import MemberRepository

COALITION = str(Path(sys.executable).parent / "coalition")
PRIVACY = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
DB_URL = "sqlite:///var/exchange.sqlite3"


def _documented(command: str) -> list[str]:
    """The docs/privacy.md command line that starts with these words, split as a shell would."""
    for line in PRIVACY.read_text().splitlines():
        if line.strip().startswith(command):
            return line.split()
    raise AssertionError(f"docs/privacy.md shows no {command!r}")


def _run(tmp_path: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    assert argv[0] == "coalition"
    return subprocess.run([COALITION, *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.fixture
def operator_dir(tmp_path: Path) -> Path:
    """A var/ with a migrated database and a keyring, as `coalition serve` leaves it."""
    (tmp_path / "var").mkdir()
    assert _run(tmp_path, ["coalition", "db", "upgrade", "--db", DB_URL]).returncode == 0
    assert _run(tmp_path, ["coalition", "keys", "keyring", "var/keyring.json"]).returncode == 0
    return tmp_path


def _member_with_key(directory: Path, member_id: str) -> bytes:
    """Add a member whose data key is wrapped under the keyring's current master key; return the wrapped key."""
    keyring = Keyring.load(directory / "var" / "keyring.json")
    database = Database(f"sqlite:///{directory / 'var' / 'exchange.sqlite3'}")
    wrapped = wrap_data_key(keyring, new_data_key(), member_id=member_id).to_bytes()

    def add(connection: sqlalchemy.Connection) -> None:
        repository = MemberRepository(connection)
        repository.add_member(member_id, 0)
        pairwise = pairwise_member_id(keyring.pairwise_secret, partner_id="stride", member_id=member_id)
        repository.add_account("stride", f"ref-of-{member_id}", member_id, pairwise, 0)
        ConsentRepository(connection).store_wrapped_key(member_id, wrapped)

    database.run(add)
    database.dispose()
    return wrapped


def test_db_upgrade_with_the_keyring_erases_again_what_the_ledger_lists(operator_dir: Path) -> None:
    _member_with_key(operator_dir, "mbr-restored")
    ErasureLedger.beside(operator_dir / "var" / "keyring.json").record("mbr-restored", 1, "stride")
    done = _run(operator_dir, _documented("coalition db upgrade"))
    assert done.returncode == 0, done.stderr
    assert "1 member(s) erased again" in done.stdout
    database = Database(f"sqlite:///{operator_dir / 'var' / 'exchange.sqlite3'}")
    with database.engine.connect() as connection:
        erased = connection.execute(sqlalchemy.text("SELECT erased_at_ms, erased_by FROM members")).one()
        key = connection.execute(sqlalchemy.text("SELECT wrapped_key FROM member_keys")).scalar_one()
        refs = connection.execute(sqlalchemy.text("SELECT member_ref FROM member_accounts")).scalar_one()
    database.dispose()
    assert erased.erased_at_ms is not None and erased.erased_by == "hub:erasure-ledger"
    assert key is None and refs.startswith("erased:")


def test_a_retired_master_key_leaves_old_backups_unreadable(operator_dir: Path) -> None:
    keyring_path = operator_dir / "var" / "keyring.json"
    in_a_backup = _member_with_key(operator_dir, "mbr-kept")  # what a backup taken now holds
    retire = _documented("coalition keys retire-master")
    refused = _run(operator_dir, retire)
    assert refused.returncode == 2 and "current master key" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    rotated = _run(
        operator_dir, ["coalition", "keys", "rotate-master", "--keyring", "var/keyring.json", "--db", DB_URL]
    )
    assert rotated.returncode == 0, rotated.stderr
    done = _run(operator_dir, retire)
    assert done.returncode == 0, done.stderr
    keyring = Keyring.load(keyring_path)
    assert keyring.master_key_ids == ("mk-2",)
    assert Keyring.load(keyring_path.with_name("keyring.json.before-retire-mk-1")).master_key_ids == ("mk-1", "mk-2")
    with pytest.raises(UnwrapError):  # the backup's copy of the data key is lost for good
        unwrap_data_key(keyring, WrappedKey.from_bytes(in_a_backup), member_id="mbr-kept")
    database = Database(f"sqlite:///{keyring_path.parent / 'exchange.sqlite3'}")
    with database.engine.connect() as connection:
        live = bytes(connection.execute(sqlalchemy.text("SELECT wrapped_key FROM member_keys")).scalar_one())
    database.dispose()
    assert len(unwrap_data_key(keyring, WrappedKey.from_bytes(live), member_id="mbr-kept")) == 32  # still readable


def test_retiring_a_key_still_in_use_is_refused_in_one_line(operator_dir: Path) -> None:
    keyring_path = operator_dir / "var" / "keyring.json"
    Keyring.load(keyring_path).with_new_master_key().save(keyring_path)  # rotated, but nothing re-wrapped yet
    _member_with_key(operator_dir, "mbr-new")  # wrapped under mk-2
    database = Database(f"sqlite:///{keyring_path.parent / 'exchange.sqlite3'}")
    with database.engine.begin() as connection:  # and one still under mk-1
        old = Keyring(
            current_master_key_id="mk-1",
            master_keys={"mk-1": Keyring.load(keyring_path).master_key("mk-1")},
            pairwise_secret=Keyring.load(keyring_path).pairwise_secret,
        )
        ConsentRepository(connection).store_wrapped_key(
            "mbr-old", wrap_data_key(old, new_data_key(), member_id="mbr-old").to_bytes()
        )
    database.dispose()
    refused = _run(operator_dir, _documented("coalition keys retire-master"))
    assert refused.returncode == 2
    assert re.search(r"1 data key\(s\) are still wrapped under mk-1", refused.stderr)
    assert Keyring.load(keyring_path).master_key_ids == ("mk-1", "mk-2")  # untouched


def test_serve_erases_again_at_start_what_the_ledger_lists(operator_dir: Path) -> None:
    from tests.e2e.test_cli import _free_port, _wait_healthy

    _member_with_key(operator_dir, "mbr-back-from-a-backup")
    ErasureLedger.beside(operator_dir / "var" / "keyring.json").record("mbr-back-from-a-backup", 1, "voltline")
    target = f"127.0.0.1:{_free_port()}"
    process = subprocess.Popen(
        [COALITION, "serve", "--listen", target, "--var-dir", "var", "--metrics-listen", ""],
        cwd=operator_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(target, process)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "re-applied erasures" in output
    database = Database(f"sqlite:///{operator_dir / 'var' / 'exchange.sqlite3'}")
    with database.engine.connect() as connection:
        key = connection.execute(sqlalchemy.text("SELECT wrapped_key FROM member_keys")).scalar_one()
    database.dispose()
    assert key is None
