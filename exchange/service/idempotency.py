"""Exactly once per idempotency key: the first answer is stored with the effect and returned again.

Keys are scoped to the calling partner. The same key with the same request (method and body
digest) returns the first answer byte for byte; the same key with any other request is
refused, so a client bug can't silently turn into a different operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import Connection

from exchange.domain.errors import FailedPrecondition, InvalidArgument
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
    produce: Callable[[], bytes],
) -> bytes:
    """Return the stored answer for this key, or produce, store and return a new one (same transaction)."""
    repository = IdempotencyRepository(connection)
    stored = repository.find(partner_id, parse_key(key))
    if stored is not None:
        if (stored.method, stored.request_sha256) != (method, request_sha256):
            raise FailedPrecondition(
                "IDEMPOTENCY_KEY_REUSED",
                f"idempotency key {key!r} was already used for a different request; use a new key",
                field="idempotency_key",
            )
        return stored.response_body
    body = produce()
    repository.store(partner_id, key, StoredAnswer(method, request_sha256, body), now_ms)
    return body
