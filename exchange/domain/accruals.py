"""Earning at a partner (accrual): agreements, awards, budgets and caps, in plain rules.

The awarder (B) proposes, the issuer (A) accepts; both sign the accrual document. An award is
PENDING_CREDIT until the issuer credits its member (COMPLETED: B owes A the points' price,
rounded down) or rejects it or misses the deadline (VOIDED: nothing owed, and since budgets and
caps only count awards that are not void, the budget is back).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS
from exchange.domain.currency import parse_settlement_currency
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted
from exchange.domain.money import MAX_MINOR_UNITS, MAX_POINTS, Ratio, round_down
from exchange.domain.partners import parse_text

ACTIVITY_TYPE = re.compile(r"[a-z0-9_]{1,32}")
MAX_ACTIVITY_TYPES = 20
ACTIVITY_REFERENCE_MAX = 128
MAX_ITEMS = 500
DEFAULT_CREDIT_DEADLINE_MS = 15 * 60_000


class AccrualAgreementStatus(enum.Enum):
    """Where an accrual agreement version stands."""

    PROPOSED = "PROPOSED"
    ACTIVE = "ACTIVE"
    SUPERSEDED = "SUPERSEDED"


class AwardState(enum.Enum):
    """Where an award stands."""

    PENDING_CREDIT = "PENDING_CREDIT"
    COMPLETED = "COMPLETED"
    VOIDED = "VOIDED"


@dataclass(frozen=True, slots=True)
class AccrualTerms:
    """What both brands sign."""

    awarder_partner_id: str
    issuer_partner_id: str
    version: int
    activity_types: tuple[str, ...]
    price_per_point_minor: Ratio
    settlement_currency: str
    monthly_budget_points: int
    monthly_budget_minor: int
    member_daily_cap_points: int
    valid_from_ms: int
    valid_until_ms: int


@dataclass(frozen=True, slots=True)
class AccrualAgreement:
    """One signed (or proposed) version."""

    agreement_id: str
    terms: AccrualTerms
    status: AccrualAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at_ms: int
    accepted_at_ms: int | None

    def is_party(self, partner_id: str) -> bool:
        """Whether a brand may see this agreement."""
        return partner_id in (self.terms.awarder_partner_id, self.terms.issuer_partner_id)


@dataclass(frozen=True, slots=True)
class Award:
    """Issuer points awarded by the awarder to a linked member."""

    award_id: str
    agreement_id: str
    awarder_partner_id: str
    issuer_partner_id: str
    awarder_pairwise_id: str
    issuer_member_ref: str
    activity_type: str
    activity_reference: str
    points: int
    settlement_amount_minor: int
    settlement_currency: str
    state: AwardState
    created_at_ms: int
    credit_deadline_ms: int
    void_reason: str = ""

    def is_party(self, partner_id: str) -> bool:
        """Whether a brand may see this award."""
        return partner_id in (self.awarder_partner_id, self.issuer_partner_id)


def validate_terms(terms: AccrualTerms) -> AccrualTerms:
    """Check terms as the awarder proposes them; return them with activity types sorted."""
    kinds = tuple(sorted(set(terms.activity_types)))
    if not 1 <= len(kinds) <= MAX_ACTIVITY_TYPES or len(kinds) != len(terms.activity_types):
        raise InvalidArgument(
            "INVALID_ACTIVITY_TYPES",
            f"name 1 to {MAX_ACTIVITY_TYPES} distinct activity types",
            field="terms.activity_types",
        )
    for kind in kinds:
        if not ACTIVITY_TYPE.fullmatch(kind):
            raise InvalidArgument(
                "INVALID_ACTIVITY_TYPES",
                f"activity type {kind[:40]!r} must be 1 to 32 of a-z, 0-9 and '_'",
                field="terms.activity_types",
            )
    if terms.awarder_partner_id == terms.issuer_partner_id:
        raise InvalidArgument("SAME_PARTNER", "a brand can't award its own points through the exchange")
    parse_settlement_currency(terms.settlement_currency)
    for name, value, most in (
        ("monthly_budget_points", terms.monthly_budget_points, MAX_POINTS),
        ("monthly_budget_minor", terms.monthly_budget_minor, MAX_MINOR_UNITS),
        ("member_daily_cap_points", terms.member_daily_cap_points, MAX_POINTS),
    ):
        if not 0 < value <= most:
            raise InvalidArgument("INVALID_LIMIT", f"{name} must be between 1 and {most}", field=f"terms.{name}")
    span = terms.valid_until_ms - terms.valid_from_ms
    if not 0 < span <= MAX_AGREEMENT_DAYS * DAY_MS:
        raise InvalidArgument(
            "INVALID_VALIDITY",
            f"valid_until must be after valid_from, at most {MAX_AGREEMENT_DAYS} days later",
            field="terms.valid_until",
        )
    if terms.version <= 0:
        raise InvalidArgument("INVALID_VERSION", "version must be positive", field="terms.version")
    return replace(terms, activity_types=kinds)


def require_visible(agreement: AccrualAgreement | None, caller: str, agreement_id: str) -> AccrualAgreement:
    """Return the agreement if the caller is one of its brands; otherwise it does not exist for them."""
    if agreement is None or not agreement.is_party(caller):
        raise NotFound("ACCRUAL_AGREEMENT_NOT_FOUND", f"no accrual agreement {agreement_id!r}", field="agreement_id")
    return agreement


def accept(agreement: AccrualAgreement, *, caller: str, key_id: str, signature: bytes, now_ms: int) -> AccrualAgreement:
    """The issuer signs the proposal."""
    if caller != agreement.terms.issuer_partner_id:
        raise PermissionDenied("NOT_ISSUER", "only the issuing brand accepts an accrual agreement")
    if agreement.status is not AccrualAgreementStatus.PROPOSED:
        raise FailedPrecondition("NOT_PROPOSED", f"{agreement.agreement_id} is {agreement.status.value}")
    return replace(
        agreement,
        status=AccrualAgreementStatus.ACTIVE,
        acceptor_key_id=key_id,
        acceptor_signature=signature,
        accepted_at_ms=now_ms,
    )


def require_usable(agreement: AccrualAgreement | None, awarder: str, issuer: str, now_ms: int) -> AccrualAgreement:
    """An award needs the pair's active version, within its validity."""
    if agreement is None:
        raise FailedPrecondition(
            "NO_ACCRUAL_AGREEMENT", f"no active accrual agreement lets {awarder!r} award {issuer!r} points"
        )
    if not agreement.terms.valid_from_ms <= now_ms < agreement.terms.valid_until_ms:
        raise FailedPrecondition("ACCRUAL_AGREEMENT_NOT_VALID_NOW", f"{agreement.agreement_id} is not valid now")
    return agreement


def price(terms: AccrualTerms, points: int) -> int:
    """What the awarder owes for issuer points, rounded down (the one rounding rule)."""
    return round_down(terms.price_per_point_minor.as_fraction() * points)


def check_item(terms: AccrualTerms, activity_type: str, activity_reference: str, points: int) -> str:
    """Check one item against the agreement; return the reference."""
    if activity_type not in terms.activity_types:
        raise InvalidArgument(
            "UNKNOWN_ACTIVITY_TYPE",
            f"activity type {activity_type[:40]!r} is not in the agreement ({', '.join(terms.activity_types)})",
            field="activity_type",
        )
    if not 0 < points <= terms.member_daily_cap_points:
        raise InvalidArgument(
            "INVALID_POINTS",
            f"points must be between 1 and the member daily cap ({terms.member_daily_cap_points})",
            field="points",
        )
    return parse_text(activity_reference, field="activity_reference", max_length=ACTIVITY_REFERENCE_MAX)


def check_limits(
    terms: AccrualTerms, *, points: int, money: int, month_points: int, month_money: int, member_today: int
) -> None:
    """Refuse an award past the monthly budget (points or money) or the member's daily cap."""
    if month_points + points > terms.monthly_budget_points or month_money + money > terms.monthly_budget_minor:
        raise ResourceExhausted(
            "MONTHLY_BUDGET",
            f"this month's budget is {terms.monthly_budget_points} points / {terms.monthly_budget_minor} minor units; "
            f"{month_points} points / {month_money} used",
        )
    if member_today + points > terms.member_daily_cap_points:
        raise ResourceExhausted(
            "MEMBER_DAILY_CAP",
            f"a member may receive at most {terms.member_daily_cap_points} points a day; {member_today} already",
        )


def complete(award: Award) -> Award:
    """The issuer credited its member."""
    _require_pending(award)
    return replace(award, state=AwardState.COMPLETED)


def void(award: Award, reason: str) -> Award:
    """The issuer refused the credit or missed its deadline."""
    _require_pending(award)
    return replace(award, state=AwardState.VOIDED, void_reason=reason)


def _require_pending(award: Award) -> None:
    if award.state is not AwardState.PENDING_CREDIT:
        raise FailedPrecondition("AWARD_NOT_PENDING", f"award {award.award_id!r} is {award.state.value}")
