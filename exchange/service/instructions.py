"""Instruction commands: lease pending work to a partner; withdraw a credit its origin no longer wants.

A partner's answer (acknowledged, rejected, too late) is exchange.service.outcomes: it routes the
answer to the instruction's origin. This module knows no origin, so the origins' services
(conversions, accruals, redemptions) import it and nothing here imports them.
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.domain import instructions as rules
from exchange.domain.errors import InvalidArgument
from exchange.domain.instructions import Instruction, Origin
from exchange.service.authentication import Caller
from exchange.service.ports import InstructionStore
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


def withdraw_credit(repository: InstructionStore, origin: Origin, *, reason: str, now_ms: int) -> None:
    """Withdraw an origin's pending credit instruction (and tell the partner to take it back, if delivered)."""
    pending = repository.pending_credit_of(origin)
    if pending is None:
        return
    cancelled = rules.cancel(pending, reason=reason)
    repository.save(cancelled)
    take_back = rules.take_back(cancelled, instruction_id=new_id("ins"), now_ms=now_ms)
    if take_back is not None:
        repository.add(take_back)
