"""A held write's error belongs to the code that made the write (exchange.store.precompiled.writes_together).

On PostgreSQL writes_together holds writes and sends them with the connection's next statement,
so their error is raised there. Two places where that was another code's error: a savepoint's
RELEASE (SQLAlchemy then neither releases nor rolls back the savepoint, so an item refused alone
kept the writes it ran at once and lost those held), and a statement whose caller catches the
error as its own (the block went on and committed without the lost writes).
"""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy
from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from exchange.store.database import Database
from exchange.store.nonces_repo import NonceRepository
from exchange.store.precompiled import writes_together
from exchange.store.tables import hub_settings, request_nonces


def _record(connection: Connection, nonce: str) -> None:
    NonceRepository(connection).record(
        principal="brand-a", nonce=nonce, method="/m", request_sha256="0" * 64, received_at_ms=1, outcome="OK"
    )


def _setting(connection: Connection, name: str) -> None:
    """A write run at once, through SQLAlchemy, never held."""
    connection.execute(sqlalchemy.insert(hub_settings).values(name=name, value="x"))


def _kept(database: Database) -> tuple[set[str], set[str]]:
    with database.engine.connect() as connection:
        settings = set(connection.execute(sqlalchemy.select(hub_settings.c.name)).scalars())
        nonces = set(connection.execute(sqlalchemy.select(request_nonces.c.nonce)).scalars())
    return settings, nonces


def _item(connection: Connection, name: str, nonce: str) -> bool:
    """One item in a savepoint of its own, as AwardPoints runs each; return whether it was kept."""
    try:
        with connection.begin_nested():
            _setting(connection, name)
            _record(connection, nonce)
    except (IntegrityError, DataError):
        return False
    return True


def test_a_write_that_fails_in_a_savepoint_rolls_back_that_savepoint_alone(database: Database) -> None:
    database.run(lambda connection: _record(connection, "taken"))

    def work(connection: Connection) -> list[bool]:
        with writes_together(connection):
            return [_item(connection, "item-1", "taken"), _item(connection, "item-2", "fresh")]

    assert database.run(work) == [False, True]
    settings, nonces = _kept(database)
    assert settings == {"item-2"}
    assert nonces == {"taken", "fresh"}


@pytest.mark.postgres
def test_a_nul_refused_in_a_savepoint_leaves_nothing_of_that_savepoint(postgres_url: str) -> None:
    # psycopg refuses the NUL before sending anything: the transaction itself goes on.
    database = Database(postgres_url)
    try:
        database.run(lambda connection: connection.execute(sqlalchemy.delete(hub_settings)))

        def work(connection: Connection) -> list[bool]:
            with writes_together(connection):
                return [_item(connection, "item-1", "bad\x00nonce"), _item(connection, "item-2", "nul-fresh")]

        assert database.run(work) == [False, True]
        settings, nonces = _kept(database)
        assert "item-1" not in settings
        assert {"item-2"} <= settings
        assert "nul-fresh" in nonces
    finally:
        database.run(lambda connection: connection.execute(sqlalchemy.delete(hub_settings)))
        database.dispose()


@pytest.mark.postgres
def test_held_writes_that_failed_are_raised_again_at_the_end_of_the_block_even_if_caught(postgres_url: str) -> None:
    database = Database(postgres_url)
    attempts = 0

    def work(connection: Connection) -> None:
        nonlocal attempts
        attempts += 1
        with writes_together(connection):
            _record(connection, "held-kept")
            _record(connection, "held\x00bad")
            with contextlib.suppress(DataError):  # the read sends the held writes first and takes their error
                connection.execute(sqlalchemy.select(hub_settings.c.name)).all()
            _setting(connection, "after-the-failure")

    try:
        with pytest.raises(DataError, match="NUL"):
            database.run(work)
        settings, nonces = _kept(database)
        assert attempts == 1
        assert "after-the-failure" not in settings
        assert "held-kept" not in nonces
    finally:
        database.dispose()
