"""Instructions: work the hub hands a partner (credit or refund a member) and its answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from exchange.domain.errors import FailedPrecondition, NotFound
from exchange.domain.partners import REASON_MAX, parse_text

MAX_PULL = 200
DEFAULT_PULL = 50
MAX_WAIT_S = 20
DEFAULT_LEASE_S = 30
MIN_LEASE_S = 5
MAX_LEASE_S = 300
REFERENCE_MAX = 128


class InstructionKind(enum.Enum):
    """What the partner is asked to do."""

    CREDIT = "CREDIT"
    REFUND = "REFUND"
    RELEASE = "RELEASE"
    # Take back a credit the hub cancelled after delivering it (its deadline passed unacknowledged):
    # the target may have applied it. Names the credit in cancels_instruction_id.
    CREDIT_CANCELLED = "CREDIT_CANCELLED"


class InstructionState(enum.Enum):
    """Where an instruction stands."""

    PENDING = "PENDING"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class Instruction:
    """One piece of work for one partner."""

    instruction_id: str
    partner_id: str
    kind: InstructionKind
    state: InstructionState
    member_ref: str
    points: int
    point_currency: str
    conversion_id: str
    created_at_ms: int
    deadline_ms: int | None = None
    delivery_count: int = 0
    leased_until_ms: int = 0
    partner_reference: str = ""
    reason: str = ""
    reversal_id: str = ""
    hold_id: str = ""
    award_id: str = ""
    cancels_instruction_id: str = ""


def require_own(instruction: Instruction | None, caller: str, instruction_id: str) -> Instruction:
    """Return the instruction if it was given to the caller; otherwise it does not exist for them."""
    if instruction is None or instruction.partner_id != caller:
        raise NotFound("INSTRUCTION_NOT_FOUND", f"no instruction {instruction_id!r}", field="instruction_id")
    return instruction


def is_late(instruction: Instruction, now_ms: int) -> bool:
    """Return whether a pending credit's deadline has passed (the hub expires it and refunds the source)."""
    late = instruction.deadline_ms is not None and now_ms >= instruction.deadline_ms
    return late and instruction.state is InstructionState.PENDING


def require_in_time(instruction: Instruction, now_ms: int) -> None:
    """Refuse an answer to a pending credit after its deadline, for good (a final refusal)."""
    if is_late(instruction, now_ms):
        raise FailedPrecondition(
            "CREDIT_DEADLINE_PASSED",
            f"instruction {instruction.instruction_id!r} was due before now; it is cancelled and refunded",
            final=True,
        )


def acknowledge(instruction: Instruction, *, reference: str) -> Instruction:
    """The partner applied it. Acknowledging again with the same reference is a no-op."""
    reference = parse_text(reference, field="partner_reference", max_length=REFERENCE_MAX)
    if instruction.state is InstructionState.ACKNOWLEDGED and instruction.partner_reference == reference:
        return instruction
    _require_pending(instruction)
    return replace(instruction, state=InstructionState.ACKNOWLEDGED, partner_reference=reference)


def reject(instruction: Instruction, *, reason: str) -> Instruction:
    """The partner refuses a credit (a refund can't be refused: the member's points are owed back)."""
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    if instruction.kind is not InstructionKind.CREDIT:
        raise FailedPrecondition(
            "ONLY_CREDITS_REJECTABLE",
            "a refund or release gives the member's own points back, and a cancelled credit takes back "
            "points that were never owed: apply it",
        )
    _require_pending(instruction)
    return replace(instruction, state=InstructionState.REJECTED, reason=reason)


def cancel(instruction: Instruction, *, reason: str) -> Instruction:
    """The hub withdraws a pending credit (its deadline passed)."""
    _require_pending(instruction)
    return replace(instruction, state=InstructionState.CANCELLED, reason=reason)


def take_back(cancelled: Instruction, *, instruction_id: str, now_ms: int) -> Instruction | None:
    """The instruction that tells the target to take back a cancelled credit, if it was ever delivered.

    A credit the target pulled may have been applied in its ledger even though no
    acknowledgement reached the hub (the hub or the network was down, or the target's process
    died in between). The hub can't know, so it says so: the target reverses the credit if it
    applied it, and acknowledges either way. A credit never delivered was never applied.
    """
    if cancelled.kind is not InstructionKind.CREDIT or cancelled.delivery_count == 0:
        return None
    return Instruction(
        instruction_id=instruction_id,
        partner_id=cancelled.partner_id,
        kind=InstructionKind.CREDIT_CANCELLED,
        state=InstructionState.PENDING,
        member_ref=cancelled.member_ref,
        points=cancelled.points,
        point_currency=cancelled.point_currency,
        conversion_id=cancelled.conversion_id,
        created_at_ms=now_ms,
        reason=cancelled.reason,
        award_id=cancelled.award_id,
        cancels_instruction_id=cancelled.instruction_id,
    )


def _require_pending(instruction: Instruction) -> None:
    if instruction.state is not InstructionState.PENDING:
        detail = f" ({instruction.reason})" if instruction.reason else ""
        raise FailedPrecondition(
            f"INSTRUCTION_{instruction.state.value}",
            f"instruction {instruction.instruction_id!r} is {instruction.state.value}{detail}",
        )
