"""Every RPC of every service, except the hub's public information, refuses an unsigned or forged call."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.message_factory import GetMessageClass

from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    conversions_pb2,
    donations_pb2,
    instructions_pb2,
    members_pb2,
    memberships_pb2,
    operator_pb2,
    redemptions_pb2,
    registry_pb2,
    settlement_pb2,
    status_match_pb2,
    vouchers_pb2,
)
from exchange.api.hub_service import HUB_SERVICE
from partner_sdk import generate_private_key
from tests.conftest import RunningHub
from tests.e2e.test_signed_requests import send, sign, snapshot

SIGNED_SERVICES = (
    registry_pb2,
    operator_pb2,
    agreements_pb2,
    conversions_pb2,
    instructions_pb2,
    redemptions_pb2,
    members_pb2,
    settlement_pb2,
    accruals_pb2,
    donations_pb2,
    memberships_pb2,
    status_match_pb2,
    vouchers_pb2,
)
METHODS = sorted(
    (f"/{service.full_name}/{method.name}", method.input_type.full_name)
    for module in SIGNED_SERVICES
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
)


def _empty_request(type_name: str) -> bytes:
    message_class = GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(type_name))
    return message_class().SerializeToString()


def test_the_list_covers_every_service(hub: RunningHub) -> None:
    assert {m.split("/")[1] for m, _ in METHODS} == set(hub.server.services) - {HUB_SERVICE}


@pytest.mark.parametrize(("method", "type_name"), METHODS)
def test_an_unsigned_or_forged_call_is_unauthenticated_and_changes_nothing(
    hub: RunningHub, method: str, type_name: str
) -> None:
    hub.active_partner("stride")
    before = snapshot(hub)
    body = _empty_request(type_name)
    forged = sign(generate_private_key(), method, registry_pb2.GetPartnerRequest(), "stride", "k1", hub.clock.now_ms())
    forged = type(forged)(
        method, body, forged.principal, forged.key_id, forged.timestamp_ms, forged.nonce, forged.signature
    )
    assert send(hub, forged, ())[:2] == ("UNAUTHENTICATED", "MISSING_SIGNATURE_HEADER")
    if method.endswith("/RegisterPartner"):
        # verified with the key in its body: an empty body has none (test_signed_requests forges a full one)
        assert send(hub, forged)[:2] == ("INVALID_ARGUMENT", "MALFORMED_PUBLIC_KEY")
    else:
        assert send(hub, forged)[:2] == ("UNAUTHENTICATED", "BAD_SIGNATURE")
    assert snapshot(hub) == before
