"""Envelope encryption: values sealed under a member's data key, data keys wrapped under a master key.

Each member has a random 32-byte data key. Their attributes are sealed under it with
AES-256-GCM; the data key itself is stored only wrapped (AES-256-GCM under the keyring's
current master key, with associated data ``b"coalition-dek-v1|" + member_id`` so a wrapped
key copied onto another member does not unwrap). Rotating a master key rewraps the small
data keys, never the data; erasing a member deletes their wrapped key, and every value
sealed under it becomes unreadable wherever copies of it survive (backups, replicas).

A wrapped data key, version 1 (``WrappedKey.to_bytes``), 66 bytes for "mk-1"::

    offset  size  field
    0       1     format version, 0x01
    1       1     n, the length of the master key id (1..255)
    2       n     master key id, ASCII (e.g. "mk-1")
    2+n     12    GCM nonce, random
    14+n    48    GCM ciphertext of the 32-byte data key, then the 16-byte tag

A sealed value, version 1 (``encrypt_value``), 29 bytes plus the plaintext's length::

    offset  size  field
    0       1     format version, 0x01
    1       12    GCM nonce, random
    13      k+16  GCM ciphertext of the k-byte plaintext, then the 16-byte tag

The GCM associated data of a sealed value is its version byte followed by the caller's
``aad``, so the header is authenticated too. Callers choose ``aad`` to bind a value to where
it belongs (member, attribute name), so that a value moved elsewhere does not decrypt.

Nonces are random 96-bit values: safe for up to 2**32 seals under one key, far beyond the
attributes of one member or the data keys under one master key between rotations.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from exchange.secrets.keyring import Keyring, SecretsError, UnknownMasterKey

DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_DATA_KEY_BYTES = DATA_KEY_BYTES + TAG_BYTES
MAX_MASTER_KEY_ID_BYTES = 255
DATA_KEY_AAD_PREFIX = b"coalition-dek-v1|"
WRAPPED_KEY_VERSION = 1
SEALED_VALUE_VERSION = 1
SEALED_VALUE_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES
MAX_VALUE_BYTES = 64 * 1024

_WRAPPED_KEY_HEADER = bytes([WRAPPED_KEY_VERSION])
_SEALED_VALUE_HEADER = bytes([SEALED_VALUE_VERSION])


class UnwrapError(SecretsError):
    """A wrapped data key is malformed, was tampered with, belongs to another member, or its master key is gone."""

    reason = "DATA_KEY_UNWRAP_FAILED"


class DecryptError(SecretsError):
    """A sealed value is malformed, was tampered with, or was sealed under another data key or aad."""

    reason = "VALUE_DECRYPT_FAILED"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A member's data key as stored: encrypted under the master key named by ``master_key_id``."""

    master_key_id: str
    nonce: bytes
    ciphertext: bytes

    def __post_init__(self) -> None:
        problem = _wrapped_key_problem(self.master_key_id, self.nonce, self.ciphertext)
        if problem is not None:
            raise ValueError(problem)

    def to_bytes(self) -> bytes:
        """Return the version-1 binary layout (see the module docstring)."""
        key_id = self.master_key_id.encode("ascii")
        return _WRAPPED_KEY_HEADER + bytes([len(key_id)]) + key_id + self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes) -> WrappedKey:
        """Parse the binary layout written by ``to_bytes``.

        Raises:
            UnwrapError: The bytes are not a version-1 wrapped key of the right length.
        """
        if len(data) < 2 or data[:1] != _WRAPPED_KEY_HEADER:
            raise UnwrapError("not a version-1 wrapped data key")
        id_length = data[1]
        expected = 2 + id_length + NONCE_BYTES + WRAPPED_DATA_KEY_BYTES
        if len(data) != expected:
            raise UnwrapError(f"a wrapped data key with a {id_length}-byte key id is {expected} bytes, got {len(data)}")
        nonce_at = 2 + id_length
        try:
            key_id = data[2:nonce_at].decode("ascii")
        except UnicodeDecodeError:
            raise UnwrapError("the master key id of a wrapped data key is not ASCII") from None
        nonce, ciphertext = data[nonce_at : nonce_at + NONCE_BYTES], data[nonce_at + NONCE_BYTES :]
        problem = _wrapped_key_problem(key_id, nonce, ciphertext)
        if problem is not None:
            raise UnwrapError(problem)
        return cls(key_id, nonce, ciphertext)


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data key."""
    return secrets.token_bytes(DATA_KEY_BYTES)


def wrap_data_key(keyring: Keyring, data_key: bytes, *, member_id: str) -> WrappedKey:
    """Encrypt a member's data key under the keyring's current master key, bound to the member.

    Raises:
        ValueError: The data key is not 32 bytes or the member id is empty.
    """
    _check_data_key(data_key)
    key_id = keyring.current_master_key_id
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = AESGCM(keyring.master_key(key_id)).encrypt(nonce, data_key, _data_key_aad(member_id))
    return WrappedKey(key_id, nonce, ciphertext)


def unwrap_data_key(keyring: Keyring, wrapped: WrappedKey, *, member_id: str) -> bytes:
    """Decrypt a member's data key with the master key it was wrapped under.

    Raises:
        UnwrapError: The master key is not in the keyring, or the wrapped key does not
            authenticate (tampered with, or wrapped for another member).
    """
    try:
        master_key = keyring.master_key(wrapped.master_key_id)
    except UnknownMasterKey as exc:
        raise UnwrapError(f"cannot unwrap the data key: {exc}") from exc
    try:
        return AESGCM(master_key).decrypt(wrapped.nonce, wrapped.ciphertext, _data_key_aad(member_id))
    except InvalidTag:
        raise UnwrapError(
            f"the data key wrapped under {wrapped.master_key_id!r} does not authenticate for this member "
            "(tampered with, or wrapped for another member)"
        ) from None


def rewrap(keyring: Keyring, wrapped: WrappedKey, *, member_id: str) -> WrappedKey:
    """Move a wrapped data key to the keyring's current master key (master-key rotation).

    The key is always unwrapped first, so a rotation pass also finds corrupt keys. One that is
    already under the current master key is returned as it is: nothing to write back.

    Raises:
        UnwrapError: As for ``unwrap_data_key``.
    """
    data_key = unwrap_data_key(keyring, wrapped, member_id=member_id)
    if wrapped.master_key_id == keyring.current_master_key_id:
        return wrapped
    return wrap_data_key(keyring, data_key, member_id=member_id)


def encrypt_value(data_key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Seal plaintext under a data key with AES-256-GCM and a fresh random nonce.

    Args:
        data_key: The member's 32-byte data key.
        plaintext: At most ``MAX_VALUE_BYTES`` bytes.
        aad: Associated data the value is bound to; the same bytes are needed to decrypt.

    Returns:
        The version-1 sealed value (see the module docstring).

    Raises:
        ValueError: The data key is not 32 bytes or the plaintext is too long.
    """
    _check_data_key(data_key)
    if len(plaintext) > MAX_VALUE_BYTES:
        raise ValueError(f"a sealed value holds at most {MAX_VALUE_BYTES} bytes, got {len(plaintext)}")
    nonce = secrets.token_bytes(NONCE_BYTES)
    return _SEALED_VALUE_HEADER + nonce + AESGCM(data_key).encrypt(nonce, plaintext, _SEALED_VALUE_HEADER + aad)


def decrypt_value(data_key: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    """Open a value sealed by ``encrypt_value`` under the same data key and aad.

    Raises:
        ValueError: The data key is not 32 bytes.
        DecryptError: The sealed value is malformed, was tampered with, or was sealed under
            another data key or aad.
    """
    _check_data_key(data_key)
    if len(sealed) < SEALED_VALUE_OVERHEAD_BYTES or sealed[:1] != _SEALED_VALUE_HEADER:
        raise DecryptError("not a version-1 sealed value")
    if len(sealed) > SEALED_VALUE_OVERHEAD_BYTES + MAX_VALUE_BYTES:
        raise DecryptError(f"a sealed value holds at most {MAX_VALUE_BYTES} bytes of plaintext")
    nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, _SEALED_VALUE_HEADER + aad)
    except InvalidTag:
        raise DecryptError(
            "the sealed value does not authenticate (tampered with, or another data key or aad)"
        ) from None


def _data_key_aad(member_id: str) -> bytes:
    if not member_id:
        raise ValueError("a data key is bound to a member: member_id must not be empty")
    return DATA_KEY_AAD_PREFIX + member_id.encode("utf-8")


def _check_data_key(data_key: bytes) -> None:
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes, got {len(data_key)}")


def _wrapped_key_problem(master_key_id: str, nonce: bytes, ciphertext: bytes) -> str | None:
    """Say what is wrong with the parts of a wrapped key, or None when they fit the layout."""
    if not master_key_id or not master_key_id.isascii() or len(master_key_id) > MAX_MASTER_KEY_ID_BYTES:
        return f"a master key id is 1 to {MAX_MASTER_KEY_ID_BYTES} ASCII characters, got {master_key_id!r}"
    if len(nonce) != NONCE_BYTES:
        return f"a wrapped data key's nonce is {NONCE_BYTES} bytes, got {len(nonce)}"
    if len(ciphertext) != WRAPPED_DATA_KEY_BYTES:
        return f"a wrapped data key's ciphertext is {WRAPPED_DATA_KEY_BYTES} bytes, got {len(ciphertext)}"
    return None
