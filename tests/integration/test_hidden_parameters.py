"""A database error the hub logs carries no bound parameter: its engines are made with hide_parameters.

What "logged" means here is what the hub's log formatter (exchange.logs) writes of
``log.exception``: the whole exception chain, formatted. PostgreSQL's own DETAIL line of a key
violation ("Key (...)=(...) already exists."), which no engine option hides, is cut there; the
precompiled statements (exchange.store.precompiled) ask the engine whether to hide parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Connection

from exchange.logs import JsonFormatter, RedactingFormatter
from exchange.store.database import Database
from exchange.store.precompiled import inserting
from exchange.store.tables import member_accounts

MEMBER_REF = "member-ref-Zq7-never-in-a-log"


def _account(member_ref: str = MEMBER_REF, partner_id: str = "stride") -> dict[str, object]:
    return {"partner_id": partner_id, "member_ref": member_ref, "member_id": "mem-1", "created_at_ms": 0}


def _logged_text(database: Database, work: Callable[[Connection], object], *, read_committed: bool = False) -> str:
    """Run work as the hub runs a command; return what log.exception would write of its failure."""
    with pytest.raises(Exception) as failed:  # noqa: PT011 - any failure: its text is the point
        database.run(work, read_committed=read_committed)
    error = failed.value
    record = logging.LogRecord("exchange.api", logging.ERROR, __file__, 0, "internal error", None, None)
    record.exc_info = (type(error), error, error.__traceback__)
    return JsonFormatter().format(record) + RedactingFormatter().format(record)


def _insert_twice(connection: Connection) -> None:
    connection.execute(sqlalchemy.insert(member_accounts).values(**_account()))
    connection.execute(sqlalchemy.insert(member_accounts).values(**_account()))


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    from exchange.store import migrate

    database = Database(f"sqlite:///{tmp_path}/exchange.sqlite3")
    migrate.upgrade(database)
    return database


def test_a_duplicate_member_account_error_does_not_carry_the_member_reference(
    database: Database, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(sqlalchemy.exc.IntegrityError) as failed, database.engine.begin() as connection:
        _insert_twice(connection)
    assert "[SQL parameters hidden" in str(failed.value)
    logged = _logged_text(database, _insert_twice)
    assert MEMBER_REF not in logged


@pytest.mark.postgres
@pytest.mark.parametrize("read_committed", [False, True], ids=["serializable", "read-committed"])
def test_a_postgresql_error_does_not_carry_its_parameters_on_either_engine(
    postgres_url: str, read_committed: bool
) -> None:
    database = Database(postgres_url)
    too_long_partner = "p" * 40  # partner_id is at most 32 characters: the server refuses the row
    try:
        logged = _logged_text(
            database,
            lambda connection: connection.execute(
                sqlalchemy.insert(member_accounts).values(**_account(partner_id=too_long_partner))
            ),
            read_committed=read_committed,
        )
    finally:
        database.dispose()
    assert "value too long" in logged
    assert "[SQL parameters hidden" in logged
    assert MEMBER_REF not in logged


def test_a_duplicate_written_by_a_precompiled_statement_does_not_carry_the_member_reference(
    sqlite_database: Database,
) -> None:
    add_account = inserting(member_accounts, ("partner_id", "member_ref", "member_id", "created_at_ms"))

    def insert_twice(connection: Connection) -> None:
        add_account.execute(connection, **_account())
        add_account.execute(connection, **_account())

    try:
        logged = _logged_text(sqlite_database, insert_twice)
    finally:
        sqlite_database.dispose()
    assert MEMBER_REF not in logged
