"""Status match in `coalition demo`: a Gold member at Voltline is recognised as Silver at Brewhaus.

Both brands publish their tier ladders; Brewhaus proposes the match terms and Voltline accepts. A
member linked at both asks, is refused until they consent, is matched with an attestation Brewhaus
checks offline, meets the challenge, and loses the match when Voltline downgrades them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from rich.console import Console
from rich.table import Table

from partner_sdk import ExchangeClient, Instruction, InstructionLoop, verify_tier_attestation
from partner_sdk.status_match import Challenge, MatchTerms, StatusMatch, Tier
from partner_sdk.testing import HubClock

VOLT_MEMBER, BREW_MEMBER = "volt-member-512", "brew-member-62"


class Checks(Protocol):
    """What this story needs of the demonstration's checks (exchange.cli.demo.Checks, not imported: no cycle)."""

    def expect(self, what: str, expected: str, got: str) -> None:
        """Record one expectation and its outcome."""

    def expect_outcome(self, what: str, expected: str, action: Callable[[], object]) -> object:
        """Run action and record its outcome (OK or CODE/REASON) against expected."""


@dataclass
class Tiers:
    """Brewhaus's instruction handler for status matches: whom its tills recognise, idempotent on the instruction id."""

    recognised: dict[str, str] = field(default_factory=dict)  # match id -> what the tills recognise
    applied: dict[str, str] = field(default_factory=dict)  # instruction id -> our reference
    journal: list[str] = field(default_factory=list)

    def tier_matched(self, instruction: Instruction) -> str:
        """Recognise instruction.member_ref at instruction.matched_tier until instruction.match_ends_at."""
        until = f"{instruction.match_ends_at:%Y-%m-%d}"
        self.recognised[instruction.match_id] = f"{instruction.member_ref} as {instruction.matched_tier} until {until}"
        return self._once(instruction, f"{instruction.matched_tier} until {until}")

    def tier_match_ended(self, instruction: Instruction) -> str:
        """Stop recognising the match's tier."""
        self.recognised.pop(instruction.match_id, None)
        return self._once(instruction, instruction.reason)

    def _once(self, instruction: Instruction, said: str) -> str:
        if instruction.instruction_id not in self.applied:
            reference = self.applied[instruction.instruction_id] = f"brew-tier-{len(self.applied) + 1}"
            self.journal.append(f"{instruction.kind} {said} for {instruction.member_ref} -> {reference}")
        return self.applied[instruction.instruction_id]

    def _points(self, instruction: Instruction) -> str:
        raise NotImplementedError("points instructions are the brand's ledger's (demo_money's loops apply them)")

    credit = refund = release = cancel_credit = grant_benefit = revoke_benefit = _points


def _day(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d}" if at else ""


def match_terms(clock: HubClock) -> MatchTerms:
    """Voltline gold -> Brewhaus silver, black diamond -> gold; 180 days, kept past 30 only with 5 visits."""
    now = clock.now()
    return MatchTerms(
        recogniser_partner_id="brewhaus",
        attester_partner_id="voltline",
        version=1,
        mapping=(("gold", "silver"), ("black_diamond", "gold")),
        challenge=Challenge(days=30, activity="visits", target=5),
        match_days=180,
        period_days=365,
        max_tier_age_days=30,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=800),
    )


def tell_status_match_story(
    clock: HubClock, clients: dict[str, ExchangeClient], hub_key: bytes, checks: Checks, console: Console
) -> None:
    """Agree a match, refuse without consent, match, verify offline, confirm the challenge, end on a downgrade."""
    voltline, brewhaus = clients["voltline"], clients["brewhaus"]
    tiers = Tiers()
    loop = InstructionLoop(brewhaus, tiers, wait_s=0)
    life: list[tuple[str, StatusMatch]] = []

    def recognise() -> str:
        before = len(tiers.journal)
        loop.run_once()
        done = tiers.journal[before:]
        for line in done:
            console.print(f"  brewhaus's loop: {line}")
        return "; ".join(line.split(" for ")[0] for line in done)

    console.rule("Match 1. Voltline and Brewhaus publish their ladders; Brewhaus proposes a match, Voltline accepts")
    volt_ladder = voltline.publish_tier_ladder(
        [Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("black_diamond", "Black Diamond")]
    )
    brew_ladder = brewhaus.publish_tier_ladder(
        [Tier("bronze", "Bronze"), Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("platinum", "Platinum")]
    )
    table = Table(title="The two ladders, lowest first")
    for column in ("brand", "tiers"):
        table.add_column(column)
    for ladder in (volt_ladder, brew_ladder):
        table.add_row(ladder.partner_id, " < ".join(t.name for t in ladder.tiers))
    console.print(table)
    terms = match_terms(clock)
    proposed = brewhaus.propose_match_agreement(terms)
    accepted = voltline.accept_match_agreement(proposed.agreement_id)
    mapping = ", ".join(f"voltline {a} -> brewhaus {r}" for a, r in accepted.terms.mapping)
    console.print(
        f"agreement {proposed.agreement_id} v{accepted.terms.version}: {mapping}; a match lasts "
        f"{terms.match_days} days, kept beyond 30 only with 5 visits; one per member every "
        f"{terms.period_days} days; Voltline's tier no older than {terms.max_tier_age_days} days"
    )
    checks.expect(
        "Brewhaus proposes the match terms and Voltline accepts",
        "PROPOSED -> ACTIVE",
        f"{proposed.status} -> {accepted.status}",
    )

    console.rule("Match 2. A member linked at both is Gold at Voltline; Brewhaus asks before they consent")
    code = voltline.create_link_code(VOLT_MEMBER)
    link = brewhaus.redeem_link_code(code.code, member_ref=BREW_MEMBER)
    now = clock.now()
    voltline.publish_member_tier(
        VOLT_MEMBER, tier_code="gold", reached_at=now - timedelta(days=10), holds_until=now + timedelta(days=300)
    )
    console.print(f"{VOLT_MEMBER} at Voltline is {BREW_MEMBER} at Brewhaus; Voltline publishes their tier: Gold")

    def ask() -> tuple[StatusMatch, object]:
        return brewhaus.request_status_match(BREW_MEMBER, counterparty_partner_id="voltline")

    checks.expect_outcome("Brewhaus requests a match before the member consents", "FAILED_PRECONDITION/NO_CONSENT", ask)

    console.rule("Match 3. The member consents at Voltline; Brewhaus matches them and checks the attestation offline")
    voltline.grant_consent(
        VOLT_MEMBER,
        source_partner_id="voltline",
        grantee_partner_id="brewhaus",
        attribute_keys=["status_tier"],
        purpose="STATUS_MATCH",
        expires_at=clock.now() + timedelta(days=365),
    )
    match, attestation = brewhaus.request_status_match(
        BREW_MEMBER, counterparty_partner_id="voltline", idempotency_key="brew-match-62"
    )
    life.append(("Brewhaus requests the match", match))
    console.print(
        f"match {match.match_id}: Voltline {match.attester_tier} -> Brewhaus {match.matched_tier}, {match.state}; "
        f"the challenge ends {_day(match.challenge_ends_at)}"
    )
    checks.expect(
        "the consenting Gold member is matched to Silver, under a 30-day challenge",
        f"ACTIVE gold -> silver until {_day(match.started_at + timedelta(days=30))}",
        f"{match.state} {match.attester_tier} -> {match.matched_tier} until {_day(match.challenge_ends_at)}",
    )
    if attestation is None:
        checks.expect("Brewhaus receives a tier attestation", "an attestation", "none")
    else:
        document = verify_tier_attestation(attestation, hub_key, recogniser_partner_id="brewhaus", now=clock.now())
        console.print(
            f"Brewhaus checks the attestation with the hub's key {attestation.hub_key_id}, without a call: "
            f"{document.pairwise_member_id} is {document.matched_tier} until {_day(document.valid_until)}"
        )
        checks.expect(
            "Brewhaus verifies the attestation offline",
            f"{link.pairwise_member_id} silver",
            f"{document.pairwise_member_id} {document.matched_tier}",
        )
    checks.expect("Brewhaus's loop receives the match", "TIER_MATCHED silver", recognise().split(" until ")[0])
    reads = [
        f"{r.reader_partner_id} read {', '.join(r.returned_keys)}"
        for r in voltline.list_access_log(VOLT_MEMBER)
        if r.purpose == "STATUS_MATCH"
    ]
    console.print(f"the member's access log at Voltline, for STATUS_MATCH: {'; '.join(reads)}")
    checks.expect("the member's access log shows Brewhaus's read", "brewhaus read status_tier", "; ".join(reads))
    checks.expect_outcome("a second match in the same year", "ALREADY_EXISTS/ALREADY_MATCHED", ask)

    console.rule("Match 4. Five visits: Brewhaus reports the challenge met and the match holds for 180 days")
    confirmed = brewhaus.report_challenge(match.match_id, met=True)
    life.append(("Brewhaus reports 5 visits", confirmed))
    checks.expect(
        "the challenge met confirms the match until 180 days after it started",
        f"CONFIRMED until {_day(match.started_at + timedelta(days=180))}",
        f"{confirmed.state} until {_day(confirmed.ends_at)}",
    )
    checks.expect(
        "Brewhaus's loop is told the new end",
        f"TIER_MATCHED silver until {_day(confirmed.ends_at)}",
        recognise(),
    )

    console.rule("Match 5. Voltline downgrades the member to Silver: the match ends")
    now = clock.now()
    ended = voltline.publish_member_tier(
        VOLT_MEMBER, tier_code="silver", reached_at=now, holds_until=now + timedelta(days=300)
    )
    final = brewhaus.get_status_match(match.match_id)
    life.append(("Voltline downgrades the member to Silver", final))
    checks.expect("the downgrade ends one match", "1 DOWNGRADED", f"{ended} {final.end_reason}")
    checks.expect("Brewhaus's loop is told it ended", "TIER_MATCH_ENDED DOWNGRADED", recognise())
    checks.expect_outcome(
        "Brewhaus asks for a fresh attestation of the ended match",
        "FAILED_PRECONDITION/MATCH_ENDED",
        lambda: brewhaus.get_tier_attestation(match.match_id),
    )
    table = Table(title=f"The life of match {match.match_id} ({VOLT_MEMBER} at Voltline, {BREW_MEMBER} at Brewhaus)")
    for column in ("event", "state", "tier: voltline's -> brewhaus's", "until"):
        table.add_column(column)
    for event, seen in life:
        state = f"{seen.state} {seen.end_reason}".strip()
        until = _day(seen.ended_at) + " (ended)" if seen.ended_at else _day(seen.ends_at)
        table.add_row(event, state, f"{seen.attester_tier} -> {seen.matched_tier}", until)
    console.print(table)
    recognised = ", ".join(tiers.recognised.values()) or "nobody"
    console.print(f"Brewhaus's tills recognised {BREW_MEMBER} as Silver, and now recognise: {recognised}")
    checks.expect("after the downgrade Brewhaus's tills recognise no matched tier", "nobody", recognised)
