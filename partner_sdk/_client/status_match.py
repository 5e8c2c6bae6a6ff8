"""StatusMatchService: tier ladders, members' tiers, match agreements, status matches and tier attestations."""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import status_match_pb2 as pb
from partner_sdk._client.connection import PartnerConnection, new_key
from partner_sdk._client.proposals import check_document, check_proposer_signature
from partner_sdk._convert import Names, _optional_time, to_datetime, to_timestamp
from partner_sdk.documents import epoch_ms
from partner_sdk.status_match import (
    Challenge,
    MatchAgreement,
    MatchAgreementStatus,
    MatchEndReason,
    MatchState,
    MatchTerms,
    StatusMatch,
    Tier,
    TierAttestation,
    TierLadder,
    match_document,
)

_STATUS_MATCH = "/coalition.exchange.v1.StatusMatchService/"
AGREEMENT_STATUS: Names[MatchAgreementStatus] = Names(
    MatchAgreementStatus, pb.MatchAgreementStatus, "MATCH_AGREEMENT_STATUS_"
)
MATCH_STATE: Names[MatchState] = Names(MatchState, pb.MatchState, "MATCH_STATE_")
END_REASON: Names[MatchEndReason] = Names(MatchEndReason)


def _whole_ms(moment: datetime) -> Timestamp:
    """Terms' times are whole milliseconds, as in the signed document (sub-millisecond parts are dropped)."""
    stamp = Timestamp()
    stamp.FromMilliseconds(epoch_ms(moment))
    return stamp


def ladder(message: pb.TierLadder) -> TierLadder:
    """Convert a TierLadder message."""
    return TierLadder(partner_id=message.partner_id, tiers=tuple(Tier(t.code, t.name) for t in message.tiers))


def terms_to_proto(terms: MatchTerms) -> pb.MatchTerms:
    """Return the MatchTerms message for terms, the mapping in its own order (the hub sorts it as the document does).

    Raises:
        ValueError: a datetime is naive.
    """
    message = pb.MatchTerms(
        recogniser_partner_id=terms.recogniser_partner_id,
        attester_partner_id=terms.attester_partner_id,
        version=terms.version,
        mapping=[pb.TierMapping(attester_tier=a, recogniser_tier=r) for a, r in terms.mapping],
        match_days=terms.match_days,
        period_days=terms.period_days,
        max_tier_age_days=terms.max_tier_age_days,
        valid_from=_whole_ms(terms.valid_from),
        valid_until=_whole_ms(terms.valid_until),
    )
    if terms.challenge is not None:
        challenge = terms.challenge
        message.challenge.CopyFrom(
            pb.Challenge(days=challenge.days, activity=challenge.activity, target=challenge.target)
        )
    return message


def terms(message: pb.MatchTerms) -> MatchTerms:
    """Convert a MatchTerms message (no challenge: None)."""
    challenge = message.challenge
    return MatchTerms(
        recogniser_partner_id=message.recogniser_partner_id,
        attester_partner_id=message.attester_partner_id,
        version=message.version,
        mapping=tuple((m.attester_tier, m.recogniser_tier) for m in message.mapping),
        challenge=Challenge(challenge.days, challenge.activity, challenge.target)
        if message.HasField("challenge")
        else None,
        match_days=message.match_days,
        period_days=message.period_days,
        max_tier_age_days=message.max_tier_age_days,
        valid_from=to_datetime(message.valid_from),
        valid_until=to_datetime(message.valid_until),
    )


def agreement(message: pb.MatchAgreement) -> MatchAgreement:
    """Convert a MatchAgreement message."""
    return MatchAgreement(
        agreement_id=message.agreement_id,
        terms=terms(message.terms),
        status=AGREEMENT_STATUS.of(message.status),
        document=message.document,
        proposer_key_id=message.proposer_key_id,
        proposer_signature=message.proposer_signature,
        acceptor_key_id=message.acceptor_key_id,
        acceptor_signature=message.acceptor_signature,
        proposed_at=to_datetime(message.proposed_at),
    )


def status_match(message: pb.StatusMatch) -> StatusMatch:
    """Convert a StatusMatch message (challenge_ends_at and ended_at None when unset)."""
    return StatusMatch(
        match_id=message.match_id,
        recogniser_partner_id=message.recogniser_partner_id,
        attester_partner_id=message.attester_partner_id,
        member_ref=message.member_ref,
        attester_tier=message.attester_tier,
        matched_tier=message.matched_tier,
        state=MATCH_STATE.of(message.state),
        started_at=to_datetime(message.started_at),
        ends_at=to_datetime(message.ends_at),
        challenge_ends_at=_optional_time(message, "challenge_ends_at"),
        ended_at=_optional_time(message, "ended_at"),
        end_reason=END_REASON.of_text(message.end_reason),
        agreement_version=message.agreement_version,
    )


def tier_attestation(message: pb.TierAttestation) -> TierAttestation:
    """Convert a TierAttestation message, its payload the exact bytes the hub signed."""
    return TierAttestation(payload=message.payload, hub_key_id=message.hub_key_id, signature=message.signature)


def publish_tier_ladder(
    self: PartnerConnection, tiers: Sequence[Tier], *, timeout_s: float | None = None
) -> TierLadder:
    """Publish your tier ladder, lowest tier first; it replaces the one you published before.

    Args:
        tiers: 1 to 20 tiers, lowest first, each code unique on the ladder.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        Your ladder as the hub keeps it.

    Raises:
        TypeError: tiers is a single Tier, not a sequence of them.
        ExchangeError: the hub refused it (InvalidArgumentError INVALID_TIER_CODE, DUPLICATE_TIER, ...).
    """
    if isinstance(tiers, Tier):
        raise TypeError("pass a sequence of tiers, lowest first, not a single Tier")
    answer = self.transport.call(
        _STATUS_MATCH + "PublishTierLadder",
        pb.PublishTierLadderRequest(tiers=[pb.Tier(code=t.code, name=t.name) for t in tiers]),
        pb.PublishTierLadderResponse,
        timeout_s=timeout_s,
    )
    return ladder(answer.ladder)


def publish_member_tier(
    self: PartnerConnection,
    member_ref: str,
    *,
    tier_code: str,
    reached_at: datetime,
    holds_until: datetime,
    timeout_s: float | None = None,
) -> int:
    """As an attester: publish one of your members' current tier (member data, shared only under consent).

    A lower tier than before, or one that no longer holds, ends the matches it attested: each
    recogniser receives TIER_MATCH_ENDED.

    Args:
        member_ref: your own reference for the member.
        tier_code: a code on your ladder.
        reached_at: when the member reached it, timezone-aware, in the past.
        holds_until: until when it holds (the next requalification), timezone-aware, in the future.
        timeout_s: this call's deadline in seconds.

    Returns:
        How many matches this tier attested ended because of it.

    Raises:
        ValueError: a datetime is naive (nothing was sent).
        ExchangeError: the hub refused it (InvalidArgumentError TIER_NOT_ON_LADDER, ...).
    """
    answer = self.transport.call(
        _STATUS_MATCH + "PublishMemberTier",
        pb.PublishMemberTierRequest(
            member_ref=member_ref,
            tier_code=tier_code,
            reached_at=to_timestamp(reached_at),
            holds_until=to_timestamp(holds_until),
        ),
        pb.PublishMemberTierResponse,
        timeout_s=timeout_s,
    )
    return int(answer.matches_ended)


def propose_match_agreement(
    self: PartnerConnection, terms: MatchTerms, *, timeout_s: float | None = None
) -> MatchAgreement:
    """Propose a version of a pair's match terms as its recogniser, signed with this client's key.

    The client signs match_document(terms) with the key that signs the call; the attester then
    checks and accepts it (accept_match_agreement).

    Args:
        terms: the terms; terms.recogniser_partner_id must be this partner. version is 1 for the
            pair's first, then the latest version plus one.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The new version, PROPOSED.

    Raises:
        TypeError: a number in terms is a float or bool.
        ValueError: a datetime is naive.
        ExchangeError: the hub refused it (InvalidArgumentError for bad terms, ...).
    """
    request = pb.ProposeMatchAgreementRequest(
        terms=terms_to_proto(terms), proposer_signature=self.sign_document(match_document(terms))
    )
    answer = self.transport.call(
        _STATUS_MATCH + "ProposeMatchAgreement", request, pb.ProposeMatchAgreementResponse, timeout_s=timeout_s
    )
    return agreement(answer.agreement)


def accept_match_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> MatchAgreement:
    """Accept a PROPOSED version as its attester, after checking what is signed.

    Read it with get_match_agreement first and accept only terms you agree to: a version is
    never edited, so what you read is what you sign. Before signing, the client checks that the
    hub's document is exactly match_document(terms) and that the recogniser's signature over it
    verifies with the recogniser's registered key.

    Args:
        agreement_id: the PROPOSED version to accept.
        timeout_s: the deadline of each call this makes (the client's default if None).

    Returns:
        The version, ACTIVE (the pair's previous ACTIVE version is SUPERSEDED).

    Raises:
        ResponseVerificationError: reason AGREEMENT_DOCUMENT_MISMATCH if the document does not
            match the terms, PROPOSER_SIGNATURE_INVALID if the recogniser's key is unknown or
            revoked or its signature does not verify. Nothing was signed.
        ExchangeError: the hub refused a call.
    """
    proposed = get_match_agreement(self, agreement_id, timeout_s=timeout_s)
    label = f"match agreement {agreement_id}"
    check_document(label, proposed.document, lambda: match_document(proposed.terms))
    check_proposer_signature(
        self,
        label=label,
        document=proposed.document,
        proposer_partner_id=proposed.terms.recogniser_partner_id,
        role="recogniser",
        key_id=proposed.proposer_key_id,
        signature=proposed.proposer_signature,
        timeout_s=timeout_s,
    )
    answer = self.transport.call(
        _STATUS_MATCH + "AcceptMatchAgreement",
        pb.AcceptMatchAgreementRequest(
            agreement_id=agreement_id, acceptor_signature=self.sign_document(proposed.document)
        ),
        pb.AcceptMatchAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def get_match_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> MatchAgreement:
    """Return one version of a pair's match terms (to its two brands only)."""
    answer = self.transport.call(
        _STATUS_MATCH + "GetMatchAgreement",
        pb.GetMatchAgreementRequest(agreement_id=agreement_id),
        pb.GetMatchAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def request_status_match(
    self: PartnerConnection,
    member_ref: str,
    *,
    counterparty_partner_id: str,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> tuple[StatusMatch, TierAttestation | None]:
    """The member asks, in your app, to have their tier at the attester recognised at the recogniser.

    Either brand may ask; the member needs a live STATUS_MATCH consent (attester to recogniser,
    the attribute "status_tier") and a tier the attester published recently enough. The
    recogniser receives TIER_MATCHED as well.

    Args:
        member_ref: your own reference for the member.
        counterparty_partner_id: the other brand of the match (the attester when you recognise,
            the recogniser when you attest).
        idempotency_key: your key for this request; a retry with it gets the same answer (a
            fresh one protects only this call's own retries).
        timeout_s: this call's deadline in seconds.

    Returns:
        The match, ACTIVE, and, when you are the recogniser, its attestation (unverified: check
        it with verify_tier_attestation); None when you are the attester.

    Raises:
        ExchangeError: the hub refused it (FailedPreconditionError NO_MATCH_AGREEMENT, ...).
    """
    answer = self.transport.call(
        _STATUS_MATCH + "RequestStatusMatch",
        pb.RequestStatusMatchRequest(
            member_ref=member_ref,
            counterparty_partner_id=counterparty_partner_id,
            idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-status-match-"),
        ),
        pb.RequestStatusMatchResponse,
        timeout_s=timeout_s,
    )
    attestation = tier_attestation(answer.attestation) if answer.HasField("attestation") else None
    return status_match(answer.match), attestation


def get_status_match(self: PartnerConnection, match_id: str, *, timeout_s: float | None = None) -> StatusMatch:
    """Return a match to either of its brands."""
    answer = self.transport.call(
        _STATUS_MATCH + "GetStatusMatch",
        pb.GetStatusMatchRequest(match_id=match_id),
        pb.GetStatusMatchResponse,
        timeout_s=timeout_s,
    )
    return status_match(answer.match)


def get_tier_attestation(self: PartnerConnection, match_id: str, *, timeout_s: float | None = None) -> TierAttestation:
    """As the recogniser: get a fresh hub-signed attestation of a live match (refused once it ended).

    Returns:
        The attestation, valid until the match's ends_at, unverified: verify it with
        verify_tier_attestation (the hub's public key and your partner id) before relying on it.
    """
    answer = self.transport.call(
        _STATUS_MATCH + "GetTierAttestation",
        pb.GetTierAttestationRequest(match_id=match_id),
        pb.GetTierAttestationResponse,
        timeout_s=timeout_s,
    )
    return tier_attestation(answer.attestation)


def report_challenge(
    self: PartnerConnection, match_id: str, *, met: bool, timeout_s: float | None = None
) -> StatusMatch:
    """As the recogniser: report whether the member reached the match's challenge target in time.

    Args:
        match_id: the match.
        met: True if the member reached the target before the challenge's deadline.
        timeout_s: this call's deadline in seconds.

    Returns:
        The match: CONFIRMED, or ENDED with CHALLENGE_FAILED.

    Raises:
        TypeError: met is not a bool (nothing was sent).
        ExchangeError: the hub refused it.
    """
    if not isinstance(met, bool):
        raise TypeError(f"met must be a bool, not {type(met).__name__}")
    answer = self.transport.call(
        _STATUS_MATCH + "ReportChallenge",
        pb.ReportChallengeRequest(match_id=match_id, met=met),
        pb.ReportChallengeResponse,
        timeout_s=timeout_s,
    )
    return status_match(answer.match)
