"""After the run, from the database: every answer the clients got is true, and the books balance.

Read in one REPEATABLE READ snapshot (a replica may still be expiring holds meanwhile):

- each acknowledged operation exists exactly once, is the one the client was told about, and
  its idempotency key leads to it; each refused one left nothing (no row, no key);
- nothing exists that no client asked for (every conversion, hold and capture is one
  operation's, acknowledged or of unknown outcome);
- the ledger: every transaction balances per currency, money positions sum to zero per
  currency, one CONVERSION transaction per conversion (and one REFUND for a failed one), one
  CAPTURE per capture, and each brand's position equals what the conversions and captures say;
- instructions: one CREDIT per conversion, ACKNOWLEDGED iff the conversion is COMPLETED,
  PENDING iff it still waits, CANCELLED iff it EXPIRED or was REFUNDED (with its REFUND
  instruction pending or acknowledged); what a hold released went out once as a RELEASE;
- the brands' own books (what the clients' instruction consumers applied, faults.workload.BrandBooks):
  a COMPLETED conversion's target points credited once and nothing refunded; any other's credit
  taken back (a credit applied but acknowledged too late comes back as CREDIT_CANCELLED) and,
  once REFUNDED, the source points given back: no member is ever paid twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy
from sqlalchemy import Connection, func, select

from coalition.exchange.v1 import conversions_pb2, redemptions_pb2
from exchange.store.ledger_repo import LedgerRepository
from exchange.store.tables import conversions, hold_captures, holds, idempotency_keys, instructions, ledger_entries
from faults.history import OK, REFUSED, UNKNOWN, History, Op
from faults.workload import BrandBooks

FAILED = frozenset({"EXPIRED", "REJECTED", "REFUNDED"})
CREDIT_STATE_FOR = {  # conversion state -> its CREDIT instruction's state(s)
    "PENDING_CREDIT": {"PENDING"},
    "COMPLETED": {"ACKNOWLEDGED"},
    "EXPIRED": {"CANCELLED"},
    "REJECTED": {"REJECTED"},
    "REFUNDED": {"CANCELLED", "REJECTED"},
}
REFUND_STATE_FOR = {"EXPIRED": {"PENDING"}, "REJECTED": {"PENDING"}, "REFUNDED": {"ACKNOWLEDGED"}}


@dataclass
class Report:
    """What the check found."""

    violations: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    def fail(self, message: str, *, lost: bool = False, duplicated: bool = False) -> None:
        """Record a violation, and whether it is a lost operation or a duplicated effect.

        lost: an acknowledged operation's effect is not there; duplicated: an effect is there too
        often, or one no client asked for. The two tallies (figures "lost" and "duplicated") are
        what the failover test reports; each lost operation is counted once, however many checks
        notice it.
        """
        self.violations.append(message)
        if lost:
            self.figures["lost"] = self.figures.get("lost", 0) + 1
        if duplicated:
            self.figures["duplicated"] = self.figures.get("duplicated", 0) + 1


@dataclass
class Snapshot:
    """The tables the check reads, as of one moment."""

    conversions: dict[str, Any]
    holds: dict[str, Any]
    captures: list[Any]
    instructions: list[Any]
    keys: dict[tuple[str, str], Any]
    ledger_counts: Counter[tuple[str, str]]  # (kind, reference) -> transactions
    unbalanced: list[tuple[str, str, int]]
    positions: dict[tuple[str, str], int]


def read_snapshot(url: str) -> Snapshot:
    """Read everything in one snapshot."""
    engine = sqlalchemy.create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection, connection.begin():
            return _read(connection)
    finally:
        engine.dispose()


def _read(connection: Connection) -> Snapshot:
    ledger = LedgerRepository(connection)
    counted = connection.execute(
        select(
            ledger_entries.c.transaction_kind,
            ledger_entries.c.reference,
            func.count(func.distinct(ledger_entries.c.transaction_id)),
        ).group_by(ledger_entries.c.transaction_kind, ledger_entries.c.reference)
    ).all()
    return Snapshot(
        conversions={r.conversion_id: r for r in connection.execute(select(conversions))},
        holds={r.hold_id: r for r in connection.execute(select(holds))},
        captures=list(connection.execute(select(hold_captures))),
        instructions=list(connection.execute(select(instructions))),
        keys={(r.partner_id, r.idempotency_key): r for r in connection.execute(select(idempotency_keys))},
        ledger_counts=Counter({(kind, ref): int(n) for kind, ref, n in counted}),
        unbalanced=ledger.unbalanced_transactions(),
        positions=ledger.money_positions(),
    )


def keyed_result(row: Any) -> str:
    """The id an idempotency key's stored answer names (conversion, hold, or the capture by its reference)."""
    body = bytes(row.response_body)
    if row.method.endswith("/Convert"):
        return str(conversions_pb2.ConvertResponse.FromString(body).conversion.conversion_id)
    if row.method.endswith("/AuthorizeHold"):
        return str(redemptions_pb2.AuthorizeHoldResponse.FromString(body).hold.hold_id)
    if row.method.endswith("/CaptureHold"):
        hold = redemptions_pb2.CaptureHoldResponse.FromString(body).hold
        mine = [c.capture_id for c in hold.captures if c.target_reference == row.idempotency_key]
        return mine[0] if len(mine) == 1 else f"<{len(mine)} captures with this reference>"
    return ""


def check(url: str, history: History, books: BrandBooks | None = None) -> Report:
    """Hold the database to the history (and the brands' books); return the violations and the figures."""
    return check_snapshot(read_snapshot(url), history, books)


def check_snapshot(snap: Snapshot, history: History, books: BrandBooks | None = None) -> Report:
    """Hold one snapshot of the tables to the history (and the brands' books)."""
    report = Report()
    if books is not None:
        _check_books(snap, books, report)
    for message in history.client_violations:
        report.fail(f"client: {message}")
    _check_ledger(snap, report)
    _check_conversions(snap, report)
    _check_holds(snap, report)
    _check_ops(snap, history.ops, report)
    states = Counter(f"conversions.{r.state}" for r in snap.conversions.values())
    states.update(f"holds.{r.state}" for r in snap.holds.values())
    states.update(f"instructions.{r.kind}.{r.state}" for r in snap.instructions)
    report.figures.update(sorted(states.items()))
    report.figures["instructions.redelivered_rows"] = sum(1 for r in snap.instructions if r.delivery_count > 1)
    report.figures["instructions.pending"] = sum(1 for r in snap.instructions if r.state == "PENDING")
    report.figures["ledger.transactions"] = sum(snap.ledger_counts.values())
    report.figures["captures"] = len(snap.captures)
    return report


def _check_ledger(snap: Snapshot, report: Report) -> None:
    for transaction, currency, total in snap.unbalanced:
        report.fail(f"ledger: transaction {transaction} does not balance in {currency} (sums to {total})")
    totals: dict[str, int] = defaultdict(int)
    for (_, currency), amount in snap.positions.items():
        totals[currency] += amount
    for currency, total in totals.items():
        if total != 0:
            report.fail(f"ledger: money positions in {currency} sum to {total}, not 0")
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for c in snap.conversions.values():
        if c.state not in FAILED:
            expected[(c.target_partner_id, c.settlement_currency)] += c.settlement_amount_minor
            expected[(c.source_partner_id, c.settlement_currency)] -= c.settlement_amount_minor
        postings = {"CONVERSION": 1, "REFUND": 1 if c.state in FAILED else 0}
        for kind, n in postings.items():
            if snap.ledger_counts[(kind, c.conversion_id)] != n:
                got = snap.ledger_counts[(kind, c.conversion_id)]
                report.fail(f"ledger: conversion {c.conversion_id} ({c.state}) has {got} {kind} transactions, not {n}")
    for capture in snap.captures:
        hold = snap.holds.get(capture.hold_id)
        if hold is None:
            report.fail(f"capture {capture.capture_id} names a hold that does not exist: {capture.hold_id}")
            continue
        expected[(hold.target_partner_id, hold.settlement_currency)] += capture.settlement_amount_minor
        expected[(hold.source_partner_id, hold.settlement_currency)] -= capture.settlement_amount_minor
        if snap.ledger_counts[("CAPTURE", capture.capture_id)] != 1:
            got = snap.ledger_counts[("CAPTURE", capture.capture_id)]
            report.fail(f"ledger: capture {capture.capture_id} has {got} CAPTURE transactions, not 1")
    known = set(snap.conversions) | {c.capture_id for c in snap.captures}
    for (kind, reference), n in snap.ledger_counts.items():
        if reference not in known:
            report.fail(f"ledger: {n} {kind} transaction(s) for {reference}, which no conversion or capture is")
    for owner_currency in set(expected) | set(snap.positions):
        position, implied = snap.positions.get(owner_currency, 0), expected.get(owner_currency, 0)
        if position != implied:
            report.fail(f"ledger: {owner_currency} position is {position}, the conversions and captures say {implied}")


def _check_conversions(snap: Snapshot, report: Report) -> None:
    by_conversion: dict[str, list[Any]] = defaultdict(list)
    for row in snap.instructions:
        if row.conversion_id:
            by_conversion[row.conversion_id].append(row)
    for conversion_id in by_conversion.keys() - snap.conversions.keys():
        report.fail(f"instructions name conversion {conversion_id}, which does not exist")
    for c in snap.conversions.values():
        rows = by_conversion.get(c.conversion_id, [])
        credits = [r for r in rows if r.kind == "CREDIT"]
        refunds = [r for r in rows if r.kind == "REFUND"]
        if len(credits) != 1:
            report.fail(
                f"conversion {c.conversion_id} has {len(credits)} CREDIT instructions, not 1",
                duplicated=len(credits) > 1,
            )
        elif credits[0].state not in CREDIT_STATE_FOR[c.state]:
            report.fail(f"conversion {c.conversion_id} is {c.state} but its credit is {credits[0].state}")
        elif credits[0].points != c.target_points:
            report.fail(f"conversion {c.conversion_id} credits {credits[0].points} points, not {c.target_points}")
        debited = c.fee_points + c.source_points_converted
        if any(r.points != debited for r in refunds):
            report.fail(f"conversion {c.conversion_id} refunds {[r.points for r in refunds]}, not {debited}")
        want_refund = REFUND_STATE_FOR.get(c.state)
        if want_refund is None and refunds:
            report.fail(f"conversion {c.conversion_id} is {c.state} yet has {len(refunds)} REFUND instructions")
        if want_refund is not None and (len(refunds) != 1 or refunds[0].state not in want_refund):
            report.fail(
                f"conversion {c.conversion_id} is {c.state}; its refunds are {[r.state for r in refunds]}, "
                f"expected one {sorted(want_refund)}"
            )
    for row in snap.instructions:
        if row.state == "ACKNOWLEDGED" and row.partner_reference != f"ack-{row.instruction_id}":
            report.fail(f"instruction {row.instruction_id} acknowledged with a reference no client sent")
        if row.state == "ACKNOWLEDGED" and row.delivery_count < 1:
            report.fail(f"instruction {row.instruction_id} acknowledged without ever being delivered")
    decoded = Counter(keyed_result(r) for r in snap.keys.values() if r.method.endswith("/Convert"))
    for conversion_id in snap.conversions:
        if decoded[conversion_id] != 1:
            report.fail(
                f"conversion {conversion_id} is the answer of {decoded[conversion_id]} idempotency keys",
                duplicated=decoded[conversion_id] > 1,
            )
    for conversion_id in decoded.keys() - snap.conversions.keys():
        report.fail(f"an idempotency key answers with conversion {conversion_id}, which does not exist")


def _check_books(snap: Snapshot, books: BrandBooks, report: Report) -> None:
    taking_back = {r.conversion_id for r in snap.instructions if r.kind == "CREDIT_CANCELLED" and r.state == "PENDING"}
    for c in snap.conversions.values():
        credited = books.credited.get(c.conversion_id, 0)
        refunded = books.refunded.get(c.conversion_id, 0)
        debited = c.fee_points + c.source_points_converted
        # A credit applied late is taken back by a CREDIT_CANCELLED; while that is still pending
        # (a run that did not drain) the target may hold the credit, or have taken it back and
        # not yet been heard.
        late_credit = c.target_points if c.conversion_id in taking_back and credited else 0
        if c.state == "COMPLETED":
            want = (c.target_points, 0)
        elif c.state == "REFUNDED":
            want = (late_credit, debited)
        else:  # still waiting for its credit, or for its refund's acknowledgement
            want = (credited if c.state == "PENDING_CREDIT" else late_credit, refunded)
        if (credited, refunded) != want:
            report.fail(
                f"books: conversion {c.conversion_id} is {c.state}, yet the target credited {credited} "
                f"and the source refunded {refunded} (expected {want[0]} and {want[1]})"
            )
    report.figures["books.credits_taken_back"] = books.taken_back


def _check_holds(snap: Snapshot, report: Report) -> None:
    captured: dict[str, int] = defaultdict(int)
    for capture in snap.captures:
        captured[capture.hold_id] += capture.source_points
    releases: dict[str, list[Any]] = defaultdict(list)
    for row in snap.instructions:
        if row.kind == "RELEASE":
            releases[row.hold_id].append(row)
    for h in snap.holds.values():
        if h.captured_points != captured[h.hold_id]:
            report.fail(
                f"hold {h.hold_id} says {h.captured_points} captured, its captures sum to {captured[h.hold_id]}"
            )
        left = h.authorized_points - h.captured_points - h.released_points
        if left < 0 or (h.state != "OPEN" and left != 0) or (h.state == "OPEN" and h.released_points):
            report.fail(
                f"hold {h.hold_id} ({h.state}) does not add up: authorized {h.authorized_points}, "
                f"captured {h.captured_points}, released {h.released_points}"
            )
        sent = releases.get(h.hold_id, [])
        if h.released_points and (len(sent) != 1 or sent[0].points != h.released_points):
            report.fail(f"hold {h.hold_id} released {h.released_points}; RELEASE instructions: {len(sent)}")
        if not h.released_points and sent:
            report.fail(f"hold {h.hold_id} released nothing yet has {len(sent)} RELEASE instructions")


def _check_ops(snap: Snapshot, ops: list[Op], report: Report) -> None:
    by_reference: dict[str, list[Any]] = defaultdict(list)
    for capture in snap.captures:
        by_reference[capture.target_reference].append(capture)
    instructions_by_id = {r.instruction_id: r for r in snap.instructions}
    holds_by_member = {(h.source_partner_id, h.source_member_ref): h for h in snap.holds.values()}
    claimed_quotes: set[str] = set()
    claimed_members: set[tuple[str, str]] = set()
    happened = Counter[str]()
    for op in ops:
        key_row = snap.keys.get((op.actor, op.key)) if op.key else None
        where = f"op {op.op_id} {op.kind} ({op.outcome}{', ' + op.reason if op.reason else ''})"
        if op.kind in ("convert", "authorize", "capture") and op.outcome in (OK, UNKNOWN):
            if op.kind == "convert":
                claimed_quotes.add(op.quote_id)
            if op.kind == "authorize":
                claimed_members.add((op.actor, op.member_ref))
        if op.outcome == REFUSED and key_row is not None:
            report.fail(f"{where}: refused, yet its idempotency key {op.key} was stored")
        if op.kind == "convert":
            c = snap.conversions.get(op.result_id)
            missing = op.outcome == OK and (c is None or c.quote_id != op.quote_id or c.source_partner_id != op.actor)
            if missing:
                report.fail(
                    f"{where}: acknowledged conversion {op.result_id} is missing or not this quote's", lost=True
                )
            if op.outcome == OK and (key_row is None or keyed_result(key_row) != op.result_id):
                report.fail(f"{where}: key {op.key} does not lead to the acknowledged {op.result_id}", lost=not missing)
            if op.outcome == UNKNOWN and key_row is not None:
                happened["convert"] += 1
        elif op.kind == "authorize":
            h = snap.holds.get(op.result_id)
            missing = op.outcome == OK and (h is None or h.source_member_ref != op.member_ref)
            if missing:
                report.fail(f"{where}: acknowledged hold {op.result_id} is missing or not this member's", lost=True)
            if op.outcome == OK and (key_row is None or keyed_result(key_row) != op.result_id):
                report.fail(f"{where}: key {op.key} does not lead to the acknowledged {op.result_id}", lost=not missing)
            if op.outcome == REFUSED and (op.actor, op.member_ref) in holds_by_member:
                report.fail(f"{where}: refused, yet a hold for {op.member_ref} exists")
            if op.outcome == UNKNOWN and key_row is not None:
                happened["authorize"] += 1
        elif op.kind == "capture":
            found = by_reference.get(op.reference, [])
            if op.outcome == OK and (
                len(found) != 1 or found[0].capture_id != op.result_id or found[0].source_points != op.points
            ):
                report.fail(
                    f"{where}: acknowledged capture {op.result_id} exists {len(found)} times or differs",
                    lost=not found,
                    duplicated=len(found) > 1,
                )
            if op.outcome == REFUSED and found:
                report.fail(f"{where}: refused, yet {len(found)} captures with its reference exist")
            if op.outcome == UNKNOWN:
                if len(found) > 1:
                    report.fail(f"{where}: {len(found)} captures with one reference", duplicated=True)
                happened["capture"] += len(found)
        elif op.kind == "void":
            h = snap.holds.get(op.hold_id)
            if op.outcome == OK and (h is None or h.state != "VOIDED"):
                report.fail(
                    f"{where}: acknowledged void, yet hold {op.hold_id} is {h.state if h else 'missing'}", lost=True
                )
            if op.outcome == REFUSED and h is not None and h.state == "VOIDED":
                report.fail(f"{where}: refused, yet hold {op.hold_id} is VOIDED")
        elif op.kind == "ack":
            row = instructions_by_id.get(op.instruction_id)
            done = row is not None and row.state == "ACKNOWLEDGED" and row.partner_reference == op.reference
            if op.outcome == OK and not done:
                report.fail(
                    f"{where}: acknowledged, yet instruction {op.instruction_id} is {row.state if row else '-'}",
                    lost=True,
                )
            if op.outcome == REFUSED and done:
                report.fail(f"{where}: refused, yet instruction {op.instruction_id} is ACKNOWLEDGED")
            if op.outcome == UNKNOWN and done:
                happened["ack"] += 1
    for c in snap.conversions.values():
        if c.quote_id not in claimed_quotes:
            report.fail(
                f"conversion {c.conversion_id} belongs to no client operation (quote {c.quote_id})", duplicated=True
            )
    for h in snap.holds.values():
        if (h.source_partner_id, h.source_member_ref) not in claimed_members:
            report.fail(f"hold {h.hold_id} belongs to no client operation", duplicated=True)
    claimed_references = {op.reference for op in ops if op.kind == "capture" and op.outcome in (OK, UNKNOWN)}
    for reference, found in by_reference.items():
        if reference not in claimed_references:
            report.fail(
                f"{len(found)} capture(s) with reference {reference} belong to no client operation", duplicated=True
            )
    for kind, n in happened.items():
        report.figures[f"unknown_outcome_that_happened.{kind}"] = n
