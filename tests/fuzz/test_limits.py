"""Every named limit on what a call may carry is enforced where docs/operations.md ("Limits") says.

One past each limit is refused with the documented status and reason and changes nothing; at
the limit it is accepted. Text lengths are in tests/e2e/test_odd_text.py, refusal messages and
page-token bounds in tests/unit/test_fuzz_findings.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import (
    accruals_pb2,
    common_pb2,
    conversions_pb2,
    instructions_pb2,
    members_pb2,
    registry_pb2,
    settlement_pb2,
)
from exchange.api.server import HubServer
from exchange.domain.accruals import MAX_ACTIVITY_TYPES, MAX_ITEMS
from exchange.domain.consent import MAX_KEYS_PER_CALL
from exchange.domain.disputes import EVIDENCE_MAX
from exchange.domain.instructions import MAX_LEASE_S, MAX_PULL, MAX_WAIT_S, MIN_LEASE_S
from exchange.service.paging import MAX_PAGE_SIZE
from exchange.service.reconciliation import PART_MAX_BYTES
from exchange.store.database import Database
from partner_sdk import ResourceExhaustedError
from tests import conftest
from tests.e2e.test_signed_requests import snapshot
from tests.fuzz.scenario import World, build_world, module_hub

V1 = "/coalition.exchange.v1."
SETTLEMENT = V1 + "SettlementService/"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    for hub in module_hub(request.param, request, tmp):
        yield build_world(hub)


def _items(count: int) -> accruals_pb2.AwardPointsRequest:
    # Each item names an activity the agreement does not have: refused alone, so nothing is written.
    item = accruals_pb2.AwardItem(
        issuer_partner_id="stride", activity_type="swim", activity_reference="r", points=1, idempotency_key="k-limits-1"
    )
    return accruals_pb2.AwardPointsRequest(items=[item] * count)


def _pull(max_instructions: int = 0, wait_seconds: int = 0, lease_seconds: int = 0) -> Message:
    return instructions_pb2.PullInstructionsRequest(
        max_instructions=max_instructions, wait_seconds=wait_seconds, lease_seconds=lease_seconds
    )


def _keys(count: int) -> list[str]:
    return [f"attr_{n}" for n in range(count)]


@dataclass(frozen=True)
class Limit:
    """One past a limit, and the refusal it gets."""

    signer: str
    rpc: str
    build: Callable[[World], Message]
    code: str
    reason: str


OVER: dict[str, Limit] = {
    "AwardPoints items": Limit(
        "voltline",
        V1 + "AccrualService/AwardPoints",
        lambda w: _items(MAX_ITEMS + 1),
        "INVALID_ARGUMENT",
        "INVALID_ITEM_COUNT",
    ),
    "AwardPoints without items": Limit(
        "voltline", V1 + "AccrualService/AwardPoints", lambda w: _items(0), "INVALID_ARGUMENT", "INVALID_ITEM_COUNT"
    ),
    "accrual activity types": Limit(
        "voltline",
        V1 + "AccrualService/ProposeAccrualAgreement",
        lambda w: accruals_pb2.ProposeAccrualAgreementRequest(
            terms=accruals_pb2.AccrualTerms(
                activity_types=_keys(MAX_ACTIVITY_TYPES + 1),
                price_per_point_minor=common_pb2.Ratio(numerator=1, denominator=4),
                valid_from=Timestamp(seconds=1_800_000_000),
                valid_until=Timestamp(seconds=1_800_086_400),
            )
        ),
        "INVALID_ARGUMENT",
        "INVALID_ACTIVITY_TYPES",
    ),
    "attributes published at once": Limit(
        "stride",
        V1 + "MemberService/PublishAttributes",
        lambda w: members_pb2.PublishAttributesRequest(
            member_ref="s-1",
            values=[members_pb2.AttributeValue(key=k, integer=1) for k in _keys(MAX_KEYS_PER_CALL + 1)],
        ),
        "INVALID_ARGUMENT",
        "INVALID_VALUES",
    ),
    "attributes read at once": Limit(
        "voltline",
        V1 + "MemberService/ReadAttributes",
        lambda w: members_pb2.ReadAttributesRequest(
            pairwise_member_id=w.ids["voltline_pairwise"],
            source_partner_id="stride",
            purpose=members_pb2.PURPOSE_SERVICE,
            attribute_keys=_keys(MAX_KEYS_PER_CALL + 1),
        ),
        "INVALID_ARGUMENT",
        "INVALID_ATTRIBUTE_KEYS",
    ),
    "instructions pulled at once": Limit(
        "voltline",
        V1 + "InstructionService/PullInstructions",
        lambda w: _pull(max_instructions=MAX_PULL + 1),
        "INVALID_ARGUMENT",
        "INVALID_MAX_INSTRUCTIONS",
    ),
    "long-poll wait": Limit(
        "voltline",
        V1 + "InstructionService/PullInstructions",
        lambda w: _pull(wait_seconds=MAX_WAIT_S + 1),
        "INVALID_ARGUMENT",
        "INVALID_WAIT",
    ),
    "lease too short": Limit(
        "voltline",
        V1 + "InstructionService/PullInstructions",
        lambda w: _pull(lease_seconds=MIN_LEASE_S - 1),
        "INVALID_ARGUMENT",
        "INVALID_LEASE",
    ),
    "lease too long": Limit(
        "voltline",
        V1 + "InstructionService/PullInstructions",
        lambda w: _pull(lease_seconds=MAX_LEASE_S + 1),
        "INVALID_ARGUMENT",
        "INVALID_LEASE",
    ),
    "dispute evidence": Limit(
        "voltline",
        SETTLEMENT + "OpenDispute",
        lambda w: settlement_pb2.OpenDisputeRequest(
            movement_id=w.ids["conversion"],
            claimed_amount_minor=1,
            reason="long",
            evidence="e" * (EVIDENCE_MAX + 1),
            idempotency_key="k-limits-evidence",
        ),
        "INVALID_ARGUMENT",
        "INVALID_EVIDENCE",
    ),
    "idempotency key too short": Limit(
        "stride",
        V1 + "ConversionService/Convert",
        lambda w: conversions_pb2.ConvertRequest(
            quote_id=w.ids["quote"], source_member_ref="m-1", target_member_ref="v-1", idempotency_key="k" * 7
        ),
        "INVALID_ARGUMENT",
        "INVALID_IDEMPOTENCY_KEY",
    ),
    "idempotency key too long": Limit(
        "stride",
        V1 + "ConversionService/Convert",
        lambda w: conversions_pb2.ConvertRequest(
            quote_id=w.ids["quote"], source_member_ref="m-1", target_member_ref="v-1", idempotency_key="k" * 129
        ),
        "INVALID_ARGUMENT",
        "INVALID_IDEMPOTENCY_KEY",
    ),
    "negative page size": Limit(
        "stride",
        V1 + "RegistryService/ListPartners",
        lambda w: registry_pb2.ListPartnersRequest(page_size=-1),
        "INVALID_ARGUMENT",
        "INVALID_PAGE_SIZE",
    ),
    "negative page size of breaks": Limit(
        "stride",
        SETTLEMENT + "ListReconciliationBreaks",
        lambda w: settlement_pb2.ListReconciliationBreaksRequest(
            reconciliation_id=w.ids["finished_reconciliation"], page_size=-1
        ),
        "INVALID_ARGUMENT",
        "INVALID_PAGE_SIZE",
    ),
}


@pytest.mark.parametrize("limit", sorted(OVER))
def test_one_past_a_limit_is_refused_and_changes_nothing(world: World, limit: str) -> None:
    over = OVER[limit]
    before = snapshot(world.hub)
    assert world.send_as(over.signer, over.rpc, over.build(world))[:2] == (over.code, over.reason)
    after = snapshot(world.hub)
    if over.rpc.endswith("/ReadAttributes"):  # a refused read is in the member's access log, and only there
        (logged,) = [row for row in after.pop("access_log") if row not in before.pop("access_log")]
        assert "READ_REFUSED" in logged and over.reason in logged
    assert after == before


def test_award_points_takes_up_to_its_item_limit_and_answers_each_item(world: World) -> None:
    code, reason, answer = world.send_as("voltline", V1 + "AccrualService/AwardPoints", _items(MAX_ITEMS))
    assert code == "OK", reason
    results = accruals_pb2.AwardPointsResponse.FromString(answer).results
    assert len(results) == MAX_ITEMS
    assert {r.error.reason for r in results} == {"UNKNOWN_ACTIVITY_TYPE"}


def test_a_page_size_past_the_maximum_is_capped_not_refused(world: World) -> None:
    code, reason, answer = world.send_as(
        "stride", V1 + "RegistryService/ListPartners", registry_pb2.ListPartnersRequest(page_size=2**31 - 1)
    )
    assert code == "OK", reason
    listed = registry_pb2.ListPartnersResponse.FromString(answer)
    assert 0 < len(listed.partners) <= MAX_PAGE_SIZE and listed.next_page_token == ""


def test_a_request_past_the_hubs_maximum_is_resource_exhausted_before_any_handler(world: World) -> None:
    info = world["stride"].hub_info()
    assert info.max_request_bytes == 64 * 1024  # the test hub's; 1 MiB by default
    before = snapshot(world.hub)
    with pytest.raises(ResourceExhaustedError):
        world["stride"].list_conversions(member_ref="m" * info.max_request_bytes)
    assert snapshot(world.hub) == before


@pytest.fixture
def roomy_hub(tmp_path: Path) -> Iterator[tuple[World, HubServer]]:
    """A hub accepting 2 MiB requests, so a reconciliation part can reach its own 1 MiB limit."""
    database = Database(f"sqlite:///{tmp_path / 'exchange.sqlite3'}")
    hub = conftest.RunningHub(database, max_request_bytes=2 * PART_MAX_BYTES, keyring=conftest.test_keyring()).start()
    try:
        yield build_world(hub), hub.server
    finally:
        hub.stop()


def test_a_reconciliation_part_past_one_mebibyte_is_refused(roomy_hub: tuple[World, HubServer]) -> None:
    world, _ = roomy_hub
    part = settlement_pb2.AddReconciliationPartRequest(
        reconciliation_id=world.ids["reconciliation"], part_number=1, content=b"x" * (PART_MAX_BYTES + 1)
    )
    before = snapshot(world.hub)
    assert world.send_as("stride", SETTLEMENT + "AddReconciliationPart", part)[:2] == (
        "INVALID_ARGUMENT",
        "PART_TOO_LARGE",
    )
    assert snapshot(world.hub) == before
    part.content = b"x" * PART_MAX_BYTES  # at the limit: read, and refused only for what it says
    assert world.send_as("stride", SETTLEMENT + "AddReconciliationPart", part)[:2] == (
        "INVALID_ARGUMENT",
        "MALFORMED_UPLOAD",
    )
