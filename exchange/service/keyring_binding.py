"""A database's members belong to one keyring: every replica must start with that keyring.

Pairwise ids are derived from the keyring's secret and members' data keys are wrapped under its
master keys, so a replica started with another keyring would give members other pairwise ids and
fail to unwrap their data keys. The first hub to start on a database records the keyring's
fingerprint in it (``hub_settings``); every later start compares, and refuses a mismatch. A
keyring is generated only for a database that has neither a fingerprint nor members.
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.secrets.keyring import Keyring
from exchange.secrets.pairwise import pairwise_member_id
from exchange.store import settings_repo
from exchange.store.database import Database

KEYRING_FINGERPRINT = "keyring_fingerprint"


class KeyringMismatch(Exception):
    """The keyring is not the one the database's members belong to."""


def may_generate_keyring(database: Database) -> str | None:
    """Return why no keyring may be generated for this database (it already has one), or None if one may."""

    def read(connection: Connection) -> str | None:
        recorded = settings_repo.setting(connection, KEYRING_FINGERPRINT)
        if recorded is not None:
            return f"the database belongs to keyring {recorded}"
        if settings_repo.has_members(connection):
            return "the database already has members, whose ids and data keys come from a keyring"
        return None

    return database.run(read)


def bind(database: Database, keyring: Keyring) -> None:
    """Record the keyring's fingerprint on first start; refuse one that differs from the recorded one.

    A database migrated by an older hub has members but no fingerprint: the keyring is then
    checked against a member's stored pairwise id (derived from the keyring's secret) first.

    Raises:
        KeyringMismatch: The database belongs to another keyring.
    """
    fingerprint = keyring.fingerprint

    def record(connection: Connection) -> str:
        if settings_repo.setting(connection, KEYRING_FINGERPRINT) is None:
            sample = settings_repo.some_pairwise_id(connection)
            if sample is not None:
                partner_id, member_id, stored = sample
                derived = pairwise_member_id(keyring.pairwise_secret, partner_id=partner_id, member_id=member_id)
                if derived != stored:
                    return "another keyring (its members' pairwise ids were derived from another secret)"
        return settings_repo.set_once(connection, KEYRING_FINGERPRINT, fingerprint)

    recorded = database.run(record)
    if recorded != fingerprint:
        raise KeyringMismatch(
            f"this keyring is {fingerprint}, but the database's members belong to {_named(recorded)}: "
            "start every replica with the same --keyring file"
        )


def _named(recorded: str) -> str:
    return f"keyring {recorded}" if recorded.startswith("kr-") else recorded
