"""The database handle: engine set-up per dialect and transactions with bounded retries.

Every command runs as a function of one connection inside one transaction
(``database.run(fn)``). The function may be called again from scratch: on PostgreSQL the
isolation level is SERIALIZABLE and serialization failures and deadlocks are retried, as a
PostgreSQL standby pair or a distributed SQL engine that speaks PostgreSQL demands; on SQLite
a write transaction starts with BEGIN IMMEDIATE so that two writers queue instead of
deadlocking. A unique key a concurrent transaction took first is retried too; no other error is
(is_retryable says why). So the function must not keep state outside the transaction between attempts.
A call given a group may share its transaction with the calls waiting at the same moment
(exchange.store.group_commit), and is run again alone if its group can't commit it.

On SQLite, connections are pooled (each set up once: WAL, synchronous=FULL, foreign keys) and
transactions run one at a time, a process's threads behind a lock and the processes on one
file behind an flock (exchange.store.sqlite_writers): SQLite has one writer at a time anyway,
and writers woken in turn do not starve each other, where writers waiting in SQLite's busy
handler sleep and poll, so a few of them starved for seconds.

Time limits: on PostgreSQL each transaction ``run`` runs has a statement timeout and a lock
timeout (DEFAULT_STATEMENT_TIMEOUT_S, DEFAULT_LOCK_TIMEOUT_S; `serve --db-statement-timeout-s`,
`--db-lock-timeout-s`), set for the session of each pooled connection, so a call stuck behind a
row lock or a runaway statement gives up and rolls back: a lock timeout is ABORTED
(LOCK_TIMEOUT), a statement timeout UNAVAILABLE (DATABASE_TIMEOUT), both resendable. SQLite's
busy timeout is the lock timeout. ``engine`` itself, which migrations (and their advisory lock)
and tools use, has no such limits. At shutdown ``cancel_in_flight`` cancels the statements of
the connections in use (PostgreSQL: a cancel request; SQLite: interrupt) and refuses new
transactions, so a hub stops within its grace period instead of waiting on a lock.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError

from exchange.domain.errors import Aborted, Unavailable
from exchange.store.group_commit import GroupCommit
from exchange.store.precompiled import send_held_writes_first, writes_together
from exchange.store.sqlite_writers import OneWriterAtATime

T = TypeVar("T")

MAX_TRANSACTION_ATTEMPTS = 8
RETRY_BASE_DELAY_S = 0.005
RETRY_MAX_DELAY_S = 0.25
# How long one statement may run, and how long it may wait for a lock, inside `run` (PostgreSQL);
# None or 0 means no limit. A conversion's longest wait is the source partner's row lock.
DEFAULT_STATEMENT_TIMEOUT_S = 5.0
DEFAULT_LOCK_TIMEOUT_S = 2.0
SQLITE_BUSY_TIMEOUT_MS = 10_000  # SQLite's busy timeout when no lock timeout is set
# The readiness and metrics probe: SELECT 1 on a connection of its own, within this long (connect included).
PROBE_TIMEOUT_S = 2.0
PROBE_POOL_SIZE = 1
MAX_PROBE_REASON_CHARS = 200
STANDBY_REASON = "the database server is a standby (read-only): no writable primary reached"
LOCK_TIMEOUT_SQLSTATE = "55P03"  # lock_not_available: lock_timeout
# read_only_sql_transaction: a write reached a server that is not (or no longer) the primary, as
# happens in a failover (a standby, or a primary being demoted); the resend finds the new primary.
READ_ONLY_SQLSTATE = "25006"
STATEMENT_TIMEOUT_SQLSTATE = "57014"  # query_canceled: statement_timeout, or cancel_in_flight at shutdown
# SQLite's primary result codes that mean the file can't be used (gone, moved, unreadable), not a bad statement.
SQLITE_UNAVAILABLE_CODES = frozenset({sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR})
UNIQUE_VIOLATION_SQLSTATE = "23505"
# What a fresh attempt of the whole transaction can get past (is_retryable says why each).
RETRYABLE_SQLSTATES = frozenset({UNIQUE_VIOLATION_SQLSTATE, "40001", "40P01"})  # + serialization_failure, deadlock
# SQLite's extended result codes of a unique key taken: a UNIQUE index's and a PRIMARY KEY's.
SQLITE_UNIQUE_CODES = frozenset({sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY})
# connection_exception, operator_intervention (admin_shutdown, crash_shutdown, cannot_connect_now),
# insufficient_resources (too_many_connections): the server is going or not there.
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "57", "53"})
# A pooled PostgreSQL connection idle longer than this is pinged when checked out; one in steady use
# is not (a ping per transaction was one more round trip and ~7 % of the hub's CPU per call).
IDLE_BEFORE_PING_S = 1.0
CANCEL_TIMEOUT_S = 1.0  # how long one cancel request to PostgreSQL may take at shutdown
IDLE_POLL_S = 0.02

_log = logging.getLogger("exchange.database")


def default_sqlite_url(var_dir: Path) -> str:
    """Return the URL of the embedded default database, a SQLite file under var_dir."""
    return f"sqlite:///{(var_dir / 'exchange.sqlite3').resolve()}"


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _create_private_file(path: Path) -> None:
    """Create an empty database file readable by its owner alone (SQLite gives its -wal and -shm the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an existing file is left as it is


def is_retryable(exc: BaseException) -> bool:
    """Return whether a database error means 'run the whole transaction again': only what another attempt can fix.

    Retried, because a fresh attempt on a fresh snapshot gets past it:

    - a unique key taken (PostgreSQL SQLSTATE 23505; SQLite SQLITE_CONSTRAINT_UNIQUE or
      SQLITE_CONSTRAINT_PRIMARYKEY): a concurrent transaction committed the same nonce, idempotency
      key or version first; the next attempt sees its row and answers from it (exchange.service.calls).
    - a serialization failure or a deadlock (40001, 40P01): PostgreSQL chose this transaction as
      the one to roll back so that others could go on; run again, it finds them done.
    - SQLite busy (SQLITE_BUSY, "database is locked"): another process held the write lock past
      the busy timeout.

    Not retried, so the call fails once and loudly (INTERNAL with an incident id, exchange.api.dispatch)
    instead of MAX_TRANSACTION_ATTEMPTS times and then as a conflict the SDK resends: every other
    integrity error (a CHECK, NOT NULL or foreign key violation) and every other database error
    (a value too long, a missing column). Such a row is one the hub should never have written: a
    bug, which the same code writes again on every attempt. The error is judged by the driver's
    code (SQLSTATE, SQLite's extended result code), never by its text, except for a SQLite error
    that comes without a code.

    Database.run looks at these first and answers them without a retry of its own: a lock or
    statement timeout (ABORTED LOCK_TIMEOUT, UNAVAILABLE DATABASE_TIMEOUT) and a connection lost
    (UNAVAILABLE DATABASE_UNAVAILABLE), which the SDK resends. A pooled connection that fails its
    ping on checkout (DisconnectionError) is replaced by the pool before the transaction starts.
    """
    if not isinstance(exc, DBAPIError):
        return False
    driver_error = exc.orig
    sqlite_code: int | None = getattr(driver_error, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code in SQLITE_UNIQUE_CODES or sqlite_code & 0xFF == sqlite3.SQLITE_BUSY
    if isinstance(driver_error, sqlite3.Error):  # raised by the sqlite3 module itself, without a result code
        return "database is locked" in str(driver_error)
    return getattr(driver_error, "sqlstate", None) in RETRYABLE_SQLSTATES


def unavailable(exc: DBAPIError) -> bool:
    """Return whether a database error means the server could not be reached or went away mid-call.

    A write refused because the server is read-only counts too: in a failover the hub may reach a
    standby, or a primary being demoted, until its pool finds the new primary.

    Such a call's transaction rolled back, or (if the connection broke during COMMIT) its outcome
    is unknown to us; either way a resend of the same signed request is safe, because the hub
    answers a nonce or an idempotency key it has already recorded with the recorded answer.
    """
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlite_code is not None:  # "no such table" and the like are not outages; a file that can't be opened is
        return isinstance(exc, OperationalError) and sqlite_code & 0xFF in SQLITE_UNAVAILABLE_CODES
    if getattr(exc.orig, "sqlstate", None) == READ_ONLY_SQLSTATE:
        return True  # whatever class the driver gives it: the primary moved
    if not isinstance(exc, OperationalError) or not hasattr(exc.orig, "sqlstate"):
        return False
    sqlstate: str | None = getattr(exc.orig, "sqlstate", None)
    return sqlstate is None or sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES


def timeout_reason(exc: DBAPIError) -> Aborted | Unavailable | None:
    """The caller's refusal when a statement or lock timeout (or a cancel at shutdown) ended the transaction.

    Either way the transaction rolled back, so the same request may be resent.
    """
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate == LOCK_TIMEOUT_SQLSTATE:
        return Aborted("LOCK_TIMEOUT", "a row this request needs stayed locked past the lock timeout; retry it")
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if sqlstate == STATEMENT_TIMEOUT_SQLSTATE or (
        sqlite_code is not None and sqlite_code & 0xFF == sqlite3.SQLITE_INTERRUPT
    ):
        return Unavailable(
            "DATABASE_TIMEOUT", "the database did not answer within the statement timeout; resend the request"
        )
    return None


class Database:
    """An engine plus the transaction discipline every command follows."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 16,
        echo: bool = False,
        statement_timeout_s: float | None = DEFAULT_STATEMENT_TIMEOUT_S,
        lock_timeout_s: float | None = DEFAULT_LOCK_TIMEOUT_S,
    ) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self._pool_size, self._echo = pool_size, echo
        self.retries = 0
        self.statement_timeout_s = statement_timeout_s or None
        self.lock_timeout_s = lock_timeout_s or None
        self._one_at_a_time: AbstractContextManager[object] = nullcontext()
        self._in_use: set[Any] = set()  # the driver connections of transactions under way, for cancel_in_flight
        self._in_use_lock = threading.Lock()
        self._cancelled = threading.Event()
        self._probe_engine: Engine | None = None
        self._probe_lock = threading.Lock()
        if self.dialect == "sqlite":
            busy_ms = int(self.lock_timeout_s * 1000) if self.lock_timeout_s else SQLITE_BUSY_TIMEOUT_MS
            self.engine = _sqlite_engine(url, pool_size=pool_size, echo=echo, busy_timeout_ms=busy_ms)
            self._serializable_engine = self._read_committed_engine = self.engine  # SQLite is serial anyway
            file = self.url.database
            self._one_at_a_time = OneWriterAtATime(Path(file) if file and file != ":memory:" else None)
        elif self.dialect == "postgresql":
            limits = _session_options(statement_timeout_s=self.statement_timeout_s, lock_timeout_s=self.lock_timeout_s)
            # The engine for migrations and tools: no time limits (a migration may rightly wait or run long).
            self.engine = _postgresql_engine(url, "SERIALIZABLE", pool_size=pool_size, echo=echo, options="")
            self._serializable_engine, self._read_committed_engine = (
                # Two pools rather than one switching levels: setting and resetting a pooled
                # connection's level costs two round trips per transaction.
                _postgresql_engine(url, level, pool_size=pool_size, echo=echo, options=limits)
                for level in ("SERIALIZABLE", "READ COMMITTED")
            )
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://")
        for engine in {self._serializable_engine, self._read_committed_engine}:
            self._track_connections_in_use(engine)
        # Grouped calls run at READ COMMITTED on PostgreSQL: under SERIALIZABLE one call's conflict
        # would abort its whole group.
        self.group_commit = GroupCommit(
            lambda: self._transaction(read_committed=True),
            lambda work: self._run_alone(work, read_committed=True),
        )

    @property
    def call_engines(self) -> tuple[Engine, ...]:
        """The engines calls run on (with the statement and lock time limits); ``engine`` is for tools."""
        return tuple({self._serializable_engine, self._read_committed_engine})

    def run(
        self,
        work: Callable[[Connection], T],
        *,
        read_committed: bool = False,
        group: str | None = None,
        hold_writes: bool = False,
    ) -> T:
        """Run work(connection) in one transaction, committing on return, retrying on conflicts.

        read_committed runs it at READ COMMITTED on PostgreSQL instead of SERIALIZABLE: for
        commands that take the row locks their rules need (see exchange.service.conversions),
        where SERIALIZABLE's predicate locks would abort concurrent callers instead of queueing
        them. SQLite is serial whatever is asked.

        group (the calling partner) lets the call share a transaction and its commit with the
        calls waiting at the same moment (exchange.store.group_commit), at READ COMMITTED on
        PostgreSQL; if its group can't commit it, it runs in a transaction of its own, as without.

        hold_writes lets the writes whose outcome the work does not read go to the server together
        (exchange.store.precompiled.writes_together, on PostgreSQL with psycopg): one round trip for
        a call's last writes. Their errors are raised inside the work's attempt, as its own.

        Raises:
            Aborted: the transaction still conflicted after MAX_TRANSACTION_ATTEMPTS tries, or
                waited for a lock past the lock timeout (LOCK_TIMEOUT).
            Unavailable: the database could not be reached, or the connection broke, or a statement
                ran past the statement timeout (DATABASE_TIMEOUT), or the hub is stopping (HUB_STOPPING).
            DBAPIError: any other database error (a CHECK, NOT NULL or foreign key violation), after
                one attempt, as SQLAlchemy gave it: a bug, not a conflict (see is_retryable).
        """
        if hold_writes:
            work = partial(_holding_writes, work)
        if group is not None:
            grouped = self.group_commit.run(work, group)
            if grouped.committed:
                return grouped.value  # type: ignore[return-value]  # committed: the work's own answer
            read_committed = True
        return self._run_alone(work, read_committed=read_committed)

    @contextmanager
    def _transaction(self, *, read_committed: bool) -> Iterator[Connection]:
        if self._cancelled.is_set():
            raise _stopping()
        try:
            self._one_at_a_time.__enter__()
        except OSError as exc:  # SQLite: the writers' lock file beside the database can't be opened
            raise Unavailable("DATABASE_UNAVAILABLE", "the database could not be reached; resend the request") from exc
        try:
            with (self._read_committed_engine if read_committed else self._serializable_engine).begin() as connection:
                yield connection
        finally:
            self._one_at_a_time.__exit__(None, None, None)

    def _run_alone(self, work: Callable[[Connection], T], *, read_committed: bool) -> T:
        for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
            try:
                with self._transaction(read_committed=read_committed) as connection:
                    return work(connection)
            except DBAPIError as exc:
                if self._cancelled.is_set():
                    raise _stopping() from exc
                if (timed_out := timeout_reason(exc)) is not None:  # before unavailable: 57014 is of class 57
                    raise timed_out from exc
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

    def with_time_limits(self, *, statement_timeout_s: float | None, lock_timeout_s: float | None) -> Database:
        """This database with other statement and lock timeouts (None or 0: none); this handle is closed."""
        self.dispose()
        return Database(
            self.url.render_as_string(hide_password=False),
            pool_size=self._pool_size,
            echo=self._echo,
            statement_timeout_s=statement_timeout_s,
            lock_timeout_s=lock_timeout_s,
        )

    def probe(self, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
        """Ask the database a trivial question on a connection of its own; None if it answered, else why not (one line).

        PostgreSQL: one question on the probe's own pool (so a busy hub pool does not fail it), within
        timeout_s, connecting included: whether the server is a standby, which can't take the hub's
        writes (after a failover the probe's connection may still be on the demoted primary).
        SQLite: open the file afresh without creating it and read its
        schema, since a pooled connection keeps reading a file that was moved or deleted.
        """
        try:
            if self.dialect == "sqlite":
                _probe_sqlite_file(self.url.database, timeout_s)
            else:
                with self._probe().connect() as connection:
                    if connection.exec_driver_sql("SELECT pg_is_in_recovery()").scalar():
                        connection.invalidate()  # the next probe connects afresh, to whichever server is writable
                        return STANDBY_REASON
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            return one_line(exc)
        return None

    def read_briefly(self, work: Callable[[Connection], T]) -> T:
        """Run a read-only work(connection) within the probe's time limits (metrics' figures), no retries.

        Raises SQLAlchemyError as the driver gave it: the caller decides what a failed read means.
        """
        engine = self.engine if self.dialect == "sqlite" else self._probe()
        with engine.connect() as connection:
            return work(connection)

    def cancel_in_flight(self) -> int:
        """Cancel the statements of the transactions under way and refuse new ones; return how many were cancelled.

        For shutdown, once the grace period is over: a transaction waiting on a lock or a long
        statement fails at once and rolls back, so its call is not committed (its caller, already
        told UNAVAILABLE, may resend it). A transaction that was committing when the cancel came is
        committed or not; either way a resend of the same request is answered once (its nonce).
        """
        self._cancelled.set()
        with self._in_use_lock:
            in_use = list(self._in_use)
        for driver_connection in in_use:
            try:
                if self.dialect == "sqlite":
                    driver_connection.interrupt()
                else:
                    driver_connection.cancel_safe(timeout=CANCEL_TIMEOUT_S)
            except Exception as exc:  # a connection that broke meanwhile has nothing left to cancel
                _log.warning("could not cancel a database statement at shutdown: %s", one_line(exc))
        return len(in_use)

    def wait_until_idle(self, timeout_s: float) -> bool:
        """Wait up to timeout_s for the transactions under way to end; return whether they all did."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._in_use_lock:
                if not self._in_use:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(IDLE_POLL_S)

    def dispose(self) -> None:
        """Close every pooled connection; a Database used again afterwards opens new ones and serves afresh.

        A hub's stop ends with this, so a cancellation at shutdown (cancel_in_flight) lasts until
        then, and a hub started again on the same Database (a test, a restart in process) is served.
        """
        for engine in {self.engine, self._serializable_engine, self._read_committed_engine}:
            engine.dispose()
        if self._probe_engine is not None:
            self._probe_engine.dispose()
        if isinstance(self._one_at_a_time, OneWriterAtATime):
            self._one_at_a_time.close()
        self._cancelled.clear()

    def _probe(self) -> Engine:
        with self._probe_lock:
            return self._probe_engine or self._new_probe_engine()

    def _new_probe_engine(self) -> Engine:
        if self._probe_engine is None:
            timeout_ms = int(PROBE_TIMEOUT_S * 1000)
            self._probe_engine = create_engine(
                self.url,
                pool_size=PROBE_POOL_SIZE,
                max_overflow=PROBE_POOL_SIZE,
                pool_timeout=PROBE_TIMEOUT_S,
                pool_pre_ping=False,
                hide_parameters=True,
                connect_args={
                    # libpq counts whole seconds, at least 2.
                    "connect_timeout": max(2, round(PROBE_TIMEOUT_S)),
                    "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
                },
            )
        return self._probe_engine

    def _track_connections_in_use(self, engine: Engine) -> None:
        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            with self._in_use_lock:
                self._in_use.add(dbapi_connection)

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
            with self._in_use_lock:
                self._in_use.discard(dbapi_connection)

        @event.listens_for(engine, "close")
        def _on_close(dbapi_connection: Any, _record: Any) -> None:
            with self._in_use_lock:
                self._in_use.discard(dbapi_connection)


def _holding_writes(work: Callable[[Connection], T], connection: Connection) -> T:
    with writes_together(connection):
        return work(connection)


def one_line(exc: BaseException, *, max_chars: int | None = MAX_PROBE_REASON_CHARS) -> str:
    """An error as one line: its driver's first line, without SQLAlchemy's background link.

    Cut to max_chars (for probes and log fields); None keeps the whole line (a CLI's message).
    """
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return text if max_chars is None else text[:max_chars]


def _stopping() -> Unavailable:
    return Unavailable("HUB_STOPPING", "the hub is stopping; resend the request to another replica or later")


def _session_options(*, statement_timeout_s: float | None, lock_timeout_s: float | None) -> str:
    """The `options` libpq sends at connect: the session's statement and lock timeouts (0: none)."""
    statement_ms = int((statement_timeout_s or 0) * 1000)
    lock_ms = int((lock_timeout_s or 0) * 1000)
    return f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"


def _postgresql_engine(url: str, level: str, *, pool_size: int, echo: bool, options: str) -> Engine:
    return send_held_writes_first(
        _drop_pool_when_read_only(
            _ping_when_idle(
                create_engine(
                    url,
                    isolation_level=level,
                    pool_size=pool_size,
                    max_overflow=pool_size,
                    echo=echo,
                    hide_parameters=True,
                    connect_args={"options": options} if options else {},
                )
            )
        )
    )


def _drop_pool_when_read_only(engine: Engine) -> Engine:
    """Treat a write refused as read-only (SQLSTATE 25006) as a lost connection: the whole pool is dropped.

    After a failover the old primary comes back as a standby; connections still open to it work,
    but refuse every write. Marking the error a disconnect makes SQLAlchemy invalidate the pool,
    so the next checkout connects afresh, and a multi-host URL with target_session_attrs=read-write
    finds the new primary. The call itself is answered UNAVAILABLE (unavailable()) and resent.
    """

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        if getattr(context.original_exception, "sqlstate", None) == READ_ONLY_SQLSTATE:
            context.is_disconnect = True

    return engine


def _probe_sqlite_file(file: str | None, timeout_s: float) -> None:
    if not file or file == ":memory:":
        return
    connection = sqlite3.connect(f"file:{Path(file).resolve()}?mode=rw", uri=True, timeout=timeout_s)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        connection.close()


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


def _sqlite_engine(url: str, *, pool_size: int, echo: bool, busy_timeout_ms: int) -> Engine:
    file = sqlite_file(url)
    if file is not None:
        _create_private_file(file)
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
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
