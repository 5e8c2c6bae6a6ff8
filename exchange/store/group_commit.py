"""Group commit: the calls waiting at one moment in one hub process share a transaction and its commit.

A quote or a Convert is a short transaction of a few statements, and on PostgreSQL its BEGIN and
COMMIT are two of its round trips, each costing the hub and the server about as much CPU as a
statement, besides the pool checkout and SQLAlchemy's transaction set-up; on SQLite each commit
is an fsync of the WAL taken while every other writer waits. Grouped, the calls that arrive while
a group is running wait, and then run one after another in one transaction, committed once.

The first caller that finds no group running leads: it takes up to MAX_GROUP_CALLS waiting calls
(its own among them, in arrival order), runs them and answers each. A lone call, the common case
when the hub is quiet, runs alone as before, with nothing added but a lock taken and released.

Every guarantee of a call in its own transaction holds in a group:

- Each call sees what the calls before it in the group wrote, as if they had committed before it
  (they are in its transaction). A call is answered only after the group's commit.
- A failure fails only its call. When a call raises (a refusal, a unique key taken, anything),
  the group's transaction rolls back whole; the calls before it run again as a group, the failed
  call and the calls after it are handed back to their callers to run in a transaction of their
  own (Database.run, with its retries), as they would have without grouping. So a refused call is
  refused and recorded exactly as before, and each failure costs one extra run of the calls before
  it. A call must therefore be safe to run again from scratch, which Database.run already demands
  of every transaction (no state kept outside it between attempts).
- If the commit itself fails (the connection lost, say), every call of the group is handed back to
  run alone: its outcome is unknown to us, and a call run again is answered from its recorded
  nonce or idempotency key if the commit did happen.
- Within a group the calls run in the order of their keys (the calling partner): Convert locks
  its source partner's row, so groups in several processes or replicas take those locks in one
  global order and can't deadlock each other on them.

Only one group runs at a time in a process, on one connection: the calls of a group are serial
anyway, and the hub's other threads meanwhile verify signatures, parse and answer. That serial
chain is also its limit: its thread waits for the GIL after every round trip, behind the
process's other threads, so on PostgreSQL one hub process gains little from grouping while
several processes (`serve --processes`) gain clearly, and SQLite, whose every commit is an fsync,
gains too. What it saves, and where it does not help, is measured in bench/README.md ("Results")
and explained in docs/performance.md. It is on by default (`serve --no-group-commit` turns it
off).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")

# Calls in one group at most: a group's transaction holds its Converts' partner row locks until it
# commits, so a longer group would hold other processes' calls for the same partners longer.
MAX_GROUP_CALLS = 32


@dataclass(eq=False, slots=True)
class _Call(Generic[T]):
    work: Callable[[Connection], T]
    key: str
    done: bool = False
    committed: bool = False  # done and committed with a group: value is the answer
    value: T | None = None


@dataclass(frozen=True, slots=True)
class Grouped(Generic[T]):
    """What became of one call: committed with a group (value is its answer), or to be run alone."""

    committed: bool
    value: T | None


class GroupCommit:
    """Runs the calls waiting at one moment in one transaction (see the module docstring)."""

    def __init__(
        self,
        begin: Callable[[], AbstractContextManager[Connection]],
        run_alone: Callable[[Callable[[Connection], Any]], Any],
        *,
        max_calls: int = MAX_GROUP_CALLS,
    ) -> None:
        if max_calls < 1:
            raise ValueError("a group holds at least one call")
        self._begin = begin
        self._run_alone = run_alone
        self._max_calls = max_calls
        self._changed = threading.Condition()
        self._waiting: deque[_Call[Any]] = deque()
        self._leading = False
        # Figures for metrics and the benchmark, written by the leader only (one at a time).
        self.groups_committed = 0
        self.calls_committed = 0
        self.calls_handed_back = 0

    def run(self, work: Callable[[Connection], T], key: str) -> Grouped[T]:
        """Run work with whatever calls are waiting; say whether it committed or must be run alone.

        A call that runs alone because nobody else was waiting is run here (through run_alone) and
        its answer or error is this call's.
        """
        call: _Call[T] = _Call(work, key)
        with self._changed:
            self._waiting.append(call)
        while True:
            with self._changed:
                while self._leading and not call.done:
                    self._changed.wait()
                if call.done:
                    return Grouped(call.committed, call.value)
                # Not done and nobody leading: this call is still waiting, so it leads (its group may be
                # the calls ahead of it, if more than max_calls are; then it leads again).
                self._leading = True
                group = [self._waiting.popleft() for _ in range(min(len(self._waiting), self._max_calls))]
            try:
                if group == [call]:
                    # Alone: no group, no second run on failure. Others queue up behind it meanwhile.
                    return Grouped(True, self._run_alone(work))
                self._commit(group)
            finally:
                with self._changed:
                    for member in group:
                        member.done = True
                    self._leading = False
                    self._changed.notify_all()

    def _commit(self, group: list[_Call[Any]]) -> None:
        """Commit as many of the group as will go, the first failure and those after it handed back."""
        runnable = sorted(group, key=lambda member: member.key)
        while len(runnable) > 1:
            ran = 0
            try:
                with self._begin() as connection:
                    for member in runnable:
                        member.value = member.work(connection)
                        ran += 1
            except Exception:
                # Only runnable[ran] failed when ran < len; else the commit failed and nothing is known.
                failed_at = ran if ran < len(runnable) else 0
                for member in runnable[failed_at:]:
                    member.value = None
                self.calls_handed_back += len(runnable) - failed_at
                runnable = runnable[:failed_at]
                continue
            for member in runnable:
                member.committed = True
            self.groups_committed += 1
            self.calls_committed += len(runnable)
            return
        # One call left of a group that failed after it: hand it back too rather than run it here,
        # so that the leader does not run another caller's call with retries on its own thread.
        for member in runnable:
            member.value = None  # what it answered in the transaction that rolled back
        self.calls_handed_back += len(runnable)
