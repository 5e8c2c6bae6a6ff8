"""Donation commands: agreements between a brand and a charity, donations with signed receipts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Connection

from exchange.domain import donations as rules
from exchange.domain.donations import AgreementState, Donation, DonationAgreement, DonationTerms
from exchange.domain.errors import FailedPrecondition, NotFound
from exchange.domain.ledger import donation_transaction
from exchange.domain.members import parse_member_ref
from exchange.domain.partners import PartnerKind
from exchange.domain.settlement import Movement, MovementKind
from exchange.service import members, settlement
from exchange.service.agreements import check_document_signature
from exchange.service.authentication import Caller
from exchange.service.paging import decode_cursor, encode_cursor, page_limit
from exchange.store.donations_repo import DonationRepository
from exchange.store.ids import new_id
from exchange.store.ledger_repo import LedgerRepository
from exchange.store.members_repo import MemberRepository
from exchange.store.partners_repo import PartnerRepository
from exchange.store.settlement_repo import SettlementRepository
from partner_sdk.donations import RECEIPT_PREFIX, render_donation_document
from partner_sdk.settlement import canonical_json

Signer = Callable[[bytes], bytes]


def document_of(terms: DonationTerms) -> bytes:
    """Return the canonical document the brand and the charity sign."""
    return render_donation_document(
        brand_partner_id=terms.brand_partner_id,
        charity_partner_id=terms.charity_partner_id,
        version=terms.version,
        value_numerator=terms.value_per_point_minor.numerator,
        value_denominator=terms.value_per_point_minor.denominator,
        settlement_currency=terms.settlement_currency,
        valid_from_ms=terms.valid_from_ms,
        valid_until_ms=terms.valid_until_ms,
    )


def _require_brand(connection: Connection, caller: Caller) -> None:
    partner = PartnerRepository(connection).get(caller.principal)
    if partner is None or partner.kind is not PartnerKind.BRAND:
        raise FailedPrecondition("NOT_A_BRAND", "only a brand with points of its own donates them")


def propose(
    connection: Connection, caller: Caller, terms: DonationTerms, signature: bytes, now_ms: int
) -> DonationAgreement:
    """The brand proposes a version to a charity, signed over its document."""
    _require_brand(connection, caller)
    rules.require_charity(
        PartnerRepository(connection).get(terms.charity_partner_id),
        terms.charity_partner_id,
        "terms.charity_partner_id",
    )
    repository = DonationRepository(connection)
    rules.validate_terms(terms, caller.principal, repository.latest_version(caller.principal, terms.charity_partner_id))
    document = document_of(terms)
    check_document_signature(PartnerRepository(connection), caller, document, signature, "proposer_signature")
    agreement = DonationAgreement(new_id("dna"), terms, AgreementState.PROPOSED, document, signature, b"", now_ms, None)
    repository.add_agreement(agreement)
    return agreement


def accept(
    connection: Connection, caller: Caller, agreement_id: str, signature: bytes, now_ms: int
) -> DonationAgreement:
    """The charity accepts; the pair's previous active version is superseded."""
    repository = DonationRepository(connection)
    agreement = repository.get_agreement(agreement_id)
    if agreement is None or not agreement.is_party(caller.principal):
        raise NotFound("DONATION_AGREEMENT_NOT_FOUND", f"no donation agreement {agreement_id!r}", field="agreement_id")
    accepted = rules.accept(agreement, caller=caller.principal, signature=signature, now_ms=now_ms)
    check_document_signature(PartnerRepository(connection), caller, agreement.document, signature, "acceptor_signature")
    current = repository.active_for(agreement.terms.brand_partner_id, agreement.terms.charity_partner_id)
    if current is not None:
        repository.save_agreement(current, replace(current, status=AgreementState.SUPERSEDED))
    repository.save_agreement(agreement, accepted)
    return accepted


def donate(
    connection: Connection,
    caller: Caller,
    *,
    charity_partner_id: str,
    member_ref: str,
    points: int,
    share_identity: bool,
    now_ms: int,
    secret: bytes,
    sign: Signer,
    hub_key_id: str,
) -> Donation:
    """Record a donation: final at once (the brand already took the points); a receipt the hub signs."""
    _require_brand(connection, caller)
    member_ref = parse_member_ref(member_ref)
    rules.require_charity(
        PartnerRepository(connection).get(charity_partner_id), charity_partner_id, "charity_partner_id"
    )
    repository = DonationRepository(connection)
    agreement = rules.require_usable(
        repository.active_for(caller.principal, charity_partner_id), charity_partner_id, now_ms
    )
    amount = rules.value_of(agreement.terms, points)
    member_id = members.member_for(connection, caller.principal, member_ref, secret, now_ms)
    donation_id = new_id("don")
    receipt = canonical_json(
        {
            "format": rules.RECEIPT_FORMAT,
            "donation_id": donation_id,
            "brand_partner_id": caller.principal,
            "charity_partner_id": charity_partner_id,
            "member_at_brand": members.pairwise_id(secret, caller.principal, member_id),
            "identity_shared_with_charity": share_identity,
            "points": points,
            "amount_minor": amount,
            "currency": agreement.terms.settlement_currency,
            "donated_at_ms": now_ms,
        }
    )
    made = Donation(
        donation_id=donation_id,
        agreement_id=agreement.agreement_id,
        brand_partner_id=caller.principal,
        charity_partner_id=charity_partner_id,
        member_ref=member_ref,
        member_id=member_id,
        share_identity=share_identity,
        points=points,
        amount_minor=amount,
        currency=agreement.terms.settlement_currency,
        donated_at_ms=now_ms,
        receipt=receipt,
        receipt_signature=sign(RECEIPT_PREFIX + receipt),
        hub_key_id=hub_key_id,
    )
    repository.add_donation(made)
    brand = PartnerRepository(connection).get(caller.principal)
    assert brand is not None
    settlement.record_movement(
        SettlementRepository(connection),
        Movement(
            movement_id=donation_id,
            kind=MovementKind.DONATION,
            source_partner_id=caller.principal,
            target_partner_id=charity_partner_id,
            source_points=points,
            target_points=0,
            currency=made.currency,
            amount_minor=amount,
            final_at_ms=now_ms,
        ),
    )
    LedgerRepository(connection).post(
        donation_transaction(
            donation_id,
            brand=caller.principal,
            charity=charity_partner_id,
            brand_currency=brand.point_currency,
            points=points,
            money=amount,
            money_currency=made.currency,
        ),
        now_ms,
    )
    return made


def donor_id(connection: Connection, donation: Donation, viewer: str, secret: bytes) -> str:
    """The charity's pairwise id for the donor, only for the charity, only if shared, never after erasure."""
    if viewer != donation.charity_partner_id or not donation.share_identity:
        return ""
    if MemberRepository(connection).is_erased(donation.member_id):
        return ""
    return members.pairwise_id(secret, donation.charity_partner_id, donation.member_id)


def list_page(connection: Connection, caller: Caller, *, page_size: int, page_token: str) -> tuple[list[Donation], str]:
    """Return a page of donations the caller made or received, newest first."""
    limit = page_limit(page_size)
    found = DonationRepository(connection).list_page(
        caller.principal, before=decode_cursor(page_token), limit=limit + 1
    )
    page = found[:limit]
    return page, encode_cursor(page[-1].donated_at_ms, page[-1].donation_id) if len(found) > limit else ""
