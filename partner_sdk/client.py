"""ExchangeClient: what a partner brand's backend uses to talk to the hub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from types import TracebackType

import grpc

from coalition.exchange.v1 import common_pb2, hub_pb2, registry_pb2
from partner_sdk import _convert, signing
from partner_sdk.keys import Ed25519PrivateKey, public_key_bytes
from partner_sdk.models import HubInfo, Page, Partner
from partner_sdk.retry import DEFAULT_RETRY, RetryPolicy
from partner_sdk.transport import GET_HUB_INFO, SignedTransport

__all__ = ["DEFAULT_TIMEOUT_S", "ExchangeClient"]

DEFAULT_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_REGISTRY = "/coalition.exchange.v1.RegistryService/"
_STATUS_FILTER = {
    "PENDING": common_pb2.PARTNER_STATUS_PENDING,
    "ACTIVE": common_pb2.PARTNER_STATUS_ACTIVE,
    "SUSPENDED": common_pb2.PARTNER_STATUS_SUSPENDED,
}


class _HubClient:
    """What partners and the operator share: a signed channel, reads, closing."""

    def __init__(
        self,
        target: str,
        *,
        principal: str,
        key_id: str,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None,
        timeout_s: float,
        retry: RetryPolicy,
        channel: grpc.Channel | None,
    ) -> None:
        self._owns_channel = channel is None
        self._channel = channel or grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        self._transport = SignedTransport(
            self._channel,
            principal=principal,
            key_id=key_id,
            private_key=private_key,
            hub_public_key=hub_public_key,
            timeout_s=timeout_s,
            retry=retry,
        )

    @property
    def transport(self) -> SignedTransport:
        """The signed transport, for calls this client does not wrap yet."""
        return self._transport

    def hub_info(self, *, timeout_s: float | None = None) -> HubInfo:
        """Return the hub's public information (its answer is verified like every other)."""
        answer = self._transport.call(
            GET_HUB_INFO, hub_pb2.GetHubInfoRequest(), hub_pb2.GetHubInfoResponse, timeout_s=timeout_s
        )
        return _convert.hub_info(answer)

    def get_partner(self, partner_id: str, *, timeout_s: float | None = None) -> Partner:
        """Return a partner's public record."""
        answer = self._transport.call(
            _REGISTRY + "GetPartner",
            registry_pb2.GetPartnerRequest(partner_id=partner_id),
            registry_pb2.GetPartnerResponse,
            timeout_s=timeout_s,
        )
        return _convert.partner(answer.partner)

    def list_partners(
        self, *, page_size: int = 0, page_token: str = "", status: str | None = None, timeout_s: float | None = None
    ) -> Page[Partner]:
        """Return one page of partners in partner_id order (status: PENDING, ACTIVE or SUSPENDED)."""
        request = registry_pb2.ListPartnersRequest(page_size=page_size, page_token=page_token)
        if status is not None:
            request.status = _STATUS_FILTER[status]
        answer = self._transport.call(
            _REGISTRY + "ListPartners", request, registry_pb2.ListPartnersResponse, timeout_s=timeout_s
        )
        return Page(tuple(_convert.partner(p) for p in answer.partners), answer.next_page_token)

    def iter_partners(self, *, status: str | None = None, page_size: int = 0) -> Iterator[Partner]:
        """Yield every partner, fetching pages as needed."""
        token = ""
        while True:
            page = self.list_partners(page_size=page_size, page_token=token, status=status)
            yield from page.items
            if not page.next_page_token:
                return
            token = page.next_page_token

    def close(self) -> None:
        """Close the channel if this client opened it."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> _HubClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class ExchangeClient(_HubClient):
    """A partner brand's signed connection to the hub.

    Every call is signed with the partner's key over its exact bytes and every answer is
    checked against the hub's key. Pin ``hub_public_key`` in production; without it the
    client fetches the key once from GetHubInfo and trusts it (trust on first use).

    Example:
        >>> with ExchangeClient("hub.example:50051", partner_id="sprk", key_id="k1",
        ...                     private_key=load_private_key("sprk.pem")) as client:
        ...     client.get_partner("sprk").status
    """

    def __init__(
        self,
        target: str,
        *,
        partner_id: str,
        key_id: str,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy = DEFAULT_RETRY,
        channel: grpc.Channel | None = None,
    ) -> None:
        super().__init__(
            target,
            principal=partner_id,
            key_id=key_id,
            private_key=private_key,
            hub_public_key=hub_public_key,
            timeout_s=timeout_s,
            retry=retry,
            channel=channel,
        )
        self.partner_id = partner_id

    def __enter__(self) -> ExchangeClient:
        return self

    def register(
        self,
        *,
        display_name: str,
        point_currency: str,
        settlement_currency: str,
        point_value_minor: Fraction | int,
        timeout_s: float | None = None,
    ) -> Partner:
        """Register this partner with the client's key; it stays PENDING until the operator approves it.

        point_value_minor is the money value of one point in minor units of the settlement
        currency, exact: Fraction(1, 2) means half a cent per point for EUR.
        """
        value = Fraction(point_value_minor)
        public_key = public_key_bytes(self._transport.private_key)
        key_id = self._transport.key_id
        request = registry_pb2.RegisterPartnerRequest(
            partner_id=self.partner_id,
            display_name=display_name,
            point_currency=point_currency,
            settlement_currency=settlement_currency,
            point_value_minor=common_pb2.Ratio(numerator=value.numerator, denominator=value.denominator),
            key=common_pb2.PublicKey(key_id=key_id, public_key=public_key),
            possession_proof=self._transport.private_key.sign(
                signing.possession_message(principal=self.partner_id, key_id=key_id, public_key=public_key)
            ),
        )
        answer = self._transport.call(
            _REGISTRY + "RegisterPartner", request, registry_pb2.RegisterPartnerResponse, timeout_s=timeout_s
        )
        return _convert.partner(answer.partner)

    def rotate_key(
        self,
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
        answer = self._transport.call(
            _REGISTRY + "RotateKey", request, registry_pb2.RotateKeyResponse, timeout_s=timeout_s
        )
        self._transport.use_key(new_key_id, new_private_key)
        return _convert.partner(answer.partner)

    def revoke_key(self, key_id: str, *, reason: str, timeout_s: float | None = None) -> Partner:
        """Revoke one of this partner's keys at once (refused if it is the last active one)."""
        answer = self._transport.call(
            _REGISTRY + "RevokeKey",
            registry_pb2.RevokeKeyRequest(key_id=key_id, reason=reason),
            registry_pb2.RevokeKeyResponse,
            timeout_s=timeout_s,
        )
        return _convert.partner(answer.partner)
