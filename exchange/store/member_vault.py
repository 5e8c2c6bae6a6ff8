"""Member data sealed with the member's own data key (exchange.secrets.envelope), on one connection.

The data key is wrapped by the hub's keyring and kept per member (the consent tables'); erasing
the member destroys it, so everything sealed with it, attribute values, tiers, matched tiers,
becomes unreadable wherever it was copied (dumps, restored backups).
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.domain.errors import require
from exchange.secrets.envelope import (
    WrappedKey,
    decrypt_value,
    encrypt_value,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from exchange.secrets.keyring import Keyring
from exchange.store.consent_repo import ConsentRepository


class SqlMemberVault:
    """Seal and open member data (exchange.service.ports.MemberVault)."""

    def __init__(self, connection: Connection, keyring: Keyring | None) -> None:
        self._keys = ConsentRepository(connection)
        self._keyring = keyring

    def seal(self, member_id: str, context: str, plaintext: bytes) -> bytes:
        """Seal plaintext for the member (creating their data key if they have none)."""
        data_key = self._data_key(member_id, create=True)
        require(data_key is not None, "a member that is not erased has a data key")
        assert data_key is not None
        return encrypt_value(data_key, plaintext, aad=_aad(member_id, context))

    def open(self, member_id: str, context: str, sealed: bytes) -> bytes | None:
        """The plaintext, or None once the member's key is destroyed (erased)."""
        data_key = self._data_key(member_id, create=False)
        return None if data_key is None else decrypt_value(data_key, sealed, aad=_aad(member_id, context))

    def _data_key(self, member_id: str, *, create: bool) -> bytes | None:
        require(self._keyring is not None, "a hub that keeps member data has a keyring")
        assert self._keyring is not None
        wrapped, destroyed = self._keys.wrapped_key(member_id)
        if destroyed:
            return None
        if wrapped is None:
            if not create:
                return None
            data_key = new_data_key()
            self._keys.store_wrapped_key(
                member_id, wrap_data_key(self._keyring, data_key, member_id=member_id).to_bytes()
            )
            return data_key
        return unwrap_data_key(self._keyring, WrappedKey.from_bytes(wrapped), member_id=member_id)


def _aad(member_id: str, context: str) -> bytes:
    return f"coalition-sealed-v1|{member_id}|{context}".encode()
