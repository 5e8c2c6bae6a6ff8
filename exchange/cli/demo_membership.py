"""Joint paid membership in `coalition demo`: Coalition Plus, sold by Stride with Voltline and Brewhaus.

Stride proposes the terms and both partners sign; a member linked at both enrols at the price
their score earns; the partners' instruction loops honour the membership; Voltline's till checks
a pass offline, takes 5 % off (capped) and redeems the voucher Stride funds; twenty days on
Stride cancels, refunds the unused days and the partners give back their part of their shares.
The settlement story that follows shows these movements in the statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from exchange.api.server import HubServer
from exchange.cli.demo_money import DemoLedger
from exchange.store.settlement_repo import SettlementRepository
from partner_sdk import ExchangeClient, Instruction, InstructionLoop, verify_membership_pass
from partner_sdk.memberships import (
    Benefit,
    FixedShare,
    MembershipTerms,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    TermOffer,
    TextBenefit,
    Vouchers,
)
from partner_sdk.testing import HubClock

if TYPE_CHECKING:
    from exchange.cli.demo import Checks

PLUS = "coalition-plus"
DAY_MS = 86_400_000
MEMBER = {"stride": "stride-member-4512", "voltline": "volt-member-88", "brewhaus": "brew-member-31"}
MEMBERSHIP_KINDS = ("MEMBERSHIP_FEE_SHARE", "MEMBERSHIP_FEE_REFUND", "VOUCHER_REDEMPTION")


@dataclass
class PerksLedger(DemoLedger):
    """A partner's instruction handler that also honours joint memberships (idempotent on the instruction id)."""

    perks: dict[str, str] = field(default_factory=dict)  # membership id -> what the till honours

    def grant_benefit(self, instruction: Instruction) -> str:
        """Honour instruction.benefits for the member until instruction.honoured_until."""
        until = instruction.honoured_until
        self.perks[instruction.membership_id] = f"{_benefits(instruction.benefits)} until {until:%Y-%m-%d}"
        return self._apply(instruction, "BENEFIT_GRANT", 0)

    def revoke_benefit(self, instruction: Instruction) -> str:
        """Stop honouring the membership's benefits."""
        self.perks.pop(instruction.membership_id, None)
        return self._apply(instruction, "BENEFIT_REVOKE", 0)


def _eur(minor: int) -> str:
    whole, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{whole:,}.{cents:02d} EUR"


def _benefits(benefits: tuple[Benefit, ...]) -> str:
    said = []
    for b in benefits:
        if isinstance(b, PercentageDiscount):
            said.append(f"{b.basis_points} bp off, at most {_eur(b.cap_minor or 0)}")
        elif isinstance(b, Vouchers):
            said.append(f"{b.per_period} {_eur(b.value_minor)} voucher {b.period.lower()} ({b.funded_by} funds)")
        elif isinstance(b, TextBenefit):
            said.append(b.text)
    return "; ".join(said)


def plus_terms(clock: HubClock) -> MembershipTerms:
    """Coalition Plus: yearly 888.00 (88.00 from a score of 1,000), monthly 9.00, pro-rata refunds."""
    now = clock.now()
    return MembershipTerms(
        programme_id=PLUS,
        version=1,
        name="Coalition Plus",
        seller_partner_id="stride",
        currency="EUR",
        offers=(TermOffer("MONTHLY", 900), TermOffer("YEARLY", 88_800, tiers=(PriceTier(1_000, 8_800),))),
        partners=(
            PartnerTerms(
                "voltline",
                benefits=(PercentageDiscount(500, cap_minor=2_000), Vouchers(1, "MONTHLY", 500, 30, "SELLER")),
                shares=(("MONTHLY", RatioShare(Fraction(1, 10))), ("YEARLY", RatioShare(Fraction(1, 10)))),
            ),
            PartnerTerms(
                "brewhaus",
                benefits=(TextBenefit("a free coffee every week"),),
                shares=(("MONTHLY", FixedShare(50)), ("YEARLY", FixedShare(500))),
            ),
        ),
        refund_rule="PRO_RATA",
        grace_days=7,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=800),
    )


def tell_membership_story(
    server: HubServer,
    clock: HubClock,
    clients: dict[str, ExchangeClient],
    hub_key: bytes,
    checks: Checks,
    console: Console,
) -> None:
    """Sign the programme, enrol at the score price, honour it at a till, cancel, and show the money."""
    stride, voltline, brewhaus = clients["stride"], clients["voltline"], clients["brewhaus"]
    ledgers = {p: PerksLedger(p[:4], "", {}) for p in ("voltline", "brewhaus")}
    loops = {p: InstructionLoop(clients[p], ledger, wait_s=0) for p, ledger in ledgers.items()}

    def honour(partner_id: str) -> str:
        before = len(ledgers[partner_id].journal)
        loops[partner_id].run_once()
        done = ledgers[partner_id].journal[before:]
        for reference, kind, member, _ in done:
            console.print(f"  {partner_id}'s loop: {kind} for {member} -> {reference}")
        return ", ".join(kind for _, kind, _, _ in done)

    console.rule("Plus 1. Stride proposes Coalition Plus; Voltline and Brewhaus sign")
    terms = plus_terms(clock)
    table = Table(title="Coalition Plus, as Stride proposes it (minor units of EUR)")
    for column in ("partner", "benefits", "share of a yearly fee", "of a monthly fee"):
        table.add_column(column)
    table.add_row("voltline", _benefits(terms.partners[0].benefits), "a tenth", "a tenth")
    table.add_row("brewhaus", _benefits(terms.partners[1].benefits), "500", "50")
    console.print(table)
    console.print("yearly 888.00, or 88.00 for a member Stride scores 1,000 or more; monthly 9.00; pro-rata refunds")
    proposed = stride.propose_membership_agreement(terms)
    signed = [f"{proposed.status} awaiting {', '.join(proposed.awaiting_partner_ids)}"]
    for client in (voltline, brewhaus):
        agreement = client.sign_membership_agreement(proposed.agreement_id)
        signed.append(f"{agreement.status} awaiting {', '.join(agreement.awaiting_partner_ids) or 'nobody'}")
    console.print(f"agreement {proposed.agreement_id}: " + " -> ".join(signed))
    checks.expect(
        "Coalition Plus is in force once both partners signed",
        "PROPOSED awaiting brewhaus, voltline -> PROPOSED awaiting brewhaus -> ACTIVE awaiting nobody",
        " -> ".join(signed),
    )

    console.rule("Plus 2. A member linked at Voltline and Brewhaus enrols at the price their score earns")
    for partner_id in ("voltline", "brewhaus"):
        code = stride.create_link_code(MEMBER["stride"])
        clients[partner_id].redeem_link_code(code.code, member_ref=MEMBER[partner_id])
    checks.expect_outcome(
        "Stride charges 888.00 to a member it scores 1,200",
        "FAILED_PRECONDITION/FEE_MISMATCH",
        lambda: stride.enrol(PLUS, member_ref=MEMBER["stride"], term="YEARLY", fee_minor=88_800, score=1_200),
    )
    checks.expect_outcome(
        "Stride charges 88.00 without a score",
        "FAILED_PRECONDITION/FEE_MISMATCH",
        lambda: stride.enrol(PLUS, member_ref=MEMBER["stride"], term="YEARLY", fee_minor=8_800),
    )
    enrolled = stride.enrol(
        PLUS, member_ref=MEMBER["stride"], term="YEARLY", fee_minor=8_800, score=1_200, idempotency_key="plus-4512"
    )
    paid = enrolled.terms[0]
    console.print(
        f"{MEMBER['stride']} (score 1,200) pays {_eur(paid.fee_minor)} instead of {_eur(88_800)}: "
        f"membership {enrolled.membership_id}, {paid.term} from {paid.starts_at:%Y-%m-%d} to {paid.ends_at:%Y-%m-%d}"
    )
    checks.expect(
        "the member enrols at the score price", "ACTIVE YEARLY 8800", f"{enrolled.state} {paid.term} {paid.fee_minor}"
    )

    console.rule("Plus 3. The partners' instruction loops honour the membership")
    granted = [honour(p) for p in ledgers]
    states = ", ".join(f"{g.partner_id} {g.state}" for g in stride.get_membership(enrolled.membership_id).grants)
    for partner_id, ledger in ledgers.items():
        console.print(f"{partner_id}'s till now honours: {ledger.perks.get(enrolled.membership_id, 'nothing')}")
    checks.expect(
        "each partner's loop receives and acknowledges a grant",
        "BENEFIT_GRANT, BENEFIT_GRANT; brewhaus HONOURED, voltline HONOURED",
        f"{', '.join(granted)}; {states}",
    )

    console.rule("Plus 4. At Voltline's till: a pass checked offline, 5 % off, the voucher Stride funds")
    membership_pass = voltline.issue_membership_pass(enrolled.membership_id)
    document = verify_membership_pass(membership_pass, hub_key, partner_id="voltline", now=clock.now())
    (link,) = voltline.list_links(MEMBER["voltline"])
    checks.expect(
        "Voltline verifies the pass with the hub's key, without a call",
        f"{PLUS} for {link.pairwise_member_id}",
        f"{document.programme_id} for {document.pairwise_member_id}",
    )
    (discount,) = (b for b in document.benefits if isinstance(b, PercentageDiscount))
    cap = discount.cap_minor if discount.cap_minor is not None else 1 << 62
    baskets = Table(title="Two baskets at Voltline (integers: basis points, rounded down, then the cap)")
    for column in ("basket", f"{discount.basis_points} bp of it", "discount", "to pay"):
        baskets.add_column(column)
    discounts = []
    for basket in (24_999, 64_900):
        off = min(basket * discount.basis_points // 10_000, cap)
        discounts.append(off)
        baskets.add_row(_eur(basket), _eur(basket * discount.basis_points // 10_000), _eur(off), _eur(basket - off))
    console.print(baskets)
    checks.expect("5 % off 249.99 and off 649.00 (capped at 20.00)", "1249, 2000", ", ".join(map(str, discounts)))
    (voucher,) = voltline.list_vouchers(enrolled.membership_id).items
    used = voltline.redeem_voucher(voucher.voucher_id, reference="volt-order-9120", idempotency_key="volt-order-9120")
    console.print(f"the member shows voucher {voucher.voucher_id}; Voltline takes {_eur(used.value_minor)} off too")
    checks.expect(
        "Voltline redeems the member's voucher",
        "REDEEMED 500, funded by stride",
        f"{used.state} {used.value_minor}, funded by {used.funder_partner_id}",
    )
    checks.expect_outcome(
        "the same voucher on a second order",
        "FAILED_PRECONDITION/VOUCHER_ALREADY_REDEEMED",
        lambda: voltline.redeem_voucher(voucher.voucher_id, reference="volt-order-9121"),
    )

    console.rule("Plus 5. Twenty days on, Stride cancels: the unused days are refunded")
    clock.advance(20 * DAY_MS + 3_600_000)
    cancelled = stride.cancel_membership(enrolled.membership_id, idempotency_key="plus-4512-cancel")
    refund = cancelled.terms[0].refund_minor
    days = (paid.ends_at - paid.starts_at).days
    shares = {"voltline": paid.fee_minor // 10, "brewhaus": 500}
    back = {p: share * refund // paid.fee_minor for p, share in shares.items()}
    console.print(
        f"20 days and an hour used, so 21 days begun of {days}: the member gets back "
        f"{_eur(refund)} = {_eur(paid.fee_minor)} x {days - 21} / {days}, rounded down; "
        + ", ".join(f"{p} gives back {_eur(amount)} of its {_eur(shares[p])}" for p, amount in back.items())
    )
    checks.expect(
        "Stride cancels mid-term: a pro-rata refund",
        f"CANCELLED {paid.fee_minor * (days - 21) // days}",
        f"{cancelled.state} {refund}",
    )
    revoked = [honour(p) for p in ledgers]
    checks.expect("each partner's loop receives a revoke", "BENEFIT_REVOKE, BENEFIT_REVOKE", ", ".join(revoked))
    checks.expect_outcome(
        "Voltline asks for a pass for the cancelled membership",
        "FAILED_PRECONDITION/MEMBERSHIP_NOT_ACTIVE",
        lambda: voltline.issue_membership_pass(enrolled.membership_id),
    )

    with server.config.database.engine.connect() as connection:
        repository = SettlementRepository(connection)
        period = repository.open_period()
        stored = repository.partner_movements(period.period_id, "stride", after_seq=0, limit=10_000)
    moved = [s.movement for s in stored if s.movement.kind in MEMBERSHIP_KINDS]
    table = Table(title=f"The membership's movements in {period.period_id} (minor units of EUR)")
    for column in ("movement", "kind", "owed by", "to", "amount"):
        table.add_column(column)
    for m in moved:
        table.add_row(m.movement_id, m.kind, m.source_partner_id, m.target_partner_id, f"{m.amount_minor:+,}")
    for partner_id in shares:
        net = sum(m.amount_minor for m in moved if m.target_partner_id == partner_id)
        table.add_row("", "[bold]net[/bold]", "stride", partner_id, f"[bold]{net:+,}[/bold]")
    console.print(table)
    checks.expect(
        "the membership's movements, per partner",
        f"brewhaus 500 {-back['brewhaus']}; voltline {shares['voltline']} 500 {-back['voltline']}",
        "; ".join(
            f"{p} " + " ".join(str(m.amount_minor) for m in moved if m.target_partner_id == p)
            for p in ("brewhaus", "voltline")
        ),
    )
