"""Redemption commands: authorise a hold, capture it, void it, read it, expire it."""

from __future__ import annotations

from exchange.domain import redemptions as rules
from exchange.domain.agreements import require_usable
from exchange.domain.conversions import HUB_ACTOR
from exchange.domain.instructions import REFERENCE_MAX, Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import capture_transaction
from exchange.domain.members import parse_member_ref
from exchange.domain.partners import REASON_MAX, parse_text
from exchange.domain.redemptions import Hold, HoldState
from exchange.domain.settlement import capture_movement
from exchange.service import audit, settlement
from exchange.service.authentication import Caller
from exchange.service.conversions import partners_of
from exchange.service.ports import UnitOfWork
from exchange.store.ids import new_id


def authorize(
    work: UnitOfWork,
    caller: Caller,
    *,
    target_partner_id: str,
    source_points: int,
    source_member_ref: str,
    expires_in_s: int,
    now_ms: int,
) -> Hold:
    """The source partner authorises a hold on points it has reserved for its member."""
    member = parse_member_ref(source_member_ref, field="source_member_ref")
    lifetime_ms = rules.hold_lifetime_ms(expires_in_s)
    agreement = require_usable(work.agreements.active_for(caller.principal, target_partner_id), now_ms)
    points = rules.check_hold_amount(agreement.terms, source_points)
    partners_of(work.partners, caller.principal, target_partner_id)
    hold = Hold(
        hold_id=new_id("hold"),
        agreement_id=agreement.agreement_id,
        source_partner_id=caller.principal,
        target_partner_id=target_partner_id,
        source_member_ref=member,
        authorized_points=points,
        captured_points=0,
        released_points=0,
        state=HoldState.OPEN,
        created_at_ms=now_ms,
        expires_at_ms=now_ms + lifetime_ms,
        rate=agreement.terms.rate,
        settlement_price_minor=agreement.terms.settlement_price_minor,
        settlement_currency=agreement.terms.settlement_currency,
    )
    work.holds.add(hold)
    return hold


def get(work: UnitOfWork, caller: Caller, hold_id: str) -> Hold:
    """Return a hold the caller is a partner of."""
    return rules.require_visible(work.holds.get(hold_id), caller.principal, hold_id)


def capture(work: UnitOfWork, caller: Caller, *, hold_id: str, source_points: int, reference: str, now_ms: int) -> Hold:
    """The target partner captures part of a hold; the capture is posted like a conversion."""
    reference = parse_text(reference, field="target_reference", max_length=REFERENCE_MAX)
    hold = get(work, caller, hold_id)
    _expire_if_due(work, hold, now_ms)
    captured, taken = rules.capture(
        hold,
        caller=caller.principal,
        capture_id=new_id("cap"),
        source_points=source_points,
        reference=reference,
        now_ms=now_ms,
    )
    work.holds.save(hold, captured)
    settlement.record_movement(work.movements, capture_movement(hold, taken))
    source, _ = partners_of(work.partners, hold.source_partner_id, hold.target_partner_id)
    work.ledger.post(
        capture_transaction(
            taken.capture_id,
            source=hold.source_partner_id,
            target=hold.target_partner_id,
            source_currency=source.point_currency,
            source_points=taken.source_points,
            money=taken.settlement_amount_minor,
            money_currency=hold.settlement_currency,
        ),
        now_ms,
    )
    return captured


def void(work: UnitOfWork, caller: Caller, *, hold_id: str, reason: str, now_ms: int) -> Hold:
    """Either partner ends a hold; what is left goes back to the source partner."""
    parse_text(reason, field="reason", max_length=REASON_MAX)
    hold = get(work, caller, hold_id)
    _expire_if_due(work, hold, now_ms)
    voided = rules.void(hold, now_ms)
    _release(work, hold, voided, now_ms)
    return voided


def expire_overdue(work: UnitOfWork, hold_id: str, now_ms: int) -> bool:
    """Expire one overdue hold if it is still open; return whether it did."""
    hold = work.holds.get(hold_id)
    return hold is not None and _expire_if_due(work, hold, now_ms)


def _expire_if_due(work: UnitOfWork, hold: Hold, now_ms: int) -> bool:
    """Expire an open hold past its expiry, releasing what is left; return whether it did.

    Capture and void call it with the hold they read, so a late call expires the hold as the
    sweep would, and the HOLD_EXPIRED that follows is final: the expiry commits with that
    refusal, so a late call conflicts with an in-time capture of the same hold still
    committing, and whichever loses is retried and agrees with the winner.
    """
    expired = rules.expire(hold, now_ms)
    if expired is None:
        return False
    _release(work, hold, expired, now_ms)
    audit.record(work.audit, actor=HUB_ACTOR, action="hub/ExpireHold", subject=hold.hold_id, now_ms=now_ms)
    return True


def _release(work: UnitOfWork, before: Hold, after: Hold, now_ms: int) -> None:
    work.holds.save(before, after)
    released = after.released_points - before.released_points
    if released > 0:
        source = partners_of(work.partners, before.source_partner_id, before.target_partner_id, require_active=False)[0]
        work.instructions.add(
            Instruction(
                instruction_id=new_id("ins"),
                partner_id=before.source_partner_id,
                kind=InstructionKind.RELEASE,
                state=InstructionState.PENDING,
                member_ref=before.source_member_ref,
                points=released,
                point_currency=source.point_currency,
                origin=Origin.hold(before.hold_id),
                created_at_ms=now_ms,
            )
        )
