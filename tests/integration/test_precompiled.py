"""Hot-path statements on the driver's cursor behave as statements run through SQLAlchemy do."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import DataError, IntegrityError

from exchange.domain.ledger import Account, AccountKind, LedgerTransaction, Posting
from exchange.store import migrate
from exchange.store.database import Database
from exchange.store.ledger_repo import MAX_POSTINGS_PER_STATEMENT, LedgerRepository
from exchange.store.nonces_repo import NonceRepository


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
