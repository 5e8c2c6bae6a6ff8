"""Exports of a statement for people: streaming JSON with every movement, and a printable HTML page.

Both are views of a statement, not evidence: the signature covers the document only, so
check it with verify_statement (or ``coalition statements verify``) before relying on either.
Every number is an int and every amount is formatted with integer arithmetic, never a float.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from typing import TextIO

from partner_sdk.settlement import (
    CounterpartyLine,
    Movement,
    Statement,
    StatementDocument,
    canonical_json,
    format_utc_ms,
)

__all__ = ["format_money", "format_points", "render_statement_html", "write_statement_json"]

# ISO 4217 minor-unit exponents that are not 2.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}
_DEFAULT_MINOR_DIGITS = 2

# Bar chart geometry, in SVG user units (integers).
_LABEL_WIDTH = 200
_HALF_BAR = 200  # the longest bar, either side of the zero axis
_VALUE_WIDTH = 160
_ROW_HEIGHT = 26
_BAR_HEIGHT = 16
_PAD = 10


def format_money(amount_minor: int, currency: str) -> str:
    """Format minor units as major units with the currency's decimals: -1400 EUR -> '-14.00 EUR'.

    Thousands are separated with commas: 123456789 USD -> '1,234,567.89 USD'; 1500 JPY -> '1,500 JPY'.
    """
    digits = _MINOR_DIGITS.get(currency, _DEFAULT_MINOR_DIGITS)
    major, minor = divmod(abs(amount_minor), 10**digits)
    sign = "-" if amount_minor < 0 else ""
    fraction = f".{minor:0{digits}d}" if digits else ""
    return f"{sign}{major:,}{fraction} {currency}"


def format_points(points: int) -> str:
    """Format points with thousands separators: 1234567 -> '1,234,567'."""
    return f"{points:,}"


def write_statement_json(out: TextIO, statement: Statement, movements: Iterable[Movement]) -> int:
    """Write the statement and its movements as one JSON object, one movement at a time.

    The object is {"statement", "document_sha256", "signature_base64", "hub_key_id",
    "payment_instructions", "movements"}: the signed document as an object, the envelope, the
    live payment status and one object per movement. The movement list is never held whole.

    Returns:
        The number of movements written.

    Raises:
        StatementFormatError: the statement's document is malformed.
    """
    document = StatementDocument.from_json(statement.document)
    envelope = {
        "document_sha256": statement.document_sha256,
        "signature_base64": base64.b64encode(statement.signature).decode("ascii"),
        "hub_key_id": statement.hub_key_id,
        "payment_instructions": [status.to_json_value() for status in statement.payment_instructions],
    }
    out.write('{"statement":')
    out.write(_json(document.to_json_value()))
    for key, value in envelope.items():
        out.write(f",\n{_json(key)}:{_json(value)}")
    out.write(',\n"movements":[')
    count = 0
    for movement in movements:
        out.write(",\n" if count else "\n")
        out.write(_json(movement.to_json_value()))
        count += 1
    out.write("\n]}\n")
    return count


def _json(value: object) -> str:
    return canonical_json(value).decode("ascii")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;margin:24px auto;
max-width:1080px;padding:0 16px;font-size:14px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #d8d8d8}
h3{font-size:14px;margin:16px 0 4px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600}
.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
dt{font-weight:600}
dd{margin:0}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.note{border-left:4px solid #b58900;background:#fdf6e3;padding:8px 12px;margin:12px 0}
.muted{color:#555}
svg{display:block;max-width:100%;height:auto;margin:4px 0}
svg text{font-family:inherit;font-size:12px;fill:#1b1b1b}
.owes{fill:#b3261e}
.owed{fill:#2e7d32}
.axis{stroke:#1b1b1b;stroke-width:1}
@page{size:A4;margin:14mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:11px;color:#000}
h2{break-after:avoid}table,svg,dl{break-inside:avoid}tr{break-inside:avoid}
.note{background:none}th{background:none}}
"""


def render_statement_html(statement: Statement, document: StatementDocument) -> str:
    """Return a standalone, printable HTML5 page of a statement: no scripts, no external resources.

    Pass the document verify_statement returned: the page shows it and does not claim it was verified.
    """
    d = document
    title = f"Settlement statement {d.period.period_id} - {d.display_name}"
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n",
        f"<h1>{_e(title)}</h1>\n",
        f'<p class="muted">{_e(d.partner_id)} &middot; statement {_e(d.statement_id)}</p>\n',
        _summary(statement, d),
        _counterparties(d),
        _net_positions(d),
        _payments(statement, d),
        _outstanding(d),
        _control_totals(d),
        f'<p class="muted">Document SHA-256 <code>{_e(statement.document_sha256)}</code>.</p>\n',
        "</body>\n</html>\n",
    ]
    return "".join(parts)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _when(ms: int) -> str:
    return format_utc_ms(ms).replace("T", " ").replace("Z", " UTC")


def _table(headers: Sequence[str], numeric: Sequence[bool], rows: Iterable[Sequence[str]]) -> str:
    """A table of plain-text cells (escaped here); numeric columns are right-aligned."""
    classes = [' class="num"' if flag else "" for flag in numeric]
    head = "".join(f"<th{c}>{_e(h)}</th>" for h, c in zip(headers, classes, strict=True))
    body = [
        "<tr>" + "".join(f"<td{c}>{_e(v)}</td>" for v, c in zip(row, classes, strict=True)) + "</tr>" for row in rows
    ]
    if not body:
        return '<p class="muted">None.</p>\n'
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"


def _summary(statement: Statement, d: StatementDocument) -> str:
    items = [
        ("Brand", f"{d.display_name} ({d.partner_id}), points in {d.point_currency}"),
        ("Period", f"{d.period.period_id} (number {d.period.number})"),
        ("Opened", _when(d.period.opened_at_ms)),
        ("Cut-off", _when(d.period.cutoff_ms)),
        ("Closed", _when(d.period.closed_at_ms)),
        ("Sequence", str(d.sequence)),
        ("Movements", format_points(d.movement_count)),
        ("Hub key id", d.hub_key_id),
    ]
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    hashes = (
        f"<dt>Document SHA-256</dt><dd><code>{_e(statement.document_sha256)}</code></dd>"
        f"<dt>Previous statement SHA-256</dt><dd><code>{_e(d.previous_statement_sha256)}</code></dd>"
    )
    note = (
        '<p class="note">This page does not check the hub\'s signature. Verify the statement with '
        "<code>coalition statements verify</code> (or <code>partner_sdk.settlement.verify_statement</code>) "
        "before relying on it.</p>\n"
    )
    return f"<h2>Summary</h2>\n<dl>{rows}{hashes}</dl>\n{note}"


def _counterparties(d: StatementDocument) -> str:
    headers = (
        "Counterparty", "Currency", f"Points retired ({d.point_currency})", f"Points issued ({d.point_currency})",
        "Movements as source", "Movements as target", "Payable", "Receivable", "Bilateral net",
    )  # fmt: skip
    rows = [
        (
            c.counterparty,
            c.currency,
            format_points(c.points_retired_for_counterparty),
            format_points(c.points_issued_for_counterparty),
            format_points(c.movements_as_source),
            format_points(c.movements_as_target),
            format_money(c.money_payable_minor, c.currency),
            format_money(c.money_receivable_minor, c.currency),
            format_money(c.bilateral_net_minor, c.currency),
        )
        for c in d.counterparties
    ]
    numeric = (False, False, *[True] * 7)
    return "<h2>Counterparties</h2>\n" + _table(headers, numeric, rows)


def _net_positions(d: StatementDocument) -> str:
    parts = [
        "<h2>Net positions</h2>\n",
        '<p class="muted">Bars to the right of the axis: owed to the brand; to the left: owed by it.</p>\n',
    ]
    for position in d.net_positions:
        lines = [c for c in d.counterparties if c.currency == position.currency]
        parts.append(f"<h3>{_e(position.currency)}: {_e(format_money(position.net_minor, position.currency))}</h3>\n")
        parts.append(_bar_chart(position.currency, lines, position.net_minor))
    rows = [
        (
            c.currency,
            format_points(c.partners),
            format_money(c.sum_of_net_positions_minor, c.currency),
            "balanced" if c.sum_of_net_positions_minor == 0 else "NOT balanced",
        )
        for c in d.coalition_check
    ]
    parts.append("<h3>Coalition check</h3>\n")
    parts.append(_table(("Currency", "Partners", "Sum of net positions", "Check"), (False, True, True, False), rows))
    return "".join(parts)


def _bar_chart(currency: str, lines: Sequence[CounterpartyLine], net_minor: int) -> str:
    """One horizontal bar per counterparty's bilateral net and one for the net position, on one scale."""
    bars = [(line.counterparty, line.bilateral_net_minor) for line in lines] + [("Net position", net_minor)]
    scale = max(abs(value) for _, value in bars) or 1
    axis_x = _LABEL_WIDTH + _HALF_BAR
    width = _LABEL_WIDTH + 2 * _HALF_BAR + _VALUE_WIDTH
    height = 2 * _PAD + _ROW_HEIGHT * len(bars)
    label = f"Bilateral nets and net position in {currency}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">\n'
    ]
    for row, (name, value) in enumerate(bars):
        top = _PAD + row * _ROW_HEIGHT
        length = abs(value) * _HALF_BAR // scale  # integer division: no float geometry
        length = max(length, 1) if value else 0
        x = axis_x - length if value < 0 else axis_x
        text_y = top + _BAR_HEIGHT - 3
        money = format_money(value, currency)
        weight = ' font-weight="bold"' if row == len(bars) - 1 else ""
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{text_y}" text-anchor="end"{weight}>{_e(name)}</text>'
            f'<rect class="{"owes" if value < 0 else "owed"}" x="{x}" y="{top}" width="{length}" '
            f'height="{_BAR_HEIGHT}"><title>{_e(name)}: {_e(money)}</title></rect>'
            f'<text x="{axis_x + _HALF_BAR + 8}" y="{text_y}"{weight}>{_e(money)}</text>\n'
        )
    parts.append(f'<line class="axis" x1="{axis_x}" y1="{_PAD // 2}" x2="{axis_x}" y2="{height - _PAD // 2}"/>\n')
    parts.append("</svg>\n")
    return "".join(parts)


def _payments(statement: Statement, d: StatementDocument) -> str:
    headers = ("Instruction", "Currency", "Payer", "Payee", "Amount", "Paid", "Outstanding", "State")
    numeric = (False, False, False, False, True, True, True, False)
    if statement.payment_instructions:
        note = "Live status as the hub returned it with the statement (not covered by the signature)."
        rows = [
            (
                p.instruction_id,
                p.currency,
                p.payer_partner_id,
                p.payee_partner_id,
                format_money(p.amount_minor, p.currency),
                format_money(p.paid_minor, p.currency),
                format_money(p.outstanding_minor, p.currency),
                p.state,
            )
            for p in statement.payment_instructions
        ]
    else:
        note = "As at the close of the period; ask the hub for what has been paid since."
        rows = [
            (
                p.instruction_id,
                p.currency,
                p.payer,
                p.payee,
                format_money(p.amount_minor, p.currency),
                format_money(0, p.currency),
                format_money(p.amount_minor, p.currency),
                "OUTSTANDING",
            )
            for p in d.payment_instructions
        ]
    return f'<h2>Payment instructions</h2>\n<p class="muted">{_e(note)}</p>\n' + _table(headers, numeric, rows)


def _outstanding(d: StatementDocument) -> str:
    headers = ("Instruction", "Period", "Currency", "Payer", "Payee", "Outstanding")
    rows = [
        (o.instruction_id, o.period_id, o.currency, o.payer, o.payee, format_money(o.outstanding_minor, o.currency))
        for o in d.outstanding_from_earlier_periods
    ]
    numeric = (False, False, False, False, False, True)
    return "<h2>Outstanding from earlier periods</h2>\n" + _table(headers, numeric, rows)


def _control_totals(d: StatementDocument) -> str:
    headers = ("Currency", "Movements", "Source points", "Target points", "Amount")
    rows = [
        (
            t.currency,
            format_points(t.movements),
            format_points(t.source_points),
            format_points(t.target_points),
            format_money(t.amount_minor, t.currency),
        )
        for t in d.control_totals
    ]
    intro = '<p class="muted">Sums over the brand\'s movements: the trailer records of the CSV export.</p>\n'
    return "<h2>Control totals</h2>\n" + intro + _table(headers, (False, True, True, True, True), rows)
