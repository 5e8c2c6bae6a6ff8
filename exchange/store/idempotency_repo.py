"""Idempotency keys: the first answer to a (partner, key), stored with the effect."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from exchange.store.tables import idempotency_keys

OUTCOME_OK = "OK"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """What the first request with a key was, and what it got: a body, or a final refusal."""

    method: str
    request_sha256: str
    response_body: bytes
    outcome: str = OUTCOME_OK
    error_reason: str = ""
    error_message: str = ""
    error_field: str = ""


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
        if row is None:
            return None
        return StoredAnswer(
            row.method,
            row.request_sha256,
            bytes(row.response_body),
            row.outcome,
            row.error_reason,
            row.error_message,
            row.error_field,
        )

    def claim(self, partner_id: str, key: str, *, method: str, request_sha256: str, now_ms: int) -> None:
        """Take the key for this transaction before doing the work.

        A concurrent request with the same key waits on this row (PostgreSQL's unique index) until
        this transaction ends, then fails on the duplicate and is retried, finding the answer. A
        concurrent duplicate raises IntegrityError here.
        """
        self._db.execute(
            insert(idempotency_keys).values(
                partner_id=partner_id,
                idempotency_key=key,
                method=method,
                request_sha256=request_sha256,
                response_body=b"",
                created_at_ms=now_ms,
            )
        )

    def answer(self, partner_id: str, key: str, answer: StoredAnswer) -> None:
        """Store the answer of the claimed key (in the transaction that claimed it)."""
        self._db.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.partner_id == partner_id, idempotency_keys.c.idempotency_key == key)
            .values(
                response_body=answer.response_body,
                outcome=answer.outcome,
                error_reason=answer.error_reason,
                error_message=answer.error_message,
                error_field=answer.error_field,
            )
        )
