"""Conversion commands: quote, convert, read, reverse, and expire overdue credits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from exchange.domain import conversions as rules
from exchange.domain import limits
from exchange.domain.agreements import require_usable
from exchange.domain.conversions import HUB_ACTOR, Conversion, ConversionEvent, ConversionState, Quote, Reversal
from exchange.domain.errors import FailedPrecondition, NotFound
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import (
    LedgerTransaction,
    conversion_transaction,
    reversal_transaction,
    reversing_transaction,
)
from exchange.domain.limits import HOUR_MS, ConversionAsk, ConversionLimits, utc_day
from exchange.domain.members import parse_member_ref
from exchange.domain.partners import REASON_MAX, Partner, PartnerStatus, parse_text
from exchange.domain.pricing import price_conversion, price_reversal
from exchange.domain.settlement import reversal_movement
from exchange.service import audit, members, settlement
from exchange.service.authentication import Caller
from exchange.service.instructions import withdraw_credit
from exchange.service.paging import decode_cursor, encode_cursor, page_limit
from exchange.service.ports import PartnerReader, UnitOfWork
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.ids import new_id

DEFAULT_MEMBER_CONVERSIONS_PER_HOUR = 60
DEFAULT_EXPOSURE_LIMIT_MINOR = 100_000_000  # net unsettled money a partner may owe, per settlement currency


@dataclass(frozen=True, slots=True)
class ConversionPage:
    """One page of conversions and the token of the next."""

    conversions: list[Conversion]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class ConversionPolicy:
    """Hub-wide settings of the money path."""

    quote_ttl_ms: int = rules.QUOTE_TTL_MS
    credit_deadline_ms: int = rules.DEFAULT_CREDIT_DEADLINE_MS
    member_conversions_per_hour: int = DEFAULT_MEMBER_CONVERSIONS_PER_HOUR
    exposure_limit_minor: int = DEFAULT_EXPOSURE_LIMIT_MINOR


def quote(
    work: UnitOfWork,
    caller: Caller,
    target_partner_id: str,
    source_points: int,
    now_ms: int,
    policy: ConversionPolicy,
) -> Quote:
    """Price a conversion under the caller's active agreement with the target partner."""
    agreement = require_usable(work.agreements.active_for(caller.principal, target_partner_id), now_ms)
    amounts = price_conversion(agreement.terms, source_points)
    offer = Quote(
        quote_id=new_id("quo"),
        agreement_id=agreement.agreement_id,
        agreement_version=agreement.terms.version,
        source_partner_id=caller.principal,
        target_partner_id=target_partner_id,
        amounts=amounts,
        created_at_ms=now_ms,
        expires_at_ms=now_ms + policy.quote_ttl_ms,
    )
    work.conversions.add_quote(offer)
    return offer


def convert(
    work: UnitOfWork,
    caller: Caller,
    *,
    quote_id: str,
    source_member_ref: str,
    target_member_ref: str,
    now_ms: int,
    policy: ConversionPolicy,
) -> Conversion:
    """Record a conversion against a quote: ledger entries and a credit instruction, in this transaction.

    Runs at READ COMMITTED on PostgreSQL (exchange.api.conversion_service): the source partner's
    row lock, taken before any limit is read, queues the source's conversions one behind
    another, so the daily cap, the velocity limit and the exposure limit (exchange.domain.limits)
    are each checked against everything committed before, and so is the quote's use (a quote
    converts once: the unique key on conversions.quote_id); the nonce and idempotency key are
    unique keys. Under SERIALIZABLE the same reads took predicate locks over the source's ledger
    and conversions, and concurrent conversions aborted each other.
    """
    source_member_ref = parse_member_ref(source_member_ref, field="source_member_ref")
    target_member_ref = parse_member_ref(target_member_ref, field="target_member_ref")
    parties = work.conversions.lock_for_conversion(caller.principal, quote_id)
    offer = rules.require_usable_quote(parties.quote, caller.principal, quote_id, now_ms)
    agreement = require_usable(parties.agreement, now_ms)
    source, target = parties.source, active_target(parties.target, offer.target_partner_id)
    reading = work.conversions.limit_reading(
        source.partner_id,
        target.partner_id,
        source_member_ref,
        day=utc_day(now_ms),
        since_ms=now_ms - HOUR_MS,
        currency=offer.amounts.settlement_currency,
        quote_id=quote_id,
    )
    limits.check_conversion(
        reading.figures,
        ConversionLimits(
            member_daily_cap_source_points=agreement.terms.member_daily_cap_source_points,
            member_conversions_per_hour=policy.member_conversions_per_hour,
            exposure_limit_minor=policy.exposure_limit_minor,
        ),
        ConversionAsk(
            source_partner_id=source.partner_id,
            source_points_debited=offer.amounts.source_points_debited,
            settlement_amount_minor=offer.amounts.settlement_amount_minor,
            settlement_currency=offer.amounts.settlement_currency,
        ),
    )
    if reading.quote_used_by is not None:  # used by a conversion committed while this one waited for the lock
        raise FailedPrecondition("QUOTE_ALREADY_USED", f"quote {quote_id!r} was already used", field="quote_id")
    conversion_id = new_id("cnv")
    work.conversions.mark_quote_used(quote_id, conversion_id)
    conversion = Conversion(
        conversion_id=conversion_id,
        quote_id=quote_id,
        agreement_id=agreement.agreement_id,
        agreement_version=agreement.terms.version,
        source_partner_id=source.partner_id,
        target_partner_id=target.partner_id,
        source_member_ref=source_member_ref,
        target_member_ref=target_member_ref,
        amounts=offer.amounts,
        state=ConversionState.PENDING_CREDIT,
        credit_deadline_ms=now_ms + policy.credit_deadline_ms,
        created_at_ms=now_ms,
        history=(ConversionEvent(now_ms, caller.principal, None, ConversionState.PENDING_CREDIT),),
    )
    work.conversions.add(conversion)
    work.ledger.post(_ledger_of(conversion, source, target), now_ms)
    work.instructions.add(
        Instruction(
            instruction_id=new_id("ins"),
            partner_id=target.partner_id,
            kind=InstructionKind.CREDIT,
            state=InstructionState.PENDING,
            member_ref=target_member_ref,
            points=conversion.amounts.target_points,
            point_currency=target.point_currency,
            origin=Origin.conversion(conversion_id),
            created_at_ms=now_ms,
            deadline_ms=conversion.credit_deadline_ms,
        )
    )
    return conversion


def linked_target_ref(connection: Connection, caller: Caller, quote_id: str, pairwise_member_id: str) -> str:
    """Return the target brand's reference for a member the caller names by pairwise id, for a quote's target."""
    offer = ConversionRepository(connection).get_quote(quote_id)
    if offer is None or offer.source_partner_id != caller.principal:
        raise NotFound("QUOTE_NOT_FOUND", f"no quote {quote_id!r}", field="quote_id")
    return members.linked_target_ref(connection, caller, offer.target_partner_id, pairwise_member_id)


def get(work: UnitOfWork, caller: Caller, conversion_id: str) -> Conversion:
    """Return a conversion the caller is a party to."""
    conversion = work.conversions.get(conversion_id)
    if conversion is None or not conversion.is_party(caller.principal):
        raise NotFound("CONVERSION_NOT_FOUND", f"no conversion {conversion_id!r}", field="conversion_id")
    return conversion


def list_page(
    connection: Connection,
    caller: Caller,
    *,
    state: ConversionState | None,
    member_ref: str,
    created_from_ms: int | None,
    created_before_ms: int | None,
    page_size: int,
    page_token: str,
) -> ConversionPage:
    """Return a page of the caller's conversions, newest first."""
    limit = page_limit(page_size)
    found = ConversionRepository(connection).list_page(
        caller.principal,
        state=state,
        member_ref=member_ref,
        created_from_ms=created_from_ms,
        created_before_ms=created_before_ms,
        before=decode_cursor(page_token),
        limit=limit + 1,
    )
    page = found[:limit]
    token = encode_cursor(page[-1].created_at_ms, page[-1].conversion_id) if len(found) > limit else ""
    return ConversionPage(page, token)


def reverse(
    work: UnitOfWork, caller: Caller, *, conversion_id: str, target_points: int, reason: str, now_ms: int
) -> Conversion:
    """The target partner reverses part of a completed conversion; the source partner refunds its member."""
    conversion = get(work, caller, conversion_id)
    rules.require_reversible(conversion, caller.principal)
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    amounts = price_reversal(
        conversion.amounts, target_points=target_points, reversed_before=conversion.reversed_so_far()
    )
    reversal = Reversal(new_id("rev"), amounts, reason, now_ms)
    work.conversions.add_reversal(conversion_id, reversal)
    settlement.record_movement(work.movements, reversal_movement(conversion, reversal))
    source, target = partners_of(work.partners, conversion.source_partner_id, conversion.target_partner_id)
    work.ledger.post(
        reversal_transaction(
            reversal.reversal_id,
            source=source.partner_id,
            target=target.partner_id,
            source_currency=source.point_currency,
            target_currency=target.point_currency,
            reversal=amounts,
            money_currency=conversion.amounts.settlement_currency,
        ),
        now_ms,
    )
    if amounts.source_points > 0:
        refunded = Origin.reversal(reversal.reversal_id, of_conversion=conversion_id)
        _refund(work, conversion, source, amounts.source_points, now_ms, refunded)
    return work.conversions.get(conversion_id) or conversion


def fail_credit(
    work: UnitOfWork, conversion: Conversion, to_state: ConversionState, *, actor: str, note: str, now_ms: int
) -> Conversion:
    """A credit was refused or timed out: unwind the ledger and instruct the source partner to refund."""
    failed = rules.move(conversion, to_state, actor=actor, at_ms=now_ms, note=note)
    work.conversions.save_state(conversion, failed)
    source, target = partners_of(
        work.partners, conversion.source_partner_id, conversion.target_partner_id, require_active=False
    )
    work.ledger.post(
        reversing_transaction(_ledger_of(conversion, source, target), "REFUND", conversion.conversion_id), now_ms
    )
    debited = conversion.amounts.source_points_debited
    _refund(work, conversion, source, debited, now_ms, Origin.conversion(conversion.conversion_id))
    return failed


def expire_overdue(work: UnitOfWork, conversion_id: str, now_ms: int) -> bool:
    """Expire one overdue conversion if it is still waiting for its credit; return whether it did."""
    conversion = work.conversions.get(conversion_id)
    if conversion is None or conversion.state is not ConversionState.PENDING_CREDIT:
        return False
    if conversion.credit_deadline_ms > now_ms:
        return False
    withdraw_credit(work.instructions, Origin.conversion(conversion_id), reason="credit deadline passed", now_ms=now_ms)
    fail_credit(work, conversion, ConversionState.EXPIRED, actor=HUB_ACTOR, note="no acknowledgement", now_ms=now_ms)
    audit.record(work.audit, actor=HUB_ACTOR, action="hub/ExpireConversion", subject=conversion_id, now_ms=now_ms)
    return True


def _refund(
    work: UnitOfWork, conversion: Conversion, source: Partner, points: int, now_ms: int, origin: Origin
) -> None:
    work.instructions.add(
        Instruction(
            instruction_id=new_id("ins"),
            partner_id=source.partner_id,
            kind=InstructionKind.REFUND,
            state=InstructionState.PENDING,
            member_ref=conversion.source_member_ref,
            points=points,
            point_currency=source.point_currency,
            origin=origin,
            created_at_ms=now_ms,
        )
    )


def _ledger_of(conversion: Conversion, source: Partner, target: Partner) -> LedgerTransaction:
    return conversion_transaction(
        conversion.conversion_id,
        source=source.partner_id,
        target=target.partner_id,
        source_currency=source.point_currency,
        target_currency=target.point_currency,
        amounts=conversion.amounts,
    )


def partners_of(
    partners: PartnerReader, source_id: str, target_id: str, *, require_active: bool = True
) -> tuple[Partner, Partner]:
    """Return both partners of a movement; the target must be ACTIVE to receive anything new."""
    source, target = partners.get_pair(source_id, target_id)
    if source is None:  # no request field names the source: it is the caller, or the movement's
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {source_id!r}")
    return source, active_target(target, target_id) if require_active else _found(target, target_id)


def _found(target: Partner | None, target_id: str) -> Partner:
    if target is None:
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {target_id!r}", field="target_partner_id")
    return target


def active_target(target: Partner | None, target_id: str) -> Partner:
    """The target partner, which must be ACTIVE to receive anything new."""
    found = _found(target, target_id)
    if found.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition("COUNTERPARTY_NOT_ACTIVE", f"partner {found.partner_id!r} is {found.status.value}")
    return found
