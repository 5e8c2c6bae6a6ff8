"""What a client that is not the Python SDK sees of the hub's answers, on a real hub.

docs/protocol.md (section "Errors") and docs/signing.md (section 8) promise:
- a refusal's google.rpc.Status holds ErrorInfo (reason, domain, no metadata), a BadRequest
  only when a field is at fault, RetryInfo only for ABORTED and UNAVAILABLE, and for
  RESOURCE_EXHAUSTED a QuotaFailure whose one violation has the reason as subject and the
  message as description (the SDK's ExchangeError.limit);
- an error arrives Trailers-Only: one HEADERS block that ends the stream, no DATA, and the hub's
  signature trailers are in that block; a success has its signature in the trailers after the
  message;
- the hub's signature is canonical padded standard base64 (88 characters).

The wire tests speak HTTP/2 with Node's own http2 module (no gRPC library), as a Node team would
see the frames.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from coalition.exchange.v1 import hub_pb2, members_pb2, registry_pb2
from exchange.api.status import ERROR_DOMAIN, rich_status
from partner_sdk import ExchangeClient, FailedPreconditionError, ResourceExhaustedError, generate_private_key, signing
from tests.conftest import RunningHub

REDEEM = "/coalition.exchange.v1.MemberService/RedeemLinkCode"
GET_PARTNER = "/coalition.exchange.v1.RegistryService/GetPartner"
GET_HUB_INFO = "/coalition.exchange.v1.HubService/GetHubInfo"
CANONICAL_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{85}[AQgw]==")
HUB_TRAILERS = (signing.HEADER_HUB_KEY_ID, signing.HEADER_HUB_TIMESTAMP, signing.HEADER_HUB_SIGNATURE)

# One unary gRPC call over plain HTTP/2 with Node's http2 module: every header block as received
# (with whether it ended the stream) and the DATA bytes. Input and output are JSON.
NODE_CALL = r"""
const http2 = require('http2');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const call = JSON.parse(input);
  const session = http2.connect('http://' + call.target);
  session.on('error', (error) => { console.error(String(error)); process.exit(2); });
  const body = Buffer.from(call.body_hex, 'hex');
  const framed = Buffer.alloc(5 + body.length);
  framed.writeUInt32BE(body.length, 1);
  body.copy(framed, 5);
  const stream = session.request({
    ':method': 'POST', ':path': call.path, 'content-type': 'application/grpc', 'te': 'trailers', ...call.headers,
  });
  const out = { blocks: [], data_hex: '' };
  const chunks = [];
  stream.on('response', (headers, flags) => { out.blocks.push({ headers, end_stream: (flags & 1) === 1 }); });
  stream.on('trailers', (headers, flags) => { out.blocks.push({ headers, end_stream: (flags & 1) === 1 }); });
  stream.on('data', (chunk) => { chunks.push(chunk); });
  stream.on('close', () => {
    out.data_hex = Buffer.concat(chunks).toString('hex');
    session.close();
    process.stdout.write(JSON.stringify(out));
  });
  stream.end(framed);
});
"""


def node_call(target: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/buf.sh needs it too)")
    done = subprocess.run(
        [node, "-e", NODE_CALL],
        input=json.dumps({"target": target, "path": path, "headers": headers, "body_hex": body.hex()}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def verify_hub_signature(
    hub: RunningHub, method: str, nonce: str, status: str, body: bytes, trailers: dict[str, str]
) -> None:
    signature = trailers[signing.HEADER_HUB_SIGNATURE]
    assert CANONICAL_SIGNATURE.fullmatch(signature), signature
    assert trailers[signing.HEADER_HUB_KEY_ID] == hub.signer.key_id
    message = signing.canonical_response(
        method=method,
        request_nonce=nonce,
        hub_key_id=trailers[signing.HEADER_HUB_KEY_ID],
        timestamp_ms=int(trailers[signing.HEADER_HUB_TIMESTAMP]),
        status=status,
        body=body,
    )
    assert signing.verify(hub.hub_public_key, signing.decode_signature(signature), message)


def details_of(status: status_pb2.Status) -> list[Any]:
    """The details unpacked, in the order the hub packed them."""
    kinds = (
        error_details_pb2.ErrorInfo,
        error_details_pb2.BadRequest,
        error_details_pb2.RetryInfo,
        error_details_pb2.QuotaFailure,
    )
    unpacked = []
    for detail in status.details:
        kind = next(kind for kind in kinds if detail.Is(kind.DESCRIPTOR))
        message = kind()
        detail.Unpack(message)
        unpacked.append(message)
    return unpacked


def raw_refusal(client: ExchangeClient, method: str, request: Any) -> tuple[grpc.RpcError, str]:
    """Send a signed call with a plain gRPC stub (no SDK verification) and return the error and the nonce."""
    body = request.SerializeToString()
    headers = client.transport.sign(method, body)
    stub = client.transport.channel.unary_unary(method, None, None)
    with pytest.raises(grpc.RpcError) as refused:
        stub(body, metadata=headers.as_metadata(), timeout=10)
    return refused.value, headers.nonce


def test_resource_exhausted_carries_the_limit_as_a_quota_failure_violation(hub: RunningHub) -> None:
    stride, _ = hub.active_partner("stride")
    voltline, _ = hub.active_partner("voltline")
    for guess in ("AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC", "DDDDD-DDDDD", "EEEEE-EEEEE"):
        with pytest.raises(FailedPreconditionError):
            voltline.redeem_link_code(guess, member_ref="volt-1")
    code = stride.create_link_code("stride-1").code
    error, nonce = raw_refusal(voltline, REDEEM, members_pb2.RedeemLinkCodeRequest(code=code, member_ref="volt-1"))
    assert isinstance(error, grpc.Call)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(error.trailing_metadata() or ())
    details = trailers["grpc-status-details-bin"]
    assert isinstance(details, bytes)
    verify_hub_signature(hub, REDEEM, nonce, "RESOURCE_EXHAUSTED", details, trailers)
    status = status_pb2.Status.FromString(details)
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0] == 8
    assert status.message == error.details()
    info, quota = details_of(status)  # no BadRequest: no field is at fault; no RetryInfo
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == ("LINK_CODE_ATTEMPTS", ERROR_DOMAIN, {})
    assert isinstance(quota, error_details_pb2.QuotaFailure)
    assert len(quota.violations) == 1
    assert quota.violations[0].subject == info.reason == "LINK_CODE_ATTEMPTS"
    assert quota.violations[0].description == status.message
    assert "at most 5 wrong link codes" in status.message
    assert details == rich_status(grpc.StatusCode.RESOURCE_EXHAUSTED, status.message, info.reason).SerializeToString()
    # The SDK reads the same detail: ExchangeError.limit is the violation's description.
    with pytest.raises(ResourceExhaustedError) as sdk:
        voltline.redeem_link_code(code, member_ref="volt-1")
    assert (sdk.value.reason, sdk.value.limit) == ("LINK_CODE_ATTEMPTS", quota.violations[0].description)


def test_a_refusal_naming_a_field_carries_one_bad_request_violation(hub: RunningHub) -> None:
    stride, _ = hub.active_partner("stride")
    error, nonce = raw_refusal(stride, GET_PARTNER, registry_pb2.GetPartnerRequest(partner_id="Not A Partner"))
    assert isinstance(error, grpc.Call)
    trailers = dict(error.trailing_metadata() or ())
    details = trailers["grpc-status-details-bin"]
    assert isinstance(details, bytes)
    verify_hub_signature(hub, GET_PARTNER, nonce, "INVALID_ARGUMENT", details, trailers)
    status = status_pb2.Status.FromString(details)
    info, bad_request = details_of(status)
    assert (info.reason, info.domain) == ("INVALID_PARTNER_ID", ERROR_DOMAIN)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [("partner_id", status.message)]


def test_an_error_arrives_trailers_only_with_the_hub_signature_in_that_one_block(hub: RunningHub) -> None:
    body = registry_pb2.GetPartnerRequest(partner_id="stride").SerializeToString()
    headers = signing.sign_request(  # by a partner the hub does not know: UNAUTHENTICATED, UNKNOWN_PARTNER
        generate_private_key(),
        method=GET_PARTNER,
        principal="nobody",
        key_id="k1",
        body=body,
        timestamp_ms=hub.clock.now_ms(),
    )
    answer = node_call(hub.target, GET_PARTNER, dict(headers.as_metadata()), body)
    assert answer["data_hex"] == "", "no response message"
    assert len(answer["blocks"]) == 1, "one header block: Trailers-Only"
    block = answer["blocks"][0]
    assert block["end_stream"] is True
    trailers = block["headers"]
    assert trailers[":status"] == 200
    assert trailers["content-type"].startswith("application/grpc")
    assert trailers["grpc-status"] == str(grpc.StatusCode.UNAUTHENTICATED.value[0])
    assert all(name in trailers for name in (*HUB_TRAILERS, signing.HEADER_REQUEST_ID, "grpc-message"))
    encoded = trailers["grpc-status-details-bin"]
    details = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    verify_hub_signature(hub, GET_PARTNER, headers.nonce, "UNAUTHENTICATED", details, trailers)
    info = details_of(status_pb2.Status.FromString(details))[0]
    assert (info.reason, info.domain) == ("UNKNOWN_PARTNER", ERROR_DOMAIN)


def test_a_success_has_its_signature_in_the_trailers_after_the_message(hub: RunningHub) -> None:
    nonce = signing.new_nonce()
    answer = node_call(hub.target, GET_HUB_INFO, {signing.HEADER_NONCE: nonce}, b"")
    assert [block["end_stream"] for block in answer["blocks"]] == [False, True], "headers, then trailers"
    headers, trailers = (block["headers"] for block in answer["blocks"])
    assert headers[":status"] == 200
    assert "grpc-status" not in headers
    assert not any(name in headers for name in HUB_TRAILERS)
    assert trailers["grpc-status"] == "0"
    data = bytes.fromhex(answer["data_hex"])
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == len(data) - 5  # the gRPC message prefix
    message = data[5:]
    verify_hub_signature(hub, GET_HUB_INFO, nonce, signing.STATUS_OK, message, trailers)
    assert hub_pb2.GetHubInfoResponse.FromString(message).hub_public_key == hub.hub_public_key
