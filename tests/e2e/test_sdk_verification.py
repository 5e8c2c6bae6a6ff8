"""The SDK believes only what the hub signed: a forged error or answer on the wire is refused."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_status import rpc_status

from exchange.api.status import rich_status
from partner_sdk import (
    ExchangeClient,
    ResponseVerificationError,
    UnavailableError,
    generate_private_key,
    public_key_bytes,
)
from partner_sdk.retry import NO_RETRY


@pytest.fixture
def impostor() -> Iterator[str]:
    """A server that answers every call with an unsigned PERMISSION_DENIED carrying a hub reason."""

    def deny(_request: bytes, context: grpc.ServicerContext) -> bytes:
        status = rich_status(grpc.StatusCode.PERMISSION_DENIED, "you are banned", "PARTNER_SUSPENDED")
        context.abort_with_status(rpc_status.to_status(status))
        return b""

    server = grpc.server(futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "coalition.exchange.v1.RegistryService", {"GetPartner": grpc.unary_unary_rpc_method_handler(deny)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_an_unsigned_error_that_claims_a_hub_reason_is_refused(impostor: str) -> None:
    with (
        ExchangeClient(
            impostor,
            partner_id="stride",
            key_id="k1",
            private_key=generate_private_key(),
            hub_public_key=public_key_bytes(generate_private_key()),
        ) as client,
        pytest.raises(ResponseVerificationError) as refused,
    ):
        client.get_partner("stride")
    assert refused.value.reason == "RESPONSE_UNSIGNED"


def test_a_transport_failure_is_reported_as_such() -> None:
    with (
        ExchangeClient(
            "127.0.0.1:1",
            partner_id="stride",
            key_id="k1",
            private_key=generate_private_key(),
            hub_public_key=public_key_bytes(generate_private_key()),
            retry=NO_RETRY,
            timeout_s=2,
        ) as client,
        pytest.raises(UnavailableError) as refused,
    ):
        client.get_partner("stride")
    assert refused.value.reason == ""
