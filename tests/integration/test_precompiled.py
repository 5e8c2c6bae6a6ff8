"""Hot-path statements on the driver's cursor behave as statements run through SQLAlchemy do."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import DataError, IntegrityError

from exchange.domain.ledger import Account, AccountKind, LedgerTransaction, Posting
from exchange.store import migrate, precompiled
from exchange.store.database import Database
from exchange.store.ledger_repo import MAX_POSTINGS_PER_STATEMENT, LedgerRepository
from exchange.store.nonces_repo import NonceRepository
from exchange.store.precompiled import writes_together
from exchange.store.tables import request_nonces


def _record(nonces: NonceRepository, nonce: str) -> None:
    nonces.record(
        principal="brand-a",
        nonce=nonce,
        method="/m",
        request_sha256="0" * 64,
        received_at_ms=1,
        outcome="OK",
        response_body=b"\x00\x01",
    )


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_nothing_of_it_is_kept(database: Database) -> None:
    database.run(lambda c: _record(NonceRepository(c), "n-1"))
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        _record(NonceRepository(connection), "n-1")
    found = database.run(lambda c: NonceRepository(c).find("brand-a", "n-1"))
    assert found is not None
    assert found.response_body == b"\x00\x01"


@pytest.mark.postgres
def test_a_nul_in_text_is_sqlalchemys_data_error_on_postgresql(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        with pytest.raises(DataError):
            database.run(lambda c: _record(NonceRepository(c), "bad\x00nonce"))
    finally:
        database.dispose()


def test_a_transaction_with_more_postings_than_one_insert_takes_is_written_whole(database: Database) -> None:
    pairs = MAX_POSTINGS_PER_STATEMENT + 3
    postings = []
    for i in range(pairs):
        payer, payee = f"brand-{i}", f"brand-{i + 1}"
        postings.append(Posting(Account(payee, AccountKind.MONEY_RECEIVABLE, payer), "EUR", 10 + i))
        postings.append(Posting(Account(payer, AccountKind.MONEY_PAYABLE, payee), "EUR", -(10 + i)))
    transaction = LedgerTransaction("ADJUSTMENT", "ref-1", tuple(postings))
    database.run(lambda c: LedgerRepository(c).post(transaction, 5))
    with database.engine.connect() as connection:
        ledger = LedgerRepository(connection)
        assert ledger.unbalanced_transactions() == []
        assert ledger.running_money_positions() == ledger.money_positions()
        assert ledger.money_position("brand-0", "EUR") == -10
        assert ledger.money_position(f"brand-{pairs}", "EUR") == 10 + pairs - 1


def test_the_money_positions_migration_carries_the_ledger_already_written(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    migrate.upgrade(database, revision="0010")
    with database.engine.begin() as connection:
        for owner, kind, counterparty, amount in (
            ("brand-a", "MONEY_PAYABLE", "brand-b", -700),
            ("brand-b", "MONEY_RECEIVABLE", "brand-a", 700),
            ("brand-a", "MONEY_PAYABLE", "brand-b", -300),
            ("brand-b", "MONEY_RECEIVABLE", "brand-a", 300),
            ("brand-a", "POINTS_RETIRED_FOR_OTHERS", "brand-b", -5),
        ):
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO ledger_entries (transaction_id, transaction_kind, reference, posted_at_ms, owner,"
                    " account_kind, counterparty, currency, amount)"
                    " VALUES ('t', 'CONVERSION', 'r', 1, :owner, :kind, :counterparty, 'EUR', :amount)"
                ),
                {"owner": owner, "kind": kind, "counterparty": counterparty, "amount": amount},
            )
    migrate.upgrade(database)
    with database.engine.connect() as connection:
        ledger = LedgerRepository(connection)
        assert ledger.money_position("brand-a", "EUR") == -1000
        assert ledger.money_position("brand-b", "EUR") == 1000
        assert ledger.running_money_positions() == ledger.money_positions()
    database.dispose()


def _nonce_count(connection: sqlalchemy.Connection) -> int:
    return int(connection.execute(sqlalchemy.text("SELECT count(*) FROM request_nonces")).scalar_one())


def test_writes_held_together_are_all_written_and_seen_by_the_reads_after_them(database: Database) -> None:
    def work(connection: sqlalchemy.Connection) -> tuple[int, bool]:
        with writes_together(connection):
            nonces = NonceRepository(connection)
            _record(nonces, "n-1")
            _record(nonces, "n-2")
            seen_by_precompiled = nonces.find("brand-a", "n-2") is not None  # a hot read sends them first
            _record(nonces, "n-3")
            _record(nonces, "n-4")
            return _nonce_count(connection), seen_by_precompiled  # so does any read through SQLAlchemy

    counted, seen = database.run(work)
    assert (counted, seen) == (4, True)
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == 4


def test_a_held_write_that_fails_fails_the_transaction_and_none_of_its_writes_is_kept(database: Database) -> None:
    database.run(lambda c: _record(NonceRepository(c), "n-taken"))

    def work(connection: sqlalchemy.Connection) -> None:
        with writes_together(connection):
            nonces = NonceRepository(connection)
            _record(nonces, "n-new")
            _record(nonces, "n-taken")
            _record(nonces, "n-newer")

    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        work(connection)
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == 1


# The empty PostgreSQL database of the shared fixture only: SQLite runs each write at once, nothing is held.
on_postgresql_only = pytest.mark.parametrize(
    "database", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@on_postgresql_only
def test_a_held_write_that_fails_is_raised_by_the_next_read_through_sqlalchemy(database: Database) -> None:
    database.run(lambda c: _record(NonceRepository(c), "n-taken"))
    with database.engine.connect() as connection:
        connection.begin()

        def held_then_read() -> None:
            with writes_together(connection):
                _record(NonceRepository(connection), "n-new")
                _record(NonceRepository(connection), "n-taken")
                with pytest.raises(IntegrityError):
                    _nonce_count(connection)

        with pytest.raises(IntegrityError):  # and again at the end of the block, which went on
            held_then_read()
        connection.rollback()
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == 1


def _refused_after_a_write(connection: sqlalchemy.Connection) -> None:
    with writes_together(connection):
        _record(NonceRepository(connection), "n-dropped")
        raise RuntimeError("refused")


@on_postgresql_only
def test_writes_held_in_a_block_that_raises_are_dropped(database: Database) -> None:
    # Either way the transaction of a call that raised rolls back; on SQLite its writes ran at once.
    with database.engine.begin() as connection:
        with pytest.raises(RuntimeError):
            _refused_after_a_write(connection)
        _record(NonceRepository(connection), "n-kept")
    with database.engine.connect() as connection:
        assert NonceRepository(connection).find("brand-a", "n-dropped") is None
        assert NonceRepository(connection).find("brand-a", "n-kept") is not None


@pytest.mark.postgres
def test_on_postgresql_the_held_writes_are_one_statement(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    real = precompiled._raw_cursor_of

    class Counting:
        def __init__(self, cursor: object) -> None:
            self._cursor = cursor

        def execute(self, query: bytes, params: list[object]) -> object:
            sent.append(query.decode())
            return self._cursor.execute(query, params)  # type: ignore[attr-defined]

    monkeypatch.setattr(precompiled, "_raw_cursor_of", lambda fairy: Counting(real(fairy)))
    database = Database(postgres_url)
    try:

        def work(connection: sqlalchemy.Connection) -> None:
            with writes_together(connection):
                for nonce in ("w-1", "w-2", "w-3"):
                    _record(NonceRepository(connection), nonce)

        database.run(work)
        with database.engine.connect() as connection:
            assert all(NonceRepository(connection).find("brand-a", n) for n in ("w-1", "w-2", "w-3"))
    finally:
        database.dispose()
    assert len(sent) == 1
    assert sent[0].startswith("WITH w0 AS (INSERT INTO request_nonces")


@pytest.mark.postgres
def test_a_nul_in_a_held_write_is_sqlalchemys_data_error_on_postgresql(postgres_url: str) -> None:
    database = Database(postgres_url)

    def work(connection: sqlalchemy.Connection) -> None:
        with writes_together(connection):
            _record(NonceRepository(connection), "fine")
            _record(NonceRepository(connection), "bad\x00nonce")

    try:
        with pytest.raises(DataError):
            database.run(work)
    finally:
        database.dispose()


@on_postgresql_only
def test_more_held_writes_than_one_statement_takes_are_all_written(database: Database) -> None:
    count = 2 * precompiled.MAX_HELD_WRITES + 3

    def work(connection: sqlalchemy.Connection) -> None:
        with writes_together(connection):
            for n in range(count):
                _record(NonceRepository(connection), f"many-{n}")

    database.run(work)
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == count


def _nonce_row(nonce: str, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "principal": "brand-a",
        "nonce": nonce,
        "method": "/m",
        "request_sha256": "0" * 64,
        "received_at_ms": 1,
        "outcome": "OK",
        "response_body": b"\x00\x01",
    }
    return row | overrides


def test_insert_rows_writes_every_row_as_given_and_the_server_defaults_for_the_rest(database: Database) -> None:
    rows = [
        _nonce_row("n-1"),
        # What a text-format COPY must escape, and bytes that are not text.
        _nonce_row("n-2", method="/tab\there\nnewline\\back\\\\slash", response_body=b"\\\x00\n\t\xff"),
        *(_nonce_row(f"n-{i}", received_at_ms=i) for i in range(3, 503)),
    ]
    database.run(lambda c: precompiled.insert_rows(c, request_nonces, rows))
    with database.engine.connect() as connection:
        stored = {row.nonce: row for row in connection.execute(sqlalchemy.select(request_nonces))}
    assert len(stored) == len(rows)
    for row in rows:
        found = stored[str(row["nonce"])]
        assert {key: getattr(found, key) for key in row} == row
        assert (found.error_reason, found.error_message, found.member_tag) == ("", "", "")


def test_insert_rows_with_a_taken_key_is_sqlalchemys_integrity_error_and_keeps_nothing(database: Database) -> None:
    database.run(lambda c: _record(NonceRepository(c), "n-taken"))
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        precompiled.insert_rows(connection, request_nonces, [_nonce_row("n-new"), _nonce_row("n-taken")])
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == 1


def test_insert_rows_of_nothing_sends_nothing(database: Database) -> None:
    database.run(lambda c: precompiled.insert_rows(c, request_nonces, []))
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == 0


@on_postgresql_only
def test_insert_rows_sends_the_held_writes_first(database: Database) -> None:
    """A row held before the bulk insert lands first: the bulk insert's own duplicate fails it, not a later read."""
    failed_in: list[str] = []

    def work(connection: sqlalchemy.Connection) -> None:
        with writes_together(connection):
            _record(NonceRepository(connection), "n-1")  # held
            try:
                precompiled.insert_rows(connection, request_nonces, [_nonce_row("n-1")])
            except IntegrityError:
                failed_in.append("insert_rows")
                raise

    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        work(connection)
    assert failed_in == ["insert_rows"]
    with database.engine.connect() as connection:
        assert _nonce_count(connection) == 0
