"""Expected failures of the exchange, one shallow tree.

    ExchangeError                  every expected failure; has a stable ``reason`` code
     +-- InvalidArgument           the request itself is wrong (a field, a format)
     +-- NotFound                  a named thing does not exist (for this caller)
     +-- AlreadyExists             the thing to create exists already
     +-- FailedPrecondition        the request is well formed but the state forbids it
     +-- PermissionDenied          the caller is known but may not do this
     +-- Unauthenticated           the caller could not be proven (signature, key, replay)
     +-- ResourceExhausted         a limit was hit
     +-- Aborted                   a conflict that a retry of the same request may resolve
     +-- Unavailable               the database could not be reached; a resend of the same request may succeed

The api layer maps each class to one gRPC status code in exactly one table.

A *final* refusal is one that time alone made (a quote, a hold or a credit deadline passed):
no later attempt of the same request could succeed, so the hub commits what the refusal
implies (it expires the credit) together with the refusal itself, and the nonce and the
idempotency key keep it. That is what lets a late retry and its own earlier, still running
attempt agree: whichever commits first decides, and the other is answered the same.
A refusal that must leave a trace is final too: a wrong link code (the guess is counted) and a
refused attribute read (the member's access log shows it) commit their record with the refusal.
Broken invariants are not ExchangeErrors: they are InvariantViolation, raised loudly.
A message is cut to MAX_MESSAGE_BYTES: it often echoes the caller's input, and it travels
back in gRPC trailers, which clients cap at 8 KiB.
"""

from __future__ import annotations

# A refusal's message travels twice in its trailers (grpc-message, percent-encoded, and inside
# grpc-status-details-bin): 1 KiB of UTF-8 keeps the worst case well under the 8 KiB clients accept.
MAX_MESSAGE_BYTES = 1024
_CUT_MARK = "\u2026"


def bounded_message(message: str) -> str:
    """Return message, cut to at most MAX_MESSAGE_BYTES of UTF-8 (ending in an ellipsis when cut)."""
    encoded = message.encode("utf-8", "backslashreplace")
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return message
    room = MAX_MESSAGE_BYTES - len(_CUT_MARK.encode("utf-8"))
    return encoded[:room].decode("utf-8", "ignore") + _CUT_MARK


class ExchangeError(Exception):
    """An expected failure with a stable machine-readable reason."""

    def __init__(self, reason: str, message: str, *, field: str | None = None, final: bool = False) -> None:
        # Bounded: a huge id or text echoed back made the refusal unreadable (RESOURCE_EXHAUSTED
        # "received metadata size exceeds soft limit" at the client instead of the real status).
        message = bounded_message(message)
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field
        self.final = final


class InvalidArgument(ExchangeError):
    """The request is malformed or a field is out of range."""


class NotFound(ExchangeError):
    """The named thing does not exist, or is not visible to the caller."""


class AlreadyExists(ExchangeError):
    """The thing to create exists already."""


class FailedPrecondition(ExchangeError):
    """The request is valid but the current state forbids it."""


class PermissionDenied(ExchangeError):
    """The caller is authenticated but not allowed to do this."""


class Unauthenticated(ExchangeError):
    """The caller's identity could not be established for this request."""


class ResourceExhausted(ExchangeError):
    """A configured limit was hit."""


class Aborted(ExchangeError):
    """A concurrency conflict; retrying the same request may succeed."""


class Unavailable(ExchangeError):
    """The database could not be reached (restarting, failing over); resending the same request is safe."""


class InvariantViolation(AssertionError):
    """A rule that must always hold did not: a bug, never a user error. Survives python -O."""


def recorded(error: ExchangeError) -> tuple[str, str, str, str]:
    """Return (class name, reason, message, field) as a nonce or an idempotency key keeps a refusal."""
    return type(error).__name__, error.reason, error.message, error.field or ""


def revive(class_name: str, reason: str, message: str, field: str) -> ExchangeError:
    """Rebuild a refusal from what recorded() gave (a nonce's or an idempotency key's first answer)."""
    cls = next(
        (c for c in ExchangeError.__subclasses__() if c.__name__ == class_name),
        None,
    )
    require(cls is not None, f"recorded outcome {class_name!r} is a known error class")
    assert cls is not None
    return cls(reason, message, field=field or None)


def require(condition: bool, message: str) -> None:
    """Raise InvariantViolation unless condition holds (an assert that python -O keeps)."""
    if not condition:
        raise InvariantViolation(message)
