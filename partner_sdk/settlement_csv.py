"""The movements CSV: the file settlement staff open in a spreadsheet and scripts check.

UTF-8, comma-separated, RFC 4180 quoting, CRLF line ends. Line 1 is the column header line
(COLUMNS); then the records, in this order:

    H  one header record: period_id, partner_id (whose file), the statement id in movement_id
    D  one detail record per movement: every column but record_count
    T  one trailer record per currency that has D records, sorted by currency: the sums of
       that currency's source_points, target_points and amount_minor, and its D count
    E  one end record: the number of D records; a file without it was cut short

The writer and the reader stream, line by line, so neither ever holds a period's movements;
the hub parses a brand's uploaded file with parse_record and check_column_header. Integers
are read with a strict pattern and never through float().
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TextIO

from partner_sdk.settlement import INT64_MAX, MOVEMENT_KINDS, Movement, format_utc_ms, parse_utc_ms

__all__ = [
    "COLUMNS",
    "ControlSummary",
    "CurrencyTotals",
    "DetailRecord",
    "EndRecord",
    "HeaderRecord",
    "LineProblem",
    "MovementCsvReader",
    "Record",
    "TrailerRecord",
    "check_column_header",
    "check_controls",
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


@dataclass(frozen=True, slots=True)
class TrailerRecord:
    """A T record: the sums and count of one currency's D records."""

    line_number: int
    period_id: str
    partner_id: str
    currency: str
    source_points: int
    target_points: int
    amount_minor: int
    record_count: int


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
    """The count and sums of the D records in one currency."""

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


@dataclass(frozen=True, slots=True)
class ControlSummary:
    """What a file's control records say: the D count and the totals per currency."""

    detail_count: int
    by_currency: Mapping[str, CurrencyTotals]


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
        record = TrailerRecord(line_number, period_id, partner_id, currency, source, target, amount, count)
        line.empty("movement_id", "kind", "final_at", "source_partner_id", "target_partner_id")
    elif line.record_type == "E":
        record = EndRecord(
            line_number, line.text("period_id"), line.text("partner_id"), line.integer("record_count", minimum=0)
        )
        line.empty(*COLUMNS[3:12])
    else:
        return LineProblem(line_number, f"unknown record type {line.record_type!r}: expected H, D, T or E")
    return LineProblem(line_number, "; ".join(line.problems)) if line.problems else record


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
) -> list[LineProblem]:
    """Check the T and E records against the D records the file actually holds.

    Args:
        detail_totals: the count and sums of the D records, per currency.
        detail_count: the number of D records.
        trailers: the T records, in file order.
        end: the E record, or None when the file has none.
        last_line_number: the file's last line, named when the E record is missing.
    """
    problems: list[LineProblem] = []

    def add(line_number: int, problem: str) -> None:
        problems.append(LineProblem(line_number, problem))

    seen: set[str] = set()
    for trailer in trailers:
        currency, totals = trailer.currency, detail_totals.get(trailer.currency)
        if currency in seen:
            add(trailer.line_number, f"a second trailer record for {currency}")
        elif totals is None:
            add(trailer.line_number, f"a trailer record for {currency}, which has no D records")
        else:
            stated = (trailer.record_count, trailer.source_points, trailer.target_points, trailer.amount_minor)
            actual = (totals.count, totals.source_points, totals.target_points, totals.amount_minor)
            for name, says, holds in zip(_TRAILER_SUMS, stated, actual, strict=True):
                if says != holds:
                    add(trailer.line_number, f"the {currency} trailer's {name} is {says}, the D records' {holds}")
        seen.add(currency)
    for currency in sorted(detail_totals.keys() - seen):
        add(end.line_number if end is not None else last_line_number, f"no trailer record for {currency}")
    if end is None:
        add(last_line_number, f"the file ends at line {last_line_number} without its end record E: truncated?")
    elif end.record_count != detail_count:
        add(end.line_number, f"the end record's record_count is {end.record_count}, but the file has {detail_count}")
    return problems


_TRAILER_SUMS = ("record_count", "source_points", "target_points", "amount_minor")


def write_movements_csv(
    out: TextIO, *, period_id: str, partner_id: str, statement_id: str, movements: Iterable[Movement]
) -> ControlSummary:
    """Write partner_id's movements of period_id as the CSV layout, one movement at a time.

    Each line is checked with the reader's own rules before it is written, so the file always reads back.

    Returns:
        The D count and the per-currency totals written in the T and E records.

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
    totals: dict[str, CurrencyTotals] = {}
    count = 0
    for count, movement in enumerate(movements, start=1):
        row = _detail_row(partner_id, movement)
        problem = parse_record(row, 2 + count)
        if isinstance(problem, LineProblem) or movement.period_id != period_id:
            raise ValueError(f"movement {movement.movement_id!r} cannot be written: {_why(problem, period_id)}")
        if partner_id not in (movement.source_partner_id, movement.target_partner_id):
            raise ValueError(f"movement {movement.movement_id!r} is not {partner_id!r}'s")
        writer.writerow(row)
        totals[movement.currency] = totals.get(movement.currency, CurrencyTotals()).plus(movement)
    for currency, sums in sorted(totals.items()):
        sums_row = (str(sums.source_points), str(sums.target_points), currency, str(sums.amount_minor), str(sums.count))
        trailer = ["T", period_id, partner_id, *[""] * 5, *sums_row]
        if isinstance(problem := parse_record(trailer, 0), LineProblem):  # sums can outgrow int64
            raise ValueError(f"cannot write the {currency} trailer record: {problem.problem}")
        writer.writerow(trailer)
    writer.writerow(["E", period_id, partner_id, *[""] * 9, count])
    return ControlSummary(count, MappingProxyType(dict(sorted(totals.items()))))


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
        self._detail_count = 0
        self._trailers: list[TrailerRecord] = []
        self._trailer_currencies: set[str] = set()
        self._end: EndRecord | None = None

    @property
    def summary(self) -> ControlSummary:
        """The D count and per-currency totals of the D records read so far."""
        return ControlSummary(self._detail_count, MappingProxyType(dict(sorted(self._totals.items()))))

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
        return m if ok else None

    def _trailer(self, record: TrailerRecord) -> None:
        if record.currency in self._trailer_currencies:  # also bounds the list: one trailer per currency
            self._add(record.line_number, f"a second trailer record for {record.currency}")
            return
        if self._trailers and record.currency < self._trailers[-1].currency:
            self._add(record.line_number, f"trailer records must be sorted by currency: {record.currency} is late")
        self._trailer_currencies.add(record.currency)
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
