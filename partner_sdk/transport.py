"""Signed unary calls over a gRPC channel: sign the exact bytes, verify the hub's answer, retry safely."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from partner_sdk import signing
from partner_sdk.errors import ExchangeError, ResponseVerificationError, error_from_rpc
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.retry import DEFAULT_RETRY, RetryPolicy

R = TypeVar("R", bound=Message)

GET_HUB_INFO = "/coalition.exchange.v1.HubService/GetHubInfo"
# The hub's answer to a resend whose first answer held member data and was not kept.
ANSWER_NOT_KEPT = "ANSWER_NOT_KEPT"


def _trace_context() -> tuple[tuple[str, str], ...]:
    """The caller's current OpenTelemetry trace, as W3C headers, if the brand uses OpenTelemetry.

    The SDK does not depend on it: without the package, or outside a span, nothing is added. The
    headers are not signed (they change nothing the hub does) and carry only trace and span ids.
    """
    try:
        from opentelemetry.propagate import inject
    except ImportError:
        return ()
    carrier: dict[str, str] = {}
    inject(carrier)
    return tuple(carrier.items())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SignedTransport:
    """Sends signed requests as one principal and accepts only answers signed by the hub."""

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        principal: str,
        key_id: str,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None,
        timeout_s: float,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.channel = channel
        self.principal = principal
        self.key_id = key_id
        self.private_key = private_key
        self.hub_public_key = hub_public_key
        self.timeout_s = timeout_s
        self.retry = retry
        self.clock_ms = clock_ms

    def use_key(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        """Sign from now on with another of the principal's keys (after a rotation)."""
        self.key_id = key_id
        self.private_key = private_key

    def call(self, method: str, request: Message, response_type: type[R], *, timeout_s: float | None = None) -> R:
        """Sign and send request, retrying safely, and return the verified, parsed answer.

        A resend whose first attempt was answered but whose answer held member data is told
        ANSWER_NOT_KEPT (the hub does not keep such answers): the request is then signed anew,
        with a fresh nonce, and sent once more. Those are reads and link codes, safe to repeat.
        """
        body = request.SerializeToString()
        try:
            return self._signed_send(method, body, response_type, timeout_s)
        except ExchangeError as error:
            if error.reason != ANSWER_NOT_KEPT:
                raise
        return self._signed_send(method, body, response_type, timeout_s)

    def _signed_send(self, method: str, body: bytes, response_type: type[R], timeout_s: float | None) -> R:
        headers = self.sign(method, body)
        return self.send(method, body, headers.as_metadata(), headers.nonce, response_type, timeout_s=timeout_s)

    def sign(self, method: str, body: bytes) -> signing.SignedHeaders:
        """Sign body for method as this principal, now, with a fresh nonce (send() resends such bytes as they are)."""
        return signing.sign_request(
            self.private_key,
            method=method,
            principal=self.principal,
            key_id=self.key_id,
            body=body,
            timestamp_ms=self.clock_ms(),
        )

    def send(
        self,
        method: str,
        body: bytes,
        metadata: Sequence[tuple[str, str]],
        nonce: str,
        response_type: type[R],
        *,
        timeout_s: float | None = None,
    ) -> R:
        """Send already-signed bytes (resending the same bytes and headers on retryable failures)."""
        hub_key = self.hub_key()
        request_id = uuid.uuid4().hex
        stub = self.channel.unary_unary(method, None, None)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                answer, call = stub.with_call(
                    body,
                    metadata=(*metadata, (signing.HEADER_REQUEST_ID, request_id), *_trace_context()),
                    timeout=timeout_s or self.timeout_s,
                )
            except grpc.RpcError as error:
                code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
                if self.retry.should_retry(code, attempt, time.monotonic() - started):
                    hinted_s = error_from_rpc(error).retry_delay_s or 0.0  # the hub's RetryInfo, if any
                    time.sleep(max(self.retry.pause_s(attempt), min(hinted_s, self.retry.max_backoff_s)))
                    continue
                raise self._verified_error(error, method, nonce, hub_key, request_id) from None
            _verify_answer(hub_key, method, nonce, signing.STATUS_OK, answer, call.trailing_metadata(), request_id)
            return _parse(response_type, answer, request_id)

    def hub_key(self) -> bytes:
        """Return the pinned hub key, fetching it once from GetHubInfo if none was pinned."""
        if self.hub_public_key is None:
            from coalition.exchange.v1 import hub_pb2

            # A fresh nonce that the hub must sign back, so an old recorded answer can't be replayed.
            nonce = signing.new_nonce()
            try:
                answer, call = self.channel.unary_unary(GET_HUB_INFO, None, None).with_call(
                    hub_pb2.GetHubInfoRequest().SerializeToString(),
                    metadata=((signing.HEADER_NONCE, nonce),),
                    timeout=self.timeout_s,
                )
            except grpc.RpcError as error:
                # Unsigned (the key to check a signature with is what failed to come), so nothing
                # here is believed but the status: an unreachable hub is ExchangeError UNAVAILABLE,
                # as for every other call, not a raw gRPC error.
                raise error_from_rpc(error) from None
            info = _parse(hub_pb2.GetHubInfoResponse, answer, "")
            _verify_answer(
                info.hub_public_key, GET_HUB_INFO, nonce, signing.STATUS_OK, answer, call.trailing_metadata(), ""
            )
            self.hub_public_key = info.hub_public_key
        return self.hub_public_key

    @staticmethod
    def _verified_error(
        error: grpc.RpcError, method: str, nonce: str, hub_key: bytes, request_id: str
    ) -> ExchangeError:
        """Rebuild the error; one that claims to come from the hub must carry the hub's signature.

        Errors from the transport itself (no connection, local deadline, message too large)
        carry no hub reason and can't be signed; they are returned as they are.
        """
        exc = error_from_rpc(error, request_id)
        trailing = error.trailing_metadata() if isinstance(error, grpc.Call) else None
        headers: dict[str, str | bytes] = dict(trailing or ())
        if signing.HEADER_HUB_SIGNATURE in headers or exc.reason:
            details = headers.get("grpc-status-details-bin", b"")
            assert isinstance(details, bytes)
            status = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
            _verify_answer(hub_key, method, nonce, status, details, trailing, request_id)
        return exc


def _verify_answer(
    hub_key: bytes,
    method: str,
    nonce: str,
    status: str,
    body: bytes,
    trailing: Sequence[tuple[str, str | bytes]] | None,
    request_id: str,
) -> None:
    headers = dict(trailing or ())
    key_id, stamp, signature = (
        headers.get(signing.HEADER_HUB_KEY_ID),
        headers.get(signing.HEADER_HUB_TIMESTAMP),
        headers.get(signing.HEADER_HUB_SIGNATURE),
    )
    if not (isinstance(key_id, str) and isinstance(stamp, str) and isinstance(signature, str) and stamp.isdigit()):
        raise ResponseVerificationError(
            "the hub's answer carries no signature", reason="RESPONSE_UNSIGNED", request_id=request_id
        )
    message = signing.canonical_response(
        method=method, request_nonce=nonce, hub_key_id=key_id, timestamp_ms=int(stamp), status=status, body=body
    )
    try:
        valid = signing.verify(hub_key, signing.decode_signature(signature), message)
    except ValueError:
        valid = False
    if not valid:
        raise ResponseVerificationError(
            "the hub's answer is not signed by the expected hub key",
            reason="RESPONSE_BAD_SIGNATURE",
            request_id=request_id,
        )


def _parse(response_type: type[R], answer: bytes, request_id: str) -> R:
    try:
        return response_type.FromString(answer)
    except DecodeError as exc:
        raise ResponseVerificationError(
            "the hub's answer is not a valid message", reason="RESPONSE_MALFORMED", request_id=request_id
        ) from exc
