"""Status match (issue 22): the terms' versions, and a member's tier at the attester recognised at the recogniser.

The terms, ladders and a member's published tier are in exchange.domain.status_match_terms.
A version of a pair's terms is PROPOSED (the recogniser signed document_of(terms)), then ACTIVE
once the attester signed the same bytes; accepting it SUPERSEDES the pair's previous ACTIVE
version. Matches started under an older version keep it (agreement_version) and run their course.

A match's states::

    start_match --> ACTIVE (challenge pending, until the challenge deadline)
                    ACTIVE --report_challenge(met)--> CONFIRMED (until started + match_days)
                    ACTIVE --report_challenge(not met)--> ENDED CHALLENGE_FAILED
    start_match --> ACTIVE (no challenge, until started + match_days)
    any live state --end_if_due--> ENDED CHALLENGE_FAILED (deadline passed, no report)
                                   ENDED EXPIRED (match_days over)
    any live state --end_match--> ENDED DOWNGRADED, LAPSED, CONSENT_REVOKED, UNLINKED or ERASED

An ENDED match never changes again: end_match and end_if_due return None for it, so the
service sends TIER_MATCH_ENDED exactly when one of them (or report_challenge, not met) returns
a newly ENDED match. A match started while the terms were in force runs its course even past
their valid_until: the recogniser signed to honour matches made under them.

At most one match per member per pair per period: a member's previous match with the same
recogniser and attester (under any version) that started less than period_days before now, or
that has not ENDED, refuses a new one (AlreadyExists ALREADY_MATCHED). Ended matches count:
ending a match early does not open a new one within the period. The service ends the member's
due matches (end_if_due) before starting another: start_match asserts it. So a member has at
most one open match per pair, whatever the clock does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from exchange.domain.agreements import DAY_MS, expected_version
from exchange.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    require,
)
from exchange.domain.status_match_terms import Challenge, MatchTerms, MemberTier, TierLadder, document_of

ATTESTATION_FORMAT = "coalition-tier-attestation/1"


# Versions and signatures ------------------------------------------------------------------------


class MatchAgreementStatus(enum.Enum):
    """Where a version of a pair's match terms stands."""

    PROPOSED = "PROPOSED"
    ACTIVE = "ACTIVE"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True, slots=True)
class MatchAgreement:
    """One version of a pair's terms, with the recogniser's signature and, once accepted, the attester's."""

    agreement_id: str
    terms: MatchTerms
    status: MatchAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    proposed_at_ms: int
    status_changed_at_ms: int
    acceptor_key_id: str = ""
    acceptor_signature: bytes = b""
    accepted_at_ms: int | None = None

    def __post_init__(self) -> None:
        require(self.document == document_of(self.terms), "an agreement keeps the document of its terms")
        accepted = self.status is not MatchAgreementStatus.PROPOSED
        require(accepted == (self.accepted_at_ms is not None), "an accepted version says when it was accepted")

    def is_party(self, partner_id: str) -> bool:
        """Whether the brand is the recogniser or the attester."""
        return partner_id in (self.terms.recogniser_partner_id, self.terms.attester_partner_id)


def require_visible(agreement: MatchAgreement | None, caller: str, agreement_id: str) -> MatchAgreement:
    """Return the version if the caller is one of its brands; otherwise it does not exist for them."""
    if agreement is None or not agreement.is_party(caller):
        raise NotFound("MATCH_AGREEMENT_NOT_FOUND", f"no status match agreement {agreement_id!r}", field="agreement_id")
    return agreement


def propose(
    terms: MatchTerms,
    *,
    agreement_id: str,
    caller: str,
    key_id: str,
    signature: bytes,
    latest_version: int | None,
    now_ms: int,
) -> MatchAgreement:
    """The recogniser proposes the pair's next version (its signature over document_of(terms) checked by the caller).

    latest_version is the pair's latest version whatever its status (None for the first).
    """
    if caller != terms.recogniser_partner_id:
        raise PermissionDenied(
            "NOT_RECOGNISER", "only the recognising brand proposes match terms", field="terms.recogniser_partner_id"
        )
    if terms.version != expected_version(latest_version):
        raise FailedPrecondition(
            "WRONG_VERSION",
            f"the next version of this pair's match terms is {expected_version(latest_version)}, not {terms.version}",
            field="terms.version",
        )
    return MatchAgreement(
        agreement_id=agreement_id,
        terms=terms,
        status=MatchAgreementStatus.PROPOSED,
        document=document_of(terms),
        proposer_key_id=key_id,
        proposer_signature=signature,
        proposed_at_ms=now_ms,
        status_changed_at_ms=now_ms,
    )


def accept(
    agreement: MatchAgreement,
    *,
    caller: str,
    key_id: str,
    signature: bytes,
    now_ms: int,
    active: MatchAgreement | None,
) -> tuple[MatchAgreement, MatchAgreement | None]:
    """The attester accepts a proposed version; return it ACTIVE and the pair's previous ACTIVE version SUPERSEDED.

    active is the pair's ACTIVE version now (None if there is none). A version older than the
    active one is refused: accepting it would put older terms back in force.
    """
    if caller != agreement.terms.attester_partner_id:
        raise PermissionDenied("NOT_ATTESTER", "only the attesting brand accepts match terms")
    if agreement.status is not MatchAgreementStatus.PROPOSED:
        raise FailedPrecondition(
            "AGREEMENT_NOT_PROPOSED", f"agreement {agreement.agreement_id!r} is {agreement.status.value}, not PROPOSED"
        )
    if active is not None:
        require(
            active.status is MatchAgreementStatus.ACTIVE
            and (active.terms.recogniser_partner_id, active.terms.attester_partner_id)
            == (agreement.terms.recogniser_partner_id, agreement.terms.attester_partner_id),
            "the version superseded is the same pair's ACTIVE one",
        )
        if active.terms.version > agreement.terms.version:
            raise FailedPrecondition(
                "AGREEMENT_OUTDATED",
                f"version {active.terms.version} is in force already; propose a newer one",
                field="agreement_id",
            )
    accepted = replace(
        agreement,
        status=MatchAgreementStatus.ACTIVE,
        acceptor_key_id=key_id,
        acceptor_signature=signature,
        accepted_at_ms=now_ms,
        status_changed_at_ms=now_ms,
    )
    superseded = (
        None if active is None else replace(active, status=MatchAgreementStatus.SUPERSEDED, status_changed_at_ms=now_ms)
    )
    return accepted, superseded


# Matches ----------------------------------------------------------------------------------------


class MatchState(enum.Enum):
    """Where a match stands."""

    ACTIVE = "ACTIVE"  # recognised; a challenge may be pending
    CONFIRMED = "CONFIRMED"  # the challenge was met: recognised until started + match_days
    ENDED = "ENDED"


class EndReason(enum.StrEnum):
    """Why a match ended (the TIER_MATCH_ENDED instruction carries it)."""

    DOWNGRADED = "DOWNGRADED"  # the attester's tier fell below the matched one
    LAPSED = "LAPSED"  # the member holds no tier at the attester any more
    CONSENT_REVOKED = "CONSENT_REVOKED"
    UNLINKED = "UNLINKED"
    ERASED = "ERASED"
    CHALLENGE_FAILED = "CHALLENGE_FAILED"  # reported not met, or the deadline passed without a report
    EXPIRED = "EXPIRED"  # match_days are over


# Time alone ends a match for these reasons (end_if_due, report_challenge); end_match takes the others.
TIMED_END_REASONS = frozenset({EndReason.CHALLENGE_FAILED, EndReason.EXPIRED})


@dataclass(frozen=True, slots=True)
class Match:
    """One member's tier at the attester recognised at the recogniser."""

    match_id: str
    member_id: str
    recogniser_partner_id: str
    attester_partner_id: str
    agreement_version: int
    attester_tier: str
    matched_tier: str
    challenge: Challenge | None
    state: MatchState
    started_at_ms: int
    ends_at_ms: int  # the challenge deadline while it is pending, else match_ends_at_ms
    match_ends_at_ms: int  # started + match_days
    challenge_pending: bool
    ended_at_ms: int | None = None
    end_reason: EndReason | None = None

    def __post_init__(self) -> None:
        require(self.started_at_ms < self.ends_at_ms <= self.match_ends_at_ms, "a match lasts some time")
        require(not self.challenge_pending or self.challenge is not None, "only a challenge is pending")
        if self.state is MatchState.ACTIVE and self.challenge_pending:
            require(self.ends_at_ms < self.match_ends_at_ms, "a challenge ends before the match does")
        elif self.state is not MatchState.ENDED:
            require(self.ends_at_ms == self.match_ends_at_ms, "without a pending challenge a match runs its days")
        require(self.state is MatchState.ACTIVE or not self.challenge_pending, "a challenge is pending only ACTIVE")
        ended = self.state is MatchState.ENDED
        require(ended == (self.ended_at_ms is not None) == (self.end_reason is not None), "an ended match says why")


def start_match(
    terms: MatchTerms,
    *,
    member_tier: MemberTier,
    attester_ladder: TierLadder,
    now_ms: int,
    previous_matches: Iterable[Match],
    match_id: str,
    member_id: str,
) -> Match:
    """Match a member's published attester tier to the recogniser tier the terms map it to, from now.

    Refusals, in this order: AGREEMENT_NOT_IN_FORCE, TIER_LAPSED, TIER_STALE,
    TIER_NOT_ON_LADDER (the ladder changed since the tier was published), TIER_NOT_MAPPED
    (all FailedPrecondition), then AlreadyExists ALREADY_MATCHED.
    """
    require(attester_ladder.partner_id == terms.attester_partner_id, "the tier is read on the attester's ladder")
    require(bool(match_id) and bool(member_id), "a match has an id and a member")
    if not terms.in_force_at(now_ms):
        raise FailedPrecondition(
            "AGREEMENT_NOT_IN_FORCE", f"version {terms.version} of the status match terms is not in force now"
        )
    if member_tier.holds_until_ms <= now_ms:
        raise FailedPrecondition("TIER_LAPSED", "the member no longer holds this tier at the attester")
    if now_ms - member_tier.published_at_ms >= terms.max_tier_age_days * DAY_MS:
        raise FailedPrecondition(
            "TIER_STALE",
            f"the attester's tier was published more than {terms.max_tier_age_days} days ago; it must publish it again",
        )
    if member_tier.code not in attester_ladder.codes:
        raise FailedPrecondition(
            "TIER_NOT_ON_LADDER", f"{member_tier.code!r} is no longer a tier of {attester_ladder.partner_id!r}"
        )
    matched = terms.matched_tier_for(member_tier.code)
    if matched is None:
        raise FailedPrecondition("TIER_NOT_MAPPED", f"the terms match no tier to {member_tier.code!r}")
    period_ms = terms.period_days * DAY_MS
    for previous in previous_matches:
        if (previous.member_id, previous.recogniser_partner_id, previous.attester_partner_id) != (
            member_id,
            terms.recogniser_partner_id,
            terms.attester_partner_id,
        ):
            continue
        # An open match whose time is over ends first (and its TIER_MATCH_ENDED is sent): otherwise a
        # clock set back could let its challenge be reported met while a newer match runs.
        require(end_if_due(previous, now_ms) is None, "the member's due matches are ended before another starts")
        if now_ms < previous.started_at_ms + period_ms or previous.state is not MatchState.ENDED:
            raise AlreadyExists(
                "ALREADY_MATCHED",
                f"the member was matched ({previous.match_id!r}) less than {terms.period_days} days ago",
                field="member_ref",
            )
    match_ends = now_ms + terms.match_days * DAY_MS
    challenge = terms.challenge
    return Match(
        match_id=match_id,
        member_id=member_id,
        recogniser_partner_id=terms.recogniser_partner_id,
        attester_partner_id=terms.attester_partner_id,
        agreement_version=terms.version,
        attester_tier=member_tier.code,
        matched_tier=matched,
        challenge=challenge,
        state=MatchState.ACTIVE,
        started_at_ms=now_ms,
        ends_at_ms=match_ends if challenge is None else now_ms + challenge.days * DAY_MS,
        match_ends_at_ms=match_ends,
        challenge_pending=challenge is not None,
    )


def report_challenge(match: Match, met: bool, now_ms: int) -> Match:
    """The recogniser reports the challenge: met -> CONFIRMED until started + match_days; not met -> ENDED.

    Only while the challenge is pending (FailedPrecondition CHALLENGE_NOT_PENDING) and before its
    deadline (FailedPrecondition CHALLENGE_DEADLINE_PASSED, final: the service commits
    end_if_due's CHALLENGE_FAILED with the refusal).
    """
    require(type(met) is bool, "a challenge is met or not")
    if match.state is not MatchState.ACTIVE or not match.challenge_pending:
        raise FailedPrecondition(
            "CHALLENGE_NOT_PENDING", f"match {match.match_id!r} has no pending challenge", field="match_id"
        )
    if now_ms >= match.ends_at_ms:
        raise FailedPrecondition(
            "CHALLENGE_DEADLINE_PASSED", f"match {match.match_id!r}'s challenge deadline has passed", final=True
        )
    if met:
        return replace(match, state=MatchState.CONFIRMED, ends_at_ms=match.match_ends_at_ms, challenge_pending=False)
    return _ended(match, EndReason.CHALLENGE_FAILED, now_ms)


def end_match(match: Match, reason: EndReason | str, now_ms: int) -> Match | None:
    """End a live match now for reason; None if it has ended already (nothing to tell anyone).

    reason is one of DOWNGRADED, LAPSED, CONSENT_REVOKED, UNLINKED, ERASED (InvalidArgument
    INVALID_END_REASON otherwise). A match already due ends as end_if_due says instead (EXPIRED
    or CHALLENGE_FAILED at its deadline): time ended it first.
    """
    try:
        why = EndReason(reason)
    except ValueError:
        why = None
    if why is None or why in TIMED_END_REASONS:
        raise InvalidArgument(
            "INVALID_END_REASON", f"{str(reason)[:40]!r} is not a reason to end a match early", field="reason"
        )
    if match.state is MatchState.ENDED:
        return None
    due = end_if_due(match, now_ms)
    return due if due is not None else _ended(match, why, now_ms)


def end_if_due(match: Match, now_ms: int) -> Match | None:
    """End a match whose time is over, at its deadline: CHALLENGE_FAILED if unreported, else EXPIRED; else None."""
    if match.state is MatchState.ENDED or now_ms < match.ends_at_ms:
        return None
    reason = EndReason.CHALLENGE_FAILED if match.challenge_pending else EndReason.EXPIRED
    return _ended(match, reason, match.ends_at_ms)


def follows_tier_change(
    match: Match, attester_ladder: TierLadder, new_tier: MemberTier | None, now_ms: int
) -> EndReason | None:
    """Return why a member's new attester tier ends the match (LAPSED or DOWNGRADED), or None if it goes on.

    No tier, or one no longer held (or not on the ladder), is LAPSED; a tier ranked below the
    matched attester tier is DOWNGRADED; the same tier or a higher one changes nothing. If the
    ladder no longer has the matched tier, only that same code keeps the match (anything else is
    DOWNGRADED: the tier it was matched on is gone). An ENDED match follows nothing: None.
    """
    require(attester_ladder.partner_id == match.attester_partner_id, "the tier is read on the attester's ladder")
    if match.state is MatchState.ENDED:
        return None
    codes = attester_ladder.codes
    if new_tier is None or new_tier.holds_until_ms <= now_ms or new_tier.code not in codes:
        return EndReason.LAPSED
    if new_tier.code == match.attester_tier:
        return None
    if match.attester_tier not in codes or codes.index(new_tier.code) < codes.index(match.attester_tier):
        return EndReason.DOWNGRADED
    return None


def is_live(match: Match, now_ms: int) -> bool:
    """Whether the recogniser honours the matched tier at now_ms."""
    return match.state is not MatchState.ENDED and match.started_at_ms <= now_ms < match.ends_at_ms


def attestation_fields(match: Match, pairwise_member_id: str, now_ms: int) -> dict[str, int | str]:
    """The fields of the tier attestation the hub signs for the recogniser (the SDK renders and checks them).

    valid_until_ms is the match's ends_at: the challenge deadline while one is pending, so a
    confirmed match is attested again. An ended match, or one whose time is over, is refused with
    FailedPrecondition MATCH_ENDED.
    """
    require(bool(pairwise_member_id), "an attestation names the member as the recogniser knows them")
    if match.state is MatchState.ENDED or now_ms >= match.ends_at_ms:
        raise FailedPrecondition("MATCH_ENDED", f"match {match.match_id!r} has ended", field="match_id")
    return {
        "format": ATTESTATION_FORMAT,
        "match_id": match.match_id,
        "recogniser_partner_id": match.recogniser_partner_id,
        "attester_partner_id": match.attester_partner_id,
        "pairwise_member_id": pairwise_member_id,
        "attester_tier": match.attester_tier,
        "matched_tier": match.matched_tier,
        "issued_at_ms": now_ms,
        "valid_until_ms": match.ends_at_ms,
    }


def _ended(match: Match, reason: EndReason, at_ms: int) -> Match:
    require(match.state is not MatchState.ENDED, "a match ends once")
    return replace(match, state=MatchState.ENDED, challenge_pending=False, ended_at_ms=at_ms, end_reason=reason)
