"""Voltline (the attester) and Brewhaus (the recogniser) of the status match tests: their terms and shorthand.

Voltline gold is matched to Brewhaus silver and black diamond to gold, for 180 days, at most one
match per member a year, from a tier Voltline published within 30 days; with the challenge,
Brewhaus keeps the matched tier beyond 30 days only if the member makes 5 visits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import sqlalchemy

from partner_sdk import ExchangeClient
from partner_sdk.status_match import Challenge, MatchTerms
from tests.conftest import RunningHub

DAY_MS = 86_400_000
GOLD_HELD_DAYS = 100  # less than a match lasts (180 days): a lapse comes first


def match_terms(hub: RunningHub, **changes: object) -> MatchTerms:
    now = hub.clock.now()
    terms = MatchTerms(
        recogniser_partner_id="brewhaus",
        attester_partner_id="voltline",
        version=1,
        mapping=(("gold", "silver"), ("black_diamond", "gold")),
        challenge=Challenge(days=30, activity="visits", target=5),
        match_days=180,
        period_days=365,
        max_tier_age_days=30,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=400),
    )
    return replace(terms, **changes)  # type: ignore[arg-type]


@dataclass
class Pair:
    hub: RunningHub
    voltline: ExchangeClient
    brewhaus: ExchangeClient

    def member(self, ref: str, tier: str = "gold", *, consent: bool = True) -> str:
        """A Voltline member (ref) linked at Brewhaus (b-ref) at tier there, consenting; returns the link id."""
        code = self.voltline.create_link_code(ref)
        link = self.brewhaus.redeem_link_code(code.code, member_ref=f"b-{ref}")
        now = self.hub.clock.now()
        self.voltline.publish_member_tier(
            ref, tier_code=tier, reached_at=now - timedelta(days=10), holds_until=now + timedelta(days=GOLD_HELD_DAYS)
        )
        if consent:
            self.consent(ref)
        return link.link_id

    def consent(self, ref: str) -> str:
        return self.voltline.grant_consent(
            ref,
            source_partner_id="voltline",
            grantee_partner_id="brewhaus",
            attribute_keys=["status_tier"],
            purpose="STATUS_MATCH",
            expires_at=self.hub.clock.now() + timedelta(days=365),
        ).consent_id

    def ended(self) -> list[tuple[str, str]]:
        """What Brewhaus is told now (each acknowledged, as its loop would): (kind, reason)."""
        told = self.brewhaus.pull_instructions(wait_s=0)
        for instruction in told:
            self.brewhaus.acknowledge_instruction(instruction.instruction_id, partner_reference="seen")
        return [(i.kind, i.reason) for i in told]

    def count(self, table: sqlalchemy.Table) -> int:
        with self.hub.database.engine.connect() as connection:
            return int(connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)).scalar_one())
