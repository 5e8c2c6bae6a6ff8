"""The SDK asks again, with a fresh nonce, when the hub did not keep the answer a resend asked for."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import pytest
from google.protobuf.message import Message

from coalition.exchange.v1 import members_pb2
from partner_sdk import FailedPreconditionError, generate_private_key
from partner_sdk.transport import SignedTransport

READ = "/coalition.exchange.v1.MemberService/ReadAttributes"


class ScriptedTransport(SignedTransport):
    """A transport whose sends answer from a script instead of a hub."""

    def __init__(self, script: list[Exception | Message]) -> None:
        super().__init__(
            grpc.insecure_channel("127.0.0.1:9"),
            principal="voltline",
            key_id="k1",
            private_key=generate_private_key(),
            hub_public_key=b"\x00" * 32,
            timeout_s=1.0,
        )
        self.script = script
        self.nonces: list[str] = []

    def send(
        self,
        method: str,
        body: bytes,
        metadata: Sequence[tuple[str, str]],
        nonce: str,
        response_type,
        *,
        timeout_s=None,
    ):  # type: ignore[no-untyped-def,override]
        self.nonces.append(nonce)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def _not_kept() -> FailedPreconditionError:
    return FailedPreconditionError("answer not kept", reason="ANSWER_NOT_KEPT")


def test_a_read_whose_answer_was_not_kept_is_signed_anew_and_sent_once_more() -> None:
    answer = members_pb2.ReadAttributesResponse(withheld=[members_pb2.WithheldAttribute(key="k", reason="NO_CONSENT")])
    transport = ScriptedTransport([_not_kept(), answer])
    got = transport.call(READ, members_pb2.ReadAttributesRequest(), members_pb2.ReadAttributesResponse)
    assert got == answer
    assert len(transport.nonces) == 2 and transport.nonces[0] != transport.nonces[1]


def test_it_asks_again_only_once() -> None:
    transport = ScriptedTransport([_not_kept(), _not_kept(), members_pb2.ReadAttributesResponse()])
    with pytest.raises(FailedPreconditionError) as refused:
        transport.call(READ, members_pb2.ReadAttributesRequest(), members_pb2.ReadAttributesResponse)
    assert refused.value.reason == "ANSWER_NOT_KEPT" and len(transport.nonces) == 2


def test_other_refusals_are_not_sent_again() -> None:
    transport = ScriptedTransport([FailedPreconditionError("no", reason="CONSENT_REVOKED")])
    with pytest.raises(FailedPreconditionError):
        transport.call(READ, members_pb2.ReadAttributesRequest(), members_pb2.ReadAttributesResponse)
    assert len(transport.nonces) == 1
