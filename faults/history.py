"""What the clients asked and what they were told: one record per operation, and the run's counters.

An operation is acknowledged when the client got an OK answer, refused when the hub gave a
definite refusal (a status with a reason that is not "try again"), and unknown when the
client gave up retrying (its outcome is then whatever the database says). The checker holds
the database to every acknowledged and refused record.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

# Answers that say nothing about whether the call happened: the client must ask again.
AMBIGUOUS_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "ABORTED", "INTERNAL", "UNKNOWN", "CANCELLED"})

OK = "ok"
REFUSED = "refused"
UNKNOWN = "unknown"
PENDING = "pending"


@dataclass
class Op:
    """One client operation and its final outcome."""

    op_id: int
    kind: str  # convert, authorize, capture, void, ack
    actor: str  # the partner that called
    key: str = ""  # idempotency key, when the call carries one
    quote_id: str = ""
    hold_id: str = ""
    instruction_id: str = ""
    reference: str = ""  # a capture's target reference, an acknowledgement's partner reference
    member_ref: str = ""
    points: int = 0
    outcome: str = PENDING
    result_id: str = ""  # conversion_id, hold_id or capture_id of an acknowledged operation
    result_state: str = ""  # the state the answer reported
    code: str = ""  # of a refusal
    reason: str = ""
    calls: int = 0  # how many times the client called (each call may resend several times itself)
    began_s: float = field(default_factory=time.monotonic)
    ended_s: float = 0.0


class History:
    """Every operation, and counters every thread adds to (under one lock)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.counters: Counter[str] = Counter()
        self.client_violations: list[str] = []
        self._lock = threading.Lock()
        self._finished = 0

    def new(self, kind: str, actor: str, **fields: object) -> Op:
        """Start recording an operation."""
        with self._lock:
            op = Op(len(self.ops) + 1, kind, actor, **fields)  # type: ignore[arg-type]
            self.ops.append(op)
        return op

    def finish(self, op: Op, outcome: str, *, code: str = "", reason: str = "") -> None:
        """Record an operation's final outcome."""
        op.outcome, op.code, op.reason, op.ended_s = outcome, code, reason, time.monotonic()
        with self._lock:
            self._finished += 1
            self.counters[f"{op.kind}.{outcome}"] += 1
            if outcome == REFUSED:
                self.counters[f"refused.{op.kind}.{reason or code}"] += 1

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter."""
        with self._lock:
            self.counters[name] += n

    def violation(self, message: str) -> None:
        """Something a client saw that must never happen (an unsigned answer, a wrong one)."""
        with self._lock:
            self.client_violations.append(message)

    @property
    def started(self) -> int:
        """Operations begun so far."""
        return len(self.ops)

    @property
    def finished(self) -> int:
        """Operations with a final outcome so far."""
        return self._finished

    def outcomes(self) -> Counter[str]:
        """How many operations ended each way."""
        return Counter(op.outcome for op in self.ops)
