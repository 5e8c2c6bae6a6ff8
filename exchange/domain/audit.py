"""The tamper-evident audit log: what an entry is, how entries chain, how a chain is checked.

Every state change appends an event (who, what, when, the digests of the request and the answer).
Appending reads nothing, so concurrent writers never contend; the sealer later links events in
sequence order into a hash chain, entry_sha256 = SHA-256(previous entry_sha256 + the event's
canonical line), and the hub signs each new chain head (a checkpoint). Changing, inserting or
deleting a sealed row breaks the chain at that row; re-computing the chain after a change
breaks the signed checkpoints. verify() names the first place where the stored log and the
recomputed chain disagree, and what happened there (BreakKind): events missing, a row changed,
a row inserted, a checkpoint not signed by the hub, a chain recomputed. Seqs may have gaps (an
append rolled back uses up its seq), so a gap alone is no break; the number of events each
checkpoint counted tells a deleted event from a changed one after a gap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

GENESIS_SHA256 = "0" * 64
CHECKPOINT_PREFIX = b"coalition-audit-checkpoint-v1\n"
READ_ONLY_PREFIXES = ("Get", "List", "Pull")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One state change; entry_sha256 is None until sealed."""

    seq: int
    at_ms: int
    actor: str
    action: str
    subject: str
    request_sha256: str
    response_sha256: str
    entry_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A chain head the hub signed."""

    checkpoint_id: int
    last_seq: int
    head_sha256: str
    sealed_at_ms: int
    events: int
    hub_key_id: str
    signature: bytes


class BreakKind(StrEnum):
    """What kind of tampering a break is."""

    MISSING = "missing"  # sealed events are gone (deleted)
    CHANGED = "changed"  # a sealed row is not what was sealed
    INSERTED = "inserted"  # a row the hub did not seal where it sits
    CHECKPOINT_UNSIGNED = "checkpoint-unsigned"  # a checkpoint the hub did not sign
    CHAIN_REWRITTEN = "chain-rewritten"  # the rows chain, but not to the head the hub signed


@dataclass(frozen=True, slots=True)
class Break:
    """Where the log stops being what the hub sealed: seq (to last_seq, for a run of missing events)."""

    kind: BreakKind
    seq: int
    last_seq: int | None = None
    checkpoint_id: int | None = None
    detail: str = ""

    @property
    def problem(self) -> str:
        """One line for an operator, naming the event."""
        if self.kind is BreakKind.MISSING:
            if self.last_seq is None or self.last_seq == self.seq:
                return f"event {self.seq} is missing (deleted?)"
            return f"events {self.seq} to {self.last_seq} are missing (deleted?)"
        if self.kind is BreakKind.CHANGED:
            return f"event {self.seq} differs from what was sealed (its hash does not chain)"
        if self.kind is BreakKind.INSERTED:
            return f"event {self.seq} was inserted: {self.detail}"
        if self.kind is BreakKind.CHECKPOINT_UNSIGNED:
            return f"checkpoint {self.checkpoint_id} (up to event {self.seq}) is not signed by the hub"
        return f"checkpoint {self.checkpoint_id} does not match the chain at event {self.seq} (chain recomputed?)"


def is_state_change(method: str) -> bool:
    """Whether a call may change state (and is audited): everything but reads and long polls."""
    name = method.rsplit("/", 1)[-1]
    return not name.startswith(READ_ONLY_PREFIXES)


def canonical_line(event: AuditEvent) -> bytes:
    """The bytes of an event that the chain covers (every column but the chain's own)."""
    fields = (
        str(event.seq),
        str(event.at_ms),
        event.actor,
        event.action,
        event.subject,
        event.request_sha256,
        event.response_sha256,
    )
    return "\n".join(f.replace("\\", "\\\\").replace("\n", "\\n") for f in fields).encode("utf-8")


def chain(previous_sha256: str, event: AuditEvent) -> str:
    """The entry hash of event after an entry whose hash is previous_sha256."""
    return hashlib.sha256(previous_sha256.encode("ascii") + b"\n" + canonical_line(event)).hexdigest()


def checkpoint_message(last_seq: int, head_sha256: str, sealed_at_ms: int) -> bytes:
    """What the hub signs for a checkpoint."""
    return CHECKPOINT_PREFIX + f"{last_seq}\n{head_sha256}\n{sealed_at_ms}".encode("ascii")


def verify(
    events: Iterable[AuditEvent],
    checkpoints: Iterable[Checkpoint],
    signature_ok: Callable[[Checkpoint], bool],
) -> tuple[int, Break | None]:
    """Walk the events in seq order against the checkpoints; return (events checked, first break).

    events must come in seq order (streamed: each is looked at once) and may include unsealed
    ones; an unsealed event below a sealed one is a break (it was inserted into the sealed past).
    """
    pending = sorted(checkpoints, key=lambda c: c.last_seq)
    for checkpoint in pending:
        if not signature_ok(checkpoint):
            return 0, Break(BreakKind.CHECKPOINT_UNSIGNED, checkpoint.last_seq, checkpoint_id=checkpoint.checkpoint_id)
    walk = _Walk(pending)
    for event in events:
        broken = walk.step(event)
        if broken is not None:
            return walk.checked, broken
    return walk.checked, walk.finish()


@dataclass(slots=True)
class _Suspect:
    """A row that does not chain after a gap in seq: a deletion, or a change after a rolled-back append."""

    first_missing: int
    last_missing: int
    seq: int


class _Walk:
    """The state of one verification; seq gaps are legitimate (a rolled-back append uses up a seq).

    A row that does not chain after a gap is either the next row after a deletion or a changed row
    after a legitimate gap. The checkpoints tell them apart by the events they counted: the walk
    carries on from the row's own hash until the checkpoint covering it, then decides.
    """

    def __init__(self, checkpoints: list[Checkpoint]) -> None:
        self.checkpoints = checkpoints
        self.index = 0  # the next checkpoint to reach
        self.head = GENESIS_SHA256
        self.before_last: str | None = None  # the head before the last sealed event
        self.last_seq = 0  # the last sealed event seen
        self.checked = 0
        self.rows = 0  # sealed rows seen since the last checkpoint reached
        self.shortfall = 0  # events the checkpoints counted but the walk did not find, since the suspect
        self.suspect: _Suspect | None = None
        self.unsealed_at: int | None = None

    def step(self, event: AuditEvent) -> Break | None:
        if event.entry_sha256 is None:
            self.unsealed_at = event.seq if self.unsealed_at is None else self.unsealed_at
            return None
        if self.unsealed_at is not None:
            return self._decided() or Break(
                BreakKind.INSERTED, self.unsealed_at, detail="it is not sealed but sits below sealed events"
            )
        while self.index < len(self.checkpoints) and self.checkpoints[self.index].last_seq < event.seq:
            broken = self._reach(self.checkpoints[self.index], missing_to=event.seq - 1)
            if broken is not None:
                return broken
        if self.index == len(self.checkpoints):
            return self._decided() or Break(
                BreakKind.INSERTED, event.seq, detail="it is sealed but no signed checkpoint covers it"
            )
        expected = chain(self.head, event)
        if event.entry_sha256 != expected:
            if self.suspect is None:
                if self.before_last is not None and chain(self.before_last, event) == event.entry_sha256:
                    self.checked -= 1  # the event before this one was the inserted one
                    return Break(
                        BreakKind.INSERTED,
                        self.last_seq,
                        detail=f"event {event.seq} chains from the event before it, not from it",
                    )
                if event.seq == self.last_seq + 1:
                    return Break(BreakKind.CHANGED, event.seq)
                self.suspect = _Suspect(self.last_seq + 1, event.seq - 1, event.seq)
            expected = event.entry_sha256  # carry on from the row's own hash until the suspect is decided
        self.before_last, self.head, self.last_seq = self.head, expected, event.seq
        self.rows += 1
        self.checked += self.suspect is None
        if self.checkpoints[self.index].last_seq == event.seq:
            return self._reach(self.checkpoints[self.index])
        return None

    def finish(self) -> Break | None:
        while self.index < len(self.checkpoints):
            checkpoint = self.checkpoints[self.index]
            broken = self._reach(checkpoint, missing_to=checkpoint.last_seq)
            if broken is not None:
                return broken
        return self._decided()

    def _reach(self, checkpoint: Checkpoint, *, missing_to: int | None = None) -> Break | None:
        """Close the span of a checkpoint: its last event, its head and its count of events.

        missing_to: the checkpoint's last event is not there; the gap it sits in ends there.
        """
        self.index += 1
        rows, self.rows = self.rows, 0
        if self.suspect is not None:
            self.shortfall += checkpoint.events - rows
            return self._decided() if checkpoint.last_seq >= self.suspect.seq else None
        if missing_to is not None:
            return Break(BreakKind.MISSING, self.last_seq + 1, missing_to)
        if checkpoint.head_sha256 != self.head or checkpoint.events != rows:
            return Break(BreakKind.CHAIN_REWRITTEN, checkpoint.last_seq, checkpoint_id=checkpoint.checkpoint_id)
        return None

    def _decided(self) -> Break | None:
        suspect = self.suspect
        if suspect is None:
            return None
        if self.shortfall > 0:
            return Break(BreakKind.MISSING, suspect.first_missing, suspect.last_missing)
        return Break(BreakKind.CHANGED, suspect.seq)
