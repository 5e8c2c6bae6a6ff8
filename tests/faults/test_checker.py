"""The bank test's checker finds what it is there to find (on made-up tables, no database)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from coalition.exchange.v1 import conversions_pb2, redemptions_pb2
from faults.checker import Report, Snapshot, _check_books, check_snapshot
from faults.history import OK, REFUSED, History
from faults.workload import BrandBooks

SOURCE, TARGET = "bank-src-0", "bank-target"
CONVERT = "/coalition.exchange.v1.ConversionService/Convert"
AUTHORIZE = "/coalition.exchange.v1.RedemptionService/AuthorizeHold"
CAPTURE = "/coalition.exchange.v1.RedemptionService/CaptureHold"


def _row(**fields: object) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def _consistent() -> tuple[Snapshot, History]:
    """One completed conversion, one hold with one capture, one refused conversion: all as the clients were told."""
    conversion = _row(
        conversion_id="cnv-1", quote_id="quo-1", source_partner_id=SOURCE, target_partner_id=TARGET,
        state="COMPLETED", settlement_amount_minor=742, settlement_currency="EUR", target_points=1485,
        fee_points=10, source_points_converted=990,
    )  # fmt: skip
    hold = _row(
        hold_id="hold-1", source_partner_id=SOURCE, target_partner_id=TARGET, source_member_ref="h-1",
        authorized_points=100, captured_points=40, released_points=60, state="VOIDED", settlement_currency="EUR",
    )  # fmt: skip
    capture = _row(capture_id="cap-1", hold_id="hold-1", source_points=40, settlement_amount_minor=30,
                   target_reference="cap-key-1")  # fmt: skip
    convert_body = conversions_pb2.ConvertResponse(
        conversion=conversions_pb2.Conversion(conversion_id="cnv-1")
    ).SerializeToString()
    hold_body = redemptions_pb2.AuthorizeHoldResponse(hold=redemptions_pb2.Hold(hold_id="hold-1")).SerializeToString()
    capture_body = redemptions_pb2.CaptureHoldResponse(
        hold=redemptions_pb2.Hold(
            hold_id="hold-1",
            captures=[redemptions_pb2.Capture(capture_id="cap-1", source_points=40, target_reference="cap-key-1")],
        )
    ).SerializeToString()
    snap = Snapshot(
        conversions={"cnv-1": conversion},
        holds={"hold-1": hold},
        captures=[capture],
        instructions=[
            _row(
                instruction_id="ins-1",
                kind="CREDIT",
                state="ACKNOWLEDGED",
                conversion_id="cnv-1",
                hold_id="",
                points=1485,
                partner_reference="ack-ins-1",
                delivery_count=1,
            ),
            _row(
                instruction_id="ins-2",
                kind="RELEASE",
                state="PENDING",
                conversion_id="",
                hold_id="hold-1",
                points=60,
                partner_reference="",
                delivery_count=2,
            ),
        ],
        keys={
            (SOURCE, "key-1"): _row(idempotency_key="key-1", method=CONVERT, response_body=convert_body),
            (SOURCE, "hold-key-1"): _row(idempotency_key="hold-key-1", method=AUTHORIZE, response_body=hold_body),
            (TARGET, "cap-key-1"): _row(idempotency_key="cap-key-1", method=CAPTURE, response_body=capture_body),
        },
        ledger_counts=Counter({("CONVERSION", "cnv-1"): 1, ("CAPTURE", "cap-1"): 1}),
        unbalanced=[],
        positions={(TARGET, "EUR"): 772, (SOURCE, "EUR"): -772},
    )
    history = History()
    ops = [
        history.new("convert", SOURCE, key="key-1", quote_id="quo-1", member_ref="m-1"),
        history.new("convert", SOURCE, key="key-2", quote_id="quo-1", member_ref="m-1"),
        history.new("authorize", SOURCE, key="hold-key-1", member_ref="h-1"),
        history.new("capture", TARGET, key="cap-key-1", hold_id="hold-1", reference="cap-key-1", points=40),
        history.new("void", SOURCE, hold_id="hold-1"),
        history.new("ack", TARGET, instruction_id="ins-1", reference="ack-ins-1"),
    ]
    ops[0].result_id, ops[2].result_id, ops[3].result_id = "cnv-1", "hold-1", "cap-1"
    for op in ops:
        history.finish(op, REFUSED if op is ops[1] else OK, reason="QUOTE_ALREADY_USED" if op is ops[1] else "")
    return snap, history


def test_tables_that_say_what_the_clients_were_told_pass() -> None:
    snap, history = _consistent()
    report = check_snapshot(snap, history)
    assert report.violations == []
    assert report.figures["instructions.pending"] == 1


def _duplicate_conversion_posting(snap: Snapshot, history: History) -> None:
    snap.ledger_counts[("CONVERSION", "cnv-1")] = 2


def _positions_off(snap: Snapshot, history: History) -> None:
    snap.positions[(TARGET, "EUR")] += 1


def _refused_key_stored(snap: Snapshot, history: History) -> None:
    snap.keys[(SOURCE, "key-2")] = snap.keys[(SOURCE, "key-1")]


def _acknowledged_conversion_lost(snap: Snapshot, history: History) -> None:
    del snap.conversions["cnv-1"]


def _phantom_conversion(snap: Snapshot, history: History) -> None:
    snap.conversions["cnv-9"] = SimpleNamespace(**{**vars(snap.conversions["cnv-1"]), "conversion_id": "cnv-9",
                                                   "quote_id": "quo-9", "state": "EXPIRED"})  # fmt: skip


def _credit_out_of_step(snap: Snapshot, history: History) -> None:
    snap.conversions["cnv-1"].state = "PENDING_CREDIT"


def _capture_twice(snap: Snapshot, history: History) -> None:
    snap.captures.append(SimpleNamespace(**{**vars(snap.captures[0]), "capture_id": "cap-2"}))


def _release_missing(snap: Snapshot, history: History) -> None:
    snap.instructions.pop()


def _ack_refused_but_done(snap: Snapshot, history: History) -> None:
    history.ops[-1].outcome = REFUSED


def _credit_of_another_amount(snap: Snapshot, history: History) -> None:
    snap.instructions[0].points += 1


def _unbalanced(snap: Snapshot, history: History) -> None:
    snap.unbalanced.append(("txn-1", "EUR", 5))


@pytest.mark.parametrize(
    "tamper",
    [
        _duplicate_conversion_posting,
        _positions_off,
        _refused_key_stored,
        _acknowledged_conversion_lost,
        _phantom_conversion,
        _credit_out_of_step,
        _capture_twice,
        _release_missing,
        _ack_refused_but_done,
        _credit_of_another_amount,
        _unbalanced,
    ],
)
def test_each_kind_of_damage_is_a_violation(tamper: Callable[[Snapshot, History], None]) -> None:
    snap, history = _consistent()
    tamper(snap, history)
    assert check_snapshot(snap, history).violations


@pytest.mark.parametrize(
    ("tamper", "lost", "duplicated"),
    [
        (_acknowledged_conversion_lost, 1, 0),  # one lost operation, however many checks notice it
        (_phantom_conversion, 0, 1),
        (_capture_twice, 0, 1),
        (_positions_off, 0, 0),
    ],
)
def test_lost_and_duplicated_count_operations(
    tamper: Callable[[Snapshot, History], None], lost: int, duplicated: int
) -> None:
    """The failover test reports these two tallies (faults.failover): each counts operations, not messages."""
    snap, history = _consistent()
    tamper(snap, history)
    figures = check_snapshot(snap, history).figures
    assert (figures.get("lost", 0), figures.get("duplicated", 0)) == (lost, duplicated)


@pytest.mark.parametrize(("take_back_state", "violations"), [("PENDING", 0), ("ACKNOWLEDGED", 1)])
def test_a_late_credit_may_stand_in_the_books_only_while_its_take_back_is_pending(
    take_back_state: str, violations: int
) -> None:
    """A run that did not drain leaves CREDIT_CANCELLED pending: the target still holds the credit, rightly."""
    snap, history = _consistent()
    conversion = snap.conversions["cnv-1"]
    conversion.state = "EXPIRED"
    snap.instructions[0].state = "CANCELLED"
    snap.instructions.append(
        _row(instruction_id="ins-3", kind="CREDIT_CANCELLED", state=take_back_state, conversion_id="cnv-1",
             hold_id="", points=1485, partner_reference="", delivery_count=1)
    )  # fmt: skip
    books = BrandBooks(credited={"cnv-1": conversion.target_points})
    report = Report()
    _check_books(snap, books, report)
    assert len(report.violations) == violations
