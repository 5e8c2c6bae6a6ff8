"""The store's reads of a conversion's limit figures say what the plain definitions say.

exchange.domain.limits defines each figure over plain conversion records; the store reads all
three (and the quote's use) in one SQL statement of scalar subqueries, and a batch's grouped read
every member's and target's at once. On random conversions
(several brands, members, days, states) and random money positions, both give the same figures,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.domain.agreements import DAY_MS
from exchange.domain.conversions import Conversion, ConversionEvent, ConversionState
from exchange.domain.limits import HOUR_MS, LimitFigures, conversions_since, converted_today, utc_day
from exchange.domain.money import Ratio
from exchange.domain.pricing import ConversionAmounts
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.database import Database
from exchange.store.tables import conversion_events, conversions, money_positions

BRANDS = ("stride", "volt", "kite")
MEMBERS = ("m-1", "m-2")
NOW_MS = 20_000 * DAY_MS + 13 * HOUR_MS  # an afternoon: today started 13 hours ago


@st.composite
def a_conversion(draw: st.DrawFn, number: int) -> Conversion:
    source, target = draw(st.permutations(BRANDS))[:2]
    fee, converted = draw(st.integers(0, 50)), draw(st.integers(1, 10_000))
    created = NOW_MS - draw(st.integers(0, 2 * DAY_MS))
    state = draw(st.sampled_from(list(ConversionState)))
    return Conversion(
        conversion_id=f"cnv-{number}",
        quote_id=f"quo-{number}",
        agreement_id="agr-1",
        agreement_version=1,
        source_partner_id=source,
        target_partner_id=target,
        source_member_ref=draw(st.sampled_from(MEMBERS)),
        target_member_ref="t-1",
        amounts=ConversionAmounts(
            source_points_requested=fee + converted,
            fee_points=fee,
            source_points_converted=converted,
            target_points=converted,
            settlement_amount_minor=converted // 2,
            settlement_currency="GBP",
            rate=Ratio(1, 1),
        ),
        state=state,
        credit_deadline_ms=created + 60_000,
        created_at_ms=created,
        history=(ConversionEvent(created, source, None, state),),
    )


@st.composite
def a_day_of_conversions(draw: st.DrawFn) -> list[Conversion]:
    count = draw(st.integers(0, 25))
    return [draw(a_conversion(number)) for number in range(count)]


def _reset(database: Database) -> None:
    with database.engine.begin() as connection:
        for table in (conversion_events, conversions, money_positions):
            connection.execute(sqlalchemy.delete(table))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=a_day_of_conversions(),
    positions=st.dictionaries(
        st.tuples(st.sampled_from(BRANDS), st.sampled_from(BRANDS)), st.integers(-(10**9), 10**9)
    ),
    source=st.sampled_from(BRANDS),
    target=st.sampled_from(BRANDS),
    member=st.sampled_from(MEMBERS),
    window_hours=st.integers(1, 30),
)
def test_the_fused_read_gives_the_figures_the_plain_definitions_give(
    database: Database,
    records: list[Conversion],
    positions: dict[tuple[str, str], int],
    source: str,
    target: str,
    member: str,
    window_hours: int,
) -> None:
    _reset(database)
    with database.engine.begin() as connection:
        repository = ConversionRepository(connection)
        for record in records:
            repository.add(record)
        for (owner, counterparty), amount in positions.items():
            row = {"owner": owner, "counterparty": counterparty, "currency": "GBP", "amount": amount}
            connection.execute(sqlalchemy.insert(money_positions).values(row))
    since_ms = NOW_MS - window_hours * HOUR_MS
    with database.engine.connect() as connection:
        reading = ConversionRepository(connection).limit_reading(
            source, target, member, day=utc_day(NOW_MS), since_ms=since_ms, currency="GBP", quote_id="quo-0"
        )
        running = ConversionRepository(connection).running_figures(
            source, MEMBERS, {"GBP"}, day=utc_day(NOW_MS), since_ms=since_ms
        )
    read = reading.figures
    assert read.converted_today == converted_today(
        records, source=source, target=target, member_ref=member, day=utc_day(NOW_MS)
    )
    assert read.conversions_since == conversions_since(records, source=source, member_ref=member, since_ms=since_ms)
    assert read.money_position == sum(amount for (owner, _), amount in positions.items() if owner == source)
    assert reading.quote_used_by is None
    # A batch's grouped read (exchange.service.conversion_batch) gives every member's and target's the same.
    today = utc_day(NOW_MS)
    for each_target in BRANDS:
        for each_member in MEMBERS:
            assert running.figures(each_target, each_member, "GBP") == LimitFigures(
                converted_today(records, source=source, target=each_target, member_ref=each_member, day=today),
                conversions_since(records, source=source, member_ref=each_member, since_ms=since_ms),
                read.money_position,
            )


def test_the_daily_caps_day_starts_at_midnight_utc() -> None:
    assert utc_day(NOW_MS) == 20_000
    assert utc_day(NOW_MS - 13 * HOUR_MS) == 20_000
    assert utc_day(NOW_MS - 13 * HOUR_MS - 1) == 19_999
