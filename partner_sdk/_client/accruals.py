"""AccrualService: accrual agreements (the awarder proposes, the issuer accepts) and awards."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from coalition.exchange.v1 import accruals_pb2 as pb
from coalition.exchange.v1 import common_pb2
from partner_sdk._client.connection import PartnerConnection, new_key
from partner_sdk._convert import Names, to_datetime, to_timestamp
from partner_sdk.accruals import (
    AccrualAgreement,
    AccrualAgreementStatus,
    AccrualTerms,
    Award,
    AwardItem,
    AwardResult,
    AwardState,
    accrual_document,
)
from partner_sdk.documents import _fraction

_ACCRUALS = "/coalition.exchange.v1.AccrualService/"
_STATUS: Names[AccrualAgreementStatus] = Names(
    AccrualAgreementStatus, pb.AccrualAgreementStatus, "ACCRUAL_AGREEMENT_STATUS_"
)
_AWARD_STATE: Names[AwardState] = Names(AwardState, pb.AwardState, "AWARD_STATE_")


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


def _accrual_agreement(m: pb.AccrualAgreement) -> AccrualAgreement:
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
        status=_STATUS.of(m.status),
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
        state=_AWARD_STATE.of(m.state),
        created_at=to_datetime(m.created_at),
        credit_deadline=to_datetime(m.credit_deadline),
        void_reason=m.void_reason,
    )


def propose_accrual_agreement(
    self: PartnerConnection, terms: AccrualTerms, *, timeout_s: float | None = None
) -> AccrualAgreement:
    """As the awarder: sign the accrual document of terms and propose it."""
    answer = self.transport.call(
        _ACCRUALS + "ProposeAccrualAgreement",
        pb.ProposeAccrualAgreementRequest(
            terms=_terms_message(terms), proposer_signature=self.sign_document(accrual_document(terms))
        ),
        pb.ProposeAccrualAgreementResponse,
        timeout_s=timeout_s,
    )
    return _accrual_agreement(answer.agreement)


def accept_accrual_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> AccrualAgreement:
    """As the issuer: read the proposal, check its document is what its terms say, sign it and accept."""
    proposed = get_accrual_agreement(self, agreement_id, timeout_s=timeout_s)
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
    return _accrual_agreement(answer.agreement)


def get_accrual_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> AccrualAgreement:
    """Return one accrual agreement version."""
    answer = self.transport.call(
        _ACCRUALS + "GetAccrualAgreement",
        pb.GetAccrualAgreementRequest(agreement_id=agreement_id),
        pb.GetAccrualAgreementResponse,
        timeout_s=timeout_s,
    )
    return _accrual_agreement(answer.agreement)


def award_points(
    self: PartnerConnection, items: Sequence[AwardItem], *, timeout_s: float | None = None
) -> list[AwardResult]:
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
                idempotency_key=item.idempotency_key or new_key("k-"),
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


def award(self: PartnerConnection, item: AwardItem, *, timeout_s: float | None = None) -> AwardResult:
    """Award one item (AwardPoints with a single item)."""
    return award_points(self, [item], timeout_s=timeout_s)[0]


def get_award(self: PartnerConnection, award_id: str, *, timeout_s: float | None = None) -> Award:
    """Return one award."""
    answer = self.transport.call(
        _ACCRUALS + "GetAward", pb.GetAwardRequest(award_id=award_id), pb.GetAwardResponse, timeout_s=timeout_s
    )
    return _award(answer.award)
