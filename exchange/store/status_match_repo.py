"""Status match through one connection: ladders, members' tiers (sealed), match agreements, matches (tiers sealed).

The repository keeps the sealed bytes it is given and hands them back; sealing and opening them is
the member vault's (exchange.store.member_vault), so nothing here ever holds a tier in clear.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from exchange.domain.errors import InvalidArgument, InvariantViolation
from exchange.domain.status_match import EndReason, Match, MatchAgreement, MatchAgreementStatus, MatchState
from exchange.domain.status_match_terms import Challenge, Tier, TierLadder, terms_of_document
from exchange.store.tables import match_agreements, member_tiers, partners, status_matches, tier_ladders

_LIVE = (MatchState.ACTIVE.value, MatchState.CONFIRMED.value)


class StatusMatchRepository:
    """Ladders, members' tiers, match agreements and matches through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # ladders and tiers ------------------------------------------------------------------------

    def ladder(self, partner_id: str) -> TierLadder | None:
        """The brand's ladder, if it published one."""
        row = self._db.execute(select(tier_ladders).where(tier_ladders.c.partner_id == partner_id)).first()
        if row is None:
            return None
        return TierLadder(partner_id, tuple(Tier(t["code"], t["name"]) for t in json.loads(row.tiers)))

    def put_ladder(self, ladder: TierLadder, now_ms: int) -> None:
        """Keep the brand's ladder (replacing its previous one)."""
        tiers = json.dumps([{"code": t.code, "name": t.name} for t in ladder.tiers], separators=(",", ":"))
        self._db.execute(delete(tier_ladders).where(tier_ladders.c.partner_id == ladder.partner_id))
        self._db.execute(insert(tier_ladders).values(partner_id=ladder.partner_id, tiers=tiers, updated_at_ms=now_ms))

    def sealed_tier(self, member_id: str, partner_id: str) -> tuple[bytes, int] | None:
        """The member's sealed tier at the brand and when it was published, if any."""
        row = self._db.execute(
            select(member_tiers.c.sealed, member_tiers.c.published_at_ms).where(
                member_tiers.c.member_id == member_id, member_tiers.c.partner_id == partner_id
            )
        ).first()
        return (bytes(row.sealed), int(row.published_at_ms)) if row else None

    def put_sealed_tier(self, member_id: str, partner_id: str, sealed: bytes, published_at_ms: int) -> None:
        """Keep the member's sealed tier at the brand (replacing the previous one)."""
        where = (member_tiers.c.member_id == member_id, member_tiers.c.partner_id == partner_id)
        self._db.execute(delete(member_tiers).where(*where))
        self._db.execute(
            insert(member_tiers).values(
                member_id=member_id, partner_id=partner_id, sealed=sealed, published_at_ms=published_at_ms
            )
        )

    # agreements -------------------------------------------------------------------------------

    def latest_version(self, recogniser: str, attester: str) -> int | None:
        """The pair's latest version number, whatever its status."""
        found = self._db.execute(
            select(match_agreements.c.version)
            .where(
                match_agreements.c.recogniser_partner_id == recogniser,
                match_agreements.c.attester_partner_id == attester,
            )
            .order_by(match_agreements.c.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    def get_agreement(self, agreement_id: str) -> MatchAgreement | None:
        """One version, if any."""
        row = self._db.execute(select(match_agreements).where(match_agreements.c.agreement_id == agreement_id)).first()
        return _agreement(row._mapping) if row else None

    def active_agreement(self, recogniser: str, attester: str) -> MatchAgreement | None:
        """The pair's ACTIVE version, if any."""
        row = self._db.execute(
            select(match_agreements).where(
                match_agreements.c.recogniser_partner_id == recogniser,
                match_agreements.c.attester_partner_id == attester,
                match_agreements.c.status == MatchAgreementStatus.ACTIVE.value,
            )
        ).first()
        return _agreement(row._mapping) if row else None

    def add_agreement(self, agreement: MatchAgreement) -> None:
        """Keep a new version."""
        self._db.execute(insert(match_agreements).values(**_agreement_columns(agreement)))

    def save_agreement(self, before: MatchAgreement, after: MatchAgreement) -> None:
        """Write a version's new status and signature; refuses if it moved meanwhile."""
        columns = _agreement_columns(after)
        del columns["agreement_id"]
        result = self._db.execute(
            update(match_agreements)
            .where(
                match_agreements.c.agreement_id == after.agreement_id,
                match_agreements.c.status == before.status.value,
            )
            .values(**columns)
        )
        assert result.rowcount == 1, "the match agreement changed under this transaction"

    # matches ----------------------------------------------------------------------------------

    def lock_recogniser(self, recogniser: str) -> None:
        """Take the recogniser's row lock (no-op on SQLite): its matches are made one at a time."""
        self._db.execute(select(partners.c.partner_id).where(partners.c.partner_id == recogniser).with_for_update())

    def add_match(self, match: Match, sealed: bytes, tier_holds_until_ms: int) -> None:
        """Keep a new match, its tiers sealed."""
        self._db.execute(
            insert(status_matches).values(
                sealed=sealed, tier_holds_until_ms=tier_holds_until_ms, **_match_columns(match)
            )
        )

    def get_match(self, match_id: str) -> tuple[Match, bytes] | None:
        """The match and its sealed tiers, or None. The Match carries empty tier codes: open the sealed bytes."""
        row = self._db.execute(select(status_matches).where(status_matches.c.match_id == match_id)).first()
        return (_match(row._mapping), bytes(row.sealed)) if row else None

    def matches_of_pair(self, recogniser: str, attester: str, member_id: str) -> list[tuple[Match, bytes]]:
        """Every match of the member with the pair, oldest first."""
        rows = self._db.execute(
            select(status_matches)
            .where(
                status_matches.c.recogniser_partner_id == recogniser,
                status_matches.c.attester_partner_id == attester,
                status_matches.c.member_id == member_id,
            )
            .order_by(status_matches.c.started_at_ms)
        ).all()
        return [(_match(r._mapping), bytes(r.sealed)) for r in rows]

    def live_matches_of(self, member_id: str) -> list[tuple[Match, bytes]]:
        """The member's matches that have not ended."""
        rows = self._db.execute(
            select(status_matches).where(status_matches.c.member_id == member_id, status_matches.c.state.in_(_LIVE))
        ).all()
        return [(_match(r._mapping), bytes(r.sealed)) for r in rows]

    def save_match(self, before: Match, after: Match, *, tier_holds_until_ms: int | None = None) -> None:
        """Write a match's new state; refuses if it moved meanwhile."""
        columns = _match_columns(after)
        for key in ("match_id", "member_id", "recogniser_partner_id", "attester_partner_id", "agreement_version"):
            del columns[key]
        if tier_holds_until_ms is not None:
            columns["tier_holds_until_ms"] = tier_holds_until_ms
        result = self._db.execute(
            update(status_matches)
            .where(status_matches.c.match_id == after.match_id, status_matches.c.state == before.state.value)
            .values(**columns)
        )
        assert result.rowcount == 1, "the match changed under this transaction"

    def due(self, now_ms: int, limit: int) -> list[str]:
        """Live matches whose time, or whose attested tier's hold, is over."""
        return list(
            self._db.execute(
                select(status_matches.c.match_id)
                .where(
                    status_matches.c.state.in_(_LIVE),
                    (status_matches.c.ends_at_ms <= now_ms) | (status_matches.c.tier_holds_until_ms <= now_ms),
                )
                .limit(limit)
            ).scalars()
        )


def _agreement_columns(a: MatchAgreement) -> dict[str, Any]:
    return {
        "agreement_id": a.agreement_id,
        "recogniser_partner_id": a.terms.recogniser_partner_id,
        "attester_partner_id": a.terms.attester_partner_id,
        "version": a.terms.version,
        "status": a.status.value,
        "document": a.document,
        "proposer_key_id": a.proposer_key_id,
        "proposer_signature": a.proposer_signature,
        "acceptor_key_id": a.acceptor_key_id,
        "acceptor_signature": a.acceptor_signature,
        "proposed_at_ms": a.proposed_at_ms,
        "accepted_at_ms": a.accepted_at_ms,
        "status_changed_at_ms": a.status_changed_at_ms,
    }


def _agreement(m: Any) -> MatchAgreement:
    try:
        terms = terms_of_document(bytes(m["document"]))
    except InvalidArgument as exc:  # the hub wrote it canonical: a row that reads otherwise is corrupt
        raise InvariantViolation(f"match agreement {m['agreement_id']!r}: {exc.message}") from exc
    return MatchAgreement(
        agreement_id=m["agreement_id"],
        terms=terms,
        status=MatchAgreementStatus(m["status"]),
        document=bytes(m["document"]),
        proposer_key_id=m["proposer_key_id"],
        proposer_signature=bytes(m["proposer_signature"]),
        proposed_at_ms=m["proposed_at_ms"],
        status_changed_at_ms=m["status_changed_at_ms"],
        acceptor_key_id=m["acceptor_key_id"],
        acceptor_signature=bytes(m["acceptor_signature"]),
        accepted_at_ms=m["accepted_at_ms"],
    )


def _match_columns(m: Match) -> dict[str, Any]:
    challenge = m.challenge
    return {
        "match_id": m.match_id,
        "member_id": m.member_id,
        "recogniser_partner_id": m.recogniser_partner_id,
        "attester_partner_id": m.attester_partner_id,
        "agreement_version": m.agreement_version,
        "challenge": json.dumps(
            {"days": challenge.days, "activity": challenge.activity, "target": challenge.target}
            if challenge is not None
            else None
        ),
        "state": m.state.value,
        "started_at_ms": m.started_at_ms,
        "ends_at_ms": m.ends_at_ms,
        "match_ends_at_ms": m.match_ends_at_ms,
        "challenge_pending": int(m.challenge_pending),
        "ended_at_ms": m.ended_at_ms,
        "end_reason": m.end_reason.value if m.end_reason is not None else "",
    }


def _match(m: Any) -> Match:
    raw = json.loads(m["challenge"]) if m["challenge"] else None
    return Match(
        match_id=m["match_id"],
        member_id=m["member_id"],
        recogniser_partner_id=m["recogniser_partner_id"],
        attester_partner_id=m["attester_partner_id"],
        agreement_version=m["agreement_version"],
        attester_tier="",  # sealed: exchange.service.status_match opens them
        matched_tier="",
        challenge=Challenge(raw["days"], raw["activity"], raw["target"]) if raw else None,
        state=MatchState(m["state"]),
        started_at_ms=m["started_at_ms"],
        ends_at_ms=m["ends_at_ms"],
        match_ends_at_ms=m["match_ends_at_ms"],
        challenge_pending=bool(m["challenge_pending"]),
        ended_at_ms=m["ended_at_ms"],
        end_reason=EndReason(m["end_reason"]) if m["end_reason"] else None,
    )
