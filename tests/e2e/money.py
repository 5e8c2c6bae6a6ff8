"""Helpers for money-path tests: a coalition of two partners with an accepted agreement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from partner_sdk import Agreement, AgreementTerms, ExchangeClient, Instruction
from partner_sdk.testing import default_terms
from tests.conftest import RunningHub


def terms(source: str = "stride", target: str = "voltline", **changes: object) -> AgreementTerms:
    """The SDK's test terms (3/2, a 1% fee, 30 days), settled in GBP, changed by changes."""
    currency = str(changes.pop("settlement_currency", "GBP"))
    return default_terms(source, target, settlement_currency=currency, now=datetime.now(UTC), **changes)


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
