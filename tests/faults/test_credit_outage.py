"""A credit applied but not acknowledged before its deadline never leaves the member paid twice.

The target brand's InstructionLoop pulls credits and applies them to its own ledger; then the hub
goes away before any acknowledgement reaches it, and stays away past the credits' deadline. When
it comes back, it expires the credits (refunding the source brand) and sends CREDIT_CANCELLED for
each one it had delivered. Once both brands' loops drain, every member's balance at both brands
equals what the hub's records imply: a completed conversion moved the points, anything else left
the member where they started. On SQLite and PostgreSQL; once with the loops' state in memory,
once with the target's loop restarted from its SqliteLoopState file in between.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from exchange.store.database import Database
from partner_sdk import (
    ExchangeClient,
    Instruction,
    InstructionLoop,
    LoopState,
    MemoryLoopState,
    RetryPolicy,
    SqliteLoopState,
    UnavailableError,
)
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair

MEMBERS = [f"m-{n}" for n in range(6)]
OPENING_BALANCE = 10_000
DEADLINE_MS = 15 * 60 * 1000
QUICK = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05)
MAX_DRAIN_ROUNDS = 50


@dataclass
class BrandLedger:
    """A brand's own points ledger: balances per member, idempotent on the instruction id."""

    balances: dict[str, int] = field(default_factory=dict)
    applied: dict[str, str] = field(default_factory=dict)
    on_credit: list[object] = field(default_factory=list)  # callbacks run after each credit is applied

    def _post(self, instruction: Instruction, member: str, points: int) -> str:
        if instruction.instruction_id not in self.applied:
            self.balances[member] = self.balances.get(member, 0) + points
            self.applied[instruction.instruction_id] = f"entry-{len(self.applied) + 1}"
        return self.applied[instruction.instruction_id]

    def credit(self, instruction: Instruction) -> str:
        reference = self._post(instruction, instruction.member_ref, instruction.points)
        for callback in self.on_credit:
            callback()  # type: ignore[operator]
        return reference

    def refund(self, instruction: Instruction) -> str:
        return self._post(instruction, instruction.member_ref, instruction.points)

    def release(self, instruction: Instruction) -> str:
        return self._post(instruction, instruction.member_ref, instruction.points)

    def cancel_credit(self, instruction: Instruction) -> str:
        if instruction.cancels_instruction_id not in self.applied:
            return self.applied.setdefault(instruction.instruction_id, "nothing-to-take-back")
        return self._post(instruction, instruction.member_ref, -instruction.points)


@dataclass
class Outage:
    """The hub of a test, which the test can take down and bring back on the same address."""

    hub: RunningHub
    port: int

    def down(self) -> None:
        self.hub.take_down()

    def up(self) -> None:
        self.hub.bring_back()
        assert self.hub.server.port == self.port


@pytest.fixture
def revived(hub: RunningHub) -> Outage:
    return Outage(hub, hub.server.port)


def _drain(loops: list[InstructionLoop]) -> None:
    """Run the loops until nothing is pulled and nothing is owed, as run() would (pausing while the hub is away)."""
    for _ in range(MAX_DRAIN_ROUNDS):
        try:
            if sum(loop.run_once() for loop in loops) == 0 and all(loop.owed == 0 for loop in loops):
                return
        except UnavailableError:  # the channel reconnects to the revived hub after its backoff
            time.sleep(0.2)
    raise AssertionError("the instruction loops did not drain")


def _expected(source: ExchangeClient, conversions: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Each member's balance at the source and the target, as the hub's records imply."""
    at_source = {m: OPENING_BALANCE for m in MEMBERS}
    at_target = {m: 0 for m in MEMBERS}
    for conversion_id, member in conversions.items():
        conversion = source.get_conversion(conversion_id)
        if conversion.state == "COMPLETED":
            at_source[member] -= conversion.amounts.source_points_debited
            at_target[member] += conversion.amounts.target_points
        else:
            assert conversion.state == "REFUNDED", conversion.state
    return at_source, at_target


@pytest.mark.parametrize("restart_target", [False, True], ids=["loops keep running", "target loop restarted"])
def test_credits_applied_during_an_outage_past_their_deadline_leave_no_member_paid_twice(
    revived: Outage, database: Database, tmp_path: Path, restart_target: bool
) -> None:
    hub = revived.hub
    pair = accepted_pair(hub)
    stride_books = BrandLedger(balances={m: OPENING_BALANCE for m in MEMBERS})
    volt_books = BrandLedger()
    state_file = tmp_path / "voltline-loop.sqlite3"
    volt_state: LoopState = SqliteLoopState(state_file) if restart_target else MemoryLoopState()
    stride_loop = InstructionLoop(pair.source, stride_books, wait_s=0, backoff=QUICK)
    volt_loop = InstructionLoop(pair.target, volt_books, wait_s=0, backoff=QUICK, state=volt_state)

    conversions: dict[str, str] = {}
    for n, member in enumerate(MEMBERS):
        quote = pair.source.quote_conversion("voltline", 100 + n)
        stride_books.balances[member] -= quote.amounts.source_points_debited  # debited locally first
        done = pair.source.convert(quote.quote_id, source_member_ref=member, target_member_ref=member)
        conversions[done.conversion_id] = member
    # Two credits are acknowledged in time; then the hub dies right after the third is applied.
    _drain_some(volt_loop, volt_books, revived, acknowledged_before_outage=2)
    assert volt_loop.owed > 0, "the outage left acknowledgements owed"

    hub.clock.advance(DEADLINE_MS + 1)  # the outage outlasts every credit's deadline
    revived.up()
    assert hub.server.expire_overdue_once() == len(MEMBERS) - 2
    if restart_target:
        volt_state.close()  # type: ignore[union-attr]
        volt_loop = InstructionLoop(pair.target, volt_books, wait_s=0, backoff=QUICK, state=SqliteLoopState(state_file))
        assert volt_loop.owed > 0, "the owed answers survived the restart"
    _drain([stride_loop, volt_loop])

    at_source, at_target = _expected(pair.source, conversions)
    assert stride_books.balances == at_source
    assert {m: volt_books.balances.get(m, 0) for m in MEMBERS} == at_target
    completed = {c for c, m in conversions.items() if at_target[m] > 0}
    assert len(completed) == 2  # the two acknowledged in time stand; the rest were taken back
    # The statements agree with both brands' books: only the completed conversions are movements.
    operator = hub.operator()
    period = operator.get_period()
    operator.close_period(period.period_id)
    statement_id = f"stm-{period.period_id[4:]}-voltline"
    moved = {m.movement_id for m in pair.target.iter_statement_movements(statement_id)}
    assert moved == completed


def _drain_some(loop: InstructionLoop, books: BrandLedger, outage: Outage, *, acknowledged_before_outage: int) -> None:
    """Let the loop apply every credit, but take the hub down once enough were acknowledged."""
    credits: list[int] = []

    def count() -> None:
        credits.append(1)
        if len(credits) == acknowledged_before_outage + 1:
            outage.down()

    books.on_credit.append(count)
    loop.run_once()  # the acknowledgements after the outage began are owed, not raised
    books.on_credit.clear()
    assert len(credits) == len(MEMBERS)
