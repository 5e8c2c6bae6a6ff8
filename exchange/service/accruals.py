"""Accrual commands: propose and accept agreements, award points, complete or void awards."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from exchange.domain import accruals as rules
from exchange.domain.accruals import AccrualAgreement, AccrualAgreementStatus, AccrualTerms, Award, AwardState
from exchange.domain.conversions import HUB_ACTOR
from exchange.domain.errors import FailedPrecondition, NotFound, PermissionDenied
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.domain.ledger import accrual_transaction
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import audit, members, settlement
from exchange.service.agreements import check_document_signature
from exchange.service.authentication import Caller
from exchange.service.instructions import withdraw_credit
from exchange.service.ports import UnitOfWork
from exchange.store.accruals_repo import AccrualRepository
from exchange.store.ids import new_id
from exchange.store.instructions_repo import InstructionRepository
from exchange.store.partners_repo import PartnerRepository
from partner_sdk.accruals import render_accrual_document


def document_of(terms: AccrualTerms) -> bytes:
    """Return the canonical document both brands sign."""
    return render_accrual_document(
        awarder_partner_id=terms.awarder_partner_id,
        issuer_partner_id=terms.issuer_partner_id,
        version=terms.version,
        activity_types=terms.activity_types,
        price_numerator=terms.price_per_point_minor.numerator,
        price_denominator=terms.price_per_point_minor.denominator,
        settlement_currency=terms.settlement_currency,
        monthly_budget_points=terms.monthly_budget_points,
        monthly_budget_minor=terms.monthly_budget_minor,
        member_daily_cap_points=terms.member_daily_cap_points,
        valid_from_ms=terms.valid_from_ms,
        valid_until_ms=terms.valid_until_ms,
    )


def propose(
    connection: Connection, caller: Caller, terms: AccrualTerms, signature: bytes, now_ms: int
) -> AccrualAgreement:
    """The awarder proposes a version, signed over its document."""
    terms = rules.validate_terms(terms)
    if terms.awarder_partner_id != caller.principal:
        # Who may propose is authorisation, as NOT_SOURCE_PARTNER is for conversion agreements:
        # PERMISSION_DENIED, not INVALID_ARGUMENT.
        raise PermissionDenied(
            "NOT_AWARDER", "only the awarder proposes an accrual agreement", field="terms.awarder_partner_id"
        )
    issuer = PartnerRepository(connection).get(terms.issuer_partner_id)
    if issuer is None:
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {terms.issuer_partner_id!r}", field="terms.issuer_partner_id")
    if issuer.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition("COUNTERPARTY_NOT_ACTIVE", f"partner {issuer.partner_id!r} is {issuer.status.value}")
    if issuer.kind is not PartnerKind.BRAND:
        raise FailedPrecondition("NOT_A_BRAND", f"{issuer.partner_id!r} is a charity: it has no points to award")
    repository = AccrualRepository(connection)
    expected = (repository.latest_version(terms.awarder_partner_id, terms.issuer_partner_id) or 0) + 1
    if terms.version != expected:
        raise FailedPrecondition("WRONG_VERSION", f"the next version of this pair is {expected}", field="terms.version")
    document = document_of(terms)
    check_document_signature(PartnerRepository(connection), caller, document, signature, "proposer_signature")
    agreement = AccrualAgreement(
        agreement_id=new_id("acr"),
        terms=terms,
        status=AccrualAgreementStatus.PROPOSED,
        document=document,
        proposer_key_id=caller.key_id,
        proposer_signature=signature,
        acceptor_key_id="",
        acceptor_signature=b"",
        proposed_at_ms=now_ms,
        accepted_at_ms=None,
    )
    repository.add_agreement(agreement)
    return agreement


def accept(
    connection: Connection, caller: Caller, agreement_id: str, signature: bytes, now_ms: int
) -> AccrualAgreement:
    """The issuer accepts; the pair's previous active version is superseded."""
    repository = AccrualRepository(connection)
    agreement = rules.require_visible(repository.get_agreement(agreement_id), caller.principal, agreement_id)
    accepted = rules.accept(
        agreement, caller=caller.principal, key_id=caller.key_id, signature=signature, now_ms=now_ms
    )
    check_document_signature(PartnerRepository(connection), caller, agreement.document, signature, "acceptor_signature")
    terms = agreement.terms
    current = repository.active_for(terms.awarder_partner_id, terms.issuer_partner_id)
    if current is not None:
        if current.terms.version > terms.version:
            raise FailedPrecondition("AGREEMENT_OUTDATED", f"version {current.terms.version} is already accepted")
        repository.save_agreement(current, _superseded(current))
    repository.save_agreement(agreement, accepted)
    return accepted


def _superseded(agreement: AccrualAgreement) -> AccrualAgreement:
    return replace(agreement, status=AccrualAgreementStatus.SUPERSEDED)


def get_agreement(connection: Connection, caller: Caller, agreement_id: str) -> AccrualAgreement:
    """Return a version the caller is a brand of."""
    return rules.require_visible(
        AccrualRepository(connection).get_agreement(agreement_id), caller.principal, agreement_id
    )


def award(
    connection: Connection,
    caller: Caller,
    *,
    issuer_partner_id: str,
    pairwise_member_id: str,
    activity_type: str,
    activity_reference: str,
    points: int,
    now_ms: int,
    credit_deadline_ms: int,
) -> Award:
    """Award issuer points to a linked member; the issuer gets a credit instruction, in this transaction."""
    repository = AccrualRepository(connection)
    agreement = rules.require_usable(
        repository.active_for(caller.principal, issuer_partner_id), caller.principal, issuer_partner_id, now_ms
    )
    terms = agreement.terms
    reference = rules.check_item(terms, activity_type, activity_reference, points)
    issuer = PartnerRepository(connection).get(issuer_partner_id)
    if issuer is None or issuer.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition("COUNTERPARTY_NOT_ACTIVE", f"partner {issuer_partner_id!r} is not active")
    member_ref = members.linked_target_ref(connection, caller, issuer_partner_id, pairwise_member_id)
    money = rules.price(terms, points)
    month_points, month_money = repository.month_used(caller.principal, issuer_partner_id, now_ms)
    rules.check_limits(
        terms,
        points=points,
        money=money,
        month_points=month_points,
        month_money=month_money,
        member_today=repository.member_today(caller.principal, issuer_partner_id, member_ref, now_ms),
    )
    made = Award(
        award_id=new_id("awd"),
        agreement_id=agreement.agreement_id,
        awarder_partner_id=caller.principal,
        issuer_partner_id=issuer_partner_id,
        awarder_pairwise_id=pairwise_member_id,
        issuer_member_ref=member_ref,
        activity_type=activity_type,
        activity_reference=reference,
        points=points,
        settlement_amount_minor=money,
        settlement_currency=terms.settlement_currency,
        state=AwardState.PENDING_CREDIT,
        created_at_ms=now_ms,
        credit_deadline_ms=now_ms + credit_deadline_ms,
    )
    repository.add_award(made)
    InstructionRepository(connection).add(
        Instruction(
            instruction_id=new_id("ins"),
            partner_id=issuer_partner_id,
            kind=InstructionKind.CREDIT,
            state=InstructionState.PENDING,
            member_ref=member_ref,
            points=points,
            point_currency=issuer.point_currency,
            origin=Origin.award(made.award_id),
            created_at_ms=now_ms,
            deadline_ms=made.credit_deadline_ms,
        )
    )
    return made


def get_award(connection: Connection, caller: Caller, award_id: str) -> Award:
    """Return an award the caller is a brand of."""
    found = AccrualRepository(connection).get_award(award_id)
    if found is None or not found.is_party(caller.principal):
        raise NotFound("AWARD_NOT_FOUND", f"no award {award_id!r}", field="award_id")
    return found


def complete(work: UnitOfWork, award_id: str, now_ms: int) -> None:
    """The issuer credited its member: the award settles (movement and ledger) in this transaction."""
    repository = work.awards
    before = repository.get_award(award_id)
    assert before is not None, "an instruction's award exists"
    done = rules.complete(before)
    repository.save_award(before, done)
    issuer = work.partners.get(done.issuer_partner_id)
    assert issuer is not None
    settlement.record_movement(
        work.movements,
        Movement(
            movement_id=done.award_id,
            kind=MovementKind.ACCRUAL,
            source_partner_id=done.awarder_partner_id,
            target_partner_id=done.issuer_partner_id,
            source_points=0,
            target_points=done.points,
            currency=done.settlement_currency,
            amount_minor=done.settlement_amount_minor,
            final_at_ms=now_ms,
        ),
    )
    work.ledger.post(
        accrual_transaction(
            done.award_id,
            awarder=done.awarder_partner_id,
            issuer=done.issuer_partner_id,
            issuer_currency=issuer.point_currency,
            points=done.points,
            money=done.settlement_amount_minor,
            money_currency=done.settlement_currency,
        ),
        now_ms,
    )


def void(work: UnitOfWork, award_id: str, reason: str) -> None:
    """The issuer refused the credit or missed the deadline: nothing is owed, the budget is back."""
    repository = work.awards
    before = repository.get_award(award_id)
    assert before is not None, "an instruction's award exists"
    repository.save_award(before, rules.void(before, reason))


def expire_overdue(work: UnitOfWork, award_id: str, now_ms: int) -> bool:
    """Void one overdue award if it is still waiting for its credit; return whether it did."""
    found = work.awards.get_award(award_id)
    if found is None or found.state is not AwardState.PENDING_CREDIT or found.credit_deadline_ms > now_ms:
        return False
    withdraw_credit(work.instructions, Origin.award(award_id), reason="credit deadline passed", now_ms=now_ms)
    void(work, award_id, "the issuer did not credit it before the deadline")
    audit.record(work.audit, actor=HUB_ACTOR, action="hub/VoidAward", subject=award_id, now_ms=now_ms)
    return True
