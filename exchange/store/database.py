"""The database handle: engine set-up per dialect and transactions with bounded retries.

Every command runs as a function of one connection inside one transaction
(``database.run(fn)``). The function may be called again from scratch: on PostgreSQL the
isolation level is SERIALIZABLE and serialization failures and deadlocks are retried, as a
PostgreSQL standby pair or a distributed SQL engine that speaks PostgreSQL demands; on SQLite
a write transaction starts with BEGIN IMMEDIATE so that two writers queue instead of
deadlocking. So the function must not keep state outside the transaction between attempts.
A call given a group may share its transaction with the calls waiting at the same moment
(exchange.store.group_commit), and is run again alone if its group can't commit it.

On SQLite, connections are pooled (each set up once: WAL, synchronous=FULL, foreign keys) and
transactions run one at a time, a process's threads behind a lock and the processes on one
file behind an flock (exchange.store.sqlite_writers): SQLite has one writer at a time anyway,
and writers woken in turn do not starve each other, where writers waiting in SQLite's busy
handler sleep and poll, so a few of them starved for seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError

from exchange.domain.errors import Aborted, Unavailable
from exchange.store.group_commit import GroupCommit
from exchange.store.precompiled import send_held_writes_first
from exchange.store.sqlite_writers import OneWriterAtATime

T = TypeVar("T")

MAX_TRANSACTION_ATTEMPTS = 8
RETRY_BASE_DELAY_S = 0.005
RETRY_MAX_DELAY_S = 0.25
SQLITE_BUSY_TIMEOUT_MS = 10_000
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
# connection_exception, operator_intervention (admin_shutdown, crash_shutdown, cannot_connect_now),
# insufficient_resources (too_many_connections): the server is going or not there.
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "57", "53"})
# A pooled PostgreSQL connection idle longer than this is pinged when checked out; one in steady use
# is not (a ping per transaction was one more round trip and ~7 % of the hub's CPU per call).
IDLE_BEFORE_PING_S = 1.0


def default_sqlite_url(var_dir: Path) -> str:
    """Return the URL of the embedded default database, a SQLite file under var_dir."""
    return f"sqlite:///{(var_dir / 'exchange.sqlite3').resolve()}"


def is_retryable(exc: BaseException) -> bool:
    """Return whether a database error means 'run the whole transaction again'."""
    if isinstance(exc, IntegrityError):
        # A unique key raced by a concurrent transaction: on the next attempt the row is visible.
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
        return "database is locked" in str(exc.orig)
    return False


def unavailable(exc: DBAPIError) -> bool:
    """Return whether a database error means the server could not be reached or went away mid-call.

    Such a call's transaction rolled back, or (if the connection broke during COMMIT) its outcome
    is unknown to us; either way a resend of the same signed request is safe, because the hub
    answers a nonce or an idempotency key it has already recorded with the recorded answer.
    """
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError) or not hasattr(exc.orig, "sqlstate"):
        return False  # SQLite's OperationalErrors ("no such table", ...) are not outages
    sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
    return sqlstate is None or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES


class Database:
    """An engine plus the transaction discipline every command follows."""

    def __init__(self, url: str, *, pool_size: int = 16, echo: bool = False) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self.retries = 0
        self._one_at_a_time: AbstractContextManager[object] = nullcontext()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(url, pool_size=pool_size, echo=echo)
            self._read_committed_engine = self.engine  # SQLite is serial whatever is asked
            file = self.url.database
            self._one_at_a_time = OneWriterAtATime(Path(file) if file and file != ":memory:" else None)
        elif self.dialect == "postgresql":
            self.engine, self._read_committed_engine = (
                # Two pools rather than one switching levels: setting and resetting a pooled
                # connection's level costs two round trips per transaction.
                send_held_writes_first(
                    _ping_when_idle(
                        create_engine(
                            url,
                            isolation_level=level,
                            pool_size=pool_size,
                            max_overflow=pool_size,
                            echo=echo,
                            hide_parameters=True,
                        )
                    )
                )
                for level in ("SERIALIZABLE", "READ COMMITTED")
            )
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://")
        # Grouped calls run at READ COMMITTED on PostgreSQL: under SERIALIZABLE one call's conflict
        # would abort its whole group.
        self.group_commit = GroupCommit(
            lambda: self._transaction(read_committed=True),
            lambda work: self._run_alone(work, read_committed=True),
        )

    def run(self, work: Callable[[Connection], T], *, read_committed: bool = False, group: str | None = None) -> T:
        """Run work(connection) in one transaction, committing on return, retrying on conflicts.

        read_committed runs it at READ COMMITTED on PostgreSQL instead of SERIALIZABLE: for
        commands that take the row locks their rules need (see exchange.service.conversions),
        where SERIALIZABLE's predicate locks would abort concurrent callers instead of queueing
        them. SQLite is serial whatever is asked.

        group (the calling partner) lets the call share a transaction and its commit with the
        calls waiting at the same moment (exchange.store.group_commit), at READ COMMITTED on
        PostgreSQL; if its group can't commit it, it runs in a transaction of its own, as without.

        Raises:
            Aborted: the transaction still conflicted after MAX_TRANSACTION_ATTEMPTS tries.
            Unavailable: the database could not be reached, or the connection broke.
        """
        if group is not None:
            grouped = self.group_commit.run(work, group)
            if grouped.committed:
                return grouped.value  # type: ignore[return-value]  # committed: the work's own answer
            read_committed = True
        return self._run_alone(work, read_committed=read_committed)

    @contextmanager
    def _transaction(self, *, read_committed: bool) -> Iterator[Connection]:
        with (
            self._one_at_a_time,
            (self._read_committed_engine if read_committed else self.engine).begin() as connection,
        ):
            yield connection

    def _run_alone(self, work: Callable[[Connection], T], *, read_committed: bool) -> T:
        for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
            try:
                with self._transaction(read_committed=read_committed) as connection:
                    return work(connection)
            except DBAPIError as exc:
                if unavailable(exc):
                    raise Unavailable(
                        "DATABASE_UNAVAILABLE", "the database could not be reached; resend the request"
                    ) from exc
                if not is_retryable(exc) or attempt == MAX_TRANSACTION_ATTEMPTS:
                    if is_retryable(exc):
                        raise Aborted("TRANSACTION_CONFLICT", "the request conflicted with others; retry it") from exc
                    raise
                self.retries += 1
                delay = min(RETRY_MAX_DELAY_S, RETRY_BASE_DELAY_S * 2**attempt)
                time.sleep(random.uniform(0, delay))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        self._read_committed_engine.dispose()
        if isinstance(self._one_at_a_time, OneWriterAtATime):
            self._one_at_a_time.close()


def _ping_when_idle(engine: Engine) -> Engine:
    """Check a pooled connection that sat idle before handing it out (SQLAlchemy's pessimistic ping, on idle only).

    A connection that fails the ping is replaced by the pool (DisconnectionError). One that broke
    while in steady use fails its statement instead: the call is answered UNAVAILABLE and the
    caller resends it, which is safe (exactly-once by nonce and idempotency key).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at <= IDLE_BEFORE_PING_S:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()  # the ping opened a transaction: the caller's starts afresh
        except Exception as exc:
            raise DisconnectionError("the pooled connection failed its ping") from exc

    return engine


def _sqlite_engine(url: str, *, pool_size: int, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        echo=echo,
        connect_args={"check_same_thread": False},
        hide_parameters=True,  # a logged database error must not carry member references
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
