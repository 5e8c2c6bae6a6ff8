"""Structured logs: one JSON object a line, with the request id the SDK sends and gets back.

Only what the code passes in ``extra`` is added to a line; no request or response body is ever
logged, so member references and attribute values never reach the logs. Database errors are
raised with their bound parameters hidden (exchange.store.database), and what PostgreSQL repeats
of a row in its own message (``DETAIL: Key (...)=(...)``, ``Failing row contains (...)``) is cut
from every logged exception here.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import signal
import sys
from datetime import UTC, datetime

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# The values PostgreSQL quotes back in an error's DETAIL: a key's, or a whole failing row's.
_ROW_VALUES = re.compile(
    r"(Key \([^)]*\)=\().*?(\) (?:already exists|is not present|conflicts))|(Failing row contains \().*"
)
REDACTED = "[values hidden]"
# How gRPC core (through abseil) starts a line on stderr: I1203 11:20:20.537650   18997 file.cc:2563] message
_NATIVE_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ([^\]]+)\] (.*)$")
_NATIVE_LEVELS = {"I": logging.INFO, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
MAX_NATIVE_LINE_BYTES = 16 * 1024


class LogFormat(enum.StrEnum):
    """How log lines are written on stderr."""

    JSON = "json"
    TEXT = "text"


class LogLevel(enum.StrEnum):
    """The least severe log line written."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


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


def configure(log_format: str, level: int | str = logging.INFO) -> None:
    """Send logs to stderr as JSON lines ("json") or as readable text ("text"), from level up."""
    handler = logging.StreamHandler()
    if log_format == LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def native_record(line: str) -> logging.LogRecord:
    """A log record for one line a C library (gRPC core, abseil) wrote on stderr."""
    parsed = _NATIVE_LINE.match(line)
    if parsed is None:  # not abseil's shape: say it anyway, as a warning from "stderr"
        return logging.makeLogRecord(
            {"name": "stderr", "levelno": logging.WARNING, "levelname": "WARNING", "msg": line}
        )
    level = _NATIVE_LEVELS[parsed.group(1)]
    return logging.makeLogRecord(
        {
            "name": "grpc",
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": parsed.group(3),
            "source": parsed.group(2),
        }
    )


def route_native_stderr() -> None:
    """Pass what C libraries write on stderr through this process's log format and level.

    gRPC core writes its own lines (``I1203 ... Handshake failed``) straight to file descriptor
    2, past Python's logging, and reads GRPC_VERBOSITY only when grpc is first imported, which
    is before any option is parsed. So descriptor 2 becomes a pipe to a small forked relay that
    turns each line into a record of the root logger's format and level, and Python's own
    stderr keeps the real one. The relay is a process rather than a thread so that the lines of
    a process that aborts (a fatal gRPC error) are still written: it reads until every writer
    is gone. Call it before forking workers, who then share it, and before gRPC starts a thread.
    """
    root = logging.getLogger()
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    if os.fork() == 0:  # the relay
        try:
            _relay(read_end, write_end, root)
        finally:
            os._exit(0)
    os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = open(original, "w", buffering=1, encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def _relay(read_end: int, write_end: int, root: logging.Logger) -> None:
    # Stopped by end of file alone, once the hub and its workers are gone, never by their signals.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.close(write_end)
    os.closerange(3, read_end)
    os.closerange(read_end + 1, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024)
    formatter = root.handlers[0].formatter if root.handlers else None
    with os.fdopen(read_end, "rb") as lines:
        for raw in lines:
            record = native_record(raw[:MAX_NATIVE_LINE_BYTES].decode(errors="replace").rstrip("\r\n"))
            if record.levelno < root.level:
                continue
            text = formatter.format(record) if formatter else record.getMessage()
            os.write(2, (text + "\n").encode())
