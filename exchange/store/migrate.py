"""Schema migrations with Alembic, driven from code (no alembic.ini to find).

``coalition db upgrade`` applies them; ``coalition serve`` applies them to an empty
database and refuses to start on an outdated one.
"""

from __future__ import annotations

import contextlib
import enum
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from exchange.store.database import Database
from exchange.store.tables import metadata

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x636F616C  # "coal": the advisory lock that serialises migrations on PostgreSQL


class SchemaState(enum.Enum):
    """How a database's schema compares with this code's migrations."""

    EMPTY = "EMPTY"
    OUTDATED = "OUTDATED"
    CURRENT = "CURRENT"
    UNKNOWN = "UNKNOWN"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """Return the newest migration this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    """Return the revision the database is at, or None if it was never migrated."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_state(database: Database) -> SchemaState:
    """Compare the database's revision with this code's head."""
    current = current_revision(database)
    if current is None:
        with database.engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
        return SchemaState.EMPTY if not tables & set(metadata.tables) else SchemaState.UNKNOWN
    if current == head_revision():
        return SchemaState.CURRENT
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    return SchemaState.OUTDATED if current in known else SchemaState.UNKNOWN


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply migrations up to revision; hubs started together on one database migrate one at a time.

    On PostgreSQL the migrations wait for a session advisory lock held on a connection of its
    own, and only then open the transaction that reads the schema's revision and migrates. Taken
    inside that transaction instead, the lock would be granted to a transaction whose SERIALIZABLE
    snapshot predates it: the second hub would not see the first one's tables and would try to
    create them again (DuplicateTable).
    """
    config = _config()
    with contextlib.ExitStack() as held:
        if database.dialect == "postgresql":
            lock = held.enter_context(database.engine.connect().execution_options(isolation_level="AUTOCOMMIT"))
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            held.callback(lock.execute, text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


def pending_differences(database: Database) -> list[object]:
    """Return the differences between the migrated schema and tables.py (empty when they match)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
