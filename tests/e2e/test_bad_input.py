"""Bad input gets a precise status and field, and nothing is written."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from coalition.exchange.v1 import common_pb2, registry_pb2
from partner_sdk import InvalidArgumentError, ResourceExhaustedError, generate_private_key, public_key_bytes, signing
from tests.conftest import RunningHub
from tests.e2e.test_signed_requests import REGISTRY, send, sign, snapshot

VALID = {
    "partner_id": "newco",
    "display_name": "NewCo",
    "point_currency": "NEWC",
    "settlement_currency": "EUR",
    "point_value_minor": (1, 2),
}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("partner_id", "", "INVALID_PARTNER_ID"),
        ("partner_id", "NewCo", "INVALID_PARTNER_ID"),
        ("partner_id", "x" * 33, "INVALID_PARTNER_ID"),
        ("partner_id", "operator", "RESERVED_PARTNER_ID"),
        ("display_name", "", "EMPTY_FIELD"),
        ("display_name", "   ", "EMPTY_FIELD"),
        ("display_name", "n" * 101, "FIELD_TOO_LONG"),
        ("display_name", "New\x00Co", "INVALID_TEXT"),
        ("point_currency", "", "INVALID_POINT_CURRENCY"),
        ("point_currency", "newc", "INVALID_POINT_CURRENCY"),
        ("point_currency", "EUR", "POINT_CURRENCY_IS_MONEY"),
        ("settlement_currency", "", "UNKNOWN_CURRENCY"),
        ("settlement_currency", "EURO", "UNKNOWN_CURRENCY"),
        ("settlement_currency", "XAU", "UNKNOWN_CURRENCY"),
        ("point_value_minor", (0, 1), "NON_POSITIVE_RATIO"),
        ("point_value_minor", (-1, 2), "NON_POSITIVE_RATIO"),
        ("point_value_minor", (1, 0), "NON_POSITIVE_RATIO"),
        ("point_value_minor", (10**13, 1), "RATIO_TOO_LARGE"),
    ],
)
def test_each_bad_registration_field_is_invalid_argument_naming_the_field(
    hub: RunningHub, field: str, value: object, reason: str
) -> None:
    fields = {**VALID, field: value}
    key = generate_private_key()
    public = public_key_bytes(key)
    numerator, denominator = fields["point_value_minor"]  # type: ignore[misc]
    request = registry_pb2.RegisterPartnerRequest(
        partner_id=str(fields["partner_id"]),
        display_name=str(fields["display_name"]),
        point_currency=str(fields["point_currency"]),
        settlement_currency=str(fields["settlement_currency"]),
        point_value_minor=common_pb2.Ratio(numerator=numerator, denominator=denominator),
        key=common_pb2.PublicKey(key_id="k1", public_key=public),
        possession_proof=key.sign(signing.possession_message(principal="newco", key_id="k1", public_key=public)),
    )
    before = snapshot(hub)
    code, got_reason, _ = send(hub, sign(key, REGISTRY + "RegisterPartner", request, "newco", "k1", hub.clock.now_ms()))
    assert (code, got_reason) == ("INVALID_ARGUMENT", reason)
    assert snapshot(hub) == before


def test_the_sdk_reports_the_field_at_fault(hub: RunningHub) -> None:
    client = hub.client("newco", generate_private_key())
    with pytest.raises(InvalidArgumentError) as refused:
        client.register(display_name="NewCo", point_currency="NEWC", settlement_currency="EURO", point_value_minor=1)
    assert (refused.value.reason, refused.value.field) == ("UNKNOWN_CURRENCY", "settlement_currency")
    assert "ISO 4217" in refused.value.message


@pytest.mark.parametrize(
    ("key_bytes", "key_id", "reason", "field"),
    [
        (b"short", "k1", "MALFORMED_PUBLIC_KEY", "key.public_key"),
        (b"", "k1", "MALFORMED_PUBLIC_KEY", "key.public_key"),
    ],
)
def test_a_malformed_public_key_is_invalid_argument(
    hub: RunningHub, key_bytes: bytes, key_id: str, reason: str, field: str
) -> None:
    key = generate_private_key()
    request = registry_pb2.RegisterPartnerRequest(
        partner_id="newco",
        display_name="NewCo",
        point_currency="NEWC",
        settlement_currency="EUR",
        point_value_minor=common_pb2.Ratio(numerator=1, denominator=1),
        key=common_pb2.PublicKey(key_id=key_id, public_key=key_bytes),
    )
    before = snapshot(hub)
    assert send(hub, sign(key, REGISTRY + "RegisterPartner", request, "newco", key_id, hub.clock.now_ms()))[:2] == (
        "INVALID_ARGUMENT",
        reason,
    )
    assert snapshot(hub) == before


def test_bytes_that_are_not_the_request_message_are_invalid_argument(hub: RunningHub) -> None:
    client, key = hub.active_partner("stride")
    garbage = registry_pb2.GetPartnerRequest()
    call = sign(key, REGISTRY + "GetPartner", garbage, "stride", "k1", hub.clock.now_ms())
    body = b"\xff\xff\xff\xff"
    headers = signing.sign_request(
        key, method=call.method, principal="stride", key_id="k1", body=body, timestamp_ms=hub.clock.now_ms()
    )
    forged = type(call)(call.method, body, "stride", "k1", headers.timestamp_ms, headers.nonce, headers.signature)
    assert send(hub, forged)[:2] == ("INVALID_ARGUMENT", "MALFORMED_REQUEST")


def test_an_oversized_request_is_refused_by_the_configured_maximum(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(ResourceExhaustedError):
        client.get_partner("x" * (128 * 1024))


def test_an_over_long_partner_id_in_a_read_is_invalid_argument(hub: RunningHub) -> None:
    client, _ = hub.active_partner("stride")
    with pytest.raises(InvalidArgumentError) as refused:
        client.get_partner("x" * 500)
    assert (refused.value.reason, refused.value.field) == ("INVALID_PARTNER_ID", "partner_id")


def test_health_and_reflection_answer_without_signatures(hub: RunningHub) -> None:
    with grpc.insecure_channel(hub.target) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = {service.name for answer in answers for service in answer.list_services_response.service}
    assert {
        "coalition.exchange.v1.RegistryService",
        "coalition.exchange.v1.OperatorService",
        "coalition.exchange.v1.HubService",
        "grpc.health.v1.Health",
    } <= names


def test_hub_info_publishes_the_key_that_signs_answers(hub: RunningHub) -> None:
    client = hub.client("stride", generate_private_key())
    info = client.hub_info()
    assert info.hub_public_key == hub.hub_public_key
    assert info.timestamp_window_s == 300
    assert info.hub_key_fingerprint.startswith("SHA256:")
    assert public_key_bytes(hub.signer.private_key) == info.hub_public_key
