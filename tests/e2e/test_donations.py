"""Giving: a member donates a brand's points to a charity partner, with a receipt the hub signs."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from partner_sdk import (
    ExchangeClient,
    FailedPreconditionError,
    InvalidArgumentError,
    generate_private_key,
)
from partner_sdk.donations import DonationTerms, verify_receipt
from partner_sdk.errors import ReceiptVerificationError
from partner_sdk.settlement import verify_statement
from tests.conftest import RunningHub
from tests.e2e.money import terms as conversion_terms


def donation_terms(**changes: object) -> DonationTerms:
    now = datetime.now(UTC)
    base = DonationTerms(
        brand_partner_id="stride",
        charity_partner_id="oceans",
        version=1,
        value_per_point_minor=Fraction(1, 3),
        settlement_currency="EUR",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=365),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Giving:
    hub: RunningHub
    stride: ExchangeClient
    charity: ExchangeClient


def _charity(hub: RunningHub) -> ExchangeClient:
    client = hub.client("oceans", generate_private_key())
    registered = client.register(
        display_name="Clean Oceans Trust",
        point_currency="",
        settlement_currency="EUR",
        point_value_minor=1,
        charity=True,
    )
    assert (registered.kind, registered.point_currency) == ("CHARITY", "")
    hub.operator().approve("oceans")
    return client


@pytest.fixture
def giving(hub: RunningHub) -> Giving:
    stride, _ = hub.active_partner("stride", currency="EUR")
    charity = _charity(hub)
    terms = donation_terms()
    proposed = stride.propose_donation_agreement(terms)
    accepted = charity.accept_donation_agreement(proposed.agreement_id, terms)
    assert (proposed.status, accepted.status) == ("PROPOSED", "ACTIVE")
    return Giving(hub, stride, charity)


def test_a_donation_comes_with_a_signed_receipt_and_settles_as_money_owed_to_the_charity(giving: Giving) -> None:
    donation = giving.stride.donate("oceans", member_ref="stride-member-1", points=1000)
    assert (donation.points, donation.amount_minor, donation.currency) == (1000, 333, "EUR")
    assert verify_receipt(donation, giving.hub.hub_public_key) == donation.receipt
    receipt = json.loads(donation.receipt)
    assert (receipt["charity_partner_id"], receipt["points"], receipt["amount_minor"]) == ("oceans", 1000, 333)
    assert receipt["identity_shared_with_charity"] is False and "stride-member-1" not in donation.receipt.decode()
    tampered = replace(donation, receipt=donation.receipt.replace(b"1000", b"9000"))
    with pytest.raises(ReceiptVerificationError) as refused:
        verify_receipt(tampered, giving.hub.hub_public_key)
    assert refused.value.reason == "BAD_SIGNATURE"
    operator = giving.hub.operator()
    closed, _, _ = operator.close_period(operator.get_period().period_id)
    statement = giving.charity.get_statement(f"stm-{closed.period_id[4:]}-oceans")
    doc = verify_statement(statement, giving.hub.hub_public_key)
    (line,) = doc.counterparties
    assert (line.counterparty, line.money_receivable_minor) == ("stride", 333)
    (movement,) = giving.charity.iter_statement_movements(statement.statement_id)
    assert (movement.kind, movement.source_points, movement.amount_minor) == ("DONATION", 1000, 333)


def test_the_charity_sees_who_donated_only_when_the_member_shared_it(giving: Giving) -> None:
    giving.stride.donate("oceans", member_ref="stride-member-1", points=10)
    giving.stride.donate("oceans", member_ref="stride-member-2", points=20, share_identity_with_charity=True)
    seen = {d.points: d for d in giving.charity.list_donations().items}
    assert seen[10].donor_pairwise_id == "" and seen[10].member_ref == "" and seen[10].receipt == b""
    assert seen[20].donor_pairwise_id != "" and seen[20].member_ref == ""
    mine = {d.points: d for d in giving.stride.list_donations().items}
    assert mine[20].member_ref == "stride-member-2" and mine[20].donor_pairwise_id == ""
    giving.stride.erase_member("stride-member-2")
    after = {d.points: d for d in giving.charity.list_donations().items}
    assert after[20].donor_pairwise_id == ""  # erased: the charity can no longer tell who it was


def test_bad_donations_are_refused_precisely(giving: Giving, hub: RunningHub) -> None:
    voltline, _ = hub.active_partner("voltline", currency="EUR")
    with pytest.raises(FailedPreconditionError) as not_charity:
        giving.stride.donate("voltline", member_ref="m-1", points=10)
    assert not_charity.value.reason == "NOT_A_CHARITY"
    with pytest.raises(FailedPreconditionError) as no_agreement:
        voltline.donate("oceans", member_ref="v-1", points=10)
    assert no_agreement.value.reason == "NO_DONATION_AGREEMENT"
    with pytest.raises(InvalidArgumentError):
        giving.stride.donate("oceans", member_ref="m-1", points=0)
    with pytest.raises(FailedPreconditionError) as charity_donates:
        giving.charity.donate("oceans", member_ref="m-1", points=10)
    assert charity_donates.value.reason == "NOT_A_BRAND"
    with pytest.raises(InvalidArgumentError):
        hub.client("badcharity", generate_private_key()).register(
            display_name="Bad", point_currency="BADP", settlement_currency="EUR", point_value_minor=1, charity=True
        )
    with pytest.raises(FailedPreconditionError) as convert_to_charity:
        giving.stride.propose_agreement(conversion_terms("stride", "oceans"))
    assert convert_to_charity.value.reason == "NOT_A_BRAND"
    assert giving.stride.list_donations().items == ()


def test_a_donation_resent_with_its_key_happens_once(giving: Giving) -> None:
    first = giving.stride.donate("oceans", member_ref="m-1", points=30, idempotency_key="donation-0001")
    again = giving.stride.donate("oceans", member_ref="m-1", points=30, idempotency_key="donation-0001")
    assert first.donation_id == again.donation_id
    assert len(giving.stride.list_donations().items) == 1
