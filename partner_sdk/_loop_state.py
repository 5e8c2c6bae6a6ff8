"""What an InstructionLoop remembers about each instruction, in memory or in a file that outlives the process.

For every instruction it handled, the loop keeps its answer (acknowledge with a reference, reject
with a reason, or drop) and whether the hub has taken that answer. Two things follow:

- an instruction delivered again is answered as before, without calling the handler again;
- an answer the hub did not take (it, its database or the network was down) is sent again,
  until the hub gives a definite answer, without waiting for a redelivery that may never come
  (the hub stops delivering a credit once its deadline passes).

``MemoryLoopState`` (the default) forgets both when the process ends. ``SqliteLoopState`` keeps
them in a SQLite file (the standard library's ``sqlite3``; nothing to install), so a loop that
restarts resends what it owed and still recognises what it applied. Either way the handler must
be idempotent on ``instruction_id``: the process can die between applying an instruction and
recording that it did.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

__all__ = ["LoopState", "MemoryLoopState", "LoopOutcome", "SqliteLoopState"]

Action = Literal["acknowledge", "reject", "drop"]


@dataclass(frozen=True, slots=True)
class LoopOutcome:
    """What the loop did with one instruction, and whether the hub has taken the answer."""

    instruction_id: str
    kind: str
    action: Action
    text: str
    answered: bool = False


class LoopState(Protocol):
    """Where an InstructionLoop keeps its outcomes; implement it to keep them in your own database."""

    def get(self, instruction_id: str) -> LoopOutcome | None:
        """The outcome recorded for an instruction, or None."""
        ...

    def put(self, outcome: LoopOutcome) -> None:
        """Record (or replace) an instruction's outcome; durable before it returns."""
        ...

    def unanswered(self, limit: int) -> list[LoopOutcome]:
        """Up to limit outcomes whose answer the hub has not taken yet, oldest first."""
        ...


class MemoryLoopState:
    """Outcomes in memory: the last ``remember`` instructions (least recently seen dropped first).

    An unanswered outcome is never dropped to make room: forgetting it would forget an answer
    the hub is owed.
    """

    def __init__(self, remember: int = 10_000) -> None:
        if remember < 1:
            raise ValueError("remember must be at least 1")
        self._limit = remember
        self._outcomes: OrderedDict[str, LoopOutcome] = OrderedDict()

    def __len__(self) -> int:
        return len(self._outcomes)

    def get(self, instruction_id: str) -> LoopOutcome | None:
        """The outcome recorded for an instruction, or None (marks it recently seen)."""
        outcome = self._outcomes.get(instruction_id)
        if outcome is not None:
            self._outcomes.move_to_end(instruction_id)
        return outcome

    def put(self, outcome: LoopOutcome) -> None:
        """Record an outcome, forgetting the least recently seen answered ones past the limit."""
        self._outcomes[outcome.instruction_id] = outcome
        self._outcomes.move_to_end(outcome.instruction_id)
        excess = len(self._outcomes) - self._limit
        if excess <= 0:
            return
        forget: list[str] = []
        for instruction_id, kept in self._outcomes.items():
            if kept.answered:
                forget.append(instruction_id)
                if len(forget) == excess:
                    break
        for instruction_id in forget:
            del self._outcomes[instruction_id]

    def unanswered(self, limit: int) -> list[LoopOutcome]:
        """Up to limit outcomes the hub has not taken, oldest first."""
        return [o for o in self._outcomes.values() if not o.answered][:limit]


class SqliteLoopState:
    """Outcomes in a SQLite file, kept across restarts; answered ones older than ``keep`` are pruned.

    Safe for one loop per file (one process); give each loop of a partner its own file.
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS outcomes ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " instruction_id TEXT NOT NULL UNIQUE,"
        " kind TEXT NOT NULL, action TEXT NOT NULL, text TEXT NOT NULL, answered INTEGER NOT NULL)"
    )

    def __init__(self, path: Path | str, *, keep: int = 100_000) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self._keep = keep
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(self._SCHEMA)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def get(self, instruction_id: str) -> LoopOutcome | None:
        """The outcome recorded for an instruction, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT instruction_id, kind, action, text, answered FROM outcomes WHERE instruction_id = ?",
                (instruction_id,),
            ).fetchone()
        return _outcome(row) if row else None

    def put(self, outcome: LoopOutcome) -> None:
        """Record (or replace) an outcome; committed and synced before it returns."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO outcomes (instruction_id, kind, action, text, answered) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (instruction_id) DO UPDATE SET kind = excluded.kind, action = excluded.action, "
                    "text = excluded.text, answered = excluded.answered",
                    (outcome.instruction_id, outcome.kind, outcome.action, outcome.text, int(outcome.answered)),
                )
                self._db.execute(
                    "DELETE FROM outcomes WHERE answered = 1 AND seq <= (SELECT MAX(seq) FROM outcomes) - ?",
                    (self._keep,),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def unanswered(self, limit: int) -> list[LoopOutcome]:
        """Up to limit outcomes the hub has not taken, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT instruction_id, kind, action, text, answered FROM outcomes WHERE answered = 0 "
                "ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [_outcome(row) for row in rows]


def _outcome(row: tuple[str, str, str, str, int]) -> LoopOutcome:
    actions: dict[str, Action] = {"acknowledge": "acknowledge", "reject": "reject", "drop": "drop"}
    action = actions.get(row[2])
    if action is None:
        raise ValueError(f"the loop state holds an unknown action {row[2]!r}")
    return LoopOutcome(row[0], row[1], action, row[3], bool(row[4]))
