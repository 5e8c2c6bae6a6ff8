"""Status match commands: ladders, members' tiers, match agreements, matches, and what ends them.

A brand publishes its tier ladder and its members' tiers there (member data: sealed with the
member's key, exchange.store.member_vault). Publishing a ladder declares the attribute
STATUS_TIER_KEY for the brand, so a member can consent to it being shared for the purpose
STATUS_MATCH the way they consent to any attribute (exchange.service.consent).

A match is asked for at either brand of an agreement (the recogniser proposes it, the attester
accepts it): the hub reads the attester's current tier, which needs the member's live consent,
maps it, and records the match (the tiers sealed), a TIER_MATCHED instruction to the recogniser,
and a read in the member's access log. What ends a match sends the recogniser TIER_MATCH_ENDED
once, with the reason: a lower or lapsed tier published at the attester, the consent revoked, a
brand no longer standing with the member (an unlink), the member erased, a failed challenge, or
its days over (the sweep).

Which way a request goes: a caller with an agreement in force as recogniser towards the
counterparty asks as the recogniser; otherwise as the attester.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from exchange.domain import members as member_rules
from exchange.domain import status_match as rules
from exchange.domain.consent import EVENT_READ, AttributeType, Consent, Declaration, Purpose
from exchange.domain.errors import FailedPrecondition, NotFound, PermissionDenied, require
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.domain.status_match import EndReason, Match, MatchAgreement
from exchange.domain.status_match_terms import (
    Challenge,
    MemberTier,
    Tier,
    TierLadder,
    check_member_tier,
    document_of,
    validate_ladder,
    validate_match_terms,
)
from exchange.secrets.pairwise import pairwise_member_id
from exchange.service.agreements import check_document_signature
from exchange.service.authentication import Caller
from exchange.service.ports import UnitOfWork
from exchange.store.ids import new_id
from partner_sdk.status_match import render_tier_attestation_payload, tier_attestation_message

STATUS_TIER_KEY = "status_tier"  # the attribute a STATUS_MATCH consent names
_TIER_CONTEXT = "tier"
_MATCH_CONTEXT = "match"


@dataclass(frozen=True, slots=True)
class MatchView:
    """A match as one of its brands sees it: tiers opened, the member by that brand's reference."""

    match: Match
    member_ref: str


@dataclass(frozen=True, slots=True)
class SignedAttestation:
    """A tier attestation as the hub signed it."""

    payload: bytes
    hub_key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class HubSigner:
    """The hub key that signs attestations."""

    key_id: str
    sign: Callable[[bytes], bytes]


# ladders and tiers --------------------------------------------------------------------------------


def publish_ladder(work: UnitOfWork, caller: Caller, tiers: Sequence[Tier], now_ms: int) -> TierLadder:
    """Keep the caller's ladder, lowest tier first, and declare the attribute its members consent to share."""
    ladder = validate_ladder(caller.principal, tiers)
    work.status_match.put_ladder(ladder, now_ms)
    if work.consents.declaration(caller.principal, STATUS_TIER_KEY) is None:
        work.consents.declare(
            Declaration(caller.principal, STATUS_TIER_KEY, AttributeType.TEXT, "the member's tier (status match)")
        )
    return ladder


def publish_member_tier(
    work: UnitOfWork,
    caller: Caller,
    member_ref: str,
    *,
    code: str,
    reached_at_ms: int,
    holds_until_ms: int,
    now_ms: int,
) -> int:
    """Keep one of the caller's members' tier there, sealed; end the matches it no longer supports. Returns how many."""
    member_id = _member(work, caller, member_ref)
    # A tier is member data: only a brand that stands with the member publishes it (as any attribute).
    if caller.principal not in _standing(work, member_id):
        raise FailedPrecondition(
            "MEMBER_NOT_LINKED", f"{caller.principal!r} no longer stands with this member", field="member_ref"
        )
    ladder = _ladder(work, caller.principal)
    tier = check_member_tier(ladder, code, reached_at_ms, holds_until_ms, now_ms)
    work.status_match.put_sealed_tier(member_id, caller.principal, _seal_tier(work, member_id, tier), now_ms)
    ended = 0
    for match, _ in work.status_match.live_matches_of(member_id):
        if match.attester_partner_id != caller.principal:
            continue
        opened = _opened(work, match)
        reason = rules.follows_tier_change(opened, ladder, tier, now_ms)
        if reason is not None:
            ended += _end(work, opened, reason, now_ms)
        else:
            work.status_match.save_match(match, match, tier_holds_until_ms=_recheck_at(work, match, tier, now_ms))
    return ended


# agreements ---------------------------------------------------------------------------------------


def propose_agreement(
    work: UnitOfWork,
    caller: Caller,
    *,
    attester_partner_id: str,
    version: int,
    mapping: Sequence[tuple[str, str]],
    challenge: Challenge | None,
    match_days: int,
    period_days: int,
    max_tier_age_days: int,
    valid_from_ms: int,
    valid_until_ms: int,
    recogniser_partner_id: str,
    signature: bytes,
    now_ms: int,
) -> MatchAgreement:
    """The recogniser proposes terms over both brands' ladders, signed."""
    if recogniser_partner_id != caller.principal:
        raise PermissionDenied(
            "NOT_RECOGNISER", "the recogniser proposes the terms", field="terms.recogniser_partner_id"
        )
    attester = work.partners.get(attester_partner_id)
    if attester is None:
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {attester_partner_id!r}", field="terms.attester_partner_id")
    if attester.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition(
            "COUNTERPARTY_NOT_ACTIVE", f"partner {attester_partner_id!r} is {attester.status.value}"
        )
    if attester.kind is not PartnerKind.BRAND:
        raise FailedPrecondition("NOT_A_BRAND", f"{attester_partner_id!r} is a charity: it has no tiers")
    terms = validate_match_terms(
        recogniser_partner_id=caller.principal,
        attester_partner_id=attester_partner_id,
        version=version,
        mapping=mapping,
        challenge=challenge,
        match_days=match_days,
        period_days=period_days,
        max_tier_age_days=max_tier_age_days,
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
        attester_ladder=_ladder(work, attester_partner_id, field="terms.attester_partner_id"),
        recogniser_ladder=_ladder(work, caller.principal, field="terms.recogniser_partner_id"),
    )
    document = document_of(terms)
    check_document_signature(work.partners, caller, document, signature, "proposer_signature")
    agreement = rules.propose(
        terms,
        agreement_id=new_id("mta"),
        caller=caller.principal,
        key_id=caller.key_id,
        signature=signature,
        latest_version=work.status_match.latest_version(caller.principal, attester_partner_id),
        now_ms=now_ms,
    )
    work.status_match.add_agreement(agreement)
    return agreement


def accept_agreement(
    work: UnitOfWork, caller: Caller, agreement_id: str, signature: bytes, now_ms: int
) -> MatchAgreement:
    """The attester accepts a proposed version over the same document; the pair's previous one is superseded."""
    before = rules.require_visible(work.status_match.get_agreement(agreement_id), caller.principal, agreement_id)
    check_document_signature(work.partners, caller, before.document, signature, "acceptor_signature")
    active = work.status_match.active_agreement(before.terms.recogniser_partner_id, before.terms.attester_partner_id)
    accepted, superseded = rules.accept(
        before, caller=caller.principal, key_id=caller.key_id, signature=signature, now_ms=now_ms, active=active
    )
    if superseded is not None and active is not None:
        work.status_match.save_agreement(active, superseded)
    work.status_match.save_agreement(before, accepted)
    return accepted


def get_agreement(work: UnitOfWork, caller: Caller, agreement_id: str) -> MatchAgreement:
    """Return a version to one of its two brands."""
    return rules.require_visible(work.status_match.get_agreement(agreement_id), caller.principal, agreement_id)


# matches ------------------------------------------------------------------------------------------


def request_match(
    work: UnitOfWork,
    caller: Caller,
    member_ref: str,
    counterparty_partner_id: str,
    *,
    pairwise_secret: bytes,
    signer: HubSigner,
    now_ms: int,
) -> tuple[MatchView, SignedAttestation | None]:
    """The member asks to have their attester tier recognised: the match, and the recogniser's attestation."""
    member_id = _member(work, caller, member_ref)
    agreement = _agreement_between(work, caller.principal, counterparty_partner_id)
    terms = agreement.terms
    recogniser, attester = terms.recogniser_partner_id, terms.attester_partner_id
    standing = _standing(work, member_id)
    for partner_id in (recogniser, attester):
        if partner_id not in standing:
            raise FailedPrecondition(
                "MEMBER_NOT_LINKED",
                f"the member is not linked at {partner_id!r}: link their accounts first",
                field="member_ref",
            )
    consent = _consent(work, member_id, recogniser, attester, now_ms)
    tier = _member_tier(work, member_id, attester)
    work.status_match.lock_recogniser(recogniser)  # two requests for one member queue: one match per period
    previous = []
    for match, _ in work.status_match.matches_of_pair(recogniser, attester, member_id):
        due = rules.end_if_due(_opened(work, match), now_ms)
        if due is not None:
            _save_ended(work, match, due, now_ms)
            previous.append(due)
        else:
            previous.append(match)
    match = rules.start_match(
        terms,
        member_tier=tier,
        attester_ladder=_ladder(work, attester),
        now_ms=now_ms,
        previous_matches=previous,
        match_id=new_id("smt"),
        member_id=member_id,
    )
    # The sweep looks at the match again when the tier stops holding or the consent expires, whichever is first.
    work.status_match.add_match(match, _seal_match(work, match), min(tier.holds_until_ms, consent.expires_at_ms))
    work.consents.log_read(
        member_id=member_id,
        at_ms=now_ms,
        reader=recogniser,
        source=attester,
        purpose=Purpose.STATUS_MATCH,
        returned=[STATUS_TIER_KEY],
        withheld=[],
        event=EVENT_READ,
        consent_id=consent.consent_id,
    )
    _instruct(work, match, InstructionKind.TIER_MATCHED, now_ms)
    attestation = None
    if caller.principal == recogniser:
        attestation = _attest(work, match, pairwise_secret, signer, now_ms)
    return MatchView(match, _ref(work, caller.principal, member_id)), attestation


def view(work: UnitOfWork, caller: Caller, match_id: str) -> MatchView:
    """Return a match to one of its two brands."""
    match = _own_match(work, caller, match_id)
    return MatchView(match, _ref(work, caller.principal, match.member_id))


def attestation(
    work: UnitOfWork, caller: Caller, match_id: str, *, pairwise_secret: bytes, signer: HubSigner, now_ms: int
) -> SignedAttestation:
    """A fresh attestation of a live match, for its recogniser; refused for good once it ended."""
    match = _own_match(work, caller, match_id)
    if caller.principal != match.recogniser_partner_id:
        raise PermissionDenied("NOT_RECOGNISER", "the attestation is the recogniser's to verify")
    due = rules.end_if_due(match, now_ms)
    if due is not None:  # over, not swept yet: end it here, as the sweep would, and refuse
        stored = work.status_match.get_match(match_id)
        assert stored is not None
        _save_ended(work, stored[0], due, now_ms)
        match = due
    if match.state is rules.MatchState.ENDED:
        raise FailedPrecondition("MATCH_ENDED", f"match {match_id!r} ended ({match.end_reason})", final=True)
    return _attest(work, match, pairwise_secret, signer, now_ms)


def report_challenge(work: UnitOfWork, caller: Caller, match_id: str, met: bool, now_ms: int) -> MatchView:
    """The recogniser reports the challenge: met confirms the match for its days; not met ends it."""
    match = _own_match(work, caller, match_id)
    if caller.principal != match.recogniser_partner_id:
        raise PermissionDenied("NOT_RECOGNISER", "the recogniser reports its challenge")
    stored = work.status_match.get_match(match_id)
    assert stored is not None
    try:
        after = rules.report_challenge(match, met, now_ms)
    except FailedPrecondition as refusal:
        if refusal.final:  # the deadline passed: the match ends with the refusal, as the sweep would end it
            due = rules.end_if_due(match, now_ms)
            if due is not None:
                _save_ended(work, stored[0], due, now_ms)
        raise
    if after.state is rules.MatchState.ENDED:
        _save_ended(work, stored[0], after, now_ms)
    else:
        work.status_match.save_match(stored[0], after)
        _instruct(work, after, InstructionKind.TIER_MATCHED, now_ms)  # the recogniser is told the new end
    return MatchView(after, _ref(work, caller.principal, match.member_id))


def end_member_matches(
    work: UnitOfWork, member_id: str, reason: EndReason, now_ms: int, *, only: Callable[[Match], bool] | None = None
) -> int:
    """End the member's live matches (those `only` picks) for a reason; tell each recogniser once. Returns how many."""
    ended = 0
    for match, _ in work.status_match.live_matches_of(member_id):  # its tiers stay sealed: ending needs none
        if only is None or only(match):
            ended += _end(work, match, reason, now_ms)
    return ended


def end_after_consent_change(work: UnitOfWork, member_id: str, now_ms: int) -> int:
    """A consent ended: end the matches no live STATUS_MATCH consent covers any more (CONSENT_REVOKED)."""

    def uncovered(match: Match) -> bool:
        try:
            _consent(work, member_id, match.recogniser_partner_id, match.attester_partner_id, now_ms)
        except FailedPrecondition:
            return True
        return False

    return end_member_matches(work, member_id, EndReason.CONSENT_REVOKED, now_ms, only=uncovered)


def end_after_unlink(work: UnitOfWork, member_id: str, now_ms: int) -> int:
    """A link ended: end the matches one of whose brands no longer stands with the member (UNLINKED)."""
    standing = _standing(work, member_id)
    return end_member_matches(
        work,
        member_id,
        EndReason.UNLINKED,
        now_ms,
        only=lambda m: m.recogniser_partner_id not in standing or m.attester_partner_id not in standing,
    )


def sweep_match(work: UnitOfWork, match_id: str, now_ms: int) -> bool:
    """End one match whose days, challenge or attested tier's hold are over (the sweep); return whether it did."""
    stored = work.status_match.get_match(match_id)
    if stored is None:
        return False
    match = _opened(work, stored[0])
    due = rules.end_if_due(match, now_ms)
    if due is not None:
        _save_ended(work, stored[0], due, now_ms)
        return True
    tier = _member_tier_or_none(work, match.member_id, match.attester_partner_id)
    reason = rules.follows_tier_change(match, _ladder(work, match.attester_partner_id), tier, now_ms)
    if reason is None:
        try:
            _consent(work, match.member_id, match.recogniser_partner_id, match.attester_partner_id, now_ms)
        except FailedPrecondition:
            reason = EndReason.CONSENT_REVOKED  # the consent expired
    if reason is not None:
        return _end(work, match, reason, now_ms) == 1
    assert tier is not None
    work.status_match.save_match(stored[0], stored[0], tier_holds_until_ms=_recheck_at(work, match, tier, now_ms))
    return False


def _recheck_at(work: UnitOfWork, match: Match, tier: MemberTier, now_ms: int) -> int:
    """When the sweep looks at a live match again: its tier stops holding, or its consent expires."""
    try:
        consent = _consent(work, match.member_id, match.recogniser_partner_id, match.attester_partner_id, now_ms)
    except FailedPrecondition:
        return now_ms  # the consent expired: the next sweep ends the match
    return min(tier.holds_until_ms, consent.expires_at_ms)


def match_notice(work: UnitOfWork, instruction: Instruction) -> Match | None:
    """The match a TIER_MATCHED or TIER_MATCH_ENDED tells of, its tiers opened (empty once the member was erased)."""
    stored = work.status_match.get_match(instruction.match_id)
    if stored is None:
        return None
    opened = _tiers(work, stored[0], stored[1])
    return stored[0] if opened is None else replace(stored[0], attester_tier=opened[0], matched_tier=opened[1])


# inside -------------------------------------------------------------------------------------------


def _member(work: UnitOfWork, caller: Caller, member_ref: str) -> str:
    member_id = work.members.member_of(caller.principal, member_rules.parse_member_ref(member_ref))
    if member_id is None or work.members.is_erased(member_id):
        raise NotFound("MEMBER_NOT_FOUND", "no member of yours has this reference", field="member_ref")
    return member_id


def _standing(work: UnitOfWork, member_id: str) -> frozenset[str]:
    """The brands that stand with the member (exchange.domain.members.standing_partners)."""
    return member_rules.standing_partners(work.members.first_partner(member_id), work.members.links_of(member_id))


def _ref(work: UnitOfWork, partner_id: str, member_id: str) -> str:
    return work.members.account_ref(partner_id, member_id) or ""


def _ladder(work: UnitOfWork, partner_id: str, *, field: str = "") -> TierLadder:
    ladder = work.status_match.ladder(partner_id)
    if ladder is None:
        raise FailedPrecondition("NO_TIER_LADDER", f"{partner_id!r} has published no tier ladder", field=field or None)
    return ladder


def _agreement_between(work: UnitOfWork, caller: str, counterparty: str) -> MatchAgreement:
    agreement = work.status_match.active_agreement(caller, counterparty) or work.status_match.active_agreement(
        counterparty, caller
    )
    if agreement is None:
        raise FailedPrecondition(
            "NO_MATCH_AGREEMENT",
            f"no status match agreement between {caller!r} and {counterparty!r} is in force",
            field="counterparty_partner_id",
        )
    return agreement


def _consent(work: UnitOfWork, member_id: str, recogniser: str, attester: str, now_ms: int) -> Consent:
    """The live STATUS_MATCH consent letting the recogniser read the member's tier at the attester, or NO_CONSENT."""
    for consent, *_ in work.consents.consents_of(member_id):
        if consent.covers(
            reader=recogniser, source=attester, key=STATUS_TIER_KEY, purpose=Purpose.STATUS_MATCH, now_ms=now_ms
        ):
            return consent
    raise FailedPrecondition(
        "NO_CONSENT",
        f"the member has not consented, at {attester!r}, to {recogniser!r} reading their tier for a status match",
        field="member_ref",
    )


def _seal_tier(work: UnitOfWork, member_id: str, tier: MemberTier) -> bytes:
    plain = json.dumps(
        {"code": tier.code, "reached_at_ms": tier.reached_at_ms, "holds_until_ms": tier.holds_until_ms},
        sort_keys=True,
    )
    return work.vault.seal(member_id, _TIER_CONTEXT, plain.encode())


def _member_tier_or_none(work: UnitOfWork, member_id: str, partner_id: str) -> MemberTier | None:
    stored = work.status_match.sealed_tier(member_id, partner_id)
    if stored is None:
        return None
    plain = work.vault.open(member_id, _TIER_CONTEXT, stored[0])
    if plain is None:
        return None
    value = json.loads(plain)
    return MemberTier(value["code"], value["reached_at_ms"], value["holds_until_ms"], stored[1])


def _member_tier(work: UnitOfWork, member_id: str, attester: str) -> MemberTier:
    tier = _member_tier_or_none(work, member_id, attester)
    if tier is None:
        raise FailedPrecondition("NO_TIER", f"{attester!r} has published no tier for this member", field="member_ref")
    return tier


def _seal_match(work: UnitOfWork, match: Match) -> bytes:
    plain = json.dumps({"attester_tier": match.attester_tier, "matched_tier": match.matched_tier}, sort_keys=True)
    return work.vault.seal(match.member_id, _MATCH_CONTEXT, plain.encode())


def _tiers(work: UnitOfWork, match: Match, sealed: bytes) -> tuple[str, str] | None:
    plain = work.vault.open(match.member_id, _MATCH_CONTEXT, sealed)
    if plain is None:
        return None
    value = json.loads(plain)
    return value["attester_tier"], value["matched_tier"]


def _opened(work: UnitOfWork, match: Match) -> Match:
    """The match with its tiers opened (empty once the member was erased)."""
    stored = work.status_match.get_match(match.match_id)
    require(stored is not None, f"match {match.match_id!r} exists")
    assert stored is not None
    tiers = _tiers(work, stored[0], stored[1])
    if tiers is None:
        return match
    return replace(match, attester_tier=tiers[0], matched_tier=tiers[1])


def _own_match(work: UnitOfWork, caller: Caller, match_id: str) -> Match:
    stored = work.status_match.get_match(match_id)
    if stored is None or caller.principal not in (stored[0].recogniser_partner_id, stored[0].attester_partner_id):
        raise NotFound("MATCH_NOT_FOUND", f"no status match {match_id!r}", field="match_id")
    return _opened(work, stored[0])


def _end(work: UnitOfWork, match: Match, reason: EndReason, now_ms: int) -> int:
    ended = rules.end_match(match, reason, now_ms)
    if ended is None:
        return 0
    stored = work.status_match.get_match(match.match_id)
    assert stored is not None
    _save_ended(work, stored[0], ended, now_ms)
    return 1


def _save_ended(work: UnitOfWork, stored: Match, ended: Match, now_ms: int) -> None:
    """Write a newly ended match and tell its recogniser, once."""
    work.status_match.save_match(stored, ended)
    _instruct(work, ended, InstructionKind.TIER_MATCH_ENDED, now_ms)


def _instruct(work: UnitOfWork, match: Match, kind: InstructionKind, now_ms: int) -> None:
    recogniser = work.partners.get(match.recogniser_partner_id)
    require(recogniser is not None, f"a match's recogniser {match.recogniser_partner_id!r} is registered")
    assert recogniser is not None
    work.instructions.add(
        Instruction(
            instruction_id=new_id("ins"),
            partner_id=match.recogniser_partner_id,
            kind=kind,
            state=InstructionState.PENDING,
            member_ref=_ref(work, match.recogniser_partner_id, match.member_id),
            points=0,
            point_currency=recogniser.point_currency,
            origin=Origin.match(match.match_id),
            created_at_ms=now_ms,
            reason=match.end_reason.value if match.end_reason is not None else "",
        )
    )


def _attest(
    work: UnitOfWork, match: Match, pairwise_secret: bytes, signer: HubSigner, now_ms: int
) -> SignedAttestation:
    pairwise = pairwise_member_id(pairwise_secret, partner_id=match.recogniser_partner_id, member_id=match.member_id)
    fields = rules.attestation_fields(match, pairwise, now_ms)
    payload = render_tier_attestation_payload(**{k: v for k, v in fields.items() if k != "format"})  # type: ignore[arg-type]
    return SignedAttestation(payload, signer.key_id, signer.sign(tier_attestation_message(payload)))
