"""Earning at a partner (accrual): the accrual document both brands sign, the models, and the calls.

Brand B (the awarder) proposes, signing the accrual document; brand A (the issuer) accepts,
signing the same bytes. Then B awards A's points to members linked at both brands, one or many
per call (AwardPoints): each item has its own idempotency key and its own result. A receives a
CREDIT instruction (its ``award_id`` set) through the usual instruction stream; acknowledging it
completes the award (B owes A the price of the points), rejecting it or letting its deadline
pass voids it and gives B's budget back.

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

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from coalition.exchange.v1 import accruals_pb2 as pb
from coalition.exchange.v1 import common_pb2
from partner_sdk._convert import to_datetime, to_timestamp
from partner_sdk._mixin import ClientCalls
from partner_sdk.documents import _fraction, _integer, _ratio, _text, epoch_ms

__all__ = [
    "ACCRUAL_SCHEME",
    "AccrualAgreement",
    "AccrualCalls",
    "AccrualTerms",
    "Award",
    "AwardItem",
    "AwardResult",
    "accrual_document",
    "render_accrual_document",
]

ACCRUAL_SCHEME = "COALITION-ACCRUAL-V1"
_ACCRUALS = "/coalition.exchange.v1.AccrualService/"


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
    status: str
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
    state: str
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


def _terms_message(terms: AccrualTerms) -> pb.AccrualTerms:
    price = _fraction("price_per_point_minor", terms.price_per_point_minor)
    return pb.AccrualTerms(
        awarder_partner_id=terms.awarder_partner_id,
        issuer_partner_id=terms.issuer_partner_id,
        version=terms.version,
        activity_types=list(terms.activity_types),
        price_per_point_minor=common_pb2.Ratio(numerator=price.numerator, denominator=price.denominator),
        settlement_currency=terms.settlement_currency,
        monthly_budget_points=terms.monthly_budget_points,
        monthly_budget_minor=terms.monthly_budget_minor,
        member_daily_cap_points=terms.member_daily_cap_points,
        valid_from=to_timestamp(terms.valid_from),
        valid_until=to_timestamp(terms.valid_until),
    )


def _agreement(m: pb.AccrualAgreement) -> AccrualAgreement:
    t = m.terms
    return AccrualAgreement(
        agreement_id=m.agreement_id,
        terms=AccrualTerms(
            awarder_partner_id=t.awarder_partner_id,
            issuer_partner_id=t.issuer_partner_id,
            version=t.version,
            activity_types=tuple(t.activity_types),
            price_per_point_minor=Fraction(t.price_per_point_minor.numerator, t.price_per_point_minor.denominator),
            settlement_currency=t.settlement_currency,
            monthly_budget_points=t.monthly_budget_points,
            monthly_budget_minor=t.monthly_budget_minor,
            member_daily_cap_points=t.member_daily_cap_points,
            valid_from=to_datetime(t.valid_from),
            valid_until=to_datetime(t.valid_until),
        ),
        status=pb.AccrualAgreementStatus.Name(m.status).removeprefix("ACCRUAL_AGREEMENT_STATUS_"),
        document=m.document,
        proposer_key_id=m.proposer_key_id,
        proposer_signature=m.proposer_signature,
        acceptor_key_id=m.acceptor_key_id,
        acceptor_signature=m.acceptor_signature,
        proposed_at=to_datetime(m.proposed_at),
        accepted_at=to_datetime(m.accepted_at) if m.HasField("accepted_at") else None,
    )


def _award(m: pb.Award) -> Award:
    return Award(
        award_id=m.award_id,
        agreement_id=m.agreement_id,
        awarder_partner_id=m.awarder_partner_id,
        issuer_partner_id=m.issuer_partner_id,
        pairwise_member_id=m.pairwise_member_id,
        activity_type=m.activity_type,
        activity_reference=m.activity_reference,
        points=m.points,
        settlement_amount_minor=m.settlement_amount_minor,
        settlement_currency=m.settlement_currency,
        state=pb.AwardState.Name(m.state).removeprefix("AWARD_STATE_"),
        created_at=to_datetime(m.created_at),
        credit_deadline=to_datetime(m.credit_deadline),
        void_reason=m.void_reason,
    )


class AccrualCalls(ClientCalls):
    """Accrual methods, mixed into ExchangeClient (which provides ``transport`` and ``sign_document``)."""

    def propose_accrual_agreement(self, terms: AccrualTerms, *, timeout_s: float | None = None) -> AccrualAgreement:
        """As the awarder: sign the accrual document of terms and propose it."""
        answer = self.transport.call(
            _ACCRUALS + "ProposeAccrualAgreement",
            pb.ProposeAccrualAgreementRequest(
                terms=_terms_message(terms), proposer_signature=self.sign_document(accrual_document(terms))
            ),
            pb.ProposeAccrualAgreementResponse,
            timeout_s=timeout_s,
        )
        return _agreement(answer.agreement)

    def accept_accrual_agreement(self, agreement_id: str, *, timeout_s: float | None = None) -> AccrualAgreement:
        """As the issuer: read the proposal, check its document is what its terms say, sign it and accept."""
        proposed = self.get_accrual_agreement(agreement_id, timeout_s=timeout_s)
        if accrual_document(proposed.terms) != proposed.document:
            raise ValueError("the hub's document does not match the terms it returned; not signing")
        answer = self.transport.call(
            _ACCRUALS + "AcceptAccrualAgreement",
            pb.AcceptAccrualAgreementRequest(
                agreement_id=agreement_id, acceptor_signature=self.sign_document(proposed.document)
            ),
            pb.AcceptAccrualAgreementResponse,
            timeout_s=timeout_s,
        )
        return _agreement(answer.agreement)

    def get_accrual_agreement(self, agreement_id: str, *, timeout_s: float | None = None) -> AccrualAgreement:
        """Return one accrual agreement version."""
        answer = self.transport.call(
            _ACCRUALS + "GetAccrualAgreement",
            pb.GetAccrualAgreementRequest(agreement_id=agreement_id),
            pb.GetAccrualAgreementResponse,
            timeout_s=timeout_s,
        )
        return _agreement(answer.agreement)

    def award_points(self, items: Sequence[AwardItem], *, timeout_s: float | None = None) -> list[AwardResult]:
        """Award issuer points to linked members, 1 to 500 at once; one result per item, in order.

        An item without an idempotency key gets a fresh one; give your own to make resends safe
        across restarts of your process.
        """
        request = pb.AwardPointsRequest(
            items=[
                pb.AwardItem(
                    issuer_partner_id=item.issuer_partner_id,
                    pairwise_member_id=item.pairwise_member_id,
                    activity_type=item.activity_type,
                    activity_reference=item.activity_reference,
                    points=item.points,
                    idempotency_key=item.idempotency_key or "k-" + uuid.uuid4().hex,
                )
                for item in items
            ]
        )
        answer = self.transport.call(_ACCRUALS + "AwardPoints", request, pb.AwardPointsResponse, timeout_s=timeout_s)
        return [
            AwardResult(_award(r.award))
            if r.HasField("award")
            else AwardResult(None, r.error.code, r.error.reason, r.error.message, r.error.field)
            for r in answer.results
        ]

    def award(self, item: AwardItem, *, timeout_s: float | None = None) -> AwardResult:
        """Award one item (AwardPoints with a single item)."""
        return self.award_points([item], timeout_s=timeout_s)[0]

    def get_award(self, award_id: str, *, timeout_s: float | None = None) -> Award:
        """Return one award."""
        answer = self.transport.call(
            _ACCRUALS + "GetAward", pb.GetAwardRequest(award_id=award_id), pb.GetAwardResponse, timeout_s=timeout_s
        )
        return _award(answer.award)
