"""Running one signed call exactly once: authenticate, judge the nonce, run, record the answer.

The nonce row, the audit event and the call's effects commit in the same transaction, so a call either
happened and its answer is on record, or it did not happen at all. A resend of the same
call (same nonce, same bytes) gets the recorded answer back without running again; the same
nonce with other bytes is refused as a replay. Failed calls are recorded too (in a second
transaction, after the first rolled back), so a captured request that was refused once can't
be replayed later into success.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from exchange.domain import errors
from exchange.domain.errors import Aborted, ExchangeError, InvalidArgument, Unauthenticated, require
from exchange.domain.request_auth import NonceVerdict, judge_nonce, nonce_replayed
from exchange.service import audit
from exchange.service.authentication import Caller, IncomingCall
from exchange.store.database import Database
from exchange.store.nonces_repo import NonceRepository, RecordedAnswer

OUTCOME_OK = "OK"

Authenticate = Callable[[Connection], Caller]
Handler = Callable[[Connection, Caller], bytes]

_ERROR_CLASSES: dict[str, type[ExchangeError]] = {
    cls.__name__: cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, ExchangeError)
}


def execute_once(
    database: Database, call: IncomingCall, authenticate: Authenticate, handler: Handler, now_ms: int
) -> bytes:
    """Run handler for a signed call at most once and return the serialized answer.

    Raises:
        ExchangeError: the call was refused (now, or the first time this nonce was seen).
    """
    authenticated: list[Caller] = []

    def attempt(connection: Connection) -> bytes:
        caller = authenticate(connection)
        authenticated[:] = [caller]
        nonces = NonceRepository(connection)
        recorded = nonces.find(caller.principal, call.nonce)
        verdict = judge_nonce(
            (recorded.method, recorded.request_sha256) if recorded else None, (call.method, call.body_sha256)
        )
        if verdict is NonceVerdict.REPLAYED:
            raise nonce_replayed()
        if verdict is NonceVerdict.RESENT:
            assert recorded is not None
            return _replay(recorded)
        body = handler(connection, caller)
        audit.record_call(
            connection,
            actor=caller.principal,
            method=call.method,
            request_sha256=call.body_sha256,
            response=body,
            now_ms=now_ms,
        )
        nonces.record(
            principal=caller.principal,
            nonce=call.nonce,
            method=call.method,
            request_sha256=call.body_sha256,
            received_at_ms=now_ms,
            outcome=OUTCOME_OK,
            response_body=body,
        )
        return body

    try:
        return database.run(attempt)
    except (Unauthenticated, Aborted):
        raise  # not the caller's answer to keep: an unproven caller, or a transient conflict
    except ExchangeError as exc:
        if authenticated:
            _record_refusal(database, call, authenticated[0], exc, now_ms)
        raise
    except DataError as exc:
        # Whatever ran has rolled back; refuse the call as the caller's error, not INTERNAL.
        refusal = nul_refusal(exc)
        if refusal is None:
            raise
        if authenticated:
            _record_refusal(database, call, authenticated[0], refusal, now_ms)
        raise refusal from exc


def nul_refusal(exc: DataError) -> InvalidArgument | None:
    """The caller's error when the database refused a string for holding NUL, else None.

    PostgreSQL text can't hold U+0000, and psycopg refuses such a parameter (an id looked up, a
    text stored) before sending it: any string field of any request could reach it.
    """
    if "NUL (0x00)" not in str(exc.orig):
        return None
    return InvalidArgument("INVALID_TEXT", "text must not contain NUL (U+0000) characters")


def _replay(recorded: RecordedAnswer) -> bytes:
    if recorded.outcome == OUTCOME_OK:
        return recorded.response_body
    cls = _ERROR_CLASSES.get(recorded.outcome)
    require(cls is not None, f"recorded outcome {recorded.outcome!r} is a known error class")
    assert cls is not None
    raise cls(recorded.error_reason, recorded.error_message, field=recorded.error_field or None)


def _record_refusal(database: Database, call: IncomingCall, caller: Caller, exc: ExchangeError, now_ms: int) -> None:
    def record(connection: Connection) -> None:
        NonceRepository(connection).record(
            principal=caller.principal,
            nonce=call.nonce,
            method=call.method,
            request_sha256=call.body_sha256,
            received_at_ms=now_ms,
            outcome=type(exc).__name__,
            error_reason=exc.reason,
            error_message=exc.message,
            error_field=exc.field or "",
        )

    try:
        with database.engine.begin() as connection:
            record(connection)
    except IntegrityError:
        pass  # a concurrent resend recorded this nonce first; its answer stands
