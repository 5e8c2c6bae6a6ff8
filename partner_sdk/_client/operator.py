"""OperatorService: the coalition operator admits, suspends and reinstates partners."""

from __future__ import annotations

from coalition.exchange.v1 import operator_pb2
from partner_sdk import _convert
from partner_sdk._client.connection import Connection
from partner_sdk._models import Partner

_OPERATOR = "/coalition.exchange.v1.OperatorService/"


def approve(self: Connection, partner_id: str) -> Partner:
    """Approve a PENDING partner."""
    answer = self.transport.call(
        _OPERATOR + "ApprovePartner",
        operator_pb2.ApprovePartnerRequest(partner_id=partner_id),
        operator_pb2.ApprovePartnerResponse,
    )
    return _convert.partner(answer.partner)


def suspend(self: Connection, partner_id: str, *, reason: str) -> Partner:
    """Suspend an ACTIVE partner: every call it makes is refused from then on."""
    answer = self.transport.call(
        _OPERATOR + "SuspendPartner",
        operator_pb2.SuspendPartnerRequest(partner_id=partner_id, reason=reason),
        operator_pb2.SuspendPartnerResponse,
    )
    return _convert.partner(answer.partner)


def reinstate(self: Connection, partner_id: str) -> Partner:
    """Reinstate a SUSPENDED partner."""
    answer = self.transport.call(
        _OPERATOR + "ReinstatePartner",
        operator_pb2.ReinstatePartnerRequest(partner_id=partner_id),
        operator_pb2.ReinstatePartnerResponse,
    )
    return _convert.partner(answer.partner)
