"""ConvertBatch: many conversions in one signed call, each item exactly once by its own key, failing alone."""

from __future__ import annotations

import pytest
import sqlalchemy

from exchange.store.tables import conversions, idempotency_keys, instructions, quotes
from partner_sdk import ConversionItem, InvalidArgumentError
from tests.conftest import RunningHub
from tests.e2e.money import Pair, accepted_pair


@pytest.fixture
def pair(hub: RunningHub) -> Pair:
    return accepted_pair(hub)


def _count(hub: RunningHub, table: sqlalchemy.Table) -> int:
    with hub.database.engine.connect() as connection:
        return int(connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)).scalar_one())


def _unquoted(n: int, points: int = 100, prefix: str = "bulk") -> list[ConversionItem]:
    return [
        ConversionItem(
            source_member_ref=f"{prefix}-m-{i}",
            target_partner_id="voltline",
            source_points=points,
            target_member_ref=f"{prefix}-v-{i}",
            idempotency_key=f"{prefix}-key-{i:04d}",
        )
        for i in range(n)
    ]


def test_a_batch_of_quoted_and_unquoted_items_converts_each_once_with_its_credit(pair: Pair) -> None:
    quote = pair.source.quote_conversion("voltline", 200)
    items = [
        ConversionItem(source_member_ref="q-m", quote_id=quote.quote_id, target_member_ref="q-v",
                       idempotency_key="bulk-quoted-0001"),
        *_unquoted(3),
    ]  # fmt: skip
    results = pair.source.convert_batch(items)
    assert [r.ok for r in results] == [True] * 4
    converted = [r.conversion for r in results if r.conversion is not None]
    assert converted[0].quote_id == quote.quote_id
    assert converted[0].amounts == quote.amounts
    assert [c.source_member_ref for c in converted] == ["q-m", "bulk-m-0", "bulk-m-1", "bulk-m-2"]
    assert {c.state for c in converted} == {"PENDING_CREDIT"}
    # Priced now as QuoteConversion would: 100 points at 3/2 less a 1% fee.
    assert converted[1].amounts == pair.source.quote_conversion("voltline", 100).amounts
    credits = pair.target.pull_instructions(wait_s=0)
    assert sorted(i.conversion_id for i in credits) == sorted(c.conversion_id for c in converted)
    assert {i.member_ref for i in credits} == {"q-v", "bulk-v-0", "bulk-v-1", "bulk-v-2"}


def test_a_resent_batch_converts_nothing_again_and_answers_as_the_first_time(pair: Pair) -> None:
    items = _unquoted(5)
    first = pair.source.convert_batch(items)
    made = (_count(pair.hub, conversions), _count(pair.hub, instructions), _count(pair.hub, quotes))
    again = pair.source.convert_batch(items)
    assert [r.conversion.conversion_id for r in again if r.conversion] == [
        r.conversion.conversion_id for r in first if r.conversion
    ]
    assert (_count(pair.hub, conversions), _count(pair.hub, instructions), _count(pair.hub, quotes)) == made
    assert made[0] == 5


def test_a_bad_item_fails_alone_with_its_own_reason_and_leaves_nothing(pair: Pair) -> None:
    used = pair.source.quote_conversion("voltline", 100)
    pair.source.convert(used.quote_id, source_member_ref="m-0", target_member_ref="v-0")
    good = _unquoted(2)
    items = [
        good[0],
        ConversionItem(source_member_ref="m-1", quote_id=used.quote_id, target_member_ref="v-1",
                       idempotency_key="bulk-bad-0001"),
        ConversionItem(source_member_ref="m-2", target_partner_id="nobody", source_points=100,
                       target_member_ref="v-2", idempotency_key="bulk-bad-0002"),
        ConversionItem(source_member_ref="m-3", target_partner_id="voltline", source_points=0,
                       target_member_ref="v-3", idempotency_key="bulk-bad-0003"),
        ConversionItem(source_member_ref="m-4", quote_id=used.quote_id, target_partner_id="voltline",
                       source_points=100, target_member_ref="v-4", idempotency_key="bulk-bad-0004"),
        ConversionItem(source_member_ref="", target_partner_id="voltline", source_points=100,
                       target_member_ref="v-5", idempotency_key="bulk-bad-0005"),
        ConversionItem(source_member_ref="m-6", target_partner_id="voltline", source_points=100,
                       target_member_ref="v-6", idempotency_key="short"),
        good[1],
    ]  # fmt: skip
    before = (_count(pair.hub, conversions), _count(pair.hub, quotes))
    results = pair.source.convert_batch(items)
    assert [r.ok for r in results] == [True, False, False, False, False, False, False, True]
    failed = [(r.error_code, r.error_reason, r.error_field) for r in results if not r.ok]
    assert failed[0][:2] == ("FAILED_PRECONDITION", "QUOTE_ALREADY_USED")
    assert failed[1][0] == "FAILED_PRECONDITION"  # no agreement with an unknown partner
    assert failed[2][0] == "INVALID_ARGUMENT"
    assert failed[3] == ("INVALID_ARGUMENT", "QUOTED_AND_UNQUOTED", "quote_id")
    assert failed[4][0] == "INVALID_ARGUMENT" and failed[4][2] == "source_member_ref"
    assert failed[5][0] == "INVALID_ARGUMENT" and failed[5][2] == "idempotency_key"
    # Two conversions, two quotes (the unquoted good items'); the failed items left no quote either.
    assert (_count(pair.hub, conversions), _count(pair.hub, quotes)) == (before[0] + 2, before[1] + 2)


def test_an_items_key_used_for_another_item_is_refused_for_that_item(pair: Pair) -> None:
    (first,) = pair.source.convert_batch(_unquoted(1))
    assert first.ok
    other = ConversionItem(source_member_ref="another", target_partner_id="voltline", source_points=300,
                           target_member_ref="v", idempotency_key="bulk-key-0000")  # fmt: skip
    (reused,) = pair.source.convert_batch([other])
    assert (reused.error_code, reused.error_reason) == ("FAILED_PRECONDITION", "IDEMPOTENCY_KEY_REUSED")


def test_the_limits_count_the_items_before_in_the_same_batch(hub: RunningHub) -> None:
    pair = accepted_pair(hub, member_daily_cap_source_points=250)
    items = [
        ConversionItem(source_member_ref="same-member", target_partner_id="voltline", source_points=100,
                       target_member_ref="v", idempotency_key=f"cap-key-{i:04d}")
        for i in range(3)
    ]  # fmt: skip
    results = pair.source.convert_batch(items)
    assert [r.ok for r in results] == [True, True, False]
    assert (results[2].error_code, results[2].error_reason) == ("RESOURCE_EXHAUSTED", "MEMBER_DAILY_CAP")


@pytest.mark.parametrize(
    ("items", "reason"),
    [
        ([], "INVALID_ITEM_COUNT"),
        (_unquoted(501), "INVALID_ITEM_COUNT"),
        ([*_unquoted(2), _unquoted(1)[0]], "DUPLICATE_IDEMPOTENCY_KEY"),
    ],
    ids=["none", "501", "one-key-twice"],
)
def test_a_batch_refused_whole_changes_nothing(pair: Pair, items: list[ConversionItem], reason: str) -> None:
    before = (_count(pair.hub, conversions), _count(pair.hub, quotes), _count(pair.hub, idempotency_keys))
    with pytest.raises(InvalidArgumentError) as refused:
        pair.source.convert_batch(items)
    assert refused.value.reason == reason
    assert (_count(pair.hub, conversions), _count(pair.hub, quotes), _count(pair.hub, idempotency_keys)) == before


def test_five_hundred_items_convert_in_one_call(pair: Pair) -> None:
    results = pair.source.convert_batch(_unquoted(500, points=10), timeout_s=120)
    assert len(results) == 500 and all(r.ok for r in results)
    assert _count(pair.hub, conversions) == 500


def test_an_items_kept_answer_goes_with_its_member_at_erasure(pair: Pair) -> None:
    pair.target.redeem_link_code(pair.source.create_link_code("bulk-m-0").code, member_ref="bulk-v-0")
    items = _unquoted(2)
    first = pair.source.convert_batch(items)
    pair.source.erase_member("bulk-m-0")
    again = pair.source.convert_batch(items)
    assert (again[0].error_code, again[0].error_reason) == ("NOT_FOUND", "MEMBER_ERASED")
    assert again[1].conversion == first[1].conversion
    erased = first[0].conversion
    assert erased is not None
    assert pair.source.get_conversion(erased.conversion_id).source_member_ref != "bulk-m-0"
