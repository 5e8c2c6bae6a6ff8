"""Instruction commands: lease pending work to a partner, take its acknowledgement or rejection."""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.domain import instructions as rules
from exchange.domain.conversions import ConversionState, move
from exchange.domain.errors import InvalidArgument, require
from exchange.domain.instructions import Instruction, InstructionKind
from exchange.domain.settlement import conversion_movement
from exchange.service import settlement
from exchange.service.authentication import Caller
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.ids import new_id
from exchange.store.instructions_repo import InstructionRepository


def pull_limits(max_instructions: int, wait_s: int, lease_s: int) -> tuple[int, int, int]:
    """Validate a pull's limits and return (max, wait_s, lease_s) with defaults applied."""
    if not 0 <= max_instructions <= rules.MAX_PULL:
        raise InvalidArgument(
            "INVALID_MAX_INSTRUCTIONS", f"max_instructions must be 0 to {rules.MAX_PULL}", field="max_instructions"
        )
    if not 0 <= wait_s <= rules.MAX_WAIT_S:
        raise InvalidArgument("INVALID_WAIT", f"wait_seconds must be 0 to {rules.MAX_WAIT_S}", field="wait_seconds")
    lease = lease_s or rules.DEFAULT_LEASE_S
    if not rules.MIN_LEASE_S <= lease <= rules.MAX_LEASE_S:
        raise InvalidArgument(
            "INVALID_LEASE", f"lease_seconds must be {rules.MIN_LEASE_S} to {rules.MAX_LEASE_S}", field="lease_seconds"
        )
    return max_instructions or rules.DEFAULT_PULL, wait_s, lease


def lease(connection: Connection, caller: Caller, *, limit: int, lease_s: int, now_ms: int) -> list[Instruction]:
    """Lease the caller's pending instructions to it."""
    return InstructionRepository(connection).lease(
        caller.principal, now_ms=now_ms, lease_ms=lease_s * 1000, limit=limit
    )


def has_pending(connection: Connection, partner_id: str, now_ms: int) -> bool:
    """Return whether the partner has an instruction it could pull now (cheap; for long polls)."""
    return bool(InstructionRepository(connection).lease_candidates(partner_id, now_ms=now_ms))


def acknowledge(
    connection: Connection, caller: Caller, instruction_id: str, reference: str, now_ms: int
) -> Instruction:
    """The partner applied an instruction: a credit completes its conversion, a refund closes it."""
    repository = InstructionRepository(connection)
    instruction = rules.require_own(repository.get(instruction_id), caller.principal, instruction_id)
    _expire_if_late(connection, instruction, now_ms)
    acknowledged = rules.acknowledge(instruction, reference=reference)
    if acknowledged == instruction:
        return instruction
    repository.save(acknowledged)
    if instruction.kind in (InstructionKind.RELEASE, InstructionKind.CREDIT_CANCELLED):
        return acknowledged
    if instruction.award_id:
        from exchange.service import accruals

        accruals.complete(connection, instruction.award_id, now_ms)
        return acknowledged
    conversions = ConversionRepository(connection)
    conversion = conversions.get(instruction.conversion_id)
    require(conversion is not None, "an instruction's conversion exists")
    assert conversion is not None
    if instruction.kind is InstructionKind.CREDIT:
        done = move(conversion, ConversionState.COMPLETED, actor=caller.principal, at_ms=now_ms, note=reference)
        conversions.save_state(conversion, done)
        settlement.record_movement(connection, conversion_movement(done, now_ms))
    elif not instruction.reversal_id:
        done = move(conversion, ConversionState.REFUNDED, actor=caller.principal, at_ms=now_ms, note=reference)
        conversions.save_state(conversion, done)
    return acknowledged


def reject(connection: Connection, caller: Caller, instruction_id: str, reason: str, now_ms: int) -> Instruction:
    """The partner refuses a credit: the conversion is REJECTED and the source partner refunds."""
    from exchange.service.conversions import fail_credit

    repository = InstructionRepository(connection)
    instruction = rules.require_own(repository.get(instruction_id), caller.principal, instruction_id)
    _expire_if_late(connection, instruction, now_ms)
    rejected = rules.reject(instruction, reason=reason)
    repository.save(rejected)
    if instruction.award_id:
        from exchange.service import accruals

        accruals.void(connection, instruction.award_id, f"the issuer rejected the credit: {rejected.reason}")
        return rejected
    conversion = ConversionRepository(connection).get(instruction.conversion_id)
    require(conversion is not None, "an instruction's conversion exists")
    assert conversion is not None
    fail_credit(
        connection, conversion, ConversionState.REJECTED, actor=caller.principal, note=rejected.reason, now_ms=now_ms
    )
    return rejected


def _expire_if_late(connection: Connection, instruction: Instruction, now_ms: int) -> None:
    """Past its deadline, expire the credit here, as the sweep would, and refuse the answer for good.

    The expiry commits with the refusal (a final refusal; see exchange.domain.errors), so this
    call conflicts with an earlier, in-time answer to the same credit that is still committing:
    one of the two wins, and the other, retried, agrees with it. A refusal that wrote nothing
    would be decided on a snapshot that can't see the in-time answer and never be retried.
    """
    if not rules.is_late(instruction, now_ms):
        return
    if instruction.award_id:
        from exchange.service import accruals

        accruals.expire_overdue(connection, instruction.award_id, now_ms)
    else:
        from exchange.service import conversions

        conversions.expire_overdue(connection, instruction.conversion_id, now_ms)
    rules.require_in_time(instruction, now_ms)


def cancel_credit(connection: Connection, conversion_id: str, *, reason: str, now_ms: int) -> None:
    """Withdraw a conversion's pending credit instruction (and tell the target, if it was delivered)."""
    repository = InstructionRepository(connection)
    _withdraw(repository, repository.pending_credit_of(conversion_id), reason, now_ms)


def cancel_award_credit(connection: Connection, award_id: str, *, reason: str, now_ms: int) -> None:
    """Withdraw an award's pending credit instruction (and tell the issuer, if it was delivered)."""
    repository = InstructionRepository(connection)
    _withdraw(repository, repository.pending_credit_of_award(award_id), reason, now_ms)


def _withdraw(repository: InstructionRepository, pending: Instruction | None, reason: str, now_ms: int) -> None:
    if pending is None:
        return
    cancelled = rules.cancel(pending, reason=reason)
    repository.save(cancelled)
    take_back = rules.take_back(cancelled, instruction_id=new_id("ins"), now_ms=now_ms)
    if take_back is not None:
        repository.add(take_back)
