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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
        return _earlier_answer(repository.find(partner_id, key), key, method, request_sha256)
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
    repository.answer(partner_id, key, _stored(answer, method, request_sha256))
    return answer


@dataclass(frozen=True, slots=True)
class KeyedItem:
    """One item of a batch call as its idempotency key sees it: the key, the method, the item's digest."""

    key: str
    method: str
    request_sha256: str


def claim_items(
    connection: Connection, *, partner_id: str, items: Sequence[KeyedItem], now_ms: int
) -> list[Answer | ExchangeError | None]:
    """Claim every item's key at once (one statement); for each item, what run_once would decide before producing.

    None for an item whose key this call claimed (its work is to be done, then settle_items),
    else the answer its key gave first, or its refusal (a malformed key, a key reused for
    another request, a final refusal kept). The items' keys must differ.
    """
    repository = IdempotencyRepository(connection)
    decided: list[Answer | ExchangeError | None] = [None] * len(items)
    position: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            position[parse_key(item.key)] = index
        except ExchangeError as refusal:
            decided[index] = refusal
    claims = [(key, items[index].method, items[index].request_sha256) for key, index in position.items()]
    claimed = repository.claim_many(partner_id, claims, now_ms=now_ms)
    taken = [key for key in position if key not in claimed]
    stored = repository.find_many(partner_id, taken)
    for key in taken:
        item = items[position[key]]
        try:
            decided[position[key]] = _earlier_answer(stored.get(key), key, item.method, item.request_sha256)
        except ExchangeError as refusal:
            decided[position[key]] = refusal
    return decided


def settle_items(
    connection: Connection, *, partner_id: str, outcomes: Sequence[tuple[KeyedItem, Answer | ExchangeError]]
) -> None:
    """Store the answers of the items whose keys claim_items claimed, as run_once stores one.

    A refused item's key is given back, so the same key may be tried again once the cause is
    fixed; a final refusal is kept under it instead.
    """
    repository = IdempotencyRepository(connection)
    kept: list[tuple[str, StoredAnswer]] = []
    released: list[str] = []
    for item, outcome in outcomes:
        if isinstance(outcome, Answer):
            kept.append((item.key, _stored(outcome, item.method, item.request_sha256)))
        elif outcome.final:
            kept.append((item.key, StoredAnswer(item.method, item.request_sha256, b"", *recorded(outcome))))
        else:
            released.append(item.key)
    repository.answer_many(partner_id, kept)
    repository.release(partner_id, released)


def _earlier_answer(stored: StoredAnswer | None, key: str, method: str, request_sha256: str) -> Answer:
    """The answer a key taken before gives again, or the refusal that stands in for it."""
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
    body = replayed(stored.outcome, stored.response_body, stored.error_reason, stored.error_message, stored.error_field)
    return Answer(body, member_tag=stored.member_tag)


def _stored(answer: Answer, method: str, request_sha256: str) -> StoredAnswer:
    return StoredAnswer(method, request_sha256, answer.stored_body, answer.outcome, member_tag=answer.member_tag)
