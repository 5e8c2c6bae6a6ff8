"""Joint membership commands (agreements, enrol, renew, grace, cancel, lapse, grants) as the service runs them.

The same commands run against the real store in tests/e2e/test_memberships.py; here each rule is one
sentence. stride sells the "club" programme (tests.unit.fakes.club_terms) with volt and acme as
partners; the member s-1 is known at volt as v-1 and linked there, and has no account at acme
until a test links one. After every command the books keep their invariants
(tests.unit.fakes.assert_consistent), and a refused command leaves them exactly as they were.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import replace

import pytest

from exchange.domain.agreements import DAY_MS
from exchange.domain.errors import (
    AlreadyExists,
    ExchangeError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from exchange.domain.instructions import BenefitNotice, Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import money_positions
from exchange.domain.membership_agreements import Grant, GrantState, MembershipAgreement, MembershipAgreementStatus
from exchange.domain.membership_terms import MembershipTerms, PartnerTerms, TermLength, document_of
from exchange.domain.memberships import MembershipState, add_months
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import memberships
from exchange.service.authentication import Caller
from exchange.service.memberships import MembershipView
from tests.unit.fakes import (
    BOOKS_NOW,
    FakeBooks,
    FakeUnitOfWork,
    assert_consistent,
    brand_key,
    club_terms,
    keyed_brand,
    link_member,
    member_with_accounts,
)

NOW = BOOKS_NOW  # 2027-01-15T08:00:00Z
STRIDE = Caller("stride", "k1")
VOLT = Caller("volt", "k1")
ACME = Caller("acme", "k1")
ZETA = Caller("zeta", "k1")
SECRET = b"s" * 32
MONTHLY, YEARLY = TermLength.MONTHLY, TermLength.YEARLY
END = add_months(NOW, 1)  # a monthly term sold now ends 2027-02-15T08:00:00Z, 31 days on
GRACE_END = END + 7 * DAY_MS


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks(
        partners={p: keyed_brand(p, "GBP") for p in ("stride", "volt", "acme", "zeta")},
    )


@pytest.fixture
def member(books: FakeBooks) -> str:
    """s-1 at stride, v-1 at volt, linked; no account at acme."""
    return member_with_accounts(books, {"stride": "s-1", "volt": "v-1"}, linked=("volt",))


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


def _propose(
    books: FakeBooks, terms: MembershipTerms, *, caller: Caller = STRIDE, signature: bytes | None = None
) -> MembershipAgreement:
    signed = brand_key(caller.principal).sign(document_of(terms)) if signature is None else signature
    return memberships.propose_agreement(FakeUnitOfWork(books), caller, terms, signed, NOW)


def _sign(books: FakeBooks, agreement: MembershipAgreement, caller: Caller, at_ms: int = NOW) -> MembershipAgreement:
    signature = brand_key(caller.principal).sign(agreement.document)
    return memberships.sign_agreement(FakeUnitOfWork(books), caller, agreement.agreement_id, signature, at_ms)


def _active(books: FakeBooks, terms: MembershipTerms | None = None) -> MembershipAgreement:
    agreement = _propose(books, terms or club_terms())
    for partner_id in agreement.terms.partner_ids:
        agreement = _sign(books, agreement, Caller(partner_id, "k1"))
    assert agreement.status is MembershipAgreementStatus.ACTIVE
    return agreement


def _enrol(
    books: FakeBooks,
    *,
    caller: Caller = STRIDE,
    programme: str = "club",
    ref: str = "s-1",
    term: TermLength = MONTHLY,
    score: int | None = None,
    fee: int = 1_000,
    at_ms: int = NOW,
) -> MembershipView:
    return memberships.enrol(
        FakeUnitOfWork(books),
        caller,
        programme_id=programme,
        member_ref=ref,
        term=term,
        score=score,
        fee_minor=fee,
        pairwise_secret=SECRET,
        now_ms=at_ms,
    )


def _enrolled(books: FakeBooks, **options: object) -> str:
    _active(books)
    return _enrol(books, **options).membership.membership_id  # type: ignore[arg-type]


def _renew(books: FakeBooks, membership_id: str, *, at_ms: int, caller: Caller = STRIDE, fee: int = 1_000):
    return memberships.renew(
        FakeUnitOfWork(books),
        caller,
        membership_id=membership_id,
        term=MONTHLY,
        score=None,
        fee_minor=fee,
        now_ms=at_ms,
    )


def _benefit_instructions(books: FakeBooks, partner_id: str) -> list[Instruction]:
    return [i for i in books.instructions_for(partner_id) if i.benefit is not None]


def _movements(books: FakeBooks, kind: MovementKind) -> list[Movement]:
    return [m for _, m in books.movements if m.kind is kind]


# --- agreements -----------------------------------------------------------------------------------------------


def test_the_seller_proposes_terms_it_signed_and_they_wait_for_every_partner(books: FakeBooks) -> None:
    terms = club_terms()
    agreement = _propose(books, terms)
    assert books.membership_agreements == {agreement.agreement_id: agreement}
    assert agreement.agreement_id.startswith("mag-")
    assert (agreement.status, agreement.terms, agreement.document) == (
        MembershipAgreementStatus.PROPOSED,
        terms,
        document_of(terms),
    )
    ((seller, key_id, signature, at_ms),) = [
        (s.partner_id, s.key_id, s.signature, s.signed_at_ms) for s in agreement.signatures
    ]
    assert (seller, key_id, at_ms) == ("stride", "k1", NOW)
    brand_key("stride").public_key().verify(signature, agreement.document)
    assert agreement.awaiting == ("acme", "volt")
    assert (books.ledger, books.instructions, books.movements) == ([], {}, [])


def test_only_the_seller_named_in_the_terms_proposes_them(books: FakeBooks) -> None:
    refusal = _refused(books, lambda: _propose(books, club_terms(), caller=VOLT))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_SELLER"


def test_terms_naming_an_unregistered_partner_are_refused(books: FakeBooks) -> None:
    del books.partners["acme"]
    refusal = _refused(books, lambda: _propose(books, club_terms()))
    assert isinstance(refusal, NotFound) and refusal.reason == "PARTNER_NOT_FOUND"


def test_terms_naming_a_suspended_partner_are_refused(books: FakeBooks) -> None:
    books.partners["acme"] = replace(books.partners["acme"], status=PartnerStatus.SUSPENDED)
    refusal = _refused(books, lambda: _propose(books, club_terms()))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "COUNTERPARTY_NOT_ACTIVE"


def test_terms_naming_a_charity_as_a_partner_are_refused(books: FakeBooks) -> None:
    books.partners["acme"] = replace(books.partners["acme"], kind=PartnerKind.CHARITY)
    refusal = _refused(books, lambda: _propose(books, club_terms()))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "NOT_A_BRAND"


def test_another_sellers_programme_is_taken(books: FakeBooks) -> None:
    _propose(books, club_terms())
    theirs = club_terms(version=2, seller_partner_id="volt", partners=[_partner_of(club_terms(), "acme")])
    refusal = _refused(books, lambda: _propose(books, theirs, caller=VOLT))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "PROGRAMME_TAKEN"


def _partner_of(terms: MembershipTerms, partner_id: str) -> PartnerTerms:
    return next(p for p in terms.partners if p.partner_id == partner_id)


@pytest.mark.parametrize(("proposed", "version"), [(0, 2), (1, 1), (1, 3)])
def test_a_version_other_than_the_next_one_is_refused(books: FakeBooks, proposed: int, version: int) -> None:
    if proposed:
        _propose(books, club_terms())
    refusal = _refused(books, lambda: _propose(books, club_terms(version=version)))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "WRONG_VERSION"
    assert refusal.field == "terms.version"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda document: brand_key("volt").sign(document), id="another-brands-key"),
        pytest.param(lambda document: brand_key("stride").sign(document + b" "), id="other-bytes"),
        pytest.param(lambda document: brand_key("stride").sign(document)[:-1], id="truncated"),
        pytest.param(lambda document: b"", id="empty"),
    ],
)
def test_a_proposal_whose_signature_is_not_the_callers_over_the_document_is_refused(
    books: FakeBooks, signature: Callable[[bytes], bytes]
) -> None:
    terms = club_terms()
    refusal = _refused(books, lambda: _propose(books, terms, signature=signature(document_of(terms))))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == "BAD_DOCUMENT_SIGNATURE"
    assert refusal.field == "seller_signature"


def test_terms_are_active_once_every_partner_signed_them(books: FakeBooks) -> None:
    proposed = _propose(books, club_terms())
    half = _sign(books, proposed, VOLT, at_ms=NOW + 1)
    assert (half.status, half.awaiting) == (MembershipAgreementStatus.PROPOSED, ("acme",))
    assert books.membership_agreements[proposed.agreement_id] == half
    done = _sign(books, half, ACME, at_ms=NOW + 2)
    assert (done.status, done.awaiting) == (MembershipAgreementStatus.ACTIVE, ())
    assert [(s.partner_id, s.signed_at_ms) for s in done.signatures] == [
        ("stride", NOW),
        ("volt", NOW + 1),
        ("acme", NOW + 2),
    ]
    assert books.membership_agreements[proposed.agreement_id] == done
    assert FakeUnitOfWork(books).memberships.active_agreement("club") == done


def test_a_partner_signing_again_changes_nothing(books: FakeBooks) -> None:
    half = _sign(books, _propose(books, club_terms()), VOLT)
    before = copy.deepcopy(books)
    assert _sign(books, half, VOLT, at_ms=NOW + 5) == half
    assert books == before


def test_a_new_version_signed_by_all_supersedes_the_one_in_force(books: FakeBooks) -> None:
    first = _active(books)
    second = _propose(books, club_terms(version=2, name="Stride Club Plus"))
    assert books.membership_agreements[first.agreement_id].status is MembershipAgreementStatus.ACTIVE
    second = _sign(books, _sign(books, second, VOLT), ACME)
    assert second.status is MembershipAgreementStatus.ACTIVE
    assert books.membership_agreements[first.agreement_id].status is MembershipAgreementStatus.SUPERSEDED
    assert FakeUnitOfWork(books).memberships.active_agreement("club") == second
    assert books.membership_agreements[second.agreement_id].status is MembershipAgreementStatus.ACTIVE


def test_the_seller_does_not_sign_here(books: FakeBooks) -> None:
    proposed = _propose(books, club_terms())
    refusal = _refused(books, lambda: _sign(books, proposed, STRIDE))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "NOT_A_PARTNER"


def test_a_brand_outside_the_terms_finds_no_agreement_to_sign_or_read(books: FakeBooks) -> None:
    proposed = _propose(books, club_terms())
    refusal = _refused(books, lambda: _sign(books, proposed, ZETA))
    assert isinstance(refusal, NotFound) and refusal.reason == "AGREEMENT_NOT_FOUND"
    unknown = replace(proposed, agreement_id="mag-nope")
    assert _refused(books, lambda: _sign(books, unknown, VOLT)).reason == "AGREEMENT_NOT_FOUND"
    with pytest.raises(NotFound):
        memberships.get_agreement(FakeUnitOfWork(books), ZETA, proposed.agreement_id)
    assert memberships.get_agreement(FakeUnitOfWork(books), ACME, proposed.agreement_id) == proposed


def test_a_partners_signature_that_is_not_over_the_document_is_refused(books: FakeBooks) -> None:
    proposed = _propose(books, club_terms())
    bad = brand_key("acme").sign(proposed.document)  # acme's key, volt's call
    work = FakeUnitOfWork(books)
    refusal = _refused(books, lambda: memberships.sign_agreement(work, VOLT, proposed.agreement_id, bad, NOW))
    assert isinstance(refusal, InvalidArgument) and refusal.reason == "BAD_DOCUMENT_SIGNATURE"
    assert refusal.field == "signature"


def test_a_superseded_version_can_no_longer_be_signed(books: FakeBooks) -> None:
    _active(books)
    zeta = PartnerTerms("zeta", _partner_of(club_terms(), "acme").benefits, _partner_of(club_terms(), "acme").shares)
    second = _propose(books, club_terms(version=2, partners=[*club_terms().partners, zeta]))
    second = _sign(books, _sign(books, _sign(books, second, VOLT), ACME), ZETA)
    third = _propose(books, club_terms(version=3, partners=[*club_terms().partners, zeta]))
    _sign(books, _sign(books, _sign(books, third, VOLT), ACME), ZETA)
    assert books.membership_agreements[second.agreement_id].status is MembershipAgreementStatus.SUPERSEDED
    assert _sign(books, second, ZETA) == books.membership_agreements[second.agreement_id]  # signed already: no-op


def test_signing_an_older_proposal_after_a_newer_version_is_in_force_does_not_bring_the_old_terms_back(
    books: FakeBooks,
) -> None:
    first = _sign(books, _propose(books, club_terms()), VOLT)  # v1 waits for acme
    second = _propose(books, club_terms(version=2, name="Stride Club Plus"))
    second = _sign(books, _sign(books, second, VOLT), ACME)
    assert second.status is MembershipAgreementStatus.ACTIVE
    with contextlib.suppress(ExchangeError):  # refused (AGREEMENT_SUPERSEDED), or signed and left behind
        _sign(books, first, ACME)
    assert FakeUnitOfWork(books).memberships.active_agreement("club") == second
    assert books.membership_agreements[second.agreement_id].status is MembershipAgreementStatus.ACTIVE


# --- enrol ----------------------------------------------------------------------------------------------------


def test_enrolment_sells_a_term_pays_each_partner_its_share_and_grants_where_the_member_is_linked(
    books: FakeBooks, member: str
) -> None:
    _active(books)
    shown = _enrol(books, ref=" s-1 ")
    membership = shown.membership
    assert books.memberships == {membership.membership_id: (membership, member)}
    assert membership.membership_id.startswith("mbs-")
    assert (membership.state, membership.member_ref, membership.start_ms, membership.end_ms) == (
        MembershipState.ACTIVE,
        "s-1",
        NOW,
        END,
    )
    ((paid),) = membership.terms
    assert (paid.fee_minor, paid.shares, paid.terms_version) == (1_000, (("acme", 100), ("volt", 200)), 1)
    # money: the seller owes each partner its share, as a movement of the open period and in the ledger
    shares = sorted((m.target_partner_id, m.amount_minor) for m in _movements(books, MovementKind.MEMBERSHIP_FEE_SHARE))
    assert shares == [("acme", 100), ("volt", 200)]
    assert all(
        (p, m.source_partner_id, m.currency, m.final_at_ms, m.source_points) == ("per-1", "stride", "GBP", NOW, 0)
        for p, m in books.movements
    )
    assert sorted(t.reference for t in books.ledger) == sorted(m.movement_id for _, m in books.movements)
    assert {t.kind for t in books.ledger} == {"MEMBERSHIP_FEE_SHARE"}
    assert money_positions(books.postings()) == {("volt", "GBP"): 200, ("acme", "GBP"): 100, ("stride", "GBP"): -300}
    # grants: volt, where the member is linked, is told; acme waits for a link
    volt_terms = _partner_of(club_terms(), "volt")
    ((grant),) = _benefit_instructions(books, "volt")
    assert (grant.kind, grant.state, grant.member_ref, grant.points, grant.point_currency) == (
        InstructionKind.BENEFIT_GRANT,
        InstructionState.PENDING,
        "v-1",
        0,
        "VOLT",
    )
    assert (grant.origin, grant.created_at_ms) == (Origin.membership(membership.membership_id), NOW)
    assert grant.benefit == BenefitNotice("club", volt_terms.benefits, NOW, END)
    assert _benefit_instructions(books, "acme") == []
    assert books.grant(membership.membership_id, "volt") == Grant(
        membership.membership_id, "volt", GrantState.PENDING, END
    )
    assert books.grant(membership.membership_id, "acme") == Grant(
        membership.membership_id, "acme", GrantState.AWAITING_LINK, 0
    )
    # the seller's view: its own reference, every grant
    assert (shown.member_ref, shown.programme_name) == ("s-1", "Stride Club")
    assert [(g.partner_id, g.state) for g, _ in shown.grants] == [
        ("acme", GrantState.AWAITING_LINK),
        ("volt", GrantState.PENDING),
    ]
    assert_consistent(books)


def test_enrolment_makes_a_member_the_hub_has_not_seen_yet(books: FakeBooks) -> None:
    _active(books)
    membership_id = _enrol(books, ref="s-9").membership.membership_id
    ((member_id, _),) = books.accounts.values()
    assert list(books.accounts) == [("stride", "s-9")] and list(books.members) == [member_id]
    assert books.memberships[membership_id][1] == member_id
    assert {g.state for g, _ in books.grants.values()} == {GrantState.AWAITING_LINK}  # linked nowhere yet
    assert books.instructions == {}
    assert_consistent(books)


def test_the_fee_is_the_tier_of_the_attested_score(books: FakeBooks, member: str) -> None:
    _active(books)
    membership = _enrol(books, score=500, fee=800).membership
    assert (membership.terms[0].fee_minor, membership.terms[0].score) == (800, 500)
    assert_consistent(books)


@pytest.mark.parametrize(("score", "fee"), [(500, 1_000), (None, 800), (499, 800), (None, 999)])
def test_a_fee_other_than_the_agreed_one_for_the_score_is_refused(
    books: FakeBooks, member: str, score: int | None, fee: int
) -> None:
    _active(books)
    refusal = _refused(books, lambda: _enrol(books, score=score, fee=fee))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "FEE_MISMATCH"


def test_enrolment_needs_the_programme_in_force(books: FakeBooks, member: str) -> None:
    assert _refused(books, lambda: _enrol(books)).reason == "PROGRAMME_NOT_FOUND"
    _sign(books, _propose(books, club_terms()), VOLT)  # proposed, not yet active
    refusal = _refused(books, lambda: _enrol(books))
    assert isinstance(refusal, NotFound) and refusal.reason == "PROGRAMME_NOT_FOUND"


def test_a_brand_outside_the_programme_finds_no_programme(books: FakeBooks, member: str) -> None:
    _active(books)
    refusal = _refused(books, lambda: _enrol(books, caller=ZETA))
    assert isinstance(refusal, NotFound) and refusal.reason == "PROGRAMME_NOT_FOUND"


def test_a_partner_does_not_sell_the_sellers_programme(books: FakeBooks, member: str) -> None:
    _active(books)
    refusal = _refused(books, lambda: _enrol(books, caller=VOLT))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_SELLER"


def test_a_member_is_not_sold_the_programme_twice_for_the_same_time(books: FakeBooks, member: str) -> None:
    _active(books)
    _enrol(books)
    refusal = _refused(books, lambda: _enrol(books, ref=" s-1", at_ms=END - 1))
    assert isinstance(refusal, AlreadyExists) and refusal.reason == "ALREADY_ENROLLED"


def test_a_member_whose_membership_was_cancelled_may_enrol_again(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, NOW + DAY_MS)
    again = _enrol(books, at_ms=NOW + 2 * DAY_MS).membership
    assert again.membership_id != membership_id and again.state is MembershipState.ACTIVE
    assert_consistent(books)


# --- grants waiting for a link --------------------------------------------------------------------------------


def test_a_grant_waiting_for_a_link_is_sent_once_the_member_links_there(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    books.accounts[("acme", "a-1")] = (member, "pw-acme")
    link_member(books, member, "stride", "acme", NOW + DAY_MS)
    assert memberships.deliver_awaiting_grants(FakeUnitOfWork(books), member, NOW + DAY_MS) == 1
    ((grant),) = _benefit_instructions(books, "acme")
    assert (grant.kind, grant.member_ref, grant.created_at_ms) == (InstructionKind.BENEFIT_GRANT, "a-1", NOW + DAY_MS)
    assert grant.benefit == BenefitNotice("club", _partner_of(club_terms(), "acme").benefits, NOW + DAY_MS, END)
    assert books.grant(membership_id, "acme") == Grant(membership_id, "acme", GrantState.PENDING, END)
    assert memberships.deliver_awaiting_grants(FakeUnitOfWork(books), member, NOW + DAY_MS) == 0  # sent once
    assert len(_benefit_instructions(books, "acme")) == 1
    assert_consistent(books)


def test_a_grant_keeps_waiting_while_there_is_no_live_link_there(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    books.accounts[("acme", "a-1")] = (member, "pw-acme")
    link = link_member(books, member, "stride", "acme", NOW)
    books.links[-1] = replace(link, ended_at_ms=NOW + 1, ended_by="acme")
    assert memberships.deliver_awaiting_grants(FakeUnitOfWork(books), member, NOW + DAY_MS) == 0
    assert books.grant(membership_id, "acme").state is GrantState.AWAITING_LINK
    assert _benefit_instructions(books, "acme") == []


def test_no_grant_is_sent_for_a_membership_past_its_time_or_an_erased_member(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    books.accounts[("acme", "a-1")] = (member, "pw-acme")
    link_member(books, member, "stride", "acme", NOW)
    before = copy.deepcopy(books)
    assert memberships.deliver_awaiting_grants(FakeUnitOfWork(books), member, END) == 0  # over, not swept yet
    assert books == before
    books.erased.add(member)
    assert memberships.deliver_awaiting_grants(FakeUnitOfWork(books), member, NOW + DAY_MS) == 0
    assert books.grant(membership_id, "acme").state is GrantState.AWAITING_LINK


# --- renew ----------------------------------------------------------------------------------------------------


def test_a_renewal_sells_the_next_term_pays_the_shares_again_and_tells_each_told_partner_the_new_end(
    books: FakeBooks, member: str
) -> None:
    membership_id = _enrolled(books)
    at = NOW + 20 * DAY_MS
    shown = _renew(books, membership_id, at_ms=at)
    renewed = books.membership(membership_id)
    assert shown.membership == renewed
    assert (renewed.state, len(renewed.terms), renewed.terms[1].start_ms, renewed.end_ms) == (
        MembershipState.ACTIVE,
        2,
        END,
        add_months(NOW, 2),
    )
    shares = [
        (m.target_partner_id, m.amount_minor, m.final_at_ms)
        for m in _movements(books, MovementKind.MEMBERSHIP_FEE_SHARE)
    ]
    assert sorted(shares) == [("acme", 100, NOW), ("acme", 100, at), ("volt", 200, NOW), ("volt", 200, at)]
    assert money_positions(books.postings())[("volt", "GBP")] == 400
    first, second = _benefit_instructions(books, "volt")
    assert second.benefit == BenefitNotice("club", _partner_of(club_terms(), "volt").benefits, at, add_months(NOW, 2))
    assert first.benefit is not None and first.benefit.honoured_until_ms == END
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.PENDING, add_months(NOW, 2))
    assert books.grant(membership_id, "acme").state is GrantState.AWAITING_LINK  # still waiting: not told
    assert _benefit_instructions(books, "acme") == []
    assert_consistent(books)


def test_a_renewal_is_the_sellers_and_once_per_term(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    refusal = _refused(books, lambda: _renew(books, membership_id, at_ms=NOW + DAY_MS, caller=VOLT))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_SELLER"
    refusal = _refused(books, lambda: _renew(books, membership_id, at_ms=NOW + DAY_MS, caller=ZETA))
    assert isinstance(refusal, NotFound) and refusal.reason == "MEMBERSHIP_NOT_FOUND"
    assert _refused(books, lambda: _renew(books, "mbs-nope", at_ms=NOW + DAY_MS)).reason == "MEMBERSHIP_NOT_FOUND"
    assert _refused(books, lambda: _renew(books, membership_id, at_ms=NOW + DAY_MS, fee=999)).reason == "FEE_MISMATCH"
    _renew(books, membership_id, at_ms=NOW + DAY_MS)
    refusal = _refused(books, lambda: _renew(books, membership_id, at_ms=NOW + 2 * DAY_MS))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "ALREADY_RENEWED"


def test_a_membership_past_its_end_is_not_renewed(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    refusal = _refused(books, lambda: _renew(books, membership_id, at_ms=END))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "MEMBERSHIP_LAPSED"


def test_a_partner_new_to_the_renewed_terms_is_granted_where_the_member_is_linked(books: FakeBooks) -> None:
    member = member_with_accounts(books, {"stride": "s-1", "volt": "v-1", "zeta": "z-1"}, linked=("volt", "zeta"))
    membership_id = _enrolled(books)
    acme = _partner_of(club_terms(), "acme")
    second = _propose(books, club_terms(version=2, partners=[*club_terms().partners, replace(acme, partner_id="zeta")]))
    _sign(books, _sign(books, _sign(books, second, VOLT), ACME), ZETA)
    _renew(books, membership_id, at_ms=NOW + DAY_MS)
    assert books.grants[(membership_id, "zeta")][1] == member
    assert [i.kind for i in _benefit_instructions(books, "zeta")] == [InstructionKind.BENEFIT_GRANT]


def test_a_partner_leaving_the_programme_honours_the_term_it_was_paid_for_then_is_revoked(
    books: FakeBooks, member: str
) -> None:
    membership_id = _enrolled(books)
    second = _propose(books, club_terms(version=2, partners=[_partner_of(club_terms(), "acme")]))
    _sign(books, second, ACME)
    at = NOW + 20 * DAY_MS
    _renew(books, membership_id, at_ms=at)
    _, revoke = _benefit_instructions(books, "volt")
    assert (revoke.kind, revoke.benefit) == (InstructionKind.BENEFIT_REVOKE, BenefitNotice("club", (), None, END))
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.REVOKED, END)
    assert books.grant(membership_id, "acme").state is GrantState.AWAITING_LINK
    later = [
        (m.target_partner_id, m.amount_minor)
        for m in _movements(books, MovementKind.MEMBERSHIP_FEE_SHARE)
        if m.final_at_ms == at
    ]
    assert later == [("acme", 100)]  # the renewed term pays only the partners of the terms it was sold under
    assert_consistent(books)


# --- a failed renewal, the grace, and the lapse ---------------------------------------------------------------


def test_a_failed_renewal_extends_the_benefits_into_the_grace(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    at = NOW + 30 * DAY_MS
    shown = memberships.report_renewal_failure(FakeUnitOfWork(books), STRIDE, membership_id, at)
    graced = books.membership(membership_id)
    assert shown.membership == graced
    assert (graced.state, graced.grace_until_ms, graced.covered_until_ms) == (
        MembershipState.IN_GRACE,
        GRACE_END,
        GRACE_END,
    )
    _, extended = _benefit_instructions(books, "volt")
    assert (extended.kind, extended.benefit) == (
        InstructionKind.BENEFIT_GRANT,
        BenefitNotice("club", _partner_of(club_terms(), "volt").benefits, at, GRACE_END),
    )
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.PENDING, GRACE_END)
    assert books.grant(membership_id, "acme").state is GrantState.AWAITING_LINK
    assert len(books.movements) == 2  # no money moves
    before = copy.deepcopy(books)
    memberships.report_renewal_failure(FakeUnitOfWork(books), STRIDE, membership_id, at + DAY_MS)
    assert books == before  # the grace does not restart
    assert_consistent(books)


def test_a_failed_renewal_without_grace_days_tells_no_partner_anything_new(books: FakeBooks, member: str) -> None:
    _active(books, club_terms(grace_days=0))
    membership_id = _enrol(books).membership.membership_id
    ((grant),) = _benefit_instructions(books, "volt")
    memberships.grant_acknowledged(FakeUnitOfWork(books), grant)
    memberships.report_renewal_failure(FakeUnitOfWork(books), STRIDE, membership_id, END - DAY_MS)
    assert books.membership(membership_id).grace_until_ms == END
    assert len(_benefit_instructions(books, "volt")) == 1
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.HONOURED, END)


def test_a_renewal_failure_is_reported_by_the_seller_only(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    work = FakeUnitOfWork(books)
    refusal = _refused(books, lambda: memberships.report_renewal_failure(work, VOLT, membership_id, NOW + DAY_MS))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_SELLER"


def test_a_renewal_in_the_grace_makes_the_membership_active_again(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    memberships.report_renewal_failure(FakeUnitOfWork(books), STRIDE, membership_id, END - DAY_MS)
    _renew(books, membership_id, at_ms=END + DAY_MS)
    renewed = books.membership(membership_id)
    assert (renewed.state, renewed.grace_until_ms, renewed.end_ms) == (MembershipState.ACTIVE, None, add_months(NOW, 2))
    assert books.grant(membership_id, "volt").honoured_until_ms == add_months(NOW, 2)
    assert_consistent(books)


def test_an_overdue_membership_lapses_and_its_told_partners_are_told_it_ended(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    before = copy.deepcopy(books)
    assert memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, END - 1) is False
    assert books == before
    assert memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, END + 5) is True
    lapsed = books.membership(membership_id)
    assert (lapsed.state, lapsed.ended_at_ms, lapsed.state_changed_at_ms) == (MembershipState.LAPSED, END, END + 5)
    _, revoke = _benefit_instructions(books, "volt")
    assert (revoke.kind, revoke.member_ref, revoke.benefit) == (
        InstructionKind.BENEFIT_REVOKE,
        "v-1",
        BenefitNotice("club", (), None, END),
    )
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.REVOKED, END)
    assert books.grant(membership_id, "acme") == Grant(membership_id, "acme", GrantState.REVOKED, END)
    assert _benefit_instructions(books, "acme") == []  # never told of a grant: nothing to revoke there
    after = copy.deepcopy(books)
    assert memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, END + DAY_MS) is False
    assert memberships.lapse_overdue(FakeUnitOfWork(books), "mbs-nope", END) is False
    assert books == after
    assert_consistent(books)


def test_a_membership_in_grace_lapses_when_the_grace_ends(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    memberships.report_renewal_failure(FakeUnitOfWork(books), STRIDE, membership_id, END - DAY_MS)
    assert memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, GRACE_END - 1) is False
    assert memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, GRACE_END) is True
    assert books.membership(membership_id).ended_at_ms == GRACE_END
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.REVOKED, GRACE_END)
    assert_consistent(books)


# --- cancel ---------------------------------------------------------------------------------------------------


def test_a_cancellation_refunds_unused_days_takes_back_shares_and_revokes_told_partners(
    books: FakeBooks, member: str
) -> None:
    membership_id = _enrolled(books)
    at = NOW + 10 * DAY_MS  # 21 of 31 whole days unused: 1,000 * 21 / 31 = 677 refunded
    shown = memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, at)
    cancelled = books.membership(membership_id)
    assert shown.membership == cancelled
    assert (cancelled.state, cancelled.ended_at_ms, cancelled.terms[0].refund_minor) == (
        MembershipState.CANCELLED,
        at,
        677,
    )
    # volt gives back 200 * 677 / 1000 = 135 (135.4), acme 100 * 677 / 1000 = 67 (67.7)
    refunds = sorted(
        (m.source_partner_id, m.target_partner_id, m.amount_minor, m.final_at_ms)
        for m in _movements(books, MovementKind.MEMBERSHIP_FEE_REFUND)
    )
    assert refunds == [("stride", "acme", -67, at), ("stride", "volt", -135, at)]
    assert {t.kind for t in books.ledger} == {"MEMBERSHIP_FEE_SHARE", "MEMBERSHIP_FEE_REFUND"}
    assert money_positions(books.postings()) == {("volt", "GBP"): 65, ("acme", "GBP"): 33, ("stride", "GBP"): -98}
    _, revoke = _benefit_instructions(books, "volt")
    assert (revoke.kind, revoke.member_ref, revoke.benefit) == (
        InstructionKind.BENEFIT_REVOKE,
        "v-1",
        BenefitNotice("club", (), None, at),
    )
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.REVOKED, at)
    assert books.grant(membership_id, "acme") == Grant(membership_id, "acme", GrantState.REVOKED, at)  # silently
    assert _benefit_instructions(books, "acme") == []
    assert_consistent(books)


def test_a_cancelled_membership_is_not_cancelled_again(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, NOW + DAY_MS)
    work = FakeUnitOfWork(books)
    refusal = _refused(books, lambda: memberships.cancel(work, STRIDE, membership_id, NOW + 2 * DAY_MS))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "ALREADY_CANCELLED"


def test_only_the_seller_cancels(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    work = FakeUnitOfWork(books)
    refusal = _refused(books, lambda: memberships.cancel(work, ACME, membership_id, NOW + DAY_MS))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_SELLER"


def test_a_revoked_grant_is_not_revoked_again(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, NOW + DAY_MS)
    before = copy.deepcopy(books)
    assert memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, END + DAY_MS) is False
    assert memberships.deliver_awaiting_grants(FakeUnitOfWork(books), member, NOW + 2 * DAY_MS) == 0
    assert books == before


# --- acknowledgements -----------------------------------------------------------------------------------------


def test_an_acknowledged_grant_is_honoured(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    ((grant),) = _benefit_instructions(books, "volt")
    memberships.grant_acknowledged(FakeUnitOfWork(books), grant)
    assert books.grant(membership_id, "volt") == Grant(membership_id, "volt", GrantState.HONOURED, END)
    assert books.grant(membership_id, "acme").state is GrantState.AWAITING_LINK


def test_only_the_acknowledgement_of_the_latest_grant_honours_it(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    _renew(books, membership_id, at_ms=NOW + DAY_MS)
    first, second = _benefit_instructions(books, "volt")
    memberships.grant_acknowledged(FakeUnitOfWork(books), first)  # the end it names is no longer the grant's
    assert books.grant(membership_id, "volt").state is GrantState.PENDING
    memberships.grant_acknowledged(FakeUnitOfWork(books), second)
    assert books.grant(membership_id, "volt").state is GrantState.HONOURED


def test_an_acknowledged_revocation_honours_nothing(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, NOW + DAY_MS)
    _, revoke = _benefit_instructions(books, "volt")
    before = copy.deepcopy(books)
    memberships.grant_acknowledged(FakeUnitOfWork(books), revoke)
    assert books == before
    assert books.grant(membership_id, "volt").state is GrantState.REVOKED


# --- view -----------------------------------------------------------------------------------------------------


def test_a_partner_sees_the_membership_with_its_own_grant_and_its_own_reference_only(
    books: FakeBooks, member: str
) -> None:
    membership_id = _enrolled(books)
    volt_view = memberships.view(FakeUnitOfWork(books), VOLT, membership_id)
    assert (volt_view.member_ref, volt_view.programme_name) == ("v-1", "Stride Club")
    assert volt_view.grants == ((books.grant(membership_id, "volt"), _partner_of(club_terms(), "volt").benefits),)
    acme_view = memberships.view(FakeUnitOfWork(books), ACME, membership_id)
    assert acme_view.member_ref == ""  # no account at acme
    assert [g.partner_id for g, _ in acme_view.grants] == ["acme"]
    seller_view = memberships.view(FakeUnitOfWork(books), STRIDE, membership_id)
    assert seller_view.member_ref == "s-1" and [g.partner_id for g, _ in seller_view.grants] == ["acme", "volt"]
    for caller, wanted in ((ZETA, membership_id), (STRIDE, "mbs-nope")):
        with pytest.raises(NotFound) as refusal:
            memberships.view(FakeUnitOfWork(books), caller, wanted)
        assert refusal.value.reason == "MEMBERSHIP_NOT_FOUND"


def test_a_brand_lists_the_memberships_of_its_member_it_sells_or_honours(books: FakeBooks, member: str) -> None:
    membership_id = _enrolled(books)
    books.accounts[("zeta", "z-1")] = (member, "pw-zeta")
    work = FakeUnitOfWork(books)
    assert [v.membership.membership_id for v in memberships.of_member(work, STRIDE, " s-1 ")] == [membership_id]
    (shown,) = memberships.of_member(work, VOLT, "v-1")
    assert shown == memberships.view(work, VOLT, membership_id)
    assert memberships.of_member(work, ZETA, "z-1") == []  # its member, not its membership
    for caller, ref in ((VOLT, "v-nope"), (ACME, "s-1")):
        with pytest.raises(NotFound) as refusal:
            memberships.of_member(work, caller, ref)
        assert refusal.value.reason == "MEMBER_NOT_FOUND"
    books.erased.add(member)
    with pytest.raises(NotFound):
        memberships.of_member(work, STRIDE, "s-1")
