"""Rotating the keyring's master key: every member's data key is re-wrapped under the new one."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from exchange.secrets.envelope import WrappedKey, rewrap
from exchange.secrets.keyring import Keyring
from exchange.store.consent_repo import live_wrapped_keys, replace_wrapped_key
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
