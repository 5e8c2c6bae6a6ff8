"""The bulk step's items, answer checks and figures, with a stand-in for the hub (no server, no database)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from bench.brands import SOURCE_POINTS, TARGET_BRAND
from bench.bulk import MISSING, NOT_PENDING, WRONG_ORDER, Batch, BulkThreads, CallFailure, bulk_figures, check_results
from bench.clients import ClientJob
from bench.cpu import CpuSnapshot
from partner_sdk import Conversion, ConversionAmounts, ConversionItem, ConversionResult

NOWHERE = "127.0.0.1:9"  # channels are lazy: never connected, the call is a stand-in
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
AMOUNTS = ConversionAmounts(1000, 10, 990, 1000, 0, 1485, 742, "EUR", Fraction(3, 2))


def converted(item: ConversionItem) -> ConversionResult:
    conversion = Conversion(
        conversion_id=f"cnv-{item.idempotency_key}",
        quote_id="",
        agreement_id="agr-1",
        agreement_version=1,
        source_partner_id="bench-source-0",
        target_partner_id=item.target_partner_id,
        source_member_ref=item.source_member_ref,
        target_member_ref="",
        amounts=AMOUNTS,
        state="PENDING_CREDIT",
        history=(),
        credit_deadline=EPOCH,
        created_at=EPOCH,
        reversals=(),
    )
    return ConversionResult(conversion)


class StandInBulk(BulkThreads):
    """Converts every item but the first of each batch, which fails as over a limit; 1 ms a call."""

    def _operation(self, slot: int) -> Callable[[list[ConversionItem]], Sequence[ConversionResult]]:
        def convert_batch(items: list[ConversionItem]) -> Sequence[ConversionResult]:
            time.sleep(0.001)
            refused = ConversionResult(None, "FAILED_PRECONDITION", "MEMBER_DAILY_CAP")
            return [refused, *(converted(item) for item in items[1:])]

        return convert_batch


def job(batch_size: int, indices: tuple[int, ...] = (0, 1)) -> ClientJob:
    return ClientJob(kind="bulk", target=NOWHERE, run_tag="t", indices=indices, batch_size=batch_size)


def test_a_batch_is_unquoted_items_each_with_new_members_and_a_key_of_its_own() -> None:
    threads = StandInBulk(job(500))
    items = threads.items(1, 7) + threads.items(1, 8) + threads.items(0, 7)
    threads.finish(time.monotonic())
    assert len(items) == 1500
    for attribute in ("source_member_ref", "target_member_ref", "idempotency_key"):
        assert len({getattr(item, attribute) for item in items}) == 1500
    assert {(i.target_partner_id, i.source_points, i.quote_id) for i in items} == {(TARGET_BRAND, SOURCE_POINTS, "")}
    assert all(8 <= len(item.idempotency_key) <= 128 for item in items)


def test_an_answer_is_checked_item_by_item() -> None:
    items = StandInBulk(job(5)).items(0, 1)
    answers = [converted(item) for item in items]
    assert check_results(items, answers) == (5, {})
    swapped = [answers[1], answers[0], *answers[2:]]
    assert check_results(items, swapped) == (3, {WRONG_ORDER: 2})
    assert check_results(items, answers[:3]) == (3, {MISSING: 2})
    completed = answers[0].conversion
    assert completed is not None
    stale = [ConversionResult(replace(completed, state="COMPLETED")), *answers[1:]]
    assert check_results(items, stale) == (4, {NOT_PENDING: 1})
    refused = [ConversionResult(None, "INVALID_ARGUMENT", "BAD_MEMBER_REF"), *answers[1:]]
    assert check_results(items, refused) == (4, {"INVALID_ARGUMENT:BAD_MEMBER_REF": 1})


def test_the_threads_loop_batches_until_finished() -> None:
    threads = StandInBulk(job(3))
    threads.start(time.perf_counter())
    time.sleep(0.1)
    batches, failures = threads.finish(time.monotonic() + 5)
    assert len(batches) > 10
    assert not failures
    assert {(b[2], b[3]) for b in batches} == {(2, (("FAILED_PRECONDITION:MEMBER_DAILY_CAP", 1),))}


def snapshot(at: float) -> CpuSnapshot:
    return CpuSnapshot(at, hub_s=at / 10, postgres_s=at / 20, client_s=at / 40, machine=(at * 100, at * 200))


def test_the_window_counts_each_calls_items_by_its_time_inside_it() -> None:
    batches: list[Batch] = [
        (9.0, 11.0, 500, ()),  # half inside the window: 250
        (11.0, 12.0, 498, (("FAILED_PRECONDITION:EXPOSURE_LIMIT", 2),)),
        (12.0, 13.0, 500, ()),
        (18.0, 22.0, 500, ()),  # half inside: 250
        (20.0, 21.0, 500, ()),  # after the window
    ]
    failures: list[CallFailure] = [(15.0, "UnavailableError:HUB_UNAVAILABLE", 500), (25.0, "RpcError", 500)]
    result = bulk_figures(
        clients=2,
        client_processes=1,
        source_brands=4,
        batch_size=500,
        before=snapshot(10.0),
        after=snapshot(20.0),
        batches=batches,
        failures=failures,
        retries=7.0,
        retries_before=2.0,
    )
    assert (result.batches, result.conversions) == (4, 250 + 498 + 500 + 250)
    assert result.conversions_per_s == pytest.approx(149.8)
    assert result.item_errors == 502
    assert result.errors == {"FAILED_PRECONDITION:EXPOSURE_LIMIT": 2, "UnavailableError:HUB_UNAVAILABLE": 500}
    assert result.batch_p50_ms == pytest.approx(1000)  # nearest rank: the 2nd of 1000, 1000, 2000, 4000 ms
    assert result.converted_total == 2498
    assert result.db_retries == 5
    assert result.hub_cpu_ms_per_conversion == pytest.approx(1000 / 1498, abs=0.0001)
