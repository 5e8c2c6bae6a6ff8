"""Structured logs: one JSON object a line, with the request id the SDK sends and gets back.

Only what the code passes in ``extra`` is added to a line; no request or response body is ever
logged, so member references and attribute values never reach the logs. Database errors are
raised with their bound parameters hidden (exchange.store.database), and what PostgreSQL repeats
of a row in its own message (``DETAIL: Key (...)=(...)``, ``Failing row contains (...)``) is cut
from every logged exception here.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# The values PostgreSQL quotes back in an error's DETAIL: a key's, or a whole failing row's.
_ROW_VALUES = re.compile(
    r"(Key \([^)]*\)=\().*?(\) (?:already exists|is not present|conflicts))|(Failing row contains \().*"
)
REDACTED = "[values hidden]"


def redact(text: str) -> str:
    """Cut the row values PostgreSQL repeats in its error messages."""

    def cut(match: re.Match[str]) -> str:
        if match.group(3):
            return f"{match.group(3)}{REDACTED})"
        return f"{match.group(1)}{REDACTED}{match.group(2)}"

    return _ROW_VALUES.sub(cut, text)


class RedactingFormatter(logging.Formatter):
    """A text formatter whose exceptions carry no row values."""

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 - logging's name
        """Format the exception, then cut the row values from it."""
        return redact(super().formatException(ei))


class JsonFormatter(RedactingFormatter):
    """Format a record as one JSON object: time, level, logger, message and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Send logs to stderr as JSON lines ("json") or as readable text ("text")."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
