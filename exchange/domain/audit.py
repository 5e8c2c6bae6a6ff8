"""The tamper-evident audit log: what an entry is, how entries chain, how a chain is checked.

Every state change appends an event (who, what, when, the digests of the request and the answer).
Appending reads nothing, so concurrent writers never contend; the sealer later links events in
sequence order into a hash chain, entry_sha256 = SHA-256(previous entry_sha256 + the event's
canonical line), and the hub signs each new chain head (a checkpoint). Changing, inserting or
deleting a sealed row breaks the chain at that row; re-computing the chain after a change
breaks the signed checkpoints. verify() names the first place where the stored log and the
recomputed chain disagree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Break:
    """Where the log stops being what the hub sealed."""

    seq: int
    problem: str


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
    """Walk the sealed events in seq order against the checkpoints; return (events checked, first break).

    events must come in seq order and may include unsealed ones; an unsealed event below a sealed
    one is a break (it was inserted into the sealed past).
    """
    pending = sorted(checkpoints, key=lambda c: c.last_seq)
    for checkpoint in pending:
        if not signature_ok(checkpoint):
            return 0, Break(checkpoint.last_seq, f"checkpoint {checkpoint.checkpoint_id} is not signed by the hub")
    head, checked, index = GENESIS_SHA256, 0, 0
    unsealed_at: int | None = None
    for event in events:
        if event.entry_sha256 is None:
            unsealed_at = event.seq if unsealed_at is None else unsealed_at
            continue
        if unsealed_at is not None:
            return checked, Break(unsealed_at, "an unsealed event sits below sealed ones (inserted into the past?)")
        expected = chain(head, event)
        if event.entry_sha256 != expected:
            return checked, Break(event.seq, "the row differs from what was sealed (its hash does not chain)")
        head, checked = expected, checked + 1
        while index < len(pending) and pending[index].last_seq <= event.seq:
            checkpoint = pending[index]
            if checkpoint.last_seq != event.seq or checkpoint.head_sha256 != head:
                return checked, Break(
                    checkpoint.last_seq, f"checkpoint {checkpoint.checkpoint_id} does not match the chain here"
                )
            index += 1
    if index < len(pending):
        return checked, Break(pending[index].last_seq, "events a checkpoint covers are missing (deleted?)")
    return checked, None
