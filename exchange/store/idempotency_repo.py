"""Idempotency keys: the first answer to a (partner, key), stored with the effect."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text, update

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
_ANSWER_SQL = (
    update(idempotency_keys)
    .where(
        idempotency_keys.c.partner_id == bindparam("key_partner_id"),
        idempotency_keys.c.idempotency_key == bindparam("key_idempotency_key"),
    )
    .values({name: bindparam(name) for name in ANSWER_COLUMNS})
)
_ANSWER = Precompiled(_ANSWER_SQL)


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
        return _stored(row) if row is not None else None

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

    # a batch's items (exchange.service.idempotency.claim_items) ----------------------------
    def claim_many(self, partner_id: str, claims: Sequence[tuple[str, str, str]], *, now_ms: int) -> set[str]:
        """Take these keys (key, method, request digest) for this transaction, in one statement; return those taken now.

        The rows go in key order, so two batches sharing keys wait for each other in the same
        order and never deadlock; a key taken by a transaction still running makes this wait for
        it, as claim does.
        """
        if not claims:
            return set()
        rows = ", ".join(
            f"(:partner_id, :key_{i}, :method_{i}, :sha_{i}, :response_body, :created_at_ms)"
            for i in range(len(claims))
        )
        values: dict[str, object] = {"partner_id": partner_id, "response_body": b"", "created_at_ms": now_ms}
        for i, (key, method, request_sha256) in enumerate(sorted(claims)):
            values |= {f"key_{i}": key, f"method_{i}": method, f"sha_{i}": request_sha256}
        # The same SQL on SQLite and PostgreSQL, as _CLAIM's; the VALUES list is bind parameter names only.
        statement = text(
            "INSERT INTO idempotency_keys (partner_id, idempotency_key, method, request_sha256, response_body, "  # noqa: S608
            f"created_at_ms) VALUES {rows} ON CONFLICT (partner_id, idempotency_key) DO NOTHING "
            "RETURNING idempotency_key"
        )
        return set(self._db.execute(statement, values).scalars())

    def find_many(self, partner_id: str, keys: Collection[str]) -> dict[str, StoredAnswer]:
        """The stored answers of these keys of the partner's, by key (none for a key not found)."""
        if not keys:
            return {}
        rows = self._db.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.partner_id == partner_id, idempotency_keys.c.idempotency_key.in_(sorted(keys))
            )
        ).all()
        return {row.idempotency_key: _stored(row._mapping) for row in rows}

    def answer_many(self, partner_id: str, answers: Sequence[tuple[str, StoredAnswer]]) -> None:
        """Store the answers of claimed keys (key, answer), in this transaction, as one batch of statements."""
        if answers:
            self._db.execute(
                _ANSWER_SQL,
                [
                    {
                        "key_partner_id": partner_id,
                        "key_idempotency_key": key,
                        **{name: getattr(answer, name) for name in ANSWER_COLUMNS},
                    }
                    for key, answer in answers
                ],
            )

    def release(self, partner_id: str, keys: Collection[str]) -> None:
        """Give back keys this transaction claimed and did not answer (their items were refused)."""
        if keys:
            self._db.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.partner_id == partner_id,
                    idempotency_keys.c.idempotency_key.in_(sorted(keys)),
                )
            )


def _stored(row: Any) -> StoredAnswer:
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
