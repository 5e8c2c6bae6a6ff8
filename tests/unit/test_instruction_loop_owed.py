"""An answer the hub did not take is sent again until it is, across restarts; a cancelled credit is taken back."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from partner_sdk import (
    FailedPreconditionError,
    Instruction,
    InstructionLoop,
    LoopOutcome,
    MemoryLoopState,
    RetryPolicy,
    SqliteLoopState,
    UnavailableError,
)
from tests.unit.test_sdk_documents import FakeClient, Ledger, _instruction

QUICK = RetryPolicy(initial_backoff_s=0.001, max_backoff_s=0.002)


class TakingBackLedger(Ledger):
    """A ledger that takes back cancelled credits it applied."""

    def __init__(self) -> None:
        super().__init__()
        self.taken_back: list[str] = []

    def cancel_credit(self, instruction: Instruction) -> str:
        if any(i == instruction.cancels_instruction_id for _, i in self.applied):
            self.taken_back.append(instruction.cancels_instruction_id)
        return f"reversal-{instruction.instruction_id}"


def test_a_failed_acknowledgement_is_sent_again_without_waiting_for_a_redelivery() -> None:
    client = FakeClient([_instruction("i1")])  # delivered once, never again (its deadline is near)
    client.ack_errors["i1"] = [UnavailableError("hub down")] * 3
    ledger = Ledger()
    stop = threading.Event()
    client.on_empty = lambda: stop.set() if client.acknowledged else None
    InstructionLoop(client, ledger, backoff=QUICK, wait_s=1).run(stop)
    assert ledger.applied == [("CREDIT", "i1")]
    assert client.acknowledged == [("i1", "ledger-i1")]


def test_the_owed_answer_survives_a_restart_of_the_brands_process(tmp_path: Path) -> None:
    path = tmp_path / "loop.sqlite3"
    client = FakeClient([_instruction("i1")])
    client.ack_errors["i1"] = [UnavailableError("hub down")]
    ledger = Ledger()
    first = SqliteLoopState(path)
    assert InstructionLoop(client, ledger, state=first).run_once() == 0
    first.close()  # the process dies here, its answer owed

    restarted = SqliteLoopState(path)
    loop = InstructionLoop(client, ledger, state=restarted)
    assert loop.owed == 1
    assert loop.run_once() == 0  # nothing new to pull; the owed acknowledgement went first
    assert client.acknowledged == [("i1", "ledger-i1")]
    assert ledger.applied == [("CREDIT", "i1")]  # applied once, before the restart
    assert loop.owed == 0


def test_a_redelivery_after_a_restart_is_answered_without_applying_again(tmp_path: Path) -> None:
    path = tmp_path / "loop.sqlite3"
    ledger = Ledger()
    InstructionLoop(FakeClient([_instruction("i1")]), ledger, state=SqliteLoopState(path)).run_once()
    client = FakeClient([_instruction("i1", delivery=2)])
    InstructionLoop(client, ledger, state=SqliteLoopState(path)).run_once()
    assert ledger.applied == [("CREDIT", "i1")]
    assert client.acknowledged == [("i1", "ledger-i1")]


def test_a_cancelled_credit_is_taken_back_and_acknowledged() -> None:
    credit = _instruction("i1")
    cancel = dataclasses.replace(_instruction("i2", "CREDIT_CANCELLED"), cancels_instruction_id="i1")
    client = FakeClient([credit], [cancel])
    client.ack_errors["i1"] = [UnavailableError("hub down")]
    ledger = TakingBackLedger()
    loop = InstructionLoop(client, ledger)
    loop.run_once()
    client.ack_errors["i1"] = [FailedPreconditionError("late", reason="INSTRUCTION_CANCELLED")]
    loop.run_once()  # the owed acknowledgement is refused for good, then the cancellation arrives
    assert ledger.taken_back == ["i1"]
    assert client.acknowledged == [("i2", "reversal-i2")]
    assert loop.owed == 0


def test_the_backoff_starts_over_once_the_hub_answers() -> None:
    pauses: list[int] = []

    class Recording(RetryPolicy):
        def pause_s(self, attempt: int) -> float:
            pauses.append(attempt)
            return 0.0

    client = FakeClient(UnavailableError("down"), UnavailableError("down"), [], UnavailableError("down"))
    stop = threading.Event()
    client.on_empty = stop.set
    InstructionLoop(client, Ledger(), backoff=Recording(), wait_s=1).run(stop)
    assert pauses == [1, 2, 1]


def test_memory_state_never_forgets_an_owed_answer_to_make_room() -> None:
    state = MemoryLoopState(remember=2)
    state.put(LoopOutcome("owed", "CREDIT", "acknowledge", "r"))
    for n in range(5):
        state.put(LoopOutcome(f"done-{n}", "CREDIT", "acknowledge", "r", answered=True))
    assert [o.instruction_id for o in state.unanswered(10)] == ["owed"]
    assert state.get("owed") is not None and len(state) == 2
