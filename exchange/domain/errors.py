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

The api layer maps each class to one gRPC status code in exactly one table.
Broken invariants are not ExchangeErrors: they are InvariantViolation, raised loudly.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """An expected failure with a stable machine-readable reason."""

    def __init__(self, reason: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field


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


class InvariantViolation(AssertionError):
    """A rule that must always hold did not: a bug, never a user error. Survives python -O."""


def require(condition: bool, message: str) -> None:
    """Raise InvariantViolation unless condition holds (an assert that python -O keeps)."""
    if not condition:
        raise InvariantViolation(message)
