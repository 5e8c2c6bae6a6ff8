"""The movements CSV: the file settlement staff open in a spreadsheet and scripts check.

UTF-8, comma-separated, RFC 4180 quoting, CRLF line ends. Line 1 is the column header line
(COLUMNS); then the records, in this order:

    H  one header record: period_id, partner_id (whose file), the statement id in movement_id
    D  one detail record per movement: every column but record_count
    T  one trailer record per flow that has D records, sorted by currency, source, target: a
       flow is one direction between two brands in one currency (source_partner_id owes
       target_partner_id); the sums of its D records' source_points (the source brand's
       points), target_points (the target brand's points) and amount_minor, and its D count
    E  one end record: the number of D records; a file without it was cut short

Points are each brand's own currency, so a points sum is only ever of one brand's points: on
every D and T record, source_points are source_partner_id's and target_points are
target_partner_id's, named two columns to their left.

Reading is backward compatible: a file whose T records leave source_partner_id and
target_partner_id empty has one T record per currency (the layout before flows, whose points
sums add both brands' points and are a check sum only); it is checked per currency. A file
has trailers of one kind, never both.

The writer and the reader stream, line by line, so neither ever holds a period's movements;
the hub parses a brand's uploaded file with parse_record and check_column_header. Integers
are read with a strict pattern and never through float().
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TextIO

from partner_sdk.settlement import INT64_MAX, MOVEMENT_KINDS, Movement, format_utc_ms, parse_utc_ms

__all__ = [
    "COLUMNS",
    "ControlSummary",
    "CurrencyTotals",
    "DetailRecord",
    "EndRecord",
    "Flow",
    "HeaderRecord",
    "LineProblem",
    "MovementCsvReader",
    "Record",
    "TrailerRecord",
    "check_column_header",
    "check_controls",
    "count_flows",
    "parse_record",
    "read_movements_csv",
    "write_movements_csv",
]

COLUMNS: tuple[str, ...] = (
    "record_type", "period_id", "partner_id", "movement_id", "kind", "final_at", "source_partner_id",
    "target_partner_id", "source_points", "target_points", "currency", "amount_minor", "record_count",
)  # fmt: skip
MAX_ID_CHARS = 64
MAX_LINE_CHARS = 4096  # 13 columns of at most 64 characters, quoted, fit many times over
MAX_PROBLEMS = 10_000  # a garbage upload must not grow the problem list without bound
MAX_FLOWS = 20_000  # (currency, source, target) triples a reader totals: a brand has two per counterparty and currency

_INDEX = {name: index for index, name in enumerate(COLUMNS)}
_ID_COLUMNS = frozenset({"period_id", "partner_id", "movement_id", "source_partner_id", "target_partner_id"})
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]*[.,][0-9]*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting with these as a formula
_MAX_DIGITS = len(str(INT64_MAX))  # int() of a huge digit string is slow, and refused past 4300 digits


@dataclass(frozen=True, slots=True)
class LineProblem:
    """What is wrong with one line of a file; line 1 is the column header line."""

    line_number: int
    problem: str


@dataclass(frozen=True, slots=True)
class HeaderRecord:
    """The H record: whose file, for which period, of which statement (may be empty for a brand's own file)."""

    line_number: int
    period_id: str
    partner_id: str
    statement_id: str


@dataclass(frozen=True, slots=True)
class DetailRecord:
    """A D record: one movement; movement.period_id is the line's period_id."""

    line_number: int
    movement: Movement


@dataclass(frozen=True, slots=True, order=True)
class Flow:
    """One direction between two brands in one currency: source owes target, as its movements say.

    A flow's source_points are all the source brand's points and its target_points all the target
    brand's, so its sums have one unit each. Flows sort by currency, then source, then target.
    """

    currency: str
    source_partner_id: str
    target_partner_id: str

    def describe(self) -> str:
        """Name the flow in a problem or a table: 'EUR sportsbrand -> musicbrand'."""
        return f"{self.currency} {self.source_partner_id} -> {self.target_partner_id}"


@dataclass(frozen=True, slots=True)
class TrailerRecord:
    """A T record: the sums and count of one flow's D records, or of one currency's in the earlier layout.

    source_partner_id and target_partner_id name the flow; both are empty in a per-currency
    trailer (the layout before flows), whose points sums add different brands' points.
    """

    line_number: int
    period_id: str
    partner_id: str
    currency: str
    source_points: int
    target_points: int
    amount_minor: int
    record_count: int
    source_partner_id: str = ""
    target_partner_id: str = ""

    @property
    def flow(self) -> Flow | None:
        """The flow this trailer sums, or None for a per-currency trailer."""
        if not self.source_partner_id:
            return None
        return Flow(self.currency, self.source_partner_id, self.target_partner_id)

    def describe(self) -> str:
        """Name what the trailer sums: 'EUR' or 'EUR sportsbrand -> musicbrand'."""
        return self.currency if self.flow is None else self.flow.describe()


@dataclass(frozen=True, slots=True)
class EndRecord:
    """The E record: how many D records the file has."""

    line_number: int
    period_id: str
    partner_id: str
    record_count: int


Record = HeaderRecord | DetailRecord | TrailerRecord | EndRecord


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """The count and sums of the D records of one flow (or of one currency: then the points mix brands)."""

    count: int = 0
    source_points: int = 0
    target_points: int = 0
    amount_minor: int = 0

    def plus(self, movement: Movement) -> CurrencyTotals:
        """Return these totals with one more movement counted in."""
        return CurrencyTotals(
            self.count + 1,
            self.source_points + movement.source_points,
            self.target_points + movement.target_points,
            self.amount_minor + movement.amount_minor,
        )

    def add(self, other: CurrencyTotals) -> CurrencyTotals:
        """Return these totals and other's, added."""
        return CurrencyTotals(
            self.count + other.count,
            self.source_points + other.source_points,
            self.target_points + other.target_points,
            self.amount_minor + other.amount_minor,
        )


@dataclass(frozen=True, slots=True)
class ControlSummary:
    """What a file's control records say: the D count and the totals per flow.

    by_currency is what a per-currency trailer carries: its count and amount_minor are of one
    currency, but its points add different brands' points (a check sum, not a figure to show).
    """

    detail_count: int
    by_currency: Mapping[str, CurrencyTotals]
    by_flow: Mapping[Flow, CurrencyTotals] = field(default_factory=lambda: MappingProxyType({}))


def count_flows(movements: Iterable[Movement], into: dict[Flow, CurrencyTotals]) -> Iterator[Movement]:
    """Yield the movements unchanged, adding each to its flow's totals in into as it passes.

    Lets one stream of movements feed a writer and the per-flow totals (a page of the statement) at once.
    """
    for movement in movements:
        flow = _flow_of(movement)
        into[flow] = into.get(flow, CurrencyTotals()).plus(movement)
        yield movement


def _flow_of(movement: Movement) -> Flow:
    return Flow(movement.currency, movement.source_partner_id, movement.target_partner_id)


class _Line:
    """One line's fields read by column name, collecting every problem rather than stopping at the first."""

    __slots__ = ("fields", "problems", "record_type")

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = fields
        self.record_type = fields[0]
        self.problems: list[str] = []

    def text(self, name: str, *, required: bool = True) -> str:
        value = self.fields[_INDEX[name]]
        if required and not value:
            self.problems.append(f"{name} is empty")
        elif name in _ID_COLUMNS and value:
            if len(value) > MAX_ID_CHARS:
                self.problems.append(f"{name} is longer than {MAX_ID_CHARS} characters")
            elif _CONTROL.search(value):
                self.problems.append(f"{name} holds a control character")
            elif value.startswith(_FORMULA_START):
                self.problems.append(
                    f"{name} {value!r} starts with {value[0]!r}, which a spreadsheet runs as a formula"
                )
        return value

    def integer(self, name: str, *, minimum: int = -INT64_MAX) -> int:
        value = self.fields[_INDEX[name]]
        if not value:
            self.problems.append(f"{name} is empty")
        elif _DECIMAL.fullmatch(value) and any(c.isdigit() for c in value):
            self.problems.append(f"{name} {value!r} is not a whole number: write whole minor units, no decimals")
        elif not _INTEGER.fullmatch(value):
            self.problems.append(f"{name} {value!r} is not a whole number")
        elif len(value.lstrip("-0")) > _MAX_DIGITS or abs(int(value)) > INT64_MAX:
            self.problems.append(f"{name} {value!r} is out of range (beyond +/- 2**63-1)")
        elif int(value) < minimum:
            self.problems.append(f"{name} {value} must be at least {minimum}")
        else:
            return int(value)
        return 0

    def currency(self) -> str:
        value = self.text("currency")
        if value and not _CURRENCY.fullmatch(value):
            self.problems.append(f"currency {value!r} is not an ISO 4217 code like EUR")
        return value

    def empty(self, *names: str) -> None:
        for name in names:
            if self.fields[_INDEX[name]]:
                self.problems.append(f"{name} must be empty in a {self.record_type} record")


def parse_record(fields: Sequence[str], line_number: int) -> Record | LineProblem:
    """Parse one record line (after the column header line) on its own, without context.

    Returns:
        The record, or a LineProblem listing everything wrong with the line.
    """
    if len(fields) != len(COLUMNS):
        return LineProblem(line_number, f"expected {len(COLUMNS)} columns, found {len(fields)}")
    line = _Line(fields)
    if line.record_type == "H":
        record: Record = HeaderRecord(
            line_number, line.text("period_id"), line.text("partner_id"), line.text("movement_id", required=False)
        )
        line.empty(*COLUMNS[4:])
    elif line.record_type == "D":
        record = DetailRecord(line_number, _movement(line))
        line.empty("record_count")
    elif line.record_type == "T":
        period_id, partner_id = line.text("period_id"), line.text("partner_id")
        currency, source, target = line.currency(), line.integer("source_points"), line.integer("target_points")
        amount, count = line.integer("amount_minor"), line.integer("record_count", minimum=1)
        source_id, target_id = _trailer_flow(line)
        record = TrailerRecord(
            line_number, period_id, partner_id, currency, source, target, amount, count, source_id, target_id
        )
        line.empty("movement_id", "kind", "final_at")
    elif line.record_type == "E":
        record = EndRecord(
            line_number, line.text("period_id"), line.text("partner_id"), line.integer("record_count", minimum=0)
        )
        line.empty(*COLUMNS[3:12])
    else:
        return LineProblem(line_number, f"unknown record type {line.record_type!r}: expected H, D, T or E")
    return LineProblem(line_number, "; ".join(line.problems)) if line.problems else record


def _trailer_flow(line: _Line) -> tuple[str, str]:
    """A T record names its flow with both partner ids, or neither (a per-currency trailer)."""
    source = line.text("source_partner_id", required=False)
    target = line.text("target_partner_id", required=False)
    if bool(source) != bool(target):
        line.problems.append(
            "source_partner_id and target_partner_id must both name the flow, or both be empty in a "
            "per-currency T record"
        )
    elif source and source == target:
        line.problems.append("source_partner_id and target_partner_id are the same brand")
    return source, target


def _movement(line: _Line) -> Movement:
    movement_id, kind, final_at = line.text("movement_id"), line.text("kind"), line.text("final_at")
    if kind and kind not in MOVEMENT_KINDS:
        line.problems.append(f"unknown kind {kind!r}: expected one of {', '.join(sorted(MOVEMENT_KINDS))}")
    final_at_ms = 0
    if final_at:
        try:
            final_at_ms = parse_utc_ms(final_at)
        except ValueError:
            line.problems.append(f"final_at {final_at!r} is not a UTC time like 2026-11-23T10:00:00.123Z")
    line.text("partner_id")
    source, target = line.text("source_partner_id"), line.text("target_partner_id")
    if source and source == target:
        line.problems.append("source_partner_id and target_partner_id are the same brand")
    return Movement(
        movement_id=movement_id,
        kind=kind,
        period_id=line.text("period_id"),
        source_partner_id=source,
        target_partner_id=target,
        source_points=line.integer("source_points"),
        target_points=line.integer("target_points"),
        currency=line.currency(),
        amount_minor=line.integer("amount_minor"),
        final_at_ms=final_at_ms,
    )


def check_column_header(fields: Sequence[str]) -> LineProblem | None:
    """Check line 1 is exactly the column header line (a spreadsheet's byte-order mark is forgiven)."""
    found = tuple(fields)
    if found[:1] and found[0].startswith("\ufeff"):
        found = (found[0][1:], *found[1:])
    if found == COLUMNS:
        return None
    return LineProblem(1, f"the first line must be the column header line {','.join(COLUMNS)}")


def check_controls(
    *,
    detail_totals: Mapping[str, CurrencyTotals],
    detail_count: int,
    trailers: Sequence[TrailerRecord],
    end: EndRecord | None,
    last_line_number: int,
    flow_totals: Mapping[Flow, CurrencyTotals] | None = None,
) -> list[LineProblem]:
    """Check the T and E records against the D records the file actually holds.

    Per-flow trailers are checked against flow_totals, per-currency ones (the earlier layout)
    against detail_totals; a file has one kind: trailers of the other kind are named.

    Args:
        detail_totals: the count and sums of the D records, per currency.
        detail_count: the number of D records.
        trailers: the T records, in file order.
        end: the E record, or None when the file has none.
        last_line_number: the file's last line, named when the E record is missing.
        flow_totals: the count and sums of the D records, per flow; needed to check per-flow
            trailers, and when given to a file without trailers, the missing ones are named per flow.

    Raises:
        ValueError: per-flow trailers to check, but no flow_totals.
    """
    problems: list[LineProblem] = []

    def add(line_number: int, problem: str) -> None:
        problems.append(LineProblem(line_number, problem))

    by_flow = any(t.flow is not None for t in trailers) or (not trailers and flow_totals is not None)
    if by_flow and flow_totals is None:
        raise ValueError("flow_totals is needed to check per-flow trailer records")
    totals_of: dict[str | Flow, CurrencyTotals] = {}  # one entry per flow or currency: a few, copied
    if by_flow:
        for flow, flow_sums in (flow_totals or {}).items():
            totals_of[flow] = flow_sums
    else:
        for currency, currency_sums in detail_totals.items():
            totals_of[currency] = currency_sums
    seen: set[str | Flow] = set()
    for trailer in trailers:
        key: str | Flow | None = trailer.flow if by_flow else trailer.currency
        name = trailer.describe()
        if key is None:
            add(trailer.line_number, f"a per-currency trailer record for {name} in a file of per-flow trailer records")
            continue
        totals = totals_of.get(key)
        if key in seen:
            add(trailer.line_number, f"a second trailer record for {name}")
        elif totals is None:
            add(trailer.line_number, f"a trailer record for {name}, which has no D records")
        else:
            stated = (trailer.record_count, trailer.source_points, trailer.target_points, trailer.amount_minor)
            actual = (totals.count, totals.source_points, totals.target_points, totals.amount_minor)
            for sum_name, says, holds in zip(_TRAILER_SUMS, stated, actual, strict=True):
                if says != holds:
                    add(trailer.line_number, f"the {name} trailer's {sum_name} is {says}, the D records' {holds}")
        seen.add(key)
    missing_at = end.line_number if end is not None else last_line_number
    for missing in sorted(_describe(key) for key in totals_of.keys() - seen):
        add(missing_at, f"no trailer record for {missing}")
    if end is None:
        add(last_line_number, f"the file ends at line {last_line_number} without its end record E: truncated?")
    elif end.record_count != detail_count:
        add(end.line_number, f"the end record's record_count is {end.record_count}, but the file has {detail_count}")
    return problems


def _describe(key: str | Flow) -> str:
    return key.describe() if isinstance(key, Flow) else key


_TRAILER_SUMS = ("record_count", "source_points", "target_points", "amount_minor")


def write_movements_csv(
    out: TextIO, *, period_id: str, partner_id: str, statement_id: str, movements: Iterable[Movement]
) -> ControlSummary:
    """Write partner_id's movements of period_id as the CSV layout, one movement at a time.

    Each line is checked with the reader's own rules before it is written, so the file always reads back.
    The T records are one per flow (never per currency: that layout is only read).

    Returns:
        The D count and the totals per flow written in the T records, and per currency.

    Raises:
        ValueError: a movement of another period, not partner_id's, or one the layout cannot carry,
            or totals beyond +/- 2**63-1 (the file written so far then has no E record: it reads as truncated).
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    header = ["H", period_id, partner_id, statement_id, *[""] * 9]
    if isinstance(problem := parse_record(header, 2), LineProblem):
        raise ValueError(f"cannot write the header record: {problem.problem}")
    writer.writerow(header)
    flows: dict[Flow, CurrencyTotals] = {}
    count = 0
    for count, movement in enumerate(count_flows(movements, flows), start=1):
        row = _detail_row(partner_id, movement)
        problem = parse_record(row, 2 + count)
        if isinstance(problem, LineProblem) or movement.period_id != period_id:
            raise ValueError(f"movement {movement.movement_id!r} cannot be written: {_why(problem, period_id)}")
        if partner_id not in (movement.source_partner_id, movement.target_partner_id):
            raise ValueError(f"movement {movement.movement_id!r} is not {partner_id!r}'s")
        writer.writerow(row)
    by_currency: dict[str, CurrencyTotals] = {}
    for flow, sums in sorted(flows.items()):
        trailer = [
            "T", period_id, partner_id, "", "", "", flow.source_partner_id, flow.target_partner_id,
            str(sums.source_points), str(sums.target_points), flow.currency, str(sums.amount_minor), str(sums.count),
        ]  # fmt: skip
        if isinstance(problem := parse_record(trailer, 0), LineProblem):  # sums can outgrow int64
            raise ValueError(f"cannot write the {flow.describe()} trailer record: {problem.problem}")
        writer.writerow(trailer)
        by_currency[flow.currency] = by_currency.get(flow.currency, CurrencyTotals()).add(sums)
    writer.writerow(["E", period_id, partner_id, *[""] * 9, count])
    return ControlSummary(count, MappingProxyType(by_currency), MappingProxyType(dict(sorted(flows.items()))))


def _detail_row(partner_id: str, m: Movement) -> list[str]:
    numbers = (m.source_points, m.target_points, m.amount_minor, m.final_at_ms)
    if not all(type(n) is int for n in numbers):  # str(True) or str(1.5) would be refused only later
        raise ValueError(f"movement {m.movement_id!r}: points, amounts and times must be ints")
    return [
        "D", m.period_id, partner_id, m.movement_id, m.kind, format_utc_ms(m.final_at_ms), m.source_partner_id,
        m.target_partner_id, str(m.source_points), str(m.target_points), m.currency, str(m.amount_minor), "",
    ]  # fmt: skip


def _why(problem: Record | LineProblem, period_id: str) -> str:
    return problem.problem if isinstance(problem, LineProblem) else f"it is not of period {period_id!r}"


class MovementCsvReader:
    """Validates a whole file line by line, yielding the movements of valid D records.

    After read() is exhausted, problems lists everything wrong, by line; the file is good only
    if it is empty. header and summary tell what the file said it was and what its D records add up to.

    Example:
        >>> reader = MovementCsvReader(expected_partner_id="sportsbrand", expected_period_id="per-000003")
        >>> with open(path, encoding="utf-8", newline="") as lines:
        ...     for movement in reader.read(lines):
        ...         book(movement)
        >>> if reader.problems: ...
    """

    def __init__(
        self,
        *,
        expected_partner_id: str | None = None,
        expected_period_id: str | None = None,
        max_problems: int = MAX_PROBLEMS,
    ) -> None:
        self.expected_partner_id = expected_partner_id
        self.expected_period_id = expected_period_id
        self.max_problems = max_problems
        self._reset()

    def _reset(self) -> None:
        self.problems: list[LineProblem] = []
        self.header: HeaderRecord | None = None
        self._unlisted = 0
        self._records = 0
        self._header_named = False  # the missing H is reported once, and not at all if a malformed H was there
        self._totals: dict[str, CurrencyTotals] = {}
        self._flows: dict[Flow, CurrencyTotals] = {}
        self._detail_count = 0
        self._trailers: list[TrailerRecord] = []
        self._trailer_keys: set[tuple[str, str, str]] = set()
        self._last_trailer_key: tuple[str, str, str] | None = None
        self._too_many_flows = False
        self._end: EndRecord | None = None

    @property
    def summary(self) -> ControlSummary:
        """The D count and the totals of the D records read so far, per currency and per flow."""
        return ControlSummary(
            self._detail_count,
            MappingProxyType(dict(sorted(self._totals.items()))),
            MappingProxyType(dict(sorted(self._flows.items()))),
        )

    def read(self, lines: Iterable[str]) -> Iterator[Movement]:
        """Read the file's lines (with or without line ends) and yield the movements of valid D records."""
        self._reset()
        last = 0
        blank: list[int] = []  # blank lines are a problem only if a record follows them
        for number, raw in enumerate(lines, start=1):
            text = raw.rstrip("\r\n")
            if not text:
                blank.append(number)
                continue
            for line_number in blank:
                self._add(line_number, "an empty line")
            blank.clear()
            movement = self._line(number, text, is_first=last == 0)
            last = number
            if movement is not None:
                yield movement
        self._finish(last)

    def _add(self, line_number: int, problem: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(LineProblem(line_number, problem))
        else:
            self._unlisted += 1

    def _line(self, number: int, text: str, *, is_first: bool) -> Movement | None:
        if len(text) > MAX_LINE_CHARS:
            self._add(number, f"the line is longer than {MAX_LINE_CHARS} characters")
            return None
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            self._add(number, f"not a valid CSV line: {exc}")
            return None
        if is_first:
            if (problem := check_column_header(fields)) is None:
                return None
            self._add(number, problem.problem)
            if fields[:1] not in (["H"], ["D"], ["T"], ["E"]):
                return None  # a record in place of the column header line is still read as one
        record = parse_record(fields, number)
        self._records += 1
        self._header_named = self._header_named or fields[:1] == ["H"]
        if isinstance(record, LineProblem):
            self._add(number, record.problem)
            return None
        if self._end is not None:
            self._add(number, f"a record after the end record (line {self._end.line_number})")
            return None
        if isinstance(record, HeaderRecord):
            self._header(record)
            return None
        if not self._header_named:
            self._add(number, f"the first record must be the header record H, not {fields[0]}")
            self._header_named = True
        if isinstance(record, DetailRecord):
            return self._detail(record, fields[_INDEX["partner_id"]])
        self._context(number, record.period_id, record.partner_id, record_type=fields[0])
        if isinstance(record, TrailerRecord):
            self._trailer(record)
        else:
            self._end = record
        return None

    def _header(self, record: HeaderRecord) -> None:
        if self.header is not None:
            self._add(record.line_number, f"a second header record (the first is line {self.header.line_number})")
            return
        if self._records != 1:
            self._add(record.line_number, "the header record H must be the first record, right after line 1")
        self.header = record
        if self.expected_partner_id is not None and record.partner_id != self.expected_partner_id:
            self._add(
                record.line_number, f"this file is for partner {record.partner_id!r}, not {self.expected_partner_id!r}"
            )
        if self.expected_period_id is not None and record.period_id != self.expected_period_id:
            self._add(
                record.line_number, f"this file is for period {record.period_id!r}, not {self.expected_period_id!r}"
            )

    def _context(self, number: int, period_id: str, partner_id: str, *, record_type: str) -> bool:
        """Check a D, T or E record belongs to the file's partner and period; say whether it does."""
        period = self.header.period_id if self.header else self.expected_period_id
        partner = self.header.partner_id if self.header else self.expected_partner_id
        ok = True
        if period is not None and period_id != period:
            self._add(number, f"the {record_type} record is for period {period_id!r}, but the file is for {period!r}")
            ok = False
        if partner is not None and partner_id != partner:
            self._add(number, f"the {record_type} record is for partner {partner_id!r}, but the file is {partner!r}'s")
            ok = False
        return ok

    def _detail(self, record: DetailRecord, partner_id: str) -> Movement | None:
        m, number = record.movement, record.line_number
        ok = self._context(number, m.period_id, partner_id, record_type="D")
        if self._trailers:
            self._add(number, "a detail record after the trailer records")
            ok = False
        if partner_id not in (m.source_partner_id, m.target_partner_id):
            self._add(number, f"movement {m.movement_id!r} is not between {partner_id!r} and another brand")
            ok = False
        self._detail_count += 1  # counted even when refused: the trailers are checked against the lines as written
        self._totals[m.currency] = self._totals.get(m.currency, CurrencyTotals()).plus(m)
        flow = _flow_of(m)
        if flow in self._flows or len(self._flows) < MAX_FLOWS:
            self._flows[flow] = self._flows.get(flow, CurrencyTotals()).plus(m)
        elif not self._too_many_flows:
            self._too_many_flows = True
            self._add(number, f"more than {MAX_FLOWS} flows (currency, source, target): not one brand's period")
        return m if ok else None

    def _trailer(self, record: TrailerRecord) -> None:
        number, name, flow = record.line_number, record.describe(), record.flow
        key = (record.currency, record.source_partner_id, record.target_partner_id)
        if key in self._trailer_keys:
            self._add(number, f"a second trailer record for {name}")
            return
        if (self._totals.get(record.currency) if flow is None else self._flows.get(flow)) is None:
            # Not kept: the trailers held are bounded by what the D records hold.
            self._add(number, f"a trailer record for {name}, which has no D records")
            return
        if flow is not None and record.partner_id not in (flow.source_partner_id, flow.target_partner_id):
            self._add(
                number, f"the trailer record's flow {name} is not between {record.partner_id!r} and another brand"
            )
        if self._last_trailer_key is not None and key < self._last_trailer_key:
            self._add(number, f"trailer records must be sorted by currency, source, target: {name} is late")
        self._trailer_keys.add(key)
        self._last_trailer_key = key
        self._trailers.append(record)

    def _finish(self, last: int) -> None:
        if last == 0:
            self._add(1, "the file is empty: expected the column header line")
            return
        if not self._header_named:
            self._add(last, "the file has no header record H")
        for problem in check_controls(
            detail_totals=self._totals,
            detail_count=self._detail_count,
            trailers=self._trailers,
            end=self._end,
            last_line_number=last,
            flow_totals=self._flows,
        ):
            self._add(problem.line_number, problem.problem)
        self.problems.sort(key=lambda p: p.line_number)
        if self._unlisted:
            self.problems.append(LineProblem(last, f"{self._unlisted} more problems not listed"))


def read_movements_csv(
    path: str | os.PathLike[str], *, expected_partner_id: str | None = None, expected_period_id: str | None = None
) -> tuple[list[Movement], list[LineProblem]]:
    """Read and check a whole file; for small files and tests (MovementCsvReader streams)."""
    reader = MovementCsvReader(expected_partner_id=expected_partner_id, expected_period_id=expected_period_id)
    with open(path, encoding="utf-8", newline="") as lines:
        movements = list(reader.read(lines))
    return movements, reader.problems
