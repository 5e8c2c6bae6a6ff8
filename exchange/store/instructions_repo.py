"""Reading, leasing and writing instructions to partners."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from exchange.domain.instructions import Instruction, InstructionKind, InstructionState
from exchange.store.precompiled import inserting
from exchange.store.tables import instructions

_ADD = inserting(instructions, [column.key for column in instructions.columns])


class InstructionRepository:
    """Instructions through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, instruction: Instruction) -> None:
        """Insert a new instruction."""
        _ADD.write(self._db, **_columns(instruction))

    def get(self, instruction_id: str) -> Instruction | None:
        """Return an instruction, or None."""
        row = self._db.execute(select(instructions).where(instructions.c.instruction_id == instruction_id)).first()
        return _instruction(row._mapping) if row else None

    def pending_credit_of(self, conversion_id: str) -> Instruction | None:
        """Return the conversion's credit instruction if it is still pending."""
        row = self._db.execute(
            select(instructions).where(
                instructions.c.conversion_id == conversion_id,
                instructions.c.kind == InstructionKind.CREDIT.value,
                instructions.c.state == InstructionState.PENDING.value,
            )
        ).first()
        return _instruction(row._mapping) if row else None

    def pending_credit_of_award(self, award_id: str) -> Instruction | None:
        """Return an award's credit instruction if it is still pending."""
        row = self._db.execute(
            select(instructions).where(
                instructions.c.award_id == award_id,
                instructions.c.state == InstructionState.PENDING.value,
            )
        ).first()
        return _instruction(row._mapping) if row else None

    def lease_candidates(self, partner_id: str, *, now_ms: int, limit: int = 1) -> list[str]:
        """Return ids of the partner's pending, unleased instructions, oldest first."""
        rows = self._db.execute(
            select(instructions.c.instruction_id)
            .where(
                instructions.c.partner_id == partner_id,
                instructions.c.state == InstructionState.PENDING.value,
                instructions.c.leased_until_ms <= now_ms,
            )
            .order_by(instructions.c.created_at_ms, instructions.c.instruction_id)
            .limit(limit)
        ).all()
        return [r.instruction_id for r in rows]

    def lease(self, partner_id: str, *, now_ms: int, lease_ms: int, limit: int) -> list[Instruction]:
        """Take up to limit of the partner's pending, unleased instructions (oldest first) and lease them."""
        rows = self._db.execute(
            select(instructions)
            .where(
                instructions.c.partner_id == partner_id,
                instructions.c.state == InstructionState.PENDING.value,
                instructions.c.leased_until_ms <= now_ms,
            )
            .order_by(instructions.c.created_at_ms, instructions.c.instruction_id)
            .limit(limit)
        ).all()
        leased = []
        for row in rows:
            self._db.execute(
                update(instructions)
                .where(instructions.c.instruction_id == row.instruction_id)
                .values(leased_until_ms=now_ms + lease_ms, delivery_count=row.delivery_count + 1)
            )
            found = _instruction(row._mapping)
            leased.append(_with(found, delivery_count=found.delivery_count + 1, leased_until_ms=now_ms + lease_ms))
        return leased

    def save(self, instruction: Instruction) -> None:
        """Write an instruction's state, reference and reason."""
        self._db.execute(
            update(instructions)
            .where(instructions.c.instruction_id == instruction.instruction_id)
            .values(
                state=instruction.state.value,
                partner_reference=instruction.partner_reference,
                reason=instruction.reason,
            )
        )


def _with(instruction: Instruction, **changes: Any) -> Instruction:
    from dataclasses import replace

    return replace(instruction, **changes)


def _columns(i: Instruction) -> dict[str, Any]:
    return {
        "instruction_id": i.instruction_id,
        "partner_id": i.partner_id,
        "kind": i.kind.value,
        "state": i.state.value,
        "member_ref": i.member_ref,
        "points": i.points,
        "point_currency": i.point_currency,
        "conversion_id": i.conversion_id,
        "reversal_id": i.reversal_id,
        "hold_id": i.hold_id,
        "award_id": i.award_id,
        "cancels_instruction_id": i.cancels_instruction_id,
        "created_at_ms": i.created_at_ms,
        "deadline_ms": i.deadline_ms,
        "delivery_count": i.delivery_count,
        "leased_until_ms": i.leased_until_ms,
        "partner_reference": i.partner_reference,
        "reason": i.reason,
    }


def _instruction(m: Any) -> Instruction:
    return Instruction(
        instruction_id=m["instruction_id"],
        partner_id=m["partner_id"],
        kind=InstructionKind(m["kind"]),
        state=InstructionState(m["state"]),
        member_ref=m["member_ref"],
        points=m["points"],
        point_currency=m["point_currency"],
        conversion_id=m["conversion_id"],
        created_at_ms=m["created_at_ms"],
        deadline_ms=m["deadline_ms"],
        delivery_count=m["delivery_count"],
        leased_until_ms=m["leased_until_ms"],
        partner_reference=m["partner_reference"],
        reason=m["reason"],
        reversal_id=m["reversal_id"],
        hold_id=m["hold_id"],
        award_id=m["award_id"],
        cancels_instruction_id=m["cancels_instruction_id"],
    )
