"""One small coalition with one of every thing brands own, for the fuzzer and the authorisation matrix.

Two parties, stride and voltline (both GBP), do business with each other; cadence is an
active brand that is party to none of it, and oceans is a charity. Made through the SDK:

- an ACTIVE conversion agreement stride -> voltline, and a PROPOSED one (not yet accepted);
- a completed conversion (settled in the closed period) and one pending credit, whose credit
  instruction voltline has not acknowledged;
- an OPEN hold stride -> voltline;
- a closed period with one signed statement per brand and a payment instruction stride -> voltline;
- an unfinished reconciliation (stride), a finished one with breaks, and an OPEN dispute (voltline
  against stride);
- a member linked at stride (s-1) and voltline (v-1), a declared and published attribute, and a
  consent the member gave at stride for voltline to read it;
- an ACTIVE accrual agreement (voltline awards stride's points) and one award;
- an ACTIVE donation agreement stride -> oceans and one donation.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from google.protobuf.message import Message

from coalition.exchange.v1 import settlement_pb2
from exchange.api.accrual_service import ACCRUAL_METHODS
from exchange.api.agreement_service import AGREEMENT_METHODS
from exchange.api.conversion_service import CONVERSION_METHODS, INSTRUCTION_METHODS
from exchange.api.dispatch import SignedMethods
from exchange.api.donation_service import DONATION_METHODS
from exchange.api.member_service import MEMBER_METHODS
from exchange.api.membership_service import MEMBERSHIP_METHODS
from exchange.api.redemption_service import REDEMPTION_METHODS
from exchange.api.registry_service import OPERATOR_METHODS, REGISTRY_METHODS
from exchange.api.settlement_service import SETTLEMENT_METHODS
from exchange.api.status_match_service import STATUS_MATCH_METHODS
from exchange.api.voucher_service import VOUCHER_METHODS
from exchange.store import migrate
from exchange.store.database import Database
from partner_sdk import ExchangeClient, OperatorClient, generate_private_key, public_key_bytes
from partner_sdk.accruals import AccrualTerms, AwardItem
from partner_sdk.donations import DonationTerms
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.operator import operator_key_id
from partner_sdk.settlement_csv import write_movements_csv
from tests.conftest import RunningHub, _empty_all_tables, _running_hub
from tests.e2e.money import terms
from tests.e2e.test_signed_requests import send, sign

PARTIES = ("stride", "voltline")
OUTSIDER = "cadence"
CHARITY = "oceans"
CURRENCY = "GBP"
SETTLEMENT = "/coalition.exchange.v1.SettlementService/"

# Who may call each method, from the hub's own method tables (a new table must be added here:
# tests/fuzz/test_fuzz_rpcs.py::test_the_fuzzer_covers_every_signed_rpc fails until it is).
SIGNED_METHOD_TABLES: dict[str, SignedMethods] = {
    "coalition.exchange.v1.RegistryService": REGISTRY_METHODS,
    "coalition.exchange.v1.OperatorService": OPERATOR_METHODS,
    "coalition.exchange.v1.AgreementService": AGREEMENT_METHODS,
    "coalition.exchange.v1.ConversionService": CONVERSION_METHODS,
    "coalition.exchange.v1.InstructionService": INSTRUCTION_METHODS,
    "coalition.exchange.v1.RedemptionService": REDEMPTION_METHODS,
    "coalition.exchange.v1.SettlementService": SETTLEMENT_METHODS,
    "coalition.exchange.v1.AccrualService": ACCRUAL_METHODS,
    "coalition.exchange.v1.DonationService": DONATION_METHODS,
    "coalition.exchange.v1.MemberService": MEMBER_METHODS,
    "coalition.exchange.v1.MembershipService": MEMBERSHIP_METHODS,
    "coalition.exchange.v1.StatusMatchService": STATUS_MATCH_METHODS,
    "coalition.exchange.v1.VoucherService": VOUCHER_METHODS,
}
CALLERS = {
    f"/{service}/{name}": method.callers
    for service, methods in SIGNED_METHOD_TABLES.items()
    for name, method in methods.items()
}


@dataclass
class World:
    """The coalition, its clients and keys, and the id of each thing made."""

    hub: RunningHub
    operator: OperatorClient
    clients: dict[str, ExchangeClient]
    keys: dict[str, Ed25519PrivateKey]
    ids: dict[str, str] = field(default_factory=dict)
    accrual_terms: AccrualTerms | None = None  # what voltline and stride signed

    def __getitem__(self, name: str) -> ExchangeClient:
        return self.clients[name]

    def send_as(self, principal: str, rpc: str, request: Message) -> tuple[str, str, bytes]:
        """Sign request as principal (a partner's k1, or the operator) and send its bytes raw."""
        hub = self.hub
        if principal == "operator":
            key, key_id = hub.operator_key, operator_key_id(public_key_bytes(hub.operator_key))
        else:
            key, key_id = self.keys[principal], "k1"
        return send(hub, sign(key, rpc, request, principal, key_id, hub.clock.now_ms()))


def module_hub(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningHub]:
    """A hub for a whole module on a fresh database of one dialect; stopped and checked as conftest's hub is."""
    if dialect == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'exchange.sqlite3'}")
        migrate.upgrade(database)
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        _empty_all_tables(database)
    yield from _running_hub(database)  # stops the hub, then checks the ledger invariants
    database.dispose()


def _charity(hub: RunningHub) -> tuple[ExchangeClient, Ed25519PrivateKey]:
    key = generate_private_key()
    client = hub.client(CHARITY, key)
    client.register(
        display_name="Clean Oceans Trust",
        point_currency="",
        settlement_currency=CURRENCY,
        point_value_minor=1,
        charity=True,
    )
    hub.operator().approve(CHARITY)
    return client, key


def build_world(hub: RunningHub) -> World:
    """Create the coalition and one of every thing; return the ids by kind."""
    clients: dict[str, ExchangeClient] = {}
    keys: dict[str, Ed25519PrivateKey] = {}
    for name in (*PARTIES, OUTSIDER):
        clients[name], keys[name] = hub.active_partner(name, currency=CURRENCY)
    clients[CHARITY], keys[CHARITY] = _charity(hub)
    world = World(hub, hub.operator(), clients, keys)
    stride, voltline, ids = clients["stride"], clients["voltline"], world.ids
    now = datetime.now(UTC)

    proposed = stride.propose_agreement(terms("stride", "voltline"))
    ids["agreement"] = voltline.accept_agreement(proposed.agreement_id).agreement_id
    ids["proposed_agreement"] = voltline.propose_agreement(terms("voltline", "stride")).agreement_id

    # A completed conversion: its movement lands in the period closed below.
    quote = stride.quote_conversion("voltline", 1000)
    done = stride.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="v-1")
    ids["conversion"] = done.conversion_id
    for instruction in voltline.pull_instructions(wait_s=0):
        voltline.acknowledge_instruction(instruction.instruction_id, partner_reference="credited")

    closed, _, _ = world.operator.close_period(world.operator.get_period().period_id)
    ids["period"] = closed.period_id
    ids["statement"] = f"stm-{closed.period_id[4:]}-stride"
    ids["voltline_statement"] = f"stm-{closed.period_id[4:]}-voltline"
    (payment,) = stride.list_payment_instructions(period_id=closed.period_id).items
    ids["payment_instruction"] = payment.instruction_id

    # A conversion pending credit, whose credit instruction voltline holds but has not answered.
    quote = stride.quote_conversion("voltline", 500)
    ids["pending_conversion"] = stride.convert(
        quote.quote_id, source_member_ref="m-2", target_member_ref="v-2"
    ).conversion_id
    ids["quote"] = stride.quote_conversion("voltline", 300).quote_id
    (credit,) = voltline.pull_instructions(wait_s=0, lease_s=5)
    ids["instruction"] = credit.instruction_id
    ids["hold"] = stride.authorize_hold("voltline", 400, source_member_ref="m-3").hold_id

    ids["dispute"] = voltline.open_dispute(
        movement_id=done.conversion_id, claimed_amount_minor=5, reason="rate was higher"
    ).dispute_id
    # A finished reconciliation with one break (a movement the brand's books miss), and an unfinished one.
    books = io.StringIO()
    write_movements_csv(books, period_id=closed.period_id, partner_id="stride", statement_id="", movements=[])
    ids["finished_reconciliation"] = stride.reconcile(closed.period_id, books.getvalue().splitlines()).reconciliation_id
    ids["reconciliation"] = stride.transport.call(
        SETTLEMENT + "StartReconciliation",
        settlement_pb2.StartReconciliationRequest(period_id=closed.period_id),
        settlement_pb2.StartReconciliationResponse,
    ).reconciliation_id

    # A member linked at both parties, an attribute stride publishes, a consent for voltline.
    code = stride.create_link_code("s-1")
    link = voltline.redeem_link_code(code.code, member_ref="v-1")
    ids["link"] = link.link_id
    ids["voltline_pairwise"] = link.pairwise_member_id
    ids["stride_pairwise"] = code.pairwise_member_id
    stride.declare_attribute("shoe_size", type="INTEGER", description="EU shoe size")
    stride.publish_attributes("s-1", {"shoe_size": 43})
    ids["consent"] = stride.grant_consent(
        "s-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size"],
        purpose="PERSONALISED_OFFERS",
        expires_at=now + timedelta(days=1),
    ).consent_id

    world.accrual_terms = AccrualTerms(
        awarder_partner_id="voltline",
        issuer_partner_id="stride",
        version=1,
        activity_types=("run_logged",),
        price_per_point_minor=Fraction(1, 4),
        settlement_currency=CURRENCY,
        monthly_budget_points=100_000,
        monthly_budget_minor=1_000_000,
        member_daily_cap_points=50_000,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
    )
    accrual = voltline.propose_accrual_agreement(world.accrual_terms)
    ids["accrual_agreement"] = stride.accept_accrual_agreement(accrual.agreement_id).agreement_id
    award = voltline.award(AwardItem("stride", link.pairwise_member_id, "run_logged", "run-1", 40))
    assert award.award is not None, award
    ids["award"] = award.award.award_id

    donation_terms = DonationTerms(
        brand_partner_id="stride",
        charity_partner_id=CHARITY,
        version=1,
        value_per_point_minor=Fraction(1, 3),
        settlement_currency=CURRENCY,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=365),
    )
    donation_agreement = stride.propose_donation_agreement(donation_terms)
    ids["donation_agreement"] = (
        clients[CHARITY].accept_donation_agreement(donation_agreement.agreement_id, donation_terms).agreement_id
    )
    ids["donation"] = stride.donate(CHARITY, member_ref="s-1", points=30).donation_id
    return world
