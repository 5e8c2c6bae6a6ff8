"""The nonce step of a signed call (exchange.service.pipeline, step 3): exactly once per (caller, nonce).

execute_once runs the call's transaction: authenticate, judge the nonce, run the rest of the call,
then write the audit event and record the answer under the nonce (what of it is kept:
exchange.service.stored_answers). A refusal is recorded in a second transaction, after the first
rolled back. When a resend raced the original and the original recorded its answer first, the
resend is given that answer, not its own refusal.

The first attempt does not look the nonce up: a fresh nonce is by far the common case, and the
nonce's unique key refuses the INSERT at the end of a resend or a replay, whose attempt then rolls
back whole and is run again (exchange.store.database), this time reading the nonce first. So a
resend or a replay costs one more attempt, and a new call one statement less.

A final refusal (a deadline passed; see exchange.domain.errors) is recorded in the call's own
transaction, which commits with whatever the refusal made the hub do, such as expiring the
credit. The database being unreachable is neither an answer nor recorded: the caller is told
UNAVAILABLE and may resend.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from exchange.domain.errors import (
    Aborted,
    ExchangeError,
    InvalidArgument,
    Unauthenticated,
    Unavailable,
    recorded,
)
from exchange.domain.request_auth import NonceVerdict, judge_nonce, nonce_replayed
from exchange.service import audit
from exchange.service.authentication import Caller, IncomingCall
from exchange.service.ports import Transactions
from exchange.service.stored_answers import Answer, replayed
from exchange.store.nonces_repo import NonceRepository, RecordedAnswer

Authenticate = Callable[[Connection], Caller]
Handler = Callable[[Connection, Caller], Answer]


def execute_once(
    database: Transactions,
    call: IncomingCall,
    authenticate: Authenticate,
    handler: Handler,
    now_ms: int,
    *,
    read_committed: bool = False,
    group: str | None = None,
) -> bytes:
    """Run handler for a signed call at most once and return the serialized answer.

    Exactly-once holds at either isolation level: the nonce and the idempotency key are unique
    keys, so of two racing attempts one inserts and the other fails, is retried and replays.
    group (the caller's principal) lets the call commit with others waiting at the same moment
    (exchange.store.group_commit); its attempt is then run again alone if its group can't commit it.

    Raises:
        ExchangeError: the call was refused (now, or the first time this nonce was seen).
    """
    authenticated: list[Caller] = []
    refused: list[ExchangeError] = []
    attempts = 0

    def attempt(connection: Connection) -> bytes:
        nonlocal attempts
        attempts += 1
        refused.clear()
        caller = authenticate(connection)
        authenticated[:] = [caller]
        return _run_authenticated(connection, caller)

    def _run_authenticated(connection: Connection, caller: Caller) -> bytes:
        nonces = NonceRepository(connection)
        recorded = nonces.find(caller.principal, call.nonce) if attempts > 1 else None
        verdict = judge_nonce(
            (recorded.method, recorded.request_sha256) if recorded else None, (call.method, call.body_sha256)
        )
        if verdict is NonceVerdict.REPLAYED:
            raise nonce_replayed()
        if verdict is NonceVerdict.RESENT:
            assert recorded is not None
            nonces.confirm(caller.principal, call.nonce)  # durable before it is told: see NonceRepository.confirm
            return _replay(recorded)
        try:
            answer = handler(connection, caller)
        except ExchangeError as exc:
            if not exc.final:
                raise
            _record(nonces, call, caller, exc, now_ms)
            refused.append(exc)
            return b""
        audit.record_call(
            connection,
            actor=caller.principal,
            method=call.method,
            request_sha256=call.body_sha256,
            response=answer.body,
            now_ms=now_ms,
            subject=answer.subject,
        )
        nonces.record(
            principal=caller.principal,
            nonce=call.nonce,
            method=call.method,
            request_sha256=call.body_sha256,
            received_at_ms=now_ms,
            outcome=answer.outcome,
            response_body=answer.stored_body,
            member_tag=answer.member_tag,
        )
        return answer.body

    try:
        body = database.run(attempt, read_committed=read_committed, group=group, hold_writes=True)
    except (Unauthenticated, Aborted, Unavailable):
        raise  # not the caller's answer to keep: an unproven caller, a transient conflict, no database
    except ExchangeError as exc:
        if authenticated:
            return _record_refusal(database, call, authenticated[0], exc, now_ms)
        raise
    except DataError as exc:
        # Whatever ran has rolled back; refuse the call as the caller's error, not INTERNAL.
        refusal = nul_refusal(exc)
        if refusal is None:
            raise
        if authenticated:
            return _record_refusal(database, call, authenticated[0], refusal, now_ms)
        raise refusal from exc
    if refused:
        raise refused[0]
    return body


def nul_refusal(exc: DataError) -> InvalidArgument | None:
    """The caller's error when the database refused a string for holding NUL, else None.

    PostgreSQL text can't hold U+0000, and psycopg refuses such a parameter (an id looked up, a
    text stored) before sending it: any string field of any request could reach it.
    """
    if "NUL (0x00)" not in str(exc.orig):
        return None
    return InvalidArgument("INVALID_TEXT", "text must not contain NUL (U+0000) characters")


def _replay(recorded: RecordedAnswer) -> bytes:
    return replayed(
        recorded.outcome, recorded.response_body, recorded.error_reason, recorded.error_message, recorded.error_field
    )


def _record(nonces: NonceRepository, call: IncomingCall, caller: Caller, exc: ExchangeError, now_ms: int) -> None:
    outcome, reason, message, field = recorded(exc)
    nonces.record(
        principal=caller.principal,
        nonce=call.nonce,
        method=call.method,
        request_sha256=call.body_sha256,
        received_at_ms=now_ms,
        outcome=outcome,
        error_reason=reason,
        error_message=message,
        error_field=field,
    )


def _record_refusal(
    database: Transactions, call: IncomingCall, caller: Caller, exc: ExchangeError, now_ms: int
) -> bytes:
    """Record the refusal under the call's nonce and raise it, or answer as the attempt that recorded first.

    A resend (same nonce, same bytes) may race its original: both run, the original commits its
    effect and its answer, and the resend, refused on a snapshot that did not see it (say, past a
    deadline the original met), finds the nonce taken. Then the original's answer is the answer.
    The recording is a transaction like any other (Database.run): a serialization conflict is
    retried, and an unreachable database is UNAVAILABLE, since an unrecorded refusal could later
    be replayed into success.
    """

    def record(connection: Connection) -> RecordedAnswer | None:
        nonces = NonceRepository(connection)
        first = nonces.find(caller.principal, call.nonce)
        if first is None:
            _record(nonces, call, caller, exc, now_ms)
        else:
            nonces.confirm(caller.principal, call.nonce)
        return first

    recorded = database.run(record)
    if recorded is None:
        raise exc
    if judge_nonce((recorded.method, recorded.request_sha256), (call.method, call.body_sha256)) is NonceVerdict.RESENT:
        return _replay(recorded)
    raise nonce_replayed()
