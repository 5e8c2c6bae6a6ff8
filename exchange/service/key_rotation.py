"""Rotating the keyring's master key (every member's data key re-wrapped under the new one), retiring old ones.

Backups and erasure: a backup taken before a member's erasure holds their data key wrapped under
the master key current then. The erasure ledger erases them again when such a backup is restored
into a hub (exchange.service.erasure), but a copy opened some other way is protected only by the
master key. So an operator who keeps backups for N days rotates the master key at least every N
days and retires the previous one once the oldest backup wrapped under it has been deleted:
from then on no surviving backup holds a data key the keyring can unwrap.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from exchange.secrets.envelope import WrappedKey, rewrap
from exchange.secrets.keyring import Keyring
from exchange.store.consent_repo import live_wrapped_keys, replace_wrapped_key, wrapped_under
from exchange.store.database import Database

REWRAP_BATCH = 500


def rewrap_all(database: Database, keyring: Keyring, progress: Callable[[int], None] = lambda _: None) -> int:
    """Re-wrap every live data key under the keyring's current master key; return how many changed.

    Each batch is one transaction; the values sealed under the data keys are untouched.
    """
    changed, after = 0, ""
    while True:

        def batch(connection: Connection, after: str = after) -> tuple[int, str]:
            found = live_wrapped_keys(connection, after=after, limit=REWRAP_BATCH)
            done = 0
            for member_id, blob in found:
                wrapped = WrappedKey.from_bytes(blob)
                fresh = rewrap(keyring, wrapped, member_id=member_id)
                if fresh is not wrapped:
                    replace_wrapped_key(connection, member_id, fresh.to_bytes())
                    done += 1
            return done, (found[-1][0] if found else "")

        done, last = database.run(batch)
        changed += done
        progress(done)
        if not last:
            return changed
        after = last


class MasterKeyInUse(Exception):
    """The database still holds data keys wrapped under the master key to retire."""


def retire(database: Database, keyring: Keyring, key_id: str) -> Keyring:
    """Return the keyring without key_id, after checking no live data key is wrapped under it.

    Raises:
        MasterKeyInUse: Some data keys are still wrapped under it (run rotate-master first).
        UnknownMasterKey, ValueError: As for ``Keyring.without_master_key``.
    """
    retired = keyring.without_master_key(key_id)

    def count(connection: Connection) -> int:
        return wrapped_under(connection, key_id)

    still = database.run(count)
    if still:
        raise MasterKeyInUse(
            f"{still} data key(s) are still wrapped under {key_id}: run `coalition keys rotate-master` first"
        )
    return retired
