"""A row the database refuses for a CHECK constraint is a bug: one INTERNAL with an incident id, one try, one log line.

Through a real hub and the real SDK, on SQLite and PostgreSQL: the nonce repository is made to
write, beside the call's nonce, a partner row that breaks the table's point_value_positive CHECK
(on PostgreSQL a held write, sent with the nonce's at the end of the call's writes_together block).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import grpc
import pytest

from exchange.store.database import Database
from exchange.store.nonces_repo import NonceRepository
from exchange.store.precompiled import inserting
from exchange.store.tables import partners
from partner_sdk import InternalError
from partner_sdk.retry import DEFAULT_RETRY
from tests.conftest import RunningHub

INTERNAL_MESSAGE = re.compile(r"internal error \(incident (inc-[0-9a-f]{16})\)")
_ADD_PARTNER = inserting(
    partners,
    (
        "partner_id",
        "display_name",
        "point_currency",
        "settlement_currency",
        "point_value_numerator",
        "point_value_denominator",
        "status",
        "created_at_ms",
        "status_changed_at_ms",
    ),
)


def _breaking_the_point_value_check(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every nonce recorded also write a partner worth zero; return the nonces tried, one per attempt."""
    tried: list[str] = []
    record = NonceRepository.record

    def record_with_a_bad_row(self: NonceRepository, **fields: Any) -> None:
        tried.append(fields["nonce"])
        _ADD_PARTNER.write(
            self._db,
            partner_id="worth-nothing",
            display_name="Worth nothing",
            point_currency="NIL",
            settlement_currency="EUR",
            point_value_numerator=0,
            point_value_denominator=1,
            status="ACTIVE",
            created_at_ms=0,
            status_changed_at_ms=0,
        )
        record(self, **fields)

    monkeypatch.setattr(NonceRepository, "record", record_with_a_bad_row)
    return tried


def _partner_ids(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.execute(partners.select().with_only_columns(partners.c.partner_id)).scalars())


def test_a_check_violation_in_a_signed_call_is_one_internal_answer_with_an_incident_id_logged_once(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = hub.active_partner("stride")
    tried = _breaking_the_point_value_check(monkeypatch)
    retries_before = hub.database.retries
    caplog.set_level(logging.ERROR, logger="exchange.api")

    with pytest.raises(InternalError) as failed:
        client.get_partner("stride")

    error = failed.value
    assert (error.code, error.reason) == ("INTERNAL", "INTERNAL")
    answered = INTERNAL_MESSAGE.fullmatch(error.message)
    assert answered is not None, error.message  # the incident id and nothing else: no SQL, no traceback
    incident_id = answered.group(1)
    assert len(tried) == 1, "one attempt at the hub, no retry by the hub nor a resend by the SDK"
    assert hub.database.retries == retries_before
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "exchange.api"]
    assert len(logged) == 1
    assert getattr(logged[0], "incident_id", None) == incident_id
    assert getattr(logged[0], "request_id", None) == error.request_id
    assert "point_value_positive" in getattr(logged[0], "error", "")
    assert "worth-nothing" not in _partner_ids(hub.database)


def test_the_sdk_never_resends_an_internal_answer() -> None:
    assert not DEFAULT_RETRY.should_retry(grpc.StatusCode.INTERNAL, attempt=1, elapsed_s=0.0)
