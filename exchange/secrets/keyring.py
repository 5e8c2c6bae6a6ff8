"""The hub's data-protection secrets, kept in one JSON file readable only by the hub.

The file, written with mode 0600 and generated on first use::

    {
      "version": 1,
      "current_master_key_id": "mk-2",
      "master_keys": {"mk-1": "<64 hex digits>", "mk-2": "<64 hex digits>"},
      "pairwise_secret": "<64 hex digits>"
    }

Master keys wrap members' data keys (see ``envelope``). Rotation adds a master key and makes
it current; old ones stay so that data keys wrapped under them can still be unwrapped until
they have been rewrapped. Retiring an old master key (``coalition keys retire-master``, once no
data key in the database is wrapped under it) removes it for good: every copy of a data key
wrapped under it, in backups taken before the rotation, can no longer be unwrapped.

The pairwise secret never rotates: brands know members by ids derived from it, and a new secret
would give every member new ids.

Losing this file loses every encrypted member attribute, so every write is atomic and
durable: a temporary file in the same directory, fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

FORMAT_VERSION = 1
KEYRING_FILE_MODE = 0o600
KEYRING_DIR_MODE = 0o700
MASTER_KEY_BYTES = 32
PAIRWISE_SECRET_BYTES = MASTER_KEY_BYTES
MASTER_KEY_ID_PREFIX = "mk-"
MASTER_KEY_ID_PATTERN = re.compile(r"mk-([1-9][0-9]{0,8})")
FIRST_MASTER_KEY_ID = "mk-1"
MAX_MASTER_KEYS = 1_000
MAX_KEYRING_FILE_BYTES = 1024 * 1024
FINGERPRINT_CONTEXT = b"coalition-keyring-fingerprint-v1|"

_log = logging.getLogger("exchange.keyring")

_FIELDS = frozenset({"version", "current_master_key_id", "master_keys", "pairwise_secret"})
_KEY_HEX_DIGITS = 2 * MASTER_KEY_BYTES
_HEX_KEY_PATTERN = re.compile(rf"[0-9a-fA-F]{{{_KEY_HEX_DIGITS}}}")


class SecretsError(Exception):
    """An expected failure of the secrets package, with a stable machine-readable reason."""

    reason = "SECRETS_ERROR"


class UnknownMasterKey(SecretsError, LookupError):
    """The keyring holds no master key with the requested id (retired, or never existed)."""

    reason = "UNKNOWN_MASTER_KEY"

    def __init__(self, key_id: str, known: tuple[str, ...]) -> None:
        super().__init__(f"no master key {key_id!r} in the keyring (it holds {', '.join(known)})")
        self.key_id = key_id


class Keyring:
    """Master keys by id (one of them current) and the pairwise secret.

    Immutable: rotation returns a new keyring, which must be saved before anything is wrapped
    under its new key. ``repr`` and ``str`` show key ids only, never key material.
    """

    __slots__ = ("_current_master_key_id", "_master_keys", "_pairwise_secret")

    def __init__(self, *, current_master_key_id: str, master_keys: Mapping[str, bytes], pairwise_secret: bytes) -> None:
        """Build a keyring, checking every key id and size.

        Args:
            current_master_key_id: The id of the master key new data keys are wrapped under.
            master_keys: Every master key by id ("mk-<n>"), 32 bytes each.
            pairwise_secret: The 32-byte secret pairwise member ids are derived from.

        Raises:
            ValueError: An id is malformed, the current id is missing, or a key has the wrong size.
        """
        if not master_keys:
            raise ValueError("a keyring needs at least one master key")
        if len(master_keys) > MAX_MASTER_KEYS:
            raise ValueError(f"a keyring holds at most {MAX_MASTER_KEYS} master keys, got {len(master_keys)}")
        for key_id, key in master_keys.items():
            _key_number(key_id)
            if len(key) != MASTER_KEY_BYTES:
                raise ValueError(f"master key {key_id!r} must be {MASTER_KEY_BYTES} bytes, got {len(key)}")
        if current_master_key_id not in master_keys:
            raise ValueError(f"the current master key {current_master_key_id!r} is not among the master keys")
        if len(pairwise_secret) != PAIRWISE_SECRET_BYTES:
            raise ValueError(f"the pairwise secret must be {PAIRWISE_SECRET_BYTES} bytes, got {len(pairwise_secret)}")
        ordered = sorted(master_keys.items(), key=lambda item: _key_number(item[0]))
        self._current_master_key_id = current_master_key_id
        self._master_keys: Mapping[str, bytes] = MappingProxyType({key_id: bytes(key) for key_id, key in ordered})
        self._pairwise_secret = bytes(pairwise_secret)

    @classmethod
    def generate(cls) -> Keyring:
        """Return a fresh keyring: one master key "mk-1" and a pairwise secret, from ``secrets``."""
        return cls(
            current_master_key_id=FIRST_MASTER_KEY_ID,
            master_keys={FIRST_MASTER_KEY_ID: secrets.token_bytes(MASTER_KEY_BYTES)},
            pairwise_secret=secrets.token_bytes(PAIRWISE_SECRET_BYTES),
        )

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read and validate the keyring file at path.

        Raises:
            FileNotFoundError: There is no file at path.
            ValueError: The file is not a valid keyring; the message names the file and the problem.
        """
        with path.open("rb") as file:
            raw = file.read(MAX_KEYRING_FILE_BYTES + 1)
        try:
            if len(raw) > MAX_KEYRING_FILE_BYTES:
                raise ValueError(f"larger than {MAX_KEYRING_FILE_BYTES} bytes")
            try:
                document = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"not valid JSON ({exc})") from exc
            return cls._from_document(document)
        except ValueError as exc:
            raise ValueError(f"keyring file {path}: {exc}") from exc

    @classmethod
    def load_or_create(cls, path: Path) -> tuple[Keyring, bool]:
        """Load the keyring at path, or generate one and save it there; say whether it was created.

        Creation never replaces a file: when two processes start at once, exactly one keyring
        is written and both use it (data wrapped under a keyring that lost the race would be
        unreadable forever).
        """
        with contextlib.suppress(FileNotFoundError):
            return cls.load(path), False
        fresh = cls.generate()
        path.parent.mkdir(mode=KEYRING_DIR_MODE, parents=True, exist_ok=True)
        with _written_temporary(path, fresh._to_json()) as temporary:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return cls.load(path), False
        _fsync_directory(path.parent)
        return fresh, True

    def save(self, path: Path) -> None:
        """Write the keyring to path atomically (temporary file, fsync, rename) with mode 0600."""
        with _written_temporary(path, self._to_json()) as temporary:
            os.replace(temporary, path)
        _fsync_directory(path.parent)

    @property
    def current_master_key_id(self) -> str:
        """The id of the master key new data keys are wrapped under."""
        return self._current_master_key_id

    @property
    def master_key_ids(self) -> tuple[str, ...]:
        """Every master key id, oldest first."""
        return tuple(self._master_keys)

    def master_key(self, key_id: str) -> bytes:
        """Return the 32-byte master key with this id.

        Raises:
            UnknownMasterKey: The keyring holds no such key.
        """
        try:
            return self._master_keys[key_id]
        except KeyError:
            raise UnknownMasterKey(key_id, self.master_key_ids) from None

    @property
    def fingerprint(self) -> str:
        """A short public name of this keyring, the same after master-key rotation and retirement.

        Derived one way from the pairwise secret, which never rotates: it names which keyring a
        database's members belong to without revealing anything of it.
        """
        digest = hashlib.sha256(FINGERPRINT_CONTEXT + self._pairwise_secret).hexdigest()
        return f"kr-{digest[:24]}"

    @property
    def pairwise_secret(self) -> bytes:
        """The 32-byte secret pairwise member ids and link code digests are derived from."""
        return self._pairwise_secret

    def with_new_master_key(self) -> Keyring:
        """Return a keyring with a new current master key "mk-<n+1>", keeping every old one.

        Raises:
            ValueError: The keyring already holds ``MAX_MASTER_KEYS`` keys; retire some first.
        """
        next_number = max(_key_number(key_id) for key_id in self._master_keys) + 1
        new_id = f"{MASTER_KEY_ID_PREFIX}{next_number}"
        return Keyring(
            current_master_key_id=new_id,
            master_keys={**self._master_keys, new_id: secrets.token_bytes(MASTER_KEY_BYTES)},
            pairwise_secret=self._pairwise_secret,
        )

    def without_master_key(self, key_id: str) -> Keyring:
        """Return a keyring without an old master key (retirement: data keys wrapped under it are lost).

        Raises:
            UnknownMasterKey: The keyring holds no such key.
            ValueError: It is the current master key, which must stay.
        """
        self.master_key(key_id)
        if key_id == self._current_master_key_id:
            raise ValueError(f"{key_id!r} is the current master key; rotate first, then retire the old one")
        return Keyring(
            current_master_key_id=self._current_master_key_id,
            master_keys={k: v for k, v in self._master_keys.items() if k != key_id},
            pairwise_secret=self._pairwise_secret,
        )

    def __repr__(self) -> str:
        return f"Keyring(current_master_key_id={self._current_master_key_id!r}, master_key_ids={self.master_key_ids!r})"

    @classmethod
    def _from_document(cls, document: object) -> Keyring:
        if not isinstance(document, dict):
            raise ValueError("the top level must be a JSON object")
        unknown = sorted(set(document) - _FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {unknown}")
        missing = sorted(_FIELDS - set(document))
        if missing:
            raise ValueError(f"missing fields {missing}")
        version = document["version"]
        if type(version) is not int or version != FORMAT_VERSION:
            raise ValueError(f"unsupported version {version!r} (this hub reads version {FORMAT_VERSION})")
        current = document["current_master_key_id"]
        if not isinstance(current, str):
            raise ValueError("current_master_key_id must be a string")
        master_keys = document["master_keys"]
        if not isinstance(master_keys, dict):
            raise ValueError("master_keys must be an object of key id to 64 hex digits")
        return cls(
            current_master_key_id=current,
            master_keys={key_id: _hex_key(f"master key {key_id!r}", text) for key_id, text in master_keys.items()},
            pairwise_secret=_hex_key("pairwise_secret", document["pairwise_secret"]),
        )

    def _to_json(self) -> bytes:
        document = {
            "version": FORMAT_VERSION,
            "current_master_key_id": self._current_master_key_id,
            "master_keys": {key_id: key.hex() for key_id, key in self._master_keys.items()},
            "pairwise_secret": self._pairwise_secret.hex(),
        }
        return (json.dumps(document, indent=2) + "\n").encode("ascii")


def _key_number(key_id: str) -> int:
    match = MASTER_KEY_ID_PATTERN.fullmatch(key_id)
    if match is None:
        raise ValueError(f"master key id {key_id!r} is not of the form 'mk-<n>' (n from 1)")
    return int(match.group(1))


def _hex_key(name: str, text: object) -> bytes:
    if not isinstance(text, str) or _HEX_KEY_PATTERN.fullmatch(text) is None:
        raise ValueError(f"{name} must be {_KEY_HEX_DIGITS} hex digits")
    return bytes.fromhex(text)


@contextlib.contextmanager
def _written_temporary(path: Path, content: bytes) -> Iterator[str]:
    """Yield a durable mode-0600 temporary file beside path holding content; remove it afterwards."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.chmod(temporary, KEYRING_FILE_MODE)
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        yield temporary
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _fsync_directory(directory: Path) -> None:
    """Make a rename or link in directory durable (where the platform allows opening directories)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


KEYRING_RECHECK_S = 2.0  # how often a running hub looks at its keyring file for a rotation


class ReloadingKeyring(Keyring):
    """The keyring a running hub holds: it follows its file, so a replica sees `rotate-master` without a restart.

    A master key it lacks (wrapped by a replica that already has the new file) makes it re-read
    the file at once; otherwise it looks at the file's modification at most every
    ``KEYRING_RECHECK_S`` when it wraps a new data key, so it wraps under the new current master
    key soon after a rotation. A file whose pairwise secret differs (another keyring) is refused:
    the hub keeps what it has and says so in the log.
    """

    __slots__ = ("_checked_at", "_lock", "_path", "_stamp")

    def __init__(self, path: Path, loaded: Keyring | None = None) -> None:
        """Hold the keyring at path (already loaded, or loaded now)."""
        keyring = loaded if loaded is not None else Keyring.load(path)
        super().__init__(
            current_master_key_id=keyring.current_master_key_id,
            master_keys={key_id: keyring.master_key(key_id) for key_id in keyring.master_key_ids},
            pairwise_secret=keyring.pairwise_secret,
        )
        self._path = path
        self._lock = threading.Lock()
        self._stamp = _file_stamp(path)
        self._checked_at = time.monotonic()

    @property
    def current_master_key_id(self) -> str:
        """The id of the master key new data keys are wrapped under (after a look at the file, now and then)."""
        if time.monotonic() - self._checked_at >= KEYRING_RECHECK_S:
            self.reload(only_if_changed=True)
        return self._current_master_key_id

    def master_key(self, key_id: str) -> bytes:
        """Return a master key, re-reading the file once if this hub does not have it yet."""
        try:
            return super().master_key(key_id)
        except UnknownMasterKey:
            if not self.reload(only_if_changed=False):
                raise
        return super().master_key(key_id)

    def reload(self, *, only_if_changed: bool = False) -> bool:
        """Re-read the file; return whether the keyring changed.

        Raises nothing: a file that can't be read, or holds another keyring, leaves this one as it is.
        """
        with self._lock:
            self._checked_at = time.monotonic()
            stamp = _file_stamp(self._path)
            if only_if_changed and stamp == self._stamp:
                return False
            try:
                fresh = Keyring.load(self._path)
            except (OSError, ValueError) as error:
                _log.error("keeping the keyring in memory: %s", error)
                return False
            if fresh.pairwise_secret != self._pairwise_secret:
                _log.error("keeping the keyring in memory: %s now holds another keyring", self._path)
                return False
            self._stamp = stamp
            if (
                fresh.master_key_ids == self.master_key_ids
                and fresh._current_master_key_id == self._current_master_key_id
            ):
                return False
            # Keys first, then the current id: a reader never sees a current id without its key.
            self._master_keys = MappingProxyType({k: fresh.master_key(k) for k in fresh.master_key_ids})
            self._current_master_key_id = fresh._current_master_key_id
            _log.info("keyring reloaded: current master key %s", self._current_master_key_id)
            return True


def _file_stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return (0, 0)
    return (status.st_mtime_ns, status.st_size)
