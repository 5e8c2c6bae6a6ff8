"""HubService.GetHubInfo: the one unsigned call, so a newcomer can learn the hub's key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from coalition.exchange.v1 import hub_pb2
from exchange.api.dispatch import HubContext
from exchange.api.translate import timestamp
from partner_sdk import signing
from partner_sdk._version import __version__
from partner_sdk.keys import fingerprint

HUB_SERVICE = hub_pb2.DESCRIPTOR.services_by_name["HubService"].full_name
GET_HUB_INFO = f"/{HUB_SERVICE}/GetHubInfo"


def hub_info_handler(hub: HubContext, *, window_ms: int, max_request_bytes: int) -> grpc.GenericRpcHandler[Any, Any]:
    """Return the handler of HubService."""

    def get_hub_info(_request: hub_pb2.GetHubInfoRequest, context: grpc.ServicerContext) -> bytes:
        now_ms = hub.clock.now_ms()
        body = hub_pb2.GetHubInfoResponse(
            hub_key_id=hub.signer.key_id,
            hub_public_key=hub.signer.public_key,
            hub_key_fingerprint=fingerprint(hub.signer.public_key),
            timestamp_window_seconds=window_ms // 1000,
            max_request_bytes=max_request_bytes,
            server_time=timestamp(now_ms),
            version=__version__,
        ).SerializeToString()
        nonce = dict(context.invocation_metadata() or ()).get(signing.HEADER_NONCE, "")
        assert isinstance(nonce, str)
        context.set_trailing_metadata(
            hub.signer.headers(
                method=GET_HUB_INFO, request_nonce=nonce, status=signing.STATUS_OK, body=body, now_ms=now_ms
            )
        )
        return body

    handler: Callable[[hub_pb2.GetHubInfoRequest, grpc.ServicerContext], bytes] = get_hub_info
    return grpc.method_handlers_generic_handler(
        HUB_SERVICE,
        {
            "GetHubInfo": grpc.unary_unary_rpc_method_handler(
                handler, request_deserializer=hub_pb2.GetHubInfoRequest.FromString
            )
        },
    )
