"""What a joint membership gives at a partner's checkout: vouchers, and a pass the checkout verifies offline.

Vouchers (exchange.domain.vouchers) are issued period by period while the membership honours
benefits: a period's vouchers when the membership is sold or renewed, if the period has begun,
and the later ones by the hub's sweep once their period begins (memberships.vouchers_due_at_ms
says when). Each is redeemed once, by the partner that honours it (a conditional UPDATE settles a
race between hub processes), and a voucher the seller funds becomes a VOUCHER_REDEMPTION
movement: the seller owes the partner its value. An unused voucher expires (breakage: its funder
keeps what it never paid; no money moves).

A pass names the member by their pairwise id at the partner, the benefits there, and a short
validity (PASS_LIFETIME_MS, never past the time the membership is honoured until); the hub signs
it (partner_sdk.memberships: the payload's format and the signed message are the SDK's, so they
are one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exchange.domain import vouchers as rules
from exchange.domain.errors import FailedPrecondition, NotFound
from exchange.domain.membership_agreements import GrantState, obligation_movement
from exchange.domain.membership_terms import MembershipTerms, Vouchers, benefit_value
from exchange.domain.memberships import Membership, is_active_at
from exchange.domain.settlement import MovementKind
from exchange.domain.vouchers import Voucher
from exchange.secrets.pairwise import pairwise_member_id
from exchange.service import settlement
from exchange.service.authentication import Caller
from exchange.service.memberships import benefits_at, post_money, terms_of, view
from exchange.service.paging import decode_cursor, encode_cursor, page_limit
from exchange.service.ports import UnitOfWork
from exchange.store.ids import new_id
from partner_sdk.memberships import membership_pass_message, render_membership_pass_payload

PASS_LIFETIME_MS = 15 * 60_000


@dataclass(frozen=True, slots=True)
class SignedPass:
    """A membership pass as the hub signed it."""

    payload: bytes
    hub_key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class VoucherView:
    """A voucher and the caller's own reference for its member (empty for a partner not linked)."""

    voucher: Voucher
    member_ref: str


# vouchers -----------------------------------------------------------------------------------------


def issue_due_vouchers(work: UnitOfWork, membership_id: str, now_ms: int) -> int:
    """Issue every voucher of the membership whose period has begun; note when the next are due. Returns how many."""
    found = work.memberships.get(membership_id)
    if found is None:
        return 0
    membership, member_id = found
    issued = 0
    next_due: int | None = None
    for paid in membership.terms:  # each term gives what the terms it was sold under promise
        for partner in terms_of(work, membership, paid.terms_version).partners:
            for benefit in partner.benefits:
                if not isinstance(benefit, Vouchers):
                    continue
                for start, _ in rules.periods_of(benefit, paid):
                    if not is_active_at(membership, start):
                        continue
                    if start > now_ms:
                        next_due = start if next_due is None else min(next_due, start)
                        continue
                    given = rules.issue_for_period(
                        benefit, membership=membership, honouring_partner_id=partner.partner_id, period_start_ms=start
                    )
                    issued += sum(work.vouchers.add_if_absent(v, member_id) for v in given)
    work.vouchers.set_due(membership_id, next_due)
    return issued


def list_vouchers(
    work: UnitOfWork, caller: Caller, membership_id: str, *, page_size: int, page_token: str
) -> tuple[list[VoucherView], str]:
    """A page of a membership's vouchers: all to its seller, its own to a partner; the next page's token."""
    shown = view(work, caller, membership_id)  # NotFound unless the caller is the seller or a partner
    limit = page_limit(page_size)
    is_seller = caller.principal == shown.membership.seller_partner_id
    found = work.vouchers.page(
        membership_id,
        honouring_partner_id=None if is_seller else caller.principal,
        after=decode_cursor(page_token),
        limit=limit + 1,
    )
    page = found[:limit]
    token = encode_cursor(page[-1].issued_at_ms, page[-1].voucher_id) if len(found) > limit else ""
    return [VoucherView(v, shown.member_ref) for v in page], token


def redeem_voucher(work: UnitOfWork, caller: Caller, voucher_id: str, reference: str, now_ms: int) -> VoucherView:
    """The honouring partner takes a voucher at checkout: once; a seller-funded one is owed to it by the seller."""
    before = rules.require_visible(work.vouchers.get(voucher_id), caller.principal, voucher_id)
    expired = rules.expire(before, now_ms) if caller.principal == before.honouring_partner_id else None
    if expired is not None:  # redeemed too late: expire it here, as the sweep would, and refuse for good
        if not work.vouchers.save(before, expired):  # another process moved it first: read what it did
            latest = work.vouchers.get(voucher_id)
            assert latest is not None
            expired = latest
        before = expired
    after = rules.redeem(before, caller=caller.principal, now_ms=now_ms, reference=reference)
    if not work.vouchers.save(before, after):
        raise FailedPrecondition("VOUCHER_ALREADY_REDEEMED", f"voucher {voucher_id!r} is used")
    obligation = rules.redemption_obligation(after)
    if obligation is not None:
        movement = obligation_movement(
            obligation, MovementKind.VOUCHER_REDEMPTION, movement_id=new_id("vrd"), at_ms=now_ms
        )
        settlement.record_movement(work.movements, movement)
        post_money(work, movement, now_ms)
    member_id = work.vouchers.member_id_of(voucher_id)
    assert member_id is not None, "a voucher names its member"
    return VoucherView(after, work.members.account_ref(caller.principal, member_id) or "")


def expire_voucher(work: UnitOfWork, voucher_id: str, now_ms: int) -> bool:
    """Expire one issued voucher whose time is over (breakage); return whether it did."""
    before = work.vouchers.get(voucher_id)
    expired = rules.expire(before, now_ms) if before is not None else None
    return before is not None and expired is not None and work.vouchers.save(before, expired)


def _terms_with(work: UnitOfWork, membership: Membership, partner_id: str) -> MembershipTerms:
    """The latest terms of the membership's paid terms that name the partner (one that left: those it signed)."""
    for paid in reversed(membership.terms):
        terms = terms_of(work, membership, paid.terms_version)
        if partner_id in terms.partner_ids:
            return terms
    return terms_of(work, membership)


# the pass -----------------------------------------------------------------------------------------


def issue_pass(
    work: UnitOfWork,
    caller: Caller,
    membership_id: str,
    *,
    pairwise_secret: bytes,
    key_id: str,
    sign: Callable[[bytes], bytes],
    now_ms: int,
) -> SignedPass:
    """A partner's short-lived, hub-signed pass for a membership whose benefits it honours now."""
    shown = view(work, caller, membership_id)
    membership: Membership = shown.membership
    grant = next((g for g, _ in shown.grants if g.partner_id == caller.principal), None)
    if grant is None:
        raise NotFound("MEMBERSHIP_NOT_FOUND", f"no membership {membership_id!r}", field="membership_id")
    # A partner that left the programme honours the term it signed for: its grant was revoked from then.
    leaving = grant.state is GrantState.REVOKED and membership.ended_at_ms is None and now_ms < grant.honoured_until_ms
    honoured = grant.state in (GrantState.PENDING, GrantState.HONOURED) or leaving
    if not honoured or not is_active_at(membership, now_ms):
        raise FailedPrecondition(
            "MEMBERSHIP_NOT_ACTIVE", f"membership {membership_id!r} gives no benefits at {caller.principal!r} now"
        )
    found = work.memberships.get(membership_id)
    assert found is not None
    terms = _terms_with(work, membership, caller.principal)
    until = min(now_ms + PASS_LIFETIME_MS, membership.covered_until_ms)
    payload = render_membership_pass_payload(
        membership_id=membership_id,
        programme_id=membership.programme_id,
        programme_name=terms.name,
        partner_id=caller.principal,
        pairwise_member_id=pairwise_member_id(pairwise_secret, partner_id=caller.principal, member_id=found[1]),
        benefit_values=[benefit_value(b) for b in benefits_at(terms, caller.principal)],
        issued_at_ms=now_ms,
        valid_until_ms=min(until, grant.honoured_until_ms) if leaving else until,
    )
    return SignedPass(payload, key_id, sign(membership_pass_message(payload)))
