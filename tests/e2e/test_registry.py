"""The partner registry through a real server and the real SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from partner_sdk import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    generate_private_key,
    public_key_bytes,
)
from tests.conftest import RunningHub


def test_a_registered_partner_is_pending_until_the_operator_approves_it(hub: RunningHub) -> None:
    key = generate_private_key()
    client = hub.client("stride", key)
    partner = client.register(
        display_name="Stride Athletics",
        point_currency="STRD",
        settlement_currency="EUR",
        point_value_minor=Fraction(1, 2),
    )
    assert partner.status == "PENDING"
    assert partner.point_value_minor == Fraction(1, 2)
    assert [(k.key_id, k.public_key, k.state) for k in partner.keys] == [("k1", public_key_bytes(key), "ACTIVE")]
    with pytest.raises(UnauthenticatedError) as refused:
        client.get_partner("stride")
    assert refused.value.reason == "PARTNER_PENDING"
    approved = hub.operator().approve("stride")
    assert approved.status == "ACTIVE"
    assert client.get_partner("stride").status == "ACTIVE"


def test_point_value_is_stored_in_lowest_terms_exactly(hub: RunningHub) -> None:
    client = hub.client("stride", generate_private_key())
    partner = client.register(
        display_name="Stride", point_currency="STRD", settlement_currency="JPY", point_value_minor=Fraction(6, 4)
    )
    assert partner.point_value_minor == Fraction(3, 2)
    assert isinstance(partner.point_value_minor, Fraction)


def test_list_partners_pages_through_everyone_in_order(hub: RunningHub) -> None:
    ids = [f"brand-{i:02d}" for i in range(7)]
    for partner_id in ids:
        hub.client(partner_id, generate_private_key()).register(
            display_name=partner_id, point_currency="PTS", settlement_currency="EUR", point_value_minor=1
        )
    operator = hub.operator()
    first = operator.list_partners(page_size=3)
    assert [p.partner_id for p in first.items] == ids[:3]
    assert first.next_page_token
    assert [p.partner_id for p in operator.iter_partners(page_size=3)] == ids
    hub.operator().approve("brand-03")
    assert [p.partner_id for p in operator.iter_partners(status="ACTIVE")] == ["brand-03"]
    assert len(list(operator.iter_partners(status="PENDING"))) == 6


def test_a_bad_page_token_is_invalid_argument(hub: RunningHub) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        hub.operator().list_partners(page_token="not-a-token")
    assert refused.value.reason == "INVALID_PAGE_TOKEN"


def test_get_partner_of_an_unknown_id_is_not_found(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(NotFoundError) as refused:
        client.get_partner("nobody")
    assert refused.value.reason == "PARTNER_NOT_FOUND"


def test_registering_the_same_partner_id_twice_is_already_exists(hub: RunningHub) -> None:
    hub.active_partner("stride")
    with pytest.raises(AlreadyExistsError) as refused:
        hub.client("stride", generate_private_key()).register(
            display_name="Impostor", point_currency="STRD", settlement_currency="EUR", point_value_minor=1
        )
    assert refused.value.reason == "PARTNER_EXISTS"


def test_operator_suspends_and_reinstates_a_partner(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    operator = hub.operator()
    suspended = operator.suspend("stride", reason="unpaid invoices")
    assert (suspended.status, suspended.status_reason) == ("SUSPENDED", "unpaid invoices")
    with pytest.raises(UnauthenticatedError) as refused:
        client.get_partner("stride")
    assert refused.value.reason == "PARTNER_SUSPENDED"
    assert operator.reinstate("stride").status == "ACTIVE"
    assert client.get_partner("stride").status == "ACTIVE"


@pytest.mark.parametrize(
    ("action", "reason"),
    [("approve", "PARTNER_NOT_PENDING"), ("reinstate", "PARTNER_NOT_SUSPENDED")],
)
def test_operator_actions_out_of_order_are_failed_precondition(hub: RunningHub, action: str, reason: str) -> None:
    hub.active_partner("stride")
    with pytest.raises(FailedPreconditionError) as refused:
        getattr(hub.operator(), action)("stride")
    assert refused.value.reason == reason


def test_suspending_without_a_reason_is_invalid_argument(hub: RunningHub) -> None:
    hub.active_partner("stride")
    with pytest.raises(InvalidArgumentError) as refused:
        hub.operator().suspend("stride", reason="  ")
    assert refused.value.field == "reason"


def test_a_partner_cannot_call_operator_methods(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    from coalition.exchange.v1 import operator_pb2

    with pytest.raises(PermissionDeniedError) as refused:
        client.transport.call(
            "/coalition.exchange.v1.OperatorService/SuspendPartner",
            operator_pb2.SuspendPartnerRequest(partner_id="stride", reason="self"),
            operator_pb2.SuspendPartnerResponse,
        )
    assert refused.value.reason == "CALLER_NOT_ALLOWED"
    assert hub.operator().get_partner("stride").status == "ACTIVE"


def test_rotated_key_overlaps_then_the_old_key_stops(hub: RunningHub) -> None:
    client, old_key = hub.active_partner("stride")
    old = hub.client("stride", old_key)
    new_key = generate_private_key()
    until = datetime.now(UTC) + timedelta(minutes=30)
    rotated = client.rotate_key("k2", new_key, previous_key_valid_until=until)
    assert [(k.key_id, k.state) for k in rotated.keys] == [("k2", "ACTIVE"), ("k1", "EXPIRING")]
    assert old.get_partner("stride").status == "ACTIVE"  # inside the overlap
    assert client.get_partner("stride").keys[0].key_id == "k2"  # the client now signs with k2
    hub.clock.advance(31 * 60 * 1000)
    with pytest.raises(UnauthenticatedError) as refused:
        old.get_partner("stride")
    assert refused.value.reason == "KEY_EXPIRED"
    assert [(k.key_id, k.state) for k in client.get_partner("stride").keys] == [("k2", "ACTIVE"), ("k1", "EXPIRED")]


def test_rotation_without_overlap_stops_the_old_key_at_once(hub: RunningHub) -> None:
    client, old_key = hub.active_partner("stride")
    client.rotate_key("k2", generate_private_key())
    hub.clock.advance(1)
    with pytest.raises(UnauthenticatedError) as refused:
        hub.client("stride", old_key).get_partner("stride")
    assert refused.value.reason == "KEY_EXPIRED"


@pytest.mark.parametrize(
    ("days", "reason"),
    [(31, "OVERLAP_TOO_LONG"), (-1, "OVERLAP_IN_PAST")],
)
def test_rotation_overlap_out_of_bounds_is_invalid_argument(hub: RunningHub, days: int, reason: str) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(InvalidArgumentError) as refused:
        client.rotate_key(
            "k2", generate_private_key(), previous_key_valid_until=datetime.now(UTC) + timedelta(days=days)
        )
    assert refused.value.reason == reason
    assert [k.key_id for k in client.get_partner("stride").keys] == ["k1"]


def test_rotating_to_a_key_id_already_used_is_failed_precondition(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(FailedPreconditionError) as refused:
        client.rotate_key("k1", generate_private_key())
    assert refused.value.reason == "KEY_ID_IN_USE"


def test_revoked_key_stops_at_once(hub: RunningHub) -> None:
    client, old_key = hub.active_partner("stride")
    client.rotate_key("k2", generate_private_key(), previous_key_valid_until=datetime.now(UTC) + timedelta(days=1))
    revoked = client.revoke_key("k1", reason="laptop lost")
    assert [(k.key_id, k.state) for k in revoked.keys] == [("k2", "ACTIVE"), ("k1", "REVOKED")]
    with pytest.raises(UnauthenticatedError) as refused:
        hub.client("stride", old_key).get_partner("stride")
    assert refused.value.reason == "KEY_REVOKED"


def test_a_partner_can_never_revoke_its_last_active_key(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(FailedPreconditionError) as refused:
        client.revoke_key("k1", reason="oops")
    assert refused.value.reason == "LAST_ACTIVE_KEY"
    client.rotate_key("k2", generate_private_key(), previous_key_valid_until=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(FailedPreconditionError):
        client.revoke_key("k2", reason="keep only the expiring one")
    assert client.get_partner("stride").keys[0].state == "ACTIVE"


def test_revoking_an_unknown_key_is_not_found(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(NotFoundError) as refused:
        client.revoke_key("nope", reason="x")
    assert refused.value.reason == "KEY_NOT_FOUND"
