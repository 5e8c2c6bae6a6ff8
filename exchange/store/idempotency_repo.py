"""Idempotency keys: the first answer to a (partner, key), stored with the effect."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, update

from exchange.store.precompiled import Precompiled, inserting, selecting
from exchange.store.tables import idempotency_keys

OUTCOME_OK = "OK"
ANSWER_COLUMNS = ("response_body", "outcome", "error_reason", "error_message", "error_field")

_FIND = selecting(idempotency_keys, "partner_id", "idempotency_key")
_CLAIM = inserting(
    idempotency_keys, ("partner_id", "idempotency_key", "method", "request_sha256", "response_body", "created_at_ms")
)
_ANSWER = Precompiled(
    update(idempotency_keys)
    .where(
        idempotency_keys.c.partner_id == bindparam("key_partner_id"),
        idempotency_keys.c.idempotency_key == bindparam("key_idempotency_key"),
    )
    .values({name: bindparam(name) for name in ANSWER_COLUMNS})
)


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
        row = _FIND.first(self._db, partner_id=partner_id, idempotency_key=key)
        if row is None:
            return None
        return StoredAnswer(
            row["method"],
            row["request_sha256"],
            bytes(row["response_body"]),
            row["outcome"],
            row["error_reason"],
            row["error_message"],
            row["error_field"],
        )

    def claim(self, partner_id: str, key: str, *, method: str, request_sha256: str, now_ms: int) -> None:
        """Take the key for this transaction before doing the work.

        A concurrent request with the same key waits on this row (PostgreSQL's unique index) until
        this transaction ends, then fails on the duplicate and is retried, finding the answer. A
        concurrent duplicate raises IntegrityError here.
        """
        _CLAIM.run(
            self._db,
            partner_id=partner_id,
            idempotency_key=key,
            method=method,
            request_sha256=request_sha256,
            response_body=b"",
            created_at_ms=now_ms,
        )

    def answer(self, partner_id: str, key: str, answer: StoredAnswer) -> None:
        """Store the answer of the claimed key (in the transaction that claimed it)."""
        _ANSWER.run(
            self._db,
            key_partner_id=partner_id,
            key_idempotency_key=key,
            response_body=answer.response_body,
            outcome=answer.outcome,
            error_reason=answer.error_reason,
            error_message=answer.error_message,
            error_field=answer.error_field,
        )
