"""Appending ledger transactions and summing positions from them."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from exchange.domain.ledger import MONEY_KINDS, LedgerTransaction
from exchange.store.ids import new_id
from exchange.store.tables import ledger_entries


class LedgerRepository:
    """The append-only ledger through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def post(self, transaction: LedgerTransaction, at_ms: int) -> str:
        """Append a balanced transaction's postings; return its id."""
        transaction_id = new_id("txn")
        self._db.execute(
            insert(ledger_entries),
            [
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
                for p in transaction.postings
            ],
        )
        return transaction_id

    def money_positions(self) -> dict[tuple[str, str], int]:
        """Return every (partner, currency) money position: + owed to it, - it owes."""
        rows = self._db.execute(
            select(ledger_entries.c.owner, ledger_entries.c.currency, func.sum(ledger_entries.c.amount))
            .where(ledger_entries.c.account_kind.in_([k.value for k in MONEY_KINDS]))
            .group_by(ledger_entries.c.owner, ledger_entries.c.currency)
        ).all()
        return {(owner, currency): int(total) for owner, currency, total in rows}

    def money_position(self, owner: str, currency: str) -> int:
        """Return one partner's net money position in one currency: + owed to it, - it owes."""
        total = self._db.execute(
            select(func.coalesce(func.sum(ledger_entries.c.amount), 0)).where(
                ledger_entries.c.owner == owner,
                ledger_entries.c.currency == currency,
                ledger_entries.c.account_kind.in_([k.value for k in MONEY_KINDS]),
            )
        ).scalar_one()
        return int(total)

    def unbalanced_transactions(self) -> list[tuple[str, str, int]]:
        """Return (transaction, currency, sum) for every transaction that does not balance (none, ever)."""
        rows = self._db.execute(
            select(ledger_entries.c.transaction_id, ledger_entries.c.currency, func.sum(ledger_entries.c.amount))
            .group_by(ledger_entries.c.transaction_id, ledger_entries.c.currency)
            .having(func.sum(ledger_entries.c.amount) != 0)
        ).all()
        return [(t, c, int(s)) for t, c, s in rows]
