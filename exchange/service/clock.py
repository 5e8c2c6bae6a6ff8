"""Where the hub reads the time; tests substitute a clock they control."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of the current time in integer milliseconds since the Unix epoch."""

    def now_ms(self) -> int:
        """Return the current time."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_ms(self) -> int:
        """Return the current time from time.time_ns()."""
        return time.time_ns() // 1_000_000


class FixedClock:
    """A clock that stands still until moved (for tests)."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        """Return the clock's time."""
        return self._now_ms

    def advance(self, ms: int) -> None:
        """Move the clock forward."""
        self._now_ms += ms
