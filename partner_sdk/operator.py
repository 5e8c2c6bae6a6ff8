"""OperatorClient: the coalition operator's signed connection (used by `coalition admin`)."""

from __future__ import annotations

import grpc

from coalition.exchange.v1 import operator_pb2
from partner_sdk import _convert, signing
from partner_sdk.client import DEFAULT_TIMEOUT_S, _HubClient
from partner_sdk.keys import Ed25519PrivateKey, fingerprint, public_key_bytes
from partner_sdk.models import Partner
from partner_sdk.retry import DEFAULT_RETRY, RetryPolicy
from partner_sdk.settlement_client import SettlementCalls
from partner_sdk.tls import TlsOptions

__all__ = ["OperatorClient", "operator_key_id"]

_OPERATOR = "/coalition.exchange.v1.OperatorService/"


def operator_key_id(private_or_public_key: bytes) -> str:
    """Name the operator key by its fingerprint: 'op-' and the first 16 hex digits."""
    return "op-" + fingerprint(private_or_public_key)[7:23]


class OperatorClient(_HubClient, SettlementCalls):
    """Admits, suspends and reinstates partners and closes settlement periods, signed with the operator's key."""

    def __init__(
        self,
        target: str,
        *,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy = DEFAULT_RETRY,
        channel: grpc.Channel | None = None,
        tls: TlsOptions | None = None,
    ) -> None:
        super().__init__(
            target,
            principal=signing.OPERATOR_PRINCIPAL,
            key_id=operator_key_id(public_key_bytes(private_key)),
            private_key=private_key,
            hub_public_key=hub_public_key,
            timeout_s=timeout_s,
            retry=retry,
            channel=channel,
            tls=tls,
        )

    def __enter__(self) -> OperatorClient:
        return self

    def approve(self, partner_id: str) -> Partner:
        """Approve a PENDING partner."""
        answer = self.transport.call(
            _OPERATOR + "ApprovePartner",
            operator_pb2.ApprovePartnerRequest(partner_id=partner_id),
            operator_pb2.ApprovePartnerResponse,
        )
        return _convert.partner(answer.partner)

    def suspend(self, partner_id: str, *, reason: str) -> Partner:
        """Suspend an ACTIVE partner: every call it makes is refused from then on."""
        answer = self.transport.call(
            _OPERATOR + "SuspendPartner",
            operator_pb2.SuspendPartnerRequest(partner_id=partner_id, reason=reason),
            operator_pb2.SuspendPartnerResponse,
        )
        return _convert.partner(answer.partner)

    def reinstate(self, partner_id: str) -> Partner:
        """Reinstate a SUSPENDED partner."""
        answer = self.transport.call(
            _OPERATOR + "ReinstatePartner",
            operator_pb2.ReinstatePartnerRequest(partner_id=partner_id),
            operator_pb2.ReinstatePartnerResponse,
        )
        return _convert.partner(answer.partner)
