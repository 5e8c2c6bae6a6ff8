"""The hub's and the operator's key files under the var directory."""

from __future__ import annotations

from pathlib import Path

from exchange.api.response_signing import HubSigner
from exchange.service.authentication import OperatorKey
from partner_sdk.keys import (
    Ed25519PrivateKey,
    fingerprint,
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


def load_or_create_private_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """Load the key at path, or generate and save one there; say whether it was created."""
    if path.exists():
        return load_private_key(path), False
    key = generate_private_key()
    save_private_key(path, key)
    return key, True


def operator_key_from_file(path: Path) -> OperatorKey:
    """Read the operator's key (public or private PEM) for the hub to trust."""
    text = path.read_bytes()
    public = public_key_bytes(load_private_key(path) if b"PRIVATE KEY" in text else load_public_key(path))
    return OperatorKey(key_id=operator_key_id(public), public_key=public)


def hub_signer(path: Path) -> tuple[HubSigner, bool]:
    """Return the hub's response signer from path, creating the key on first run."""
    key, created = load_or_create_private_key(path)
    return HubSigner.from_key(key), created


def short_fingerprint(public_key: bytes) -> str:
    """Return a fingerprint short enough for a table (the first 16 hex digits)."""
    return fingerprint(public_key)[:23]
