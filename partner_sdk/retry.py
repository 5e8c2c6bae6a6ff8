"""When and how the SDK resends a call.

A resend carries the very same bytes and signing headers (the same nonce), so the hub
treats it as the same call and answers it as the first time: it can never happen twice.
That makes every call safe to resend while its signature is inside the hub's time window.
Only failures that say nothing happened yet, or that the outcome is unknown, are retried.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import grpc

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy"]

RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped, jittered exponential backoff, bounded in attempts and in time.

    Attributes:
        max_attempts: the first try included; 1 means never retry.
        initial_backoff_s: the upper bound of the first pause.
        max_backoff_s: no pause is longer than this.
        multiplier: each pause bound grows by this factor.
        total_timeout_s: no retry starts after this long since the first try (kept well
            inside the hub's timestamp window, so resent headers stay valid).
    """

    max_attempts: int = 5
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    multiplier: float = 2.0
    total_timeout_s: float = 60.0

    def should_retry(self, code: grpc.StatusCode, attempt: int, elapsed_s: float) -> bool:
        """Return whether attempt (1-based) failing with code may be followed by another."""
        return code in RETRYABLE_CODES and attempt < self.max_attempts and elapsed_s < self.total_timeout_s

    def pause_s(self, attempt: int) -> float:
        """Return a full-jitter pause before the attempt after this one."""
        bound = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (attempt - 1))
        return random.uniform(0, bound)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)
