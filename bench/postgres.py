"""The PostgreSQL server the benchmark creates its databases on, and drops them from."""

from __future__ import annotations

import os
import uuid

import sqlalchemy
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Postgres:
    """The PostgreSQL server: fresh databases for each run, dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def settings(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return {
                name: connection.execute(sqlalchemy.text(f"SHOW {name}")).scalar_one()
                for name in ("server_version", "synchronous_commit", "fsync", "full_page_writes", "wal_sync_method")
            }

    def create(self, label: str) -> str:
        name = f"coalition_bench_{uuid.uuid4().hex[:10]}_{label}"
        with self.engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return name

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def durable(self, name: str) -> dict[str, str]:
        """synchronous_commit and fsync as a connection to this database sees them (role or db overrides too)."""
        engine = sqlalchemy.create_engine(self.url(name))
        try:
            with engine.connect() as connection:
                return {
                    n: connection.execute(sqlalchemy.text(f"SHOW {n}")).scalar_one()
                    for n in ("synchronous_commit", "fsync")
                }
        finally:
            engine.dispose()

    def count_conversions(self, name: str) -> int:
        engine = sqlalchemy.create_engine(self.url(name))
        try:
            with engine.connect() as connection:
                return int(connection.execute(sqlalchemy.text("SELECT count(*) FROM conversions")).scalar_one())
        finally:
            engine.dispose()

    def transactions(self, name: str) -> tuple[int, int]:
        """(commits, rollbacks) of one database so far, from pg_stat_database (flushed about every second)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sqlalchemy.text("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = :name"),
                {"name": name},
            ).one()
        return int(row[0]), int(row[1])

    def analyze(self, name: str) -> None:
        """ANALYZE one database, so the planner knows how many rows the warm-up wrote."""
        engine = sqlalchemy.create_engine(self.url(name), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("ANALYZE"))
        finally:
            engine.dispose()

    def siread_locks(self, name: str) -> dict[str, int]:
        """The serializable transactions' predicate locks now held in one database, by relation and granularity."""
        engine = sqlalchemy.create_engine(self.url(name))
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    sqlalchemy.text(
                        "SELECT relation::regclass::text, locktype, count(*) FROM pg_locks "
                        "WHERE mode = 'SIReadLock' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "GROUP BY 1, 2 ORDER BY 3 DESC"
                    )
                ).all()
        finally:
            engine.dispose()
        return {f"{relation} ({locktype})": int(count) for relation, locktype, count in rows}

    def drop_all(self) -> None:
        with self.engine.connect() as connection:
            for name in self.created:
                connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.clear()
        self.engine.dispose()

    def pgbench_env(self) -> tuple[list[str], dict[str, str]]:
        url = make_url(self.admin_url)
        args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
        env = dict(os.environ)
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        return args, env
