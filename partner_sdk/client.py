"""ExchangeClient: what a partner brand's backend uses to talk to the hub."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from fractions import Fraction
from types import TracebackType
from typing import TypeVar

import grpc

from coalition.exchange.v1 import (
    agreements_pb2,
    common_pb2,
    conversions_pb2,
    hub_pb2,
    instructions_pb2,
    members_pb2,
    redemptions_pb2,
    registry_pb2,
)
from partner_sdk import _convert, signing
from partner_sdk.accruals import AccrualCalls
from partner_sdk.documents import agreement_document
from partner_sdk.donations import DonationCalls
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.keys import Ed25519PrivateKey, public_key_bytes
from partner_sdk.models import (
    AccessLogEntry,
    Agreement,
    AgreementTerms,
    AttributeDeclaration,
    AttributeRead,
    Consent,
    Conversion,
    Erasure,
    Hold,
    HubInfo,
    Instruction,
    LinkCode,
    MemberLink,
    Page,
    Partner,
    Quote,
    every_page,
)
from partner_sdk.retry import DEFAULT_RETRY, RetryPolicy
from partner_sdk.settlement_client import SettlementCalls
from partner_sdk.tls import TlsOptions
from partner_sdk.transport import GET_HUB_INFO, SignedTransport

__all__ = ["DEFAULT_TIMEOUT_S", "ExchangeClient"]

DEFAULT_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_REGISTRY = "/coalition.exchange.v1.RegistryService/"
_AGREEMENTS = "/coalition.exchange.v1.AgreementService/"
_CONVERSIONS = "/coalition.exchange.v1.ConversionService/"
_REDEMPTIONS = "/coalition.exchange.v1.RedemptionService/"
_MEMBERS = "/coalition.exchange.v1.MemberService/"
_INSTRUCTIONS = "/coalition.exchange.v1.InstructionService/"
# A long poll's call deadline is its wait plus this, so the hub's empty answer arrives in time.
PULL_DEADLINE_MARGIN_S = 5
_STATUS_FILTER = {
    "PENDING": common_pb2.PARTNER_STATUS_PENDING,
    "ACTIVE": common_pb2.PARTNER_STATUS_ACTIVE,
    "SUSPENDED": common_pb2.PARTNER_STATUS_SUSPENDED,
}


T = TypeVar("T")


def _open_channel(target: str, tls: TlsOptions | None) -> grpc.Channel:
    """Open a plaintext channel, or a TLS one when options are given (same message limits)."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    if tls is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, tls.credentials(), options=[*options, *tls.channel_options()])


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
        tls: TlsOptions | None,
    ) -> None:
        if channel is not None and tls is not None:
            raise ValueError("give either a channel or TLS options, not both (the channel carries its own)")
        self._owns_channel = channel is None
        self._channel = channel or _open_channel(target, tls)
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
        return every_page(lambda token: self.list_partners(page_size=page_size, page_token=token, status=status))

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


class ExchangeClient(_HubClient, SettlementCalls, AccrualCalls, DonationCalls):
    """A partner brand's signed connection to the hub.

    Every call is signed with the partner's key over its exact bytes and every answer is
    checked against the hub's key. Pin ``hub_public_key`` in production; without it the
    client fetches the key once from GetHubInfo and trusts it (trust on first use). For a hub
    that serves TLS pass ``tls=TlsOptions(...)``; the requests stay signed all the same.

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
        tls: TlsOptions | None = None,
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
            tls=tls,
        )
        self.partner_id = partner_id

    def __enter__(self) -> ExchangeClient:
        return self

    def sign_document(self, document: bytes) -> bytes:
        """Sign a document (an agreement, an accrual agreement) with the key that signs this client's calls."""
        return self._transport.private_key.sign(document)

    def register(
        self,
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
        public_key = public_key_bytes(self._transport.private_key)
        key_id = self._transport.key_id
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

    # ---------------------------------------------------------------- agreements

    def propose_agreement(self, terms: AgreementTerms, *, timeout_s: float | None = None) -> Agreement:
        """Propose an agreement version as its source partner, signed with this client's key.

        The client signs agreement_document(terms) with the key that signs the call; the
        target partner then checks and accepts it (accept_agreement).

        Args:
            terms: the terms; terms.source_partner_id must be this partner. version is 1 for
                the pair's first agreement, then the previous version plus one.
            timeout_s: this call's deadline in seconds (the client's default if None).

        Returns:
            The new agreement version, PROPOSED.

        Raises:
            TypeError: a number in terms is a float or bool.
            ValueError: a datetime is naive or both fees are set.
            ExchangeError: the hub refused it (InvalidArgumentError for bad terms, ...).
        """
        document = agreement_document(terms)
        request = agreements_pb2.ProposeAgreementRequest(
            terms=_convert.agreement_terms_to_proto(terms),
            proposer_signature=self._transport.private_key.sign(document),
        )
        answer = self._transport.call(
            _AGREEMENTS + "ProposeAgreement", request, agreements_pb2.ProposeAgreementResponse, timeout_s=timeout_s
        )
        return _convert.agreement(answer.agreement)

    def accept_agreement(self, agreement_id: str, *, timeout_s: float | None = None) -> Agreement:
        """Accept a PROPOSED agreement as its target partner, after checking what is signed.

        Read it with get_agreement first and accept only terms you agree to: a version is
        never edited, so what you read is what you sign. Before signing, the client checks that
        the hub's document is exactly agreement_document(terms) and that the proposer's
        signature over it verifies with the proposer's registered key.

        Args:
            agreement_id: the PROPOSED version to accept.
            timeout_s: the deadline of each call this makes (the client's default if None).

        Returns:
            The agreement, ACTIVE.

        Raises:
            ResponseVerificationError: reason AGREEMENT_DOCUMENT_MISMATCH if the document does
                not match the terms, PROPOSER_SIGNATURE_INVALID if the proposer's key is
                unknown or revoked or its signature does not verify. Nothing was signed.
            ExchangeError: the hub refused a call.
        """
        proposed = self.get_agreement(agreement_id, timeout_s=timeout_s)
        if proposed.document != agreement_document(proposed.terms):
            raise ResponseVerificationError(
                f"agreement {agreement_id}: the hub's document does not match its terms",
                reason="AGREEMENT_DOCUMENT_MISMATCH",
            )
        proposer = self.get_partner(proposed.terms.source_partner_id, timeout_s=timeout_s)
        key = next((k for k in proposer.keys if k.key_id == proposed.proposer_key_id), None)
        if key is None or key.state == "REVOKED":
            problem = "is not registered" if key is None else "was revoked"
            raise ResponseVerificationError(
                f"agreement {agreement_id}: the proposer's key {proposed.proposer_key_id!r} {problem}",
                reason="PROPOSER_SIGNATURE_INVALID",
            )
        if not signing.verify(key.public_key, proposed.proposer_signature, proposed.document):
            raise ResponseVerificationError(
                f"agreement {agreement_id}: the proposer's signature does not verify",
                reason="PROPOSER_SIGNATURE_INVALID",
            )
        request = agreements_pb2.AcceptAgreementRequest(
            agreement_id=agreement_id, acceptor_signature=self._transport.private_key.sign(proposed.document)
        )
        answer = self._transport.call(
            _AGREEMENTS + "AcceptAgreement", request, agreements_pb2.AcceptAgreementResponse, timeout_s=timeout_s
        )
        return _convert.agreement(answer.agreement)

    def get_agreement(self, agreement_id: str, *, timeout_s: float | None = None) -> Agreement:
        """Return one agreement version this partner is a party to."""
        answer = self._transport.call(
            _AGREEMENTS + "GetAgreement",
            agreements_pb2.GetAgreementRequest(agreement_id=agreement_id),
            agreements_pb2.GetAgreementResponse,
            timeout_s=timeout_s,
        )
        return _convert.agreement(answer.agreement)

    def list_agreements(
        self,
        *,
        counterparty_id: str | None = None,
        status: str | None = None,
        page_size: int = 0,
        page_token: str = "",
        timeout_s: float | None = None,
    ) -> Page[Agreement]:
        """Return one page of this partner's agreements, newest first.

        Args:
            counterparty_id: only agreements with this partner.
            status: only PROPOSED, ACTIVE, SUSPENDED, TERMINATED or SUPERSEDED ones.
            page_size: the most to return; 0 lets the hub choose (50).
            page_token: the previous page's next_page_token; empty for the first page.
            timeout_s: this call's deadline in seconds.
        """
        request = agreements_pb2.ListAgreementsRequest(
            counterparty_id=counterparty_id or "", page_size=page_size, page_token=page_token
        )
        if status is not None:
            request.status = _convert.agreement_status(status)
        answer = self._transport.call(
            _AGREEMENTS + "ListAgreements", request, agreements_pb2.ListAgreementsResponse, timeout_s=timeout_s
        )
        return Page(tuple(_convert.agreement(a) for a in answer.agreements), answer.next_page_token)

    def iter_agreements(
        self, *, counterparty_id: str | None = None, status: str | None = None, page_size: int = 0
    ) -> Iterator[Agreement]:
        """Yield every agreement list_agreements would page through, fetching pages as needed."""
        return every_page(
            lambda token: self.list_agreements(
                counterparty_id=counterparty_id, status=status, page_size=page_size, page_token=token
            )
        )

    def suspend_agreement(self, agreement_id: str, *, reason: str, timeout_s: float | None = None) -> Agreement:
        """Suspend an ACTIVE agreement (either party): no quotes or conversions until resumed."""
        answer = self._transport.call(
            _AGREEMENTS + "SuspendAgreement",
            agreements_pb2.SuspendAgreementRequest(agreement_id=agreement_id, reason=reason),
            agreements_pb2.SuspendAgreementResponse,
            timeout_s=timeout_s,
        )
        return _convert.agreement(answer.agreement)

    def resume_agreement(self, agreement_id: str, *, timeout_s: float | None = None) -> Agreement:
        """Resume a SUSPENDED agreement (only the party that suspended it)."""
        answer = self._transport.call(
            _AGREEMENTS + "ResumeAgreement",
            agreements_pb2.ResumeAgreementRequest(agreement_id=agreement_id),
            agreements_pb2.ResumeAgreementResponse,
            timeout_s=timeout_s,
        )
        return _convert.agreement(answer.agreement)

    def terminate_agreement(self, agreement_id: str, *, reason: str, timeout_s: float | None = None) -> Agreement:
        """End an agreement for good (PROPOSED, ACTIVE or SUSPENDED; either party)."""
        answer = self._transport.call(
            _AGREEMENTS + "TerminateAgreement",
            agreements_pb2.TerminateAgreementRequest(agreement_id=agreement_id, reason=reason),
            agreements_pb2.TerminateAgreementResponse,
            timeout_s=timeout_s,
        )
        return _convert.agreement(answer.agreement)

    # --------------------------------------------------------------- conversions

    def quote_conversion(self, target_partner_id: str, source_points: int, *, timeout_s: float | None = None) -> Quote:
        """Price converting source_points of this partner's points into target_partner_id's.

        The quote is single use and expires within about a minute (quote.expires_at). Show
        the member quote.amounts, debit amounts.source_points_debited locally, then convert().

        Raises:
            TypeError: source_points is not an int.
            ExchangeError: the hub refused it (FailedPreconditionError without a usable
                agreement, InvalidArgumentError for an amount outside its limits, ...).
        """
        request = conversions_pb2.QuoteConversionRequest(
            target_partner_id=target_partner_id, source_points=_whole("source_points", source_points)
        )
        answer = self._transport.call(
            _CONVERSIONS + "QuoteConversion", request, conversions_pb2.QuoteConversionResponse, timeout_s=timeout_s
        )
        return _convert.quote(answer.quote)

    def convert(
        self,
        quote_id: str,
        *,
        source_member_ref: str,
        target_member_ref: str = "",
        pairwise_member_id: str = "",
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> Conversion:
        """Record a conversion against a live quote; the target partner then gets a credit instruction.

        Call it after debiting the member locally. The same idempotency key with the same
        request returns the first answer, so the conversion happens at most once per key.

        Args:
            quote_id: a live, unused quote from quote_conversion.
            source_member_ref: the member's reference in this partner's system.
            target_member_ref: the member's reference at the target partner; or leave it empty and
            pairwise_member_id: this partner's pairwise id for a member who linked both accounts
                (then the hub credits the linked account and you never learn its reference).
            idempotency_key: 8 to 128 characters of [A-Za-z0-9._:-]. When None the client
                makes one up, which protects only this call's own retries: if your process may
                crash and retry later, store your own key with the debit (for example your
                ledger entry id) and pass it, so the retry can't convert twice.
            timeout_s: this call's deadline in seconds.

        Returns:
            The conversion, PENDING_CREDIT.
        """
        request = conversions_pb2.ConvertRequest(
            quote_id=quote_id,
            source_member_ref=source_member_ref,
            target_member_ref=target_member_ref,
            pairwise_member_id=pairwise_member_id,
            idempotency_key=idempotency_key if idempotency_key is not None else _new_key("sdk-cnv-"),
        )
        answer = self._transport.call(
            _CONVERSIONS + "Convert", request, conversions_pb2.ConvertResponse, timeout_s=timeout_s
        )
        return _convert.conversion(answer.conversion)

    def get_conversion(self, conversion_id: str, *, timeout_s: float | None = None) -> Conversion:
        """Return one conversion with its history (for its two partners only)."""
        answer = self._transport.call(
            _CONVERSIONS + "GetConversion",
            conversions_pb2.GetConversionRequest(conversion_id=conversion_id),
            conversions_pb2.GetConversionResponse,
            timeout_s=timeout_s,
        )
        return _convert.conversion(answer.conversion)

    def list_conversions(
        self,
        *,
        state: str | None = None,
        member_ref: str | None = None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
        timeout_s: float | None = None,
    ) -> Page[Conversion]:
        """Return one page of this partner's conversions (as source or target), newest first.

        Args:
            state: only PENDING_CREDIT, COMPLETED, REJECTED, EXPIRED or REFUNDED ones.
            member_ref: only this member (this partner's own reference for them).
            created_from: only those recorded at or after this aware datetime.
            created_before: only those recorded before this aware datetime.
            page_size: the most to return; 0 lets the hub choose (50).
            page_token: the previous page's next_page_token; empty for the first page.
            timeout_s: this call's deadline in seconds.
        """
        request = conversions_pb2.ListConversionsRequest(
            member_ref=member_ref or "", page_size=page_size, page_token=page_token
        )
        if state is not None:
            request.state = _convert.conversion_state(state)
        if created_from is not None:
            request.created_from.CopyFrom(_convert.to_timestamp(created_from))
        if created_before is not None:
            request.created_before.CopyFrom(_convert.to_timestamp(created_before))
        answer = self._transport.call(
            _CONVERSIONS + "ListConversions", request, conversions_pb2.ListConversionsResponse, timeout_s=timeout_s
        )
        return Page(tuple(_convert.conversion(c) for c in answer.conversions), answer.next_page_token)

    def iter_conversions(
        self,
        *,
        state: str | None = None,
        member_ref: str | None = None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int = 0,
    ) -> Iterator[Conversion]:
        """Yield every conversion list_conversions would page through, fetching pages as needed."""
        return every_page(
            lambda token: self.list_conversions(
                state=state,
                member_ref=member_ref,
                created_from=created_from,
                created_before=created_before,
                page_size=page_size,
                page_token=token,
            )
        )

    def reverse_conversion(
        self,
        conversion_id: str,
        target_points: int,
        *,
        reason: str,
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> Conversion:
        """Reverse part or all of a COMPLETED conversion, as its target partner.

        Call it after taking target_points back from the member; the source partner gets a
        refund instruction for the proportional source points.

        Args:
            conversion_id: a COMPLETED conversion where this partner is the target.
            target_points: target points taken back (all reversals together at most the
                conversion's target points).
            reason: why, 1 to 500 characters.
            idempotency_key: as in convert(): pass your own durable key if a retry may come
                from another process or after a crash.
            timeout_s: this call's deadline in seconds.

        Returns:
            The conversion with the new reversal.
        """
        request = conversions_pb2.ReverseConversionRequest(
            conversion_id=conversion_id,
            target_points=_whole("target_points", target_points),
            reason=reason,
            idempotency_key=idempotency_key if idempotency_key is not None else _new_key("sdk-rev-"),
        )
        answer = self._transport.call(
            _CONVERSIONS + "ReverseConversion", request, conversions_pb2.ReverseConversionResponse, timeout_s=timeout_s
        )
        return _convert.conversion(answer.conversion)

    # -------------------------------------------------------------- redemptions

    def authorize_hold(
        self,
        target_partner_id: str,
        source_points: int,
        *,
        source_member_ref: str,
        expires_in_s: int = 0,
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> Hold:
        """Authorise a hold on points this partner has reserved for its member, to spend at the target.

        Reserve the points in your own ledger first. The returned hold_id is the redemption
        token the member presents at the target partner's checkout. What is not captured
        comes back as a RELEASE instruction when the hold is voided or expires.

        Args:
            target_partner_id: where the member will spend the points (an active agreement is needed).
            source_points: points reserved (at most the agreement's max_source_points).
            source_member_ref: your member, 1 to 128 characters.
            expires_in_s: the hold's lifetime, 60 to 604800 seconds; 0 means 900.
            idempotency_key: as in convert().
            timeout_s: this call's deadline in seconds.
        """
        request = redemptions_pb2.AuthorizeHoldRequest(
            target_partner_id=target_partner_id,
            source_points=_whole("source_points", source_points),
            source_member_ref=source_member_ref,
            expires_in_seconds=_whole("expires_in_s", expires_in_s),
            idempotency_key=idempotency_key if idempotency_key is not None else _new_key("sdk-hold-"),
        )
        answer = self._transport.call(
            _REDEMPTIONS + "AuthorizeHold", request, redemptions_pb2.AuthorizeHoldResponse, timeout_s=timeout_s
        )
        return _convert.hold(answer.hold)

    def capture_hold(
        self,
        hold_id: str,
        source_points: int,
        *,
        target_reference: str,
        idempotency_key: str | None = None,
        timeout_s: float | None = None,
    ) -> Hold:
        """Capture part or all of what is left of a hold, as the partner where the points are spent.

        Several partial captures are fine. Each is owed to you like a conversion, at the
        agreement's rate and price.
        """
        request = redemptions_pb2.CaptureHoldRequest(
            hold_id=hold_id,
            source_points=_whole("source_points", source_points),
            target_reference=target_reference,
            idempotency_key=idempotency_key if idempotency_key is not None else _new_key("sdk-cap-"),
        )
        answer = self._transport.call(
            _REDEMPTIONS + "CaptureHold", request, redemptions_pb2.CaptureHoldResponse, timeout_s=timeout_s
        )
        return _convert.hold(answer.hold)

    def void_hold(self, hold_id: str, *, reason: str, timeout_s: float | None = None) -> Hold:
        """End an open hold (either partner); what is left is released to the source partner."""
        answer = self._transport.call(
            _REDEMPTIONS + "VoidHold",
            redemptions_pb2.VoidHoldRequest(hold_id=hold_id, reason=reason),
            redemptions_pb2.VoidHoldResponse,
            timeout_s=timeout_s,
        )
        return _convert.hold(answer.hold)

    def get_hold(self, hold_id: str, *, timeout_s: float | None = None) -> Hold:
        """Return a hold this partner is a party to, with its captures."""
        answer = self._transport.call(
            _REDEMPTIONS + "GetHold",
            redemptions_pb2.GetHoldRequest(hold_id=hold_id),
            redemptions_pb2.GetHoldResponse,
            timeout_s=timeout_s,
        )
        return _convert.hold(answer.hold)

    # -------------------------------------------------------------- members

    def create_link_code(self, member_ref: str, *, timeout_s: float | None = None) -> LinkCode:
        """Issue a one-time code (10 minutes) for your member to type in another brand's app."""
        answer = self._transport.call(
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

    def redeem_link_code(self, code: str, *, member_ref: str, timeout_s: float | None = None) -> MemberLink:
        """Link your member (member_ref) with the account at the brand that issued the code they typed."""
        answer = self._transport.call(
            _MEMBERS + "RedeemLinkCode",
            members_pb2.RedeemLinkCodeRequest(code=code, member_ref=member_ref),
            members_pb2.RedeemLinkCodeResponse,
            timeout_s=timeout_s,
        )
        return _convert.member_link(answer.link)

    def unlink(self, link_id: str, *, reason: str, timeout_s: float | None = None) -> MemberLink:
        """End a link (either brand may); its history is kept."""
        answer = self._transport.call(
            _MEMBERS + "Unlink",
            members_pb2.UnlinkRequest(link_id=link_id, reason=reason),
            members_pb2.UnlinkResponse,
            timeout_s=timeout_s,
        )
        return _convert.member_link(answer.link)

    def list_links(self, member_ref: str, *, timeout_s: float | None = None) -> tuple[MemberLink, ...]:
        """Return your member's links with other brands, live and ended, oldest first."""
        answer = self._transport.call(
            _MEMBERS + "ListLinks",
            members_pb2.ListLinksRequest(member_ref=member_ref),
            members_pb2.ListLinksResponse,
            timeout_s=timeout_s,
        )
        return tuple(_convert.member_link(link) for link in answer.links)

    def declare_attribute(
        self, key: str, *, type: str, description: str, timeout_s: float | None = None
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
        request = members_pb2.DeclareAttributeRequest(
            key=key, type=_convert.attribute_type(type), description=description
        )
        answer = self._transport.call(
            _MEMBERS + "DeclareAttribute", request, members_pb2.DeclareAttributeResponse, timeout_s=timeout_s
        )
        return _convert.attribute_declaration(answer.attribute)

    def publish_attributes(
        self,
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
        answer = self._transport.call(
            _MEMBERS + "PublishAttributes", request, members_pb2.PublishAttributesResponse, timeout_s=timeout_s
        )
        return tuple(answer.keys)

    def grant_consent(
        self,
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
            purpose: "PERSONALISED_OFFERS", "FRAUD_PREVENTION" or "SERVICE".
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
            attribute_keys=_keys(attribute_keys),
            purpose=_convert.purpose(purpose),
            expires_at=_convert.to_timestamp(expires_at),
        )
        answer = self._transport.call(
            _MEMBERS + "GrantConsent", request, members_pb2.GrantConsentResponse, timeout_s=timeout_s
        )
        return _convert.consent(answer.consent)

    def revoke_consent(self, member_ref: str, consent_id: str, *, timeout_s: float | None = None) -> Consent:
        """Revoke a consent at once (through any brand the member is linked with).

        Args:
            member_ref: your own reference for the member who gave it.
            consent_id: the consent, e.g. "cst-...".
            timeout_s: this call's deadline in seconds (the client's default if None).

        Returns:
            The consent, revoked.
        """
        answer = self._transport.call(
            _MEMBERS + "RevokeConsent",
            members_pb2.RevokeConsentRequest(member_ref=member_ref, consent_id=consent_id),
            members_pb2.RevokeConsentResponse,
            timeout_s=timeout_s,
        )
        return _convert.consent(answer.consent)

    def list_consents(self, member_ref: str, *, timeout_s: float | None = None) -> tuple[Consent, ...]:
        """Return your member's consents, live, lapsed and revoked, oldest first.

        Args:
            member_ref: your own reference for the member.
            timeout_s: this call's deadline in seconds (the client's default if None).

        Returns:
            The consents given through any brand the member is linked with.
        """
        answer = self._transport.call(
            _MEMBERS + "ListConsents",
            members_pb2.ListConsentsRequest(member_ref=member_ref),
            members_pb2.ListConsentsResponse,
            timeout_s=timeout_s,
        )
        return tuple(_convert.consent(c) for c in answer.consents)

    def read_attributes(
        self,
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
            purpose: "PERSONALISED_OFFERS", "FRAUD_PREVENTION" or "SERVICE".
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
            attribute_keys=_keys(attribute_keys),
        )
        answer = self._transport.call(
            _MEMBERS + "ReadAttributes", request, members_pb2.ReadAttributesResponse, timeout_s=timeout_s
        )
        return _convert.attribute_read(answer)

    def list_access_log(self, member_ref: str, *, timeout_s: float | None = None) -> tuple[AccessLogEntry, ...]:
        """Return who read what about your member, oldest first.

        Args:
            member_ref: your own reference for the member.
            timeout_s: this call's deadline in seconds (the client's default if None).

        Returns:
            Every read, by any brand, refused ones too.
        """
        answer = self._transport.call(
            _MEMBERS + "ListAccessLog",
            members_pb2.ListAccessLogRequest(member_ref=member_ref),
            members_pb2.ListAccessLogResponse,
            timeout_s=timeout_s,
        )
        return tuple(_convert.access_log_entry(e) for e in answer.entries)

    def erase_member(self, member_ref: str, *, timeout_s: float | None = None) -> Erasure:
        """Forget your member: their stored attributes become unreadable for good; links and consents end.

        Movements and the ledger remain. This cannot be undone.

        Args:
            member_ref: your own reference for the member.
            timeout_s: this call's deadline in seconds (the client's default if None).

        Returns:
            When the member was erased, and how many links ended and consents were revoked.
        """
        answer = self._transport.call(
            _MEMBERS + "EraseMember",
            members_pb2.EraseMemberRequest(member_ref=member_ref),
            members_pb2.EraseMemberResponse,
            timeout_s=timeout_s,
        )
        return _convert.erasure(answer)

    # -------------------------------------------------------------- instructions

    def pull_instructions(
        self,
        *,
        max_instructions: int = 50,
        wait_s: int = 10,
        lease_s: int = 30,
        timeout_s: float | None = None,
    ) -> tuple[Instruction, ...]:
        """Fetch pending instructions, waiting up to wait_s for one to arrive (long poll).

        Most brands run partner_sdk.InstructionLoop instead of calling this directly.

        Args:
            max_instructions: the most to return (at most 200).
            wait_s: how long the hub waits for one if none is pending, 0 to 20 seconds.
            lease_s: how long the returned instructions are hidden from later pulls
                (5 to 300 seconds); settle them before it ends or they are delivered again.
            timeout_s: the call's deadline; never less than wait_s plus a margin.

        Returns:
            The instructions, oldest first; empty if none arrived in time.
        """
        request = instructions_pb2.PullInstructionsRequest(
            max_instructions=_whole("max_instructions", max_instructions),
            wait_seconds=_whole("wait_s", wait_s),
            lease_seconds=_whole("lease_s", lease_s),
        )
        deadline = max(timeout_s or self._transport.timeout_s, wait_s + PULL_DEADLINE_MARGIN_S)
        answer = self._transport.call(
            _INSTRUCTIONS + "PullInstructions", request, instructions_pb2.PullInstructionsResponse, timeout_s=deadline
        )
        return tuple(_convert.instruction(i) for i in answer.instructions)

    def acknowledge_instruction(
        self, instruction_id: str, *, partner_reference: str, timeout_s: float | None = None
    ) -> Instruction:
        """Tell the hub this partner applied an instruction, with its own reference for it.

        Args:
            instruction_id: the instruction applied.
            partner_reference: your reference for what you did (e.g. a ledger entry id), 1 to
                128 characters.
            timeout_s: this call's deadline in seconds.

        Returns:
            The instruction, ACKNOWLEDGED.

        Raises:
            FailedPreconditionError: the hub no longer accepts it (for example a credit
                cancelled because its deadline passed: take the points back).
        """
        answer = self._transport.call(
            _INSTRUCTIONS + "AcknowledgeInstruction",
            instructions_pb2.AcknowledgeInstructionRequest(
                instruction_id=instruction_id, partner_reference=partner_reference
            ),
            instructions_pb2.AcknowledgeInstructionResponse,
            timeout_s=timeout_s,
        )
        return _convert.instruction(answer.instruction)

    def reject_instruction(self, instruction_id: str, *, reason: str, timeout_s: float | None = None) -> Instruction:
        """Refuse a credit instruction (for example "member unknown"); refunds can't be refused.

        Args:
            instruction_id: the credit instruction refused.
            reason: why, 1 to 500 characters; the source partner sees it.
            timeout_s: this call's deadline in seconds.

        Returns:
            The instruction, REJECTED.
        """
        answer = self._transport.call(
            _INSTRUCTIONS + "RejectInstruction",
            instructions_pb2.RejectInstructionRequest(instruction_id=instruction_id, reason=reason),
            instructions_pb2.RejectInstructionResponse,
            timeout_s=timeout_s,
        )
        return _convert.instruction(answer.instruction)


def _whole(name: str, value: int) -> int:
    """Refuse floats and bools where the contract takes whole numbers (points are never fractional)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _keys(attribute_keys: Sequence[str]) -> list[str]:
    """Refuse a bare str where a sequence of attribute keys is expected (it would be split into letters)."""
    if isinstance(attribute_keys, str):
        raise TypeError("attribute_keys must be a sequence of keys, not a str")
    return list(attribute_keys)


def _new_key(prefix: str) -> str:
    return prefix + secrets.token_hex(16)
