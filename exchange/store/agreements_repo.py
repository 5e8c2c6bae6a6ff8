"""Reading and writing agreement versions."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, tuple_, update

from exchange.domain.agreements import Agreement, AgreementStatus, AgreementTerms
from exchange.domain.money import Ratio
from exchange.store.precompiled import Precompiled, selecting
from exchange.store.tables import agreements

_GET = selecting(agreements, "agreement_id")
_ACTIVE_FOR = Precompiled(
    select(agreements).where(
        agreements.c.source_partner_id == bindparam("source"),
        agreements.c.target_partner_id == bindparam("target"),
        agreements.c.status == AgreementStatus.ACTIVE.value,
    )
)


class AgreementRepository:
    """Agreements through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def get(self, agreement_id: str) -> Agreement | None:
        """Return one version, or None."""
        row = _GET.first(self._db, agreement_id=agreement_id)
        return agreement_from_row(row) if row else None

    def latest_version(self, source: str, target: str) -> int | None:
        """Return the highest version number of the pair's agreements, or None."""
        return self._db.execute(
            select(func.max(agreements.c.version)).where(
                agreements.c.source_partner_id == source, agreements.c.target_partner_id == target
            )
        ).scalar_one_or_none()

    def active_for(self, source: str, target: str) -> Agreement | None:
        """Return the pair's ACTIVE version, if any (there is at most one)."""
        rows = _ACTIVE_FOR.all(self._db, source=source, target=target)
        assert len(rows) <= 1, "at most one active version per pair"
        return agreement_from_row(rows[0]) if rows else None

    def for_batch(self, source: str, agreement_ids: Collection[str], targets: Collection[str]) -> dict[str, Agreement]:
        """These versions by id, and the source's ACTIVE version with each of these targets, in one statement.

        Returned by agreement id; a batch finds a target's active version among them by its pair.
        """
        if not agreement_ids and not targets:
            return {}
        rows = self._db.execute(
            select(agreements).where(
                or_(
                    agreements.c.agreement_id.in_(sorted(agreement_ids)),
                    (agreements.c.source_partner_id == source)
                    & agreements.c.target_partner_id.in_(sorted(targets))
                    & (agreements.c.status == AgreementStatus.ACTIVE.value),
                )
            )
        ).all()
        return {row.agreement_id: agreement_from_row(row._mapping) for row in rows}

    def current_for(self, source: str, target: str) -> Agreement | None:
        """Return the pair's newest accepted version (ACTIVE or SUSPENDED), if any."""
        row = self._db.execute(
            select(agreements)
            .where(
                agreements.c.source_partner_id == source,
                agreements.c.target_partner_id == target,
                agreements.c.status.in_([AgreementStatus.ACTIVE.value, AgreementStatus.SUSPENDED.value]),
            )
            .order_by(agreements.c.version.desc())
            .limit(1)
        ).first()
        return agreement_from_row(row._mapping) if row else None

    def list_page(
        self,
        party: str,
        *,
        counterparty: str,
        status: AgreementStatus | None,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[Agreement]:
        """Return the party's agreements, newest first (by proposal time, then id), after a keyset cursor."""
        query = select(agreements).where(
            or_(agreements.c.source_partner_id == party, agreements.c.target_partner_id == party)
        )
        if counterparty:
            query = query.where(
                or_(agreements.c.source_partner_id == counterparty, agreements.c.target_partner_id == counterparty)
            )
        if status is not None:
            query = query.where(agreements.c.status == status.value)
        if before is not None:
            query = query.where(
                tuple_(agreements.c.proposed_at_ms, agreements.c.agreement_id) < tuple_(before[0], before[1])
            )
        order = (agreements.c.proposed_at_ms.desc(), agreements.c.agreement_id.desc())
        rows = self._db.execute(query.order_by(*order).limit(limit)).all()
        return [agreement_from_row(r._mapping) for r in rows]

    def add(self, agreement: Agreement) -> None:
        """Insert a new version (a concurrent duplicate version raises IntegrityError, retried)."""
        self._db.execute(insert(agreements).values(**_columns(agreement)))

    def save(self, agreement: Agreement) -> None:
        """Write a version's status and acceptance (its terms never change)."""
        self._db.execute(
            update(agreements)
            .where(agreements.c.agreement_id == agreement.agreement_id)
            .values(
                status=agreement.status.value,
                acceptor_key_id=agreement.acceptor_key_id,
                acceptor_signature=agreement.acceptor_signature,
                accepted_at_ms=agreement.accepted_at_ms,
                status_changed_at_ms=agreement.status_changed_at_ms,
                status_reason=agreement.status_reason,
                suspended_by=agreement.suspended_by,
            )
        )


def _columns(a: Agreement) -> dict[str, Any]:
    t = a.terms
    return {
        "agreement_id": a.agreement_id,
        "source_partner_id": t.source_partner_id,
        "target_partner_id": t.target_partner_id,
        "version": t.version,
        "rate_numerator": t.rate.numerator,
        "rate_denominator": t.rate.denominator,
        "min_source_points": t.min_source_points,
        "max_source_points": t.max_source_points,
        "source_increment": t.source_increment,
        "member_daily_cap_source_points": t.member_daily_cap_source_points,
        "fee_basis_points": t.fee_basis_points,
        "fee_fixed_points": t.fee_fixed_points,
        "valid_from_ms": t.valid_from_ms,
        "valid_until_ms": t.valid_until_ms,
        "price_numerator": t.settlement_price_minor.numerator,
        "price_denominator": t.settlement_price_minor.denominator,
        "settlement_currency": t.settlement_currency,
        "status": a.status.value,
        "document": a.document,
        "proposer_key_id": a.proposer_key_id,
        "proposer_signature": a.proposer_signature,
        "acceptor_key_id": a.acceptor_key_id,
        "acceptor_signature": a.acceptor_signature,
        "proposed_at_ms": a.proposed_at_ms,
        "accepted_at_ms": a.accepted_at_ms,
        "status_changed_at_ms": a.status_changed_at_ms,
        "status_reason": a.status_reason,
        "suspended_by": a.suspended_by,
    }


def agreement_from_row(m: Any) -> Agreement:
    """An agreement version from its row's columns (by name)."""
    terms = AgreementTerms(
        source_partner_id=m["source_partner_id"],
        target_partner_id=m["target_partner_id"],
        version=m["version"],
        rate=Ratio(m["rate_numerator"], m["rate_denominator"]),
        min_source_points=m["min_source_points"],
        max_source_points=m["max_source_points"],
        source_increment=m["source_increment"],
        member_daily_cap_source_points=m["member_daily_cap_source_points"],
        fee_basis_points=m["fee_basis_points"],
        fee_fixed_points=m["fee_fixed_points"],
        valid_from_ms=m["valid_from_ms"],
        valid_until_ms=m["valid_until_ms"],
        settlement_price_minor=Ratio(m["price_numerator"], m["price_denominator"]),
        settlement_currency=m["settlement_currency"],
    )
    return Agreement(
        agreement_id=m["agreement_id"],
        terms=terms,
        status=AgreementStatus(m["status"]),
        document=bytes(m["document"]),
        proposer_key_id=m["proposer_key_id"],
        proposer_signature=bytes(m["proposer_signature"]),
        proposed_at_ms=m["proposed_at_ms"],
        status_changed_at_ms=m["status_changed_at_ms"],
        acceptor_key_id=m["acceptor_key_id"],
        acceptor_signature=bytes(m["acceptor_signature"]),
        accepted_at_ms=m["accepted_at_ms"],
        status_reason=m["status_reason"],
        suspended_by=m["suspended_by"],
    )
