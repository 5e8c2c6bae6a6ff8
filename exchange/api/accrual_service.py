"""AccrualService: translations, and the per-item loop of AwardPoints (each item exactly once, alone)."""

from __future__ import annotations

from coalition.exchange.v1 import accruals_pb2 as pb
from coalition.exchange.v1 import common_pb2
from exchange.api.batch_items import run_item
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.accruals import MAX_ITEMS, AccrualAgreement, AccrualTerms, Award
from exchange.domain.errors import InvalidArgument
from exchange.domain.money import Ratio
from exchange.service import accruals
from exchange.service.pipeline import PARTNERS, command
from exchange.service.stored_answers import Answer

ACCRUAL_SERVICE = pb.DESCRIPTOR.services_by_name["AccrualService"].full_name
AWARD_ITEM_METHOD = f"/{ACCRUAL_SERVICE}/AwardPoints#item"


def _terms(m: pb.AccrualTerms) -> AccrualTerms:
    if not m.HasField("valid_from") or not m.HasField("valid_until"):
        raise InvalidArgument("MISSING_VALIDITY", "valid_from and valid_until are required", field="terms.valid_from")
    return AccrualTerms(
        awarder_partner_id=m.awarder_partner_id,
        issuer_partner_id=m.issuer_partner_id,
        version=m.version,
        activity_types=tuple(m.activity_types),
        price_per_point_minor=Ratio.parse(
            m.price_per_point_minor.numerator, m.price_per_point_minor.denominator, field="terms.price_per_point_minor"
        ),
        settlement_currency=m.settlement_currency,
        monthly_budget_points=m.monthly_budget_points,
        monthly_budget_minor=m.monthly_budget_minor,
        member_daily_cap_points=m.member_daily_cap_points,
        valid_from_ms=timestamp_ms(m.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(m.valid_until, "terms.valid_until"),
    )


def _agreement(a: AccrualAgreement) -> pb.AccrualAgreement:
    t = a.terms
    message = pb.AccrualAgreement(
        agreement_id=a.agreement_id,
        terms=pb.AccrualTerms(
            awarder_partner_id=t.awarder_partner_id,
            issuer_partner_id=t.issuer_partner_id,
            version=t.version,
            activity_types=list(t.activity_types),
            price_per_point_minor=common_pb2.Ratio(
                numerator=t.price_per_point_minor.numerator, denominator=t.price_per_point_minor.denominator
            ),
            settlement_currency=t.settlement_currency,
            monthly_budget_points=t.monthly_budget_points,
            monthly_budget_minor=t.monthly_budget_minor,
            member_daily_cap_points=t.member_daily_cap_points,
            valid_from=timestamp(t.valid_from_ms),
            valid_until=timestamp(t.valid_until_ms),
        ),
        status=f"ACCRUAL_AGREEMENT_STATUS_{a.status.value}",  # type: ignore[arg-type]
        document=a.document,
        proposer_key_id=a.proposer_key_id,
        proposer_signature=a.proposer_signature,
        acceptor_key_id=a.acceptor_key_id,
        acceptor_signature=a.acceptor_signature,
        proposed_at=timestamp(a.proposed_at_ms),
    )
    if a.accepted_at_ms is not None:
        message.accepted_at.CopyFrom(timestamp(a.accepted_at_ms))
    return message


def _award(a: Award, viewer: str) -> pb.Award:
    return pb.Award(
        award_id=a.award_id,
        agreement_id=a.agreement_id,
        awarder_partner_id=a.awarder_partner_id,
        issuer_partner_id=a.issuer_partner_id,
        pairwise_member_id=a.awarder_pairwise_id if viewer == a.awarder_partner_id else "",
        activity_type=a.activity_type,
        activity_reference=a.activity_reference,
        points=a.points,
        settlement_amount_minor=a.settlement_amount_minor,
        settlement_currency=a.settlement_currency,
        state=f"AWARD_STATE_{a.state.value}",  # type: ignore[arg-type]
        created_at=timestamp(a.created_at_ms),
        credit_deadline=timestamp(a.credit_deadline_ms),
        void_reason=a.void_reason,
    )


@command(pb.ProposeAccrualAgreementRequest, callers=PARTNERS)
def _propose(call: Invocation, request: pb.ProposeAccrualAgreementRequest) -> pb.ProposeAccrualAgreementResponse:
    made = accruals.propose(
        call.connection, call.caller, _terms(request.terms), request.proposer_signature, call.now_ms
    )
    return pb.ProposeAccrualAgreementResponse(agreement=_agreement(made))


@command(pb.AcceptAccrualAgreementRequest, callers=PARTNERS)
def _accept(call: Invocation, request: pb.AcceptAccrualAgreementRequest) -> pb.AcceptAccrualAgreementResponse:
    done = accruals.accept(call.connection, call.caller, request.agreement_id, request.acceptor_signature, call.now_ms)
    return pb.AcceptAccrualAgreementResponse(agreement=_agreement(done))


@command(pb.GetAccrualAgreementRequest, callers=PARTNERS)
def _get_agreement(call: Invocation, request: pb.GetAccrualAgreementRequest) -> pb.GetAccrualAgreementResponse:
    found = accruals.get_agreement(call.connection, call.caller, request.agreement_id)
    return pb.GetAccrualAgreementResponse(agreement=_agreement(found))


@command(pb.AwardPointsRequest, callers=PARTNERS)
def _award_points(call: Invocation, request: pb.AwardPointsRequest) -> pb.AwardPointsResponse:
    if not 1 <= len(request.items) <= MAX_ITEMS:
        raise InvalidArgument("INVALID_ITEM_COUNT", f"send 1 to {MAX_ITEMS} items", field="items")
    return pb.AwardPointsResponse(results=[_award_item(call, item) for item in request.items])


def _award_item(call: Invocation, item: pb.AwardItem) -> pb.AwardResult:
    """One item in a savepoint of its own: its writes and its idempotency key stand or fall alone."""

    def produce() -> Answer:
        made = accruals.award(
            call.connection,
            call.caller,
            issuer_partner_id=item.issuer_partner_id,
            pairwise_member_id=item.pairwise_member_id,
            activity_type=item.activity_type,
            activity_reference=item.activity_reference,
            points=item.points,
            now_ms=call.now_ms,
            credit_deadline_ms=call.hub.policy.credit_deadline_ms,
        )
        # An award names the member by the awarder's pairwise id only: kept as it is.
        return Answer(pb.AwardResult(award=_award(made, call.caller.principal)).SerializeToString())

    outcome = run_item(
        call.connection,
        partner_id=call.caller.principal,
        key=item.idempotency_key,
        method=AWARD_ITEM_METHOD,
        item_bytes=item.SerializeToString(deterministic=True),
        now_ms=call.now_ms,
        produce=produce,
    )
    if isinstance(outcome, bytes):
        return pb.AwardResult.FromString(outcome)
    return pb.AwardResult(error=outcome)


@command(pb.GetAwardRequest, callers=PARTNERS)
def _get_award(call: Invocation, request: pb.GetAwardRequest) -> pb.GetAwardResponse:
    found = accruals.get_award(call.connection, call.caller, request.award_id)
    return pb.GetAwardResponse(award=_award(found, call.caller.principal))


ACCRUAL_METHODS: SignedMethods = {
    "ProposeAccrualAgreement": _propose,
    "AcceptAccrualAgreement": _accept,
    "GetAccrualAgreement": _get_agreement,
    "AwardPoints": _award_points,
    "GetAward": _get_award,
}
