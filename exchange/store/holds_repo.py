"""Reading and writing holds and their captures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from exchange.domain.money import Ratio
from exchange.domain.redemptions import Capture, Hold, HoldState
from exchange.store.tables import hold_captures, holds


class HoldRepository:
    """Holds through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, hold: Hold) -> None:
        """Insert a new hold."""
        self._db.execute(
            insert(holds).values(
                hold_id=hold.hold_id,
                agreement_id=hold.agreement_id,
                source_partner_id=hold.source_partner_id,
                target_partner_id=hold.target_partner_id,
                source_member_ref=hold.source_member_ref,
                authorized_points=hold.authorized_points,
                captured_points=hold.captured_points,
                released_points=hold.released_points,
                state=hold.state.value,
                created_at_ms=hold.created_at_ms,
                expires_at_ms=hold.expires_at_ms,
                rate_numerator=hold.rate.numerator,
                rate_denominator=hold.rate.denominator,
                price_numerator=hold.settlement_price_minor.numerator,
                price_denominator=hold.settlement_price_minor.denominator,
                settlement_currency=hold.settlement_currency,
            )
        )

    def save(self, before: Hold, after: Hold) -> None:
        """Write a hold's amounts and state, and its new captures; refuses if the row moved meanwhile."""
        result = self._db.execute(
            update(holds)
            .where(
                holds.c.hold_id == after.hold_id,
                holds.c.state == before.state.value,
                holds.c.captured_points == before.captured_points,
            )
            .values(
                captured_points=after.captured_points, released_points=after.released_points, state=after.state.value
            )
        )
        assert result.rowcount == 1, "the hold changed under this transaction"
        for taken in after.captures[len(before.captures) :]:
            self._db.execute(
                insert(hold_captures).values(
                    capture_id=taken.capture_id,
                    hold_id=after.hold_id,
                    source_points=taken.source_points,
                    target_points_value=taken.target_points_value,
                    settlement_amount_minor=taken.settlement_amount_minor,
                    target_reference=taken.target_reference,
                    at_ms=taken.at_ms,
                )
            )

    def get(self, hold_id: str) -> Hold | None:
        """Return a hold with its captures, or None."""
        row = self._db.execute(select(holds).where(holds.c.hold_id == hold_id)).first()
        if row is None:
            return None
        captures = tuple(
            Capture(
                c.capture_id,
                c.source_points,
                c.target_points_value,
                c.settlement_amount_minor,
                c.target_reference,
                c.at_ms,
            )
            for c in self._db.execute(
                select(hold_captures)
                .where(hold_captures.c.hold_id == hold_id)
                .order_by(hold_captures.c.at_ms, hold_captures.c.capture_id)
            ).all()
        )
        return _hold(row._mapping, captures)

    def overdue(self, now_ms: int, limit: int) -> list[str]:
        """Return ids of OPEN holds past their expiry."""
        rows = self._db.execute(
            select(holds.c.hold_id)
            .where(holds.c.state == HoldState.OPEN.value, holds.c.expires_at_ms <= now_ms)
            .order_by(holds.c.expires_at_ms)
            .limit(limit)
        ).all()
        return [r.hold_id for r in rows]


def _hold(m: Any, captures: tuple[Capture, ...]) -> Hold:
    return Hold(
        hold_id=m["hold_id"],
        agreement_id=m["agreement_id"],
        source_partner_id=m["source_partner_id"],
        target_partner_id=m["target_partner_id"],
        source_member_ref=m["source_member_ref"],
        authorized_points=m["authorized_points"],
        captured_points=m["captured_points"],
        released_points=m["released_points"],
        state=HoldState(m["state"]),
        created_at_ms=m["created_at_ms"],
        expires_at_ms=m["expires_at_ms"],
        rate=Ratio(m["rate_numerator"], m["rate_denominator"]),
        settlement_price_minor=Ratio(m["price_numerator"], m["price_denominator"]),
        settlement_currency=m["settlement_currency"],
        captures=captures,
    )
