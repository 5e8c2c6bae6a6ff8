"""Joint membership commands: a programme's agreement, and the memberships sold under it.

The seller proposes a programme's terms and signs the document; every partner signs the same
bytes, and the version is ACTIVE (exchange.domain.membership_agreements). Under the active
version the seller enrols a member, renews, reports a failed renewal, and cancels
(exchange.domain.memberships). Each change does three things in its transaction:

- the membership's new state;
- money: the seller owes each partner its share of a fee collected, and is owed back its part
  of a refund (MEMBERSHIP_FEE_SHARE and MEMBERSHIP_FEE_REFUND movements, and the ledger);
- each partner's grant: a BENEFIT_GRANT instruction with the time the benefits are honoured
  until (again on a renewal, or when a failed renewal extends them into grace), a
  BENEFIT_REVOKE when they end. A partner where the member has no live link yet waits
  (AWAITING_LINK) and is sent its grant when a link is made (deliver_awaiting_grants).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from exchange.domain import membership_agreements as agreement_rules
from exchange.domain import memberships as rules
from exchange.domain.errors import FailedPrecondition, NotFound, PermissionDenied, require
from exchange.domain.instructions import BenefitNotice, Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import membership_money_transaction
from exchange.domain.members import parse_member_ref
from exchange.domain.membership_agreements import (
    AgreementSignature,
    Grant,
    GrantState,
    MembershipAgreement,
    MembershipAgreementStatus,
)
from exchange.domain.membership_terms import Benefit, MembershipTerms, TermLength, document_of
from exchange.domain.memberships import Membership, MembershipState, Obligation
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.domain.settlement import Movement
from exchange.service import settlement
from exchange.service.agreements import check_document_signature
from exchange.service.authentication import Caller
from exchange.service.members import member_in
from exchange.service.ports import UnitOfWork
from exchange.store.ids import new_id

MAX_LISTED = 100  # memberships of one member listed at once
# Why a partner's benefits were revoked, as the BENEFIT_REVOKE's reason says (a live membership: the partner left).
REVOKE_REASONS = {
    MembershipState.CANCELLED: "the membership was cancelled",
    MembershipState.LAPSED: "the membership lapsed",
}


@dataclass(frozen=True, slots=True)
class MembershipView:
    """A membership as one caller may see it: its member by the caller's reference, its grants."""

    membership: Membership
    member_ref: str  # the caller's own reference for the member; empty for a partner not linked yet
    programme_name: str
    grants: tuple[tuple[Grant, tuple[Benefit, ...]], ...]  # the seller sees all; a partner its own


# agreements ---------------------------------------------------------------------------------------


def propose_agreement(
    work: UnitOfWork, caller: Caller, terms: MembershipTerms, signature: bytes, now_ms: int
) -> MembershipAgreement:
    """Record a version of a programme's terms proposed, and signed, by its seller."""
    if terms.seller_partner_id != caller.principal:
        raise PermissionDenied("NOT_SELLER", "the seller of the terms proposes them", field="terms.seller_partner_id")
    for partner_id in terms.partner_ids:
        partner = work.partners.get(partner_id)
        if partner is None:
            raise NotFound("PARTNER_NOT_FOUND", f"no partner {partner_id!r}", field="terms.partners")
        if partner.status is not PartnerStatus.ACTIVE:
            raise FailedPrecondition("COUNTERPARTY_NOT_ACTIVE", f"partner {partner_id!r} is {partner.status.value}")
        if partner.kind is not PartnerKind.BRAND:
            raise FailedPrecondition("NOT_A_BRAND", f"{partner_id!r} is a charity: it honours no benefits")
    latest = work.memberships.latest_version(terms.programme_id)
    previous = work.memberships.agreement_version(terms.programme_id, latest) if latest is not None else None
    if previous is not None and previous.terms.seller_partner_id != caller.principal:
        raise FailedPrecondition(
            "PROGRAMME_TAKEN", f"programme {terms.programme_id!r} is another seller's", field="terms.programme_id"
        )
    expected = (latest or 0) + 1
    if terms.version != expected:
        raise FailedPrecondition(
            "WRONG_VERSION",
            f"the next version of programme {terms.programme_id!r} is {expected}, not {terms.version}",
            field="terms.version",
        )
    document = document_of(terms)
    check_document_signature(work.partners, caller, document, signature, "seller_signature")
    agreement = MembershipAgreement(
        agreement_id=new_id("mag"),
        terms=terms,
        status=MembershipAgreementStatus.PROPOSED,
        document=document,
        signatures=(AgreementSignature(caller.principal, caller.key_id, signature, now_ms),),
        proposed_at_ms=now_ms,
    )
    work.memberships.add_agreement(agreement)
    return agreement


def sign_agreement(
    work: UnitOfWork, caller: Caller, agreement_id: str, signature: bytes, now_ms: int
) -> MembershipAgreement:
    """A partner signs a proposed version; once all have, it is ACTIVE and the previous one SUPERSEDED."""
    before = agreement_rules.require_visible(
        work.memberships.get_agreement(agreement_id), caller.principal, agreement_id
    )
    if caller.principal == before.terms.seller_partner_id:
        raise FailedPrecondition("NOT_A_PARTNER", "the seller signed when it proposed; partners sign here")
    check_document_signature(work.partners, caller, before.document, signature, "signature")
    after = agreement_rules.sign(before, AgreementSignature(caller.principal, caller.key_id, signature, now_ms))
    if after == before:
        return before
    active = work.memberships.active_agreement(after.terms.programme_id)
    if (
        after.status is MembershipAgreementStatus.ACTIVE
        and active is not None
        and active.terms.version > after.terms.version
    ):
        raise FailedPrecondition(
            "AGREEMENT_SUPERSEDED",
            f"version {active.terms.version} of {after.terms.programme_id!r} is in force; this older one can't be",
            field="agreement_id",
        )
    work.memberships.save_agreement(before, after, now_ms)
    if after.status is MembershipAgreementStatus.ACTIVE:
        work.memberships.supersede_active(after.terms.programme_id, except_id=after.agreement_id, now_ms=now_ms)
    return after


def get_agreement(work: UnitOfWork, caller: Caller, agreement_id: str) -> MembershipAgreement:
    """Return a version to its seller or one of its partners."""
    return agreement_rules.require_visible(work.memberships.get_agreement(agreement_id), caller.principal, agreement_id)


# memberships --------------------------------------------------------------------------------------


def enrol(
    work: UnitOfWork,
    caller: Caller,
    *,
    programme_id: str,
    member_ref: str,
    term: TermLength,
    score: int | None,
    fee_minor: int,
    pairwise_secret: bytes,
    now_ms: int,
) -> MembershipView:
    """The seller sells a member a first term: the membership, the partners' shares, and their grants."""
    agreement = _active_agreement(work, caller, programme_id)
    work.memberships.lock_seller(caller.principal)  # one seller's enrolments queue: no member is sold twice
    existing = work.memberships.of_member(caller.principal, programme_id, member_ref.strip())
    membership = rules.enrol(
        agreement.terms,
        caller=caller.principal,
        membership_id=new_id("mbs"),
        member_ref=member_ref,
        term=term,
        score=score,
        fee_minor=fee_minor,
        now_ms=now_ms,
        existing=existing,
    )
    member_id = member_in(work.members, caller.principal, membership.member_ref, pairwise_secret, now_ms)
    work.memberships.add(membership, member_id)
    _collect(work, membership, membership.terms[-1], now_ms)
    for partner in agreement.terms.partners:
        grant = Grant(membership.membership_id, partner.partner_id, GrantState.AWAITING_LINK, 0)
        work.memberships.add_grant(grant, member_id)
        _grant(work, membership, member_id, grant, partner.benefits, now_ms)
    return view(work, caller, membership.membership_id)


def renew(
    work: UnitOfWork,
    caller: Caller,
    *,
    membership_id: str,
    term: TermLength,
    score: int | None,
    fee_minor: int,
    now_ms: int,
) -> MembershipView:
    """The seller sells the next term: its shares, and each partner told the new end."""
    before, member_id = _own(work, caller, membership_id)
    agreement = _active_agreement(work, caller, before.programme_id)
    after = rules.renew(
        before, agreement.terms, caller=caller.principal, term=term, score=score, fee_minor=fee_minor, now_ms=now_ms
    )
    work.memberships.save(before, after)
    _collect(work, after, after.terms[-1], now_ms)
    _follow(work, after, member_id, agreement.terms, now_ms)
    return view(work, caller, membership_id)


def report_renewal_failure(work: UnitOfWork, caller: Caller, membership_id: str, now_ms: int) -> MembershipView:
    """The seller could not collect the next fee: benefits go on into the grace, partners are told until when."""
    before, member_id = _own(work, caller, membership_id)
    after = rules.renewal_failed(before, caller=caller.principal, now_ms=now_ms)
    if after != before:
        work.memberships.save(before, after)
        _follow(work, after, member_id, terms_of(work, after), now_ms)
    return view(work, caller, membership_id)


def cancel(work: UnitOfWork, caller: Caller, membership_id: str, now_ms: int) -> MembershipView:
    """The seller ends a membership now: the refund's shares come back from partners, benefits are revoked."""
    before, member_id = _own(work, caller, membership_id)
    after = rules.cancel(before, caller=caller.principal, now_ms=now_ms)
    work.memberships.save(before, after)
    for obligation in rules.refund_obligations(after):
        _post(work, obligation, now_ms)
    _follow(work, after, member_id, terms_of(work, after), now_ms)
    return view(work, caller, membership_id)


def lapse_overdue(work: UnitOfWork, membership_id: str, now_ms: int) -> bool:
    """Lapse one membership whose paid time or grace is over, revoking its benefits; return whether it did."""
    found = work.memberships.get(membership_id)
    if found is None:
        return False
    before, member_id = found
    after = rules.lapse_if_due(before, now_ms)
    if after is None:
        return False
    work.memberships.save(before, after)
    _follow(work, after, member_id, terms_of(work, after), now_ms)
    return True


def deliver_awaiting_grants(work: UnitOfWork, member_id: str, now_ms: int) -> int:
    """A link was made: send every grant of the member that waited for one where there now is; return how many."""
    sent = 0
    for grant in work.memberships.awaiting_link(member_id):
        found = work.memberships.get(grant.membership_id)
        assert found is not None, "a grant's membership exists"
        membership, _ = found
        if not rules.is_active_at(membership, now_ms):
            continue
        benefits = benefits_at(terms_of(work, membership), grant.partner_id)
        sent += _grant(work, membership, member_id, grant, benefits, now_ms)
    return sent


def grant_acknowledged(work: UnitOfWork, instruction: Instruction) -> None:
    """A partner acknowledged a BENEFIT_GRANT: its grant is HONOURED, if that was the latest it was sent."""
    if instruction.kind is not InstructionKind.BENEFIT_GRANT:
        return
    notice = instruction.benefit
    assert notice is not None, "a benefit instruction carries its notice"
    for grant in work.memberships.grants_of(instruction.membership_id):
        latest = grant.state is GrantState.PENDING and grant.honoured_until_ms == notice.honoured_until_ms
        if grant.partner_id == instruction.partner_id and latest:
            work.memberships.save_grant(replace(grant, state=GrantState.HONOURED))


def of_member(work: UnitOfWork, caller: Caller, member_ref: str) -> list[MembershipView]:
    """A member's memberships the caller sells or honours, newest first (at most MAX_LISTED)."""
    member_id = work.members.member_of(caller.principal, parse_member_ref(member_ref))
    if member_id is None or work.members.is_erased(member_id):
        raise NotFound("MEMBER_NOT_FOUND", "no member of yours has this reference", field="member_ref")
    shown = []
    for membership in work.memberships.of_member_id(member_id, MAX_LISTED):
        if _visible(work, membership, caller.principal):
            shown.append(view(work, caller, membership.membership_id))
    return shown


def view(work: UnitOfWork, caller: Caller, membership_id: str) -> MembershipView:
    """Return a membership to its seller, or to one of its partners (then with that partner's grant only)."""
    found = work.memberships.get(membership_id)
    grants = work.memberships.grants_of(membership_id) if found else []
    if found is None or caller.principal not in (found[0].seller_partner_id, *(g.partner_id for g in grants)):
        raise NotFound("MEMBERSHIP_NOT_FOUND", f"no membership {membership_id!r}", field="membership_id")
    membership, member_id = found
    terms = terms_of(work, membership)
    is_seller = caller.principal == membership.seller_partner_id
    member_ref = membership.member_ref if is_seller else (work.members.account_ref(caller.principal, member_id) or "")
    shown = [g for g in grants if is_seller or g.partner_id == caller.principal]
    return MembershipView(
        membership,
        member_ref,
        terms.name,
        tuple((g, benefits_at(terms, g.partner_id)) for g in shown),
    )


# inside -------------------------------------------------------------------------------------------


def _active_agreement(work: UnitOfWork, caller: Caller, programme_id: str) -> MembershipAgreement:
    agreement = work.memberships.active_agreement(programme_id)
    if agreement is None or not agreement.is_party(caller.principal):
        raise NotFound("PROGRAMME_NOT_FOUND", f"no programme {programme_id!r} in force", field="programme_id")
    if agreement.terms.seller_partner_id != caller.principal:
        raise PermissionDenied("NOT_SELLER", "only the seller sells, renews and cancels its memberships")
    return agreement


def _own(work: UnitOfWork, caller: Caller, membership_id: str) -> tuple[Membership, str]:
    found = work.memberships.get(membership_id)
    if found is None or not _visible(work, found[0], caller.principal):
        raise NotFound("MEMBERSHIP_NOT_FOUND", f"no membership {membership_id!r}", field="membership_id")
    if found[0].seller_partner_id != caller.principal:
        raise PermissionDenied("NOT_SELLER", "only the seller sells, renews and cancels its memberships")
    return found


def _visible(work: UnitOfWork, membership: Membership, partner_id: str) -> bool:
    if partner_id == membership.seller_partner_id:
        return True
    return any(g.partner_id == partner_id for g in work.memberships.grants_of(membership.membership_id))


def terms_of(work: UnitOfWork, membership: Membership, version: int | None = None) -> MembershipTerms:
    """The terms a paid term was sold under (version), by default the membership's latest."""
    wanted = membership.terms[-1].terms_version if version is None else version
    agreement = work.memberships.agreement_version(membership.programme_id, wanted)
    assert agreement is not None, "a membership's terms were signed"
    return agreement.terms


def benefits_at(terms: MembershipTerms, partner_id: str) -> tuple[Benefit, ...]:
    """A partner's benefits under the terms (none for a brand that is not a partner)."""
    return next((p.benefits for p in terms.partners if p.partner_id == partner_id), ())


def _collect(work: UnitOfWork, membership: Membership, paid: rules.PaidTerm, now_ms: int) -> None:
    for obligation in rules.fee_obligations(membership, paid):
        _post(work, obligation, now_ms)


def _post(work: UnitOfWork, obligation: Obligation, now_ms: int) -> None:
    movement = agreement_rules.fee_movement(obligation, movement_id=new_id("mfs"), at_ms=now_ms)
    settlement.record_movement(work.movements, movement)
    post_money(work, movement, now_ms)


def post_money(work: UnitOfWork, movement: Movement, now_ms: int) -> None:
    """Post a membership's money movement to the ledger (it is recorded in the open period already)."""
    work.ledger.post(
        membership_money_transaction(
            movement.kind.value,
            movement.movement_id,
            payer=movement.source_partner_id,
            payee=movement.target_partner_id,
            currency=movement.currency,
            amount=movement.amount_minor,
        ),
        now_ms,
    )


def _follow(work: UnitOfWork, membership: Membership, member_id: str, terms: MembershipTerms, now_ms: int) -> None:
    """Tell each partner what changed: benefits until a new time, or revoked; a partner new to the terms is granted."""
    live = membership.state in (MembershipState.ACTIVE, MembershipState.IN_GRACE)
    grants = {g.partner_id: g for g in work.memberships.grants_of(membership.membership_id)}
    for partner in terms.partners:
        if partner.partner_id not in grants and live:
            grant = Grant(membership.membership_id, partner.partner_id, GrantState.AWAITING_LINK, 0)
            work.memberships.add_grant(grant, member_id)
            grants[partner.partner_id] = grant
    staying = set(terms.partner_ids) if live else set()
    for partner_id, grant in sorted(grants.items()):
        if grant.state is GrantState.REVOKED:
            continue
        if partner_id in staying:
            # A grant still waiting is tried again: a partner new to the terms may know the member already.
            if grant.state is GrantState.AWAITING_LINK or grant.honoured_until_ms != membership.covered_until_ms:
                _grant(work, membership, member_id, grant, benefits_at(terms, partner_id), now_ms)
            continue
        _revoke(work, membership, member_id, grant, now_ms)


def _partner_ref(work: UnitOfWork, member_id: str, partner_id: str) -> str | None:
    """The partner's reference for the member, if the member has a live link there."""
    if work.members.is_erased(member_id):
        return None
    if not any(link.live and link.joins(partner_id) for link in work.members.links_of(member_id)):
        return None
    return work.members.account_ref(partner_id, member_id)


def _grant(
    work: UnitOfWork, membership: Membership, member_id: str, grant: Grant, benefits: tuple[Benefit, ...], now_ms: int
) -> int:
    """Send the partner its grant until the membership's covered time, or leave it waiting for a link."""
    partner_ref = _partner_ref(work, member_id, grant.partner_id)
    if partner_ref is None:
        return 0
    until = membership.covered_until_ms
    _instruct(
        work,
        membership,
        grant.partner_id,
        partner_ref,
        InstructionKind.BENEFIT_GRANT,
        BenefitNotice(membership.programme_id, benefits, max(now_ms, membership.start_ms), until),
        now_ms,
    )
    work.memberships.save_grant(replace(grant, state=GrantState.PENDING, honoured_until_ms=until))
    return 1


def _revoke(work: UnitOfWork, membership: Membership, member_id: str, grant: Grant, now_ms: int) -> None:
    """End a partner's benefits when the membership ended.

    A partner that left the programme while the membership goes on honours it to the end of the
    time it was told: the terms it signed for.
    """
    ended = membership.ended_at_ms if membership.ended_at_ms is not None else max(now_ms, grant.honoured_until_ms)
    if grant.state is not GrantState.AWAITING_LINK:
        partner_ref = work.members.account_ref(grant.partner_id, member_id) or ""
        notice = BenefitNotice(membership.programme_id, (), None, ended)
        why = REVOKE_REASONS.get(membership.state, "the partner left the programme")
        _instruct(
            work, membership, grant.partner_id, partner_ref, InstructionKind.BENEFIT_REVOKE, notice, now_ms, reason=why
        )
    work.memberships.save_grant(replace(grant, state=GrantState.REVOKED, honoured_until_ms=ended))


def _instruct(
    work: UnitOfWork,
    membership: Membership,
    partner_id: str,
    partner_ref: str,
    kind: InstructionKind,
    notice: BenefitNotice,
    now_ms: int,
    *,
    reason: str = "",
) -> None:
    partner = work.partners.get(partner_id)
    require(partner is not None, f"a programme's partner {partner_id!r} is registered")
    assert partner is not None
    work.instructions.add(
        Instruction(
            instruction_id=new_id("ins"),
            partner_id=partner_id,
            kind=kind,
            state=InstructionState.PENDING,
            member_ref=partner_ref,
            points=0,
            point_currency=partner.point_currency,
            origin=Origin.membership(membership.membership_id),
            created_at_ms=now_ms,
            reason=reason,
            benefit=notice,
        )
    )
