"""The audit chain alone: any change to any sealed event is found at that event."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.domain.audit import (
    GENESIS_SHA256,
    AuditEvent,
    Checkpoint,
    chain,
    is_state_change,
    verify,
)

FIELDS = ("at_ms", "actor", "action", "subject", "request_sha256", "response_sha256")


def _sealed(count: int) -> tuple[list[AuditEvent], list[Checkpoint]]:
    events, head = [], GENESIS_SHA256
    for seq in range(1, count + 1):
        event = AuditEvent(seq, 1_000 + seq, "stride", "/x.v1.S/Convert", f"s{seq}", "a" * 64, "b" * 64)
        head = chain(head, event)
        events.append(replace(event, entry_sha256=head))
    return events, [Checkpoint(1, count, head, 9_999, count, "hub-k", b"sig")]


def _ok(_: Checkpoint) -> bool:
    return True


def test_reads_and_long_polls_are_not_state_changes() -> None:
    assert not is_state_change("/coalition.exchange.v1.SettlementService/GetStatement")
    assert not is_state_change("/coalition.exchange.v1.InstructionService/PullInstructions")
    assert is_state_change("/coalition.exchange.v1.ConversionService/Convert")


def test_an_intact_log_verifies() -> None:
    events, checkpoints = _sealed(5)
    assert verify(events, checkpoints, _ok) == (5, None)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.sampled_from(FIELDS), st.data())
def test_changing_any_field_of_any_sealed_event_breaks_there(position: int, field: str, data: st.DataObject) -> None:
    events, checkpoints = _sealed(8)
    original = events[position - 1]
    value = getattr(original, field)
    changed = value + 1 if isinstance(value, int) else value + data.draw(st.text(min_size=1, max_size=3))
    events[position - 1] = replace(original, **{field: changed})
    checked, broken = verify(events, checkpoints, _ok)
    assert broken is not None and broken.seq == position and checked == position - 1


def test_an_unsealed_event_below_sealed_ones_and_missing_tail_are_breaks() -> None:
    events, checkpoints = _sealed(4)
    inserted = [events[0], AuditEvent(2, 5, "x", "y", "", "", ""), *events[1:]]
    assert verify(inserted, checkpoints, _ok)[1] is not None
    checked, broken = verify(events[:3], checkpoints, _ok)
    assert broken is not None and "missing" in broken.problem and checked == 3
    assert verify(events, checkpoints, lambda _: False)[1] is not None
