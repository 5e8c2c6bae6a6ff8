"""ConvertBatch: many conversions in one signed call, each item exactly once by its own key, failing alone."""

from __future__ import annotations

import pytest
import sqlalchemy

from exchange.store.tables import conversions, idempotency_keys, instructions, quotes
from partner_sdk import ConversionItem, ExchangeError, InvalidArgumentError
from tests.conftest import RunningHub, assert_ledger_invariants
from tests.e2e.money import Pair, accepted_pair, terms


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


def _pair_of(hub: RunningHub, source_id: str, target_id: str) -> Pair:
    source, _ = hub.active_partner(source_id, currency="EUR")
    target, _ = hub.active_partner(target_id, currency="GBP")
    proposed = source.propose_agreement(terms(source_id, target_id, member_daily_cap_source_points=250))
    return Pair(hub, source, target, target.accept_agreement(proposed.agreement_id))


def _mixed_items(pair: Pair, target_id: str) -> list[ConversionItem]:
    """Items that convert and items refused for each reason an item can have, in an order where limits bite."""
    first = pair.source.quote_conversion(target_id, 100).quote_id
    late = pair.source.quote_conversion(target_id, 100).quote_id
    specs: list[dict[str, object]] = [
        {"source_member_ref": "ann", "target_partner_id": target_id, "source_points": 100},
        {"source_member_ref": "ann", "target_partner_id": target_id, "source_points": 100},
        {"source_member_ref": "ann", "target_partner_id": target_id, "source_points": 100},  # past the cap of 250
        {"source_member_ref": "bob", "quote_id": first},
        {"source_member_ref": "cat", "quote_id": first},  # the quote was used by the item before
        {"source_member_ref": "dan", "target_partner_id": "nobody", "source_points": 100},
        {"source_member_ref": "eve", "target_partner_id": target_id, "source_points": 0},
        {"source_member_ref": "eve", "target_partner_id": target_id, "source_points": 1_000_000_000_000},
        {"source_member_ref": "fay", "quote_id": "quo_never_made"},
        {"source_member_ref": "", "target_partner_id": target_id, "source_points": 100},
        {"source_member_ref": "gus", "target_partner_id": target_id, "source_points": 100,
         "pairwise_member_id": "pw-unknown"},
        {"source_member_ref": "gus", "target_partner_id": target_id, "source_points": 100,
         "pairwise_member_id": "pw-unknown", "target_member_ref": "v-gus"},
        {"source_member_ref": "ann", "quote_id": late},  # the cap again, by a quoted item
        {"source_member_ref": "bob", "target_partner_id": target_id, "source_points": 150},  # 99 + 150 <= 250
    ]  # fmt: skip
    return [
        ConversionItem(**({"target_member_ref": f"v-{i}"} | spec), idempotency_key=f"mixed-key-{i:04d}")  # type: ignore[arg-type]
        for i, spec in enumerate(specs)
    ]


def _one_by_one(pair: Pair, items: list[ConversionItem]) -> list[tuple[object, ...]]:
    """What the same items get as QuoteConversion and Convert calls, one after another."""
    outcomes: list[tuple[object, ...]] = []
    for item in items:
        try:
            quote_id = (
                item.quote_id or pair.source.quote_conversion(item.target_partner_id, item.source_points).quote_id
            )
            done = pair.source.convert(
                quote_id,
                source_member_ref=item.source_member_ref,
                target_member_ref=item.target_member_ref,
                pairwise_member_id=item.pairwise_member_id,
                idempotency_key=item.idempotency_key,
            )
            outcomes.append(("OK", done.amounts, done.source_member_ref, done.target_member_ref))
        except ExchangeError as refused:
            outcomes.append((refused.code, refused.reason, refused.field or ""))
    return outcomes


def test_each_item_gets_what_the_same_conversion_alone_would_get(hub: RunningHub) -> None:
    batched, single = _pair_of(hub, "stride", "voltline"), _pair_of(hub, "brisk", "glowmart")
    results = batched.source.convert_batch(_mixed_items(batched, "voltline"))
    alone = _one_by_one(single, _mixed_items(single, "glowmart"))
    together = [
        ("OK", r.conversion.amounts, r.conversion.source_member_ref, r.conversion.target_member_ref)
        if r.conversion is not None
        else (r.error_code, r.error_reason, r.error_field)
        for r in results
    ]
    assert together == alone
    assert [outcome[0] for outcome in together].count("OK") == 4
    assert_ledger_invariants(hub.database)


def test_an_item_naming_an_id_with_a_nul_fails_alone(pair: Pair) -> None:
    items = [
        ConversionItem(source_member_ref="m-0", quote_id="quo_\x00", target_member_ref="v-0",
                       idempotency_key="nul-key-0000"),
        ConversionItem(source_member_ref="m-1", target_partner_id="volt\x00line", source_points=100,
                       target_member_ref="v-1", idempotency_key="nul-key-0001"),
        *_unquoted(1),
    ]  # fmt: skip
    results = pair.source.convert_batch(items)
    assert [(r.error_code, r.error_reason) for r in results[:2]] == [("INVALID_ARGUMENT", "INVALID_TEXT")] * 2
    assert results[2].ok


def test_a_refused_items_key_may_be_used_again_once_the_cause_is_fixed(pair: Pair) -> None:
    (refused,) = pair.source.convert_batch(_unquoted(1, points=0))
    assert refused.error_reason
    (converted,) = pair.source.convert_batch(_unquoted(1, points=100))
    assert converted.ok
