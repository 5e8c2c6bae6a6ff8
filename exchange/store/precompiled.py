"""Hot-path statements: SQLAlchemy Core built and compiled once, run on the driver's own cursor.

A Core statement executed through ``Connection.execute`` costs 150-500 µs of hub CPU per call
(building it, its cache key, the execution context, the result wrapper; bench/README.md),
several times what the round trip to PostgreSQL costs. The statements every signed call and
every conversion runs are built here once, at import, with named ``bindparam`` placeholders;
each is compiled once per dialect and then sent straight to the DBAPI connection underneath
the caller's SQLAlchemy ``Connection``, inside the same transaction. The tables and columns
are still those of exchange.store.tables, so a statement can't name a column that isn't there.

Errors come back as SQLAlchemy's own exception classes (IntegrityError, DataError,
OperationalError, ...), with ``connection_invalidated`` set and the connection invalidated
when the driver says the connection is gone, so exchange.store.database retries, refuses and
reports them exactly as it does for statements run through SQLAlchemy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, bindparam, insert, literal_column, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_PLAIN_CONSTANT = re.compile(r"[A-Z0-9_]{1,64}")


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


_CURSOR_KEY = "exchange.precompiled.cursor"


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


def _wrapped(connection: Connection, fairy: Any, sql: str, parameters: Any, exc: Any) -> BaseException:
    """SQLAlchemy's exception for a driver error; a lost connection is invalidated, as SQLAlchemy does."""
    dialect = connection.dialect
    lost = bool(dialect.is_disconnect(exc, fairy.dbapi_connection, None))
    if lost:
        connection.invalidate(exc)
    wrapped: BaseException = DBAPIError.instance(
        sql, parameters, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
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
