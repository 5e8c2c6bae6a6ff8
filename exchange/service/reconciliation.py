"""Reconciliation: a brand uploads its record of a closed period in parts; the hub reports the breaks.

Parts are checked line by line as they arrive (a malformed part is refused whole, naming each
bad line, and nothing of it is kept); the comparison itself runs in SQL over the stored lines,
so neither side of it is ever held in memory.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import replace

from sqlalchemy import Connection

from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from exchange.domain.settlement import PeriodState
from exchange.service.authentication import Caller
from exchange.service.paging import decode_key_cursor, encode_key_cursor, page_limit, token_int
from exchange.store.ids import new_id
from exchange.store.reconciliation_repo import Break, Reconciliation, ReconciliationRepository, StoredLine
from exchange.store.settlement_repo import SettlementRepository
from partner_sdk.settlement_csv import (
    DetailRecord,
    EndRecord,
    HeaderRecord,
    LineProblem,
    TrailerRecord,
    check_column_header,
    parse_record,
)

PART_MAX_BYTES = 1 << 20
PROBLEMS_SHOWN = 20
BREAK_PAGE_DEFAULT = 500
BREAK_PAGE_MAX = 1000


def start(connection: Connection, caller: Caller, period_id: str, now_ms: int) -> Reconciliation:
    """Open a reconciliation of the caller's record of a closed period."""
    period = SettlementRepository(connection).get_period(period_id)
    if period is None:
        raise NotFound("PERIOD_NOT_FOUND", f"no period {period_id!r}", field="period_id")
    if period.state is not PeriodState.CLOSED:
        raise FailedPrecondition("PERIOD_NOT_CLOSED", f"{period_id} is still open; reconcile it once it is closed")
    reconciliation = Reconciliation(new_id("rec"), caller.principal, period_id, "OPEN", now_ms, 0, 0)
    ReconciliationRepository(connection).add(reconciliation)
    return reconciliation


def _own(connection: Connection, caller: Caller, reconciliation_id: str) -> Reconciliation:
    found = ReconciliationRepository(connection).get(reconciliation_id)
    if found is None or found.partner_id != caller.principal:
        raise NotFound(
            "RECONCILIATION_NOT_FOUND", f"no reconciliation {reconciliation_id!r}", field="reconciliation_id"
        )
    return found


def add_part(connection: Connection, caller: Caller, reconciliation_id: str, part_number: int, content: bytes) -> int:
    """Check and store the next part; return the data lines taken so far. Resending a part is harmless."""
    repository = ReconciliationRepository(connection)
    reconciliation = _own(connection, caller, reconciliation_id)
    digest = hashlib.sha256(content).hexdigest()
    sent_before = repository.part_sha256(reconciliation_id, part_number)
    if sent_before is not None:
        if sent_before != digest:
            raise FailedPrecondition(
                "PART_ALREADY_SENT", f"part {part_number} was sent before with other content", field="part_number"
            )
        return reconciliation.lines
    if reconciliation.state != "OPEN":
        raise FailedPrecondition("RECONCILIATION_FINISHED", f"{reconciliation_id} is finished")
    if part_number != reconciliation.parts + 1:
        raise InvalidArgument(
            "PART_OUT_OF_ORDER", f"expected part {reconciliation.parts + 1}, got {part_number}", field="part_number"
        )
    if len(content) > PART_MAX_BYTES:
        raise InvalidArgument("PART_TOO_LARGE", f"a part is at most {PART_MAX_BYTES} bytes", field="content")
    ended = bool(repository.records(reconciliation_id, ("E",)))
    lines, problems = _parse_part(reconciliation, content, ended)
    if problems:
        raise InvalidArgument("MALFORMED_UPLOAD", _describe(problems), field="content")
    repository.add_part(reconciliation, part_number, digest, lines)
    return lines[-1].line_number if lines else reconciliation.lines


def _parse_part(
    reconciliation: Reconciliation, content: bytes, ended: bool
) -> tuple[list[StoredLine], list[LineProblem]]:
    first = reconciliation.lines + 1
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return [], [LineProblem(first, "the part is not UTF-8 text")]
    if text and not text.endswith("\n"):
        return [], [LineProblem(first, "a part must end at the end of a line")]
    lines: list[StoredLine] = []
    problems: list[LineProblem] = []
    seen_end = ended
    for offset, fields in enumerate(csv.reader(text.splitlines())):
        number = first + offset
        if number == 1:
            header_problem = check_column_header(fields)
            if header_problem is not None:
                problems.append(header_problem)
            lines.append(StoredLine(number, "C"))
            continue
        record = parse_record(fields, number)
        if isinstance(record, LineProblem):
            problems.append(record)
            continue
        line, problem = _stored(record, reconciliation, number)
        if problem:
            problems.append(LineProblem(number, problem))
        elif seen_end:
            problems.append(LineProblem(number, "a record after the end (E) record"))
        else:
            lines.append(line)
            seen_end = line.record_type == "E"
    return lines, problems


def _stored(
    record: HeaderRecord | DetailRecord | TrailerRecord | EndRecord, reconciliation: Reconciliation, number: int
) -> tuple[StoredLine, str]:
    """Flatten a record for storage and check it belongs to this brand, this period and this place."""
    expected = (reconciliation.partner_id, reconciliation.period_id)
    if isinstance(record, HeaderRecord):
        line = StoredLine(number, "H", period_id=record.period_id, partner_id=record.partner_id)
        if number != 2:
            return line, "the header (H) record must be line 2, right after the column header line"
        if record.partner_id != expected[0]:
            return line, f"this file is for partner {record.partner_id!r}, not {expected[0]!r}"
        if record.period_id != expected[1]:
            return line, f"this file is for period {record.period_id!r}; this reconciliation is of {expected[1]!r}"
        return line, ""
    if number == 2:
        return StoredLine(number, "?"), "line 2 must be the header (H) record"
    if isinstance(record, DetailRecord):
        m = record.movement
        line = StoredLine(
            number,
            "D",
            movement_id=m.movement_id,
            kind=m.kind,
            period_id=m.period_id,
            source_points=m.source_points,
            target_points=m.target_points,
            currency=m.currency,
            amount_minor=m.amount_minor,
        )
        if m.period_id != expected[1]:
            return line, f"period {m.period_id!r} is not this file's period {expected[1]!r}"
        if expected[0] not in (m.source_partner_id, m.target_partner_id):
            return line, f"movement {m.movement_id!r} is not between {expected[0]!r} and another brand"
        return line, ""
    if isinstance(record, TrailerRecord):
        line = StoredLine(
            number,
            "T",
            period_id=record.period_id,
            partner_id=record.partner_id,
            source_points=record.source_points,
            target_points=record.target_points,
            currency=record.currency,
            amount_minor=record.amount_minor,
            record_count=record.record_count,
        )
    else:
        line = StoredLine(
            number, "E", period_id=record.period_id, partner_id=record.partner_id, record_count=record.record_count
        )
    if (line.partner_id, line.period_id) != expected:
        return line, f"the {line.record_type} record is for {line.partner_id!r} {line.period_id!r}, not this file's"
    return line, ""


def _describe(problems: list[LineProblem]) -> str:
    shown = "; ".join(f"line {p.line_number}: {p.problem}" for p in problems[:PROBLEMS_SHOWN])
    more = len(problems) - PROBLEMS_SHOWN
    return shown + (f"; and {more} more problems" if more > 0 else "")


def finish(connection: Connection, caller: Caller, reconciliation_id: str, now_ms: int) -> Reconciliation:
    """Check the upload's control records, then compare it with the hub's record of the period."""
    repository = ReconciliationRepository(connection)
    reconciliation = _own(connection, caller, reconciliation_id)
    if reconciliation.state == "FINISHED":
        return reconciliation
    problems = _control_problems(repository, reconciliation)
    if problems:
        raise InvalidArgument("MALFORMED_UPLOAD", _describe(problems), field="content")
    return repository.compare(reconciliation, now_ms)


def _control_problems(repository: ReconciliationRepository, reconciliation: Reconciliation) -> list[LineProblem]:
    rid, last = reconciliation.reconciliation_id, reconciliation.lines
    records = repository.records(rid, ("H", "T", "E"))
    problems: list[LineProblem] = []
    if not any(r.record_type == "H" for r in records):
        problems.append(LineProblem(min(last + 1, 2), "the file has no header (H) record"))
    ends = [r for r in records if r.record_type == "E"]
    if not ends:
        return [*problems, LineProblem(last + 1, "the file ends without its end (E) record: is it complete?")]
    totals = repository.detail_totals(rid)
    trailers: dict[str, StoredLine] = {}
    for r in records:  # one T per currency, or one per flow (currency, source, target): summed per currency
        if r.record_type == "T":
            summed = trailers.get(r.currency)
            trailers[r.currency] = r if summed is None else _added(summed, r)
    for currency in sorted(set(totals) | set(trailers)):
        lines, source, target, amount = totals.get(currency, (0, 0, 0, 0))
        trailer = trailers.get(currency)
        if trailer is None:
            problems.append(LineProblem(ends[0].line_number, f"no trailer (T) record for {currency}"))
        elif (trailer.record_count, trailer.source_points, trailer.target_points, trailer.amount_minor) != (
            lines,
            source,
            target,
            amount,
        ):
            problems.append(
                LineProblem(
                    trailer.line_number,
                    f"the {currency} trailer says {trailer.record_count} lines, amount {trailer.amount_minor}; "
                    f"the detail lines hold {lines} lines, amount {amount}",
                )
            )
    count = sum(t[0] for t in totals.values())
    if ends[0].record_count != count:
        problems.append(
            LineProblem(
                ends[0].line_number, f"the end record counts {ends[0].record_count} lines; the file has {count}"
            )
        )
    return problems


def _added(a: StoredLine, b: StoredLine) -> StoredLine:
    return replace(
        a,
        record_count=a.record_count + b.record_count,
        source_points=a.source_points + b.source_points,
        target_points=a.target_points + b.target_points,
        amount_minor=a.amount_minor + b.amount_minor,
    )


def report(connection: Connection, caller: Caller, reconciliation_id: str) -> Reconciliation:
    """Return a finished reconciliation's summary."""
    found = _own(connection, caller, reconciliation_id)
    if found.state != "FINISHED":
        raise FailedPrecondition("RECONCILIATION_NOT_FINISHED", f"{reconciliation_id} is not finished yet")
    return found


def breaks_page(
    connection: Connection, caller: Caller, reconciliation_id: str, *, page_size: int, page_token: str
) -> tuple[Reconciliation, list[Break], str]:
    """Return the summary and a page of breaks, in order of movement id."""
    summary = report(connection, caller, reconciliation_id)
    limit = page_limit(page_size, default=BREAK_PAGE_DEFAULT, maximum=BREAK_PAGE_MAX)
    after = decode_key_cursor(page_token)
    position = None
    if after:
        movement_id, _, line = after.rpartition("|")
        position = (movement_id, token_int(line))
    found = ReconciliationRepository(connection).breaks_page(reconciliation_id, after=position, limit=limit + 1)
    page = found[:limit]
    token = encode_key_cursor(f"{page[-1].movement_id}|{page[-1].line_number}") if len(found) > limit else ""
    return summary, page, token
