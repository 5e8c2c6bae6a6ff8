"""`coalition keys rotate-master` checks the database before it writes, and keeps the previous keyring."""

from __future__ import annotations

from pathlib import Path

from exchange.secrets.keyring import Keyring
from tests.e2e.test_erasure_cli import DB_URL, _member_with_key, _run, operator_dir  # noqa: F401 (fixture)


def test_a_rotation_with_a_bad_database_url_changes_nothing(operator_dir: Path) -> None:  # noqa: F811
    keyring_path = operator_dir / "var" / "keyring.json"
    before = keyring_path.read_bytes()
    for bad in ("", "sqlite:///var/no-such-dir/x.sqlite3", "postgresql+psycopg://nobody@127.0.0.1:1/x"):
        refused = _run(
            operator_dir, ["coalition", "keys", "rotate-master", "--keyring", "var/keyring.json", "--db", bad]
        )
        assert refused.returncode == 2, (bad, refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert keyring_path.read_bytes() == before
    assert [p.name for p in keyring_path.parent.iterdir() if "before-rotate" in p.name] == []


def test_a_rotation_keeps_the_previous_keyring_beside_the_new_one(operator_dir: Path) -> None:  # noqa: F811
    _member_with_key(operator_dir, "mbr-1")
    done = _run(operator_dir, ["coalition", "keys", "rotate-master", "--keyring", "var/keyring.json", "--db", DB_URL])
    assert done.returncode == 0, done.stderr
    assert "1 data key(s) re-wrapped" in done.stdout
    keyring_path = operator_dir / "var" / "keyring.json"
    assert Keyring.load(keyring_path).master_key_ids == ("mk-1", "mk-2")
    assert Keyring.load(keyring_path.with_name("keyring.json.before-rotate-mk-2")).master_key_ids == ("mk-1",)
