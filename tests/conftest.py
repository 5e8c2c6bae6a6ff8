"""Shared fixtures: a database per dialect (SQLite and PostgreSQL), a running hub, clients.

PostgreSQL comes from, in order: COALITION_TEST_POSTGRES_URL (an admin URL), a
testcontainers PostgreSQL where a Docker engine answers, or the local server on
127.0.0.1:5432. Each test session creates a fresh database and drops it at the end. With
CI=true an unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from exchange.api.response_signing import HubSigner
from exchange.api.server import HubServer
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring
from exchange.store import migrate
from exchange.store.database import Database
from exchange.store.tables import metadata, settlement_periods
from partner_sdk import ExchangeClient
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.testing import HubClock, LocalHub

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# Hubs started as subprocesses by the tests serve metrics on a free port, so several can run at once.
os.environ.setdefault("COALITION_METRICS_LISTEN", "127.0.0.1:0")


OffsetClock = HubClock  # the wall clock moved by an offset the test controls (shared by hub and clients)


def _docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    url = os.environ.get("COALITION_TEST_POSTGRES_URL")
    container = None
    if not url and _docker_engine_available():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:15", driver="psycopg")
        container.start()
        url = container.get_connection_url()
    url = url or LOCAL_POSTGRES
    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except sqlalchemy.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is unreachable at {make_url(url).render_as_string()}: {exc}")
        pytest.skip(f"no PostgreSQL reachable: {exc}")
    yield url
    if container is not None:
        container.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this test session, migrated, dropped at the end."""
    name = f"coalition_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_all_tables(database: Database) -> None:
    """Empty every table and restart every sequence: the database as migrated.

    DELETE, not TRUNCATE: TRUNCATE gives each of the fifty-odd tables new files, about a quarter
    of a second a test, where a test's few rows are deleted in a few milliseconds.
    """
    with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(
            sqlalchemy.text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        )
        # What migration 0006 seeds: the first settlement period, open from the epoch.
        connection.execute(
            sqlalchemy.insert(settlement_periods).values(period_id="per-000001", number=1, state="OPEN", opened_at_ms=0)
        )


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once for the session, closed (its WAL folded in): each test's is a copy of it.

    Migrating takes about a third of a second, and some nine hundred tests start from an empty
    SQLite database; the migrations themselves are tested on their own (tests/integration/test_migrations.py).
    """
    path = tmp_path_factory.mktemp("migrated-sqlite") / "exchange.sqlite3"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    assert not path.with_name(path.name + "-wal").exists(), "the WAL is folded in when the last connection closes"
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database of each dialect."""
    if request.param == "sqlite":
        path = tmp_path / "exchange.sqlite3"
        shutil.copy2(request.getfixturevalue("migrated_sqlite_file"), path)  # with its owner-only mode
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        _empty_all_tables(db)
    yield db
    db.dispose()


class RunningHub(LocalHub):
    """The SDK's LocalHub (partner_sdk.testing), as the tests configure it, plus their shorthand."""

    def active_partner(self, partner_id: str, currency: str = "EUR") -> tuple[ExchangeClient, Ed25519PrivateKey]:
        """Register and approve a partner; return its client and key."""
        brand = self.brand(partner_id, settlement_currency=currency)
        return brand.client, brand.key


@functools.cache
def test_keyring() -> Keyring:
    """One data-protection keyring for every hub of the session, so replicas share it as in production."""
    keyring, _ = Keyring.load_or_create(Path(tempfile.mkdtemp(prefix="coalition-keyring-")) / "keyring.json")
    return keyring


def configured_hub(
    database: Database,
    clock: OffsetClock | None = None,
    *,
    operator_key: Ed25519PrivateKey | None = None,
    signer: HubSigner | None = None,
    erasures: ErasureLedger | None = None,
    **options: object,
) -> RunningHub:
    """A hub as the tests run it (8 workers, 64 KiB requests, the session's keyring), not started yet."""
    return RunningHub(
        database,
        clock=clock,
        operator_key=operator_key,
        signer=signer,
        workers=8,
        max_request_bytes=64 * 1024,
        keyring=test_keyring(),
        erasures=erasures or ErasureLedger(Path(tempfile.mkdtemp(prefix="coalition-erasures-")) / "erasures.jsonl"),
        **options,
    )


def start_hub(
    database: Database,
    clock: OffsetClock,
    *,
    operator_key: Ed25519PrivateKey,
    signer: HubSigner,
    erasures: ErasureLedger | None = None,
) -> HubServer:
    """Start a hub as the tests run it and return its server (stop it with server.stop)."""
    return configured_hub(database, clock, operator_key=operator_key, signer=signer, erasures=erasures).start().server


@pytest.fixture
def hub(database: Database) -> Iterator[RunningHub]:
    yield from _running_hub(database)


@pytest.fixture
def postgres_hub(postgres_url: str) -> Iterator[RunningHub]:
    """A hub on PostgreSQL only, for what only the production deployment does (several hub processes)."""
    database = Database(postgres_url)
    _empty_all_tables(database)
    yield from _running_hub(database)
    database.dispose()


def _running_hub(database: Database) -> Iterator[RunningHub]:
    running = configured_hub(database).start()
    yield running
    running.stop()
    assert_ledger_invariants(database)


def assert_ledger_invariants(database: Database) -> None:
    """Whatever a test did: every ledger transaction balances per currency, money positions sum to zero."""
    from collections import defaultdict

    from exchange.store.ledger_repo import LedgerRepository

    with database.engine.connect() as connection:
        ledger = LedgerRepository(connection)
        assert ledger.unbalanced_transactions() == []
        totals: dict[str, int] = defaultdict(int)
        summed = ledger.money_positions()
        for (_, currency), amount in summed.items():
            totals[currency] += amount
        assert all(total == 0 for total in totals.values()), totals
        # The running positions the exposure check reads agree with the ledger they summarise.
        running = ledger.running_money_positions()
        assert {k: v for k, v in running.items() if v} == {k: v for k, v in summed.items() if v}
