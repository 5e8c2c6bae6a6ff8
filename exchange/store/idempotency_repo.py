"""Idempotency keys: the first answer to a (partner, key), stored with the effect."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, text, update

from exchange.store.precompiled import Precompiled, selecting
from exchange.store.tables import idempotency_keys, request_nonces

OUTCOME_OK = "OK"
ANSWER_COLUMNS = ("response_body", "outcome", "error_reason", "error_message", "error_field", "member_tag")

_FIND = selecting(idempotency_keys, "partner_id", "idempotency_key")
# The same SQL on SQLite and PostgreSQL. A row a concurrent transaction holds makes PostgreSQL wait
# for it; once it commits, nothing is inserted (at READ COMMITTED the next statement sees the row;
# under SERIALIZABLE, a row this snapshot can't see is a serialization failure, retried).
_CLAIM = Precompiled(
    text(
        "INSERT INTO idempotency_keys (partner_id, idempotency_key, method, request_sha256, response_body, "
        "created_at_ms) VALUES (:partner_id, :idempotency_key, :method, :request_sha256, :response_body, "
        ":created_at_ms) ON CONFLICT (partner_id, idempotency_key) DO NOTHING"
    )
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
    member_tag: str = ""


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
            row["member_tag"],
        )

    def claim(self, partner_id: str, key: str, *, method: str, request_sha256: str, now_ms: int) -> bool:
        """Take the key for this transaction before doing the work; False if it was taken already.

        A concurrent request with the same key waits on this row (PostgreSQL's unique index) until
        this transaction ends, then finds it taken and reads the answer.
        """
        return (
            _CLAIM.run(
                self._db,
                partner_id=partner_id,
                idempotency_key=key,
                method=method,
                request_sha256=request_sha256,
                response_body=b"",
                created_at_ms=now_ms,
            )
            == 1
        )

    def answer(self, partner_id: str, key: str, answer: StoredAnswer) -> None:
        """Store the answer of the claimed key (in the transaction that claimed it)."""
        _ANSWER.write(
            self._db,
            key_partner_id=partner_id,
            key_idempotency_key=key,
            response_body=answer.response_body,
            outcome=answer.outcome,
            error_reason=answer.error_reason,
            error_message=answer.error_message,
            error_field=answer.error_field,
            member_tag=answer.member_tag,
        )


def erase_answers(connection: Connection, member_tags: list[str]) -> int:
    """Empty the answers kept under nonces and idempotency keys that named one of these members; return how many.

    Their outcome becomes ERASED (exchange.service.stored_answers says what a resend is told).
    """
    if not member_tags:
        return 0
    erased = 0
    for table in (request_nonces, idempotency_keys):
        result = connection.execute(
            update(table).where(table.c.member_tag.in_(member_tags)).values(response_body=b"", outcome="ERASED")
        )
        erased += int(result.rowcount)
    return erased
