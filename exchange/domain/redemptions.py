"""Spending one partner's points at another: holds, partial captures, voids and expiry.

A hold's points are always accounted for: authorised = captured + released + what is left,
and what is left is released (back to the source partner) when the hold is voided or expires.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from exchange.domain.agreements import AgreementTerms
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, require
from exchange.domain.money import MAX_MINOR_UNITS, MAX_POINTS, Ratio, parse_points, round_down

MIN_HOLD_S = 60
MAX_HOLD_S = 7 * 86_400
DEFAULT_HOLD_S = 900


class HoldState(enum.Enum):
    """Where a hold stands."""

    OPEN = "OPEN"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Capture:
    """One capture of part of a hold."""

    capture_id: str
    source_points: int
    target_points_value: int
    settlement_amount_minor: int
    target_reference: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class Hold:
    """Points of a source partner's member reserved for spending at a target partner."""

    hold_id: str
    agreement_id: str
    source_partner_id: str
    target_partner_id: str
    source_member_ref: str
    authorized_points: int
    captured_points: int
    released_points: int
    state: HoldState
    created_at_ms: int
    expires_at_ms: int
    rate: Ratio
    settlement_price_minor: Ratio
    settlement_currency: str
    captures: tuple[Capture, ...] = ()

    def __post_init__(self) -> None:
        require(self.remaining >= 0, "a hold never captures or releases more than it authorised")
        require(self.state is HoldState.OPEN or self.remaining == 0, "a closed hold has nothing left to capture")

    @property
    def remaining(self) -> int:
        """Source points that may still be captured."""
        return self.authorized_points - self.captured_points - self.released_points


def hold_lifetime_ms(expires_in_s: int) -> int:
    """Return a hold's lifetime: 0 means the default; otherwise MIN_HOLD_S to MAX_HOLD_S."""
    seconds = expires_in_s or DEFAULT_HOLD_S
    if not MIN_HOLD_S <= seconds <= MAX_HOLD_S:
        raise InvalidArgument(
            "INVALID_HOLD_LIFETIME",
            f"expires_in_seconds must be {MIN_HOLD_S} to {MAX_HOLD_S}",
            field="expires_in_seconds",
        )
    return seconds * 1000


def check_hold_amount(terms: AgreementTerms, points: int) -> int:
    """Return a valid hold amount under the agreement, or raise InvalidArgument."""
    points = parse_points(points, field="source_points")
    if points > terms.max_source_points:
        raise InvalidArgument(
            "ABOVE_MAXIMUM", f"the agreement's maximum is {terms.max_source_points} points", field="source_points"
        )
    return points


def require_visible(hold: Hold | None, caller: str, hold_id: str) -> Hold:
    """Return the hold if the caller is one of its partners; otherwise it does not exist for them."""
    if hold is None or caller not in (hold.source_partner_id, hold.target_partner_id):
        raise NotFound("HOLD_NOT_FOUND", f"no hold {hold_id!r}", field="hold_id")
    return hold


def _require_open(hold: Hold, now_ms: int) -> None:
    if hold.state is not HoldState.OPEN:
        raise FailedPrecondition(f"HOLD_{hold.state.value}", f"hold {hold.hold_id!r} is {hold.state.value}")
    if now_ms >= hold.expires_at_ms:
        raise FailedPrecondition("HOLD_EXPIRED", f"hold {hold.hold_id!r} has expired", final=True)


def capture(
    hold: Hold, *, caller: str, capture_id: str, source_points: int, reference: str, now_ms: int
) -> tuple[Hold, Capture]:
    """The target partner captures part of what is left; its value is priced at the agreement's rate."""
    if caller != hold.target_partner_id:
        raise PermissionDenied("NOT_TARGET_PARTNER", "only the partner where the points are spent captures them")
    _require_open(hold, now_ms)
    source_points = parse_points(source_points, field="source_points")
    if source_points > hold.remaining:
        raise InvalidArgument(
            "CAPTURE_EXCEEDS_HOLD", f"only {hold.remaining} points of this hold are left", field="source_points"
        )
    value = round_down(source_points * hold.rate.as_fraction())
    if value == 0:
        raise InvalidArgument(
            "AMOUNT_TOO_SMALL", "this many points are worth nothing at the target", field="source_points"
        )
    money = round_down(value * hold.settlement_price_minor.as_fraction())
    if value > MAX_POINTS or money > MAX_MINOR_UNITS:
        raise InvalidArgument(
            "AMOUNT_TOO_LARGE", "this capture is worth more than one movement may carry", field="source_points"
        )
    taken = Capture(capture_id, source_points, value, money, reference, now_ms)
    captured = hold.captured_points + source_points
    state = HoldState.CAPTURED if captured == hold.authorized_points - hold.released_points else HoldState.OPEN
    return replace(hold, captured_points=captured, state=state, captures=(*hold.captures, taken)), taken


def void(hold: Hold, now_ms: int) -> Hold:
    """Either partner ends an open hold; what is left is released."""
    _require_open(hold, now_ms)
    return replace(hold, state=HoldState.VOIDED, released_points=hold.released_points + hold.remaining)


def expire(hold: Hold, now_ms: int) -> Hold | None:
    """Expire an open hold whose time has come (releasing what is left), or return None if it should not."""
    if hold.state is not HoldState.OPEN or now_ms < hold.expires_at_ms:
        return None
    return replace(hold, state=HoldState.EXPIRED, released_points=hold.released_points + hold.remaining)
