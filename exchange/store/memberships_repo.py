"""Joint memberships through one connection: agreements and signatures, memberships, partners' grants."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from exchange.domain.errors import InvalidArgument, InvariantViolation
from exchange.domain.membership_agreements import (
    AgreementSignature,
    Grant,
    GrantState,
    MembershipAgreement,
    MembershipAgreementStatus,
    terms_of_document,
)
from exchange.domain.membership_terms import RefundRule, TermLength
from exchange.domain.memberships import Membership, MembershipState, PaidTerm
from exchange.store.tables import (
    membership_agreement_signatures,
    membership_agreements,
    membership_grants,
    memberships,
    partners,
)

_LIVE = (MembershipState.ACTIVE.value, MembershipState.IN_GRACE.value)


class MembershipRepository:
    """Membership agreements, memberships and grants through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # agreements ---------------------------------------------------------------------------------

    def latest_version(self, programme_id: str) -> int | None:
        """The programme's latest version number, if any."""
        found = self._db.execute(
            select(membership_agreements.c.version)
            .where(membership_agreements.c.programme_id == programme_id)
            .order_by(membership_agreements.c.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    def add_agreement(self, agreement: MembershipAgreement) -> None:
        """Keep a new version with its seller's signature."""
        self._db.execute(
            insert(membership_agreements).values(
                agreement_id=agreement.agreement_id,
                programme_id=agreement.terms.programme_id,
                version=agreement.terms.version,
                seller_partner_id=agreement.terms.seller_partner_id,
                status=agreement.status.value,
                document=agreement.document,
                proposed_at_ms=agreement.proposed_at_ms,
                status_changed_at_ms=agreement.proposed_at_ms,
            )
        )
        self._add_signatures(agreement.agreement_id, agreement.signatures, first_seq=0)

    def get_agreement(self, agreement_id: str) -> MembershipAgreement | None:
        """The version with its signatures, if any."""
        row = self._db.execute(
            select(membership_agreements).where(membership_agreements.c.agreement_id == agreement_id)
        ).first()
        return self._agreement(row._mapping) if row else None

    def agreement_version(self, programme_id: str, version: int) -> MembershipAgreement | None:
        """One version of a programme's terms, if any."""
        row = self._db.execute(
            select(membership_agreements).where(
                membership_agreements.c.programme_id == programme_id, membership_agreements.c.version == version
            )
        ).first()
        return self._agreement(row._mapping) if row else None

    def active_agreement(self, programme_id: str) -> MembershipAgreement | None:
        """The programme's ACTIVE version, if any."""
        row = self._db.execute(
            select(membership_agreements).where(
                membership_agreements.c.programme_id == programme_id,
                membership_agreements.c.status == MembershipAgreementStatus.ACTIVE.value,
            )
        ).first()
        return self._agreement(row._mapping) if row else None

    def save_agreement(self, before: MembershipAgreement, after: MembershipAgreement, now_ms: int) -> None:
        """Write a version's new signatures and status; refuses if the row moved meanwhile."""
        result = self._db.execute(
            update(membership_agreements)
            .where(
                membership_agreements.c.agreement_id == after.agreement_id,
                membership_agreements.c.status == before.status.value,
            )
            .values(status=after.status.value, status_changed_at_ms=now_ms)
        )
        assert result.rowcount == 1, "the membership agreement changed under this transaction"
        self._add_signatures(after.agreement_id, after.signatures[len(before.signatures) :], len(before.signatures))

    def supersede_active(self, programme_id: str, *, except_id: str, now_ms: int) -> None:
        """The programme's other ACTIVE version, if any, becomes SUPERSEDED."""
        self._db.execute(
            update(membership_agreements)
            .where(
                membership_agreements.c.programme_id == programme_id,
                membership_agreements.c.status == MembershipAgreementStatus.ACTIVE.value,
                membership_agreements.c.agreement_id != except_id,
            )
            .values(status=MembershipAgreementStatus.SUPERSEDED.value, status_changed_at_ms=now_ms)
        )

    def _add_signatures(self, agreement_id: str, signatures: tuple[AgreementSignature, ...], first_seq: int) -> None:
        for seq, s in enumerate(signatures, start=first_seq):
            self._db.execute(
                insert(membership_agreement_signatures).values(
                    agreement_id=agreement_id,
                    partner_id=s.partner_id,
                    seq=seq,
                    key_id=s.key_id,
                    signature=s.signature,
                    signed_at_ms=s.signed_at_ms,
                )
            )

    def _agreement(self, m: Any) -> MembershipAgreement:
        rows = self._db.execute(
            select(membership_agreement_signatures)
            .where(membership_agreement_signatures.c.agreement_id == m["agreement_id"])
            .order_by(membership_agreement_signatures.c.seq)
        ).all()
        try:
            terms = terms_of_document(m["document"])
        except InvalidArgument as exc:  # the hub wrote it canonical: a row that reads otherwise is corrupt
            raise InvariantViolation(f"membership agreement {m['agreement_id']!r}: {exc.message}") from exc
        return MembershipAgreement(
            agreement_id=m["agreement_id"],
            terms=terms,
            status=MembershipAgreementStatus(m["status"]),
            document=m["document"],
            signatures=tuple(AgreementSignature(r.partner_id, r.key_id, r.signature, r.signed_at_ms) for r in rows),
            proposed_at_ms=m["proposed_at_ms"],
        )

    # memberships --------------------------------------------------------------------------------

    def lock_seller(self, seller_partner_id: str) -> None:
        """Take the seller's row lock (no-op on SQLite): one seller's enrolments queue, so no member is sold twice."""
        self._db.execute(
            select(partners.c.partner_id).where(partners.c.partner_id == seller_partner_id).with_for_update()
        )

    def add(self, membership: Membership, member_id: str) -> None:
        """Keep a new membership of the member (the hub's id of them)."""
        self._db.execute(insert(memberships).values(member_id=member_id, **_membership_columns(membership)))

    def get(self, membership_id: str) -> tuple[Membership, str] | None:
        """The membership and its member's hub id, if any."""
        row = self._db.execute(select(memberships).where(memberships.c.membership_id == membership_id)).first()
        return (_membership(row._mapping), row._mapping["member_id"]) if row else None

    def of_member(self, seller_partner_id: str, programme_id: str, member_ref: str) -> list[Membership]:
        """Every membership the seller sold the member in the programme."""
        rows = self._db.execute(
            select(memberships).where(
                memberships.c.seller_partner_id == seller_partner_id,
                memberships.c.programme_id == programme_id,
                memberships.c.member_ref == member_ref,
            )
        ).all()
        return [_membership(r._mapping) for r in rows]

    def of_member_id(self, member_id: str, limit: int) -> list[Membership]:
        """The member's memberships (the hub's id of them), newest first."""
        rows = self._db.execute(
            select(memberships)
            .where(memberships.c.member_id == member_id)
            .order_by(memberships.c.state_changed_at_ms.desc(), memberships.c.membership_id)
            .limit(limit)
        ).all()
        return [_membership(r._mapping) for r in rows]

    def save(self, before: Membership, after: Membership) -> None:
        """Write a membership's new state and terms; refuses if it moved meanwhile."""
        columns = _membership_columns(after)
        del columns["membership_id"]
        result = self._db.execute(
            update(memberships)
            .where(
                memberships.c.membership_id == after.membership_id,
                memberships.c.state == before.state.value,
                memberships.c.state_changed_at_ms == before.state_changed_at_ms,
            )
            .values(**columns)
        )
        assert result.rowcount == 1, "the membership changed under this transaction"

    def due_to_lapse(self, now_ms: int, limit: int) -> list[str]:
        """Memberships still live whose paid time or grace is over."""
        return list(
            self._db.execute(
                select(memberships.c.membership_id)
                .where(memberships.c.state.in_(_LIVE), memberships.c.honoured_until_ms <= now_ms)
                .limit(limit)
            ).scalars()
        )

    # grants -------------------------------------------------------------------------------------

    def add_grant(self, grant: Grant, member_id: str) -> None:
        """Keep a partner's grant on a membership."""
        self._db.execute(
            insert(membership_grants).values(
                membership_id=grant.membership_id,
                partner_id=grant.partner_id,
                member_id=member_id,
                state=grant.state.value,
                honoured_until_ms=grant.honoured_until_ms,
            )
        )

    def grants_of(self, membership_id: str) -> list[Grant]:
        """The partners' grants on a membership, by partner."""
        rows = self._db.execute(
            select(membership_grants)
            .where(membership_grants.c.membership_id == membership_id)
            .order_by(membership_grants.c.partner_id)
        ).all()
        return [_grant(r._mapping) for r in rows]

    def awaiting_link(self, member_id: str) -> list[Grant]:
        """The member's grants waiting for a link at their partner."""
        rows = self._db.execute(
            select(membership_grants).where(
                membership_grants.c.member_id == member_id,
                membership_grants.c.state == GrantState.AWAITING_LINK.value,
            )
        ).all()
        return [_grant(r._mapping) for r in rows]

    def save_grant(self, grant: Grant) -> None:
        """Write a grant's state and the time the partner was last told."""
        self._db.execute(
            update(membership_grants)
            .where(
                membership_grants.c.membership_id == grant.membership_id,
                membership_grants.c.partner_id == grant.partner_id,
            )
            .values(state=grant.state.value, honoured_until_ms=grant.honoured_until_ms)
        )


def _membership_columns(m: Membership) -> dict[str, Any]:
    return {
        "membership_id": m.membership_id,
        "programme_id": m.programme_id,
        "seller_partner_id": m.seller_partner_id,
        "member_ref": m.member_ref,
        "currency": m.currency,
        "refund_rule": m.refund_rule.value,
        "grace_days": m.grace_days,
        "state": m.state.value,
        "paid_terms": json.dumps([_term_value(t) for t in m.terms], separators=(",", ":")),
        "state_changed_at_ms": m.state_changed_at_ms,
        "grace_until_ms": m.grace_until_ms,
        "ended_at_ms": m.ended_at_ms,
        "honoured_until_ms": m.covered_until_ms,
    }


def _term_value(t: PaidTerm) -> dict[str, Any]:
    return {
        "length": t.length.value,
        "start_ms": t.start_ms,
        "end_ms": t.end_ms,
        "fee_minor": t.fee_minor,
        "score": t.score,
        "terms_version": t.terms_version,
        "shares": [list(pair) for pair in t.shares],
        "refund_minor": t.refund_minor,
        "reversed_shares": [list(pair) for pair in t.reversed_shares],
    }


def _term(v: dict[str, Any]) -> PaidTerm:
    return PaidTerm(
        length=TermLength(v["length"]),
        start_ms=v["start_ms"],
        end_ms=v["end_ms"],
        fee_minor=v["fee_minor"],
        score=v["score"],
        terms_version=v["terms_version"],
        shares=tuple((p, a) for p, a in v["shares"]),
        refund_minor=v["refund_minor"],
        reversed_shares=tuple((p, a) for p, a in v["reversed_shares"]),
    )


def _membership(m: Any) -> Membership:
    return Membership(
        membership_id=m["membership_id"],
        programme_id=m["programme_id"],
        seller_partner_id=m["seller_partner_id"],
        member_ref=m["member_ref"],
        currency=m["currency"],
        refund_rule=RefundRule(m["refund_rule"]),
        grace_days=m["grace_days"],
        state=MembershipState(m["state"]),
        terms=tuple(_term(v) for v in json.loads(m["paid_terms"])),
        state_changed_at_ms=m["state_changed_at_ms"],
        grace_until_ms=m["grace_until_ms"],
        ended_at_ms=m["ended_at_ms"],
    )


def _grant(m: Any) -> Grant:
    return Grant(m["membership_id"], m["partner_id"], GrantState(m["state"]), m["honoured_until_ms"])
