"""InstructionService: pulling the hub's instructions (long poll) and answering them.

Most brands run partner_sdk.InstructionLoop, which makes these calls, instead of calling them.
"""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from coalition.exchange.v1 import instructions_pb2
from partner_sdk import _convert
from partner_sdk._client.connection import PartnerConnection, whole
from partner_sdk._models import Instruction

_INSTRUCTIONS = "/coalition.exchange.v1.InstructionService/"
# A long poll's call deadline is its wait plus this, so the hub's empty answer arrives in time.
PULL_DEADLINE_MARGIN_S = 5


def pull_instructions(
    self: PartnerConnection,
    *,
    max_instructions: int = 50,
    wait_s: int = 10,
    lease_s: int = 30,
    timeout_s: float | None = None,
) -> tuple[Instruction, ...]:
    """Fetch pending instructions, waiting up to wait_s for one to arrive (long poll).

    Most brands run partner_sdk.InstructionLoop instead of calling this directly.

    Args:
        max_instructions: the most to return (at most 200).
        wait_s: how long the hub waits for one if none is pending, 0 to 20 seconds.
        lease_s: how long the returned instructions are hidden from later pulls
            (5 to 300 seconds); settle them before it ends or they are delivered again.
        timeout_s: the call's deadline; never less than wait_s plus a margin.

    Returns:
        The instructions, oldest first; empty if none arrived in time.
    """
    request = instructions_pb2.PullInstructionsRequest(
        max_instructions=whole("max_instructions", max_instructions),
        wait_seconds=whole("wait_s", wait_s),
        lease_seconds=whole("lease_s", lease_s),
    )
    deadline = max(timeout_s or self.transport.timeout_s, wait_s + PULL_DEADLINE_MARGIN_S)
    answer = self.transport.call(
        _INSTRUCTIONS + "PullInstructions", request, instructions_pb2.PullInstructionsResponse, timeout_s=deadline
    )
    return tuple(_convert.instruction(i) for i in answer.instructions)


def acknowledge_instruction(
    self: PartnerConnection, instruction_id: str, *, partner_reference: str, timeout_s: float | None = None
) -> Instruction:
    """Tell the hub this partner applied an instruction, with its own reference for it.

    Args:
        instruction_id: the instruction applied.
        partner_reference: your reference for what you did (e.g. a ledger entry id), 1 to
            128 characters.
        timeout_s: this call's deadline in seconds.

    Returns:
        The instruction, ACKNOWLEDGED.

    Raises:
        FailedPreconditionError: the hub no longer accepts it (for example a credit
            cancelled because its deadline passed: take the points back).
    """
    answer = self.transport.call(
        _INSTRUCTIONS + "AcknowledgeInstruction",
        instructions_pb2.AcknowledgeInstructionRequest(
            instruction_id=instruction_id, partner_reference=partner_reference
        ),
        instructions_pb2.AcknowledgeInstructionResponse,
        timeout_s=timeout_s,
    )
    return _convert.instruction(answer.instruction)


def reject_instruction(
    self: PartnerConnection, instruction_id: str, *, reason: str, timeout_s: float | None = None
) -> Instruction:
    """Refuse a credit instruction (for example "member unknown"); refunds can't be refused.

    Args:
        instruction_id: the credit instruction refused.
        reason: why, 1 to 500 characters; the source partner sees it.
        timeout_s: this call's deadline in seconds.

    Returns:
        The instruction, REJECTED.
    """
    answer = self.transport.call(
        _INSTRUCTIONS + "RejectInstruction",
        instructions_pb2.RejectInstructionRequest(instruction_id=instruction_id, reason=reason),
        instructions_pb2.RejectInstructionResponse,
        timeout_s=timeout_s,
    )
    return _convert.instruction(answer.instruction)
