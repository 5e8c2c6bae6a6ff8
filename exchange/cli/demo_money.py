"""The money path of `coalition demo`: agreements, conversions, refunds, expiry, reversals, holds, positions.

Each brand talks to the hub through its own ExchangeClient and applies the hub's instructions to
a small in-memory ledger with partner_sdk.InstructionLoop. The hub and every client read one
HubClock, so the demonstration jumps past a credit deadline or a hold's expiry without waiting.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from exchange.api.server import HubServer
from exchange.store.ledger_repo import LedgerRepository
from partner_sdk import (
    Agreement,
    AgreementTerms,
    Conversion,
    ExchangeClient,
    Hold,
    Instruction,
    InstructionLoop,
    Quote,
    RejectInstruction,
)
from partner_sdk.testing import HubClock

if TYPE_CHECKING:
    from exchange.cli.demo import Checks

# source, target, target points per source point, minor units of the target's currency per target point
AGREEMENTS = (
    ("stride", "voltline", Fraction(3, 2), Fraction(1, 2), "GBP"),
    ("voltline", "brewhaus", Fraction(5, 3), Fraction(3, 4), "USD"),
    ("brewhaus", "stride", Fraction(7, 5), Fraction(1, 2), "EUR"),
)
DAILY_CAP = 20_000
# Each brand's members and their opening balances, in its own points.
MEMBERS = {
    "stride": {"stride-member-1041": 40_000, "stride-member-2210": 30_000, "stride-member-3090": 5_000},
    "voltline": {"volt-member-77": 1_200},
    "brewhaus": {"brew-member-5": 2_400},
}
REFERENCE_PREFIX = {"stride": "stride", "voltline": "volt", "brewhaus": "brew"}
POINT_CURRENCY = {"stride": "STRD", "voltline": "VOLT", "brewhaus": "BREW"}


@dataclass
class DemoLedger:
    """A brand's own points ledger, in memory; credit, refund and release make it an InstructionHandler."""

    prefix: str
    point_currency: str
    balances: dict[str, int]
    applied: dict[str, str] = field(default_factory=dict)  # instruction id -> our reference
    journal: list[tuple[str, str, str, int]] = field(default_factory=list)  # reference, what, member, points
    refusals: list[tuple[str, str]] = field(default_factory=list)  # member, reason

    def post(self, what: str, member: str, points: int) -> str:
        """Move a member's balance and return the new entry's reference."""
        self.balances[member] = self.balances.get(member, 0) + points
        reference = f"{self.prefix}-ledger-{len(self.journal) + 1}"
        self.journal.append((reference, what, member, points))
        return reference

    def credit(self, instruction: Instruction) -> str:
        """Credit a known member; refuse one this brand has never heard of."""
        if instruction.instruction_id not in self.applied and instruction.member_ref not in self.balances:
            self.refusals.append((instruction.member_ref, "member unknown"))
            raise RejectInstruction("member unknown")
        return self._apply(instruction, "credit", instruction.points)

    def refund(self, instruction: Instruction) -> str:
        """Give points back to the member a conversion debited."""
        return self._apply(instruction, "refund", instruction.points)

    def release(self, instruction: Instruction) -> str:
        """Unreserve points a hold did not capture."""
        return self._apply(instruction, "release", instruction.points)

    def cancel_credit(self, instruction: Instruction) -> str:
        """Take back a credit the hub cancelled after delivering it, if this ledger applied it."""
        if instruction.cancels_instruction_id not in self.applied:  # never applied: nothing to take back
            return self.applied.setdefault(instruction.instruction_id, f"{self.prefix}-nothing-to-reverse")
        return self._apply(instruction, "credit reversed", -instruction.points)

    def _apply(self, instruction: Instruction, what: str, points: int) -> str:
        if instruction.instruction_id not in self.applied:  # idempotent on the instruction id
            self.applied[instruction.instruction_id] = self.post(what, instruction.member_ref, points)
        return self.applied[instruction.instruction_id]


@dataclass
class Party:
    """One brand's backend: its signed client, its ledger, and the loop that applies instructions to it."""

    partner_id: str
    client: ExchangeClient
    ledger: DemoLedger
    loop: InstructionLoop


def _short(identifier: str) -> str:
    """The hub's id prefix and the first 8 hex digits: enough to tell the demo's ids apart."""
    kind, _, digits = identifier.partition("-")
    return f"{kind}-{digits[:8]}"


def _points(points: int, currency: str = "") -> str:
    return f"{points:,} {currency}".strip()


def _money(minor: int, currency: str, *, signed: bool = False) -> str:
    whole, cents = divmod(abs(minor), 100)
    sign = "-" if minor < 0 else ("+" if signed and minor > 0 else "")
    return f"{sign}{whole:,}.{cents:02d} {currency}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    return table


def _states(conversion: Conversion) -> str:
    return " -> ".join(event.to_state for event in conversion.history)


class MoneyStory:
    """The money path, told through the SDK against the running hub."""

    def __init__(
        self,
        server: HubServer,
        clock: HubClock,
        clients: dict[str, ExchangeClient],
        checks: Checks,
        console: Console,
    ) -> None:
        self.server = server
        self.clock = clock
        self.checks = checks
        self.console = console
        self.brands = {
            partner_id: self._party(partner_id, client, MEMBERS[partner_id]) for partner_id, client in clients.items()
        }
        self.owed: defaultdict[tuple[str, str], int] = defaultdict(int)  # what the SDK reported, per position

    @staticmethod
    def _party(partner_id: str, client: ExchangeClient, members: dict[str, int]) -> Party:
        ledger = DemoLedger(REFERENCE_PREFIX[partner_id], POINT_CURRENCY[partner_id], dict(members))
        return Party(partner_id, client, ledger, InstructionLoop(client, ledger, wait_s=0, lease_s=30))

    def tell(self) -> None:
        """Run every section in order."""
        self.agreements()
        first = self.completed_conversion()
        self.rejected_credit()
        self.expired_credit()
        self.reversal(first)
        self.holds()
        self.refusals()
        self.positions()

    # ------------------------------------------------------------------ helpers

    def settle(self, partner_id: str) -> list[tuple[str, str, str, int]]:
        """Run the brand's InstructionLoop once and print what its handler did."""
        party = self.brands[partner_id]
        before, refused_before = len(party.ledger.journal), len(party.ledger.refusals)
        settled = party.loop.run_once()
        done = party.ledger.journal[before:]
        self.console.print(f"{partner_id}'s InstructionLoop settled {settled} instruction(s):")
        for reference, what, member, points in done:
            self.console.print(f"  {what} {points:+,} {party.ledger.point_currency} for {member} -> {reference}")
        for member, reason in party.ledger.refusals[refused_before:]:
            self.console.print(f"  credit for {member} refused: {reason}")
        return done

    def convert(self, source: str, target: str, points: int, member: str, target_member: str, key: str) -> Conversion:
        """Quote, debit the member locally, and convert; give the points back if the hub refuses."""
        party = self.brands[source]
        quote = party.client.quote_conversion(target, points)
        debited = quote.amounts.source_points_debited
        party.ledger.post(f"debit for conversion {key}", member, -debited)
        try:
            return party.client.convert(
                quote.quote_id, source_member_ref=member, target_member_ref=target_member, idempotency_key=key
            )
        except Exception:
            party.ledger.post(f"conversion {key} refused", member, debited)
            raise

    def completed(self, conversion: Conversion) -> Conversion:
        """Read a conversion again; if it completed, count the money it moved."""
        latest = self.brands[conversion.source_partner_id].client.get_conversion(conversion.conversion_id)
        if latest.state == "COMPLETED":
            self._owe(latest.source_partner_id, latest.target_partner_id, latest.amounts.settlement_amount_minor)
        return latest

    def _owe(self, source: str, target: str, minor: int) -> None:
        currency = next(currency for s, t, *_, currency in AGREEMENTS if (s, t) == (source, target))
        self.owed[source, currency] -= minor
        self.owed[target, currency] += minor

    def history(self, conversion: Conversion, title: str) -> None:
        """Print a conversion's state changes."""
        table = _table(title, "at (hub clock)", "actor", "from", "to", "note")
        for event in conversion.history:
            at = event.at.strftime("%H:%M:%S")
            table.add_row(at, event.actor, event.from_state or "", event.to_state, event.note)
        self.console.print(table)

    # ----------------------------------------------------------------- sections

    def agreements(self) -> None:
        """Each brand proposes signed terms to the next one; the target checks the signature and accepts."""
        self.console.rule("6. Three agreements, signed by both sides")
        now = self.clock.now()
        made: list[Agreement] = []
        for source, target, rate, price, currency in AGREEMENTS:
            terms = AgreementTerms(
                source_partner_id=source,
                target_partner_id=target,
                version=1,
                rate=rate,
                min_source_points=100,
                max_source_points=100_000,
                source_increment=1,
                member_daily_cap_source_points=DAILY_CAP,
                fee_basis_points=100,
                fee_fixed_points=None,
                valid_from=now - timedelta(minutes=1),
                valid_until=now + timedelta(days=365),
                settlement_price_minor=price,
                settlement_currency=currency,
            )
            proposed = self.brands[source].client.propose_agreement(terms)
            made.append(self.brands[target].client.accept_agreement(proposed.agreement_id))
        table = _table(
            "Agreements (rate: target points per source point; price: minor units per target point)",
            "agreement",
            "source -> target",
            "rate",
            "fee",
            "price",
            "status",
            "proposer key",
            "acceptor key",
        )
        for agreement in made:
            terms = agreement.terms
            table.add_row(
                _short(agreement.agreement_id),
                f"{terms.source_partner_id} -> {terms.target_partner_id}",
                str(terms.rate),
                f"{Fraction(terms.fee_basis_points or 0, 100)}%",
                f"{terms.settlement_price_minor} {terms.settlement_currency}",
                agreement.status,
                agreement.proposer_key_id,
                agreement.acceptor_key_id,
            )
        self.console.print(table)
        stride_volt = made[0]
        self.checks.expect(
            "Voltline verifies Stride's signed terms and accepts with its rotated key",
            "ACTIVE, signed k1 + k2",
            f"{stride_volt.status}, signed {stride_volt.proposer_key_id} + {stride_volt.acceptor_key_id}",
        )

    def completed_conversion(self) -> Conversion:
        """Stride converts 2,500 points, retries the call, and Voltline's loop credits the member."""
        self.console.rule("7. A conversion that completes: Stride points into Voltline points")
        stride = self.brands["stride"]
        quote = stride.client.quote_conversion("voltline", 2_500)
        self.console.print(_quote_table(quote))
        member, key = "stride-member-1041", "stride-cnv-0001"
        stride.ledger.post(f"debit for conversion {key}", member, -quote.amounts.source_points_debited)

        def convert() -> Conversion:
            return stride.client.convert(
                quote.quote_id, source_member_ref=member, target_member_ref="volt-member-77", idempotency_key=key
            )

        first = convert()
        again = convert()  # a retry after a lost answer: same key, same request
        recorded = len(stride.client.list_conversions(member_ref=member).items)
        self.console.print(f"converted: {first.conversion_id} {first.state}; retried with key {key}")
        self.checks.expect(
            "the convert call retried with the same idempotency key",
            f"{_short(first.conversion_id)}, 1 recorded",
            f"{_short(again.conversion_id)}, {recorded} recorded",
        )
        self.settle("voltline")
        done = self.completed(first)
        self.history(done, "The conversion's history")
        self.checks.expect("Voltline's loop acknowledges the credit", "COMPLETED", done.state)

        self.console.print("The other two agreements carry a conversion each:")
        around = [
            self.convert("voltline", "brewhaus", 3_000, "volt-member-77", "brew-member-5", "volt-cnv-0001"),
            self.convert("brewhaus", "stride", 2_000, "brew-member-5", "stride-member-1041", "brew-cnv-0001"),
        ]
        self.settle("brewhaus")
        self.settle("stride")
        around = [self.completed(conversion) for conversion in around]
        table = _table(
            "Around the coalition", "conversion", "source -> target", "debited", "credited", "money", "state"
        )
        for conversion in (done, *around):
            amounts = conversion.amounts
            table.add_row(
                _short(conversion.conversion_id),
                f"{conversion.source_partner_id} -> {conversion.target_partner_id}",
                _points(amounts.source_points_debited, POINT_CURRENCY[conversion.source_partner_id]),
                _points(amounts.target_points, POINT_CURRENCY[conversion.target_partner_id]),
                _money(amounts.settlement_amount_minor, amounts.settlement_currency),
                conversion.state,
            )
        self.console.print(table)
        self.checks.expect(
            "Brewhaus and Stride credit their conversions", "COMPLETED, COMPLETED", ", ".join(c.state for c in around)
        )
        return done

    def rejected_credit(self) -> None:
        """Voltline refuses a credit for a member it does not know; Stride's loop refunds the member."""
        self.console.rule("8. A credit refused by the target is refunded at the source")
        conversion = self.convert(
            "stride", "voltline", 1_000, "stride-member-1041", "volt-member-404", "stride-cnv-0002"
        )
        self.settle("voltline")
        rejected = self.brands["stride"].client.get_conversion(conversion.conversion_id).state
        self.console.print(f"the conversion is now {rejected}")
        self.settle("stride")
        refunded = self.brands["stride"].client.get_conversion(conversion.conversion_id)
        self.history(refunded, "Refused and refunded")
        self.checks.expect(
            "a credit for an unknown member is refused, then refunded",
            "PENDING_CREDIT -> REJECTED -> REFUNDED",
            _states(refunded),
        )

    def expired_credit(self) -> None:
        """Voltline picks up a credit and goes quiet; the hub expires it and Stride refunds the member."""
        self.console.rule("9. A credit nobody acknowledges expires")
        stride, volt = self.brands["stride"], self.brands["voltline"]
        conversion = self.convert("stride", "voltline", 500, "stride-member-3090", "volt-member-77", "stride-cnv-0003")
        (credit,) = volt.client.pull_instructions(wait_s=0)
        self.console.print(f"Voltline's backend pulls {credit.kind} {credit.instruction_id}, then goes quiet")
        deadline_ms = self.server.config.policy.credit_deadline_ms
        self.clock.advance(deadline_ms + 1_000)
        swept = self.server.expire_overdue_once()
        expired = stride.client.get_conversion(conversion.conversion_id).state
        self.console.print(
            f"the clock moves {deadline_ms // 60_000} minutes and a second on; the expiry sweep expires {swept}; "
            f"the conversion is {expired}"
        )
        self.checks.expect("the credit deadline passes", "EXPIRED", expired)
        self.checks.expect_outcome(
            "Voltline acknowledges the credit after its deadline",
            "FAILED_PRECONDITION/INSTRUCTION_CANCELLED",
            lambda: volt.client.acknowledge_instruction(credit.instruction_id, partner_reference="volt-late-1"),
        )
        self.settle("stride")
        refunded = stride.client.get_conversion(conversion.conversion_id)
        self.history(refunded, "Expired and refunded")
        self.checks.expect("Stride applies the refund", "PENDING_CREDIT -> EXPIRED -> REFUNDED", _states(refunded))

    def reversal(self, conversion: Conversion) -> None:
        """Voltline takes back 750 points of the completed conversion; Stride refunds its share."""
        self.console.rule("10. Voltline reverses part of the completed conversion")
        volt = self.brands["voltline"]
        volt.ledger.post("taken back: goods returned", "volt-member-77", -750)
        reversed_ = volt.client.reverse_conversion(
            conversion.conversion_id, 750, reason="goods returned", idempotency_key="volt-rev-0001"
        )
        (reversal,) = reversed_.reversals
        self._owe(conversion.source_partner_id, conversion.target_partner_id, -reversal.settlement_amount_minor)
        table = _table("Reversals", "reversal", "conversion", "target points", "source points", "money", "reason")
        table.add_row(
            _short(reversal.reversal_id),
            _short(conversion.conversion_id),
            _points(reversal.target_points, "VOLT"),
            _points(reversal.source_points, "STRD"),
            _money(reversal.settlement_amount_minor, conversion.amounts.settlement_currency),
            reversal.reason,
        )
        self.console.print(table)
        refunded = sum(points for _, what, _, points in self.settle("stride") if what == "refund")
        state = self.brands["stride"].client.get_conversion(conversion.conversion_id).state
        amounts = conversion.amounts
        proportional = reversal.target_points * amounts.source_points_converted // amounts.target_points
        self.checks.expect(
            "the reversal refunds Stride's member proportionally (the fee stays)",
            f"{proportional:,} STRD refunded, COMPLETED",
            f"{refunded:,} STRD refunded, {state}",
        )

    def holds(self) -> None:
        """A Stride member spends points at Voltline: partial captures, a void, and a hold that expires."""
        self.console.rule("11. Spending Stride points at Voltline: holds, captures, releases")
        stride, volt = self.brands["stride"], self.brands["voltline"]
        member = "stride-member-1041"
        stride.ledger.post("reserved for a hold", member, -1_000)
        hold = stride.client.authorize_hold(
            "voltline", 1_000, source_member_ref=member, idempotency_key="stride-hold-1"
        )
        self.console.print(f"Stride reserves 1,000 points and authorises hold {hold.hold_id}")
        volt.client.capture_hold(hold.hold_id, 400, target_reference="order-5521")
        volt.client.capture_hold(hold.hold_id, 250, target_reference="order-5522")
        voided = volt.client.void_hold(hold.hold_id, reason="checkout finished")
        self.console.print("Voltline captures 400 (order-5521) and 250 (order-5522), then voids the rest")
        released = self.settle("stride")
        self.checks.expect(
            "Voltline captures 400 + 250 and voids the rest",
            "VOIDED, 650 captured, 350 released to Stride",
            f"{voided.state}, {voided.captured_points} captured, {sum(p for *_, p in released)} released to Stride",
        )

        stride.ledger.post("reserved for a hold", member, -300)
        short = stride.client.authorize_hold(
            "voltline", 300, source_member_ref=member, expires_in_s=60, idempotency_key="stride-hold-2"
        )
        self.clock.advance(61_000)
        self.server.expire_overdue_once()
        self.console.print(f"hold {short.hold_id} for 300 points lives 60 s; the clock moves 61 s on")
        self.checks.expect_outcome(
            "Voltline captures the expired hold",
            "FAILED_PRECONDITION/HOLD_EXPIRED",
            lambda: volt.client.capture_hold(short.hold_id, 100, target_reference="order-5523"),
        )
        self.settle("stride")
        expired = stride.client.get_hold(short.hold_id)
        self.checks.expect(
            "the unused hold expires and is released",
            "EXPIRED, 300 released",
            f"{expired.state}, {expired.released_points} released",
        )
        for captured in voided.captures:
            self._owe("stride", "voltline", captured.settlement_amount_minor)
        self.console.print(_holds_table((voided, expired)))

    def refusals(self) -> None:
        """Amounts the hub refuses: nothing, and more than a member may convert in a day."""
        self.console.rule("12. Refused amounts and the member daily cap")
        stride = self.brands["stride"]
        self.checks.expect_outcome(
            "a quote for 0 points",
            "INVALID_ARGUMENT/NON_POSITIVE_AMOUNT",
            lambda: stride.client.quote_conversion("voltline", 0),
        )
        member = "stride-member-2210"
        big = self.convert("stride", "voltline", 12_000, member, "volt-member-77", "stride-cnv-0004")
        self.console.print(f"{member} converts 12,000 points to Voltline")
        self.settle("voltline")
        self.completed(big)
        refused = self.checks.expect_outcome(
            f"the same member converts 9,000 more today (cap {DAILY_CAP:,})",
            "RESOURCE_EXHAUSTED/MEMBER_DAILY_CAP",
            lambda: self.convert("stride", "voltline", 9_000, member, "volt-member-77", "stride-cnv-0005"),
        )
        if refused is not None:
            self.console.print(f"then asks for 9,000 more; the hub: {refused.message}")

    def positions(self) -> None:
        """The ledger as the operator sees it: what each brand is owed (+) or owes (-), per currency."""
        self.console.rule("13. Positions: who owes whom, as the hub's ledger has it")
        with self.server.config.database.engine.connect() as connection:
            ledger = LedgerRepository(connection)
            positions = ledger.money_positions()
            unbalanced = ledger.unbalanced_transactions()
        currencies = sorted({currency for _, currency in positions})
        table = _table("Money positions (+ owed to the brand, - it owes)", "brand", *currencies)
        brands = list(self.brands)
        for partner_id in brands:
            table.add_row(
                partner_id,
                *(_money(positions.get((partner_id, c), 0), c, signed=True) for c in currencies),
                end_section=partner_id == brands[-1],
            )
        totals = {c: sum(amount for (_, currency), amount in positions.items() if currency == c) for c in currencies}
        table.add_row("[bold]sum[/bold]", *(_money(totals[c], c) for c in currencies))
        self.console.print(table)
        self.checks.expect(
            "every currency's positions sum to zero",
            ", ".join(f"{c} 0" for c in currencies),
            ", ".join(f"{c} {totals[c]}" for c in currencies),
        )
        self.checks.expect("ledger transactions that do not balance", "[]", str(unbalanced))
        nonzero = {key: amount for key, amount in positions.items() if amount}
        reported = {key: amount for key, amount in self.owed.items() if amount}
        self.checks.expect(
            "the positions equal what the SDK reported, conversion by capture",
            "equal",
            "equal" if nonzero == reported else f"ledger {nonzero} vs SDK {reported}",
        )
        balances = _table("The brands' own ledgers (kept by their instruction handlers)", "brand", "member", "points")
        for party in self.brands.values():
            for member, points in party.ledger.balances.items():
                balances.add_row(party.partner_id, member, _points(points, party.ledger.point_currency))
        self.console.print(balances)


def _quote_table(quote: Quote) -> Table:
    amounts = quote.amounts
    table = _table(
        f"Quote {_short(quote.quote_id)}: {quote.source_partner_id} -> {quote.target_partner_id} at {amounts.rate}",
        "requested",
        "fee",
        "converted",
        "debited",
        "not taken",
        "target points",
        "money owed",
        "expires",
    )
    table.add_row(
        _points(amounts.source_points_requested, "STRD"),
        _points(amounts.fee_points),
        _points(amounts.source_points_converted),
        _points(amounts.source_points_debited),
        _points(amounts.source_points_not_taken),
        _points(amounts.target_points, "VOLT"),
        _money(amounts.settlement_amount_minor, amounts.settlement_currency),
        f"in {(quote.expires_at - quote.created_at).total_seconds():.0f} s",
    )
    return table


def _holds_table(holds: tuple[Hold, ...]) -> Table:
    table = _table("Holds", "hold", "authorized", "captured", "released", "state", "captures")
    for hold in holds:
        captures = "\n".join(
            f"{c.target_reference}: {c.source_points:,} STRD = {c.target_points_value:,} VOLT, "
            f"{_money(c.settlement_amount_minor, hold.settlement_currency)}"
            for c in hold.captures
        )
        table.add_row(
            _short(hold.hold_id),
            _points(hold.authorized_points),
            _points(hold.captured_points),
            _points(hold.released_points),
            hold.state,
            captures,
        )
    return table


def tell_money_story(
    server: HubServer, clock: HubClock, clients: dict[str, ExchangeClient], checks: Checks, console: Console
) -> None:
    """Run the money path's sections against the running hub with the brands' working clients."""
    MoneyStory(server, clock, clients, checks, console).tell()
