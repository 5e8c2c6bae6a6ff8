"""One item of a batch call: exactly once by its own key, alone in a savepoint; and an item's refusal.

AwardPoints's items run one after another in the call's transaction. Each runs in a savepoint of its
own under its own idempotency key (exchange.service.idempotency.run_once, with the method name
suffixed "#item" so a key can't be shared with a single call), so an item refused leaves nothing
and the others go on; its refusal becomes the item's ItemError, with the code, reason, message
and field a whole call would have been given. (ConvertBatch decides its items together instead,
exchange.service.conversion_batch, with the same refusals: item_error serves both.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from coalition.exchange.v1 import accruals_pb2
from exchange.api.status import status_code_of
from exchange.domain.errors import ExchangeError
from exchange.service.calls import nul_refusal
from exchange.service.idempotency import run_once
from exchange.service.stored_answers import Answer


def run_item(
    connection: Connection,
    *,
    partner_id: str,
    key: str,
    method: str,
    item_bytes: bytes,
    now_ms: int,
    produce: Callable[[], Answer],
) -> bytes | accruals_pb2.ItemError:
    """The item's answer (as first given, for a key seen before), or why it failed."""
    try:
        with connection.begin_nested():
            answer = run_once(
                connection,
                partner_id=partner_id,
                key=key,
                method=method,
                request_sha256=hashlib.sha256(item_bytes).hexdigest(),
                now_ms=now_ms,
                produce=produce,
            )
    except DataError as refused:
        error = nul_refusal(refused)  # NUL in this item's text, on PostgreSQL: this item's refusal alone
        if error is None:
            raise
        return item_error(error)
    except ExchangeError as error:
        return item_error(error)
    return answer.body


def item_error(error: ExchangeError) -> accruals_pb2.ItemError:
    """An item's refusal as the contract carries it."""
    return accruals_pb2.ItemError(
        code=status_code_of(error).name, reason=error.reason, message=error.message, field=error.field or ""
    )
