"""Alembic migrations build exactly the schema tables.py declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy

from exchange.store import migrate
from exchange.store.database import Database


def test_the_migrated_schema_matches_the_tables(database: Database) -> None:
    assert migrate.schema_state(database) is migrate.SchemaState.CURRENT
    assert migrate.pending_differences(database) == []


def test_an_empty_database_is_empty_until_upgraded(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert migrate.schema_state(database) is migrate.SchemaState.EMPTY
    migrate.upgrade(database)
    assert migrate.current_revision(database) == migrate.head_revision()
    migrate.upgrade(database)  # upgrading again does nothing
    assert migrate.schema_state(database) is migrate.SchemaState.CURRENT


def test_a_database_from_an_unknown_revision_is_not_current(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    migrate.upgrade(database)
    with database.engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = 'ffff'"))
    assert migrate.schema_state(database) is migrate.SchemaState.UNKNOWN


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
