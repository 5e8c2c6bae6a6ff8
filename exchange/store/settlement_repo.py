"""Periods, movements, statements and payment instructions, with set-based SQL for the close."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, literal, or_, select, union_all, update

from exchange.domain.settlement import (
    Movement,
    MovementKind,
    NettedInstruction,
    OutstandingInstruction,
    PairTotals,
    Period,
    PeriodState,
)
from exchange.store.tables import (
    movements,
    partners,
    payment_instructions,
    payments,
    settlement_periods,
    statements,
)


@dataclass(frozen=True, slots=True)
class StoredMovement:
    """A movement and the period it belongs to."""

    movement: Movement
    period_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A signed statement as stored."""

    statement_id: str
    partner_id: str
    period_id: str
    period_number: int
    sequence: int
    document: bytes
    document_sha256: str
    previous_statement_sha256: str
    signature: bytes
    hub_key_id: str


@dataclass(frozen=True, slots=True)
class StoredPayment:
    """A payment recorded against an instruction."""

    payment_id: str
    instruction_id: str
    amount_minor: int
    payment_reference: str
    recorded_by: str
    recorded_at_ms: int


@dataclass(frozen=True, slots=True)
class InstructionStatus:
    """A payment instruction and what has been paid against it."""

    instruction: NettedInstruction
    period_id: str
    paid_minor: int
    payments: tuple[StoredPayment, ...]

    @property
    def outstanding_minor(self) -> int:
        """What is still to pay."""
        return self.instruction.amount_minor - self.paid_minor


def _period(row: Any) -> Period:
    return Period(
        period_id=row.period_id,
        number=row.number,
        state=PeriodState(row.state),
        opened_at_ms=row.opened_at_ms,
        cutoff_ms=row.cutoff_ms,
        closed_at_ms=row.closed_at_ms,
        closed_by=row.closed_by,
        movement_count=row.movement_count,
        statement_count=row.statement_count,
    )


def _movement(row: Any) -> StoredMovement:
    return StoredMovement(
        Movement(
            movement_id=row.movement_id,
            kind=MovementKind(row.kind),
            source_partner_id=row.source_partner_id,
            target_partner_id=row.target_partner_id,
            source_points=row.source_points,
            target_points=row.target_points,
            currency=row.currency,
            amount_minor=row.amount_minor,
            final_at_ms=row.final_at_ms,
        ),
        row.period_id,
        row.seq,
    )


def _statement(row: Any) -> StoredStatement:
    return StoredStatement(
        statement_id=row.statement_id,
        partner_id=row.partner_id,
        period_id=row.period_id,
        period_number=row.period_number,
        sequence=row.sequence,
        document=bytes(row.document),
        document_sha256=row.document_sha256,
        previous_statement_sha256=row.previous_statement_sha256,
        signature=bytes(row.signature),
        hub_key_id=row.hub_key_id,
    )


class SettlementRepository:
    """Settlement records through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # periods

    def open_period(self) -> Period:
        """Return the one OPEN period."""
        row = self._db.execute(select(settlement_periods).where(settlement_periods.c.state == "OPEN")).one()
        return _period(row)

    def get_period(self, period_id: str) -> Period | None:
        """Return a period by id."""
        row = self._db.execute(select(settlement_periods).where(settlement_periods.c.period_id == period_id)).first()
        return _period(row) if row else None

    def list_periods(self, *, before_number: int | None, limit: int) -> list[Period]:
        """Return periods newest first, below a number when paging."""
        query = select(settlement_periods).order_by(settlement_periods.c.number.desc()).limit(limit)
        if before_number is not None:
            query = query.where(settlement_periods.c.number < before_number)
        return [_period(row) for row in self._db.execute(query)]

    def add_period(self, period: Period) -> None:
        """Insert a new (open) period."""
        self._db.execute(
            insert(settlement_periods).values(
                period_id=period.period_id,
                number=period.number,
                state=period.state.value,
                opened_at_ms=period.opened_at_ms,
            )
        )

    def mark_closed(self, period: Period) -> None:
        """Record a period's closing; refuses if it was not open (the close raced another)."""
        result = self._db.execute(
            update(settlement_periods)
            .where(settlement_periods.c.period_id == period.period_id, settlement_periods.c.state == "OPEN")
            .values(
                state="CLOSED",
                cutoff_ms=period.cutoff_ms,
                closed_at_ms=period.closed_at_ms,
                closed_by=period.closed_by,
                movement_count=period.movement_count,
                statement_count=period.statement_count,
            )
        )
        assert result.rowcount == 1, "the period was closed under this transaction"

    # movements

    def add_movement(self, movement: Movement, period_id: str) -> None:
        """Append a movement to a period."""
        self._db.execute(
            insert(movements).values(
                movement_id=movement.movement_id,
                period_id=period_id,
                kind=movement.kind.value,
                source_partner_id=movement.source_partner_id,
                target_partner_id=movement.target_partner_id,
                source_points=movement.source_points,
                target_points=movement.target_points,
                currency=movement.currency,
                amount_minor=movement.amount_minor,
                final_at_ms=movement.final_at_ms,
            )
        )

    def get_movement(self, movement_id: str) -> StoredMovement | None:
        """Return a movement by id."""
        row = self._db.execute(select(movements).where(movements.c.movement_id == movement_id)).first()
        return _movement(row) if row else None

    def move_from_cutoff(self, from_period: str, to_period: str, cutoff_ms: int) -> int:
        """Move a period's movements final at or after the cut-off into the next period; return how many."""
        result = self._db.execute(
            update(movements)
            .where(movements.c.period_id == from_period, movements.c.final_at_ms >= cutoff_ms)
            .values(period_id=to_period)
        )
        return int(result.rowcount)

    def count_movements(self, period_id: str) -> int:
        """Return how many movements a period holds."""
        return int(self._db.execute(select(func.count()).where(movements.c.period_id == period_id)).scalar_one())

    def pair_totals(self, period_id: str) -> list[PairTotals]:
        """Return the period's movements summed per (source, target, currency): one pass, no rows loaded."""
        m = movements.c
        rows = self._db.execute(
            select(
                m.source_partner_id,
                m.target_partner_id,
                m.currency,
                func.count(),
                func.sum(m.source_points),
                func.sum(m.target_points),
                func.sum(m.amount_minor),
            )
            .where(m.period_id == period_id)
            .group_by(m.source_partner_id, m.target_partner_id, m.currency)
        ).all()
        return [
            PairTotals(source, target, currency, int(count), int(src), int(tgt), int(amount))
            for source, target, currency, count, src, tgt, amount in rows
        ]

    def partner_movements(self, period_id: str, partner_id: str, *, after_seq: int, limit: int) -> list[StoredMovement]:
        """Return a page of the movements a brand is party to in a period, in the order they were written."""
        m = movements.c
        sides = [
            select(movements)
            .where(m.period_id == period_id, side == partner_id, m.seq > after_seq)
            .order_by(m.seq)
            .limit(limit)
            .subquery()
            for side in (m.source_partner_id, m.target_partner_id)
        ]
        both = union_all(*(select(side) for side in sides)).subquery()
        rows = self._db.execute(select(both).order_by(both.c.seq).limit(limit))
        return [_movement(row) for row in rows]

    # statements

    def admitted_partners(self) -> list[str]:
        """Return every partner admitted to the coalition (ACTIVE or SUSPENDED): each gets a statement."""
        rows = self._db.execute(select(partners.c.partner_id).where(partners.c.status.in_(["ACTIVE", "SUSPENDED"])))
        return [row.partner_id for row in rows]

    def chain_heads(self) -> dict[str, tuple[int, str]]:
        """Return each brand's latest statement as (sequence, document sha256)."""
        s = statements.c
        latest = select(s.partner_id, func.max(s.sequence).label("sequence")).group_by(s.partner_id).subquery()
        rows = self._db.execute(
            select(s.partner_id, s.sequence, s.document_sha256).join(
                latest, and_(latest.c.partner_id == s.partner_id, latest.c.sequence == s.sequence)
            )
        )
        return {row.partner_id: (row.sequence, row.document_sha256) for row in rows}

    def add_statement(self, statement: StoredStatement) -> None:
        """Insert a signed statement."""
        self._db.execute(
            insert(statements).values(
                statement_id=statement.statement_id,
                partner_id=statement.partner_id,
                period_id=statement.period_id,
                period_number=statement.period_number,
                sequence=statement.sequence,
                document=statement.document,
                document_sha256=statement.document_sha256,
                previous_statement_sha256=statement.previous_statement_sha256,
                signature=statement.signature,
                hub_key_id=statement.hub_key_id,
            )
        )

    def get_statement(self, statement_id: str) -> StoredStatement | None:
        """Return a statement by id."""
        row = self._db.execute(select(statements).where(statements.c.statement_id == statement_id)).first()
        return _statement(row) if row else None

    def list_statements(
        self, partner_id: str | None, *, before: tuple[int, str] | None, limit: int
    ) -> list[StoredStatement]:
        """Return statements newest period first (then by brand), optionally one brand's."""
        s = statements.c
        query = select(statements).order_by(s.period_number.desc(), s.partner_id).limit(limit)
        if partner_id is not None:
            query = query.where(s.partner_id == partner_id)
        if before is not None:
            number, partner = before
            query = query.where(or_(s.period_number < number, and_(s.period_number == number, s.partner_id > partner)))
        return [_statement(row) for row in self._db.execute(query)]

    # payment instructions and payments

    def add_instructions(self, period_id: str, instructions: Sequence[NettedInstruction]) -> None:
        """Insert a period's payment instructions."""
        if instructions:
            self._db.execute(
                insert(payment_instructions),
                [
                    {
                        "instruction_id": i.instruction_id,
                        "period_id": period_id,
                        "currency": i.currency,
                        "payer_partner_id": i.payer,
                        "payee_partner_id": i.payee,
                        "amount_minor": i.amount_minor,
                        "paid_minor": 0,
                    }
                    for i in instructions
                ],
            )

    def outstanding_instructions(self) -> list[OutstandingInstruction]:
        """Return every instruction not yet paid in full, oldest first."""
        p = payment_instructions.c
        rows = self._db.execute(
            select(payment_instructions).where(p.paid_minor < p.amount_minor).order_by(p.instruction_id)
        )
        return [
            OutstandingInstruction(
                r.instruction_id,
                r.period_id,
                r.currency,
                r.payer_partner_id,
                r.payee_partner_id,
                r.amount_minor - r.paid_minor,
            )
            for r in rows
        ]

    def instruction_statuses(
        self,
        *,
        partner_id: str | None,
        period_id: str | None,
        outstanding_only: bool,
        after_id: str,
        limit: int,
    ) -> list[InstructionStatus]:
        """Return instructions a brand pays or receives (every one for None), by id, with their payments."""
        p = payment_instructions.c
        query = select(payment_instructions).where(p.instruction_id > after_id).order_by(p.instruction_id).limit(limit)
        if partner_id is not None:
            query = query.where(or_(p.payer_partner_id == partner_id, p.payee_partner_id == partner_id))
        if period_id is not None:
            query = query.where(p.period_id == period_id)
        if outstanding_only:
            query = query.where(p.paid_minor < p.amount_minor)
        rows = self._db.execute(query).all()
        paid = self._payments_of([r.instruction_id for r in rows])
        return [
            InstructionStatus(
                NettedInstruction(r.instruction_id, r.currency, r.payer_partner_id, r.payee_partner_id, r.amount_minor),
                r.period_id,
                r.paid_minor,
                tuple(paid.get(r.instruction_id, ())),
            )
            for r in rows
        ]

    def get_instruction(self, instruction_id: str) -> InstructionStatus | None:
        """Return one instruction with its payments."""
        p = payment_instructions.c
        row = self._db.execute(select(payment_instructions).where(p.instruction_id == instruction_id)).first()
        if row is None:
            return None
        return InstructionStatus(
            NettedInstruction(
                row.instruction_id, row.currency, row.payer_partner_id, row.payee_partner_id, row.amount_minor
            ),
            row.period_id,
            row.paid_minor,
            tuple(self._payments_of([instruction_id]).get(instruction_id, ())),
        )

    def add_payment(self, payment: StoredPayment, paid_before: int) -> None:
        """Record a payment and raise the instruction's paid total; refuses if it moved meanwhile."""
        p = payment_instructions.c
        result = self._db.execute(
            update(payment_instructions)
            .where(p.instruction_id == payment.instruction_id, p.paid_minor == paid_before)
            .values(paid_minor=p.paid_minor + literal(payment.amount_minor))
        )
        assert result.rowcount == 1, "the instruction changed under this transaction"
        self._db.execute(
            insert(payments).values(
                payment_id=payment.payment_id,
                instruction_id=payment.instruction_id,
                amount_minor=payment.amount_minor,
                payment_reference=payment.payment_reference,
                recorded_by=payment.recorded_by,
                recorded_at_ms=payment.recorded_at_ms,
            )
        )

    def _payments_of(self, instruction_ids: list[str]) -> dict[str, list[StoredPayment]]:
        if not instruction_ids:
            return {}
        found: dict[str, list[StoredPayment]] = {}
        rows = self._db.execute(
            select(payments)
            .where(payments.c.instruction_id.in_(instruction_ids))
            .order_by(payments.c.recorded_at_ms, payments.c.payment_id)
        )
        for r in rows:
            found.setdefault(r.instruction_id, []).append(
                StoredPayment(
                    r.payment_id, r.instruction_id, r.amount_minor, r.payment_reference, r.recorded_by, r.recorded_at_ms
                )
            )
        return found
