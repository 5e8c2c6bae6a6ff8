"""StatusMatchService: thin translations between protobuf and the status match commands."""

from __future__ import annotations

from coalition.exchange.v1 import status_match_pb2 as pb
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.member_service import pairwise_secret
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.errors import InvalidArgument
from exchange.domain.status_match import MatchAgreement
from exchange.domain.status_match_terms import Challenge, Tier
from exchange.service import status_match
from exchange.service.pipeline import PARTNERS, command
from exchange.service.status_match import HubSigner, MatchView, SignedAttestation

STATUS_MATCH_SERVICE = pb.DESCRIPTOR.services_by_name["StatusMatchService"].full_name


def _signer(call: Invocation) -> HubSigner:
    return HubSigner(call.hub.signer.key_id, call.hub.signer.private_key.sign)


def _agreement_message(a: MatchAgreement) -> pb.MatchAgreement:
    t = a.terms
    terms = pb.MatchTerms(
        recogniser_partner_id=t.recogniser_partner_id,
        attester_partner_id=t.attester_partner_id,
        version=t.version,
        mapping=[pb.TierMapping(attester_tier=x, recogniser_tier=y) for x, y in t.mapping],
        match_days=t.match_days,
        period_days=t.period_days,
        max_tier_age_days=t.max_tier_age_days,
        valid_from=timestamp(t.valid_from_ms),
        valid_until=timestamp(t.valid_until_ms),
    )
    if t.challenge is not None:
        terms.challenge.CopyFrom(
            pb.Challenge(days=t.challenge.days, activity=t.challenge.activity, target=t.challenge.target)
        )
    return pb.MatchAgreement(
        agreement_id=a.agreement_id,
        terms=terms,
        status=f"MATCH_AGREEMENT_STATUS_{a.status.value}",  # type: ignore[arg-type]
        document=a.document,
        proposer_key_id=a.proposer_key_id,
        proposer_signature=a.proposer_signature,
        acceptor_key_id=a.acceptor_key_id,
        acceptor_signature=a.acceptor_signature,
        proposed_at=timestamp(a.proposed_at_ms),
    )


def _match_message(v: MatchView) -> pb.StatusMatch:
    m = v.match
    message = pb.StatusMatch(
        match_id=m.match_id,
        recogniser_partner_id=m.recogniser_partner_id,
        attester_partner_id=m.attester_partner_id,
        member_ref=v.member_ref,
        attester_tier=m.attester_tier,
        matched_tier=m.matched_tier,
        state=f"MATCH_STATE_{m.state.value}",  # type: ignore[arg-type]
        started_at=timestamp(m.started_at_ms),
        ends_at=timestamp(m.ends_at_ms),
        end_reason=m.end_reason.value if m.end_reason is not None else "",
        agreement_version=m.agreement_version,
    )
    if m.challenge_pending:
        message.challenge_ends_at.CopyFrom(timestamp(m.ends_at_ms))
    if m.ended_at_ms is not None:
        message.ended_at.CopyFrom(timestamp(m.ended_at_ms))
    return message


def _attestation_message(a: SignedAttestation) -> pb.TierAttestation:
    return pb.TierAttestation(payload=a.payload, hub_key_id=a.hub_key_id, signature=a.signature)


@command(pb.PublishTierLadderRequest, callers=PARTNERS)
def _publish_ladder(call: Invocation, request: pb.PublishTierLadderRequest) -> pb.PublishTierLadderResponse:
    ladder = status_match.publish_ladder(
        call.work, call.caller, [Tier(t.code, t.name) for t in request.tiers], call.now_ms
    )
    return pb.PublishTierLadderResponse(
        ladder=pb.TierLadder(
            partner_id=ladder.partner_id, tiers=[pb.Tier(code=t.code, name=t.name) for t in ladder.tiers]
        )
    )


@command(pb.PublishMemberTierRequest, callers=PARTNERS)
def _publish_tier(call: Invocation, request: pb.PublishMemberTierRequest) -> pb.PublishMemberTierResponse:
    for name in ("reached_at", "holds_until"):
        if not request.HasField(name):
            raise InvalidArgument("MISSING_TIME", "reached_at and holds_until are required", field=name)
    ended = status_match.publish_member_tier(
        call.work,
        call.caller,
        request.member_ref,
        code=request.tier_code,
        reached_at_ms=timestamp_ms(request.reached_at, "reached_at"),
        holds_until_ms=timestamp_ms(request.holds_until, "holds_until"),
        now_ms=call.now_ms,
    )
    return pb.PublishMemberTierResponse(matches_ended=ended)


@command(pb.ProposeMatchAgreementRequest, callers=PARTNERS)
def _propose(call: Invocation, request: pb.ProposeMatchAgreementRequest) -> pb.ProposeMatchAgreementResponse:
    t = request.terms
    if not t.HasField("valid_from") or not t.HasField("valid_until"):
        raise InvalidArgument("MISSING_VALIDITY", "valid_from and valid_until are required", field="terms.valid_from")
    challenge = (
        Challenge(t.challenge.days, t.challenge.activity, t.challenge.target) if t.HasField("challenge") else None
    )
    agreement = status_match.propose_agreement(
        call.work,
        call.caller,
        recogniser_partner_id=t.recogniser_partner_id,
        attester_partner_id=t.attester_partner_id,
        version=t.version,
        mapping=[(m.attester_tier, m.recogniser_tier) for m in t.mapping],
        challenge=challenge,
        match_days=t.match_days,
        period_days=t.period_days,
        max_tier_age_days=t.max_tier_age_days,
        valid_from_ms=timestamp_ms(t.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(t.valid_until, "terms.valid_until"),
        signature=request.proposer_signature,
        now_ms=call.now_ms,
    )
    return pb.ProposeMatchAgreementResponse(agreement=_agreement_message(agreement))


@command(pb.AcceptMatchAgreementRequest, callers=PARTNERS)
def _accept(call: Invocation, request: pb.AcceptMatchAgreementRequest) -> pb.AcceptMatchAgreementResponse:
    agreement = status_match.accept_agreement(
        call.work, call.caller, request.agreement_id, request.acceptor_signature, call.now_ms
    )
    return pb.AcceptMatchAgreementResponse(agreement=_agreement_message(agreement))


@command(pb.GetMatchAgreementRequest, callers=PARTNERS)
def _get_agreement(call: Invocation, request: pb.GetMatchAgreementRequest) -> pb.GetMatchAgreementResponse:
    return pb.GetMatchAgreementResponse(
        agreement=_agreement_message(status_match.get_agreement(call.work, call.caller, request.agreement_id))
    )


@command(pb.RequestStatusMatchRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _request(call: Invocation, request: pb.RequestStatusMatchRequest) -> pb.RequestStatusMatchResponse:
    found, attestation = status_match.request_match(
        call.work,
        call.caller,
        request.member_ref,
        request.counterparty_partner_id,
        pairwise_secret=pairwise_secret(call),
        signer=_signer(call),
        now_ms=call.now_ms,
    )
    answer = pb.RequestStatusMatchResponse(match=_match_message(found))
    if attestation is not None:
        answer.attestation.CopyFrom(_attestation_message(attestation))
    return answer


@command(pb.GetStatusMatchRequest, callers=PARTNERS)
def _get(call: Invocation, request: pb.GetStatusMatchRequest) -> pb.GetStatusMatchResponse:
    return pb.GetStatusMatchResponse(match=_match_message(status_match.view(call.work, call.caller, request.match_id)))


@command(pb.GetTierAttestationRequest, callers=PARTNERS)
def _attestation(call: Invocation, request: pb.GetTierAttestationRequest) -> pb.GetTierAttestationResponse:
    signed = status_match.attestation(
        call.work,
        call.caller,
        request.match_id,
        pairwise_secret=pairwise_secret(call),
        signer=_signer(call),
        now_ms=call.now_ms,
    )
    return pb.GetTierAttestationResponse(attestation=_attestation_message(signed))


@command(pb.ReportChallengeRequest, callers=PARTNERS)
def _report(call: Invocation, request: pb.ReportChallengeRequest) -> pb.ReportChallengeResponse:
    found = status_match.report_challenge(call.work, call.caller, request.match_id, request.met, call.now_ms)
    return pb.ReportChallengeResponse(match=_match_message(found))


STATUS_MATCH_METHODS: SignedMethods = {
    "PublishTierLadder": _publish_ladder,
    "PublishMemberTier": _publish_tier,
    "ProposeMatchAgreement": _propose,
    "AcceptMatchAgreement": _accept,
    "GetMatchAgreement": _get_agreement,
    "RequestStatusMatch": _request,
    "GetStatusMatch": _get,
    "GetTierAttestation": _attestation,
    "ReportChallenge": _report,
}
