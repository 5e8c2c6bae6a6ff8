"""HubService and RegistryService: the hub's information, partners' records, registering and keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction

from coalition.exchange.v1 import common_pb2, hub_pb2, registry_pb2
from partner_sdk import _convert, signing
from partner_sdk._client.connection import Connection, PartnerConnection
from partner_sdk._models import HubInfo, Page, Partner, every_page
from partner_sdk.keys import Ed25519PrivateKey, public_key_bytes
from partner_sdk.transport import GET_HUB_INFO

_REGISTRY = "/coalition.exchange.v1.RegistryService/"
_STATUS_FILTER = {
    "PENDING": common_pb2.PARTNER_STATUS_PENDING,
    "ACTIVE": common_pb2.PARTNER_STATUS_ACTIVE,
    "SUSPENDED": common_pb2.PARTNER_STATUS_SUSPENDED,
}


def hub_info(self: Connection, *, timeout_s: float | None = None) -> HubInfo:
    """Return the hub's public information (its answer is verified like every other)."""
    answer = self.transport.call(
        GET_HUB_INFO, hub_pb2.GetHubInfoRequest(), hub_pb2.GetHubInfoResponse, timeout_s=timeout_s
    )
    return _convert.hub_info(answer)


def get_partner(self: Connection, partner_id: str, *, timeout_s: float | None = None) -> Partner:
    """Return a partner's public record."""
    answer = self.transport.call(
        _REGISTRY + "GetPartner",
        registry_pb2.GetPartnerRequest(partner_id=partner_id),
        registry_pb2.GetPartnerResponse,
        timeout_s=timeout_s,
    )
    return _convert.partner(answer.partner)


def list_partners(
    self: Connection,
    *,
    page_size: int = 0,
    page_token: str = "",
    status: str | None = None,
    timeout_s: float | None = None,
) -> Page[Partner]:
    """Return one page of partners in partner_id order (status: PENDING, ACTIVE or SUSPENDED)."""
    request = registry_pb2.ListPartnersRequest(page_size=page_size, page_token=page_token)
    if status is not None:
        request.status = _STATUS_FILTER[status]
    answer = self.transport.call(
        _REGISTRY + "ListPartners", request, registry_pb2.ListPartnersResponse, timeout_s=timeout_s
    )
    return Page(tuple(_convert.partner(p) for p in answer.partners), answer.next_page_token)


def iter_partners(self: Connection, *, status: str | None = None, page_size: int = 0) -> Iterator[Partner]:
    """Yield every partner, fetching pages as needed."""
    return every_page(lambda token: list_partners(self, page_size=page_size, page_token=token, status=status))


def register(
    self: PartnerConnection,
    *,
    display_name: str,
    point_currency: str,
    settlement_currency: str,
    point_value_minor: Fraction | int,
    charity: bool = False,
    timeout_s: float | None = None,
) -> Partner:
    """Register this partner with the client's key; it stays PENDING until the operator approves it.

    point_value_minor is the money value of one point in minor units of the settlement
    currency, exact: Fraction(1, 2) means half a cent per point for EUR. A charity
    (charity=True) has no points: pass point_currency="" (point_value_minor is not sent).
    """
    value = Fraction(point_value_minor)
    public_key = public_key_bytes(self.transport.private_key)
    key_id = self.transport.key_id
    request = registry_pb2.RegisterPartnerRequest(
        partner_id=self.partner_id,
        display_name=display_name,
        point_currency=point_currency,
        settlement_currency=settlement_currency,
        point_value_minor=None
        if charity
        else common_pb2.Ratio(numerator=value.numerator, denominator=value.denominator),
        key=common_pb2.PublicKey(key_id=key_id, public_key=public_key),
        kind=common_pb2.PARTNER_KIND_CHARITY if charity else common_pb2.PARTNER_KIND_BRAND,
        possession_proof=self.transport.private_key.sign(
            signing.possession_message(principal=self.partner_id, key_id=key_id, public_key=public_key)
        ),
    )
    answer = self.transport.call(
        _REGISTRY + "RegisterPartner", request, registry_pb2.RegisterPartnerResponse, timeout_s=timeout_s
    )
    return _convert.partner(answer.partner)


def rotate_key(
    self: PartnerConnection,
    new_key_id: str,
    new_private_key: Ed25519PrivateKey,
    *,
    previous_key_valid_until: datetime | None = None,
    timeout_s: float | None = None,
) -> Partner:
    """Add a new key, signed with the current one, and sign with the new key from then on.

    The current key keeps working until previous_key_valid_until (an aware datetime, at
    most 30 days ahead), so other processes still holding it have time to switch; None
    ends it at once.
    """
    public_key = public_key_bytes(new_private_key)
    request = registry_pb2.RotateKeyRequest(
        new_key=common_pb2.PublicKey(key_id=new_key_id, public_key=public_key),
        possession_proof=new_private_key.sign(
            signing.possession_message(principal=self.partner_id, key_id=new_key_id, public_key=public_key)
        ),
    )
    if previous_key_valid_until is not None:
        request.previous_key_not_after.CopyFrom(_convert.to_timestamp(previous_key_valid_until))
    answer = self.transport.call(_REGISTRY + "RotateKey", request, registry_pb2.RotateKeyResponse, timeout_s=timeout_s)
    self.transport.use_key(new_key_id, new_private_key)
    return _convert.partner(answer.partner)


def revoke_key(self: PartnerConnection, key_id: str, *, reason: str, timeout_s: float | None = None) -> Partner:
    """Revoke one of this partner's keys at once (refused if it is the last active one)."""
    answer = self.transport.call(
        _REGISTRY + "RevokeKey",
        registry_pb2.RevokeKeyRequest(key_id=key_id, reason=reason),
        registry_pb2.RevokeKeyResponse,
        timeout_s=timeout_s,
    )
    return _convert.partner(answer.partner)
