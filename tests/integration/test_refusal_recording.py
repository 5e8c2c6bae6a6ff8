"""A refusal is recorded under its nonce even when the recording transaction conflicts (retried, not INTERNAL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from exchange.domain.errors import FailedPrecondition
from exchange.service.authentication import Caller, IncomingCall
from exchange.service.calls import execute_once
from exchange.service.stored_answers import Answer
from exchange.store import migrate
from exchange.store.database import Database
from exchange.store.nonces_repo import NonceRepository

NOW = 1_800_000_000_000


class _SerializationFailure(Exception):
    sqlstate = "40001"


def _call() -> IncomingCall:
    return IncomingCall(
        method="/coalition.exchange.v1.InstructionService/AcknowledgeInstruction",
        principal="stride",
        key_id="k1",
        timestamp_ms=NOW,
        nonce="n" * 32,
        signature=b"\x00" * 64,
        body=b"",
    )


def test_a_refusal_whose_recording_conflicts_is_recorded_on_the_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate.upgrade(database)
    record = NonceRepository.record
    attempts: list[str] = []

    def conflicting_once(self: NonceRepository, **fields: object) -> None:
        attempts.append(str(fields["outcome"]))
        if len(attempts) == 1:  # as PostgreSQL does at COMMIT under SERIALIZABLE
            raise OperationalError("COMMIT", {}, _SerializationFailure("could not serialize access"))
        record(self, **fields)  # type: ignore[arg-type]

    def refuse(connection: Connection, caller: Caller) -> Answer:
        raise FailedPrecondition("INSTRUCTION_CANCELLED", "instruction is CANCELLED")

    monkeypatch.setattr(NonceRepository, "record", conflicting_once)
    with pytest.raises(FailedPrecondition) as refused:
        execute_once(database, _call(), lambda connection: Caller("stride", "k1"), refuse, NOW)
    assert refused.value.reason == "INSTRUCTION_CANCELLED"
    assert attempts == ["FailedPrecondition", "FailedPrecondition"]
    recorded = database.run(lambda connection: NonceRepository(connection).find("stride", "n" * 32))
    assert recorded is not None
    assert (recorded.outcome, recorded.error_reason) == ("FailedPrecondition", "INSTRUCTION_CANCELLED")
    database.dispose()
