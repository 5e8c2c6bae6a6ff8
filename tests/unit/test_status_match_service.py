"""Status match commands (ladders, members' tiers, agreements, matches, their endings) as the service runs them.

The same commands run against the real store in tests/e2e/test_status_match.py; here each rule is
one sentence. voltline (the attester: silver, gold, black diamond) and brewhaus (the recogniser:
bronze, silver, gold, platinum) agree that voltline gold is brewhaus silver and black diamond is
gold, for 180 days, once a year, from a tier published within 30 days, with a challenge of 5
visits in 30 days. acme has voltline's ladder; zeta has none. The member is v-1 at voltline
(where they started), b-1 at brewhaus, linked, gold at voltline until day 100 and consenting to
brewhaus reading that tier. After every command the books keep their invariants
(tests.unit.fakes.assert_consistent: among them, each ended match told once, with its reason),
and a refused command leaves them exactly as they were.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from exchange.domain.agreements import DAY_MS
from exchange.domain.consent import AttributeType, Consent, Purpose
from exchange.domain.errors import AlreadyExists, ExchangeError, FailedPrecondition, NotFound, PermissionDenied
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.domain.status_match import EndReason, Match, MatchAgreement, MatchAgreementStatus, MatchState
from exchange.domain.status_match_terms import Challenge, Tier, document_of, validate_match_terms
from exchange.secrets.pairwise import pairwise_member_id
from exchange.service import status_match
from exchange.service.authentication import Caller
from exchange.service.status_match import STATUS_TIER_KEY, HubSigner, MatchView, SignedAttestation
from exchange.store.ids import new_id
from partner_sdk.keys import generate_private_key, public_key_bytes
from partner_sdk.status_match import TierAttestation, verify_tier_attestation
from tests.unit.fakes import (
    BOOKS_NOW,
    AccessEntry,
    FakeBooks,
    FakeUnitOfWork,
    FakeVault,
    assert_consistent,
    brand_key,
    keyed_brand,
    link_member,
    member_with_accounts,
)

NOW = BOOKS_NOW
BREWHAUS = Caller("brewhaus", "k1")
VOLTLINE = Caller("voltline", "k1")
ACME = Caller("acme", "k1")
ZETA = Caller("zeta", "k1")
SECRET = b"s" * 32
HUB_KEY = generate_private_key()
SIGNER = HubSigner("hub-1", HUB_KEY.sign)
ATTESTER_LADDER = [Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("black_diamond", "Black Diamond")]
RECOGNISER_LADDER = [Tier("bronze", "Bronze"), Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("platinum", "P")]
CHALLENGE = Challenge(days=30, activity="visits", target=5)
HELD = NOW + 100 * DAY_MS  # gold holds until day 100, before the match's 180 days are over
DEADLINE = NOW + 30 * DAY_MS  # the challenge's
MATCH_END = NOW + 180 * DAY_MS


@pytest.fixture
def books() -> FakeBooks:
    books = FakeBooks(partners={p: keyed_brand(p, "GBP") for p in ("brewhaus", "voltline", "acme", "zeta")})
    for caller, ladder in ((VOLTLINE, ATTESTER_LADDER), (BREWHAUS, RECOGNISER_LADDER), (ACME, ATTESTER_LADDER)):
        status_match.publish_ladder(FakeUnitOfWork(books), caller, ladder, NOW - 2 * DAY_MS)
    return books


@pytest.fixture
def agreement(books: FakeBooks) -> MatchAgreement:
    return _agree(books)


@pytest.fixture
def member(books: FakeBooks, agreement: MatchAgreement) -> str:
    return _member(books)


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


def _ended_with(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    """A refusal that commits what it wrote (final: time alone made it)."""
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert refusal.value.final
    assert_consistent(books)
    return refusal.value


def _terms(attester: str = "voltline", **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "attester_partner_id": attester,
        "version": 1,
        "mapping": [("gold", "silver"), ("black_diamond", "gold")],
        "challenge": CHALLENGE,
        "match_days": 180,
        "period_days": 365,
        "max_tier_age_days": 30,
        "valid_from_ms": NOW - DAY_MS,
        "valid_until_ms": NOW + 400 * DAY_MS,
    }
    return {**values, **changes}


def _document(books: FakeBooks, recogniser: str, terms: dict[str, object]) -> bytes:
    """The document the recogniser signs (empty when a brand has no ladder: the command refuses before reading it)."""
    attester_ladder = books.ladders.get(str(terms["attester_partner_id"]))
    recogniser_ladder = books.ladders.get(recogniser)
    if attester_ladder is None or recogniser_ladder is None:
        return b""
    checked = validate_match_terms(
        recogniser_partner_id=recogniser,
        attester_ladder=attester_ladder,
        recogniser_ladder=recogniser_ladder,
        **terms,  # type: ignore[arg-type]
    )
    return document_of(checked)


def _propose(
    books: FakeBooks,
    *,
    caller: Caller = BREWHAUS,
    recogniser: str | None = None,
    signature: bytes | None = None,
    at_ms: int = NOW,
    **changes: object,
) -> MatchAgreement:
    recogniser = caller.principal if recogniser is None else recogniser
    terms = _terms(**changes)  # type: ignore[arg-type]
    signed = brand_key(caller.principal).sign(_document(books, recogniser, terms)) if signature is None else signature
    return status_match.propose_agreement(
        FakeUnitOfWork(books),
        caller,
        recogniser_partner_id=recogniser,
        signature=signed,
        now_ms=at_ms,
        **terms,  # type: ignore[arg-type]
    )


def _accept(
    books: FakeBooks, agreement: MatchAgreement, caller: Caller = VOLTLINE, signature: bytes | None = None
) -> MatchAgreement:
    signed = brand_key(caller.principal).sign(agreement.document) if signature is None else signature
    return status_match.accept_agreement(FakeUnitOfWork(books), caller, agreement.agreement_id, signed, NOW)


def _agree(
    books: FakeBooks, *, caller: Caller = BREWHAUS, attester: str = "voltline", **changes: object
) -> MatchAgreement:
    accepted = _accept(books, _propose(books, caller=caller, attester=attester, **changes), Caller(attester, "k1"))
    assert accepted.status is MatchAgreementStatus.ACTIVE
    return accepted


def _publish(
    books: FakeBooks,
    ref: str = "v-1",
    code: str = "gold",
    *,
    caller: Caller = VOLTLINE,
    at_ms: int = NOW,
    holds_until_ms: int = HELD,
) -> int:
    work = FakeUnitOfWork(books)
    ended = status_match.publish_member_tier(
        work, caller, ref, code=code, reached_at_ms=at_ms - 10 * DAY_MS, holds_until_ms=holds_until_ms, now_ms=at_ms
    )
    assert_consistent(books)
    return ended


def _consent(
    books: FakeBooks,
    member_id: str,
    *,
    source: str = "voltline",
    grantee: str = "brewhaus",
    keys: tuple[str, ...] = (STATUS_TIER_KEY,),
    purpose: Purpose = Purpose.STATUS_MATCH,
    expires_at_ms: int = NOW + 800 * DAY_MS,
) -> Consent:
    consent = Consent(new_id("cns"), member_id, source, grantee, keys, purpose, NOW - DAY_MS, expires_at_ms, source)
    FakeUnitOfWork(books).consents.add_consent(consent, b"receipt", b"signature", "hub-1")
    return consent


def _member(
    books: FakeBooks,
    refs: dict[str, str] | None = None,
    *,
    linked: tuple[str, ...] = ("brewhaus",),
    tier: str | None = "gold",
    consent: bool = True,
) -> str:
    """A member at voltline (first) and brewhaus, linked, gold at voltline, consenting to brewhaus reading it."""
    refs = refs or {"voltline": "v-1", "brewhaus": "b-1"}
    member_id = member_with_accounts(books, refs, linked=linked)
    if tier is not None:
        _publish(books, refs["voltline"], tier)
    if consent:
        _consent(books, member_id)
    return member_id


def _request(
    books: FakeBooks,
    ref: str = "b-1",
    *,
    caller: Caller = BREWHAUS,
    counterparty: str = "voltline",
    at_ms: int = NOW,
) -> tuple[MatchView, SignedAttestation | None]:
    answer = status_match.request_match(
        FakeUnitOfWork(books), caller, ref, counterparty, pairwise_secret=SECRET, signer=SIGNER, now_ms=at_ms
    )
    assert_consistent(books)
    return answer


def _matched(books: FakeBooks, **options: object) -> str:
    return _request(books, **options)[0].match.match_id  # type: ignore[arg-type]


def _told(books: FakeBooks, partner_id: str = "brewhaus") -> list[tuple[InstructionKind, str, str]]:
    """What the brand was told, oldest first: (kind, match id, reason)."""
    return [(i.kind, i.match_id, i.reason) for i in books.instructions_for(partner_id)]


def _endings(books: FakeBooks) -> list[tuple[str, str]]:
    return [(m, r) for k, m, r in _told(books) if k is InstructionKind.TIER_MATCH_ENDED]


def _tier_of(books: FakeBooks, member_id: str, partner_id: str = "voltline") -> dict[str, object]:
    sealed, _ = books.member_tiers[(member_id, partner_id)]
    plain = FakeVault(books).open(member_id, "tier", sealed)
    assert plain is not None
    return json.loads(plain)


def _acme_match(books: FakeBooks, member_id: str) -> str:
    """A second match of the member: acme gold recognised at brewhaus (acme linked to voltline)."""
    _agree(books, attester="acme")
    FakeUnitOfWork(books).members.add_account("acme", "a-1", member_id, "pw-acme-a-1", NOW)
    link_member(books, member_id, "voltline", "acme")
    _publish(books, "a-1", caller=ACME)
    _consent(books, member_id, source="acme")
    return _matched(books, counterparty="acme")


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


# ladders and tiers ----------------------------------------------------------------------------------------


def test_publishing_a_ladder_keeps_it_and_declares_the_tier_attribute_the_first_time_only(books: FakeBooks) -> None:
    assert books.ladders["voltline"].codes == ("silver", "gold", "black_diamond")
    declared = books.declarations[("voltline", STATUS_TIER_KEY)]
    assert (declared.type, declared.partner_id) == (AttributeType.TEXT, "voltline")
    books.declarations[("voltline", STATUS_TIER_KEY)] = replace(declared, description="the brand's own words")
    status_match.publish_ladder(FakeUnitOfWork(books), VOLTLINE, [Tier("gold", "Gold")], NOW)
    assert books.ladders["voltline"].codes == ("gold",)
    assert books.declarations[("voltline", STATUS_TIER_KEY)].description == "the brand's own words"
    assert ("zeta", STATUS_TIER_KEY) not in books.declarations


def test_a_ladder_without_tiers_is_refused(books: FakeBooks) -> None:
    refusal = _refused(books, lambda: status_match.publish_ladder(FakeUnitOfWork(books), ZETA, [], NOW))
    assert refusal.reason == "INVALID_TIER_COUNT"


def test_a_members_tier_is_kept_sealed_with_their_key_and_no_tier_code_is_in_the_books_in_clear(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    sealed, published_at = books.member_tiers[(member, "voltline")]
    assert published_at == NOW
    assert _tier_of(books, member) == {"code": "gold", "reached_at_ms": NOW - 10 * DAY_MS, "holds_until_ms": HELD}
    stored, sealed_tiers, _ = books.matches[match_id]
    assert (stored.attester_tier, stored.matched_tier) == ("", "")
    for blob in (sealed, sealed_tiers):
        assert all(code.encode() not in blob for code in ("gold", "silver")), blob
    assert (
        FakeVault(books).open(member, "match", sealed_tiers) == b'{"attester_tier": "gold", "matched_tier": "silver"}'
    )


def test_a_tier_is_published_for_the_callers_own_living_members_only(books: FakeBooks, member: str) -> None:
    assert _refused(books, lambda: _publish(books, "v-nobody")).reason == "MEMBER_NOT_FOUND"
    assert _refused(books, lambda: _publish(books, "b-1")).reason == "MEMBER_NOT_FOUND"  # brewhaus's reference
    books.erased.add(member)
    refusal = _refused(books, lambda: _publish(books, "v-1"))
    assert isinstance(refusal, NotFound) and refusal.reason == "MEMBER_NOT_FOUND"


def test_a_brand_without_a_ladder_publishes_no_tier(books: FakeBooks, member: str) -> None:
    FakeUnitOfWork(books).members.add_account("zeta", "z-1", member, "pw-zeta-z-1", NOW)
    link_member(books, member, "voltline", "zeta")
    refusal = _refused(books, lambda: _publish(books, "z-1", caller=ZETA))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "NO_TIER_LADDER"
    assert _refused(books, lambda: _publish(books, "v-1", "bronze")).reason == "TIER_NOT_ON_LADDER"


def test_a_lower_tier_ends_the_matches_the_caller_attests_with_downgraded_each_told_once(
    books: FakeBooks, member: str
) -> None:
    at_brewhaus = _matched(books)
    acme_attests = _acme_match(books, member)
    _agree(books, caller=ACME, attester="voltline")  # acme recognises voltline's tiers too
    _consent(books, member, grantee="acme")
    at_acme = _matched(books, ref="a-1", caller=ACME)
    assert _publish(books, "b-1", "bronze", caller=BREWHAUS, at_ms=NOW + DAY_MS) == 0  # brewhaus attests nothing
    assert _publish(books, "v-1", "silver", at_ms=NOW + DAY_MS) == 2
    for match_id in (at_brewhaus, at_acme):
        ended = books.match(match_id)
        assert (ended.state, ended.end_reason, ended.ended_at_ms) == (
            MatchState.ENDED,
            EndReason.DOWNGRADED,
            NOW + DAY_MS,
        )
    assert _endings(books) == [(at_brewhaus, "DOWNGRADED")]
    assert _told(books, "acme")[-1] == (InstructionKind.TIER_MATCH_ENDED, at_acme, "DOWNGRADED")
    (told,) = [i for i in books.instructions_for("brewhaus") if i.kind is InstructionKind.TIER_MATCH_ENDED]
    assert (told.member_ref, told.points, told.point_currency) == ("b-1", 0, "BREW")
    assert books.match(acme_attests).state is MatchState.ACTIVE  # acme attests that one
    assert _tier_of(books, member)["code"] == "silver"
    assert _publish(books, "v-1", "silver", at_ms=NOW + 2 * DAY_MS) == 0  # ended once, told once
    assert len(_endings(books)) == 1 and len(_told(books, "acme")) == 2


def test_the_same_or_a_higher_tier_keeps_the_match_and_extends_the_hold_it_is_swept_on(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    assert books.matches[match_id][2] == HELD
    assert _publish(books, "v-1", "gold", at_ms=NOW + DAY_MS, holds_until_ms=NOW + 300 * DAY_MS) == 0
    assert books.matches[match_id][2] == NOW + 300 * DAY_MS
    assert _publish(books, "v-1", "black_diamond", at_ms=NOW + 2 * DAY_MS, holds_until_ms=NOW + 310 * DAY_MS) == 0
    assert (books.match(match_id).state, books.matches[match_id][2]) == (MatchState.ACTIVE, NOW + 310 * DAY_MS)
    assert _endings(books) == []


# agreements -----------------------------------------------------------------------------------------------


def test_the_recogniser_proposes_signed_terms_over_both_ladders_and_the_attester_accepts_them(
    books: FakeBooks,
) -> None:
    proposed = _propose(books)
    assert (proposed.status, proposed.terms.version, proposed.proposer_key_id) == (
        MatchAgreementStatus.PROPOSED,
        1,
        "k1",
    )
    assert books.match_agreements[proposed.agreement_id] == proposed
    assert proposed.terms.mapping == (("black_diamond", "gold"), ("gold", "silver"))
    accepted = _accept(books, proposed)
    assert (accepted.status, accepted.accepted_at_ms, accepted.acceptor_key_id) == (
        MatchAgreementStatus.ACTIVE,
        NOW,
        "k1",
    )
    assert books.match_agreements[proposed.agreement_id] == accepted


def test_only_the_recogniser_named_in_the_terms_proposes_them(books: FakeBooks) -> None:
    refusal = _refused(books, lambda: _propose(books, caller=VOLTLINE, recogniser="brewhaus"))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_RECOGNISER"


def test_terms_with_an_unregistered_attester_are_refused(books: FakeBooks) -> None:
    refusal = _refused(books, lambda: _propose(books, attester="nobody", signature=b""))
    assert isinstance(refusal, NotFound) and refusal.reason == "PARTNER_NOT_FOUND"


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"status": PartnerStatus.SUSPENDED}, "COUNTERPARTY_NOT_ACTIVE"), ({"kind": PartnerKind.CHARITY}, "NOT_A_BRAND")],
)
def test_terms_with_an_attester_that_is_not_an_active_brand_are_refused(
    books: FakeBooks, change: dict[str, object], reason: str
) -> None:
    books.partners["voltline"] = replace(books.partners["voltline"], **change)  # type: ignore[arg-type]
    refusal = _refused(books, lambda: _propose(books))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == reason


def test_terms_need_both_brands_ladders(books: FakeBooks) -> None:
    refusal = _refused(books, lambda: _propose(books, attester="zeta"))
    assert (refusal.reason, refusal.field) == ("NO_TIER_LADDER", "terms.attester_partner_id")
    refusal = _refused(books, lambda: _propose(books, caller=ZETA))
    assert (refusal.reason, refusal.field) == ("NO_TIER_LADDER", "terms.recogniser_partner_id")


def test_a_proposal_not_signed_by_the_callers_key_over_the_document_is_refused(books: FakeBooks) -> None:
    document = _document(books, "brewhaus", _terms())
    for signature in (brand_key("voltline").sign(document), brand_key("brewhaus").sign(document + b" "), b"x"):
        refusal = _refused(books, lambda s=signature: _propose(books, signature=s))
        assert (refusal.reason, refusal.field) == ("BAD_DOCUMENT_SIGNATURE", "proposer_signature")


def test_a_version_other_than_the_pairs_next_is_refused(books: FakeBooks) -> None:
    assert _refused(books, lambda: _propose(books, version=2)).reason == "WRONG_VERSION"


def test_accepting_a_new_version_supersedes_the_pairs_active_one(books: FakeBooks, agreement: MatchAgreement) -> None:
    newer = _accept(books, _propose(books, version=2, match_days=90))
    assert newer.status is MatchAgreementStatus.ACTIVE
    old = books.match_agreements[agreement.agreement_id]
    assert (old.status, old.status_changed_at_ms) == (MatchAgreementStatus.SUPERSEDED, NOW)
    assert FakeUnitOfWork(books).status_match.active_agreement("brewhaus", "voltline") == newer


def test_an_agreement_is_accepted_by_its_attester_over_its_document_only(books: FakeBooks) -> None:
    proposed = _propose(books)
    refusal = _refused(books, lambda: _accept(books, proposed, BREWHAUS))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_ATTESTER"
    bad = brand_key("voltline").sign(proposed.document + b" ")
    assert _refused(books, lambda: _accept(books, proposed, signature=bad)).reason == "BAD_DOCUMENT_SIGNATURE"
    _accept(books, proposed)
    assert _refused(books, lambda: _accept(books, proposed)).reason == "AGREEMENT_NOT_PROPOSED"


def test_a_brand_outside_the_agreement_finds_none(books: FakeBooks) -> None:
    proposed = _propose(books)
    for caller, agreement_id in ((ZETA, proposed.agreement_id), (VOLTLINE, "mta-nope")):
        refusal = _refused(books, lambda c=caller, a=agreement_id: _accept(books, replace(proposed, agreement_id=a), c))
        assert isinstance(refusal, NotFound) and refusal.reason == "MATCH_AGREEMENT_NOT_FOUND"


# matches --------------------------------------------------------------------------------------------------


def test_the_recogniser_asks_a_match_is_made_told_logged_and_attested(books: FakeBooks, member: str) -> None:
    view, attestation = _request(books)
    match = view.match
    assert (view.member_ref, match.state, match.attester_tier, match.matched_tier) == (
        "b-1",
        MatchState.ACTIVE,
        "gold",
        "silver",
    )
    assert (match.started_at_ms, match.ends_at_ms, match.match_ends_at_ms) == (NOW, DEADLINE, MATCH_END)
    assert (match.challenge, match.challenge_pending, match.agreement_version) == (CHALLENGE, True, 1)
    assert books.matches[match.match_id][2] == HELD
    (told,) = books.instructions.values()
    assert (told.partner_id, told.kind, told.match_id, told.member_ref, told.state, told.reason) == (
        "brewhaus",
        InstructionKind.TIER_MATCHED,
        match.match_id,
        "b-1",
        InstructionState.PENDING,
        "",
    )
    (consent,) = books.consents
    assert books.access_log == [
        AccessEntry(
            member, NOW, "brewhaus", "voltline", Purpose.STATUS_MATCH, (STATUS_TIER_KEY,), (), "READ", "", consent
        )
    ]
    assert attestation is not None and attestation.hub_key_id == "hub-1"
    document = verify_tier_attestation(
        TierAttestation(attestation.payload, attestation.hub_key_id, attestation.signature),
        public_key_bytes(HUB_KEY),
        recogniser_partner_id="brewhaus",
        now=_at(NOW),
    )
    assert (document.match_id, document.attester_tier, document.matched_tier, document.attester_partner_id) == (
        match.match_id,
        "gold",
        "silver",
        "voltline",
    )
    assert document.pairwise_member_id == pairwise_member_id(SECRET, partner_id="brewhaus", member_id=member)
    assert (document.issued_at, document.valid_until) == (_at(NOW), _at(DEADLINE))


def test_the_attester_may_ask_too_and_gets_no_attestation(books: FakeBooks, member: str) -> None:
    view, attestation = _request(books, "v-1", caller=VOLTLINE, counterparty="brewhaus")
    assert attestation is None
    assert (view.member_ref, view.match.recogniser_partner_id, view.match.matched_tier) == ("v-1", "brewhaus", "silver")
    assert _told(books) == [(InstructionKind.TIER_MATCHED, view.match.match_id, "")]
    assert _told(books, "voltline") == []
    assert [(e.reader, e.source) for e in books.access_log] == [("brewhaus", "voltline")]


def test_a_match_needs_an_agreement_in_force_between_the_two(books: FakeBooks) -> None:
    _member(books)
    assert _refused(books, lambda: _request(books)).reason == "NO_MATCH_AGREEMENT"  # none yet
    _propose(books)
    assert _refused(books, lambda: _request(books)).reason == "NO_MATCH_AGREEMENT"  # proposed only
    (member_id,) = books.members
    FakeUnitOfWork(books).members.add_account("zeta", "z-1", member_id, "pw-zeta-z-1", NOW)
    _accept(books, next(iter(books.match_agreements.values())))
    refusal = _refused(books, lambda: _request(books, "z-1", caller=ZETA))
    assert (refusal.reason, refusal.field) == ("NO_MATCH_AGREEMENT", "counterparty_partner_id")


def test_a_match_needs_the_member_at_both_brands(books: FakeBooks, agreement: MatchAgreement) -> None:
    _member(books, linked=())
    refusal = _refused(books, lambda: _request(books))
    assert (refusal.reason, refusal.field) == ("MEMBER_NOT_LINKED", "member_ref")
    assert "'brewhaus'" in refusal.message
    (member_id,) = books.members
    link = link_member(books, member_id, "voltline", "brewhaus")
    books.links[-1] = replace(link, ended_at_ms=NOW - 1)  # ended: brewhaus no longer stands with them
    assert _refused(books, lambda: _request(books)).reason == "MEMBER_NOT_LINKED"
    assert (
        _refused(books, lambda: _request(books, "v-nobody", caller=VOLTLINE, counterparty="brewhaus")).reason
        == "MEMBER_NOT_FOUND"
    )


def test_the_brand_a_member_started_at_stands_with_them_without_a_link_of_its_own(
    books: FakeBooks, agreement: MatchAgreement
) -> None:
    member_id = _member(books, {"voltline": "v-1", "brewhaus": "b-1", "acme": "a-1"}, linked=())
    link_member(books, member_id, "brewhaus", "acme")
    assert _request(books)[0].match.state is MatchState.ACTIVE
    started_at_brewhaus = _member(books, {"brewhaus": "b-2", "voltline": "v-2"}, linked=(), tier=None)
    assert _refused(books, lambda: _publish(books, "v-2")).reason == "MEMBER_NOT_LINKED"  # voltline does not stand
    assert FakeUnitOfWork(books).members.first_partner(started_at_brewhaus) == "brewhaus"
    refusal = _refused(books, lambda: _request(books, "b-2"))
    assert refusal.reason == "MEMBER_NOT_LINKED" and "'voltline'" in refusal.message


@pytest.mark.parametrize(
    "consent",
    [
        None,
        {"purpose": Purpose.SERVICE},
        {"keys": ("email",)},
        {"source": "brewhaus", "grantee": "voltline"},
        {"grantee": "acme"},
        {"expires_at_ms": NOW},
    ],
)
def test_a_match_needs_the_members_live_consent_to_the_recogniser_reading_the_attester_tier(
    books: FakeBooks, agreement: MatchAgreement, consent: dict[str, object] | None
) -> None:
    member_id = _member(books, consent=False)
    if consent is not None:
        _consent(books, member_id, **consent)  # type: ignore[arg-type]
    refusal = _refused(books, lambda: _request(books))
    assert (refusal.reason, refusal.field) == ("NO_CONSENT", "member_ref")


def test_a_revoked_consent_allows_no_match(books: FakeBooks, agreement: MatchAgreement) -> None:
    member_id = _member(books, consent=False)
    consent = _consent(books, member_id)
    FakeUnitOfWork(books).consents.revoke(replace(consent, revoked_at_ms=NOW - 1, end_reason="member"))
    assert _refused(books, lambda: _request(books)).reason == "NO_CONSENT"


def test_a_match_needs_a_tier_published_at_the_attester(books: FakeBooks, agreement: MatchAgreement) -> None:
    _member(books, tier=None)
    refusal = _refused(books, lambda: _request(books))
    assert (refusal.reason, refusal.field) == ("NO_TIER", "member_ref")


def test_a_tier_published_max_tier_age_days_ago_is_stale(books: FakeBooks, agreement: MatchAgreement) -> None:
    _member(books, tier=None)
    _publish(books, at_ms=NOW - 30 * DAY_MS)
    assert _refused(books, lambda: _request(books)).reason == "TIER_STALE"
    _publish(books, at_ms=NOW - 30 * DAY_MS + 1)
    assert _request(books)[0].match.attester_tier == "gold"


def test_a_tier_no_longer_held_or_not_mapped_is_not_matched(books: FakeBooks, agreement: MatchAgreement) -> None:
    _member(books, tier="silver")
    assert _refused(books, lambda: _request(books)).reason == "TIER_NOT_MAPPED"
    _publish(books, holds_until_ms=NOW + DAY_MS)
    assert _refused(books, lambda: _request(books, at_ms=NOW + DAY_MS)).reason == "TIER_LAPSED"


def test_a_member_is_matched_once_a_period_whichever_brand_asks_and_however_the_match_ended(
    books: FakeBooks, member: str
) -> None:
    _matched(books)
    refusal = _refused(books, lambda: _request(books, at_ms=NOW + DAY_MS))
    assert isinstance(refusal, AlreadyExists) and refusal.reason == "ALREADY_MATCHED"
    refusal = _refused(books, lambda: _request(books, "v-1", caller=VOLTLINE, counterparty="brewhaus"))
    assert refusal.reason == "ALREADY_MATCHED"
    _publish(books, code="silver", at_ms=NOW + DAY_MS)  # ended early: DOWNGRADED
    _publish(books, at_ms=NOW + 2 * DAY_MS)
    assert _refused(books, lambda: _request(books, at_ms=NOW + 2 * DAY_MS)).reason == "ALREADY_MATCHED"


def test_after_the_period_a_new_match_starts_and_the_old_one_unswept_is_ended_and_told_first(
    books: FakeBooks, member: str
) -> None:
    first = _matched(books)
    later = NOW + 365 * DAY_MS
    _publish(books, at_ms=later, holds_until_ms=later + 100 * DAY_MS)  # the same tier: the match goes on
    assert books.match(first).state is MatchState.ACTIVE
    second = _matched(books, at_ms=later)
    old = books.match(first)
    assert (old.state, old.end_reason, old.ended_at_ms) == (MatchState.ENDED, EndReason.CHALLENGE_FAILED, DEADLINE)
    assert _told(books) == [
        (InstructionKind.TIER_MATCHED, first, ""),
        (InstructionKind.TIER_MATCH_ENDED, first, "CHALLENGE_FAILED"),
        (InstructionKind.TIER_MATCHED, second, ""),
    ]


def test_a_brand_outside_a_match_finds_none(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    refusal = _refused(books, lambda: status_match.view(FakeUnitOfWork(books), ZETA, match_id))
    assert isinstance(refusal, NotFound) and refusal.reason == "MATCH_NOT_FOUND"
    assert status_match.view(FakeUnitOfWork(books), VOLTLINE, match_id).member_ref == "v-1"
    assert status_match.view(FakeUnitOfWork(books), BREWHAUS, match_id).match.matched_tier == "silver"


# attestations and challenges ------------------------------------------------------------------------------


def _attest(books: FakeBooks, match_id: str, caller: Caller = BREWHAUS, at_ms: int = NOW) -> SignedAttestation:
    return status_match.attestation(
        FakeUnitOfWork(books), caller, match_id, pairwise_secret=SECRET, signer=SIGNER, now_ms=at_ms
    )


def _report(books: FakeBooks, match_id: str, met: bool, at_ms: int, caller: Caller = BREWHAUS) -> MatchView:
    view = status_match.report_challenge(FakeUnitOfWork(books), caller, match_id, met, at_ms)
    assert_consistent(books)
    return view


def test_the_recogniser_gets_a_fresh_attestation_of_a_live_match(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    before = copy.deepcopy(books)
    attestation = _attest(books, match_id, at_ms=NOW + DAY_MS)
    assert books == before
    document = verify_tier_attestation(
        TierAttestation(attestation.payload, attestation.hub_key_id, attestation.signature),
        public_key_bytes(HUB_KEY),
        recogniser_partner_id="brewhaus",
        now=_at(NOW + DAY_MS),
    )
    assert (document.issued_at, document.valid_until, document.matched_tier) == (
        _at(NOW + DAY_MS),
        _at(DEADLINE),
        "silver",
    )
    refusal = _refused(books, lambda: _attest(books, match_id, VOLTLINE))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_RECOGNISER"
    assert _refused(books, lambda: _attest(books, match_id, ZETA)).reason == "MATCH_NOT_FOUND"


def test_an_attestation_of_a_match_whose_time_is_over_ends_it_and_is_refused_for_good(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    refusal = _ended_with(books, lambda: _attest(books, match_id, at_ms=DEADLINE))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "MATCH_ENDED"
    ended = books.match(match_id)
    assert (ended.state, ended.end_reason, ended.ended_at_ms) == (
        MatchState.ENDED,
        EndReason.CHALLENGE_FAILED,
        DEADLINE,
    )
    assert _endings(books) == [(match_id, "CHALLENGE_FAILED")]
    refusal = _refused(books, lambda: _attest(books, match_id, at_ms=DEADLINE + 1))
    assert refusal.reason == "MATCH_ENDED" and refusal.final


def test_a_met_challenge_confirms_the_match_for_its_days_and_tells_the_recogniser_the_new_end(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    view = _report(books, match_id, True, NOW + 10 * DAY_MS)
    assert (view.member_ref, view.match.matched_tier) == ("b-1", "silver")
    confirmed = books.match(match_id)
    assert (confirmed.state, confirmed.ends_at_ms, confirmed.challenge_pending) == (
        MatchState.CONFIRMED,
        MATCH_END,
        False,
    )
    assert _told(books) == [(InstructionKind.TIER_MATCHED, match_id, "")] * 2
    assert _attest(books, match_id, at_ms=DEADLINE).payload.count(str(MATCH_END).encode()) == 1
    refusal = _refused(books, lambda: _report(books, match_id, True, NOW + 11 * DAY_MS))
    assert refusal.reason == "CHALLENGE_NOT_PENDING" and not refusal.final


def test_a_challenge_not_met_ends_the_match_told_once(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    view = _report(books, match_id, False, NOW + 10 * DAY_MS)
    assert (view.match.state, view.match.end_reason) == (MatchState.ENDED, EndReason.CHALLENGE_FAILED)
    assert books.match(match_id).ended_at_ms == NOW + 10 * DAY_MS
    assert _endings(books) == [(match_id, "CHALLENGE_FAILED")]
    assert _refused(books, lambda: _report(books, match_id, False, NOW + 11 * DAY_MS)).reason == "CHALLENGE_NOT_PENDING"


def test_a_challenge_reported_at_its_deadline_is_refused_and_the_match_ends_with_the_refusal(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    refusal = _ended_with(books, lambda: _report(books, match_id, True, DEADLINE))
    assert refusal.reason == "CHALLENGE_DEADLINE_PASSED"
    ended = books.match(match_id)
    assert (ended.state, ended.end_reason, ended.ended_at_ms) == (
        MatchState.ENDED,
        EndReason.CHALLENGE_FAILED,
        DEADLINE,
    )
    assert _endings(books) == [(match_id, "CHALLENGE_FAILED")]


def test_only_the_recogniser_reports_a_challenge_and_only_a_pending_one(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    refusal = _refused(books, lambda: _report(books, match_id, True, NOW + DAY_MS, VOLTLINE))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_RECOGNISER"
    _agree(books, attester="acme", challenge=None)
    FakeUnitOfWork(books).members.add_account("acme", "a-1", member, "pw-acme-a-1", NOW)
    link_member(books, member, "voltline", "acme")
    _publish(books, "a-1", caller=ACME)
    _consent(books, member, source="acme")
    plain = _matched(books, counterparty="acme")
    assert books.match(plain).ends_at_ms == MATCH_END
    assert _refused(books, lambda: _report(books, plain, True, NOW + DAY_MS)).reason == "CHALLENGE_NOT_PENDING"


# endings --------------------------------------------------------------------------------------------------


def test_ending_a_members_matches_tells_each_recogniser_once_with_the_reason(books: FakeBooks, member: str) -> None:
    first, second = _matched(books), _acme_match(books, member)
    assert status_match.end_member_matches(FakeUnitOfWork(books), member, EndReason.ERASED, NOW + DAY_MS) == 2
    assert sorted(_endings(books)) == sorted([(first, "ERASED"), (second, "ERASED")])
    assert {books.match(m).ended_at_ms for m in (first, second)} == {NOW + DAY_MS}
    assert_consistent(books)
    before = copy.deepcopy(books)
    assert status_match.end_member_matches(FakeUnitOfWork(books), member, EndReason.ERASED, NOW + 2 * DAY_MS) == 0
    assert books == before


def test_a_consent_change_ends_only_the_matches_no_live_consent_covers(books: FakeBooks, member: str) -> None:
    first, second = _matched(books), _acme_match(books, member)
    assert status_match.end_after_consent_change(FakeUnitOfWork(books), member, NOW + DAY_MS) == 0
    acme_consent = next(c for c, *_ in books.consents.values() if c.source_partner_id == "acme")
    FakeUnitOfWork(books).consents.revoke(replace(acme_consent, revoked_at_ms=NOW + DAY_MS, end_reason="member"))
    assert status_match.end_after_consent_change(FakeUnitOfWork(books), member, NOW + DAY_MS) == 1
    assert _endings(books) == [(second, "CONSENT_REVOKED")]
    assert books.match(first).state is MatchState.ACTIVE
    assert_consistent(books)
    before = copy.deepcopy(books)
    assert status_match.end_after_consent_change(FakeUnitOfWork(books), member, NOW + 2 * DAY_MS) == 0
    assert books == before


def test_an_unlink_ends_the_matches_of_a_brand_no_longer_standing_with_the_member(
    books: FakeBooks, member: str
) -> None:
    first, second = _matched(books), _acme_match(books, member)
    assert status_match.end_after_unlink(FakeUnitOfWork(books), member, NOW + DAY_MS) == 0
    acme_link = next(i for i, link in enumerate(books.links) if link.joins("acme"))
    books.links[acme_link] = replace(books.links[acme_link], ended_at_ms=NOW + DAY_MS)
    assert status_match.end_after_unlink(FakeUnitOfWork(books), member, NOW + DAY_MS) == 1
    assert _endings(books) == [(second, "UNLINKED")]
    assert books.match(first).state is MatchState.ACTIVE
    assert_consistent(books)
    before = copy.deepcopy(books)
    assert status_match.end_after_unlink(FakeUnitOfWork(books), member, NOW + 2 * DAY_MS) == 0
    assert books == before


def test_a_match_whose_time_is_over_ends_as_time_says_whatever_the_reason_given(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    assert status_match.end_member_matches(FakeUnitOfWork(books), member, EndReason.UNLINKED, DEADLINE + DAY_MS) == 1
    assert _endings(books) == [(match_id, "CHALLENGE_FAILED")]
    assert books.match(match_id).ended_at_ms == DEADLINE


# the sweep ------------------------------------------------------------------------------------------------


def _sweep(books: FakeBooks, match_id: str, at_ms: int) -> bool:
    swept = status_match.sweep_match(FakeUnitOfWork(books), match_id, at_ms)
    assert_consistent(books)
    return swept


def test_the_sweep_ends_a_match_whose_days_are_over_as_expired_at_its_end(books: FakeBooks) -> None:
    _agree(books, challenge=None)
    _member(books)
    _publish(books, holds_until_ms=NOW + 300 * DAY_MS)
    match_id = _matched(books)
    assert not _sweep(books, match_id, MATCH_END - 1)
    assert FakeUnitOfWork(books).status_match.due(MATCH_END, 10) == [match_id]
    assert _sweep(books, match_id, MATCH_END + 10 * DAY_MS)
    ended = books.match(match_id)
    assert (ended.state, ended.end_reason, ended.ended_at_ms) == (MatchState.ENDED, EndReason.EXPIRED, MATCH_END)
    before = copy.deepcopy(books)
    assert not _sweep(books, match_id, MATCH_END + 11 * DAY_MS)
    assert books == before
    assert _endings(books) == [(match_id, "EXPIRED")]
    assert not _sweep(books, "smt-nope", MATCH_END)


def test_the_sweep_ends_a_match_whose_challenge_went_unreported_at_its_deadline(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    assert not _sweep(books, match_id, DEADLINE - 1)
    assert _sweep(books, match_id, DEADLINE + DAY_MS)
    ended = books.match(match_id)
    assert (ended.end_reason, ended.ended_at_ms) == (EndReason.CHALLENGE_FAILED, DEADLINE)
    assert _endings(books) == [(match_id, "CHALLENGE_FAILED")]


def test_the_sweep_ends_a_match_as_lapsed_once_the_attested_tier_is_no_longer_held(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    _report(books, match_id, True, NOW + DAY_MS)
    before = copy.deepcopy(books)
    assert not _sweep(books, match_id, HELD - 1)
    assert books == before
    assert FakeUnitOfWork(books).status_match.due(HELD, 10) == [match_id]
    assert _sweep(books, match_id, HELD)
    ended = books.match(match_id)
    assert (ended.end_reason, ended.ended_at_ms) == (EndReason.LAPSED, HELD)
    assert _endings(books) == [(match_id, "LAPSED")]


def test_a_tier_republished_with_a_later_hold_keeps_the_match_past_the_old_one(books: FakeBooks, member: str) -> None:
    match_id = _matched(books)
    _report(books, match_id, True, NOW + DAY_MS)
    _publish(books, at_ms=NOW + 50 * DAY_MS, holds_until_ms=NOW + 200 * DAY_MS)
    match, sealed, _ = books.matches[match_id]
    books.matches[match_id] = (match, sealed, HELD)  # the row as a sweep that read it before the republish found it
    assert FakeUnitOfWork(books).status_match.due(HELD, 10) == [match_id]
    assert not _sweep(books, match_id, HELD)
    assert books.match(match_id).state is MatchState.CONFIRMED
    assert books.matches[match_id][2] == NOW + 200 * DAY_MS
    assert FakeUnitOfWork(books).status_match.due(HELD, 10) == []  # not swept again every pass
    assert _endings(books) == []


def test_the_sweep_looks_again_when_the_consent_expires_and_ends_the_match_then(
    books: FakeBooks, agreement: MatchAgreement
) -> None:
    member_id = _member(books, consent=False)
    expiry = NOW + 50 * DAY_MS  # before gold stops holding (day 100)
    _consent(books, member_id, expires_at_ms=expiry)
    match_id = _matched(books)
    _report(books, match_id, True, NOW + DAY_MS)
    assert books.matches[match_id][2] == expiry
    _publish(books, at_ms=NOW + 2 * DAY_MS, holds_until_ms=NOW + 300 * DAY_MS)  # a later hold: still the consent's
    assert books.matches[match_id][2] == expiry
    assert FakeUnitOfWork(books).status_match.due(expiry, 10) == [match_id]
    before = copy.deepcopy(books)
    assert not _sweep(books, match_id, expiry - 1)
    assert books == before
    assert _sweep(books, match_id, expiry)
    ended = books.match(match_id)
    assert (ended.end_reason, ended.ended_at_ms) == (EndReason.CONSENT_REVOKED, expiry)
    assert _endings(books) == [(match_id, "CONSENT_REVOKED")]


def test_a_tier_republished_after_the_consent_expired_leaves_the_match_to_the_next_sweep(
    books: FakeBooks, agreement: MatchAgreement
) -> None:
    member_id = _member(books, consent=False)
    _consent(books, member_id, expires_at_ms=NOW + 10 * DAY_MS)
    match_id = _matched(books)
    assert _publish(books, at_ms=NOW + 11 * DAY_MS, holds_until_ms=NOW + 300 * DAY_MS) == 0
    assert books.matches[match_id][2] == NOW + 11 * DAY_MS  # due at once
    assert _sweep(books, match_id, NOW + 11 * DAY_MS)
    assert _endings(books) == [(match_id, "CONSENT_REVOKED")]


# notices --------------------------------------------------------------------------------------------------


def _notice(books: FakeBooks, match_id: str, kind: InstructionKind = InstructionKind.TIER_MATCHED) -> Match | None:
    instruction = next(
        (i for i in books.instructions.values() if i.match_id == match_id and i.kind is kind),
        Instruction("ins-x", "brewhaus", kind, InstructionState.PENDING, "b-1", 0, "BREW", Origin.match(match_id), NOW),
    )
    return status_match.match_notice(FakeUnitOfWork(books), instruction)


def test_a_notice_tells_the_match_with_its_tiers_opened_and_once_the_member_is_erased_without_them(
    books: FakeBooks, member: str
) -> None:
    match_id = _matched(books)
    notice = _notice(books, match_id)
    assert notice is not None and (notice.attester_tier, notice.matched_tier) == ("gold", "silver")
    assert notice == replace(books.match(match_id), attester_tier="gold", matched_tier="silver")
    assert status_match.end_member_matches(FakeUnitOfWork(books), member, EndReason.ERASED, NOW + DAY_MS) == 1
    ended = _notice(books, match_id, InstructionKind.TIER_MATCH_ENDED)
    assert ended is not None and (ended.end_reason, ended.matched_tier) == (EndReason.ERASED, "silver")
    FakeVault(books).destroy_key(member)
    books.erased.add(member)
    erased = _notice(books, match_id, InstructionKind.TIER_MATCH_ENDED)  # still says with whom, when and why
    assert erased == replace(ended, attester_tier="", matched_tier="")
    assert (erased.attester_partner_id, erased.ended_at_ms) == ("voltline", NOW + DAY_MS)
    assert _notice(books, "smt-nope") is None
    assert FakeVault(books).open(member, "tier", books.member_tiers[(member, "voltline")][0]) is None
    assert _refused(books, lambda: _request(books)).reason == "MEMBER_NOT_FOUND"
