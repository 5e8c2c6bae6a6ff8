"""Voucher agreements through one connection; the canonical document is the record of the terms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from exchange.domain.errors import InvalidArgument, InvariantViolation
from exchange.domain.voucher_agreements import VoucherAgreement, VoucherAgreementStatus, terms_of_document
from exchange.store.tables import voucher_agreements


class VoucherAgreementRepository:
    """Voucher agreements through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def latest_version(self, funder: str, honouring: str) -> int | None:
        """The pair's latest version number, whatever its status."""
        found = self._db.execute(
            select(voucher_agreements.c.version)
            .where(
                voucher_agreements.c.funder_partner_id == funder,
                voucher_agreements.c.honouring_partner_id == honouring,
            )
            .order_by(voucher_agreements.c.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    def get(self, agreement_id: str) -> VoucherAgreement | None:
        """One version, if any."""
        row = self._db.execute(
            select(voucher_agreements).where(voucher_agreements.c.agreement_id == agreement_id)
        ).first()
        return _agreement(row._mapping) if row else None

    def active(self, funder: str, honouring: str) -> VoucherAgreement | None:
        """The pair's ACTIVE version, if any."""
        row = self._db.execute(
            select(voucher_agreements).where(
                voucher_agreements.c.funder_partner_id == funder,
                voucher_agreements.c.honouring_partner_id == honouring,
                voucher_agreements.c.status == VoucherAgreementStatus.ACTIVE.value,
            )
        ).first()
        return _agreement(row._mapping) if row else None

    def ids_of_pair(self, funder: str, honouring: str) -> list[str]:
        """Every version's id of the pair (a month's vouchers count across versions)."""
        return list(
            self._db.execute(
                select(voucher_agreements.c.agreement_id).where(
                    voucher_agreements.c.funder_partner_id == funder,
                    voucher_agreements.c.honouring_partner_id == honouring,
                )
            ).scalars()
        )

    def add(self, agreement: VoucherAgreement) -> None:
        """Keep a new version."""
        self._db.execute(insert(voucher_agreements).values(**_columns(agreement)))

    def save(self, before: VoucherAgreement, after: VoucherAgreement) -> None:
        """Write a version's new status and signature; refuses if it moved meanwhile."""
        columns = _columns(after)
        del columns["agreement_id"]
        result = self._db.execute(
            update(voucher_agreements)
            .where(
                voucher_agreements.c.agreement_id == after.agreement_id,
                voucher_agreements.c.status == before.status.value,
            )
            .values(**columns)
        )
        assert result.rowcount == 1, "the voucher agreement changed under this transaction"


def _columns(a: VoucherAgreement) -> dict[str, Any]:
    return {
        "agreement_id": a.agreement_id,
        "funder_partner_id": a.terms.funder_partner_id,
        "honouring_partner_id": a.terms.honouring_partner_id,
        "version": a.terms.version,
        "status": a.status.value,
        "document": a.document,
        "proposer_key_id": a.proposer_key_id,
        "proposer_signature": a.proposer_signature,
        "acceptor_key_id": a.acceptor_key_id,
        "acceptor_signature": a.acceptor_signature,
        "proposed_at_ms": a.proposed_at_ms,
        "status_changed_at_ms": a.status_changed_at_ms,
    }


def _agreement(m: Any) -> VoucherAgreement:
    try:
        terms = terms_of_document(bytes(m["document"]))
    except InvalidArgument as exc:  # the hub wrote it canonical: a row that reads otherwise is corrupt
        raise InvariantViolation(f"voucher agreement {m['agreement_id']!r}: {exc.message}") from exc
    return VoucherAgreement(
        agreement_id=m["agreement_id"],
        terms=terms,
        status=VoucherAgreementStatus(m["status"]),
        document=bytes(m["document"]),
        proposer_key_id=m["proposer_key_id"],
        proposer_signature=bytes(m["proposer_signature"]),
        proposed_at_ms=m["proposed_at_ms"],
        status_changed_at_ms=m["status_changed_at_ms"],
        acceptor_key_id=m["acceptor_key_id"],
        acceptor_signature=bytes(m["acceptor_signature"]),
    )
