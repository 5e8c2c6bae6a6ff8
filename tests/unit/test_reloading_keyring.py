"""A running hub's keyring follows its file: a rotation by another process is seen without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.secrets import keyring as keyring_module
from exchange.secrets.envelope import new_data_key, unwrap_data_key, wrap_data_key
from exchange.secrets.keyring import Keyring, ReloadingKeyring, UnknownMasterKey


def test_a_data_key_wrapped_under_a_master_key_it_lacks_makes_it_reread_the_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    running = ReloadingKeyring(path)
    rotated = Keyring.load(path).with_new_master_key()  # rotate-master, in another process
    rotated.save(path)
    data_key = new_data_key()
    wrapped = wrap_data_key(rotated, data_key, member_id="mbr-1")
    assert unwrap_data_key(running, wrapped, member_id="mbr-1") == data_key
    assert running.master_key_ids == ("mk-1", "mk-2")


def test_new_data_keys_go_under_the_new_master_key_soon_after_a_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring_module, "KEYRING_RECHECK_S", 0.0)
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    running = ReloadingKeyring(path)
    Keyring.load(path).with_new_master_key().save(path)
    assert wrap_data_key(running, new_data_key(), member_id="mbr-1").master_key_id == "mk-2"


def test_a_retired_master_key_is_gone_from_a_running_hub_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring_module, "KEYRING_RECHECK_S", 0.0)
    path = tmp_path / "keyring.json"
    Keyring.generate().with_new_master_key().save(path)
    running = ReloadingKeyring(path)
    Keyring.load(path).without_master_key("mk-1").save(path)
    assert running.current_master_key_id == "mk-2"
    with pytest.raises(UnknownMasterKey):
        running.master_key("mk-1")


def test_a_file_that_now_holds_another_keyring_is_refused_and_the_old_one_kept(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    running = ReloadingKeyring(path)
    secret = running.pairwise_secret
    Keyring.generate().with_new_master_key().save(path)
    assert running.reload() is False
    assert running.pairwise_secret == secret and running.master_key_ids == ("mk-1",)
