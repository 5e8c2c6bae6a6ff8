"""MemberService: member links across brands, attributes, consent, the access log and erasure."""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from coalition.exchange.v1 import members_pb2
from partner_sdk import _convert
from partner_sdk._client.connection import PartnerConnection, key_list
from partner_sdk._models import (
    AccessLogEntry,
    AttributeDeclaration,
    AttributeRead,
    Consent,
    Erasure,
    LinkCode,
    MemberLink,
)

_MEMBERS = "/coalition.exchange.v1.MemberService/"


def create_link_code(self: PartnerConnection, member_ref: str, *, timeout_s: float | None = None) -> LinkCode:
    """Issue a one-time code (10 minutes) for your member to type in another brand's app."""
    answer = self.transport.call(
        _MEMBERS + "CreateLinkCode",
        members_pb2.CreateLinkCodeRequest(member_ref=member_ref),
        members_pb2.CreateLinkCodeResponse,
        timeout_s=timeout_s,
    )
    return LinkCode(
        code=answer.code,
        expires_at=_convert.to_datetime(answer.expires_at),
        pairwise_member_id=answer.pairwise_member_id,
    )


def redeem_link_code(
    self: PartnerConnection, code: str, *, member_ref: str, timeout_s: float | None = None
) -> MemberLink:
    """Link your member (member_ref) with the account at the brand that issued the code they typed."""
    answer = self.transport.call(
        _MEMBERS + "RedeemLinkCode",
        members_pb2.RedeemLinkCodeRequest(code=code, member_ref=member_ref),
        members_pb2.RedeemLinkCodeResponse,
        timeout_s=timeout_s,
    )
    return _convert.member_link(answer.link)


def unlink(self: PartnerConnection, link_id: str, *, reason: str, timeout_s: float | None = None) -> MemberLink:
    """End a link (either brand may); its history is kept."""
    answer = self.transport.call(
        _MEMBERS + "Unlink",
        members_pb2.UnlinkRequest(link_id=link_id, reason=reason),
        members_pb2.UnlinkResponse,
        timeout_s=timeout_s,
    )
    return _convert.member_link(answer.link)


def list_links(self: PartnerConnection, member_ref: str, *, timeout_s: float | None = None) -> tuple[MemberLink, ...]:
    """Return your member's links with other brands, live and ended, oldest first."""
    answer = self.transport.call(
        _MEMBERS + "ListLinks",
        members_pb2.ListLinksRequest(member_ref=member_ref),
        members_pb2.ListLinksResponse,
        timeout_s=timeout_s,
    )
    return tuple(_convert.member_link(link) for link in answer.links)


def declare_attribute(
    self: PartnerConnection, key: str, *, type: str, description: str, timeout_s: float | None = None
) -> AttributeDeclaration:
    """Declare an attribute this brand can share about its members, or update its description.

    Args:
        key: 1 to 64 of lowercase letters, digits and '_', starting with a letter.
        type: the type its values must have: "TEXT", "INTEGER", "BOOLEAN" or "DATE".
        description: what it means, for the member reading a consent screen; 1 to 500
            characters.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The declaration, as stored.

    Raises:
        ValueError: type is not one of the names above (nothing was sent).
        ExchangeError: the hub refused it.
    """
    request = members_pb2.DeclareAttributeRequest(key=key, type=_convert.attribute_type(type), description=description)
    answer = self.transport.call(
        _MEMBERS + "DeclareAttribute", request, members_pb2.DeclareAttributeResponse, timeout_s=timeout_s
    )
    return _convert.attribute_declaration(answer.attribute)


def publish_attributes(
    self: PartnerConnection,
    member_ref: str,
    values: Mapping[str, str | int | bool | date],
    *,
    timeout_s: float | None = None,
) -> tuple[str, ...]:
    """Publish values of your declared attributes for one of your members (encrypted at rest).

    Args:
        member_ref: your own reference for the member.
        values: attribute key to value (at most 50); each replaces any earlier value. A
            str is TEXT, an int INTEGER, a bool BOOLEAN and a datetime.date (not a
            datetime) DATE; the value must match the declared type.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The keys stored.

    Raises:
        TypeError: a value is of another type (a float or a datetime, say); nothing was sent.
        ExchangeError: the hub refused it (InvalidArgumentError for an undeclared key or a
            value of the wrong type, ...).
    """
    request = members_pb2.PublishAttributesRequest(
        member_ref=member_ref, values=_convert.attribute_values_to_proto(values)
    )
    answer = self.transport.call(
        _MEMBERS + "PublishAttributes", request, members_pb2.PublishAttributesResponse, timeout_s=timeout_s
    )
    return tuple(answer.keys)


def grant_consent(
    self: PartnerConnection,
    member_ref: str,
    *,
    source_partner_id: str,
    grantee_partner_id: str,
    attribute_keys: Sequence[str],
    purpose: str,
    expires_at: datetime,
    timeout_s: float | None = None,
) -> Consent:
    """Record the consent your member gave in your app, and return it with the hub's signed receipt.

    Args:
        member_ref: your own reference for the member, who is using your app.
        source_partner_id: the brand whose attributes may be read; the member must be
            linked with it (or be its member).
        grantee_partner_id: the brand that may read them; the member must be linked with it
            (or be its member).
        attribute_keys: declared attributes of the source brand (1 to 50).
        purpose: "PERSONALISED_OFFERS", "FRAUD_PREVENTION", "SERVICE" or "STATUS_MATCH".
        expires_at: when it lapses, timezone-aware, in the future and at most 2 years ahead.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The consent; check its receipt with Consent.verify_receipt.

    Raises:
        TypeError: attribute_keys is a single str rather than a sequence of keys.
        ValueError: purpose is unknown or expires_at is naive (nothing was sent).
        ExchangeError: the hub refused it.
    """
    request = members_pb2.GrantConsentRequest(
        member_ref=member_ref,
        source_partner_id=source_partner_id,
        grantee_partner_id=grantee_partner_id,
        attribute_keys=key_list(attribute_keys),
        purpose=_convert.purpose(purpose),
        expires_at=_convert.to_timestamp(expires_at),
    )
    answer = self.transport.call(
        _MEMBERS + "GrantConsent", request, members_pb2.GrantConsentResponse, timeout_s=timeout_s
    )
    return _convert.consent(answer.consent)


def revoke_consent(
    self: PartnerConnection, member_ref: str, consent_id: str, *, timeout_s: float | None = None
) -> Consent:
    """Revoke a consent at once (through any brand the member is linked with).

    Args:
        member_ref: your own reference for the member who gave it.
        consent_id: the consent, e.g. "cst-...".
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The consent, revoked.
    """
    answer = self.transport.call(
        _MEMBERS + "RevokeConsent",
        members_pb2.RevokeConsentRequest(member_ref=member_ref, consent_id=consent_id),
        members_pb2.RevokeConsentResponse,
        timeout_s=timeout_s,
    )
    return _convert.consent(answer.consent)


def list_consents(self: PartnerConnection, member_ref: str, *, timeout_s: float | None = None) -> tuple[Consent, ...]:
    """Return your member's consents, live, lapsed and revoked, oldest first.

    Args:
        member_ref: your own reference for the member.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The consents given through any brand the member is linked with.
    """
    answer = self.transport.call(
        _MEMBERS + "ListConsents",
        members_pb2.ListConsentsRequest(member_ref=member_ref),
        members_pb2.ListConsentsResponse,
        timeout_s=timeout_s,
    )
    return tuple(_convert.consent(c) for c in answer.consents)


def read_attributes(
    self: PartnerConnection,
    pairwise_member_id: str,
    *,
    source_partner_id: str,
    purpose: str,
    attribute_keys: Sequence[str],
    timeout_s: float | None = None,
) -> AttributeRead:
    """Read attributes of a linked member that a live consent lets you read for this purpose.

    Every read is logged in the member's access log, refused ones too.

    Args:
        pairwise_member_id: your pairwise id for the member.
        source_partner_id: the brand whose attributes you read.
        purpose: "PERSONALISED_OFFERS", "FRAUD_PREVENTION", "SERVICE" or "STATUS_MATCH".
        attribute_keys: the attributes wanted (1 to 50).
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The covered values (DATE values as datetime.date) and, for every other key, why it
        was withheld: NO_CONSENT, NOT_DECLARED or NO_VALUE.

    Raises:
        TypeError: attribute_keys is a single str rather than a sequence of keys.
        ValueError: purpose is unknown (nothing was sent).
        ExchangeError: the hub refused it.
    """
    request = members_pb2.ReadAttributesRequest(
        pairwise_member_id=pairwise_member_id,
        source_partner_id=source_partner_id,
        purpose=_convert.purpose(purpose),
        attribute_keys=key_list(attribute_keys),
    )
    answer = self.transport.call(
        _MEMBERS + "ReadAttributes", request, members_pb2.ReadAttributesResponse, timeout_s=timeout_s
    )
    return _convert.attribute_read(answer)


def list_access_log(
    self: PartnerConnection, member_ref: str, *, timeout_s: float | None = None
) -> tuple[AccessLogEntry, ...]:
    """Return who read what about your member, oldest first.

    Args:
        member_ref: your own reference for the member.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        Every read, by any brand, refused ones too.
    """
    answer = self.transport.call(
        _MEMBERS + "ListAccessLog",
        members_pb2.ListAccessLogRequest(member_ref=member_ref),
        members_pb2.ListAccessLogResponse,
        timeout_s=timeout_s,
    )
    return tuple(_convert.access_log_entry(e) for e in answer.entries)


def erase_member(self: PartnerConnection, member_ref: str, *, timeout_s: float | None = None) -> Erasure:
    """Forget your member: their stored attributes become unreadable for good; links and consents end.

    Movements and the ledger remain. This cannot be undone.

    Args:
        member_ref: your own reference for the member.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        When the member was erased, and how many links ended and consents were revoked.
    """
    answer = self.transport.call(
        _MEMBERS + "EraseMember",
        members_pb2.EraseMemberRequest(member_ref=member_ref),
        members_pb2.EraseMemberResponse,
        timeout_s=timeout_s,
    )
    return _convert.erasure(answer)
