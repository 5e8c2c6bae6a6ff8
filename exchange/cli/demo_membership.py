"""Joint paid membership in `coalition demo`: Coalition Plus, sold by Stride with Voltline and Brewhaus.

Both partners sign Stride's terms; a member enrols at the price their score earns; the partners'
loops honour it; Voltline's till checks a pass offline, takes 5 % off and redeems the voucher
Stride funds; Stride cancels mid-term and refunds. The settlement story shows the movements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Protocol

from rich.console import Console
from rich.table import Table

from exchange.api.server import HubServer
from exchange.store.settlement_repo import SettlementRepository
from partner_sdk import ExchangeClient, Instruction, InstructionLoop, verify_membership_pass
from partner_sdk.memberships import (
    Benefit,
    FixedShare,
    Membership,
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

PLUS = "coalition-plus"
MEMBER = {"stride": "stride-member-4512", "voltline": "volt-member-88", "brewhaus": "brew-member-31"}
MEMBERSHIP_KINDS = ("MEMBERSHIP_FEE_SHARE", "MEMBERSHIP_FEE_REFUND", "VOUCHER_REDEMPTION")


class Checks(Protocol):
    """What this story needs of the demonstration's checks (exchange.cli.demo.Checks, not imported: no cycle)."""

    def expect(self, what: str, expected: str, got: str) -> None:
        """Record one expectation and its outcome."""

    def expect_outcome(self, what: str, expected: str, action: Callable[[], object]) -> object:
        """Run action and record its outcome (OK or CODE/REASON) against expected."""


@dataclass
class Perks:
    """A partner's instruction handler for memberships: what its till honours, idempotent on the instruction id."""

    prefix: str
    honoured: dict[str, str] = field(default_factory=dict)  # membership id -> what the till honours
    applied: dict[str, str] = field(default_factory=dict)  # instruction id -> our reference
    journal: list[str] = field(default_factory=list)

    def grant_benefit(self, instruction: Instruction) -> str:
        """Honour instruction.benefits for the member until instruction.honoured_until."""
        until = instruction.honoured_until
        self.honoured[instruction.membership_id] = f"{_benefits(instruction.benefits)} until {until:%Y-%m-%d}"
        return self._once(instruction)

    def revoke_benefit(self, instruction: Instruction) -> str:
        """Stop honouring the membership's benefits."""
        self.honoured.pop(instruction.membership_id, None)
        return self._once(instruction)

    def _once(self, instruction: Instruction) -> str:
        if instruction.instruction_id not in self.applied:
            reference = self.applied[instruction.instruction_id] = f"{self.prefix}-perk-{len(self.applied) + 1}"
            self.journal.append(f"{instruction.kind} for {instruction.member_ref} -> {reference}")
        return self.applied[instruction.instruction_id]

    def _points(self, instruction: Instruction) -> str:
        raise NotImplementedError("points instructions are the brand's ledger's (demo_money's loops apply them)")

    credit = refund = release = cancel_credit = _points


def _eur(minor: int) -> str:
    whole, cents = divmod(abs(minor), 100)
    return f"{'-' if minor < 0 else ''}{whole:,}.{cents:02d} EUR"


def _benefits(benefits: tuple[Benefit, ...]) -> str:
    said = []
    for b in benefits:
        if isinstance(b, PercentageDiscount):
            said.append(f"{b.basis_points // 100}.{b.basis_points % 100:02d} % off, at most {_eur(b.cap_minor or 0)}")
        elif isinstance(b, Vouchers):
            said.append(
                f"{b.per_period} x {_eur(b.value_minor)} voucher {b.period.lower()}, {b.funded_by.lower()}-funded"
            )
        elif isinstance(b, TextBenefit):
            said.append(b.text)
    return "; ".join(said)


def plus_terms(clock: HubClock) -> MembershipTerms:
    """Coalition Plus: yearly 888.00 (88.00 from a score of 1,000), monthly 9.00, pro-rata refunds, 7 grace days."""
    offers = (
        TermOffer("MONTHLY", 900),
        TermOffer("YEARLY", 88_800, tiers=(PriceTier(min_score=1_000, fee_minor=8_800),)),
    )
    voltline = PartnerTerms(
        "voltline",
        benefits=(PercentageDiscount(basis_points=500, cap_minor=2_000), Vouchers(1, "MONTHLY", 500, 30, "SELLER")),
        shares=(("MONTHLY", RatioShare(Fraction(1, 10))), ("YEARLY", RatioShare(Fraction(1, 10)))),
    )
    brewhaus = PartnerTerms(
        "brewhaus",
        benefits=(TextBenefit("a free coffee every week"),),
        shares=(("MONTHLY", FixedShare(50)), ("YEARLY", FixedShare(500))),
    )
    now = clock.now()
    return MembershipTerms(
        programme_id=PLUS,
        version=1,
        name="Coalition Plus",
        seller_partner_id="stride",
        currency="EUR",
        offers=offers,
        partners=(voltline, brewhaus),
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
    ledgers = {p: Perks(p[:4]) for p in ("voltline", "brewhaus")}
    loops = {p: InstructionLoop(clients[p], ledger, wait_s=0) for p, ledger in ledgers.items()}

    def honour(partner_id: str) -> str:
        before = len(ledgers[partner_id].journal)
        loops[partner_id].run_once()
        done = ledgers[partner_id].journal[before:]
        for line in done:
            console.print(f"  {partner_id}'s loop: {line}")
        return ", ".join(line.split()[0] for line in done)

    console.rule("Plus 1. Stride proposes Coalition Plus; Voltline and Brewhaus sign")
    terms = plus_terms(clock)
    table = Table(title="Coalition Plus: yearly 888.00 (88.00 from a score of 1,000), monthly 9.00, pro rata refunds")
    for column in ("partner", "benefits", "share of a yearly fee", "of a monthly fee"):
        table.add_column(column)
    table.add_row("voltline", _benefits(terms.partners[0].benefits), "a tenth", "a tenth")
    table.add_row("brewhaus", _benefits(terms.partners[1].benefits), "5.00", "0.50")
    console.print(table)
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
    links = {
        p: clients[p].redeem_link_code(stride.create_link_code(MEMBER["stride"]).code, member_ref=MEMBER[p])
        for p in ("voltline", "brewhaus")
    }

    def enrol(fee_minor: int, score: int | None, key: str | None = None) -> Membership:
        return stride.enrol(
            PLUS, member_ref=MEMBER["stride"], term="YEARLY", fee_minor=fee_minor, score=score, idempotency_key=key
        )

    mismatch = "FAILED_PRECONDITION/FEE_MISMATCH"
    checks.expect_outcome("Stride charges 888.00 to a member it scores 1,200", mismatch, lambda: enrol(88_800, 1_200))
    checks.expect_outcome("Stride charges 88.00 without a score", mismatch, lambda: enrol(8_800, None))
    enrolled = enrol(8_800, 1_200, "plus-4512")
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
        console.print(f"{partner_id}'s till now honours: {ledger.honoured.get(enrolled.membership_id, 'nothing')}")
    checks.expect(
        "each partner's loop receives and acknowledges a grant",
        "BENEFIT_GRANT, BENEFIT_GRANT; brewhaus HONOURED, voltline HONOURED",
        f"{', '.join(granted)}; {states}",
    )

    console.rule("Plus 4. At Voltline's till: a pass checked offline, 5 % off, the voucher Stride funds")
    membership_pass = voltline.issue_membership_pass(enrolled.membership_id)
    document = verify_membership_pass(membership_pass, hub_key, partner_id="voltline", now=clock.now())
    checks.expect(
        "Voltline verifies the pass with the hub's key, without a call",
        f"{PLUS} for {links['voltline'].pairwise_member_id}",
        f"{document.programme_id} for {document.pairwise_member_id}",
    )
    (discount,) = (b for b in document.benefits if isinstance(b, PercentageDiscount))
    bp, cap = discount.basis_points, discount.cap_minor
    baskets = Table(title="Two baskets at Voltline (in integers: basis points, rounded down, then the cap)")
    for column in ("basket", f"{bp} bp of it", "discount", "to pay"):
        baskets.add_column(column)
    offs = {basket: min(basket * bp // 10_000, basket if cap is None else cap) for basket in (24_999, 64_900)}
    for basket, off in offs.items():
        baskets.add_row(_eur(basket), _eur(basket * bp // 10_000), _eur(off), _eur(basket - off))
    console.print(baskets)
    checks.expect("5 % off 249.99 and off 649.00 (capped at 20.00)", "1249, 2000", ", ".join(map(str, offs.values())))
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
    clock.advance((20 * 24 + 1) * 3_600_000)
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
    moved = [s.movement for s in stored if s.movement.kind.value in MEMBERSHIP_KINDS]
    table = Table(title=f"The membership's movements in {period.period_id} (minor units of EUR)")
    for column in ("movement", "kind", "owed by", "to", "amount"):
        table.add_column(column)
    for m in moved:
        table.add_row(m.movement_id, m.kind.value, m.source_partner_id, m.target_partner_id, f"{m.amount_minor:+,}")
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
