"""Donation agreements and donations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from exchange.domain.donations import AgreementState, Donation, DonationAgreement, DonationTerms
from exchange.domain.money import Ratio
from exchange.store.tables import donation_agreements, donations


def _agreement(row: Any) -> DonationAgreement:
    return DonationAgreement(
        agreement_id=row.agreement_id,
        terms=DonationTerms(
            brand_partner_id=row.brand_partner_id,
            charity_partner_id=row.charity_partner_id,
            version=row.version,
            value_per_point_minor=Ratio(row.value_numerator, row.value_denominator),
            settlement_currency=row.settlement_currency,
            valid_from_ms=row.valid_from_ms,
            valid_until_ms=row.valid_until_ms,
        ),
        status=AgreementState(row.status),
        document=bytes(row.document),
        proposer_signature=bytes(row.proposer_signature),
        acceptor_signature=bytes(row.acceptor_signature),
        proposed_at_ms=row.proposed_at_ms,
        accepted_at_ms=row.accepted_at_ms,
    )


def _donation(row: Any) -> Donation:
    return Donation(
        donation_id=row.donation_id,
        agreement_id=row.agreement_id,
        brand_partner_id=row.brand_partner_id,
        charity_partner_id=row.charity_partner_id,
        member_ref=row.member_ref,
        member_id=row.member_id,
        share_identity=bool(row.share_identity),
        points=row.points,
        amount_minor=row.amount_minor,
        currency=row.currency,
        donated_at_ms=row.donated_at_ms,
        receipt=bytes(row.receipt),
        receipt_signature=bytes(row.receipt_signature),
        hub_key_id=row.hub_key_id,
    )


class DonationRepository:
    """Donation records through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def latest_version(self, brand: str, charity: str) -> int | None:
        """Return the pair's highest version number, if any."""
        a = donation_agreements.c
        found = self._db.execute(
            select(func.max(a.version)).where(a.brand_partner_id == brand, a.charity_partner_id == charity)
        ).scalar_one()
        return int(found) if found is not None else None

    def add_agreement(self, agreement: DonationAgreement) -> None:
        """Insert a proposed version."""
        t = agreement.terms
        self._db.execute(
            insert(donation_agreements).values(
                agreement_id=agreement.agreement_id,
                brand_partner_id=t.brand_partner_id,
                charity_partner_id=t.charity_partner_id,
                version=t.version,
                value_numerator=t.value_per_point_minor.numerator,
                value_denominator=t.value_per_point_minor.denominator,
                settlement_currency=t.settlement_currency,
                valid_from_ms=t.valid_from_ms,
                valid_until_ms=t.valid_until_ms,
                status=agreement.status.value,
                document=agreement.document,
                proposer_signature=agreement.proposer_signature,
                acceptor_signature=agreement.acceptor_signature,
                proposed_at_ms=agreement.proposed_at_ms,
            )
        )

    def get_agreement(self, agreement_id: str) -> DonationAgreement | None:
        """Return a version by id."""
        row = self._db.execute(
            select(donation_agreements).where(donation_agreements.c.agreement_id == agreement_id)
        ).first()
        return _agreement(row) if row else None

    def active_for(self, brand: str, charity: str) -> DonationAgreement | None:
        """Return the pair's ACTIVE version, if any."""
        a = donation_agreements.c
        row = self._db.execute(
            select(donation_agreements).where(
                a.brand_partner_id == brand, a.charity_partner_id == charity, a.status == "ACTIVE"
            )
        ).first()
        return _agreement(row) if row else None

    def save_agreement(self, before: DonationAgreement, after: DonationAgreement) -> None:
        """Write a version's status and acceptance; refuses if it moved meanwhile."""
        a = donation_agreements.c
        result = self._db.execute(
            update(donation_agreements)
            .where(a.agreement_id == before.agreement_id, a.status == before.status.value)
            .values(
                status=after.status.value,
                acceptor_signature=after.acceptor_signature,
                accepted_at_ms=after.accepted_at_ms,
            )
        )
        assert result.rowcount == 1, "the donation agreement changed under this transaction"

    def add_donation(self, donation: Donation) -> None:
        """Insert a donation."""
        self._db.execute(
            insert(donations).values(
                donation_id=donation.donation_id,
                agreement_id=donation.agreement_id,
                brand_partner_id=donation.brand_partner_id,
                charity_partner_id=donation.charity_partner_id,
                member_ref=donation.member_ref,
                member_id=donation.member_id,
                share_identity=int(donation.share_identity),
                points=donation.points,
                amount_minor=donation.amount_minor,
                currency=donation.currency,
                donated_at_ms=donation.donated_at_ms,
                receipt=donation.receipt,
                receipt_signature=donation.receipt_signature,
                hub_key_id=donation.hub_key_id,
            )
        )

    def list_page(self, partner_id: str, *, before: tuple[int, str] | None, limit: int) -> list[Donation]:
        """Return donations a partner made or received, newest first."""
        d = donations.c
        query = (
            select(donations)
            .where(or_(d.brand_partner_id == partner_id, d.charity_partner_id == partner_id))
            .order_by(d.donated_at_ms.desc(), d.donation_id.desc())
            .limit(limit)
        )
        if before is not None:
            at_ms, donation_id = before
            query = query.where(
                or_(d.donated_at_ms < at_ms, and_(d.donated_at_ms == at_ms, d.donation_id < donation_id))
            )
        return [_donation(row) for row in self._db.execute(query)]
