"""Who may act on what: a brand that is not party, the operator on partner methods, a brand on operator methods.

One coalition (tests/fuzz/scenario.py) has one of every thing stride and voltline own together;
cadence is an active brand party to none of it. For every RPC that names such a thing, cadence
is refused (the hub hides others' things as NOT_FOUND; PERMISSION_DENIED where cadence names
itself as a party it is not). The operator is refused every partner-only method and a brand
every operator-only one, with CALLER_NOT_ALLOWED. Every refusal leaves every table but the
nonce store as it was, and the parties' own reads of the same things still succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    common_pb2,
    conversions_pb2,
    donations_pb2,
    instructions_pb2,
    members_pb2,
    operator_pb2,
    redemptions_pb2,
    settlement_pb2,
)
from exchange.api.registry_service import OPERATOR_METHODS, REGISTRY_METHODS
from exchange.service.pipeline import OPERATOR, PARTNERS, Command
from tests.e2e.test_signed_requests import snapshot
from tests.fuzz.scenario import OUTSIDER, SIGNED_METHOD_TABLES, World, build_world, module_hub

V1 = "/coalition.exchange.v1."
AGREEMENTS = V1 + "AgreementService/"
CONVERSIONS = V1 + "ConversionService/"
INSTRUCTIONS = V1 + "InstructionService/"
REDEMPTIONS = V1 + "RedemptionService/"
SETTLEMENT = V1 + "SettlementService/"
ACCRUALS = V1 + "AccrualService/"
DONATIONS = V1 + "DonationService/"
MEMBERS = V1 + "MemberService/"
OPERATOR_SERVICE = V1 + "OperatorService/"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One coalition for the module: every case here is a refusal or a read, so they share it."""
    tmp: Path = tmp_path_factory.mktemp("authorisation")
    for hub in module_hub(request.param, request, tmp):
        yield build_world(hub)


def _stamp(delta: timedelta) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(int((datetime.now(UTC) + delta).timestamp() * 1000))
    return stamp


def _ratio(numerator: int, denominator: int) -> common_pb2.Ratio:
    return common_pb2.Ratio(numerator=numerator, denominator=denominator)


def _conversion_terms(w: World) -> agreements_pb2.ProposeAgreementRequest:
    return agreements_pb2.ProposeAgreementRequest(
        terms=agreements_pb2.AgreementTerms(
            source_partner_id="stride",
            target_partner_id="voltline",
            version=2,
            rate=_ratio(3, 2),
            min_source_points=10,
            max_source_points=1000,
            source_increment=1,
            member_daily_cap_source_points=5000,
            fee_basis_points=100,
            valid_from=_stamp(-timedelta(hours=1)),
            valid_until=_stamp(timedelta(days=30)),
            settlement_price_minor=_ratio(1, 2),
            settlement_currency="GBP",
        ),
        proposer_signature=b"\x01" * 64,
    )


def _accrual_terms(w: World) -> accruals_pb2.ProposeAccrualAgreementRequest:
    return accruals_pb2.ProposeAccrualAgreementRequest(
        terms=accruals_pb2.AccrualTerms(
            awarder_partner_id="voltline",
            issuer_partner_id="stride",
            version=2,
            activity_types=["run_logged"],
            price_per_point_minor=_ratio(1, 4),
            settlement_currency="GBP",
            monthly_budget_points=1000,
            monthly_budget_minor=1000,
            member_daily_cap_points=100,
            valid_from=_stamp(-timedelta(hours=1)),
            valid_until=_stamp(timedelta(days=30)),
        ),
        proposer_signature=b"\x01" * 64,
    )


def _donation_terms(w: World) -> donations_pb2.ProposeDonationAgreementRequest:
    return donations_pb2.ProposeDonationAgreementRequest(
        terms=donations_pb2.DonationTerms(
            brand_partner_id="stride",
            charity_partner_id="oceans",
            version=2,
            value_per_point_minor=_ratio(1, 3),
            settlement_currency="GBP",
            valid_from=_stamp(-timedelta(hours=1)),
            valid_until=_stamp(timedelta(days=30)),
        ),
        proposer_signature=b"\x01" * 64,
    )


def _award(w: World) -> accruals_pb2.AwardPointsRequest:
    return accruals_pb2.AwardPointsRequest(
        items=[
            accruals_pb2.AwardItem(
                issuer_partner_id="stride",
                pairwise_member_id=w.ids["voltline_pairwise"],
                activity_type="run_logged",
                activity_reference="run-outsider",
                points=10,
                idempotency_key="k-outsider-award",
            )
        ]
    )


@dataclass(frozen=True)
class Case:
    """A call naming a thing of the parties: what cadence gets, and which party may read it (reads only)."""

    rpc: str
    build: Callable[[World], Message]
    code: str = "NOT_FOUND"
    reader: str | None = None  # a party whose same call succeeds: the thing is real, only cadence is refused


CASES: dict[str, Case] = {
    # agreements
    "get an agreement": Case(
        AGREEMENTS + "GetAgreement",
        lambda w: agreements_pb2.GetAgreementRequest(agreement_id=w.ids["agreement"]),
        reader="voltline",
    ),
    "accept a proposal made to another": Case(
        AGREEMENTS + "AcceptAgreement",
        lambda w: agreements_pb2.AcceptAgreementRequest(
            agreement_id=w.ids["proposed_agreement"], acceptor_signature=b"\x01" * 64
        ),
    ),
    "suspend an agreement": Case(
        AGREEMENTS + "SuspendAgreement",
        lambda w: agreements_pb2.SuspendAgreementRequest(agreement_id=w.ids["agreement"], reason="mine now"),
    ),
    "resume an agreement": Case(
        AGREEMENTS + "ResumeAgreement",
        lambda w: agreements_pb2.ResumeAgreementRequest(agreement_id=w.ids["agreement"]),
    ),
    "terminate an agreement": Case(
        AGREEMENTS + "TerminateAgreement",
        lambda w: agreements_pb2.TerminateAgreementRequest(agreement_id=w.ids["agreement"], reason="mine now"),
    ),
    "propose terms between two others": Case(
        AGREEMENTS + "ProposeAgreement", _conversion_terms, code="PERMISSION_DENIED"
    ),
    # conversions and their instructions
    "get a conversion": Case(
        CONVERSIONS + "GetConversion",
        lambda w: conversions_pb2.GetConversionRequest(conversion_id=w.ids["conversion"]),
        reader="stride",
    ),
    "convert on another's quote": Case(
        CONVERSIONS + "Convert",
        lambda w: conversions_pb2.ConvertRequest(
            quote_id=w.ids["quote"], source_member_ref="m-9", target_member_ref="v-9", idempotency_key="k-outsider-1"
        ),
    ),
    "reverse a conversion": Case(
        CONVERSIONS + "ReverseConversion",
        lambda w: conversions_pb2.ReverseConversionRequest(
            conversion_id=w.ids["conversion"], target_points=1, reason="mine now", idempotency_key="k-outsider-2"
        ),
    ),
    "acknowledge another's instruction": Case(
        INSTRUCTIONS + "AcknowledgeInstruction",
        lambda w: instructions_pb2.AcknowledgeInstructionRequest(
            instruction_id=w.ids["instruction"], partner_reference="mine now"
        ),
    ),
    "reject another's instruction": Case(
        INSTRUCTIONS + "RejectInstruction",
        lambda w: instructions_pb2.RejectInstructionRequest(instruction_id=w.ids["instruction"], reason="mine now"),
    ),
    # holds
    "get a hold": Case(
        REDEMPTIONS + "GetHold", lambda w: redemptions_pb2.GetHoldRequest(hold_id=w.ids["hold"]), reader="voltline"
    ),
    "capture a hold": Case(
        REDEMPTIONS + "CaptureHold",
        lambda w: redemptions_pb2.CaptureHoldRequest(
            hold_id=w.ids["hold"], source_points=1, target_reference="mine now", idempotency_key="k-outsider-3"
        ),
    ),
    "void a hold": Case(
        REDEMPTIONS + "VoidHold", lambda w: redemptions_pb2.VoidHoldRequest(hold_id=w.ids["hold"], reason="mine now")
    ),
    # statements, movements, payment instructions
    "get another's statement": Case(
        SETTLEMENT + "GetStatement",
        lambda w: settlement_pb2.GetStatementRequest(statement_id=w.ids["statement"]),
        reader="stride",
    ),
    "list another's statements": Case(
        SETTLEMENT + "ListStatements",
        lambda w: settlement_pb2.ListStatementsRequest(partner_id="stride"),
        code="PERMISSION_DENIED",
        reader="stride",
    ),
    "list another statement's movements": Case(
        SETTLEMENT + "ListStatementMovements",
        lambda w: settlement_pb2.ListStatementMovementsRequest(statement_id=w.ids["statement"]),
        reader="stride",
    ),
    "record a payment on another's instruction": Case(
        SETTLEMENT + "RecordPayment",
        lambda w: settlement_pb2.RecordPaymentRequest(
            instruction_id=w.ids["payment_instruction"],
            amount_minor=1,
            payment_reference="SEPA-X",
            idempotency_key="k-outsider-4",
        ),
    ),
    # reconciliations
    "add a part to another's reconciliation": Case(
        SETTLEMENT + "AddReconciliationPart",
        lambda w: settlement_pb2.AddReconciliationPartRequest(
            reconciliation_id=w.ids["reconciliation"], part_number=1, content=b"x\n"
        ),
    ),
    "finish another's reconciliation": Case(
        SETTLEMENT + "FinishReconciliation",
        lambda w: settlement_pb2.FinishReconciliationRequest(reconciliation_id=w.ids["reconciliation"]),
    ),
    "list another reconciliation's breaks": Case(
        SETTLEMENT + "ListReconciliationBreaks",
        lambda w: settlement_pb2.ListReconciliationBreaksRequest(reconciliation_id=w.ids["finished_reconciliation"]),
        reader="stride",
    ),
    # disputes
    "dispute a movement of others": Case(
        SETTLEMENT + "OpenDispute",
        lambda w: settlement_pb2.OpenDisputeRequest(
            movement_id=w.ids["conversion"], claimed_amount_minor=5, reason="nosy", idempotency_key="k-outsider-5"
        ),
    ),
    "get a dispute": Case(
        SETTLEMENT + "GetDispute",
        lambda w: settlement_pb2.GetDisputeRequest(dispute_id=w.ids["dispute"]),
        reader="stride",
    ),
    "respond to a dispute": Case(
        SETTLEMENT + "RespondToDispute",
        lambda w: settlement_pb2.RespondToDisputeRequest(dispute_id=w.ids["dispute"], accept=True, note="mine now"),
    ),
    # members, links and consents
    "unlink another's link": Case(
        MEMBERS + "Unlink", lambda w: members_pb2.UnlinkRequest(link_id=w.ids["link"], reason="mine now")
    ),
    "revoke a consent given at another": Case(
        MEMBERS + "RevokeConsent",
        lambda w: members_pb2.RevokeConsentRequest(member_ref="s-1", consent_id=w.ids["consent"]),
    ),
    "read attributes with another's pairwise id": Case(
        MEMBERS + "ReadAttributes",
        lambda w: members_pb2.ReadAttributesRequest(
            pairwise_member_id=w.ids["voltline_pairwise"],
            source_partner_id="stride",
            purpose=members_pb2.PURPOSE_PERSONALISED_OFFERS,
            attribute_keys=["shoe_size"],
        ),
        reader="voltline",
    ),
    "grant consent for a member not linked here": Case(
        MEMBERS + "GrantConsent",
        lambda w: members_pb2.GrantConsentRequest(
            member_ref="s-1",
            source_partner_id="stride",
            grantee_partner_id="voltline",
            attribute_keys=["shoe_size"],
            purpose=members_pb2.PURPOSE_PERSONALISED_OFFERS,
            expires_at=_stamp(timedelta(days=1)),
        ),
    ),
    # accruals
    "get an accrual agreement": Case(
        ACCRUALS + "GetAccrualAgreement",
        lambda w: accruals_pb2.GetAccrualAgreementRequest(agreement_id=w.ids["accrual_agreement"]),
        reader="stride",
    ),
    "accept an accrual agreement made to another": Case(
        ACCRUALS + "AcceptAccrualAgreement",
        lambda w: accruals_pb2.AcceptAccrualAgreementRequest(
            agreement_id=w.ids["accrual_agreement"], acceptor_signature=b"\x01" * 64
        ),
    ),
    "propose accrual terms between two others": Case(
        ACCRUALS + "ProposeAccrualAgreement", _accrual_terms, code="PERMISSION_DENIED"
    ),
    "get an award": Case(
        ACCRUALS + "GetAward", lambda w: accruals_pb2.GetAwardRequest(award_id=w.ids["award"]), reader="voltline"
    ),
    # donations
    "accept a donation agreement made to another": Case(
        DONATIONS + "AcceptDonationAgreement",
        lambda w: donations_pb2.AcceptDonationAgreementRequest(
            agreement_id=w.ids["donation_agreement"], acceptor_signature=b"\x01" * 64
        ),
    ),
    "propose donation terms between two others": Case(
        DONATIONS + "ProposeDonationAgreement", _donation_terms, code="PERMISSION_DENIED"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_brand_that_is_not_party_is_refused_and_nothing_changes(world: World, case: str) -> None:
    c = CASES[case]
    before = snapshot(world.hub)
    code, reason, _ = world.send_as(OUTSIDER, c.rpc, c.build(world))
    assert code == c.code, reason
    assert snapshot(world.hub) == before
    if c.reader is not None:
        assert world.send_as(c.reader, c.rpc, c.build(world))[0] == "OK"


def test_an_award_to_another_brands_pairwise_member_id_is_refused_item_by_item(world: World) -> None:
    def kept() -> dict[str, list[tuple[object, ...]]]:
        # The call itself succeeds (it answers per item), so it may be audited; nothing of the item is kept.
        return {table: rows for table, rows in snapshot(world.hub).items() if not table.startswith("audit")}

    def award() -> accruals_pb2.AwardResult:
        code, reason, answer = world.send_as(OUTSIDER, ACCRUALS + "AwardPoints", _award(world))
        assert code == "OK", reason  # AwardPoints answers per item
        (result,) = accruals_pb2.AwardPointsResponse.FromString(answer).results
        assert result.HasField("error") and not result.HasField("award")
        return result

    before = kept()
    refused = award()  # no accrual agreement between cadence and stride
    assert (refused.error.code, refused.error.reason) == ("FAILED_PRECONDITION", "NO_ACCRUAL_AGREEMENT")
    assert kept() == before
    # With an agreement of its own, cadence still can't reach a member through voltline's pairwise id.
    assert world.accrual_terms is not None
    proposed = world[OUTSIDER].propose_accrual_agreement(
        replace(world.accrual_terms, awarder_partner_id=OUTSIDER, version=1)
    )
    world["stride"].accept_accrual_agreement(proposed.agreement_id)
    before = kept()
    refused = award()
    assert (refused.error.code, refused.error.reason) == ("NOT_FOUND", "MEMBER_NOT_FOUND")
    assert kept() == before


LISTS: dict[str, tuple[str, Callable[[World], Message], str]] = {
    "agreements": (
        AGREEMENTS + "ListAgreements",
        lambda w: agreements_pb2.ListAgreementsRequest(counterparty_id="stride"),
        "agreements",
    ),
    "conversions": (
        CONVERSIONS + "ListConversions",
        lambda w: conversions_pb2.ListConversionsRequest(member_ref="m-1"),
        "conversions",
    ),
    "payment instructions": (
        SETTLEMENT + "ListPaymentInstructions",
        lambda w: settlement_pb2.ListPaymentInstructionsRequest(period_id=w.ids["period"]),
        "instructions",
    ),
    "disputes": (SETTLEMENT + "ListDisputes", lambda w: settlement_pb2.ListDisputesRequest(), "disputes"),
    "donations": (DONATIONS + "ListDonations", lambda w: donations_pb2.ListDonationsRequest(), "donations"),
    "links": (MEMBERS + "ListLinks", lambda w: members_pb2.ListLinksRequest(member_ref="s-1"), "links"),
    "consents": (MEMBERS + "ListConsents", lambda w: members_pb2.ListConsentsRequest(member_ref="s-1"), "consents"),
    "instructions": (
        INSTRUCTIONS + "PullInstructions",
        lambda w: instructions_pb2.PullInstructionsRequest(max_instructions=50, wait_seconds=0, lease_seconds=30),
        "instructions",
    ),
}


@pytest.mark.parametrize("kind", sorted(LISTS))
def test_a_brand_that_is_not_party_lists_none_of_the_parties_things(world: World, kind: str) -> None:
    rpc, build, field = LISTS[kind]
    code, reason, answer = world.send_as(OUTSIDER, rpc, build(world))
    if (code, reason) == ("NOT_FOUND", "MEMBER_NOT_FOUND"):
        return  # member references are each brand's own: cadence has no member "s-1"
    assert code == "OK", reason
    response_type = _response_type(rpc)
    assert list(getattr(response_type.FromString(answer), field)) == []


def _method(rpc: str) -> MethodDescriptor:
    _, service, name = rpc.split("/")
    return descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]


def _response_type(rpc: str) -> type[Message]:
    message_class: type[Message] = GetMessageClass(_method(rpc).output_type)
    return message_class


def _signed_methods() -> list[tuple[str, Command[Any]]]:
    return [
        (f"/{service}/{name}", method)
        for service, methods in SIGNED_METHOD_TABLES.items()
        for name, method in methods.items()
    ]


PARTNER_ONLY = sorted(rpc for rpc, method in _signed_methods() if method.callers == PARTNERS)
OPERATOR_ONLY = sorted(rpc for rpc, method in _signed_methods() if method.callers == OPERATOR)


def test_the_tables_cover_the_operator_and_partner_only_methods() -> None:
    assert len(PARTNER_ONLY) > 40
    assert set(OPERATOR_ONLY) == {
        OPERATOR_SERVICE + "ApprovePartner",
        OPERATOR_SERVICE + "SuspendPartner",
        OPERATOR_SERVICE + "ReinstatePartner",
        SETTLEMENT + "ClosePeriod",
        SETTLEMENT + "ResolveDispute",
    }
    assert {name for name, m in REGISTRY_METHODS.items() if m.callers == PARTNERS} == {"RotateKey", "RevokeKey"}
    assert set(OPERATOR_METHODS) <= {rpc.rsplit("/", 1)[1] for rpc in OPERATOR_ONLY}


def _request_of(rpc: str, w: World) -> Message:
    """The case's request where there is one, else an empty request of the method's type."""
    for case in CASES.values():
        if case.rpc == rpc:
            return case.build(w)
    message: Message = GetMessageClass(_method(rpc).input_type)()
    return message


@pytest.mark.parametrize("rpc", PARTNER_ONLY)
def test_the_operator_is_refused_every_partner_only_method(world: World, rpc: str) -> None:
    before = snapshot(world.hub)
    assert world.send_as("operator", rpc, _request_of(rpc, world))[:2] == ("PERMISSION_DENIED", "CALLER_NOT_ALLOWED")
    assert snapshot(world.hub) == before


OPERATOR_REQUESTS: dict[str, Callable[[World], Message]] = {
    OPERATOR_SERVICE + "ApprovePartner": lambda w: operator_pb2.ApprovePartnerRequest(partner_id=OUTSIDER),
    OPERATOR_SERVICE + "SuspendPartner": lambda w: operator_pb2.SuspendPartnerRequest(
        partner_id="voltline", reason="x"
    ),
    OPERATOR_SERVICE + "ReinstatePartner": lambda w: operator_pb2.ReinstatePartnerRequest(partner_id="voltline"),
    SETTLEMENT + "ClosePeriod": lambda w: settlement_pb2.ClosePeriodRequest(period_id="per-000002"),
    SETTLEMENT + "ResolveDispute": lambda w: settlement_pb2.ResolveDisputeRequest(
        dispute_id=w.ids["dispute"], awarded_amount_minor=5, note="brand decides"
    ),
}


@pytest.mark.parametrize("signer", ["stride", "voltline", OUTSIDER])
@pytest.mark.parametrize("rpc", OPERATOR_ONLY)
def test_a_brand_is_refused_every_operator_only_method(world: World, rpc: str, signer: str) -> None:
    before = snapshot(world.hub)
    request = OPERATOR_REQUESTS[rpc](world)
    assert world.send_as(signer, rpc, request)[:2] == ("PERMISSION_DENIED", "CALLER_NOT_ALLOWED")
    assert snapshot(world.hub) == before
