"""Earning and giving in `coalition demo`: a fitness app awards sports-brand points, a member donates.

Pacer (a running app) and Stride (the sports brand) sign an accrual agreement; a member who
linked the two accounts logs a run in Pacer and earns Stride points, which Stride credits through
its instruction stream. A bulk award carries one bad item, which fails alone. Then a Stride
member donates points to the Clean Oceans Trust, a charity partner, and gets a receipt the hub
signed. The settlement story that follows shows all of it in the statements.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from partner_sdk import ExchangeClient, OperatorClient, ReceiptVerificationError, generate_private_key
from partner_sdk.accruals import AccrualTerms, AwardItem, AwardResult
from partner_sdk.donations import DonationTerms, verify_receipt

if TYPE_CHECKING:
    from exchange.cli.demo import Checks

MEMBER_AT_STRIDE = "stride-member-2210"
MEMBER_AT_PACER = "pacer-runner-58"


def _results_table(results: list[AwardResult], items: list[AwardItem]) -> Table:
    table = Table(title="Pacer's bulk award: one result per item")
    for column in ("activity", "reference", "points", "outcome", "owed to Stride"):
        table.add_column(column)
    for item, result in zip(items, results, strict=True):
        outcome = result.award.state if result.award else f"{result.error_code}/{result.error_reason}"
        owed = f"{result.award.settlement_amount_minor} minor EUR" if result.award else "—"
        table.add_row(item.activity_type, item.activity_reference, f"{item.points:,}", outcome, owed)
    return table


def _join(
    target: str, hub_key: bytes, operator: OperatorClient, partner_id: str, **registration: object
) -> ExchangeClient:
    client = ExchangeClient(
        target, partner_id=partner_id, key_id="k1", private_key=generate_private_key(), hub_public_key=hub_key
    )
    client.transport.clock_ms = operator.transport.clock_ms
    client.register(**registration)  # type: ignore[arg-type]
    operator.approve(partner_id)
    return client


def _credit_awards(stride: ExchangeClient) -> int:
    credited = 0
    for instruction in stride.pull_instructions(wait_s=0):
        if instruction.award_id:
            stride.acknowledge_instruction(instruction.instruction_id, partner_reference=f"stride-credit-{credited}")
            credited += 1
    return credited


def tell_earning_story(
    target: str,
    hub_key: bytes,
    operator: OperatorClient,
    clients: dict[str, ExchangeClient],
    checks: Checks,
    console: Console,
) -> None:
    """Accrual (single and bulk) and a donation, before the period closes."""
    console.rule("Earning 1. Pacer, a running app, joins and signs an accrual agreement with Stride")
    pacer = _join(
        target,
        hub_key,
        operator,
        "pacer",
        display_name="Pacer Running",
        point_currency="PACE",
        settlement_currency="EUR",
        point_value_minor=1,
    )
    stride = clients["stride"]
    code = stride.create_link_code(MEMBER_AT_STRIDE)
    link = pacer.redeem_link_code(code.code, member_ref=MEMBER_AT_PACER)
    now = datetime.fromtimestamp(operator.transport.clock_ms() / 1000, UTC)
    terms = AccrualTerms(
        awarder_partner_id="pacer",
        issuer_partner_id="stride",
        version=1,
        activity_types=("run_logged", "streak_7_days"),
        price_per_point_minor=Fraction(1, 2),
        settlement_currency="EUR",
        monthly_budget_points=50_000,
        monthly_budget_minor=25_000,
        member_daily_cap_points=2_000,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=365),
    )
    accepted = stride.accept_accrual_agreement(pacer.propose_accrual_agreement(terms).agreement_id)
    console.print(
        f"accrual agreement {accepted.agreement_id} {accepted.status}: Pacer awards Stride points for "
        f"{', '.join(accepted.terms.activity_types)} at {accepted.terms.price_per_point_minor} minor EUR a point"
    )

    console.rule("Earning 2. The member logs a 10 km run in Pacer and earns 500 Stride points")
    run = pacer.award(AwardItem("stride", link.pairwise_member_id, "run_logged", "run-2026-11-23-10k", 500))
    credited = _credit_awards(stride)
    award = pacer.get_award(run.award.award_id) if run.award else None
    console.print(
        f"award {award.award_id if award else '—'}: {award.state if award else run.error_reason}; "
        f"Stride credited {credited} instruction(s) to {MEMBER_AT_STRIDE}; Pacer owes "
        f"{award.settlement_amount_minor if award else 0} minor EUR"
    )
    checks.expect(
        "Stride credits the points Pacer awarded",
        "COMPLETED 250",
        f"{award.state} {award.settlement_amount_minor}" if award else "none",
    )

    console.rule("Earning 3. A bulk award with one bad item")
    items = [
        AwardItem("stride", link.pairwise_member_id, "run_logged", "run-2026-11-23-5k", 250),
        AwardItem("stride", link.pairwise_member_id, "swim_logged", "swim-2026-11-23", 300),
        AwardItem("stride", link.pairwise_member_id, "streak_7_days", "streak-47", 400),
    ]
    results = pacer.award_points(items)
    console.print(_results_table(results, items))
    checks.expect(
        "the bulk award fails only its bad item",
        "ok, INVALID_ARGUMENT/UNKNOWN_ACTIVITY_TYPE, ok",
        ", ".join("ok" if r.ok else f"{r.error_code}/{r.error_reason}" for r in results),
    )
    _credit_awards(stride)

    console.rule("Earning 4. A Stride member donates 3,000 points to the Clean Oceans Trust")
    oceans = _join(
        target,
        hub_key,
        operator,
        "oceans",
        display_name="Clean Oceans Trust",
        point_currency="",
        settlement_currency="EUR",
        point_value_minor=1,
        charity=True,
    )
    gift = DonationTerms(
        "stride", "oceans", 1, Fraction(1, 4), "EUR", now - timedelta(minutes=1), now + timedelta(days=365)
    )
    oceans.accept_donation_agreement(stride.propose_donation_agreement(gift).agreement_id, gift)
    donation = stride.donate("oceans", member_ref=MEMBER_AT_STRIDE, points=3_000, share_identity_with_charity=False)
    receipt = json.loads(donation.receipt)
    console.print(f"receipt (signed by the hub, {len(donation.receipt_signature)}-byte signature): {receipt}")
    try:
        verify_receipt(donation, hub_key)
        verdict = "verified"
    except ReceiptVerificationError as error:
        verdict = f"NOT verified ({error.reason})"
    checks.expect(
        "the donation receipt carries the hub's signature",
        "verified, 750 minor EUR",
        f"{verdict}, {donation.amount_minor} minor EUR",
    )
    seen = oceans.list_donations().items[0]
    checks.expect(
        "the charity sees the donation but not the donor (not shared)",
        "3000 points, donor hidden",
        f"{seen.points} points, donor {'hidden' if not seen.donor_pairwise_id and not seen.member_ref else 'shown'}",
    )
    checks.expect_outcome(
        "Stride donates to a partner that is not a charity",
        "FAILED_PRECONDITION/NOT_A_CHARITY",
        lambda: stride.donate("voltline", member_ref=MEMBER_AT_STRIDE, points=10),
    )
    clients["pacer"] = pacer
    clients["oceans"] = oceans
