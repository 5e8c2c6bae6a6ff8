"""The hub's and the operator's key files, plain or passphrase-protected (exchange.cli.key_files)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from exchange.cli.key_files import (
    HUB_KEY_PASSPHRASE_ENV,
    OPERATOR_KEY_PASSPHRASE_ENV,
    KeyFileError,
    create_private_key_if_absent,
    hub_signer,
    operator_key_from_file,
    read_private_key,
)
from partner_sdk import generate_private_key, load_private_key, public_key_bytes, save_private_key
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.operator import operator_key_id

PASSPHRASE = "correct horse battery staple"


class Terminal:
    """A terminal that answers each prompt with the next of its answers, and records the prompts."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str | None:
        self.prompts.append(prompt)
        return self.answers.pop(0)


def no_terminal(_prompt: str) -> str | None:
    return None


def never_asked(prompt: str) -> str | None:
    raise AssertionError(f"asked {prompt!r} for a key that needs no passphrase")


def _encrypted_key(path: Path) -> Ed25519PrivateKey:
    key = generate_private_key()
    save_private_key(path, key, PASSPHRASE.encode())
    return key


def test_a_plain_key_is_read_without_a_passphrase_even_if_the_variable_is_set(tmp_path: Path) -> None:
    key = generate_private_key()
    save_private_key(tmp_path / "hub.pem", key)
    environ = {HUB_KEY_PASSPHRASE_ENV: "not needed"}
    read = read_private_key(tmp_path / "hub.pem", HUB_KEY_PASSPHRASE_ENV, environ=environ, ask=never_asked)
    assert public_key_bytes(read) == public_key_bytes(key)


def test_an_encrypted_key_is_read_with_the_passphrase_in_its_variable(tmp_path: Path) -> None:
    key = _encrypted_key(tmp_path / "hub.pem")
    environ = {HUB_KEY_PASSPHRASE_ENV: PASSPHRASE}
    read = read_private_key(tmp_path / "hub.pem", HUB_KEY_PASSPHRASE_ENV, environ=environ, ask=never_asked)
    assert public_key_bytes(read) == public_key_bytes(key)


def test_an_encrypted_key_without_its_variable_is_asked_for_on_the_terminal(tmp_path: Path) -> None:
    key = _encrypted_key(tmp_path / "operator.pem")
    terminal = Terminal(PASSPHRASE)
    read = read_private_key(tmp_path / "operator.pem", OPERATOR_KEY_PASSPHRASE_ENV, environ={}, ask=terminal)
    assert public_key_bytes(read) == public_key_bytes(key)
    assert terminal.prompts == [f"passphrase for {tmp_path / 'operator.pem'}: "]


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    _encrypted_key(tmp_path / "hub.pem")
    terminal = Terminal(PASSPHRASE)
    read_private_key(tmp_path / "hub.pem", HUB_KEY_PASSPHRASE_ENV, environ={HUB_KEY_PASSPHRASE_ENV: ""}, ask=terminal)
    assert len(terminal.prompts) == 1


def test_an_encrypted_key_with_no_variable_and_no_terminal_is_refused_in_one_line_naming_the_variable(
    tmp_path: Path,
) -> None:
    _encrypted_key(tmp_path / "hub.pem")
    with pytest.raises(KeyFileError) as refused:
        read_private_key(tmp_path / "hub.pem", HUB_KEY_PASSPHRASE_ENV, environ={}, ask=no_terminal)
    assert HUB_KEY_PASSPHRASE_ENV in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_wrong_passphrase_is_refused_in_one_line_that_does_not_repeat_it(tmp_path: Path) -> None:
    _encrypted_key(tmp_path / "hub.pem")
    environ = {HUB_KEY_PASSPHRASE_ENV: "wrong horse"}
    with pytest.raises(KeyFileError, match="wrong passphrase") as refused:
        read_private_key(tmp_path / "hub.pem", HUB_KEY_PASSPHRASE_ENV, environ=environ, ask=never_asked)
    assert "\n" not in str(refused.value)
    assert "wrong horse" not in str(refused.value)


def test_a_missing_key_file_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="can't read the key file"):
        read_private_key(tmp_path / "absent.pem", HUB_KEY_PASSPHRASE_ENV, environ={}, ask=never_asked)


def test_a_key_created_with_its_variable_set_is_encrypted_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "var" / "hub_key.pem"
    assert create_private_key_if_absent(path, HUB_KEY_PASSPHRASE_ENV, environ={HUB_KEY_PASSPHRASE_ENV: PASSPHRASE})
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_private_key(path, PASSPHRASE.encode())


def test_a_key_created_without_its_variable_is_plain_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = tmp_path / "operator_key.pem"
    assert create_private_key_if_absent(path, OPERATOR_KEY_PASSPHRASE_ENV, environ={})
    assert b"ENCRYPTED" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_private_key(path)


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "hub_key.pem"
    save_private_key(path, generate_private_key())
    before = path.read_bytes()
    assert not create_private_key_if_absent(path, HUB_KEY_PASSPHRASE_ENV, environ={HUB_KEY_PASSPHRASE_ENV: "x"})
    assert path.read_bytes() == before


def test_the_hub_creates_its_key_encrypted_when_its_variable_is_set_and_signs_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HUB_KEY_PASSPHRASE_ENV, PASSPHRASE)
    signer, created = hub_signer(tmp_path / "hub_key.pem")
    assert created
    assert public_key_bytes(load_private_key(tmp_path / "hub_key.pem", PASSPHRASE.encode())) == signer.public_key
    again, created = hub_signer(tmp_path / "hub_key.pem")
    assert not created
    assert again.public_key == signer.public_key


def test_the_hub_trusts_an_encrypted_operator_private_key_read_with_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _encrypted_key(tmp_path / "operator.pem")
    monkeypatch.setenv(OPERATOR_KEY_PASSPHRASE_ENV, PASSPHRASE)
    trusted = operator_key_from_file(tmp_path / "operator.pem")
    assert trusted.public_key == public_key_bytes(key)
    assert trusted.key_id == operator_key_id(public_key_bytes(key))
