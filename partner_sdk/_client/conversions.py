"""ConversionService: quotes, conversions and reversals."""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from coalition.exchange.v1 import conversions_pb2
from partner_sdk import _convert
from partner_sdk._client.connection import PartnerConnection, new_key, whole
from partner_sdk._models import Conversion, ConversionItem, ConversionResult, Page, Quote, every_page

_CONVERSIONS = "/coalition.exchange.v1.ConversionService/"


def quote_conversion(
    self: PartnerConnection, target_partner_id: str, source_points: int, *, timeout_s: float | None = None
) -> Quote:
    """Price converting source_points of this partner's points into target_partner_id's.

    The quote is single use and expires within about a minute (quote.expires_at). Show
    the member quote.amounts, debit amounts.source_points_debited locally, then convert().

    Raises:
        TypeError: source_points is not an int.
        ExchangeError: the hub refused it (FailedPreconditionError without a usable
            agreement, InvalidArgumentError for an amount outside its limits, ...).
    """
    request = conversions_pb2.QuoteConversionRequest(
        target_partner_id=target_partner_id, source_points=whole("source_points", source_points)
    )
    answer = self.transport.call(
        _CONVERSIONS + "QuoteConversion", request, conversions_pb2.QuoteConversionResponse, timeout_s=timeout_s
    )
    return _convert.quote(answer.quote)


def convert(
    self: PartnerConnection,
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
        idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-cnv-"),
    )
    answer = self.transport.call(
        _CONVERSIONS + "Convert", request, conversions_pb2.ConvertResponse, timeout_s=timeout_s
    )
    return _convert.conversion(answer.conversion)


def convert_batch(
    self: PartnerConnection, items: Sequence[ConversionItem], *, timeout_s: float | None = None
) -> list[ConversionResult]:
    """Convert 1 to 500 items in one signed call; one result per item, in order.

    Each item is converted exactly once per its idempotency key, and fails alone (its result
    says why, as a whole call's error would). Resending the same items with the same keys returns
    the first results without converting again. Debit each member locally before sending, as for
    convert(), and give back what a failed item debited.

    Raises:
        TypeError: an item's source_points is not an int.
        ExchangeError: the whole call was refused (no items, more than 500, two items with one key).
    """
    request = conversions_pb2.ConvertBatchRequest(
        items=[
            conversions_pb2.ConversionItem(
                quote_id=item.quote_id,
                target_partner_id=item.target_partner_id,
                source_points=whole("source_points", item.source_points),
                source_member_ref=item.source_member_ref,
                target_member_ref=item.target_member_ref,
                pairwise_member_id=item.pairwise_member_id,
                idempotency_key=item.idempotency_key or new_key("sdk-cnv-"),
            )
            for item in items
        ]
    )
    answer = self.transport.call(
        _CONVERSIONS + "ConvertBatch", request, conversions_pb2.ConvertBatchResponse, timeout_s=timeout_s
    )
    return [
        ConversionResult(_convert.conversion(r.conversion))
        if r.HasField("conversion")
        else ConversionResult(None, r.error.code, r.error.reason, r.error.message, r.error.field)
        for r in answer.results
    ]


def get_conversion(self: PartnerConnection, conversion_id: str, *, timeout_s: float | None = None) -> Conversion:
    """Return one conversion with its history (for its two partners only)."""
    answer = self.transport.call(
        _CONVERSIONS + "GetConversion",
        conversions_pb2.GetConversionRequest(conversion_id=conversion_id),
        conversions_pb2.GetConversionResponse,
        timeout_s=timeout_s,
    )
    return _convert.conversion(answer.conversion)


def list_conversions(
    self: PartnerConnection,
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
    answer = self.transport.call(
        _CONVERSIONS + "ListConversions", request, conversions_pb2.ListConversionsResponse, timeout_s=timeout_s
    )
    return Page(tuple(_convert.conversion(c) for c in answer.conversions), answer.next_page_token)


def iter_conversions(
    self: PartnerConnection,
    *,
    state: str | None = None,
    member_ref: str | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
    page_size: int = 0,
) -> Iterator[Conversion]:
    """Yield every conversion list_conversions would page through, fetching pages as needed."""
    return every_page(
        lambda token: list_conversions(
            self,
            state=state,
            member_ref=member_ref,
            created_from=created_from,
            created_before=created_before,
            page_size=page_size,
            page_token=token,
        )
    )


def reverse_conversion(
    self: PartnerConnection,
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
        target_points=whole("target_points", target_points),
        reason=reason,
        idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-rev-"),
    )
    answer = self.transport.call(
        _CONVERSIONS + "ReverseConversion", request, conversions_pb2.ReverseConversionResponse, timeout_s=timeout_s
    )
    return _convert.conversion(answer.conversion)
