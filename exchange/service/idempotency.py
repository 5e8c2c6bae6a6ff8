"""Exactly once per idempotency key: the first answer is stored with the effect and returned again.

The key step of a signed call (exchange.service.pipeline, step 5), and of each item of AwardPoints.

Keys are scoped to the calling partner. The same key with the same request (method and body
digest) returns the first answer byte for byte; the same key with any other request is
refused, so a client bug can't silently turn into a different operation.

The key is claimed (its row inserted, or found taken: one statement for a new key) before the
work is done, so a retry that arrives while the first attempt is still running waits for it and
then gets its answer, instead of deciding on a snapshot that can't see it (a retry after the
quote's expiry would otherwise be refused while the first attempt, in time, commits the
conversion). What of an answer is kept follows exchange.service.stored_answers.
Refusals are not kept, so the same key may be tried again once the cause is fixed,
except a final refusal (a deadline passed), which no retry could turn into success.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import Connection

from exchange.domain.errors import Aborted, ExchangeError, FailedPrecondition, InvalidArgument, recorded
from exchange.service.stored_answers import Answer, replayed
from exchange.store.idempotency_repo import IdempotencyRepository, StoredAnswer

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def parse_key(key: str) -> str:
    """Return a well-formed idempotency key, or raise InvalidArgument."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidArgument(
            "INVALID_IDEMPOTENCY_KEY",
            "idempotency_key must be 8 to 128 characters of letters, digits, '.', '_', ':' or '-'",
            field="idempotency_key",
        )
    return key


def run_once(
    connection: Connection,
    *,
    partner_id: str,
    key: str,
    method: str,
    request_sha256: str,
    now_ms: int,
    produce: Callable[[], Answer],
) -> Answer:
    """Return the stored answer for this key, or claim it, produce, store and return a new one (same transaction).

    Raises:
        ExchangeError: what produce raised, or the final refusal stored for this key.
    """
    repository = IdempotencyRepository(connection)
    key = parse_key(key)
    if not repository.claim(partner_id, key, method=method, request_sha256=request_sha256, now_ms=now_ms):
        stored = repository.find(partner_id, key)
        if stored is None:
            # The key is taken but its row can't be read here: only a snapshot older than a concurrent
            # claim could do that, which PostgreSQL reports as a serialization failure instead.
            raise Aborted("TRANSACTION_CONFLICT", "the request conflicted with others; retry it")
        if (stored.method, stored.request_sha256) != (method, request_sha256):
            raise FailedPrecondition(
                "IDEMPOTENCY_KEY_REUSED",
                f"idempotency key {key!r} was already used for a different request; use a new key",
                field="idempotency_key",
            )
        body = replayed(
            stored.outcome, stored.response_body, stored.error_reason, stored.error_message, stored.error_field
        )
        return Answer(body, member_tag=stored.member_tag)
    try:
        answer = produce()
    except ExchangeError as refusal:
        if refusal.final:
            repository.answer(
                partner_id,
                key,
                StoredAnswer(method, request_sha256, b"", *recorded(refusal)),
            )
        raise
    repository.answer(
        partner_id,
        key,
        StoredAnswer(method, request_sha256, answer.stored_body, answer.outcome, member_tag=answer.member_tag),
    )
    return answer
