"""Accrual agreements and awards, with the sums that budgets and caps are checked against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from exchange.domain.accruals import AccrualAgreement, AccrualAgreementStatus, AccrualTerms, Award, AwardState
from exchange.domain.money import Ratio
from exchange.store.tables import accrual_agreements, awards

DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_month(at_ms: int) -> int:
    """Return the UTC calendar month of a time as year * 12 + month - 1 (integer arithmetic only)."""
    moment = EPOCH + timedelta(milliseconds=at_ms)
    return moment.year * 12 + moment.month - 1


def _agreement(row: Any) -> AccrualAgreement:
    return AccrualAgreement(
        agreement_id=row.agreement_id,
        terms=AccrualTerms(
            awarder_partner_id=row.awarder_partner_id,
            issuer_partner_id=row.issuer_partner_id,
            version=row.version,
            activity_types=tuple(row.activity_types.split(",")),
            price_per_point_minor=Ratio(row.price_numerator, row.price_denominator),
            settlement_currency=row.settlement_currency,
            monthly_budget_points=row.monthly_budget_points,
            monthly_budget_minor=row.monthly_budget_minor,
            member_daily_cap_points=row.member_daily_cap_points,
            valid_from_ms=row.valid_from_ms,
            valid_until_ms=row.valid_until_ms,
        ),
        status=AccrualAgreementStatus(row.status),
        document=bytes(row.document),
        proposer_key_id=row.proposer_key_id,
        proposer_signature=bytes(row.proposer_signature),
        acceptor_key_id=row.acceptor_key_id,
        acceptor_signature=bytes(row.acceptor_signature),
        proposed_at_ms=row.proposed_at_ms,
        accepted_at_ms=row.accepted_at_ms,
    )


def _award(row: Any) -> Award:
    return Award(
        award_id=row.award_id,
        agreement_id=row.agreement_id,
        awarder_partner_id=row.awarder_partner_id,
        issuer_partner_id=row.issuer_partner_id,
        awarder_pairwise_id=row.awarder_pairwise_id,
        issuer_member_ref=row.issuer_member_ref,
        activity_type=row.activity_type,
        activity_reference=row.activity_reference,
        points=row.points,
        settlement_amount_minor=row.settlement_amount_minor,
        settlement_currency=row.settlement_currency,
        state=AwardState(row.state),
        created_at_ms=row.created_at_ms,
        credit_deadline_ms=row.credit_deadline_ms,
        void_reason=row.void_reason,
    )


class AccrualRepository:
    """Accrual records through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def latest_version(self, awarder: str, issuer: str) -> int | None:
        """Return the pair's highest version number, if any."""
        a = accrual_agreements.c
        found = self._db.execute(
            select(func.max(a.version)).where(a.awarder_partner_id == awarder, a.issuer_partner_id == issuer)
        ).scalar_one()
        return int(found) if found is not None else None

    def add_agreement(self, agreement: AccrualAgreement) -> None:
        """Insert a proposed version."""
        t = agreement.terms
        self._db.execute(
            insert(accrual_agreements).values(
                agreement_id=agreement.agreement_id,
                awarder_partner_id=t.awarder_partner_id,
                issuer_partner_id=t.issuer_partner_id,
                version=t.version,
                activity_types=",".join(t.activity_types),
                price_numerator=t.price_per_point_minor.numerator,
                price_denominator=t.price_per_point_minor.denominator,
                settlement_currency=t.settlement_currency,
                monthly_budget_points=t.monthly_budget_points,
                monthly_budget_minor=t.monthly_budget_minor,
                member_daily_cap_points=t.member_daily_cap_points,
                valid_from_ms=t.valid_from_ms,
                valid_until_ms=t.valid_until_ms,
                status=agreement.status.value,
                document=agreement.document,
                proposer_key_id=agreement.proposer_key_id,
                proposer_signature=agreement.proposer_signature,
                acceptor_key_id=agreement.acceptor_key_id,
                acceptor_signature=agreement.acceptor_signature,
                proposed_at_ms=agreement.proposed_at_ms,
            )
        )

    def get_agreement(self, agreement_id: str) -> AccrualAgreement | None:
        """Return a version by id."""
        row = self._db.execute(
            select(accrual_agreements).where(accrual_agreements.c.agreement_id == agreement_id)
        ).first()
        return _agreement(row) if row else None

    def active_for(self, awarder: str, issuer: str) -> AccrualAgreement | None:
        """Return the pair's ACTIVE version, if any."""
        a = accrual_agreements.c
        row = self._db.execute(
            select(accrual_agreements).where(
                a.awarder_partner_id == awarder, a.issuer_partner_id == issuer, a.status == "ACTIVE"
            )
        ).first()
        return _agreement(row) if row else None

    def save_agreement(self, before: AccrualAgreement, after: AccrualAgreement) -> None:
        """Write a version's status and acceptance; refuses if it moved meanwhile."""
        a = accrual_agreements.c
        result = self._db.execute(
            update(accrual_agreements)
            .where(a.agreement_id == before.agreement_id, a.status == before.status.value)
            .values(
                status=after.status.value,
                acceptor_key_id=after.acceptor_key_id,
                acceptor_signature=after.acceptor_signature,
                accepted_at_ms=after.accepted_at_ms,
            )
        )
        assert result.rowcount == 1, "the accrual agreement changed under this transaction"

    def add_award(self, award: Award) -> None:
        """Insert a new award."""
        self._db.execute(
            insert(awards).values(
                award_id=award.award_id,
                agreement_id=award.agreement_id,
                awarder_partner_id=award.awarder_partner_id,
                issuer_partner_id=award.issuer_partner_id,
                awarder_pairwise_id=award.awarder_pairwise_id,
                issuer_member_ref=award.issuer_member_ref,
                activity_type=award.activity_type,
                activity_reference=award.activity_reference,
                points=award.points,
                settlement_amount_minor=award.settlement_amount_minor,
                settlement_currency=award.settlement_currency,
                state=award.state.value,
                created_at_ms=award.created_at_ms,
                utc_month=utc_month(award.created_at_ms),
                utc_day=award.created_at_ms // DAY_MS,
                credit_deadline_ms=award.credit_deadline_ms,
            )
        )

    def get_award(self, award_id: str) -> Award | None:
        """Return an award by id."""
        row = self._db.execute(select(awards).where(awards.c.award_id == award_id)).first()
        return _award(row) if row else None

    def save_award(self, before: Award, after: Award) -> None:
        """Write an award's state; refuses if it moved meanwhile."""
        w = awards.c
        result = self._db.execute(
            update(awards)
            .where(w.award_id == before.award_id, w.state == before.state.value)
            .values(state=after.state.value, void_reason=after.void_reason)
        )
        assert result.rowcount == 1, "the award changed under this transaction"

    def month_used(self, awarder: str, issuer: str, at_ms: int) -> tuple[int, int]:
        """Return (points, money) of the pair's awards this UTC month that are not void."""
        w = awards.c
        points, money = self._db.execute(
            select(func.coalesce(func.sum(w.points), 0), func.coalesce(func.sum(w.settlement_amount_minor), 0)).where(
                w.awarder_partner_id == awarder,
                w.issuer_partner_id == issuer,
                w.utc_month == utc_month(at_ms),
                w.state != AwardState.VOIDED.value,
            )
        ).one()
        return int(points), int(money)

    def member_today(self, awarder: str, issuer: str, issuer_member_ref: str, at_ms: int) -> int:
        """Return issuer points the member got from the awarder this UTC day (not void)."""
        w = awards.c
        total = self._db.execute(
            select(func.coalesce(func.sum(w.points), 0)).where(
                w.awarder_partner_id == awarder,
                w.issuer_partner_id == issuer,
                w.issuer_member_ref == issuer_member_ref,
                w.utc_day == at_ms // DAY_MS,
                w.state != AwardState.VOIDED.value,
            )
        ).scalar_one()
        return int(total)

    def overdue(self, now_ms: int, limit: int) -> list[str]:
        """Return ids of pending awards past their credit deadline."""
        w = awards.c
        rows = self._db.execute(
            select(w.award_id)
            .where(w.state == AwardState.PENDING_CREDIT.value, w.credit_deadline_ms <= now_ms)
            .order_by(w.credit_deadline_ms)
            .limit(limit)
        )
        return [row.award_id for row in rows]
