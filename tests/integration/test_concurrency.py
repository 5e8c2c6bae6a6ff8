"""Concurrent calls: one registration wins, a resent call happens once, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy

from coalition.exchange.v1 import operator_pb2
from exchange.store.tables import registry_events
from partner_sdk import AlreadyExistsError, generate_private_key
from tests.conftest import RunningHub
from tests.e2e.test_signed_requests import OPERATOR, send, sign


def test_racing_registrations_of_one_partner_id_let_exactly_one_through(hub: RunningHub) -> None:
    def register(i: int) -> str:
        client = hub.client("contested", generate_private_key())
        try:
            client.register(display_name=f"C{i}", point_currency="CONT", settlement_currency="EUR", point_value_minor=1)
        except AlreadyExistsError:
            return "ALREADY_EXISTS"
        return "OK"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(register, range(8)))
    assert outcomes == ["ALREADY_EXISTS"] * 7 + ["OK"]


def test_concurrent_resends_of_one_call_all_get_the_first_answer_and_it_happens_once(hub: RunningHub) -> None:
    hub.active_partner("stride")
    operator = hub.operator()
    call = sign(
        hub.operator_key,
        OPERATOR + "SuspendPartner",
        operator_pb2.SuspendPartnerRequest(partner_id="stride", reason="race"),
        "operator",
        operator.transport.key_id,
        hub.clock.now_ms(),
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: send(hub, call), range(8)))
    assert {a[0] for a in answers} == {"OK"}
    assert len({a[2] for a in answers}) == 1
    with hub.database.engine.connect() as connection:
        kinds = connection.execute(sqlalchemy.select(registry_events.c.kind)).scalars().all()
    assert kinds.count("SUSPENDED") == 1
