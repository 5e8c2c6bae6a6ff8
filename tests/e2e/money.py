"""Helpers for money-path tests: a coalition of two partners with an accepted agreement."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from partner_sdk import Agreement, AgreementTerms, ExchangeClient, Instruction
from tests.conftest import RunningHub


def terms(source: str = "stride", target: str = "voltline", **changes: object) -> AgreementTerms:
    now = datetime.now(UTC)
    base = AgreementTerms(
        source_partner_id=source,
        target_partner_id=target,
        version=1,
        rate=Fraction(3, 2),
        min_source_points=10,
        max_source_points=100_000,
        source_increment=1,
        member_daily_cap_source_points=50_000,
        fee_basis_points=100,
        fee_fixed_points=None,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
        settlement_price_minor=Fraction(1, 2),
        settlement_currency="GBP",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Pair:
    """Stride (source, EUR) and Voltline (target, GBP) with an accepted agreement."""

    hub: RunningHub
    source: ExchangeClient
    target: ExchangeClient
    agreement: Agreement

    def convert(self, points: int, member: str = "m-1", target_member: str = "v-1", key: str | None = None):  # type: ignore[no-untyped-def]
        quote = self.source.quote_conversion("voltline", points)
        return self.source.convert(
            quote.quote_id, source_member_ref=member, target_member_ref=target_member, idempotency_key=key
        )

    def only_instruction(self, client: ExchangeClient) -> Instruction:
        pulled = client.pull_instructions(wait_s=0)
        assert len(pulled) == 1, pulled
        return pulled[0]


def accepted_pair(hub: RunningHub, **term_changes: object) -> Pair:
    source, _ = hub.active_partner("stride", currency="EUR")
    target, _ = hub.active_partner("voltline", currency="GBP")
    proposed = source.propose_agreement(terms(**term_changes))
    return Pair(hub, source, target, target.accept_agreement(proposed.agreement_id))
