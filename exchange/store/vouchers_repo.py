"""Membership vouchers through one connection: issued once, redeemed once (a conditional UPDATE), expired."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from exchange.domain.vouchers import Voucher, VoucherState
from exchange.store.tables import memberships, vouchers


class VoucherRepository:
    """Vouchers through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_if_absent(self, voucher: Voucher, member_id: str) -> bool:
        """Keep a voucher unless it was issued already (ids are deterministic); return whether it is new.

        Two sweeps issuing the same period race on the primary key: one inserts, the other's
        transaction fails on the unique key, is run again (exchange.store.database) and finds it.
        """
        if self._db.execute(select(vouchers.c.voucher_id).where(vouchers.c.voucher_id == voucher.voucher_id)).first():
            return False
        self._db.execute(insert(vouchers).values(member_id=member_id, **_columns(voucher)))
        return True

    def get(self, voucher_id: str) -> Voucher | None:
        """The voucher, if any."""
        row = self._db.execute(select(vouchers).where(vouchers.c.voucher_id == voucher_id)).first()
        return _voucher(row._mapping) if row else None

    def page(
        self, membership_id: str, *, honouring_partner_id: str | None, after: tuple[int, str] | None, limit: int
    ) -> list[Voucher]:
        """A membership's vouchers (one partner's, or all), oldest first, after a (valid_from, voucher id)."""
        query = select(vouchers).where(vouchers.c.membership_id == membership_id)
        if honouring_partner_id is not None:
            query = query.where(vouchers.c.honouring_partner_id == honouring_partner_id)
        if after is not None:
            at_ms, voucher_id = after
            query = query.where(
                (vouchers.c.issued_at_ms > at_ms)
                | ((vouchers.c.issued_at_ms == at_ms) & (vouchers.c.voucher_id > voucher_id))
            )
        rows = self._db.execute(query.order_by(vouchers.c.issued_at_ms, vouchers.c.voucher_id).limit(limit)).all()
        return [_voucher(r._mapping) for r in rows]

    def save(self, before: Voucher, after: Voucher) -> bool:
        """Move a voucher from the state read to the next; False if another transaction moved it first.

        The condition on the state is what makes a voucher redeemed once across hub processes: of
        two redemptions racing, one UPDATE matches the row and the other matches none.
        """
        result = self._db.execute(
            update(vouchers)
            .where(vouchers.c.voucher_id == after.voucher_id, vouchers.c.state == before.state.value)
            .values(state=after.state.value, redeemed_at_ms=after.redeemed_at_ms, reference=after.reference)
        )
        return bool(result.rowcount == 1)

    def member_id_of(self, voucher_id: str) -> str | None:
        """The hub's id of the voucher's member, if the voucher exists."""
        found = self._db.execute(select(vouchers.c.member_id).where(vouchers.c.voucher_id == voucher_id)).first()
        return str(found.member_id) if found else None

    def issued_under(self, agreement_ids: list[str], since_ms: int) -> int:
        """How many vouchers the agreements (a pair's versions) gave since then."""
        return int(
            self._db.execute(
                select(func.count())
                .select_from(vouchers)
                .where(vouchers.c.agreement_id.in_(agreement_ids), vouchers.c.issued_at_ms >= since_ms)
            ).scalar_one()
        )

    def expired_by(self, now_ms: int, limit: int) -> list[str]:
        """Issued vouchers whose time is over."""
        return list(
            self._db.execute(
                select(vouchers.c.voucher_id)
                .where(vouchers.c.state == VoucherState.ISSUED.value, vouchers.c.expires_at_ms <= now_ms)
                .limit(limit)
            ).scalars()
        )

    def set_due(self, membership_id: str, due_at_ms: int | None) -> None:
        """When the membership's next vouchers are to be issued (None: no more)."""
        self._db.execute(
            update(memberships).where(memberships.c.membership_id == membership_id).values(vouchers_due_at_ms=due_at_ms)
        )

    def due_memberships(self, now_ms: int, limit: int) -> list[str]:
        """Memberships with vouchers to issue by now."""
        return list(
            self._db.execute(
                select(memberships.c.membership_id).where(memberships.c.vouchers_due_at_ms <= now_ms).limit(limit)
            ).scalars()
        )


def _columns(v: Voucher) -> dict[str, Any]:
    return {
        "voucher_id": v.voucher_id,
        "membership_id": v.membership_id or None,
        "agreement_id": v.agreement_id or None,
        "funder_partner_id": v.funder_partner_id,
        "honouring_partner_id": v.honouring_partner_id,
        "member_ref": v.member_ref,
        "value_minor": v.value_minor,
        "currency": v.currency,
        "issued_at_ms": v.issued_at_ms,
        "expires_at_ms": v.expires_at_ms,
        "state": v.state.value,
        "redeemed_at_ms": v.redeemed_at_ms,
        "reference": v.reference,
    }


def _voucher(m: Any) -> Voucher:
    return Voucher(
        voucher_id=m["voucher_id"],
        membership_id=m["membership_id"] or "",
        agreement_id=m["agreement_id"] or "",
        funder_partner_id=m["funder_partner_id"],
        honouring_partner_id=m["honouring_partner_id"],
        member_ref=m["member_ref"],
        value_minor=m["value_minor"],
        currency=m["currency"],
        issued_at_ms=m["issued_at_ms"],
        expires_at_ms=m["expires_at_ms"],
        state=VoucherState(m["state"]),
        redeemed_at_ms=m["redeemed_at_ms"],
        reference=m["reference"],
    )
