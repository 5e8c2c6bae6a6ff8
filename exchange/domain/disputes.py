"""Disputes between two brands, and the adjustment a dispute's outcome posts.

    OPEN --counterparty accepts--> ACCEPTED          (the claim is posted as an adjustment)
    OPEN --counterparty contests--> CONTESTED --operator--> RESOLVED
    OPEN --response deadline passes--> (still OPEN) --operator--> RESOLVED

The opener claims money from the counterparty. Whatever is awarded is posted as an ADJUSTMENT
movement into the period open at the time, never into the disputed (closed) one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.money import MAX_MINOR_UNITS
from exchange.domain.partners import REASON_MAX, parse_text
from exchange.domain.settlement import Movement, MovementKind

RESPONSE_WINDOW_MS = 14 * 24 * 3_600_000
EVIDENCE_MAX = 10_000


class DisputeState(enum.Enum):
    """Where a dispute stands."""

    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    CONTESTED = "CONTESTED"
    RESOLVED = "RESOLVED"


@dataclass(frozen=True, slots=True)
class Dispute:
    """A claim by one brand on another about a movement or a statement line."""

    dispute_id: str
    opened_by: str
    counterparty: str
    movement_id: str
    statement_id: str
    period_id: str
    currency: str
    claimed_amount_minor: int
    reason: str
    evidence: str
    state: DisputeState
    respond_by_ms: int
    opened_at_ms: int
    updated_at_ms: int
    response_note: str = ""
    awarded_amount_minor: int = 0
    resolution_note: str = ""
    adjustment_movement_id: str = ""
    adjustment_period_id: str = ""

    def is_party(self, partner_id: str) -> bool:
        """Whether a brand may see this dispute."""
        return partner_id in (self.opened_by, self.counterparty)


def parse_claim(claimed_amount_minor: int, reason: str, evidence: str) -> tuple[int, str, str]:
    """Check what an opener writes: a positive amount, a reason, optional evidence."""
    if not 0 < claimed_amount_minor <= MAX_MINOR_UNITS:
        raise InvalidArgument(
            "INVALID_AMOUNT",
            f"claimed_amount_minor must be between 1 and {MAX_MINOR_UNITS}",
            field="claimed_amount_minor",
        )
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    if len(evidence) > EVIDENCE_MAX:
        raise InvalidArgument("INVALID_EVIDENCE", f"evidence is at most {EVIDENCE_MAX} characters", field="evidence")
    if "\x00" in evidence:
        # Evidence may span lines, but PostgreSQL text can't hold NUL: refuse it on every database alike.
        raise InvalidArgument("INVALID_TEXT", "evidence must not contain NUL characters", field="evidence")
    return claimed_amount_minor, reason, evidence


def require_visible(dispute: Dispute | None, caller: str, dispute_id: str, *, is_operator: bool) -> Dispute:
    """Return the dispute if the caller may see it; otherwise it does not exist for them."""
    if dispute is None or not (is_operator or dispute.is_party(caller)):
        raise NotFound("DISPUTE_NOT_FOUND", f"no dispute {dispute_id!r}", field="dispute_id")
    return dispute


def respond(dispute: Dispute, caller: str, *, accept: bool, note: str, now_ms: int) -> Dispute:
    """The counterparty accepts the claim or contests it, before the response deadline."""
    note = parse_text(note, field="note", max_length=REASON_MAX)
    if caller != dispute.counterparty:
        raise PermissionDenied("NOT_COUNTERPARTY", "only the counterparty answers a dispute")
    if dispute.state is not DisputeState.OPEN:
        raise FailedPrecondition("DISPUTE_NOT_OPEN", f"dispute {dispute.dispute_id!r} is {dispute.state.value}")
    if now_ms >= dispute.respond_by_ms:
        raise FailedPrecondition(
            "DISPUTE_RESPONSE_OVERDUE", "the response deadline has passed; the operator decides this dispute"
        )
    if accept:
        return replace(
            dispute,
            state=DisputeState.ACCEPTED,
            response_note=note,
            awarded_amount_minor=dispute.claimed_amount_minor,
            updated_at_ms=now_ms,
        )
    return replace(dispute, state=DisputeState.CONTESTED, response_note=note, updated_at_ms=now_ms)


def resolve(dispute: Dispute, *, awarded_amount_minor: int, note: str, now_ms: int) -> Dispute:
    """The operator decides a contested dispute, or an open one whose counterparty did not answer."""
    note = parse_text(note, field="note", max_length=REASON_MAX)
    decidable = dispute.state is DisputeState.CONTESTED or (
        dispute.state is DisputeState.OPEN and now_ms >= dispute.respond_by_ms
    )
    if not decidable:
        raise FailedPrecondition(
            "DISPUTE_NOT_DECIDABLE",
            f"dispute {dispute.dispute_id!r} is {dispute.state.value}; the operator decides contested disputes "
            "and open ones past their response deadline",
        )
    if not 0 <= awarded_amount_minor <= dispute.claimed_amount_minor:
        raise InvalidArgument(
            "INVALID_AMOUNT",
            f"awarded_amount_minor must be between 0 and the claim ({dispute.claimed_amount_minor})",
            field="awarded_amount_minor",
        )
    return replace(
        dispute,
        state=DisputeState.RESOLVED,
        awarded_amount_minor=awarded_amount_minor,
        resolution_note=note,
        updated_at_ms=now_ms,
    )


def adjustment(dispute: Dispute, now_ms: int) -> Movement | None:
    """The movement an awarded amount posts: the counterparty owes the opener; None if nothing was awarded."""
    if dispute.awarded_amount_minor == 0:
        return None
    return Movement(
        movement_id="adj-" + dispute.dispute_id.removeprefix("dsp-"),
        kind=MovementKind.ADJUSTMENT,
        source_partner_id=dispute.counterparty,
        target_partner_id=dispute.opened_by,
        source_points=0,
        target_points=0,
        currency=dispute.currency,
        amount_minor=dispute.awarded_amount_minor,
        final_at_ms=now_ms,
    )


def with_adjustment(dispute: Dispute, movement_id: str, period_id: str) -> Dispute:
    """Note where a dispute's award was posted."""
    return replace(dispute, adjustment_movement_id=movement_id, adjustment_period_id=period_id)
