"""Only what another attempt can fix is retried: classified on real driver errors, SQLite and PostgreSQL.

A unique key taken, a serialization failure and SQLite's busy are retried; a CHECK, NOT NULL or
foreign key violation is a bug, tried once and raised as it is (exchange.store.database.is_retryable).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from exchange.domain.errors import Aborted
from exchange.store.database import MAX_TRANSACTION_ATTEMPTS, Database, is_retryable
from exchange.store.precompiled import inserting, writes_together
from exchange.store.tables import hub_settings, partner_keys, partners, settlement_periods

PARTNER_COLUMNS = (
    "partner_id",
    "display_name",
    "point_currency",
    "settlement_currency",
    "point_value_numerator",
    "point_value_denominator",
    "status",
    "created_at_ms",
    "status_changed_at_ms",
)
_ADD_PARTNER = inserting(partners, PARTNER_COLUMNS)


def _partner(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "partner_id": "stride",
        "display_name": "Stride",
        "point_currency": "STR",
        "settlement_currency": "EUR",
        "point_value_numerator": 1,
        "point_value_denominator": 100,
        "status": "ACTIVE",
        "created_at_ms": 0,
        "status_changed_at_ms": 0,
    }
    return {**row, **changes}


def _error_of(database: Database, write: Callable[[Connection], object]) -> DBAPIError:
    """The error the driver raises for write, in a transaction of its own (rolled back)."""
    with pytest.raises(DBAPIError) as failed, database.engine.begin() as connection:
        write(connection)
    return failed.value


def _insert(table: sqlalchemy.Table, **values: Any) -> Callable[[Connection], object]:
    return lambda connection: connection.execute(sqlalchemy.insert(table).values(**values))


def test_a_check_violation_is_not_retried(database: Database) -> None:
    error = _error_of(database, _insert(partners, **_partner(point_value_numerator=0)))
    assert isinstance(error, IntegrityError)
    assert "point_value_positive" in str(error.orig)
    assert not is_retryable(error)


def test_a_not_null_violation_is_not_retried(database: Database) -> None:
    error = _error_of(database, _insert(partners, **_partner(display_name=None)))
    assert isinstance(error, IntegrityError)
    assert not is_retryable(error)


def test_a_foreign_key_violation_is_not_retried(database: Database) -> None:
    error = _error_of(
        database, _insert(partner_keys, partner_id="nobody", key_id="k1", public_key=b"\x01" * 32, created_at_ms=0)
    )
    assert isinstance(error, IntegrityError)
    assert not is_retryable(error)


def test_a_primary_key_taken_is_retried(database: Database) -> None:
    database.run(_insert(hub_settings, name="taken", value="first"))
    error = _error_of(database, _insert(hub_settings, name="taken", value="second"))
    assert isinstance(error, IntegrityError)
    assert is_retryable(error)


def test_a_unique_key_taken_is_retried(database: Database) -> None:
    # The fixture's database holds the first settlement period, number 1.
    error = _error_of(database, _insert(settlement_periods, period_id="per-x", number=1, state="OPEN", opened_at_ms=0))
    assert isinstance(error, IntegrityError)
    assert is_retryable(error)


@pytest.mark.postgres
def test_a_data_error_on_postgresql_is_not_retried(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        error = _error_of(database, _insert(partners, **_partner(partner_id="p" * 40)))  # 32 characters at most
    finally:
        database.dispose()
    assert getattr(error.orig, "sqlstate", None) == "22001"  # string_data_right_truncation
    assert not is_retryable(error)


def test_a_check_violation_is_tried_once_and_raised_as_the_driver_gave_it(database: Database) -> None:
    attempts = 0

    def work(connection: Connection) -> None:
        nonlocal attempts
        attempts += 1
        with writes_together(connection):  # on PostgreSQL the write is held and sent at the block's end
            _ADD_PARTNER.write(connection, **_partner(point_value_numerator=0))

    with pytest.raises(IntegrityError, match="point_value_positive"):
        database.run(work)
    assert (attempts, database.retries) == (1, 0)


def test_a_unique_key_still_taken_after_every_attempt_is_a_conflict(database: Database) -> None:
    database.run(_insert(hub_settings, name="taken", value="first"))
    attempts = 0

    def work(connection: Connection) -> None:
        nonlocal attempts
        attempts += 1
        _insert(hub_settings, name="taken", value="again")(connection)

    with pytest.raises(Aborted) as refused:
        database.run(work)
    assert refused.value.reason == "TRANSACTION_CONFLICT"
    assert attempts == MAX_TRANSACTION_ATTEMPTS
    assert database.retries == MAX_TRANSACTION_ATTEMPTS - 1


def _serialization_failure(database: Database) -> DBAPIError:
    """Update a row another transaction changed after this one's snapshot (SERIALIZABLE): 40001."""
    select = sqlalchemy.select(hub_settings.c.value).where(hub_settings.c.name == "counter")
    update = sqlalchemy.update(hub_settings).where(hub_settings.c.name == "counter")
    with database.engine.connect() as first, first.begin():
        first.execute(select).scalar_one()  # takes the snapshot
        with database.engine.begin() as second:
            second.execute(update.values(value="1"))
        try:
            first.execute(update.values(value="2"))
        except DBAPIError as failure:
            return failure
    raise AssertionError("the second update went through")


@pytest.mark.postgres
def test_a_serialization_failure_on_postgresql_is_retried(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        database.run(_insert(hub_settings, name="counter", value="0"))
        error = _serialization_failure(database)
    finally:
        database.run(lambda connection: connection.execute(sqlalchemy.delete(hub_settings)))
        database.dispose()
    assert getattr(error.orig, "sqlstate", None) == "40001"
    assert is_retryable(error)


def test_sqlite_busy_is_retried(tmp_path: Path) -> None:
    file = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(file, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")  # holds the write lock
    engine = sqlalchemy.create_engine(f"sqlite:///{file}", connect_args={"timeout": 0.01})
    try:
        with pytest.raises(DBAPIError) as failed, engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        engine.dispose()
        holder.close()
    assert getattr(failed.value.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
    assert is_retryable(failed.value)


def test_an_error_that_is_not_the_databases_is_not_retried() -> None:
    assert not is_retryable(ValueError("not a database error"))
