"""Appending ledger transactions and summing positions from them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text

from exchange.domain.ledger import MONEY_KINDS, LedgerTransaction
from exchange.store.ids import new_id
from exchange.store.precompiled import Precompiled, insert_rows
from exchange.store.tables import ledger_entries, money_positions

TRANSACTION_COLUMNS = ("transaction_id", "transaction_kind", "reference", "posted_at_ms")  # bound once per INSERT
POSTING_COLUMNS = ("owner", "account_kind", "counterparty", "currency", "amount")  # bound per row
# A transaction's postings go in one INSERT up to this many: 4 + 5 x 9 = 49 parameters stays within
# psycopg's cache of converted queries (50 parameters at most).
MAX_POSTINGS_PER_STATEMENT = 9

_ADD_TO_POSITIONS: dict[int, Precompiled] = {}


def _add_to_positions(count: int) -> Precompiled:
    """Add to count position rows in one statement, creating a row at its first posting; built once per count.

    The same SQL on SQLite and PostgreSQL; rows are taken in the order of the VALUES list.
    """
    statement = _ADD_TO_POSITIONS.get(count)
    if statement is None:
        rows = ", ".join(f"(:owner_{i}, :currency_{i}, :counterparty_{i}, :amount_{i})" for i in range(count))
        statement = _ADD_TO_POSITIONS[count] = Precompiled(
            text(
                # The VALUES list is made of bind parameter names only: no value is written into the SQL.
                f"INSERT INTO money_positions (owner, currency, counterparty, amount) VALUES {rows} "  # noqa: S608
                "ON CONFLICT (owner, currency, counterparty) "
                "DO UPDATE SET amount = money_positions.amount + excluded.amount"
            )
        )
    return statement


# One partner's net money position in one currency (bind parameters owner, currency), from its
# running positions; the conversion's limit read (exchange.store.conversions_repo) embeds it too.
POSITION_OF = select(func.coalesce(func.sum(money_positions.c.amount), 0)).where(
    money_positions.c.owner == bindparam("owner"), money_positions.c.currency == bindparam("currency")
)
_POSITION = Precompiled(POSITION_OF)
_INSERT_ENTRIES: dict[int, Precompiled] = {}


def _insert_entries(count: int) -> Precompiled:
    """One multi-row INSERT of count postings of one transaction, built once per count.

    The transaction's columns are one bind parameter each for every row; a posting's are
    owner_0, owner_1, ... and so on.
    """
    statement = _INSERT_ENTRIES.get(count)
    if statement is None:
        shared: dict[str, Any] = {name: bindparam(name) for name in TRANSACTION_COLUMNS}
        rows = [{**shared, **{name: bindparam(f"{name}_{i}") for name in POSTING_COLUMNS}} for i in range(count)]
        statement = _INSERT_ENTRIES[count] = Precompiled(insert(ledger_entries).values(rows))
    return statement


class LedgerRepository:
    """The append-only ledger through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def post(self, transaction: LedgerTransaction, at_ms: int) -> str:
        """Append a balanced transaction's postings and add its money postings to the positions; return its id."""
        transaction_id = new_id("txn")
        postings = transaction.postings
        for start in range(0, len(postings), MAX_POSTINGS_PER_STATEMENT):
            chunk = postings[start : start + MAX_POSTINGS_PER_STATEMENT]
            values: dict[str, object] = {
                "transaction_id": transaction_id,
                "transaction_kind": transaction.kind,
                "reference": transaction.reference,
                "posted_at_ms": at_ms,
            }
            for i, p in enumerate(chunk):
                values[f"owner_{i}"] = p.account.owner
                values[f"account_kind_{i}"] = p.account.kind.value
                values[f"counterparty_{i}"] = p.account.counterparty
                values[f"currency_{i}"] = p.currency
                values[f"amount_{i}"] = p.amount
            _insert_entries(len(chunk)).write(self._db, **values)
        self._add_to_positions([transaction])
        return transaction_id

    def post_many(self, transactions: Sequence[LedgerTransaction], at_ms: int) -> list[str]:
        """Post many balanced transactions at once (a batch's): every posting in one bulk statement (insert_rows).

        Their money postings are summed per position first, so each position row is written once,
        in key order, as post writes them; return the transactions' ids, in order.
        """
        ids = [new_id("txn") for _ in transactions]
        rows = [
            {
                "transaction_id": transaction_id,
                "transaction_kind": transaction.kind,
                "reference": transaction.reference,
                "posted_at_ms": at_ms,
                "owner": p.account.owner,
                "account_kind": p.account.kind.value,
                "counterparty": p.account.counterparty,
                "currency": p.currency,
                "amount": p.amount,
            }
            for transaction_id, transaction in zip(ids, transactions, strict=True)
            for p in transaction.postings
        ]
        insert_rows(self._db, ledger_entries, rows)
        self._add_to_positions(transactions)
        return ids

    def _add_to_positions(self, transactions: Iterable[LedgerTransaction]) -> None:
        """Add the transactions' money postings to the running positions, each position once, in key order.

        Position rows are written in key order, so two transactions touching the same pair of
        partners take their row locks in the same order and never deadlock.
        """
        deltas: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        for transaction in transactions:
            for p in transaction.postings:
                if p.account.kind in MONEY_KINDS:
                    deltas[(p.account.owner, p.currency, p.account.counterparty)] += p.amount
        changed = sorted((key, amount) for key, amount in deltas.items() if amount)
        for start in range(0, len(changed), MAX_POSTINGS_PER_STATEMENT):
            rows = changed[start : start + MAX_POSTINGS_PER_STATEMENT]
            values: dict[str, object] = {}
            for i, ((owner, currency, counterparty), amount) in enumerate(rows):
                values[f"owner_{i}"] = owner
                values[f"currency_{i}"] = currency
                values[f"counterparty_{i}"] = counterparty
                values[f"amount_{i}"] = amount
            _add_to_positions(len(rows)).write(self._db, **values)

    def money_positions(self) -> dict[tuple[str, str], int]:
        """Return every (partner, currency) money position: + owed to it, - it owes."""
        rows = self._db.execute(
            select(ledger_entries.c.owner, ledger_entries.c.currency, func.sum(ledger_entries.c.amount))
            .where(ledger_entries.c.account_kind.in_([k.value for k in MONEY_KINDS]))
            .group_by(ledger_entries.c.owner, ledger_entries.c.currency)
        ).all()
        return {(owner, currency): int(total) for owner, currency, total in rows}

    def money_position(self, owner: str, currency: str) -> int:
        """Return one partner's net money position in one currency from the running positions: + owed to it."""
        return int(_POSITION.scalar(self._db, owner=owner, currency=currency))

    def running_money_positions(self) -> dict[tuple[str, str], int]:
        """Return every (partner, currency) position as the running positions hold it (see money_positions)."""
        rows = self._db.execute(
            select(money_positions.c.owner, money_positions.c.currency, func.sum(money_positions.c.amount)).group_by(
                money_positions.c.owner, money_positions.c.currency
            )
        ).all()
        return {(owner, currency): int(total) for owner, currency, total in rows}

    def unbalanced_transactions(self) -> list[tuple[str, str, int]]:
        """Return (transaction, currency, sum) for every transaction that does not balance (none, ever)."""
        rows = self._db.execute(
            select(ledger_entries.c.transaction_id, ledger_entries.c.currency, func.sum(ledger_entries.c.amount))
            .group_by(ledger_entries.c.transaction_id, ledger_entries.c.currency)
            .having(func.sum(ledger_entries.c.amount) != 0)
        ).all()
        return [(t, c, int(s)) for t, c, s in rows]
