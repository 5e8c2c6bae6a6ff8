"""Idempotency keys: the first answer to a (partner, key), stored with the effect."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from exchange.store.tables import idempotency_keys


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What the first request with a key was, and what it got."""

    method: str
    request_sha256: str
    response_body: bytes


class IdempotencyRepository:
    """The idempotency_keys table through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def find(self, partner_id: str, key: str) -> StoredAnswer | None:
        """Return the stored answer for this partner's key, or None."""
        row = self._db.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.partner_id == partner_id, idempotency_keys.c.idempotency_key == key
            )
        ).first()
        return StoredAnswer(row.method, row.request_sha256, bytes(row.response_body)) if row else None

    def store(self, partner_id: str, key: str, answer: StoredAnswer, now_ms: int) -> None:
        """Store the first answer (a concurrent duplicate raises IntegrityError and is retried)."""
        self._db.execute(
            insert(idempotency_keys).values(
                partner_id=partner_id,
                idempotency_key=key,
                method=answer.method,
                request_sha256=answer.request_sha256,
                response_body=answer.response_body,
                created_at_ms=now_ms,
            )
        )
