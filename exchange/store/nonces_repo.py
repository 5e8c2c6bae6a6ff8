"""Request nonces and the first answer given to each, for replay refusal and resends."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, update

from exchange.store.precompiled import inserting, selecting
from exchange.store.tables import request_nonces

_FIND = selecting(request_nonces, "principal", "nonce")
_RECORD = inserting(
    request_nonces,
    (
        "principal",
        "nonce",
        "method",
        "request_sha256",
        "received_at_ms",
        "outcome",
        "response_body",
        "error_reason",
        "error_message",
        "error_field",
        "member_tag",
    ),
)


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """The first answer the hub gave to a request nonce."""

    method: str
    request_sha256: str
    outcome: str
    response_body: bytes
    error_reason: str
    error_message: str
    error_field: str


class NonceRepository:
    """The request_nonces table through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def find(self, principal: str, nonce: str) -> RecordedAnswer | None:
        """Return the answer recorded for this nonce, or None if the nonce is new."""
        row = _FIND.first(self._db, principal=principal, nonce=nonce)
        if row is None:
            return None
        return RecordedAnswer(
            method=row["method"],
            request_sha256=row["request_sha256"],
            outcome=row["outcome"],
            response_body=bytes(row["response_body"]),
            error_reason=row["error_reason"],
            error_message=row["error_message"],
            error_field=row["error_field"],
        )

    def record(
        self,
        *,
        principal: str,
        nonce: str,
        method: str,
        request_sha256: str,
        received_at_ms: int,
        outcome: str,
        response_body: bytes = b"",
        error_reason: str = "",
        error_message: str = "",
        error_field: str = "",
        member_tag: str = "",
    ) -> None:
        """Record a nonce with its answer; a concurrent duplicate raises IntegrityError (retried).

        member_tag: the keyed tag of the member the kept answer names (exchange.service.stored_answers).
        """
        _RECORD.write(
            self._db,
            principal=principal,
            nonce=nonce,
            method=method,
            request_sha256=request_sha256,
            received_at_ms=received_at_ms,
            outcome=outcome,
            response_body=response_body,
            error_reason=error_reason,
            error_message=error_message,
            error_field=error_field,
            member_tag=member_tag,
        )

    def confirm(self, principal: str, nonce: str) -> None:
        """Rewrite the nonce's row unchanged, so that answering from it waits for what a fresh answer waits for.

        A replay only reads, and a read-only transaction commits without waiting for anything.
        On a PostgreSQL primary that crashed and came back before its standby confirmed its last
        commits, crash recovery makes those commits visible here although no caller was told of
        them, and the failover that follows rewinds them away. A replay answered from such a row
        would acknowledge a conversion that is then lost. This write makes the replay's commit
        wait for the synchronous standby, which confirms WAL in order, so the recorded answer is
        on the standby before the caller hears it; where no standby follows this server any more,
        the commit waits until the server is stopped, and the caller gets UNAVAILABLE and resends.
        """
        self._db.execute(
            update(request_nonces)
            .where(request_nonces.c.principal == principal, request_nonces.c.nonce == nonce)
            .values(received_at_ms=request_nonces.c.received_at_ms)
        )

    def prune(self, *, received_before_ms: int) -> int:
        """Delete the nonces received before the cut-off (outside every window); return how many."""
        result = self._db.execute(delete(request_nonces).where(request_nonces.c.received_at_ms < received_before_ms))
        return int(result.rowcount)
