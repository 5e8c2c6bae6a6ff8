"""The audit chain alone: every kind of tampering is named at the event where it happened."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.domain.audit import (
    GENESIS_SHA256,
    AuditEvent,
    BreakKind,
    Checkpoint,
    chain,
    is_state_change,
    verify,
)

FIELDS = ("at_ms", "actor", "action", "subject", "request_sha256", "response_sha256")


def _event(seq: int) -> AuditEvent:
    return AuditEvent(seq, 1_000 + seq, "stride", "/x.v1.S/Convert", f"s{seq}", "a" * 64, "b" * 64)


def _sealed(*batches: Iterable[int]) -> tuple[list[AuditEvent], list[Checkpoint]]:
    """Seal these seqs, one checkpoint per batch (a seq left out is a rolled-back append: a legitimate gap)."""
    events: list[AuditEvent] = []
    checkpoints: list[Checkpoint] = []
    head = GENESIS_SHA256
    for number, batch in enumerate(batches, start=1):
        seqs = list(batch)
        for seq in seqs:
            head = chain(head, _event(seq))
            events.append(replace(_event(seq), entry_sha256=head))
        checkpoints.append(Checkpoint(number, seqs[-1], head, 9_999, len(seqs), "hub-k", b"sig"))
    return events, checkpoints


def _ok(_: Checkpoint) -> bool:
    return True


def _without(events: list[AuditEvent], *seqs: int) -> list[AuditEvent]:
    return [event for event in events if event.seq not in seqs]


def test_reads_and_long_polls_are_not_state_changes() -> None:
    assert not is_state_change("/coalition.exchange.v1.SettlementService/GetStatement")
    assert not is_state_change("/coalition.exchange.v1.InstructionService/PullInstructions")
    assert is_state_change("/coalition.exchange.v1.ConversionService/Convert")


def test_an_intact_log_verifies() -> None:
    events, checkpoints = _sealed(range(1, 6))
    assert verify(events, checkpoints, _ok) == (5, None)


def test_an_intact_log_with_sequence_gaps_verifies() -> None:
    events, checkpoints = _sealed([1, 2, 5, 6], [9, 12])
    assert verify(events, checkpoints, _ok) == (6, None)


def test_verify_streams_the_events_once() -> None:
    events, checkpoints = _sealed(range(1, 6), range(6, 9))

    def once() -> Iterator[AuditEvent]:
        yield from events

    assert verify(once(), checkpoints, _ok) == (8, None)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8), st.sampled_from(FIELDS), st.data())
def test_changing_any_field_of_any_sealed_event_breaks_there(position: int, field: str, data: st.DataObject) -> None:
    events, checkpoints = _sealed(range(1, 9))
    original = events[position - 1]
    value = getattr(original, field)
    changed = value + 1 if isinstance(value, int) else value + data.draw(st.text(min_size=1, max_size=3))
    changes: dict[str, Any] = {field: changed}
    events[position - 1] = replace(original, **changes)
    checked, broken = verify(events, checkpoints, _ok)
    assert broken is not None and broken.kind is BreakKind.CHANGED
    assert broken.seq == position and checked == position - 1


def test_a_deleted_event_is_named_missing_not_the_one_after_it() -> None:
    events, checkpoints = _sealed(range(1, 1001))
    checked, broken = verify(_without(events, 900), checkpoints, _ok)
    assert broken is not None and broken.kind is BreakKind.MISSING
    assert (broken.seq, broken.last_seq, checked) == (900, 900, 899)
    assert broken.problem.startswith("event 900 is missing")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 3))
def test_deleting_any_run_of_events_names_the_run(first: int, length: int) -> None:
    events, checkpoints = _sealed(range(1, 6), range(6, 11), range(11, 16))
    run = range(first, min(first + length, 16))
    checked, broken = verify(_without(events, *run), checkpoints, _ok)
    assert broken is not None and broken.kind is BreakKind.MISSING
    assert (broken.seq, broken.last_seq, checked) == (run[0], run[-1], run[0] - 1)


def test_several_runs_deleted_name_the_first() -> None:
    events, checkpoints = _sealed(range(1, 21))
    broken = verify(_without(events, 4, 5, 15), checkpoints, _ok)[1]
    assert broken is not None and broken.kind is BreakKind.MISSING and (broken.seq, broken.last_seq) == (4, 5)
    assert broken.problem.startswith("events 4 to 5 are missing")


def test_the_deleted_last_event_is_missing() -> None:
    events, checkpoints = _sealed(range(1, 6), range(6, 9))
    checked, broken = verify(events[:-1], checkpoints, _ok)
    assert broken is not None and broken.kind is BreakKind.MISSING
    assert (broken.seq, broken.last_seq, checked) == (8, 8, 7)
    unsealed_after = [*events[:-1], _event(9)]
    broken = verify(unsealed_after, checkpoints, _ok)[1]
    assert broken is not None and (broken.kind, broken.seq) == (BreakKind.MISSING, 8)


def test_a_changed_event_after_a_legitimate_gap_is_changed_not_missing() -> None:
    events, checkpoints = _sealed([1, 2, 3, 6, 7, 8])
    events[3] = replace(events[3], actor="voltline")
    checked, broken = verify(events, checkpoints, _ok)
    assert broken is not None and (broken.kind, broken.seq, checked) == (BreakKind.CHANGED, 6, 3)


def test_a_deleted_event_beside_a_legitimate_gap_is_missing() -> None:
    events, checkpoints = _sealed([1, 2, 3, 6, 7, 8])
    broken = verify(_without(events, 6), checkpoints, _ok)[1]
    assert broken is not None and broken.kind is BreakKind.MISSING and broken.seq <= 6 <= (broken.last_seq or 0)


def test_a_forged_sealed_event_in_a_gap_is_inserted() -> None:
    events, checkpoints = _sealed([1, 2, 3, 6, 7, 8])
    forged = _event(4)
    forged = replace(forged, entry_sha256=chain(events[2].entry_sha256 or "", forged))
    checked, broken = verify([*events[:3], forged, *events[3:]], checkpoints, _ok)
    assert broken is not None and (broken.kind, broken.seq, checked) == (BreakKind.INSERTED, 4, 3)
    assert "inserted" in broken.problem


def test_a_forged_sealed_event_past_the_last_checkpoint_is_inserted() -> None:
    events, checkpoints = _sealed(range(1, 5))
    forged = _event(5)
    forged = replace(forged, entry_sha256=chain(events[-1].entry_sha256 or "", forged))
    checked, broken = verify([*events, forged], checkpoints, _ok)
    assert broken is not None and (broken.kind, broken.seq, checked) == (BreakKind.INSERTED, 5, 4)
    assert "no signed checkpoint" in broken.problem


def test_an_unsealed_event_below_sealed_ones_is_inserted() -> None:
    events, checkpoints = _sealed([1, 3, 4])
    broken = verify([events[0], _event(2), *events[1:]], checkpoints, _ok)[1]
    assert broken is not None and (broken.kind, broken.seq) == (BreakKind.INSERTED, 2)
    assert verify([*events, _event(5)], checkpoints, _ok) == (3, None)  # not sealed yet: fine


def test_a_checkpoint_not_signed_by_the_hub_and_a_rewritten_chain() -> None:
    events, checkpoints = _sealed(range(1, 5))
    broken = verify(events, checkpoints, lambda _: False)[1]
    assert broken is not None and broken.kind is BreakKind.CHECKPOINT_UNSIGNED
    rewritten, head = [], GENESIS_SHA256
    for event in _without(events, 2):
        head = chain(head, event)
        rewritten.append(replace(event, entry_sha256=head))
    broken = verify(rewritten, checkpoints, _ok)[1]
    assert broken is not None and (broken.kind, broken.seq) == (BreakKind.CHAIN_REWRITTEN, 4)


def test_what_the_chain_covers_is_unchanged_so_old_logs_still_verify() -> None:
    # Pinned before events had subjects: an event with an empty subject hashes as it always did,
    # and the subject is covered the same way as every other column.
    event = AuditEvent(
        7, 1_700_000_000_000, "stride", "/coalition.exchange.v1.ConversionService/Convert", "", "a" * 64, "b" * 64
    )
    assert chain(GENESIS_SHA256, event) == "9f60d293948359bac10415e6c64a21d8bc03f3fc1ce4df933f0041032960229b"
    assert chain(GENESIS_SHA256, replace(event, subject="cv_1")) == (
        "b8e28b65f8b5618f702a2eb2b6733760d0e82fb3e1f25c3cd58cdc9566454e0d"
    )
