"""Page sizes and opaque keyset cursors (time, id) shared by every list command."""

from __future__ import annotations

import base64
import binascii

from exchange.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_CURSOR_MS = 2**63 - 1  # a cursor's time is a database BIGINT


def page_limit(page_size: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """Return how many items a page holds: 0 means the default; more than the maximum is capped."""
    if page_size < 0:
        raise InvalidArgument("INVALID_PAGE_SIZE", "page_size must not be negative", field="page_size")
    return min(page_size or default, maximum)


def _bad_token() -> InvalidArgument:
    return InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not one this hub issued", field="page_token")


def token_int(text: str) -> int:
    """Read a position carried in a token: ASCII digits of a BIGINT, or raise InvalidArgument.

    str.isdigit() also accepts digits such as "²" that int() refuses, and a number past 2**63
    makes the database overflow: either would surface as INTERNAL instead of a refusal.
    """
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_CURSOR_MS:
        raise _bad_token()
    return int(text)


def encode_cursor(at_ms: int, item_id: str) -> str:
    """Return the token that continues after (at_ms, item_id)."""
    return base64.urlsafe_b64encode(f"c1:{at_ms}:{item_id}".encode()).decode("ascii").rstrip("=")


def decode_cursor(token: str) -> tuple[int, str] | None:
    """Return the (at_ms, id) a token continues after, None for the first page, or raise InvalidArgument."""
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        version, at_text, item_id = text.split(":", 2)
        # ASCII digits only, and within a BIGINT: int() also reads other scripts' digits, and a
        # time beyond 2**63 made SQLite raise OverflowError (INTERNAL) instead of a refusal.
        if version != "c1" or not item_id or not at_text.isascii():
            raise ValueError(text)
        at_ms = int(at_text)
        if not 0 <= at_ms <= MAX_CURSOR_MS:
            raise ValueError(text)
        return at_ms, item_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_token() from exc


def encode_key_cursor(last_key: str) -> str:
    """Return the token that continues after last_key, for lists ordered by a key alone."""
    return base64.urlsafe_b64encode(f"p1:{last_key}".encode()).decode("ascii").rstrip("=")


def decode_key_cursor(token: str) -> str:
    """Return the key a token continues after, "" for the first page, or raise InvalidArgument."""
    if not token:
        return ""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_token() from exc
    if not text.startswith("p1:"):
        raise _bad_token()
    return text[3:]
