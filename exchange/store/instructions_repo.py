"""Reading, leasing and writing instructions to partners."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Column, Connection, select, update

from exchange.domain.errors import require
from exchange.domain.instructions import (
    BenefitNotice,
    Instruction,
    InstructionKind,
    InstructionState,
    Origin,
    OriginKind,
)
from exchange.domain.membership_agreements import benefits_json, benefits_of_json
from exchange.store.precompiled import insert_rows, inserting
from exchange.store.tables import instructions

_ADD = inserting(instructions, [column.key for column in instructions.columns])


class InstructionRepository:
    """Instructions through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, instruction: Instruction) -> None:
        """Insert a new instruction."""
        _ADD.write(self._db, **_columns(instruction))

    def add_many(self, new: Sequence[Instruction]) -> None:
        """Insert new instructions in one bulk statement (precompiled.insert_rows)."""
        insert_rows(self._db, instructions, [_columns(instruction) for instruction in new])

    def get(self, instruction_id: str) -> Instruction | None:
        """Return an instruction, or None."""
        row = self._db.execute(select(instructions).where(instructions.c.instruction_id == instruction_id)).first()
        return _instruction(row._mapping) if row else None

    def pending_credit_of(self, origin: Origin) -> Instruction | None:
        """Return the origin's credit instruction if it is still pending."""
        row = self._db.execute(
            select(instructions).where(
                instructions.c.origin_kind == origin.kind.value,
                _ID_COLUMN[origin.kind] == origin.id,
                instructions.c.kind == InstructionKind.CREDIT.value,
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
            leased.append(replace(found, delivery_count=found.delivery_count + 1, leased_until_ms=now_ms + lease_ms))
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


# The column that holds each kind of origin's id; the table's CHECK keeps every other id column empty
# (a reversal's refund also names its conversion in conversion_id).
_ID_COLUMN: dict[OriginKind, Column[str]] = {
    OriginKind.CONVERSION: instructions.c.conversion_id,
    OriginKind.REVERSAL: instructions.c.reversal_id,
    OriginKind.HOLD: instructions.c.hold_id,
    OriginKind.AWARD: instructions.c.award_id,
    OriginKind.MEMBERSHIP: instructions.c.membership_id,
    OriginKind.MATCH: instructions.c.match_id,
}


def _columns(i: Instruction) -> dict[str, Any]:
    return {
        "instruction_id": i.instruction_id,
        "partner_id": i.partner_id,
        "kind": i.kind.value,
        "state": i.state.value,
        "member_ref": i.member_ref,
        "points": i.points,
        "point_currency": i.point_currency,
        "origin_kind": i.origin.kind.value,
        **_ids_of(i.origin),
        "cancels_instruction_id": i.cancels_instruction_id,
        "created_at_ms": i.created_at_ms,
        "deadline_ms": i.deadline_ms,
        "delivery_count": i.delivery_count,
        "leased_until_ms": i.leased_until_ms,
        "partner_reference": i.partner_reference,
        "reason": i.reason,
        **_notice_columns(i.benefit),
    }


def _notice_columns(notice: BenefitNotice | None) -> dict[str, Any]:
    if notice is None:
        return {"programme_id": "", "benefits": "", "honoured_from_ms": None, "honoured_until_ms": None}
    return {
        "programme_id": notice.programme_id,
        "benefits": benefits_json(notice.benefits),
        "honoured_from_ms": notice.honoured_from_ms,
        "honoured_until_ms": notice.honoured_until_ms,
    }


def _notice(m: Any) -> BenefitNotice | None:
    if m["origin_kind"] != OriginKind.MEMBERSHIP.value:
        return None
    return BenefitNotice(
        programme_id=m["programme_id"],
        benefits=benefits_of_json(m["benefits"]),
        honoured_from_ms=m["honoured_from_ms"],
        honoured_until_ms=m["honoured_until_ms"],
    )


def _ids_of(origin: Origin) -> dict[str, str]:
    """The id columns of an origin: its own id in its kind's column, a reversal's conversion, the rest empty."""
    ids = {column.key: origin.id_if(kind) for kind, column in _ID_COLUMN.items()}
    ids[instructions.c.conversion_id.key] = origin.conversion_id
    return ids


def _origin(m: Any) -> Origin:
    kind = OriginKind(m["origin_kind"])
    reversed_conversion_id = m["conversion_id"] if kind is OriginKind.REVERSAL else ""
    origin = Origin(kind, m[_ID_COLUMN[kind].key], reversed_conversion_id=reversed_conversion_id)
    # The table's CHECK keeps every other id column empty; read back, that is checked again.
    stored = {key: m[key] for key in _ids_of(origin)}
    require(stored == _ids_of(origin), f"instruction {m['instruction_id']!r} names its {origin} alone: {stored}")
    return origin


def _instruction(m: Any) -> Instruction:
    return Instruction(
        instruction_id=m["instruction_id"],
        partner_id=m["partner_id"],
        kind=InstructionKind(m["kind"]),
        state=InstructionState(m["state"]),
        member_ref=m["member_ref"],
        points=m["points"],
        point_currency=m["point_currency"],
        origin=_origin(m),
        created_at_ms=m["created_at_ms"],
        deadline_ms=m["deadline_ms"],
        delivery_count=m["delivery_count"],
        leased_until_ms=m["leased_until_ms"],
        partner_reference=m["partner_reference"],
        reason=m["reason"],
        cancels_instruction_id=m["cancels_instruction_id"],
        benefit=_notice(m),
    )
