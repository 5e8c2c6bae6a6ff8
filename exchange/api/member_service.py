"""MemberService: thin translations between protobuf and member commands."""

from __future__ import annotations

from typing import Any

from coalition.exchange.v1 import members_pb2
from exchange.api.consent_service import CONSENT_METHODS
from exchange.api.dispatch import PARTNERS, Invocation, SignedMethod
from exchange.api.translate import timestamp
from exchange.domain.members import Link
from exchange.service import members

MEMBER_SERVICE = members_pb2.DESCRIPTOR.services_by_name["MemberService"].full_name


def _secret(call: Invocation) -> bytes:
    keyring = call.hub.keyring
    assert keyring is not None, "a hub serving members has a keyring"
    return keyring.pairwise_secret


def link_message(link: Link, viewer: str, secret: bytes) -> members_pb2.Link:
    """Return a link as one of its brands sees it: the counterparty and the viewer's pairwise id."""
    message = members_pb2.Link(
        link_id=link.link_id,
        counterparty_id=link.counterparty_of(viewer),
        pairwise_member_id=members.pairwise_id(secret, viewer, link.member_id),
        linked_at=timestamp(link.linked_at_ms),
        ended_by=link.ended_by,
        end_reason=link.end_reason,
    )
    if link.ended_at_ms is not None:
        message.ended_at.CopyFrom(timestamp(link.ended_at_ms))
    return message


def _create(call: Invocation, request: members_pb2.CreateLinkCodeRequest) -> members_pb2.CreateLinkCodeResponse:
    issued = members.create_link_code(call.connection, call.caller, request.member_ref, _secret(call), call.now_ms)
    return members_pb2.CreateLinkCodeResponse(
        code=issued.code, expires_at=timestamp(issued.expires_at_ms), pairwise_member_id=issued.pairwise_member_id
    )


def _redeem(call: Invocation, request: members_pb2.RedeemLinkCodeRequest) -> members_pb2.RedeemLinkCodeResponse:
    secret = _secret(call)
    link = members.redeem_link_code(call.connection, call.caller, request.code, request.member_ref, secret, call.now_ms)
    return members_pb2.RedeemLinkCodeResponse(link=link_message(link, call.caller.principal, secret))


def _unlink(call: Invocation, request: members_pb2.UnlinkRequest) -> members_pb2.UnlinkResponse:
    link = members.unlink(call.connection, call.caller, request.link_id, request.reason, call.now_ms)
    return members_pb2.UnlinkResponse(link=link_message(link, call.caller.principal, _secret(call)))


def _list(call: Invocation, request: members_pb2.ListLinksRequest) -> members_pb2.ListLinksResponse:
    _, found = members.links(call.connection, call.caller, request.member_ref)
    secret = _secret(call)
    return members_pb2.ListLinksResponse(links=[link_message(link, call.caller.principal, secret) for link in found])


MEMBER_METHODS: list[SignedMethod[Any]] = [
    *CONSENT_METHODS,
    SignedMethod("CreateLinkCode", members_pb2.CreateLinkCodeRequest, _create, PARTNERS, keep_answer=False),
    SignedMethod("RedeemLinkCode", members_pb2.RedeemLinkCodeRequest, _redeem, PARTNERS),
    SignedMethod("Unlink", members_pb2.UnlinkRequest, _unlink, PARTNERS),
    SignedMethod("ListLinks", members_pb2.ListLinksRequest, _list, PARTNERS, keep_answer=False),
]
