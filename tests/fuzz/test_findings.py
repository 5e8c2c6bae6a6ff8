"""The fuzzer's findings, end to end: each request once answered INTERNAL (or unreadably) and now is refused cleanly.

Raw signed calls to a running hub on both databases; each refusal changes nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    common_pb2,
    conversions_pb2,
    donations_pb2,
    members_pb2,
    registry_pb2,
    settlement_pb2,
)
from exchange.domain.errors import MAX_MESSAGE_BYTES
from exchange.service.paging import encode_cursor, encode_key_cursor
from partner_sdk import NotFoundError
from tests.e2e.test_signed_requests import snapshot
from tests.fuzz.scenario import World, build_world, module_hub

V1 = "/coalition.exchange.v1."
YEAR_10000_S = 253_402_300_800  # one second past what protobuf converts


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("findings")
    for hub in module_hub(request.param, request, tmp):
        yield build_world(hub)


def _ms(delta: timedelta) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(int((datetime.now(UTC) + delta).timestamp() * 1000))
    return stamp


BEYOND = Timestamp(seconds=YEAR_10000_S)
NEGATIVE_NANOS = Timestamp(seconds=1, nanos=-1)
RATIO = common_pb2.Ratio(numerator=1, denominator=2)

BAD_TIMES: dict[str, tuple[str, str, Callable[[World], Message], str]] = {
    # name: (signer, rpc, request, the field named)
    "conversions listed from year 10000": (
        "stride",
        V1 + "ConversionService/ListConversions",
        lambda w: conversions_pb2.ListConversionsRequest(created_from=BEYOND),
        "created_from",
    ),
    "conversions listed before a negative nano": (
        "stride",
        V1 + "ConversionService/ListConversions",
        lambda w: conversions_pb2.ListConversionsRequest(created_before=NEGATIVE_NANOS),
        "created_before",
    ),
    "a period closed at year 10000": (
        "operator",
        V1 + "SettlementService/ClosePeriod",
        lambda w: settlement_pb2.ClosePeriodRequest(period_id="per-000002", cutoff=BEYOND),
        "cutoff",
    ),
    "a consent until year 10000": (
        "stride",
        V1 + "MemberService/GrantConsent",
        lambda w: members_pb2.GrantConsentRequest(
            member_ref="s-1",
            source_partner_id="stride",
            grantee_partner_id="voltline",
            attribute_keys=["shoe_size"],
            purpose=members_pb2.PURPOSE_SERVICE,
            expires_at=BEYOND,
        ),
        "expires_at",
    ),
    "an old key kept until year 10000": (
        "stride",
        V1 + "RegistryService/RotateKey",
        lambda w: registry_pb2.RotateKeyRequest(
            new_key=common_pb2.PublicKey(key_id="k2", public_key=b"\x01" * 32), previous_key_not_after=BEYOND
        ),
        "previous_key_not_after",
    ),
    "an agreement until year 10000": (
        "stride",
        V1 + "AgreementService/ProposeAgreement",
        lambda w: agreements_pb2.ProposeAgreementRequest(
            terms=agreements_pb2.AgreementTerms(
                source_partner_id="stride",
                target_partner_id="voltline",
                version=2,
                rate=RATIO,
                settlement_price_minor=RATIO,
                valid_from=_ms(timedelta()),
                valid_until=BEYOND,
            )
        ),
        "terms.valid_until",
    ),
    "an accrual agreement until year 10000": (
        "voltline",
        V1 + "AccrualService/ProposeAccrualAgreement",
        lambda w: accruals_pb2.ProposeAccrualAgreementRequest(
            terms=accruals_pb2.AccrualTerms(
                price_per_point_minor=RATIO, valid_from=_ms(timedelta()), valid_until=BEYOND
            )
        ),
        "terms.valid_until",
    ),
    "a donation agreement from before year 1": (
        "stride",
        V1 + "DonationService/ProposeDonationAgreement",
        lambda w: donations_pb2.ProposeDonationAgreementRequest(
            terms=donations_pb2.DonationTerms(
                value_per_point_minor=RATIO, valid_from=Timestamp(seconds=-62_135_596_801), valid_until=BEYOND
            )
        ),
        "terms.valid_from",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TIMES))
def test_a_timestamp_protobuf_cannot_convert_is_invalid_argument_naming_the_field(world: World, case: str) -> None:
    signer, rpc, build, field = BAD_TIMES[case]
    before = snapshot(world.hub)
    assert world.send_as(signer, rpc, build(world))[:2] == ("INVALID_ARGUMENT", "INVALID_TIMESTAMP"), field
    assert snapshot(world.hub) == before


PAGE_TOKENS: dict[str, tuple[str, Callable[[World], Message]]] = {
    "a conversion cursor past 2**63": (
        V1 + "ConversionService/ListConversions",
        lambda w: conversions_pb2.ListConversionsRequest(page_token=encode_cursor(2**63, "cnv-x")),
    ),
    "an agreement cursor in Arabic-Indic digits": (
        V1 + "AgreementService/ListAgreements",
        lambda w: agreements_pb2.ListAgreementsRequest(
            page_token=base64.urlsafe_b64encode("c1:\u0661\u0662:agr-x".encode()).decode()
        ),
    ),
    "a break cursor with a superscript digit": (
        V1 + "SettlementService/ListReconciliationBreaks",
        lambda w: settlement_pb2.ListReconciliationBreaksRequest(
            reconciliation_id=w.ids["finished_reconciliation"], page_token=encode_key_cursor("cnv-x|\u00b2")
        ),
    ),
    "a break cursor past 2**63": (
        V1 + "SettlementService/ListReconciliationBreaks",
        lambda w: settlement_pb2.ListReconciliationBreaksRequest(
            reconciliation_id=w.ids["finished_reconciliation"], page_token=encode_key_cursor("cnv-x|" + "9" * 30)
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(PAGE_TOKENS))
def test_a_page_token_the_hub_never_issued_is_invalid_argument(world: World, case: str) -> None:
    rpc, build = PAGE_TOKENS[case]
    assert world.send_as("stride", rpc, build(world))[:2] == ("INVALID_ARGUMENT", "INVALID_PAGE_TOKEN")


def test_a_huge_id_is_not_found_and_the_caller_can_read_the_refusal(world: World) -> None:
    huge = "\u00e9" * 20_000  # its echo once made trailers of 16 KB: the client saw RESOURCE_EXHAUSTED
    with pytest.raises(NotFoundError) as refused:
        world["stride"].get_accrual_agreement(huge)
    assert len(refused.value.message.encode()) <= MAX_MESSAGE_BYTES
    with grpc.insecure_channel(world.hub.target) as channel:
        assert channel  # the hub still serves
    assert world["stride"].get_accrual_agreement(world.ids["accrual_agreement"]).agreement_id


NUL_IDS: dict[str, tuple[str, Callable[[World], Message], str]] = {
    # name: (rpc, request, what SQLite answers: it holds NUL, so no such thing is there)
    "an agreement": (
        V1 + "AgreementService/ResumeAgreement",
        lambda w: agreements_pb2.ResumeAgreementRequest(agreement_id="\x00"),
        "NOT_FOUND",
    ),
    "a quote's target": (
        V1 + "ConversionService/QuoteConversion",
        lambda w: conversions_pb2.QuoteConversionRequest(target_partner_id="\x00", source_points=100),
        "FAILED_PRECONDITION",
    ),
    "a consent": (
        V1 + "MemberService/RevokeConsent",
        lambda w: members_pb2.RevokeConsentRequest(member_ref="\x00", consent_id=w.ids["consent"]),
        "NOT_FOUND",
    ),
    "a reconciliation": (
        V1 + "SettlementService/AddReconciliationPart",
        lambda w: settlement_pb2.AddReconciliationPartRequest(reconciliation_id="\x00", part_number=1, content=b"x"),
        "NOT_FOUND",
    ),
}


@pytest.mark.parametrize("case", sorted(NUL_IDS))
def test_an_id_holding_nul_is_refused_and_never_internal(world: World, case: str) -> None:
    rpc, build, on_sqlite = NUL_IDS[case]
    before = snapshot(world.hub)
    code, reason, _ = world.send_as("stride", rpc, build(world))
    if world.hub.database.dialect == "sqlite":
        assert code == on_sqlite, reason
    else:  # PostgreSQL text can't hold NUL: the driver refuses the parameter
        assert (code, reason) == ("INVALID_ARGUMENT", "INVALID_TEXT")
    assert snapshot(world.hub) == before


def test_an_award_item_holding_nul_is_refused_alone(world: World) -> None:
    good = accruals_pb2.AwardItem(
        issuer_partner_id="stride",
        pairwise_member_id=world.ids["voltline_pairwise"],
        activity_type="run_logged",
        activity_reference="nul-neighbour",
        points=1,
        idempotency_key="k-findings-good",
    )
    bad = accruals_pb2.AwardItem()
    bad.CopyFrom(good)
    bad.pairwise_member_id, bad.idempotency_key = "pm-\x00", "k-findings-bad"
    code, reason, answer = world.send_as(
        "voltline", V1 + "AccrualService/AwardPoints", accruals_pb2.AwardPointsRequest(items=[bad, good])
    )
    assert code == "OK", reason  # the call answers per item, on either database
    refused, awarded = accruals_pb2.AwardPointsResponse.FromString(answer).results
    assert awarded.HasField("award") and not refused.HasField("award")
    if world.hub.database.dialect == "sqlite":
        assert (refused.error.code, refused.error.reason) == ("NOT_FOUND", "MEMBER_NOT_FOUND")
    else:
        assert (refused.error.code, refused.error.reason) == ("INVALID_ARGUMENT", "INVALID_TEXT")
