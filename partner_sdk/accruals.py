"""Earning at a partner (accrual): the accrual document both brands sign, and what the calls return.

Brand B (the awarder) proposes, signing the accrual document; brand A (the issuer) accepts,
signing the same bytes. Then B awards A's points to members linked at both brands, one or many
per call (AwardPoints): each item has its own idempotency key and its own result. A receives a
CREDIT instruction (its ``award_id`` set) through the usual instruction stream; acknowledging it
completes the award (B owes A the price of the points), rejecting it or letting its deadline
pass voids it and gives B's budget back. The calls are ExchangeClient's (propose_accrual_agreement,
accept_accrual_agreement, award_points, ...).

The document is UTF-8, lines joined by a single line feed, no trailing one::

    COALITION-ACCRUAL-V1
    awarder=<awarder partner id>
    issuer=<issuer partner id>
    version=<int>
    activity_types=<activity types, sorted, joined by ','>
    price_per_point_minor=<numerator>/<denominator>      (lowest terms)
    settlement_currency=<ISO 4217 code>
    monthly_budget_points=<int>
    monthly_budget_minor=<int>
    member_daily_cap_points=<int>
    valid_from_ms=<int>
    valid_until_ms=<int>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal, TypeAlias

from partner_sdk.documents import _fraction, _integer, _ratio, _text, epoch_ms

__all__ = [
    "ACCRUAL_SCHEME",
    "AccrualAgreement",
    "AccrualAgreementStatus",
    "AccrualTerms",
    "Award",
    "AwardItem",
    "AwardResult",
    "AwardState",
    "accrual_document",
    "render_accrual_document",
]

ACCRUAL_SCHEME = "COALITION-ACCRUAL-V1"

AccrualAgreementStatus: TypeAlias = Literal["PROPOSED", "ACTIVE", "SUPERSEDED", "UNKNOWN"]
AwardState: TypeAlias = Literal["PENDING_CREDIT", "COMPLETED", "VOIDED", "UNKNOWN"]


def render_accrual_document(
    *,
    awarder_partner_id: str,
    issuer_partner_id: str,
    version: int,
    activity_types: Sequence[str],
    price_numerator: int,
    price_denominator: int,
    settlement_currency: str,
    monthly_budget_points: int,
    monthly_budget_minor: int,
    member_daily_cap_points: int,
    valid_from_ms: int,
    valid_until_ms: int,
) -> bytes:
    """Return the accrual document for plain values (the hub renders it with its own)."""
    kinds = sorted(_text("activity_types", kind) for kind in activity_types)
    if any("," in kind for kind in kinds):
        raise ValueError("an activity type must not contain ','")
    lines = (
        ACCRUAL_SCHEME,
        f"awarder={_text('awarder_partner_id', awarder_partner_id)}",
        f"issuer={_text('issuer_partner_id', issuer_partner_id)}",
        f"version={_integer('version', version)}",
        f"activity_types={','.join(kinds)}",
        f"price_per_point_minor={_ratio('price_per_point_minor', price_numerator, price_denominator)}",
        f"settlement_currency={_text('settlement_currency', settlement_currency)}",
        f"monthly_budget_points={_integer('monthly_budget_points', monthly_budget_points)}",
        f"monthly_budget_minor={_integer('monthly_budget_minor', monthly_budget_minor)}",
        f"member_daily_cap_points={_integer('member_daily_cap_points', member_daily_cap_points)}",
        f"valid_from_ms={_integer('valid_from_ms', valid_from_ms)}",
        f"valid_until_ms={_integer('valid_until_ms', valid_until_ms)}",
    )
    return "\n".join(lines).encode("utf-8")


@dataclass(frozen=True, slots=True)
class AccrualTerms:
    """What both brands sign: the awarder may award the issuer's points for these activities, at this price."""

    awarder_partner_id: str
    issuer_partner_id: str
    version: int
    activity_types: tuple[str, ...]
    price_per_point_minor: Fraction
    settlement_currency: str
    monthly_budget_points: int
    monthly_budget_minor: int
    member_daily_cap_points: int
    valid_from: datetime
    valid_until: datetime


def accrual_document(terms: AccrualTerms) -> bytes:
    """Return the exact bytes both brands sign for these terms."""
    price = _fraction("price_per_point_minor", terms.price_per_point_minor)
    return render_accrual_document(
        awarder_partner_id=terms.awarder_partner_id,
        issuer_partner_id=terms.issuer_partner_id,
        version=terms.version,
        activity_types=terms.activity_types,
        price_numerator=price.numerator,
        price_denominator=price.denominator,
        settlement_currency=terms.settlement_currency,
        monthly_budget_points=terms.monthly_budget_points,
        monthly_budget_minor=terms.monthly_budget_minor,
        member_daily_cap_points=terms.member_daily_cap_points,
        valid_from_ms=epoch_ms(terms.valid_from),
        valid_until_ms=epoch_ms(terms.valid_until),
    )


@dataclass(frozen=True, slots=True)
class AccrualAgreement:
    """One version of an accrual agreement; status is PROPOSED, ACTIVE or SUPERSEDED."""

    agreement_id: str
    terms: AccrualTerms
    status: AccrualAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: datetime
    accepted_at: datetime | None


@dataclass(frozen=True, slots=True)
class AwardItem:
    """One award to make: issuer points to a member the caller knows by its pairwise id."""

    issuer_partner_id: str
    pairwise_member_id: str
    activity_type: str
    activity_reference: str
    points: int
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class Award:
    """An award; state is PENDING_CREDIT, COMPLETED or VOIDED."""

    award_id: str
    agreement_id: str
    awarder_partner_id: str
    issuer_partner_id: str
    pairwise_member_id: str
    activity_type: str
    activity_reference: str
    points: int
    settlement_amount_minor: int
    settlement_currency: str
    state: AwardState
    created_at: datetime
    credit_deadline: datetime
    void_reason: str


@dataclass(frozen=True, slots=True)
class AwardResult:
    """One item's outcome: an award, or why the item failed (code, reason, message, field)."""

    award: Award | None
    error_code: str = ""
    error_reason: str = ""
    error_message: str = ""
    error_field: str = ""

    @property
    def ok(self) -> bool:
        """Whether the item succeeded."""
        return self.award is not None
