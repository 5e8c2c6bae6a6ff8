"""Exports of a statement for people: streaming JSON with every movement, and a printable HTML page.

Both are views of a statement, not evidence: the signature covers the document only, so
check it with verify_statement, or offline with ``coalition settlement verify --file STATEMENT.json
--hub-public-key HEX`` (VERIFY_COMMAND, the form the page names), before relying on either.
Every number is an int and every amount is formatted with integer arithmetic, never a float.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

from partner_sdk.settlement import (
    CounterpartyLine,
    Movement,
    Statement,
    StatementDocument,
    canonical_json,
    format_utc_ms,
)
from partner_sdk.settlement_csv import CurrencyTotals, Flow, count_flows

__all__ = [
    "VERIFY_COMMAND",
    "format_money",
    "format_points",
    "period_start",
    "points_of",
    "render_statement_html",
    "write_statement_json",
]

# The offline check the page tells its reader to run; STATEMENT.json and HEX are placeholders.
VERIFY_COMMAND = "coalition settlement verify --file STATEMENT.json --hub-public-key HEX"

# ISO 4217 minor-unit exponents that are not 2.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}
_DEFAULT_MINOR_DIGITS = 2

# Bar chart geometry, in SVG user units (integers).
_LABEL_WIDTH = 200
_HALF_BAR = 200  # the longest bar, either side of the zero axis
_CHAR_WIDTH = 8  # a 12 px digit or letter is narrower, so an amount's text fits its column
_LABEL_CHARS = 22  # 22 characters of a name fit in _LABEL_WIDTH at 12 px
_ID_RUN = 12  # an id wraps after this many characters without a separator: a column's narrowest
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
    "payment_instructions", "movements", "flow_totals"}: the signed document as an object, the
    envelope, the live payment status, one object per movement, and the movements' sums per flow
    (currency, source_partner_id, target_partner_id: the CSV's trailer records), whose
    source_points are the source brand's points and target_points the target brand's. The
    document's own control_totals add both brands' points per currency: a signed check sum, kept
    as signed. The movement list is never held whole.

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
    flows: dict[Flow, CurrencyTotals] = {}
    for movement in count_flows(movements, flows):
        out.write(",\n" if count else "\n")
        out.write(_json(movement.to_json_value()))
        count += 1
    out.write('\n],\n"flow_totals":[')
    for index, (flow, sums) in enumerate(sorted(flows.items())):
        out.write(",\n" if index else "\n")
        out.write(_json(_flow_json(flow, sums)))
    out.write("\n]}\n")
    return count


def _flow_json(flow: Flow, sums: CurrencyTotals) -> dict[str, object]:
    return {
        "currency": flow.currency,
        "source_partner_id": flow.source_partner_id,
        "target_partner_id": flow.target_partner_id,
        "movements": sums.count,
        "source_points": sums.source_points,
        "target_points": sums.target_points,
        "amount_minor": sums.amount_minor,
    }


def _json(value: object) -> str:
    return canonical_json(value).decode("ascii")


# Fits any window down to ~800 px and an A4 page (tests/e2e/test_statement_page.py measures it in Chromium):
# ids may break every _ID_RUN characters and numbers at their thousands separators (both by <wbr>, so a table
# column is never narrower than that), headers wrap between words, the chart scales.
_CSS = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;margin:24px auto;
max-width:1080px;padding:0 16px;font-size:14px;overflow-wrap:break-word}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:2px solid #d8d8d8}
h3{font-size:14px;margin:16px 0 4px}
table{border-collapse:collapse;width:100%;table-layout:auto;margin:4px 0 8px}
th,td{border:1px solid #d0d0d0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600;hyphens:auto}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{overflow-wrap:normal}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 16px;margin:8px 0}
dt{font-weight:600}
dd{margin:0;min-width:0}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.note{border-left:4px solid #b58900;background:#fdf6e3;padding:8px 12px;margin:12px 0}
.muted{color:#555}
svg{display:block;max-width:100%;height:auto;margin:4px 0}
svg text{font-family:inherit;font-size:12px;fill:#1b1b1b}
.owes{fill:#b3261e}
.owed{fill:#2e7d32}
.axis{stroke:#1b1b1b;stroke-width:1}
@media screen and (max-width:900px){body{margin:12px auto;padding:0 8px;font-size:13px}table{font-size:12px}
th,td{padding:3px 4px}}
@page{size:A4;margin:14mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:9px;color:#000}
h1{font-size:16px}h2{font-size:12px;margin:14px 0 4px;break-after:avoid}h3{font-size:10px;break-after:avoid}
th,td{padding:2px 3px}code{font-size:8px}
svg,dl{break-inside:avoid}tr{break-inside:avoid}thead{display:table-header-group}
.note{background:none}th{background:none}}
"""

_SINCE_START = "since the coalition started"  # what a period opened at epoch 0 (the first one) says


class _Html(str):
    """Text that is already HTML (escaped where it had to be): table cells pass it through as it is."""

    __slots__ = ()


def render_statement_html(
    statement: Statement, document: StatementDocument, *, flows: Mapping[Flow, CurrencyTotals] | None = None
) -> str:
    """Return a standalone, printable HTML5 page of a statement: no scripts, no external resources.

    Pass the document verify_statement returned: the page shows it and does not claim it was verified.
    Every points figure names whose points it is (each brand's points are their own currency) and
    every money total says whether it is gross or net. The signed document holds only the brand's
    own points; pass flows, the statement's movements summed per flow (count_flows, as the CSV
    trailers carry them), to show the counterparties' points too: the page checks them against
    the signed figures and says if they disagree.
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
        _control_totals(d, flows),
        f'<p class="muted">Document SHA-256 <code>{_e(statement.document_sha256)}</code>.</p>\n',
        "</body>\n</html>\n",
    ]
    return "".join(parts)


def period_start(opened_at_ms: int) -> str:
    """When a period opened, for people: the first period opened at epoch 0, so it says since the start."""
    return _SINCE_START if opened_at_ms == 0 else _when(opened_at_ms)


def points_of(brand: str) -> str:
    """The name of a brand's point currency: 'stride points'."""
    return f"{brand} points"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _when(ms: int) -> str:
    return format_utc_ms(ms).replace("T", " ").replace("Z", " UTC")


def _number(text: str) -> _Html:
    """A formatted number that may wrap at its thousands separators, and nowhere else."""
    return _Html(_e(text).replace(",", ",<wbr>"))


def _points(points: int, brand: str) -> _Html:
    """A points figure with its unit: '1,<wbr>200 stride points'."""
    return _Html(f"{_number(format_points(points))} {_id(points_of(brand))}")


def _id(text: str) -> _Html:
    """An id (or a name holding one) that may wrap after a separator or every _ID_RUN characters of a run."""
    return _Html(
        "".join(
            "<wbr>".join(_e(run[i : i + _ID_RUN]) for i in range(0, len(run), _ID_RUN))
            for run in re.split(r"([-_./ ])", text)
        )
    )


def _table(headers: Sequence[str], numeric: Sequence[bool], rows: Iterable[Sequence[str]]) -> str:
    """A table of cells: plain text is escaped (and may wrap, see _id and _number), _Html is kept as it is.

    Numeric columns are right-aligned.
    """
    classes = [' class="num"' if flag else "" for flag in numeric]
    head = "".join(f"<th{c}>{_cell(h, False)}</th>" for h, c in zip(headers, classes, strict=True))
    body = [
        "<tr>" + "".join(f"<td{c}>{_cell(v, bool(c))}</td>" for v, c in zip(row, classes, strict=True)) + "</tr>"
        for row in rows
    ]
    if not body:
        return '<p class="muted">None.</p>\n'
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"


def _cell(value: str, numeric: bool) -> str:
    if isinstance(value, _Html):
        return value
    return _number(value) if numeric else _id(value)


def _summary(statement: Statement, d: StatementDocument) -> str:
    own = f", points in {d.point_currency}" if d.point_currency else ", no points of its own"
    items = [
        ("Brand", f"{d.display_name} ({d.partner_id}){own}"),
        ("Period", f"{d.period.period_id} (number {d.period.number})"),
        ("Opened", period_start(d.period.opened_at_ms)),
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
        '<p class="note">This page does not check the hub\'s signature. Before relying on it, verify the '
        f'statement offline with <code class="command">{_e(VERIFY_COMMAND)}</code>, where STATEMENT.json is its '
        f"JSON export (<code>coalition settlement export</code> writes it as <code>{_e(d.statement_id)}.json</code>) "
        "and HEX is the hub's public key as the coalition operator gave it to you, not as a file or this page "
        "says it is (or use <code>partner_sdk.settlement.verify_statement</code>).</p>\n"
    )
    return f"<h2>Summary</h2>\n<dl>{rows}{hashes}</dl>\n{note}"


def _counterparties(d: StatementDocument) -> str:
    mine = points_of(d.partner_id)
    headers = (
        "Counterparty", "Currency", f"{mine} retired for the counterparty", f"{mine} issued for the counterparty",
        "Movements as source", "Movements as target", "Gross payable", "Gross receivable", "Bilateral net",
    )  # fmt: skip
    rows = [
        (
            c.counterparty,
            c.currency,
            _points(c.points_retired_for_counterparty, d.partner_id),
            _points(c.points_issued_for_counterparty, d.partner_id),
            format_points(c.movements_as_source),
            format_points(c.movements_as_target),
            format_money(c.money_payable_minor, c.currency),
            format_money(c.money_receivable_minor, c.currency),
            format_money(c.bilateral_net_minor, c.currency),
        )
        for c in d.counterparties
    ]
    numeric = (False, False, *[True] * 7)
    intro = (
        f'<p class="muted">Points retired are {_e(mine)} taken from {_e(d.partner_id)}\'s members when it was '
        "the source; points issued are given to them when it was the target. Gross payable is what it owes the "
        "counterparty, gross receivable what it is owed; the bilateral net is receivable less payable.</p>\n"
    )
    return "<h2>Counterparties</h2>\n" + intro + _table(headers, numeric, rows)


def _net_positions(d: StatementDocument) -> str:
    parts = [
        "<h2>Net positions</h2>\n",
        '<p class="muted">Bars to the right of the axis: owed to the brand; to the left: owed by it.</p>\n',
    ]
    for position in d.net_positions:
        lines = [c for c in d.counterparties if c.currency == position.currency]
        net = format_money(position.net_minor, position.currency)
        parts.append(f"<h3>{_e(position.currency)}: net {_number(net)}</h3>\n")
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
    """One horizontal bar per counterparty's bilateral net and one for the net position, on one scale.

    The chart scales with the page, text too, so it never overflows: a long name is cut to
    _LABEL_CHARS (whole in the bar's tooltip and in the table above) and the value column is
    as wide as the longest amount.
    """
    bars = [(line.counterparty, line.bilateral_net_minor) for line in lines] + [("Net position", net_minor)]
    scale = max(abs(value) for _, value in bars) or 1
    axis_x = _LABEL_WIDTH + _HALF_BAR
    value_width = _PAD + _CHAR_WIDTH * max(len(format_money(value, currency)) for _, value in bars)
    width = _LABEL_WIDTH + 2 * _HALF_BAR + value_width
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
        shown = name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "\u2026"
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{text_y}" text-anchor="end"{weight}>{_e(shown)}</text>'
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


def _control_totals(d: StatementDocument, flows: Mapping[Flow, CurrencyTotals] | None) -> str:
    """Sums over the brand's movements: money per currency, points per point currency, and per flow."""
    me = d.partner_id
    parts = [
        "<h2>Control totals</h2>\n",
        "<p class=\"muted\">Sums over the brand's movements. Each brand's points are a currency of their own, "
        "so points are only ever added to the same brand's points; money is summed per currency, what the brand "
        "owes (gross payable) apart from what it is owed (gross receivable).</p>\n",
        "<h3>Money, per currency</h3>\n",
        _money_totals(d),
        "<h3>Points, per point currency</h3>\n",
    ]
    points: dict[str, list[int]] = {me: [0, 0]}  # brand -> [its points retired (out), its points issued (in)]
    for line in d.counterparties:
        points[me][0] += line.points_retired_for_counterparty
        points[me][1] += line.points_issued_for_counterparty
    for flow, sums in sorted((flows or {}).items()):
        if flow.source_partner_id != me:
            points.setdefault(flow.source_partner_id, [0, 0])[0] += sums.source_points
        if flow.target_partner_id != me:
            points.setdefault(flow.target_partner_id, [0, 0])[1] += sums.target_points
    rows = [
        (_point_currency(d, brand), _points(out, brand), _points(into, brand))
        for brand, (out, into) in points.items()
        if brand == me or out or into
    ]
    headers = ("Point currency", "Out: retired from its members", "In: issued to its members")
    parts.append(_table(headers, (False, True, True), rows))
    if flows is None:
        parts.append(
            f'<p class="muted">The signed statement holds {_e(points_of(me))} only. The counterparties\' points '
            "are in the CSV export's trailer records, one per flow (and on this page as "
            "<code>coalition settlement export</code> writes it).</p>\n"
        )
        return "".join(parts)
    parts.append("<h3>Per flow: the CSV export's trailer records</h3>\n")
    if wrong := _disagreements(d, flows):
        parts.append(
            '<p class="note">The movements listed with this statement do not add up to its signed figures ('
            + _e("; ".join(wrong))
            + "): these sums are not the statement's. Rely on the signed figures above and ask the hub.</p>\n"
        )
    else:
        parts.append('<p class="muted">They add up to the signed control totals and counterparty lines.</p>\n')
    flow_rows = [
        (
            flow.currency,
            flow.source_partner_id,
            flow.target_partner_id,
            format_points(sums.count),
            _points(sums.source_points, flow.source_partner_id),
            _points(sums.target_points, flow.target_partner_id),
            format_money(sums.amount_minor, flow.currency),
        )
        for flow, sums in sorted(flows.items())
    ]
    flow_headers = ("Currency", "Source (owes)", "Target (is owed)", "Movements", "Source's points retired",
               "Target's points issued", "Owed by source to target, gross")  # fmt: skip
    parts.append(_table(flow_headers, (False, False, False, True, True, True, True), flow_rows))
    return "".join(parts)


def _point_currency(d: StatementDocument, brand: str) -> str:
    own = brand == d.partner_id and d.point_currency
    return f"{points_of(brand)} ({d.point_currency})" if own else points_of(brand)


def _money_totals(d: StatementDocument) -> str:
    me = d.partner_id
    payable: dict[str, int] = {}
    receivable: dict[str, int] = {}
    for line in d.counterparties:
        payable[line.currency] = payable.get(line.currency, 0) + line.money_payable_minor
        receivable[line.currency] = receivable.get(line.currency, 0) + line.money_receivable_minor
    rows = [
        (
            t.currency,
            format_points(t.movements),
            format_money(payable.get(t.currency, 0), t.currency),
            format_money(receivable.get(t.currency, 0), t.currency),
            format_money(receivable.get(t.currency, 0) - payable.get(t.currency, 0), t.currency),
        )
        for t in d.control_totals
    ]
    headers = ("Currency", "Movements", f"Gross payable (owed by {me})", f"Gross receivable (owed to {me})",
               "Net (receivable - payable)")  # fmt: skip
    return _table(headers, (False, True, True, True, True), rows)


def _disagreements(d: StatementDocument, flows: Mapping[Flow, CurrencyTotals]) -> list[str]:
    """What in flows disagrees with the signed document: its control totals and counterparty lines."""
    me, wrong = d.partner_id, []
    listed: dict[str, CurrencyTotals] = {}
    for flow, sums in flows.items():
        if me not in (flow.source_partner_id, flow.target_partner_id):
            wrong.append(f"a flow {flow.describe()} not of {me}")
        listed[flow.currency] = listed.get(flow.currency, CurrencyTotals()).add(sums)
    signed = {t.currency: CurrencyTotals(t.movements, t.source_points, t.target_points, t.amount_minor) for t in
              d.control_totals}  # fmt: skip
    wrong += [
        f"the {c} control totals" for c in sorted(signed.keys() | listed.keys()) if signed.get(c) != listed.get(c)
    ]
    for line in d.counterparties:
        out = flows.get(Flow(line.currency, me, line.counterparty), CurrencyTotals())
        into = flows.get(Flow(line.currency, line.counterparty, me), CurrencyTotals())
        says = (line.movements_as_source, line.points_retired_for_counterparty, line.money_payable_minor,
                line.movements_as_target, line.points_issued_for_counterparty, line.money_receivable_minor)  # fmt: skip
        if says != (out.count, out.source_points, out.amount_minor, into.count, into.target_points, into.amount_minor):
            wrong.append(f"the {line.currency} line of {line.counterparty}")
    return wrong
