"""Reading and writing disputes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from exchange.domain.disputes import Dispute, DisputeState
from exchange.store.tables import disputes


def _dispute(row: Any) -> Dispute:
    values = dict(row._mapping)
    values["state"] = DisputeState(values["state"])
    return Dispute(**values)


class DisputeRepository:
    """Disputes through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, dispute: Dispute) -> None:
        """Insert a new dispute."""
        self._db.execute(insert(disputes).values(**{**asdict(dispute), "state": dispute.state.value}))

    def get(self, dispute_id: str) -> Dispute | None:
        """Return a dispute by id."""
        row = self._db.execute(select(disputes).where(disputes.c.dispute_id == dispute_id)).first()
        return _dispute(row) if row else None

    def save(self, before: Dispute, after: Dispute) -> None:
        """Write a dispute's new state; refuses if it moved meanwhile."""
        values = {**asdict(after), "state": after.state.value}
        del values["dispute_id"]
        result = self._db.execute(
            update(disputes)
            .where(disputes.c.dispute_id == before.dispute_id, disputes.c.state == before.state.value)
            .values(**values)
        )
        assert result.rowcount == 1, "the dispute changed under this transaction"

    def list_page(
        self, partner_id: str | None, *, state: DisputeState | None, before: tuple[int, str] | None, limit: int
    ) -> list[Dispute]:
        """Return disputes a brand opened or must answer (every one for None), newest first."""
        d = disputes.c
        query = select(disputes).order_by(d.opened_at_ms.desc(), d.dispute_id.desc()).limit(limit)
        if partner_id is not None:
            query = query.where(or_(d.opened_by == partner_id, d.counterparty == partner_id))
        if state is not None:
            query = query.where(d.state == state.value)
        if before is not None:
            at_ms, dispute_id = before
            query = query.where(or_(d.opened_at_ms < at_ms, and_(d.opened_at_ms == at_ms, d.dispute_id < dispute_id)))
        return [_dispute(row) for row in self._db.execute(query)]
