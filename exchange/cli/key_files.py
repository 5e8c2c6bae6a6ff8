"""The hub's and the operator's key files under the var directory, plain or passphrase-protected.

An encrypted key file's passphrase comes from an environment variable (COALITION_HUB_KEY_PASSPHRASE
for the hub key, COALITION_OPERATOR_KEY_PASSPHRASE for the operator key) or, when that is unset and
stdin is a terminal, from a prompt that does not echo. A key that can't be read raises KeyFileError,
whose message is the one line a command prints before it exits 2.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from exchange.api.response_signing import HubSigner
from exchange.service.authentication import OperatorKey
from partner_sdk.keys import (
    Ed25519PrivateKey,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_key_bytes,
    save_private_key,
)
from partner_sdk.operator import operator_key_id

DEFAULT_VAR_DIR = Path("var")
OPERATOR_KEY_FILE = "operator_key.pem"
HUB_KEY_FILE = "hub_key.pem"
KEYRING_FILE = "keyring.json"
HUB_KEY_PASSPHRASE_ENV = "COALITION_HUB_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a passphrase
OPERATOR_KEY_PASSPHRASE_ENV = "COALITION_OPERATOR_KEY_PASSPHRASE"  # noqa: S105 - a variable name

# Asks for a passphrase on the terminal; None when there is no terminal to ask on.
Ask = Callable[[str], str | None]


class KeyFileError(Exception):
    """A key file that can't be read: missing, not a key, or encrypted without the right passphrase."""


def ask_on_terminal(prompt: str) -> str | None:
    """Ask for a passphrase without echo if stdin is a terminal; return None if it is not."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(prompt)


def passphrase_from_env(name: str, environ: Mapping[str, str] | None = None) -> bytes | None:
    """Return the passphrase in the environment variable name, or None if it is unset or empty."""
    value = (os.environ if environ is None else environ).get(name)
    return value.encode() if value else None


def read_private_key(
    path: Path, passphrase_env: str | None, *, environ: Mapping[str, str] | None = None, ask: Ask = ask_on_terminal
) -> Ed25519PrivateKey:
    """Read a private key PEM, asking for its passphrase (variable, else terminal) only if it is encrypted.

    Raises:
        KeyFileError: the file is missing or no Ed25519 key, or it is encrypted and no passphrase is
            at hand or the passphrase is wrong.
    """
    try:
        return load_private_key(path)
    except TypeError:
        pass  # encrypted: cryptography wants a password
    except (OSError, ValueError) as error:
        raise KeyFileError(f"can't read the key file {path}: {error}") from None
    passphrase = passphrase_from_env(passphrase_env, environ) if passphrase_env else None
    if passphrase is None:
        typed = ask(f"passphrase for {path}: ")
        if typed is None:
            where = f"set {passphrase_env} to its passphrase" if passphrase_env else "give --passphrase-env VAR"
            raise KeyFileError(f"{path} is encrypted: {where}, or run on a terminal to be asked")
        passphrase = typed.encode()
    try:
        return load_private_key(path, passphrase)
    except ValueError:
        raise KeyFileError(f"wrong passphrase for the encrypted key file {path}") from None


def public_key_from_hex(text: str) -> bytes:
    """An Ed25519 public key written as 64 hex digits (as `coalition keys show` prints it).

    Raises:
        ValueError: with a message fit for one line, if text is not 32 bytes of hex.
    """
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"{text[:80]!r} is not hex (an Ed25519 public key is 64 hex digits)") from None
    if len(key) != 32:
        raise ValueError(f"an Ed25519 public key is 64 hex digits, not {len(text.strip())}")
    return key


def create_private_key_if_absent(path: Path, passphrase_env: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Generate a key at path unless a file is there, encrypted if passphrase_env is set; say whether it did."""
    if path.exists():
        return False
    save_private_key(path, generate_private_key(), passphrase_from_env(passphrase_env, environ))
    return True


def operator_key_from_file(path: Path) -> OperatorKey:
    """Read the operator's key (public or private PEM, plain or encrypted) for the hub to trust."""
    text = path.read_bytes()
    if b"PRIVATE KEY" in text:
        public = public_key_bytes(read_private_key(path, OPERATOR_KEY_PASSPHRASE_ENV))
    else:
        try:
            public = public_key_bytes(load_public_key(path))
        except ValueError as error:
            raise KeyFileError(f"can't read the key file {path}: {error}") from None
    return OperatorKey(key_id=operator_key_id(public), public_key=public)


def hub_signer(path: Path) -> tuple[HubSigner, bool]:
    """Return the hub's response signer from path, creating the key on first run."""
    created = create_private_key_if_absent(path, HUB_KEY_PASSPHRASE_ENV)
    return HubSigner.from_key(read_private_key(path, HUB_KEY_PASSPHRASE_ENV)), created
