"""Audit commands: record a state change, seal new events into the signed chain, verify the log."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, text

from exchange.domain import audit as rules
from exchange.domain.audit import AuditEvent, Break, Checkpoint
from exchange.service.ports import AuditLog
from exchange.store.audit_repo import AuditRepository
from exchange.store.database import Database
from partner_sdk import signing

SEAL_DELAY_MS = 30_000  # seal only events this old: a PostgreSQL transaction may commit a lower seq late
SEAL_BATCH = 10_000
SEAL_LOCK_KEY = 0x636F616C_61756474  # "coalaudt": one sealer at a time across replicas


@dataclass(frozen=True, slots=True)
class AuditSigner:
    """The hub key that signs checkpoints."""

    key_id: str
    sign: Callable[[bytes], bytes]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `coalition audit verify` found."""

    checked: int
    unsealed: int
    checkpoints: int
    broken: Break | None


def record_call(
    connection: Connection,
    *,
    actor: str,
    method: str,
    request_sha256: str,
    response: bytes,
    now_ms: int,
    subject: str = "",
) -> None:
    """Append the event of a successful call that may have changed state (reads are not logged).

    subject is the id of what the call acted on (exchange.api.answer_subject); the chain covers it.
    """
    if rules.is_state_change(method):
        AuditRepository(connection).append(
            at_ms=now_ms,
            actor=actor,
            action=method,
            subject=subject,
            request_sha256=request_sha256,
            response_sha256=hashlib.sha256(response).hexdigest(),
        )


def record(log: AuditLog, *, actor: str, action: str, subject: str, now_ms: int) -> None:
    """Append the event of a change the hub made by itself (an expiry)."""
    log.append(at_ms=now_ms, actor=actor, action=action, subject=subject)


def seal(database: Database, signer: AuditSigner, now_ms: int, *, delay_ms: int = SEAL_DELAY_MS) -> int:
    """Link unsealed events (old enough) into the chain and sign the new head; return how many."""

    def work(connection: Connection) -> int:
        if database.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY})
        repository = AuditRepository(connection)
        head = repository.head()
        previous = head.head_sha256 if head else rules.GENESIS_SHA256
        events = repository.unsealed(
            after_seq=head.last_seq if head else 0, at_or_before_ms=now_ms - delay_ms, limit=SEAL_BATCH
        )
        for event in events:
            previous = rules.chain(previous, event)
            repository.seal(event.seq, previous)
        if events:
            last = events[-1].seq
            repository.add_checkpoint(
                Checkpoint(
                    checkpoint_id=0,
                    last_seq=last,
                    head_sha256=previous,
                    sealed_at_ms=now_ms,
                    events=len(events),
                    hub_key_id=signer.key_id,
                    signature=signer.sign(rules.checkpoint_message(last, previous, now_ms)),
                )
            )
        return len(events)

    return database.run(work)


def verify(connection: Connection, hub_public_key: bytes) -> VerifyReport:
    """Recompute the whole chain from the rows (streamed) and check every signed checkpoint."""
    repository = AuditRepository(connection)
    checkpoints = repository.checkpoints()
    unsealed = 0

    def events() -> Iterator[AuditEvent]:
        nonlocal unsealed
        for event in repository.iter_events():
            unsealed += event.entry_sha256 is None
            yield event

    def signature_ok(checkpoint: Checkpoint) -> bool:
        message = rules.checkpoint_message(checkpoint.last_seq, checkpoint.head_sha256, checkpoint.sealed_at_ms)
        return signing.verify(hub_public_key, checkpoint.signature, message)

    checked, broken = rules.verify(events(), checkpoints, signature_ok)
    return VerifyReport(checked, unsealed, len(checkpoints), broken)
