"""Appending audit events, sealing them into the chain, and reading them back in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, insert, select, update

from exchange.domain.audit import AuditEvent, Checkpoint
from exchange.store.precompiled import inserting
from exchange.store.tables import audit_checkpoints, audit_events

_APPEND = inserting(audit_events, ("at_ms", "actor", "action", "subject", "request_sha256", "response_sha256"))


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        at_ms=row.at_ms,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        request_sha256=row.request_sha256,
        response_sha256=row.response_sha256,
        entry_sha256=row.entry_sha256,
    )


class AuditRepository:
    """The audit log through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def append(
        self,
        *,
        at_ms: int,
        actor: str,
        action: str,
        subject: str = "",
        request_sha256: str = "",
        response_sha256: str = "",
    ) -> None:
        """Append one event (no read: concurrent writers never wait on each other here)."""
        _APPEND.write(
            self._db,
            at_ms=at_ms,
            actor=actor[:32],
            action=action[:200],
            subject=subject[:64],
            request_sha256=request_sha256,
            response_sha256=response_sha256,
        )

    def head(self) -> Checkpoint | None:
        """Return the latest checkpoint."""
        row = self._db.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.last_seq.desc()).limit(1)).first()
        return Checkpoint(**row._mapping) if row else None

    def unsealed(self, *, after_seq: int, at_or_before_ms: int, limit: int) -> list[AuditEvent]:
        """Return unsealed events after a seq, old enough to seal, in seq order."""
        e = audit_events.c
        rows = self._db.execute(
            select(audit_events)
            .where(e.entry_sha256.is_(None), e.seq > after_seq, e.at_ms <= at_or_before_ms)
            .order_by(e.seq)
            .limit(limit)
        )
        return [_event(row) for row in rows]

    def seal(self, seq: int, entry_sha256: str) -> None:
        """Store an event's place in the chain."""
        result = self._db.execute(
            update(audit_events)
            .where(audit_events.c.seq == seq, audit_events.c.entry_sha256.is_(None))
            .values(entry_sha256=entry_sha256)
        )
        assert result.rowcount == 1, "the event was sealed under this transaction"

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Record a signed chain head."""
        self._db.execute(
            insert(audit_checkpoints).values(
                last_seq=checkpoint.last_seq,
                head_sha256=checkpoint.head_sha256,
                sealed_at_ms=checkpoint.sealed_at_ms,
                events=checkpoint.events,
                hub_key_id=checkpoint.hub_key_id,
                signature=checkpoint.signature,
            )
        )

    def checkpoints(self) -> list[Checkpoint]:
        """Return every checkpoint, oldest first (one per sealing: few)."""
        rows = self._db.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.last_seq))
        return [Checkpoint(**row._mapping) for row in rows]

    def iter_events(self, batch: int = 5000) -> Iterator[AuditEvent]:
        """Yield every event in seq order, a batch at a time (never the whole log in memory)."""
        after = 0
        while True:
            rows = self._db.execute(
                select(audit_events).where(audit_events.c.seq > after).order_by(audit_events.c.seq).limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _event(row)
            after = rows[-1].seq
