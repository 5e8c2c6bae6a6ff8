"""MemberService: thin translations between protobuf and member commands."""

from __future__ import annotations

from coalition.exchange.v1 import members_pb2
from exchange.api.consent_service import CONSENT_METHODS
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.translate import timestamp
from exchange.domain.members import Link
from exchange.service import members, memberships, status_match
from exchange.service.pipeline import PARTNERS, command

MEMBER_SERVICE = members_pb2.DESCRIPTOR.services_by_name["MemberService"].full_name


def pairwise_secret(call: Invocation) -> bytes:
    """The hub's pairwise secret (member ids per brand, answer tags)."""
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


@command(members_pb2.CreateLinkCodeRequest, callers=PARTNERS, keep_answer=False)
def _create(call: Invocation, request: members_pb2.CreateLinkCodeRequest) -> members_pb2.CreateLinkCodeResponse:
    issued = members.create_link_code(
        call.connection, call.caller, request.member_ref, pairwise_secret(call), call.now_ms
    )
    return members_pb2.CreateLinkCodeResponse(
        code=issued.code, expires_at=timestamp(issued.expires_at_ms), pairwise_member_id=issued.pairwise_member_id
    )


@command(members_pb2.RedeemLinkCodeRequest, callers=PARTNERS)
def _redeem(call: Invocation, request: members_pb2.RedeemLinkCodeRequest) -> members_pb2.RedeemLinkCodeResponse:
    secret = pairwise_secret(call)
    link = members.redeem_link_code(call.connection, call.caller, request.code, request.member_ref, secret, call.now_ms)
    memberships.deliver_awaiting_grants(call.work, link.member_id, call.now_ms)  # benefits that waited for a link
    return members_pb2.RedeemLinkCodeResponse(link=link_message(link, call.caller.principal, secret))


@command(members_pb2.UnlinkRequest, callers=PARTNERS)
def _unlink(call: Invocation, request: members_pb2.UnlinkRequest) -> members_pb2.UnlinkResponse:
    link = members.unlink(call.connection, call.caller, request.link_id, request.reason, call.now_ms)
    status_match.end_after_unlink(call.work, link.member_id, call.now_ms)  # matches a brand no longer stands in
    return members_pb2.UnlinkResponse(link=link_message(link, call.caller.principal, pairwise_secret(call)))


@command(members_pb2.ListLinksRequest, callers=PARTNERS, keep_answer=False)
def _list(call: Invocation, request: members_pb2.ListLinksRequest) -> members_pb2.ListLinksResponse:
    _, found = members.links(call.connection, call.caller, request.member_ref)
    secret = pairwise_secret(call)
    return members_pb2.ListLinksResponse(links=[link_message(link, call.caller.principal, secret) for link in found])


MEMBER_METHODS: SignedMethods = {
    **CONSENT_METHODS,
    "CreateLinkCode": _create,
    "RedeemLinkCode": _redeem,
    "Unlink": _unlink,
    "ListLinks": _list,
}
