"""Units on every figure: each brand's points are a currency of their own, money totals are gross or net.

The statement page, the CSV (whose earlier layout, one trailer per currency, must still read), the JSON
export and the terminal tables; and the first period, which opened at epoch 0, is not dated 1970-01-01.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from rich.console import Console

from exchange.cli.settlement_view import breaks_table, counterparties_table, export_statement, periods_table
from partner_sdk import ExchangeClient, MovementValues, Period, ReconciliationBreak, settlement_csv
from partner_sdk.settlement import (
    Movement,
    Statement,
    StatementDocument,
    StatementVerificationError,
    verify_statement,
)
from partner_sdk.settlement_csv import (
    COLUMNS,
    CurrencyTotals,
    Flow,
    LineProblem,
    MovementCsvReader,
    TrailerRecord,
    check_controls,
    count_flows,
    parse_record,
    write_movements_csv,
)
from partner_sdk.settlement_html import render_statement_html, write_statement_json
from tests.unit.test_sdk_settlement import HUB_PUBLIC, ME, PERIOD, T0, document_value, line, sign

MUSIC = "musicbrand"


def _movement(number: int, source: str, target: str, source_points: int, target_points: int, amount: int) -> Movement:
    return Movement(
        movement_id=f"cnv-{number:04d}",
        kind="CONVERSION",
        period_id=PERIOD,
        source_partner_id=source,
        target_partner_id=target,
        source_points=source_points,
        target_points=target_points,
        currency="EUR",
        amount_minor=amount,
        final_at_ms=T0 + number,
    )


# Sportsbrand retires 1,000 + 2,000 of its points for musicbrand, which issues 50 + 100 of its own; musicbrand
# retires 7,000 of its points for sportsbrand, which issues 300 of its own. Adding either side's points makes
# 10,000 "source points" and 450 "target points": the figures this change stops showing.
MOVEMENTS = [
    _movement(1, ME, MUSIC, 1000, 50, 1500),
    _movement(2, ME, MUSIC, 2000, 100, 2500),
    _movement(3, MUSIC, ME, 7000, 300, 600),
]


def _flows(movements: list[Movement] = MOVEMENTS) -> dict[Flow, CurrencyTotals]:
    flows: dict[Flow, CurrencyTotals] = {}
    for _ in count_flows(movements, flows):
        pass
    return flows


def _statement(*, opened_at_ms: int | None = None) -> tuple[Statement, StatementDocument]:
    """The signed statement of MOVEMENTS, its control totals as the hub writes them (both brands' points added)."""
    value = document_value(
        lines=[line(MUSIC, as_source=2, as_target=1, retired=3000, issued=300, payable=4000, receivable=600)]
    )
    value["control_totals"] = [
        {"currency": "EUR", "movements": 3, "source_points": 10_000, "target_points": 450, "amount_minor": 4600}
    ]
    value["outstanding_from_earlier_periods"] = []
    if opened_at_ms is not None:
        value["period"]["opened_at_ms"] = opened_at_ms
    statement = sign(value)
    return statement, verify_statement(statement, HUB_PUBLIC)


def _page(flows: dict[Flow, CurrencyTotals] | None = None, **options: Any) -> str:
    statement, doc = _statement(**options)
    return render_statement_html(statement, doc, flows=flows).replace("<wbr>", "")


def _section(page: str, title: str) -> str:
    return page.split(f"<h2>{title}</h2>", 1)[1].split("<h2>", 1)[0]


def _rows(section: str, heading: str) -> list[list[str]]:
    """The text of each body row of the table after an h3, tags stripped."""
    table = section.split(f"<h3>{heading}</h3>", 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


# --- the statement page ---------------------------------------------------------------------


def test_the_pages_control_totals_give_points_per_point_currency_never_two_brands_added() -> None:
    totals = _section(_page(_flows()), "Control totals")
    assert _rows(totals, "Points, per point currency") == [
        ["sportsbrand points (SPT)", "3,000 sportsbrand points", "300 sportsbrand points"],
        ["musicbrand points", "7,000 musicbrand points", "150 musicbrand points"],
    ]
    assert "10,000" not in totals and "450" not in totals  # the sums of both brands' points


def test_the_pages_money_totals_are_gross_payable_gross_receivable_and_net_per_currency() -> None:
    totals = _section(_page(_flows()), "Control totals")
    assert "Gross payable (owed by sportsbrand)" in totals
    assert "Gross receivable (owed to sportsbrand)" in totals
    assert "Net (receivable - payable)" in totals
    assert _rows(totals, "Money, per currency") == [["EUR", "3", "40.00 EUR", "6.00 EUR", "-34.00 EUR"]]
    assert "46.00 EUR" not in totals  # payable and receivable added, as the page once showed under "Amount"
    assert ">Amount<" not in totals


def test_the_pages_flows_are_the_csv_trailers_with_each_brands_points_named() -> None:
    totals = _section(_page(_flows()), "Control totals")
    assert _rows(totals, "Per flow: the CSV export's trailer records") == [
        ["EUR", MUSIC, ME, "1", "7,000 musicbrand points", "300 sportsbrand points", "6.00 EUR"],
        ["EUR", ME, MUSIC, "2", "3,000 sportsbrand points", "150 musicbrand points", "40.00 EUR"],
    ]
    assert "They add up to the signed control totals" in totals
    assert 'class="note"' not in totals


def test_every_points_figure_on_the_page_names_whose_points_it_is() -> None:
    counterparties = _section(_page(_flows()), "Counterparties")
    assert "sportsbrand points retired for the counterparty" in counterparties
    assert "sportsbrand points issued for the counterparty" in counterparties
    assert _rows("<h3>x</h3>" + counterparties, "x") == [
        [MUSIC, "EUR", "3,000 sportsbrand points", "300 sportsbrand points", "2", "1", "40.00 EUR", "6.00 EUR",
         "-34.00 EUR"]
    ]  # fmt: skip
    assert "Gross payable" in counterparties and "Gross receivable" in counterparties


def test_flows_that_disagree_with_the_signed_statement_are_flagged() -> None:
    flows = _flows()
    flows[Flow("EUR", MUSIC, ME)] = replace(flows[Flow("EUR", MUSIC, ME)], target_points=301)
    totals = _section(_page(flows), "Control totals")
    assert '<p class="note">The movements listed with this statement do not add up to its signed figures' in totals
    assert "the EUR control totals; the EUR line of musicbrand" in totals


def test_without_flows_the_page_gives_the_brands_own_points_and_says_where_the_others_are() -> None:
    totals = _section(_page(), "Control totals")
    assert _rows(totals, "Points, per point currency") == [
        ["sportsbrand points (SPT)", "3,000 sportsbrand points", "300 sportsbrand points"]
    ]
    assert "The signed statement holds sportsbrand points only" in totals
    assert "Per flow" not in totals


def test_the_signed_control_totals_money_is_gross_payable_plus_gross_receivable() -> None:
    statement, doc = _statement()
    assert doc.control_totals[0].amount_minor == 4000 + 600
    value = json.loads(statement.document)
    value["control_totals"][0]["amount_minor"] = 4000 - 600  # the net would be refused
    with pytest.raises(StatementVerificationError) as refused:
        verify_statement(sign(value), HUB_PUBLIC)
    assert refused.value.reason == "CONTROL_TOTALS_WRONG"


def test_the_first_period_opened_since_the_coalition_started_not_in_1970() -> None:
    page = _page(opened_at_ms=0)
    assert "<dt>Opened</dt><dd>since the coalition started</dd>" in page
    assert "1970" not in page
    assert "<dt>Opened</dt><dd>2025-11-24 16:00:02.000 UTC</dd>" in _page()


# --- the CSV --------------------------------------------------------------------------------


def _csv(movements: list[Movement] = MOVEMENTS) -> list[list[str]]:
    out = io.StringIO()
    write_movements_csv(out, period_id=PERIOD, partner_id=ME, statement_id="stm-x", movements=movements)
    return list(csv.reader(out.getvalue().splitlines()))


def test_each_csv_trailer_sums_one_flow_and_names_its_brands_beside_their_points() -> None:
    rows = _csv()
    header = rows[0]
    source, target = header.index("source_partner_id"), header.index("target_partner_id")
    assert header.index("source_points") == target + 1 and header.index("target_points") == target + 2
    trailers = [dict(zip(header, row, strict=True)) for row in rows if row[0] == "T"]
    assert [
        (t["source_partner_id"], t["target_partner_id"], t["source_points"], t["target_points"]) for t in trailers
    ] == [
        (MUSIC, ME, "7000", "300"),
        (ME, MUSIC, "3000", "150"),
    ]
    for t in trailers:  # every points sum is of the brand named in the same record
        mine = [m for m in MOVEMENTS if (m.source_partner_id, m.target_partner_id) == (t["source_partner_id"],
                t["target_partner_id"])]  # fmt: skip
        assert int(t["source_points"]) == sum(m.source_points for m in mine)
        assert int(t["target_points"]) == sum(m.target_points for m in mine)
    assert all(row[source] and row[target] for row in rows if row[0] in ("D", "T"))


# The layout before flows, exactly as write_movements_csv wrote it: one trailer per currency.
PER_CURRENCY_FILE = [
    ",".join(COLUMNS),
    "H,per-000003,sportsbrand,stm-000003-sportsbrand,,,,,,,,,",
    "D,per-000003,sportsbrand,cnv-0001,CONVERSION,2025-11-24T16:00:00.001Z,sportsbrand,musicbrand,1000,500,EUR,1500,",
    "D,per-000003,sportsbrand,cnv-0002,REVERSAL,2025-11-24T16:00:00.002Z,sportsbrand,musicbrand,2000,1000,USD,-250,",
    "D,per-000003,sportsbrand,cnv-0003,CAPTURE,2025-11-24T16:00:00.003Z,musicbrand,sportsbrand,3000,0,EUR,100,",
    "T,per-000003,sportsbrand,,,,,,4000,500,EUR,1600,2",
    "T,per-000003,sportsbrand,,,,,,2000,1000,USD,-250,1",
    "E,per-000003,sportsbrand,,,,,,,,,,3",
]  # fmt: skip


def _problems(lines: list[str]) -> list[LineProblem]:
    reader = MovementCsvReader(expected_partner_id=ME, expected_period_id=PERIOD)
    list(reader.read(lines))
    return reader.problems


def test_a_file_with_one_trailer_per_currency_still_reads_and_is_checked_per_currency() -> None:
    reader = MovementCsvReader(expected_partner_id=ME, expected_period_id=PERIOD)
    assert len(list(reader.read(PER_CURRENCY_FILE))) == 3
    assert reader.problems == []
    assert reader.summary.by_currency == {
        "EUR": CurrencyTotals(2, 4000, 500, 1600),
        "USD": CurrencyTotals(1, 2000, 1000, -250),
    }
    wrong = [*PER_CURRENCY_FILE[:5], PER_CURRENCY_FILE[5].replace(",1600,", ",1601,"), *PER_CURRENCY_FILE[6:]]
    assert _problems(wrong) == [LineProblem(6, "the EUR trailer's amount_minor is 1601, the D records' 1600")]


def test_the_hub_parses_a_per_currency_trailer_as_one_without_a_flow() -> None:
    record = parse_record(next(csv.reader([PER_CURRENCY_FILE[5]])), 6)
    assert record == TrailerRecord(6, PERIOD, ME, "EUR", 4000, 500, 1600, 2)
    assert isinstance(record, TrailerRecord) and record.flow is None


def test_a_file_mixing_per_currency_and_per_flow_trailers_is_refused() -> None:
    lines = [",".join(row) for row in _csv()]
    mixed = [*lines[:-2], "T,per-000003,sportsbrand,,,,,,10000,450,EUR,4600,3", lines[-1]]
    assert LineProblem(7, "a per-currency trailer record for EUR in a file of per-flow trailer records") in _problems(
        mixed
    )


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (ME, "", "must both name the flow, or both be empty"),
        ("", MUSIC, "must both name the flow, or both be empty"),
        (ME, ME, "the same brand"),
        ("=cmd", MUSIC, "which a spreadsheet runs as a formula"),
    ],
)
def test_a_trailer_naming_half_a_flow_or_a_bad_one_is_refused(source: str, target: str, message: str) -> None:
    fields = ["T", PERIOD, ME, "", "", "", source, target, "1", "2", "EUR", "3", "1"]
    problem = parse_record(fields, 7)
    assert isinstance(problem, LineProblem) and message in problem.problem


def test_a_trailer_for_a_flow_between_two_other_brands_is_refused() -> None:
    movements = [*MOVEMENTS, _movement(4, "bookbrand", MUSIC, 5, 5, 5)]
    with pytest.raises(ValueError, match="is not 'sportsbrand''s"):
        write_movements_csv(io.StringIO(), period_id=PERIOD, partner_id=ME, statement_id="", movements=movements)
    lines = [",".join(row) for row in _csv()]
    foreign_d = "D,per-000003,sportsbrand,cnv-0004,CONVERSION,2025-11-24T16:00:00.004Z,bookbrand,musicbrand,5,5,EUR,5,"
    foreign_t = "T,per-000003,sportsbrand,,,,bookbrand,musicbrand,5,5,EUR,5,1"
    problems = _problems([*lines[:5], foreign_d, foreign_t, *lines[5:-1], lines[-1].replace(",3", ",4")])
    assert LineProblem(6, "movement 'cnv-0004' is not between 'sportsbrand' and another brand") in problems
    assert (
        LineProblem(
            7, "the trailer record's flow EUR bookbrand -> musicbrand is not between 'sportsbrand' and another brand"
        )
        in problems
    )
    unbacked = [*lines[:-1], foreign_t, lines[-1]]
    assert LineProblem(8, "a trailer record for EUR bookbrand -> musicbrand, which has no D records") in _problems(
        unbacked
    )


def test_a_per_flow_trailer_that_does_not_match_its_flow_is_named_by_the_flow() -> None:
    lines = [",".join(row) for row in _csv()]
    lines[5] = lines[5].replace(",7000,", ",7001,")
    assert _problems(lines) == [
        LineProblem(6, "the EUR musicbrand -> sportsbrand trailer's source_points is 7001, the D records' 7000")
    ]


def test_check_controls_needs_the_flow_totals_to_check_per_flow_trailers() -> None:
    trailer = TrailerRecord(6, PERIOD, ME, "EUR", 1, 2, 3, 1, ME, MUSIC)
    with pytest.raises(ValueError, match="flow_totals"):
        check_controls(detail_totals={}, detail_count=0, trailers=[trailer], end=None, last_line_number=7)


def test_the_reader_totals_a_bounded_number_of_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settlement_csv, "MAX_FLOWS", 1)
    problems = _problems([",".join(row) for row in _csv()])
    assert LineProblem(5, "more than 1 flows (currency, source, target): not one brand's period") in problems


# --- the JSON export ------------------------------------------------------------------------


def test_the_json_export_sums_each_flow_with_its_brands_named() -> None:
    out = io.StringIO()
    write_statement_json(out, _statement()[0], MOVEMENTS)
    value = json.loads(out.getvalue())
    assert value["flow_totals"] == [
        {"currency": "EUR", "source_partner_id": MUSIC, "target_partner_id": ME, "movements": 1,
         "source_points": 7000, "target_points": 300, "amount_minor": 600},
        {"currency": "EUR", "source_partner_id": ME, "target_partner_id": MUSIC, "movements": 2,
         "source_points": 3000, "target_points": 150, "amount_minor": 4000},
    ]  # fmt: skip
    assert list(value)[-1] == "flow_totals"  # after the movements: counted as they stream by


# --- the terminal tables and the export command ---------------------------------------------


def _text(table: Any) -> str:
    console = Console(file=io.StringIO(), width=250, color_system=None)
    console.print(table)
    return cast(io.StringIO, console.file).getvalue()


def _period(opened_at: datetime) -> Period:
    return Period("per-000001", 1, "CLOSED", opened_at, datetime(2026, 1, 1, tzinfo=UTC), None, 3, 2)


def test_the_periods_table_says_the_first_period_opened_since_the_coalition_started() -> None:
    shown = _text(periods_table([_period(datetime(1970, 1, 1, tzinfo=UTC))]))
    assert "since the coalition started" in shown and "1970" not in shown
    assert "2025-11-24 16:00:00" in _text(periods_table([_period(datetime(2025, 11, 24, 16, tzinfo=UTC))]))


def test_the_breaks_table_says_whose_points_each_side_shows() -> None:
    values = MovementValues("CONVERSION", PERIOD, 1000, 50, "EUR", 1500)
    shown = _text(breaks_table([ReconciliationBreak("AMOUNT_MISMATCH", "cnv-0001", 3, values, values)]))
    assert "1,000 source brand's points / 50 target brand's points, 15.00 EUR" in shown


def test_the_counterparties_table_names_whose_points_and_gross_or_net_money() -> None:
    shown = _text(counterparties_table(_statement()[1]))
    for heading in ("sportsbrand points retired", "sportsbrand points issued", "gross payable", "gross receivable",
                    "bilateral net"):  # fmt: skip
        assert heading in shown


@dataclass
class _Hub:
    """A fake of the client's one call the export makes: the statement's movements, counted."""

    movements: list[Movement]
    listed: list[str] = field(default_factory=list)

    def iter_statement_movements(self, statement_id: str) -> Iterator[Movement]:
        self.listed.append(statement_id)
        yield from self.movements


@pytest.mark.parametrize(("formats", "passes"), [(("html",), 1), (("html", "csv"), 1), (("json", "html", "csv"), 2)])
def test_the_exported_page_shows_the_flows_from_a_single_pass_when_it_can(
    tmp_path: Path, formats: tuple[str, ...], passes: int
) -> None:
    statement, doc = _statement()
    hub = _Hub(MOVEMENTS)
    paths = export_statement(cast(ExchangeClient, hub), statement, doc, tmp_path, formats, Console(file=io.StringIO()))
    assert [p.suffix[1:] for p in paths] == list(formats)
    assert len(hub.listed) == passes
    page = (tmp_path / f"{statement.statement_id}.html").read_text(encoding="utf-8").replace("<wbr>", "")
    assert "7,000 musicbrand points" in page and "They add up to the signed control totals" in page
