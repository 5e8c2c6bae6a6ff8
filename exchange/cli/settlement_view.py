"""Terminal tables and file exports of settlement records, shared by `coalition settlement` and the demo.

As on the statement page: a points figure names whose points it is (each brand's points are a
currency of their own), money totals say gross or net, and the first period, which opened at
epoch 0, opened "since the coalition started" rather than on 1970-01-01.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from partner_sdk import (
    Dispute,
    ExchangeClient,
    MovementValues,
    OperatorClient,
    Period,
    ReconciliationBreak,
    ReconciliationReport,
)
from partner_sdk.settlement import Movement, PaymentInstructionStatus, Statement, StatementDocument
from partner_sdk.settlement_csv import CurrencyTotals, Flow, count_flows, write_movements_csv
from partner_sdk.settlement_html import (
    format_money,
    format_points,
    period_start,
    points_of,
    render_statement_html,
    write_statement_json,
)

EXPORT_FORMATS = ("csv", "json", "html")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(moment: object) -> str:
    return "" if moment is None else str(moment)[:19].replace("T", " ")


def _opened(moment: datetime) -> str:
    """A period's start: the first period opened at epoch 0, which is no date anyone should read."""
    return period_start(0) if moment == _EPOCH else _when(moment)


def periods_table(periods: Iterable[Period], title: str = "Settlement periods") -> Table:
    """Periods as a table."""
    table = Table(title=title)
    for column in ("period", "state", "opened at (UTC)", "cut-off (UTC)", "movements", "statements"):
        table.add_column(column, justify="right" if column in ("movements", "statements") else "left")
    for p in periods:
        table.add_row(
            p.period_id, p.state, _opened(p.opened_at), _when(p.cutoff), f"{p.movement_count:,}", str(p.statement_count)
        )
    return table


def statements_table(rows: Iterable[tuple[Statement, StatementDocument]], title: str = "Statements") -> Table:
    """Statements with each brand's net position per currency."""
    table = Table(title=title)
    for column in ("statement", "brand", "period", "seq", "movements", "net position", "sha256"):
        table.add_column(column, justify="right" if column in ("seq", "movements", "net position") else "left")
    for statement, doc in rows:
        nets = ", ".join(format_money(n.net_minor, n.currency) for n in doc.net_positions) or "0"
        table.add_row(
            statement.statement_id,
            statement.partner_id,
            statement.period_id,
            str(statement.sequence),
            f"{doc.movement_count:,}",
            nets,
            statement.document_sha256[:16] + "…",
        )
    return table


def counterparties_table(doc: StatementDocument) -> Table:
    """One statement's lines per counterparty."""
    table = Table(title=f"{doc.display_name} ({doc.partner_id}), {doc.period.period_id}: by counterparty")
    mine = points_of(doc.partner_id)
    columns = ("counterparty", f"{mine} retired", f"{mine} issued", "movements", "gross payable", "gross receivable",
               "bilateral net")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "counterparty" else "right")
    for line in doc.counterparties:
        table.add_row(
            line.counterparty,
            format_points(line.points_retired_for_counterparty),
            format_points(line.points_issued_for_counterparty),
            str(line.movements_as_source + line.movements_as_target),
            format_money(line.money_payable_minor, line.currency),
            format_money(line.money_receivable_minor, line.currency),
            format_money(line.bilateral_net_minor, line.currency),
        )
    return table


def instructions_table(
    instructions: Sequence[PaymentInstructionStatus], title: str = "Payment instructions (multilateral netting)"
) -> Table:
    """Payment instructions with what is paid and outstanding."""
    table = Table(title=title)
    for column in ("instruction", "period", "payer", "payee", "amount", "paid", "outstanding", "state"):
        table.add_column(column, justify="right" if column in ("amount", "paid", "outstanding") else "left")
    for i in instructions:
        table.add_row(
            i.instruction_id,
            i.period_id,
            i.payer_partner_id,
            i.payee_partner_id,
            format_money(i.amount_minor, i.currency),
            format_money(i.paid_minor, i.currency),
            format_money(i.outstanding_minor, i.currency),
            i.state,
        )
    return table


def report_table(report: ReconciliationReport) -> Table:
    """A reconciliation's summary counts."""
    table = Table(title=f"Reconciliation {report.reconciliation_id} of {report.period_id}")
    table.add_column("figure")
    table.add_column("count", justify="right")
    for label, value in (
        ("lines in the brand's file", report.brand_lines),
        ("the brand's movements at the hub", report.hub_movements),
        ("matched", report.matched),
        ("missing at the hub", report.missing_at_hub),
        ("missing at the brand", report.missing_at_brand),
        ("amount mismatch", report.amount_mismatch),
        ("duplicate", report.duplicate),
        ("in another period", report.in_other_period),
        ("breaks in all", report.breaks),
    ):
        table.add_row(label, f"{value:,}")
    return table


def breaks_table(breaks: Iterable[ReconciliationBreak], title: str = "Breaks") -> Table:
    """Breaks with both sides' values."""
    table = Table(title=title)
    for column in ("kind", "movement", "line", "hub says", "brand says"):
        table.add_column(column)
    for b in breaks:
        table.add_row(
            b.kind,
            b.movement_id,
            str(b.line_number or ""),
            _side(b.hub),
            _side(b.brand),
        )
    return table


def _side(v: MovementValues | None) -> str:
    if v is None:
        return "—"
    return (
        f"{v.kind} {v.period_id} {v.source_points:,} source brand's points / {v.target_points:,} target brand's "
        f"points, {format_money(v.amount_minor, v.currency)}"
    )


def disputes_table(disputes: Iterable[Dispute], title: str = "Disputes") -> Table:
    """Disputes and where they stand."""
    table = Table(title=title)
    for column in ("dispute", "opened by", "against", "about", "claimed", "awarded", "state", "respond by"):
        table.add_column(column, justify="right" if column in ("claimed", "awarded") else "left")
    for d in disputes:
        table.add_row(
            d.dispute_id,
            d.opened_by,
            d.counterparty,
            d.movement_id or f"{d.statement_id} line",
            format_money(d.claimed_amount_minor, d.currency),
            format_money(d.awarded_amount_minor, d.currency),
            d.state,
            _when(d.respond_by),
        )
    return table


def export_statement(
    client: ExchangeClient | OperatorClient,
    statement: Statement,
    doc: StatementDocument,
    out_dir: Path,
    formats: Sequence[str],
    console: Console,
) -> list[Path]:
    """Write a statement's CSV / JSON / HTML files, streaming its movements page by page; return the paths.

    The page shows the movements' sums per flow (whose points, which direction), so it is written
    last, from the totals the CSV or JSON pass counted, or from a pass of its own when it is alone.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    flows: dict[Flow, CurrencyTotals] | None = None
    for fmt in sorted(formats, key=lambda f: f == "html"):
        path = out_dir / f"{statement.statement_id}.{fmt}"
        if fmt == "html":
            if flows is None:
                flows = {}
                with _MovementProgress(console, f"HTML {statement.statement_id}", doc.movement_count) as tick:
                    for _ in count_flows(tick(client.iter_statement_movements(statement.statement_id)), flows):
                        pass  # count_flows adds each movement to flows as it passes
            path.write_text(render_statement_html(statement, doc, flows=flows), encoding="utf-8")
        else:
            counted: dict[Flow, CurrencyTotals] = {}
            with (
                path.open("w", encoding="utf-8", newline="") as out,
                _MovementProgress(console, f"{fmt.upper()} {statement.statement_id}", doc.movement_count) as tick,
            ):
                moved = count_flows(tick(client.iter_statement_movements(statement.statement_id)), counted)
                if fmt == "csv":
                    write_movements_csv(
                        out,
                        period_id=statement.period_id,
                        partner_id=statement.partner_id,
                        statement_id=statement.statement_id,
                        movements=moved,
                    )
                else:
                    write_statement_json(out, statement, moved)
            flows = counted
        written[fmt] = path
    return [written[fmt] for fmt in formats]


class _MovementProgress:
    """A progress bar over movements as they stream by (quiet when the output is not a terminal)."""

    def __init__(self, console: Console, label: str, total: int) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        )
        self._task = self._bar.add_task(label, total=total)

    def __enter__(self) -> _MovementProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def __call__(self, movements: Iterable[Movement]) -> Iterable[Movement]:
        for movement in movements:
            yield movement
            self._bar.advance(self._task)
