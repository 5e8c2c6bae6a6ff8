"""Hubs started together on one empty PostgreSQL database migrate it one at a time, and all start."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from exchange.store import migrate
from exchange.store.database import Database

pytestmark = pytest.mark.postgres
COALITION = str(Path(sys.executable).parent / "coalition")
RACERS = 4


@pytest.fixture
def empty_postgres(postgres_admin_url: str) -> Iterator[str]:
    name = f"coalition_race_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_several_db_upgrades_at_once_on_an_empty_database_all_succeed(empty_postgres: str, tmp_path: Path) -> None:
    racers = [
        subprocess.Popen(
            [COALITION, "db", "upgrade", "--db", empty_postgres, "--var-dir", str(tmp_path / f"r{n}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(RACERS)
    ]
    outputs = [(racer.wait(timeout=120), racer.communicate()[0]) for racer in racers]
    assert [code for code, _ in outputs] == [0] * RACERS, outputs
    database = Database(empty_postgres)
    try:
        assert migrate.schema_state(database) is migrate.SchemaState.CURRENT
    finally:
        database.dispose()
