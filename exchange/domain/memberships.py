"""A member's joint paid membership: fees, partners' shares, refunds, and the membership's states.

The terms are in exchange.domain.membership_terms. The rules here, all integers:

- The fee of a term is fee_for(terms, term, score). A fee the seller collected must be that fee:
  any other is refused with FailedPrecondition FEE_MISMATCH (the request is well formed; it
  disagrees with the signed terms for the attested score, as a stale price would).
- Each partner is owed its share of the fee (shares_of: fixed, or a ratio rounded down); the
  seller keeps fee - sum(shares), so the shares plus the seller's remainder are the fee exactly.
- A term starts where the last one ended; its end is counted in calendar months (UTC) from the
  membership's first start, the anchor, clamped to the month's last day (a membership begun on
  31 January runs to 29 February, then to 31 March: clamping never drifts the anchor).
- States::

      enrol --> ACTIVE --renew--> ACTIVE           (the next term, paid; at most one ahead)
                ACTIVE --renewal_failed--> IN_GRACE (until the last end + grace_days)
                IN_GRACE --renew--> ACTIVE
                ACTIVE (past its end) or IN_GRACE (past its grace) --lapse_if_due--> LAPSED
                ACTIVE or IN_GRACE --cancel--> CANCELLED (refund per the refund rule)

  Benefits are honoured while ACTIVE within a paid term, or IN_GRACE before the grace ends.
  The seller reports a renewal, or its failure, before the last term ends: an ACTIVE membership
  past its end has lapsed (grace is for a renewal that failed, not for one never attempted).
- PRO_RATA refunds pay back each paid term's fee times its unused whole days over its days,
  rounded down (a term not yet begun is refunded whole). Each partner gives back its share in
  the same proportion, rounded down; the seller absorbs the rounding: it pays the member the
  whole refund and recovers from partners only what their rounded-down reversals say.
- Money between brands, as obligations the seller owes each partner: its share when a fee is
  collected (payer=seller, payee=partner, amount_minor > 0) and the reversal when a fee is
  refunded (the same payer and payee, amount_minor < 0: money flows back, as a settlement
  REVERSAL movement does): settlement movements MEMBERSHIP_FEE_SHARE and MEMBERSHIP_FEE_REFUND
  (exchange.domain.membership_agreements.fee_movement).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from exchange.domain.agreements import DAY_MS
from exchange.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    require,
)
from exchange.domain.members import parse_member_ref
from exchange.domain.membership_terms import MAX_SCORE, MembershipTerms, RefundRule, TermLength, share_amount
from exchange.domain.money import round_down

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


class MembershipState(enum.Enum):
    """Where a membership stands."""

    ACTIVE = "ACTIVE"
    IN_GRACE = "IN_GRACE"
    LAPSED = "LAPSED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class PaidTerm:
    """One term a member paid for, with the partners' shares fixed when it was paid."""

    length: TermLength
    start_ms: int
    end_ms: int
    fee_minor: int
    score: int | None
    terms_version: int
    shares: tuple[tuple[str, int], ...]
    refund_minor: int = 0
    reversed_shares: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        require(self.start_ms < self.end_ms, "a term has days")
        require(all(amount >= 0 for _, amount in self.shares), "shares are not negative")
        require(sum(amount for _, amount in self.shares) <= self.fee_minor, "shares never exceed the fee")
        require(0 <= self.refund_minor <= self.fee_minor, "a refund is at most the fee")
        require(
            sum(amount for _, amount in self.reversed_shares) <= self.refund_minor, "reversals never exceed the refund"
        )
        owed = dict(self.shares)
        require(all(0 <= a <= owed.get(p, 0) for p, a in self.reversed_shares), "a reversal is at most the share")

    @property
    def seller_remainder_minor(self) -> int:
        """What the seller keeps of the fee."""
        return self.fee_minor - sum(amount for _, amount in self.shares)


@dataclass(frozen=True, slots=True)
class Membership:
    """A member's membership of one programme, sold by its seller; terms in order, none overlapping."""

    membership_id: str
    programme_id: str
    seller_partner_id: str
    member_ref: str
    currency: str
    refund_rule: RefundRule
    grace_days: int
    state: MembershipState
    terms: tuple[PaidTerm, ...]
    state_changed_at_ms: int
    grace_until_ms: int | None = None
    ended_at_ms: int | None = None

    def __post_init__(self) -> None:
        require(bool(self.terms), "a membership has at least one paid term")
        require(
            all(a.end_ms == b.start_ms for a, b in zip(self.terms, self.terms[1:], strict=False)),
            "each term starts where the last ended",
        )
        require((self.state is MembershipState.IN_GRACE) == (self.grace_until_ms is not None), "grace iff IN_GRACE")
        ended = self.state in (MembershipState.LAPSED, MembershipState.CANCELLED)
        require(ended == (self.ended_at_ms is not None), "an ended membership says when it ended")

    @property
    def start_ms(self) -> int:
        """When the first term began (the anchor of the calendar arithmetic)."""
        return self.terms[0].start_ms

    @property
    def end_ms(self) -> int:
        """When the last paid term ends."""
        return self.terms[-1].end_ms

    @property
    def partner_ids(self) -> tuple[str, ...]:
        """The partners of the latest term."""
        return tuple(partner for partner, _ in self.terms[-1].shares)

    @property
    def covered_until_ms(self) -> int:
        """Until when benefits are (or were) honoured: the end, the grace's end, or when it ended."""
        if self.ended_at_ms is not None:
            return self.ended_at_ms
        return self.grace_until_ms if self.grace_until_ms is not None else self.end_ms


def add_months(anchor_ms: int, months: int) -> int:
    """Return anchor_ms moved by whole calendar months in UTC, the day clamped to the month's end."""
    anchor = _EPOCH + anchor_ms * _ONE_MS
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    last_day = (following - timedelta(days=1)).day
    moved = anchor.replace(year=year, month=month, day=min(anchor.day, last_day))
    return (moved - _EPOCH) // _ONE_MS


def fee_for(terms: MembershipTerms, term: TermLength, score: int | None) -> int:
    """Return the fee of a term for an attested score: the highest tier at most the score, else the base fee."""
    offer = terms.offer(term)
    if score is None:
        return offer.fee_minor
    if type(score) is not int or not 0 <= score <= MAX_SCORE:
        raise InvalidArgument("INVALID_SCORE", f"score must be an integer 0 to {MAX_SCORE}", field="score")
    fee = offer.fee_minor
    for tier in offer.tiers:  # ascending min_score: the last that applies wins
        if tier.min_score <= score:
            fee = tier.fee_minor
    return fee


def shares_of(terms: MembershipTerms, term: TermLength, fee: int) -> dict[str, int]:
    """Return partner -> share of one agreed fee of a term; the seller keeps fee - sum of them."""
    if fee not in terms.offer(term).fees():
        raise FailedPrecondition("FEE_MISMATCH", f"{fee} is not a {term.value} fee of these terms", field="fee_minor")
    shares = {p.partner_id: share_amount(p.share_for(term), fee) for p in terms.partners}
    require(all(a >= 0 for a in shares.values()) and sum(shares.values()) <= fee, "shares fit in the fee")
    return shares


def pro_rata_refund(fee: int, term_start_ms: int, term_end_ms: int, cancelled_at_ms: int) -> int:
    """Return the fee times unused whole days over the term's whole days, rounded down.

    A term not yet begun is refunded whole; a term over, or a day begun, is not refunded.
    """
    require(fee >= 0 and term_start_ms < term_end_ms, "a term with a fee")
    days = (term_end_ms - term_start_ms) // DAY_MS
    require(days > 0, "a term lasts at least a day")
    unused = min(days, max(0, (term_end_ms - cancelled_at_ms) // DAY_MS))
    refund = round_down(Fraction(fee * unused, days))
    require(0 <= refund <= fee, "a refund is between nothing and the fee")
    return refund


def refund_shares(shares: Mapping[str, int], fee: int, refund: int) -> dict[str, int]:
    """Return partner -> what it gives back of its share: share * refund / fee, rounded down.

    The seller absorbs the rounding: it refunds the member the whole refund, and the partners
    give back at most refund in total (their shares sum to at most the fee).
    """
    require(0 <= refund <= fee and sum(shares.values()) <= fee, "a refund within the fee")
    if refund == 0:
        return dict.fromkeys(shares, 0)
    back = {partner: round_down(Fraction(share * refund, fee)) for partner, share in shares.items()}
    require(all(0 <= back[p] <= shares[p] for p in shares) and sum(back.values()) <= refund, "reversals fit")
    return back


@dataclass(frozen=True, slots=True)
class Obligation:
    """payer owes payee amount_minor (negative: payee gives it back), in currency."""

    payer: str
    payee: str
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        require(self.payer != self.payee and type(self.amount_minor) is int, "an obligation is between two brands")


def fee_obligations(membership: Membership, term: PaidTerm) -> list[Obligation]:
    """The seller owes each partner its share of a collected fee (shares of 0 give none)."""
    return [
        Obligation(membership.seller_partner_id, partner, amount, membership.currency)
        for partner, amount in term.shares
        if amount
    ]


def refund_obligations(membership: Membership) -> list[Obligation]:
    """What partners give back of the fees a cancellation refunded: negative, seller to partner."""
    return [
        Obligation(membership.seller_partner_id, partner, -amount, membership.currency)
        for term in membership.terms
        for partner, amount in term.reversed_shares
        if amount
    ]


def require_visible(membership: Membership | None, caller: str, membership_id: str) -> Membership:
    """Return the membership if the caller is its seller or one of its partners; otherwise it does not exist."""
    if membership is None or caller not in (membership.seller_partner_id, *membership.partner_ids):
        raise NotFound("MEMBERSHIP_NOT_FOUND", f"no membership {membership_id!r}", field="membership_id")
    return membership


def check_no_overlap(
    existing: Iterable[Membership], *, programme_id: str, member_ref: str, start_ms: int, end_ms: int
) -> None:
    """Refuse a membership whose time overlaps one the member already has (or had) in the programme."""
    for other in existing:
        if other.programme_id != programme_id or other.member_ref != member_ref:
            continue
        if other.start_ms < end_ms and start_ms < other.covered_until_ms:
            raise AlreadyExists(
                "ALREADY_ENROLLED",
                f"the member already has membership {other.membership_id!r} of {programme_id!r} for this time",
                field="member_ref",
            )


def _paid_term(
    terms: MembershipTerms, *, caller: str, length: TermLength, score: int | None, fee_minor: int
) -> tuple[int, dict[str, int]]:
    if caller != terms.seller_partner_id:
        raise PermissionDenied("NOT_SELLER", "only the seller sells, renews and cancels its memberships")
    fee = fee_for(terms, length, score)
    if fee_minor != fee:
        raise FailedPrecondition(
            "FEE_MISMATCH", f"the agreed {length.value} fee for this score is {fee}, not {fee_minor}", field="fee_minor"
        )
    return fee, shares_of(terms, length, fee)


def _require_in_force(terms: MembershipTerms, now_ms: int, end_ms: int) -> None:
    if not terms.in_force_at(now_ms):
        raise FailedPrecondition("TERMS_NOT_IN_FORCE", f"programme {terms.programme_id!r} terms are not in force now")
    if end_ms > terms.valid_until_ms:
        # Partners signed to honour benefits until valid_until: a term sold must end by then.
        raise FailedPrecondition(
            "TERM_OUTLASTS_TERMS",
            "this term would end after the programme's terms do; sell a shorter one",
            field="term",
        )


def enrol(
    terms: MembershipTerms,
    *,
    caller: str,
    membership_id: str,
    member_ref: str,
    term: TermLength,
    score: int | None,
    fee_minor: int,
    now_ms: int,
    existing: Iterable[Membership] = (),
) -> Membership:
    """The seller sells a member a first term starting now, for the agreed fee of the attested score."""
    fee, shares = _paid_term(terms, caller=caller, length=term, score=score, fee_minor=fee_minor)
    member_ref = parse_member_ref(member_ref)
    start = now_ms
    end = add_months(start, term.months)
    _require_in_force(terms, now_ms, end)
    check_no_overlap(existing, programme_id=terms.programme_id, member_ref=member_ref, start_ms=start, end_ms=end)
    paid = PaidTerm(term, start, end, fee, score, terms.version, tuple(sorted(shares.items())))
    return Membership(
        membership_id=membership_id,
        programme_id=terms.programme_id,
        seller_partner_id=terms.seller_partner_id,
        member_ref=member_ref,
        currency=terms.currency,
        refund_rule=terms.refund_rule,
        grace_days=terms.grace_days,
        state=MembershipState.ACTIVE,
        terms=(paid,),
        state_changed_at_ms=now_ms,
    )


def lapse_if_due(membership: Membership, now_ms: int) -> Membership | None:
    """Lapse a membership whose paid time (or grace) is over, or return None if it should not."""
    if membership.state is MembershipState.ACTIVE and now_ms >= membership.end_ms:
        ended = membership.end_ms
    elif membership.state is MembershipState.IN_GRACE and membership.grace_until_ms is not None:
        if now_ms < membership.grace_until_ms:
            return None
        ended = membership.grace_until_ms
    else:
        return None
    return replace(
        membership, state=MembershipState.LAPSED, state_changed_at_ms=now_ms, grace_until_ms=None, ended_at_ms=ended
    )


def _require_live(membership: Membership, now_ms: int) -> None:
    if membership.state is MembershipState.CANCELLED:
        raise FailedPrecondition("ALREADY_CANCELLED", f"membership {membership.membership_id!r} is cancelled")
    if membership.state is MembershipState.LAPSED or lapse_if_due(membership, now_ms) is not None:
        raise FailedPrecondition("MEMBERSHIP_LAPSED", f"membership {membership.membership_id!r} has lapsed")


def renew(
    membership: Membership,
    terms: MembershipTerms,
    *,
    caller: str,
    term: TermLength,
    score: int | None,
    fee_minor: int,
    now_ms: int,
) -> Membership:
    """The seller collects the next term's fee: it starts where the last term ended (grace days included)."""
    require(terms.programme_id == membership.programme_id, "a membership renews under its own programme's terms")
    _require_live(membership, now_ms)
    if now_ms < membership.terms[-1].start_ms:
        raise FailedPrecondition("ALREADY_RENEWED", "the next term is paid already; renew once it has begun")
    start = membership.end_ms
    fee, shares = _paid_term(terms, caller=caller, length=term, score=score, fee_minor=fee_minor)
    months = sum(t.length.months for t in membership.terms) + term.months
    end = add_months(membership.start_ms, months)
    _require_in_force(terms, now_ms, end)
    paid = PaidTerm(term, start, end, fee, score, terms.version, tuple(sorted(shares.items())))
    return replace(
        membership,
        state=MembershipState.ACTIVE,
        terms=(*membership.terms, paid),
        state_changed_at_ms=now_ms,
        grace_until_ms=None,
        refund_rule=terms.refund_rule,
        grace_days=terms.grace_days,
    )


def renewal_failed(membership: Membership, *, caller: str, now_ms: int) -> Membership:
    """The seller could not collect the next fee: benefits continue until the last end plus grace_days.

    A further failure while IN_GRACE changes nothing (the grace does not restart).
    """
    if caller != membership.seller_partner_id:
        raise PermissionDenied("NOT_SELLER", "only the seller reports its renewals")
    _require_live(membership, now_ms)
    if membership.state is MembershipState.IN_GRACE:
        return membership
    if now_ms < membership.terms[-1].start_ms:
        raise FailedPrecondition("ALREADY_RENEWED", "the next term is paid already")
    return replace(
        membership,
        state=MembershipState.IN_GRACE,
        state_changed_at_ms=now_ms,
        grace_until_ms=membership.end_ms + membership.grace_days * DAY_MS,
    )


def cancel(membership: Membership, *, caller: str, now_ms: int) -> Membership:
    """The seller ends a membership now; under PRO_RATA each paid term refunds its unused whole days.

    Each term records its refund and each partner's reversal (refund_obligations lists them).
    """
    if caller != membership.seller_partner_id:
        raise PermissionDenied("NOT_SELLER", "only the seller cancels its memberships")
    _require_live(membership, now_ms)
    refunded = []
    for paid in membership.terms:
        refund = 0
        if membership.refund_rule is RefundRule.PRO_RATA:
            refund = pro_rata_refund(paid.fee_minor, paid.start_ms, paid.end_ms, now_ms)
        back = refund_shares(dict(paid.shares), paid.fee_minor, refund)
        refunded.append(replace(paid, refund_minor=refund, reversed_shares=tuple(sorted(back.items()))))
    return replace(
        membership,
        state=MembershipState.CANCELLED,
        terms=tuple(refunded),
        state_changed_at_ms=now_ms,
        grace_until_ms=None,
        ended_at_ms=now_ms,
    )


def refund_of(membership: Membership) -> int:
    """The whole refund the seller owes the member (non-zero only once cancelled under PRO_RATA)."""
    return sum(term.refund_minor for term in membership.terms)


def is_active_at(membership: Membership, now_ms: int) -> bool:
    """Whether partners honour benefits at now_ms: ACTIVE within a paid term, or IN_GRACE before its end."""
    if now_ms < membership.start_ms:
        return False
    if membership.state is MembershipState.ACTIVE:
        return now_ms < membership.end_ms
    if membership.state is MembershipState.IN_GRACE and membership.grace_until_ms is not None:
        return now_ms < membership.grace_until_ms
    return False
