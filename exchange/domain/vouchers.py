"""Vouchers a membership benefit gives: issuing them per period, redeeming, expiring (breakage).

A Vouchers benefit of a partner (exchange.domain.membership_terms) gives a member per_period
vouchers of value_minor each period of a paid term (WEEKLY: every 7 days from the term's
start; MONTHLY: every calendar month from it, clamped to the month's end), the last period cut
at the term's end. A voucher is honoured by the partner whose benefit it is, and funded by that
partner or by the seller (the benefit's funded_by). It is valid from its period's start for
validity_days, whatever becomes of the membership afterwards: the member was given it.

    ISSUED --redeem (by the honouring partner, before it expires)--> REDEEMED
    ISSUED --expire (once expires_at_ms has come)--> EXPIRED

Money, settled on redemption only (nothing is paid in advance):

- a redeemed voucher funded by the seller: the seller owes the honouring partner value_minor
  (redemption_obligation), a VOUCHER_REDEMPTION movement: source the funder, target the
  honouring partner, amount_minor the value.
- a voucher funded by its honouring partner moves no money (redemption_obligation is None).
- breakage (an expired voucher) moves no money either: the funder keeps what it never paid
  (breakage_minor reports the figure); it is no settlement movement.

Ids are deterministic (voucher_id_of), so issuing a period twice yields the same vouchers and
the store's primary key makes the second issue a no-op.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from exchange.domain.agreements import DAY_MS
from exchange.domain.errors import FailedPrecondition, NotFound, PermissionDenied, require
from exchange.domain.membership_terms import VoucherFunding, VoucherPeriod, Vouchers
from exchange.domain.memberships import Membership, Obligation, PaidTerm, add_months, is_active_at
from exchange.domain.partners import parse_text

VOUCHER_REFERENCE_MAX = 128
WEEK_MS = 7 * DAY_MS


class VoucherState(enum.Enum):
    """Where a voucher stands."""

    ISSUED = "ISSUED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Voucher:
    """One voucher of a member's membership, honoured by one partner and funded by one brand."""

    voucher_id: str
    membership_id: str
    funder_partner_id: str
    honouring_partner_id: str
    member_ref: str
    value_minor: int
    currency: str
    issued_at_ms: int
    expires_at_ms: int
    state: VoucherState = VoucherState.ISSUED
    redeemed_at_ms: int | None = None
    reference: str = ""
    agreement_id: str = ""  # a voucher issued under a voucher agreement (exchange.domain.voucher_agreements)

    def __post_init__(self) -> None:
        require(type(self.value_minor) is int and self.value_minor > 0, "a voucher is worth something, in minor units")
        require(self.issued_at_ms < self.expires_at_ms, "a voucher is valid for some time")
        require((self.state is VoucherState.REDEEMED) == (self.redeemed_at_ms is not None), "redeemed iff it says when")
        require(bool(self.membership_id) != bool(self.agreement_id), "a voucher is a membership's or an agreement's")


def voucher_id_of(membership_id: str, partner_id: str, period_start_ms: int, number: int) -> str:
    """Name the number-th (1-based) voucher a partner's benefit gives for the period starting then."""
    return f"vch-{membership_id}-{partner_id}-{period_start_ms}-{number:02d}"


def periods_of(benefit: Vouchers, term: PaidTerm) -> list[tuple[int, int]]:
    """Return the [start, end) periods of a paid term for which the benefit issues vouchers."""
    periods = []
    start, k = term.start_ms, 0
    while start < term.end_ms:
        k += 1
        end = term.start_ms + k * WEEK_MS if benefit.period is VoucherPeriod.WEEKLY else add_months(term.start_ms, k)
        periods.append((start, min(end, term.end_ms)))
        start = end
    return periods


def issue_for_period(
    benefit: Vouchers, *, membership: Membership, honouring_partner_id: str, period_start_ms: int
) -> tuple[Voucher, ...]:
    """Return the vouchers a partner's benefit gives a member for the period starting at period_start_ms.

    Refused (FailedPrecondition MEMBERSHIP_NOT_ACTIVE) when the membership does not honour
    benefits at the period's start.
    """
    partners = {partner for paid in membership.terms for partner, _ in paid.shares}
    require(honouring_partner_id in partners, "vouchers are a partner's of the membership")
    if not is_active_at(membership, period_start_ms):
        raise FailedPrecondition(
            "MEMBERSHIP_NOT_ACTIVE",
            f"membership {membership.membership_id!r} does not honour benefits at {period_start_ms}",
            field="membership_id",
        )
    funded = benefit.funded_by is VoucherFunding.SELLER
    funder = membership.seller_partner_id if funded else honouring_partner_id
    return tuple(
        Voucher(
            voucher_id=voucher_id_of(membership.membership_id, honouring_partner_id, period_start_ms, n),
            membership_id=membership.membership_id,
            funder_partner_id=funder,
            honouring_partner_id=honouring_partner_id,
            member_ref=membership.member_ref,
            value_minor=benefit.value_minor,
            currency=membership.currency,
            issued_at_ms=period_start_ms,
            expires_at_ms=period_start_ms + benefit.validity_days * DAY_MS,
        )
        for n in range(1, benefit.per_period + 1)
    )


def require_visible(voucher: Voucher | None, caller: str, voucher_id: str) -> Voucher:
    """Return the voucher if the caller funds or honours it; otherwise it does not exist for them."""
    if voucher is None or caller not in (voucher.funder_partner_id, voucher.honouring_partner_id):
        raise NotFound("VOUCHER_NOT_FOUND", f"no voucher {voucher_id!r}", field="voucher_id")
    return voucher


def redeem(voucher: Voucher, *, caller: str, now_ms: int, reference: str) -> Voucher:
    """The honouring partner takes a voucher at checkout (reference: its own order or receipt id).

    As with a hold's capture: a stranger is told the voucher does not exist (NotFound), the
    funder that may see it but does not honour it is told PermissionDenied.
    """
    require_visible(voucher, caller, voucher.voucher_id)
    if caller != voucher.honouring_partner_id:
        raise PermissionDenied("NOT_HONOURING_PARTNER", "only the partner that honours a voucher redeems it")
    reference = parse_text(reference, field="reference", max_length=VOUCHER_REFERENCE_MAX)
    if voucher.state is VoucherState.REDEEMED:
        raise FailedPrecondition("VOUCHER_ALREADY_REDEEMED", f"voucher {voucher.voucher_id!r} is used")
    if voucher.state is VoucherState.EXPIRED or now_ms >= voucher.expires_at_ms:
        raise FailedPrecondition("VOUCHER_EXPIRED", f"voucher {voucher.voucher_id!r} has expired", final=True)
    if now_ms < voucher.issued_at_ms:
        raise FailedPrecondition("VOUCHER_NOT_YET_VALID", f"voucher {voucher.voucher_id!r} is not valid yet")
    return replace(voucher, state=VoucherState.REDEEMED, redeemed_at_ms=now_ms, reference=reference)


def expire(voucher: Voucher, now_ms: int) -> Voucher | None:
    """Expire an issued voucher whose time has come, or return None if it should not."""
    if voucher.state is not VoucherState.ISSUED or now_ms < voucher.expires_at_ms:
        return None
    return replace(voucher, state=VoucherState.EXPIRED)


def redemption_obligation(voucher: Voucher) -> Obligation | None:
    """Who owes whom for a redeemed voucher: the funder the honouring partner its value (None: the same brand)."""
    require(voucher.state is VoucherState.REDEEMED, "only a redeemed voucher is paid for")
    if voucher.funder_partner_id == voucher.honouring_partner_id:
        return None
    return Obligation(voucher.funder_partner_id, voucher.honouring_partner_id, voucher.value_minor, voucher.currency)


def breakage_minor(voucher: Voucher) -> int:
    """What the funder of an expired voucher keeps: its value; no money moves between brands."""
    require(voucher.state is VoucherState.EXPIRED, "breakage is of an expired voucher")
    return voucher.value_minor
