"""Agreement commands: propose, accept, read, suspend, resume, terminate."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from exchange.domain import agreements as rules
from exchange.domain.agreements import Agreement, AgreementStatus, AgreementTerms
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, require
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.service.authentication import Caller
from exchange.service.paging import decode_cursor, encode_cursor, page_limit
from exchange.service.ports import PartnerReader
from exchange.store.agreements_repo import AgreementRepository
from exchange.store.ids import new_id
from exchange.store.partners_repo import PartnerRepository
from partner_sdk import signing
from partner_sdk.documents import render_agreement_document


@dataclass(frozen=True, slots=True)
class AgreementPage:
    """One page of agreements and the token of the next."""

    agreements: list[Agreement]
    next_page_token: str


def document_of(terms: AgreementTerms) -> bytes:
    """Return the canonical document both partners sign for these terms."""
    return render_agreement_document(
        source_partner_id=terms.source_partner_id,
        target_partner_id=terms.target_partner_id,
        version=terms.version,
        rate_numerator=terms.rate.numerator,
        rate_denominator=terms.rate.denominator,
        min_source_points=terms.min_source_points,
        max_source_points=terms.max_source_points,
        source_increment=terms.source_increment,
        member_daily_cap_source_points=terms.member_daily_cap_source_points,
        fee_basis_points=terms.fee_basis_points,
        fee_fixed_points=terms.fee_fixed_points,
        valid_from_ms=terms.valid_from_ms,
        valid_until_ms=terms.valid_until_ms,
        price_numerator=terms.settlement_price_minor.numerator,
        price_denominator=terms.settlement_price_minor.denominator,
        settlement_currency=terms.settlement_currency,
    )


def check_document_signature(
    partners: PartnerReader, caller: Caller, document: bytes, signature: bytes, field: str
) -> None:
    """Refuse a document signature that is not by the key that signed the call."""
    partner = partners.get(caller.principal)
    key = partner.key(caller.key_id) if partner else None
    require(key is not None, "an authenticated caller's key exists")
    assert key is not None
    if len(signature) != signing.SIGNATURE_BYTES or not signing.verify(key.public_key, signature, document):
        raise InvalidArgument(
            "BAD_DOCUMENT_SIGNATURE",
            f"{field} is not a signature of the agreement document by the key that signed this call",
            field=field,
        )


def propose(connection: Connection, caller: Caller, terms: AgreementTerms, signature: bytes, now_ms: int) -> Agreement:
    """Record a proposal signed by the source partner."""
    target = PartnerRepository(connection).get(terms.target_partner_id)
    if target is None:
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {terms.target_partner_id!r}", field="terms.target_partner_id")
    if target.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition("COUNTERPARTY_NOT_ACTIVE", f"partner {target.partner_id!r} is {target.status.value}")
    if target.kind is not PartnerKind.BRAND:
        raise FailedPrecondition("NOT_A_BRAND", f"{target.partner_id!r} is a charity: it has no points to convert into")
    repository = AgreementRepository(connection)
    rules.check_proposal(
        terms,
        caller.principal,
        repository.latest_version(terms.source_partner_id, terms.target_partner_id),
        target.settlement_currency,
    )
    document = document_of(terms)
    check_document_signature(PartnerRepository(connection), caller, document, signature, "proposer_signature")
    agreement = Agreement(
        agreement_id=new_id("agr"),
        terms=terms,
        status=AgreementStatus.PROPOSED,
        document=document,
        proposer_key_id=caller.key_id,
        proposer_signature=signature,
        proposed_at_ms=now_ms,
        status_changed_at_ms=now_ms,
    )
    repository.add(agreement)
    return agreement


def accept(connection: Connection, caller: Caller, agreement_id: str, signature: bytes, now_ms: int) -> Agreement:
    """The target partner accepts; the pair's previous accepted version is superseded."""
    repository = AgreementRepository(connection)
    agreement = rules.require_visible(repository.get(agreement_id), caller.principal, agreement_id)
    accepted = rules.accept(
        agreement, caller=caller.principal, key_id=caller.key_id, signature=signature, now_ms=now_ms
    )
    check_document_signature(PartnerRepository(connection), caller, agreement.document, signature, "acceptor_signature")
    terms = agreement.terms
    current = repository.current_for(terms.source_partner_id, terms.target_partner_id)
    if current is not None:
        if current.terms.version > terms.version:
            raise FailedPrecondition(
                "AGREEMENT_OUTDATED",
                f"version {current.terms.version} of this agreement is already accepted; propose a newer one",
            )
        repository.save(rules.supersede(current, now_ms))
    repository.save(accepted)
    return accepted


def get(connection: Connection, caller: Caller, agreement_id: str) -> Agreement:
    """Return an agreement the caller is a party to."""
    return rules.require_visible(AgreementRepository(connection).get(agreement_id), caller.principal, agreement_id)


def list_page(
    connection: Connection,
    caller: Caller,
    *,
    counterparty: str,
    status: AgreementStatus | None,
    page_size: int,
    page_token: str,
) -> AgreementPage:
    """Return a page of the caller's agreements, newest first."""
    limit = page_limit(page_size)
    found = AgreementRepository(connection).list_page(
        caller.principal, counterparty=counterparty, status=status, before=decode_cursor(page_token), limit=limit + 1
    )
    page = found[:limit]
    token = encode_cursor(page[-1].proposed_at_ms, page[-1].agreement_id) if len(found) > limit else ""
    return AgreementPage(page, token)


def suspend(connection: Connection, caller: Caller, agreement_id: str, reason: str, now_ms: int) -> Agreement:
    """Either party suspends an active agreement."""
    repository = AgreementRepository(connection)
    agreement = rules.require_visible(repository.get(agreement_id), caller.principal, agreement_id)
    changed = rules.suspend(agreement, caller=caller.principal, reason=reason, now_ms=now_ms)
    repository.save(changed)
    return changed


def resume(connection: Connection, caller: Caller, agreement_id: str, now_ms: int) -> Agreement:
    """The suspending party resumes an agreement."""
    repository = AgreementRepository(connection)
    agreement = rules.require_visible(repository.get(agreement_id), caller.principal, agreement_id)
    changed = rules.resume(agreement, caller=caller.principal, now_ms=now_ms)
    repository.save(changed)
    return changed


def terminate(connection: Connection, caller: Caller, agreement_id: str, reason: str, now_ms: int) -> Agreement:
    """Either party ends an agreement."""
    repository = AgreementRepository(connection)
    agreement = rules.require_visible(repository.get(agreement_id), caller.principal, agreement_id)
    changed = rules.terminate(agreement, reason=reason, now_ms=now_ms)
    repository.save(changed)
    return changed
