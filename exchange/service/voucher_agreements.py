"""Voucher agreement commands: the funder proposes, the honouring brand accepts; the funder issues vouchers.

A voucher issued here is redeemed like a membership's (exchange.service.membership_benefits:
redeem_voucher, expire_voucher), and the funder then owes the honouring brand its value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange.domain import members as member_rules
from exchange.domain import voucher_agreements as rules
from exchange.domain import vouchers as voucher_rules
from exchange.domain.errors import FailedPrecondition, NotFound
from exchange.domain.partners import PartnerKind, PartnerStatus
from exchange.domain.voucher_agreements import VoucherAgreement, VoucherTerms, document_of
from exchange.service.agreements import check_document_signature
from exchange.service.authentication import Caller
from exchange.service.membership_benefits import VoucherView
from exchange.service.ports import UnitOfWork
from exchange.store.ids import new_id


def propose(work: UnitOfWork, caller: Caller, terms: VoucherTerms, signature: bytes, now_ms: int) -> VoucherAgreement:
    """The funder proposes the pair's next version, signed."""
    honouring = work.partners.get(terms.honouring_partner_id)
    if honouring is None:
        raise NotFound(
            "PARTNER_NOT_FOUND", f"no partner {terms.honouring_partner_id!r}", field="terms.honouring_partner_id"
        )
    if honouring.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition(
            "COUNTERPARTY_NOT_ACTIVE", f"partner {honouring.partner_id!r} is {honouring.status.value}"
        )
    if honouring.kind is not PartnerKind.BRAND:
        raise FailedPrecondition("NOT_A_BRAND", f"{honouring.partner_id!r} is a charity: it honours no vouchers")
    agreement = rules.propose(
        terms,
        agreement_id=new_id("vag"),
        caller=caller.principal,
        key_id=caller.key_id,
        signature=signature,
        latest_version=work.voucher_agreements.latest_version(terms.funder_partner_id, terms.honouring_partner_id),
        now_ms=now_ms,
    )
    check_document_signature(work.partners, caller, document_of(terms), signature, "proposer_signature")
    work.voucher_agreements.add(agreement)
    return agreement


def accept(work: UnitOfWork, caller: Caller, agreement_id: str, signature: bytes, now_ms: int) -> VoucherAgreement:
    """The honouring brand accepts a proposed version over the same document."""
    before = rules.require_visible(work.voucher_agreements.get(agreement_id), caller.principal, agreement_id)
    check_document_signature(work.partners, caller, before.document, signature, "acceptor_signature")
    terms = before.terms
    active = work.voucher_agreements.active(terms.funder_partner_id, terms.honouring_partner_id)
    accepted, superseded = rules.accept(
        before, caller=caller.principal, key_id=caller.key_id, signature=signature, now_ms=now_ms, active=active
    )
    if superseded is not None and active is not None:
        work.voucher_agreements.save(active, superseded)
    work.voucher_agreements.save(before, accepted)
    return accepted


def get(work: UnitOfWork, caller: Caller, agreement_id: str) -> VoucherAgreement:
    """Return a version to one of its two brands."""
    return rules.require_visible(work.voucher_agreements.get(agreement_id), caller.principal, agreement_id)


def issue(work: UnitOfWork, caller: Caller, honouring_partner_id: str, member_ref: str, now_ms: int) -> VoucherView:
    """The funder gives one of its members a voucher for the honouring brand, under the pair's active agreement."""
    agreement = work.voucher_agreements.active(caller.principal, honouring_partner_id)
    if agreement is None:
        raise FailedPrecondition(
            "NO_VOUCHER_AGREEMENT",
            f"no voucher agreement lets {caller.principal!r} give vouchers for {honouring_partner_id!r}",
            field="honouring_partner_id",
        )
    member_ref = member_rules.parse_member_ref(member_ref)
    member_id = work.members.member_of(caller.principal, member_ref)
    if member_id is None or work.members.is_erased(member_id):
        raise NotFound("MEMBER_NOT_FOUND", "no member of yours has this reference", field="member_ref")
    standing = member_rules.standing_partners(work.members.first_partner(member_id), work.members.links_of(member_id))
    if caller.principal not in standing or honouring_partner_id not in standing:
        raise FailedPrecondition(
            "MEMBER_NOT_LINKED",
            f"the member is not linked at {honouring_partner_id!r}: link their accounts first",
            field="member_ref",
        )
    versions = work.voucher_agreements.ids_of_pair(caller.principal, honouring_partner_id)
    issued = work.vouchers.issued_under(versions, _month_start_ms(now_ms))
    voucher = rules.issue(
        agreement, voucher_id=new_id("vch"), member_ref=member_ref, issued_this_month=issued, now_ms=now_ms
    )
    work.vouchers.add_if_absent(voucher, member_id)
    return VoucherView(voucher, member_ref)


def get_voucher(work: UnitOfWork, caller: Caller, voucher_id: str) -> VoucherView:
    """Return a voucher to its funder or the brand that honours it, the member by the caller's reference."""
    voucher = voucher_rules.require_visible(work.vouchers.get(voucher_id), caller.principal, voucher_id)
    member_id = work.vouchers.member_id_of(voucher_id)
    assert member_id is not None
    return VoucherView(voucher, work.members.account_ref(caller.principal, member_id) or "")


def _month_start_ms(now_ms: int) -> int:
    """The start of now's UTC calendar month, in ms (integer arithmetic: no float near a time either)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=now_ms)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return start.days * 86_400_000
