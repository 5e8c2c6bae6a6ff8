"""The statement page in a real browser: nothing wider than the window at 1200 and 800 px, nor than A4 in print.

Headless Chromium loads a copy of the page with a probe script added (and the page's Content-Security-Policy
opened for that one inline script). On load the probe measures every element: a box reaching past the left
or right edge of the window, content wider than its own box (text spilling out of a cell), or a chart label
outside its chart is named; the probe writes what it found into the DOM, which --dump-dom prints. Print is
checked the same way with the page's print rules applied on screen, at the width of an A4 page's content box
(210 mm less the 14 mm margins either side, at 96 px an inch: 688 px); --print-to-pdf then prints the page
itself, which must come out as A4 pages.

The statement is built to break a careless layout: 32-character brand ids (some with no hyphen to break
at), fourteen counterparties in two currencies, and amounts in the tens of quadrillions of minor units.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from partner_sdk.settlement import verify_statement
from partner_sdk.settlement_csv import CurrencyTotals, Flow
from partner_sdk.settlement_html import render_statement_html
from tests.unit.test_sdk_settlement import HUB_PUBLIC, ME, document_value, line, sign

A4_CONTENT_WIDTH_PX = 688  # (210 mm - 2 * 14 mm) / 25.4 mm * 96 px
CHROMIUM_TIMEOUT_S = 120
PROBE_ID = "overflow-probe"
PROBE = """<script>
addEventListener("load", () => {
  const root = document.documentElement, width = root.clientWidth, found = [];
  const name = (el) => el.tagName.toLowerCase() + (typeof el.className === "string" && el.className
    ? "." + el.className : "");
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const text = (el.textContent || "").trim().slice(0, 48);
    if (box.left < -0.5 || box.right > width + 0.5) {
      found.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)} px of ${width}: ${text}`);
    }
    if (el instanceof HTMLElement && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name(el)} holds ${el.scrollWidth} px in ${el.clientWidth} px: ${text}`);
    }
    const chart = el.ownerSVGElement && el.ownerSVGElement.getBoundingClientRect();
    if (chart && (box.left < chart.left - 0.5 || box.right > chart.right + 0.5)) {
      found.push(`${name(el)} is cut off by its chart: ${text}`);
    }
  }
  const out = document.createElement("pre");
  out.id = "overflow-probe";
  out.textContent = JSON.stringify({width, scrollWidth: root.scrollWidth, found});
  document.body.appendChild(out);
});
</script>
"""


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not on PATH: CI must install it (.ci/run does, with apt)")
        pytest.skip("chromium is not on PATH (apt-get install chromium)")
    return found


def _run(chromium: str, tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with its own profile; return what it printed."""
    argv = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium's sandbox refuses to run as root
        *args,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=False)
    assert done.returncode == 0, (argv, done.stderr[-2000:])
    return done.stdout


def _long_id(number: int) -> str:
    """A 32-character brand id; every third has no hyphen, so a browser finds no place to break it."""
    if number % 3 == 0:
        return f"globalairlinefrequentflyerclub{number:02d}"
    return f"northern-lights-travel-rewards{number:02d}"


def _big_statement() -> tuple[str, dict[Flow, CurrencyTotals]]:
    """The page of a statement with many long-named counterparties and huge amounts, with its flows."""
    lines = []
    flows: dict[Flow, CurrencyTotals] = {}
    for number in range(14):
        other, currency = _long_id(number), ("EUR", "JPY")[number % 2]
        retired, issued = 7_777_777_777_777_777 - number, 6_666_666_666_666_666 + number
        payable, receivable = 98_765_432_109_876_543 - number * 1_000_003, 87_654_321_098_765_432 + number
        lines.append(
            line(
                other,
                currency,
                as_source=123_456 + number,
                as_target=654_321,
                retired=retired,
                issued=issued,
                payable=payable,
                receivable=receivable,
            )
        )
        flows[Flow(currency, ME, other)] = CurrencyTotals(123_456 + number, retired, 5_555_555_555_555_555, payable)
        flows[Flow(currency, other, ME)] = CurrencyTotals(654_321, 4_444_444_444_444_444, issued, receivable)
    value = document_value(
        display_name="The Extraordinarily Long-Named Loyalty Partner Holdings International",
        partner=ME,
        lines=lines,
    )
    value["control_totals"] = _control_totals(flows)
    statement = sign(value)
    return render_statement_html(statement, verify_statement(statement, HUB_PUBLIC), flows=flows), flows


def _control_totals(flows: dict[Flow, CurrencyTotals]) -> list[dict[str, Any]]:
    """The signed control totals as the hub writes them: per currency, the flows' sums added."""
    by_currency: dict[str, CurrencyTotals] = {}
    for flow, sums in sorted(flows.items()):
        by_currency[flow.currency] = by_currency.get(flow.currency, CurrencyTotals()).add(sums)
    return [
        {
            "currency": currency,
            "movements": sums.count,
            "source_points": sums.source_points,
            "target_points": sums.target_points,
            "amount_minor": sums.amount_minor,
        }
        for currency, sums in sorted(by_currency.items())
    ]


def _probe_copy(page: str, *, print_rules: bool) -> str:
    """The page with the probe script allowed and added; with print_rules, its rules as print applies them."""
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    assert policy in page, "the page's Content-Security-Policy changed: update the probe"
    probed = page.replace(policy, policy + "; script-src 'unsafe-inline'", 1)
    if print_rules:  # as in print: the print rules apply, the screen-only ones do not
        assert "@media print{" in probed
        probed = probed.replace("@media print{", "@media all{", 1).replace("@media screen", "@media not all")
    return probed.replace("</body>", PROBE + "</body>", 1)


def _overflow(chromium: str, tmp_path: Path, page: str, *, width: int, print_rules: bool = False) -> dict[str, Any]:
    path = tmp_path / f"probe-{width}{'-print' if print_rules else ''}.html"
    path.write_text(_probe_copy(page, print_rules=print_rules), encoding="utf-8")
    dom = _run(
        chromium, tmp_path, f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom", path.as_uri()
    )
    found = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', dom, re.DOTALL)
    assert found is not None, dom[-2000:]
    result: dict[str, Any] = json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    return result


@pytest.fixture(scope="module")
def page() -> str:
    return _big_statement()[0]


@pytest.mark.parametrize(
    ("width", "print_rules"), [(1200, False), (800, False), (A4_CONTENT_WIDTH_PX, True)], ids=["1200px", "800px", "A4"]
)
def test_nothing_on_the_page_is_wider_than_the_window_or_the_printed_page(
    page: str, tmp_path: Path, width: int, print_rules: bool
) -> None:
    chromium = _chromium()
    result = _overflow(chromium, tmp_path, page, width=width, print_rules=print_rules)
    assert result["width"] <= width
    assert result["scrollWidth"] <= result["width"], result
    assert result["found"] == [], "\n".join(result["found"])


def test_the_page_prints_on_a4_and_a_screenshot_is_kept(page: str, tmp_path: Path) -> None:
    chromium = _chromium()
    path = tmp_path / "statement.html"
    path.write_text(page, encoding="utf-8")
    screenshot = tmp_path / "statement-1200.png"
    _run(chromium, tmp_path, f"--screenshot={screenshot}", "--window-size=1200,900", path.as_uri())
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    pdf = tmp_path / "statement.pdf"
    _run(chromium, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", path.as_uri())
    printed = pdf.read_bytes()
    assert printed.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", printed)
    assert boxes, "no page in the PDF"
    assert {(round(float(w)), round(float(h))) for w, h in boxes} == {(595, 842)}  # A4 in points


def test_the_statement_is_one_that_breaks_a_careless_layout(page: str) -> None:
    """The layout checks above mean something only if the page has what overflows a careless layout."""
    text = page.replace("<wbr>", "")
    assert text.count("globalairlinefrequentflyerclub") >= 8
    assert "98,765,432,108,876,540 JPY" in text  # counterparty 1 pays 1,000,003 less than 0
    assert "987,654,321,098,765.43 EUR" in text


def test_without_chromium_the_checks_skip_on_a_workstation_and_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install it"):
        _chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _chromium()
