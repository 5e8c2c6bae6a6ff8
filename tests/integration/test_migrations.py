"""Alembic migrations build exactly the schema tables.py declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from exchange.domain.instructions import Origin
from exchange.store import migrate
from exchange.store.database import Database
from exchange.store.instructions_repo import InstructionRepository
from exchange.store.tables import instructions


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of each dialect with no schema yet (a PostgreSQL one of its own, dropped after)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
        yield database
        database.dispose()
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    name = f"coalition_migrate_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Instructions as revision 0014 stored them: which optional id was set told their origin apart.
BEFORE_ORIGINS = {
    "ins-credit": ("CREDIT", "cnv-1", "", "", "", "CONVERSION"),
    "ins-refund": ("REFUND", "cnv-1", "", "", "", "CONVERSION"),
    "ins-take-back": ("CREDIT_CANCELLED", "cnv-2", "", "", "", "CONVERSION"),
    "ins-reversal-refund": ("REFUND", "cnv-3", "rev-1", "", "", "REVERSAL"),
    "ins-release": ("RELEASE", "", "", "hold-1", "", "HOLD"),
    "ins-award-credit": ("CREDIT", "", "", "", "awd-1", "AWARD"),
    "ins-award-take-back": ("CREDIT_CANCELLED", "", "", "", "awd-2", "AWARD"),
}


def _insert_0014_instruction(
    database: Database, instruction_id: str, kind: str, ids: tuple[str, str, str, str]
) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                "INSERT INTO instructions (instruction_id, partner_id, kind, state, member_ref, points,"
                " point_currency, conversion_id, reversal_id, hold_id, award_id, created_at_ms)"
                " VALUES (:id, 'voltline', :kind, 'PENDING', 'v-1', 150, 'VOLT', :c, :r, :h, :a, 1)"
            ),
            {"id": instruction_id, "kind": kind, "c": ids[0], "r": ids[1], "h": ids[2], "a": ids[3]},
        )


def test_upgrading_instructions_with_data_writes_each_ones_origin_from_its_ids(unmigrated: Database) -> None:
    migrate.upgrade(unmigrated, "0014")
    for instruction_id, (kind, conversion_id, reversal_id, hold_id, award_id, _) in BEFORE_ORIGINS.items():
        _insert_0014_instruction(unmigrated, instruction_id, kind, (conversion_id, reversal_id, hold_id, award_id))
    migrate.upgrade(unmigrated)
    assert migrate.schema_state(unmigrated) is migrate.SchemaState.CURRENT
    assert migrate.pending_differences(unmigrated) == []
    with unmigrated.engine.connect() as connection:
        stored = {r.instruction_id: r.origin_kind for r in connection.execute(sqlalchemy.select(instructions))}
        read = {i: InstructionRepository(connection).get(i) for i in BEFORE_ORIGINS}
    assert stored == {instruction_id: row[-1] for instruction_id, row in BEFORE_ORIGINS.items()}
    assert read["ins-reversal-refund"] is not None
    assert read["ins-reversal-refund"].origin == Origin.reversal("rev-1", of_conversion="cnv-3")
    assert {i: (found.origin.kind.value, found.origin.id) for i, found in read.items() if found} == {
        "ins-credit": ("CONVERSION", "cnv-1"),
        "ins-refund": ("CONVERSION", "cnv-1"),
        "ins-take-back": ("CONVERSION", "cnv-2"),
        "ins-reversal-refund": ("REVERSAL", "rev-1"),
        "ins-release": ("HOLD", "hold-1"),
        "ins-award-credit": ("AWARD", "awd-1"),
        "ins-award-take-back": ("AWARD", "awd-2"),
    }


def test_upgrading_keeps_the_other_checks_of_the_instructions_table(unmigrated: Database) -> None:
    """SQLite rebuilds the table to add the origin's CHECK; points > 0 survives the rebuild."""
    migrate.upgrade(unmigrated)
    row = {
        "instruction_id": "ins-0",
        "partner_id": "voltline",
        "kind": "CREDIT",
        "state": "PENDING",
        "member_ref": "v-1",
        "points": 0,
        "point_currency": "VOLT",
        "origin_kind": "CONVERSION",
        "conversion_id": "cnv-1",
        "created_at_ms": 1,
    }
    with unmigrated.engine.begin() as connection, pytest.raises(sqlalchemy.exc.IntegrityError):
        connection.execute(sqlalchemy.insert(instructions).values(**row))


def test_an_instruction_that_names_no_origin_stops_the_upgrade_and_changes_nothing(unmigrated: Database) -> None:
    migrate.upgrade(unmigrated, "0014")
    _insert_0014_instruction(unmigrated, "ins-nowhere", "CREDIT", ("", "", "", ""))
    with pytest.raises(RuntimeError, match="ins-nowhere"):
        migrate.upgrade(unmigrated)
    assert migrate.current_revision(unmigrated) == "0014"
