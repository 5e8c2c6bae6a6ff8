"""SQLite's writers take turns across processes: a second hub process waits its turn, never in the busy handler."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy

from exchange.store import database as database_module
from exchange.store.database import Database
from exchange.store.sqlite_writers import LOCK_SUFFIX


def _count(connection: sqlalchemy.Connection) -> int:
    return int(connection.execute(sqlalchemy.text("SELECT count(*) FROM t")).scalar_one())


def test_a_second_process_waits_for_the_first_ones_transaction_instead_of_timing_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's busy handler would give up after 50 ms; the first transaction stays open for 400 ms.
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first, second = Database(url), Database(url)  # two handles on one file, as two processes have
    try:
        first.run(lambda c: c.execute(sqlalchemy.text("CREATE TABLE t (n INTEGER)")))
        inside = threading.Event()

        def hold(connection: sqlalchemy.Connection) -> None:
            connection.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
            inside.set()
            time.sleep(0.4)

        holder = threading.Thread(target=first.run, args=(hold,))
        holder.start()
        assert inside.wait(5)
        started = time.monotonic()
        seen = second.run(lambda c: (c.execute(sqlalchemy.text("INSERT INTO t VALUES (2)")), _count(c))[1])
        waited = time.monotonic() - started
        holder.join()
        assert seen == 2  # it ran after the first transaction committed, in one attempt
        assert second.retries == 0
        assert waited > 0.2
        assert (tmp_path / f"shared.sqlite3{LOCK_SUFFIX}").exists()
    finally:
        first.dispose()
        second.dispose()
