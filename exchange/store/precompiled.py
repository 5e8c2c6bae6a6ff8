"""Hot-path statements: SQLAlchemy Core built and compiled once, run on the driver's own cursor.

A Core statement executed through ``Connection.execute`` costs the hub several times the CPU of
its round trip to PostgreSQL (building it, its cache key, the execution context, the result
wrapper; the figures are in bench/README.md, and docs/performance.md says where this fits). The
statements every signed call and every conversion runs are built here once, at import, with
named ``bindparam`` placeholders; each is compiled once per dialect and then sent straight to
the DBAPI connection underneath the caller's SQLAlchemy ``Connection``, inside the same
transaction. The tables and columns are still those of exchange.store.tables, so a statement
can't name a column that isn't there.

Errors come back as SQLAlchemy's own exception classes (IntegrityError, DataError,
OperationalError, ...), with ``connection_invalidated`` set and the connection invalidated
when the driver says the connection is gone, so exchange.store.database retries, refuses and
reports them exactly as it does for statements run through SQLAlchemy.

Writes whose outcome the caller does not read (``Precompiled.write``: an INSERT, an answer
stored, a position added) may go together: inside ``writes_together(connection)`` on PostgreSQL
they are held and sent as one statement, each a data-modifying ``WITH`` part of it, when the scope
ends or just before the connection's next statement of any kind, so every read still sees them.
A Convert's eight writes are one round trip instead of eight. PostgreSQL runs the parts on one
snapshot and checks their constraints at the end of the statement; a failure of any part fails
the statement, and with it the transaction, as the separate statements would have. Elsewhere
(SQLite), and inside a savepoint, a write runs at once.

A held write's error is raised by the statement that sends it, which may be a later one than the
write; so that it still belongs to the code that made it, writes_together keeps two promises. A
write inside a savepoint (``Connection.begin_nested``) is never held: sent at the savepoint's
RELEASE, its failure would leave the savepoint neither released nor rolled back (SQLAlchemy gives
up on a savepoint whose RELEASE fails), so an item refused on its own would keep the writes it
ran at once and lose those held. And a failure of held writes is raised again when the block
ends, even if code in between caught it as its own, so that the transaction never commits
without them (nor answers as done a call whose COMMIT PostgreSQL quietly turned into a ROLLBACK
after the failed statement).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Table, bindparam, event, insert, literal_column, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_PLAIN_CONSTANT = re.compile(r"[A-Z0-9_]{1,64}")
# At most this many writes go in one statement (a Convert holds 8): a command that writes many rows
# sends them in statements of this many, whose shapes stay few and whose parameters stay far below
# PostgreSQL's 65 535 per statement.
MAX_HELD_WRITES = 16


class _Rendered:
    """One statement as one dialect's driver takes it."""

    __slots__ = ("constants", "order", "sql")

    def __init__(self, compiled: SQLCompiler) -> None:
        self.sql: str = compiled.string
        self.constants: dict[str, Any] = {k: v for k, v in compiled.params.items() if v is not None}
        positions = getattr(compiled, "positiontup", None)
        self.order: tuple[str, ...] | None = tuple(positions) if compiled.positional and positions else None

    def parameters(self, given: Mapping[str, Any]) -> Any:
        values = {**self.constants, **given} if self.constants else given
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class Precompiled:
    """A Core statement compiled once per dialect, executed on the DBAPI cursor of the calling connection.

    Per-call values are ``bindparam("name")`` placeholders, given as keywords; constants written
    into the statement (``column == "ACTIVE"``) are bound once; a list of constants for IN is
    written with ``constants([...])``.
    Selected columns come back as plain dicts keyed by column name.
    """

    __slots__ = ("_rendered", "columns", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        selected = getattr(statement, "selected_columns", None)
        self.columns: tuple[str, ...] = tuple(c.key for c in selected) if selected is not None else ()
        self._rendered: dict[tuple[str, str], _Rendered] = {}

    def _for(self, connection: Connection) -> _Rendered:
        dialect = connection.dialect
        key = (dialect.name, dialect.driver)
        rendered = self._rendered.get(key)
        if rendered is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            rendered = self._rendered[key] = _Rendered(compiled)
        return rendered

    def execute(self, connection: Connection, **params: Any) -> Any:
        """Run the statement in the connection's transaction; return the DBAPI cursor (read it before the next)."""
        if _held.writes and _held.connection is connection:
            _send_held(connection)
        rendered = self._for(connection)
        parameters = rendered.parameters(params)
        fairy = connection.connection
        cursor = _cursor_of(fairy)
        try:
            cursor.execute(rendered.sql, parameters)
        except connection.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(connection, fairy, rendered.sql, parameters, exc) from exc
        return cursor

    def first(self, connection: Connection, **params: Any) -> dict[str, Any] | None:
        """Return the first row as a dict, or None."""
        row = self.execute(connection, **params).fetchone()
        return dict(zip(self.columns, row, strict=True)) if row is not None else None

    def all(self, connection: Connection, **params: Any) -> list[dict[str, Any]]:
        """Return every row as a dict."""
        rows = self.execute(connection, **params).fetchall()
        return [dict(zip(self.columns, row, strict=True)) for row in rows]

    def scalar(self, connection: Connection, **params: Any) -> Any:
        """Return the first column of the first row (None if no row)."""
        row = self.execute(connection, **params).fetchone()
        return row[0] if row is not None else None

    def run(self, connection: Connection, **params: Any) -> int:
        """Run a write; return the number of rows it changed."""
        return int(self.execute(connection, **params).rowcount)

    def write(self, connection: Connection, **params: Any) -> None:
        """Run a write whose outcome is not read: held for one statement inside writes_together, else run now.

        An error of a held write (a unique key taken, a NUL in a text) is raised when the held
        writes are sent: at the end of the scope or at the connection's next statement. Inside a
        savepoint a write runs at once, so its error is raised inside the savepoint.
        """
        if _held.connection is connection and not connection.in_nested_transaction():
            if len(_held.writes) >= MAX_HELD_WRITES:
                _send_held(connection)
            _held.writes.append((self, params))
        else:
            self.execute(connection, **params)


class _HeldWrites(threading.local):
    """The writes held by this thread's writes_together scope (a connection serves one thread at a time)."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.writes: list[tuple[Precompiled, Mapping[str, Any]]] = []
        self.failure: BaseException | None = None  # the first failure to send them, raised again at the end


_held = _HeldWrites()


@contextmanager
def writes_together(connection: Connection) -> Iterator[None]:
    """Hold this connection's Precompiled.write calls and send them as one statement (PostgreSQL, psycopg).

    The held writes are sent when the block ends without an exception, or before the
    connection's next statement (a Precompiled one, or any through SQLAlchemy: see
    send_held_writes_first). If the block raises, they are dropped: the transaction is rolling
    back anyway. If sending them failed and the block went on (it caught the error, thinking it
    its own), the block ends by raising that failure again: the writes are lost, so the
    transaction must not commit. Elsewhere, and inside another such block, writes run at once;
    inside a savepoint too (see the module docstring).
    """
    dialect = connection.dialect
    if _held.connection is not None or (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        yield
        return
    _held.connection = connection
    _held.failure = None
    try:
        yield
        if _held.writes:
            _send_held(connection)
        if _held.failure is not None:
            raise _held.failure
    finally:
        _held.connection = None
        _held.writes = []
        _held.failure = None


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows into one table, in the connection's transaction: a bulk call's writes.

    On PostgreSQL through psycopg, by ``COPY ... FROM STDIN``: the rows go as one stream the
    driver encodes in C, about a tenth of the hub's CPU of an executemany INSERT for a 500-item
    ConvertBatch's 2 000 ledger rows (bench/README.md, 2026-12-04). Held writes are sent first, so
    the rows land after them, as an INSERT's would. Elsewhere, one executemany INSERT. Every row
    names the same columns; those it leaves out take their server defaults, as by INSERT, and a
    row the database refuses fails the whole statement with SQLAlchemy's exception, as the INSERT
    would (the transaction then rolls back).
    """
    if not rows:
        return
    dialect = connection.dialect
    if (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        connection.execute(insert(table), list(rows))
        return
    if _held.writes and _held.connection is connection:
        _send_held(connection)
    names = tuple(rows[0])
    quote = dialect.identifier_preparer
    columns = ", ".join(quote.format_column(table.c[name]) for name in names)
    sql = f"COPY {quote.format_table(table)} ({columns}) FROM STDIN"
    fairy = connection.connection
    cursor = _cursor_of(fairy)
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(connection, fairy, sql, {}, exc) from exc


def send_held_writes_first(engine: Engine) -> Engine:
    """Make every statement the engine runs through SQLAlchemy send the held writes of its connection first.

    So code that reads with Connection.execute inside a writes_together block sees its writes.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _send_first(connection: Connection, *_: Any) -> None:
        if _held.writes and _held.connection is connection:
            _send_held(connection)

    return engine


def _send_held(connection: Connection) -> None:
    writes, _held.writes = _held.writes, []
    try:
        _send(connection, writes)
    except BaseException as failure:
        _held.failure = _held.failure or failure
        raise


def _send(connection: Connection, writes: Sequence[tuple[Precompiled, Mapping[str, Any]]]) -> None:
    if len(writes) == 1:
        statement, params = writes[0]
        statement.execute(connection, **params)
        return
    combined = _combined(connection, tuple(statement for statement, _ in writes))
    parameters: list[Any] = []
    for (statement, params), names in zip(writes, combined.names, strict=True):
        values = statement._for(connection).parameters(params)  # named: a dict, with the bound constants
        parameters.extend(values[name] for name in names)
    fairy = connection.connection
    cursor = _raw_cursor_of(fairy)
    try:
        cursor.execute(combined.sql, parameters)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(connection, fairy, combined.sql.decode(), parameters, exc) from exc


_NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_COMBINED_KEPT = 256


class _Combined:
    """Several writes as one PostgreSQL statement with numbered placeholders: the names bound by each, in order."""

    __slots__ = ("names", "sql")

    def __init__(self, sql: bytes, names: Sequence[tuple[str, ...]]) -> None:
        self.sql = sql
        self.names = names


_combined_by_shape: dict[tuple[Precompiled, ...], _Combined] = {}


def _combined(connection: Connection, statements: tuple[Precompiled, ...]) -> _Combined:
    """The statements as ``WITH w0 AS (first), w1 AS (second), ... last``, built once per sequence of statements."""
    combined = _combined_by_shape.get(statements)
    if combined is not None:
        return combined
    parts: list[str] = []
    names: list[tuple[str, ...]] = []
    for statement in statements:
        rendered = statement._for(connection)
        assert rendered.order is None, "psycopg statements are compiled with named placeholders"
        bound: list[str] = []
        before = sum(map(len, names))  # placeholders of the parts ahead of this one

        def number(match: re.Match[str], bound: list[str] = bound, before: int = before) -> str:
            if match.group(1) is None:
                return "%"
            bound.append(match.group(1))
            return f"${before + len(bound)}"

        parts.append(_NAMED_PLACEHOLDER.sub(number, rendered.sql))
        names.append(tuple(bound))
    ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts[:-1]))
    combined = _Combined(f"WITH {ctes} {parts[-1]}".encode(), names)
    if len(_combined_by_shape) >= _COMBINED_KEPT:
        _combined_by_shape.clear()
    _combined_by_shape[statements] = combined
    return combined


_CURSOR_KEY = "exchange.precompiled.cursor"
_RAW_CURSOR_KEY = "exchange.precompiled.raw_cursor"


def _cursor_of(fairy: Any) -> Any:
    """The DBAPI connection's own cursor for these statements, made once per connection and kept with it.

    The pool's per-connection info dict is cleared when the connection is replaced; the cursor is
    also checked against the connection it was made on. A connection serves one thread at a time.
    """
    kept = fairy.info.get(_CURSOR_KEY)
    dbapi_connection = fairy.dbapi_connection
    if kept is None or kept[0] is not dbapi_connection:
        kept = fairy.info[_CURSOR_KEY] = (dbapi_connection, dbapi_connection.cursor())
    return kept[1]


def _raw_cursor_of(fairy: Any) -> Any:
    """A psycopg cursor that takes numbered placeholders ($1, $2 ...) as they are, kept with the connection."""
    kept = fairy.info.get(_RAW_CURSOR_KEY)
    dbapi_connection = fairy.dbapi_connection
    if kept is None or kept[0] is not dbapi_connection:
        from psycopg import RawCursor  # the only driver writes_together combines for; not installed with SQLite alone

        kept = fairy.info[_RAW_CURSOR_KEY] = (dbapi_connection, RawCursor(dbapi_connection))
    return kept[1]


def _wrapped(connection: Connection, fairy: Any, sql: str, parameters: Any, exc: Any) -> BaseException:
    """SQLAlchemy's exception for a driver error; a lost connection is invalidated, as SQLAlchemy does."""
    dialect = connection.dialect
    lost = bool(dialect.is_disconnect(exc, fairy.dbapi_connection, None))
    if lost:
        connection.invalidate(exc)
    wrapped: BaseException = DBAPIError.instance(
        sql,
        parameters,
        exc,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,  # never a member reference in a logged error
        connection_invalidated=lost,
        dialect=dialect,
    )
    return wrapped


def inserting(table: Table, columns: Iterable[str]) -> Precompiled:
    """An INSERT of these columns of a table, each from the bind parameter of its own name."""
    return Precompiled(insert(table).values({name: bindparam(name) for name in columns}))


def selecting(table: Table, *where: str) -> Precompiled:
    """A SELECT of every column of a table where each named column equals the bind parameter of its name."""
    return Precompiled(select(table).where(*(table.c[name] == bindparam(name) for name in where)))


def constants(values: Iterable[str]) -> list[ColumnElement[Any]]:
    """Plain upper-case constants (state names) written into the SQL, for an IN list compiled once."""
    written: list[ColumnElement[Any]] = []
    for value in values:
        assert _PLAIN_CONSTANT.fullmatch(value), f"not a plain constant: {value!r}"
        written.append(literal_column(f"'{value}'"))
    return written
