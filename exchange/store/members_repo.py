"""Reading and writing members, their accounts at brands, links and link codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update

from exchange.domain.members import Link, LinkCode
from exchange.store.tables import link_code_failures, link_codes, member_accounts, member_links, members


class MemberRepository:
    """Members through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def member_of(self, partner_id: str, member_ref: str) -> str | None:
        """Return the member id of a brand's account, or None."""
        return self._db.execute(
            select(member_accounts.c.member_id).where(
                member_accounts.c.partner_id == partner_id, member_accounts.c.member_ref == member_ref
            )
        ).scalar_one_or_none()

    def add_member(self, member_id: str, now_ms: int) -> None:
        """Create a member."""
        self._db.execute(insert(members).values(member_id=member_id, created_at_ms=now_ms))

    def add_account(self, partner_id: str, member_ref: str, member_id: str, pairwise_id: str, now_ms: int) -> None:
        """Attach a brand's account to a member (with the brand's pairwise id for the member)."""
        self._db.execute(
            insert(member_accounts).values(
                partner_id=partner_id,
                member_ref=member_ref,
                member_id=member_id,
                pairwise_id=pairwise_id,
                created_at_ms=now_ms,
            )
        )

    def member_by_pairwise(self, partner_id: str, pairwise_id: str) -> str | None:
        """Return the member a brand knows by a pairwise id, if the brand has an account for them."""
        return self._db.execute(
            select(member_accounts.c.member_id).where(
                member_accounts.c.partner_id == partner_id, member_accounts.c.pairwise_id == pairwise_id
            )
        ).scalar_one_or_none()

    def account_ref(self, partner_id: str, member_id: str) -> str | None:
        """Return the brand's own reference for a member, or None."""
        return self._db.execute(
            select(member_accounts.c.member_ref).where(
                member_accounts.c.partner_id == partner_id, member_accounts.c.member_id == member_id
            )
        ).scalar_one_or_none()

    def partners_of(self, member_id: str) -> set[str]:
        """Return the brands with an account for the member."""
        rows = self._db.execute(select(member_accounts.c.partner_id).where(member_accounts.c.member_id == member_id))
        return {r.partner_id for r in rows}

    def is_erased(self, member_id: str) -> bool:
        """Whether the member was erased."""
        return (
            self._db.execute(
                select(members.c.erased_at_ms).where(members.c.member_id == member_id)
            ).scalar_one_or_none()
            is not None
        )

    def mark_erased(self, member_id: str, now_ms: int, by: str) -> None:
        """Record the erasure and the brand that forwarded it."""
        self._db.execute(
            update(members)
            .where(members.c.member_id == member_id, members.c.erased_at_ms.is_(None))
            .values(erased_at_ms=now_ms, erased_by=by)
        )

    def first_partner(self, member_id: str) -> str | None:
        """The brand the member was first known at (its account is the oldest), or None."""
        return self._db.execute(
            select(member_accounts.c.partner_id)
            .where(member_accounts.c.member_id == member_id)
            .order_by(member_accounts.c.created_at_ms, member_accounts.c.partner_id)
            .limit(1)
        ).scalar_one_or_none()

    def accounts_of(self, member_id: str) -> list[tuple[str, str]]:
        """Return the member's accounts as (partner id, member reference)."""
        rows = self._db.execute(
            select(member_accounts.c.partner_id, member_accounts.c.member_ref).where(
                member_accounts.c.member_id == member_id
            )
        ).all()
        return [(r.partner_id, r.member_ref) for r in rows]

    def not_erased(self, member_ids: list[str]) -> list[str]:
        """Return those of the given members that exist and are not erased."""
        rows = self._db.execute(
            select(members.c.member_id).where(members.c.member_id.in_(member_ids), members.c.erased_at_ms.is_(None))
        ).all()
        return [r.member_id for r in rows]

    def lock_guesses(self, partner_id: str) -> None:
        """Serialize a brand's link-code redemptions (PostgreSQL; SQLite writers are one at a time).

        The count of recent wrong guesses is read after this lock, and a wrong guess is recorded
        before the transaction that took it commits, so concurrent guesses can't all pass the limit.
        """
        if self._db.dialect.name == "postgresql":
            self._db.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": "link-guess|" + partner_id}
            )

    def failed_guesses(self, partner_id: str, since_ms: int) -> int:
        """Count the brand's wrong link codes since a time."""
        return int(
            self._db.execute(
                select(func.count()).where(
                    link_code_failures.c.partner_id == partner_id, link_code_failures.c.at_ms >= since_ms
                )
            ).scalar_one()
        )

    def add_failed_guess(self, partner_id: str, now_ms: int) -> None:
        """Record one wrong link code."""
        self._db.execute(insert(link_code_failures).values(partner_id=partner_id, at_ms=now_ms))

    def add_code(self, code: LinkCode) -> None:
        """Store a link code (as its digest)."""
        self._db.execute(
            insert(link_codes).values(
                code_digest=code.code_digest,
                partner_id=code.partner_id,
                member_id=code.member_id,
                created_at_ms=code.created_at_ms,
                expires_at_ms=code.expires_at_ms,
            )
        )

    def code(self, code_digest: str) -> LinkCode | None:
        """Return a link code by digest, or None."""
        row = self._db.execute(select(link_codes).where(link_codes.c.code_digest == code_digest)).first()
        if row is None:
            return None
        return LinkCode(
            row.code_digest, row.partner_id, row.member_id, row.created_at_ms, row.expires_at_ms, row.used_at_ms
        )

    def use_code(self, code_digest: str, now_ms: int) -> bool:
        """Mark a code used; False if it was used concurrently."""
        result = self._db.execute(
            update(link_codes)
            .where(link_codes.c.code_digest == code_digest, link_codes.c.used_at_ms.is_(None))
            .values(used_at_ms=now_ms)
        )
        return result.rowcount == 1

    def links_of(self, member_id: str) -> list[Link]:
        """Return a member's links, oldest first."""
        rows = self._db.execute(
            select(member_links).where(member_links.c.member_id == member_id).order_by(member_links.c.linked_at_ms)
        ).all()
        return [_link(r._mapping) for r in rows]

    def link(self, link_id: str) -> Link | None:
        """Return a link, or None."""
        row = self._db.execute(select(member_links).where(member_links.c.link_id == link_id)).first()
        return _link(row._mapping) if row else None

    def add_link(self, link: Link) -> None:
        """Insert a link."""
        self._db.execute(
            insert(member_links).values(
                link_id=link.link_id,
                member_id=link.member_id,
                partner_a=link.partner_a,
                partner_b=link.partner_b,
                linked_at_ms=link.linked_at_ms,
            )
        )

    def end_link(self, link: Link) -> None:
        """Record the end of a link."""
        self._db.execute(
            update(member_links)
            .where(member_links.c.link_id == link.link_id, member_links.c.ended_at_ms.is_(None))
            .values(ended_at_ms=link.ended_at_ms, ended_by=link.ended_by, end_reason=link.end_reason)
        )


def _link(m: Any) -> Link:
    return Link(
        link_id=m["link_id"],
        member_id=m["member_id"],
        partner_a=m["partner_a"],
        partner_b=m["partner_b"],
        linked_at_ms=m["linked_at_ms"],
        ended_at_ms=m["ended_at_ms"],
        ended_by=m["ended_by"],
        end_reason=m["end_reason"],
    )


def scrub_member_refs(connection: Connection, member_id: str, pseudonym_of: Callable[[str], str]) -> int:
    """Replace an erased member's references everywhere they are kept by the brand's pseudonym for them.

    Conversions, holds, instructions, awards, donations, memberships and vouchers stay (settlement must remain whole)
    but no longer name the member; the accounts keep their pseudonyms so a later sign-up with the same
    reference is a new member.
    Returns how many rows changed.
    """
    from exchange.store.tables import awards, conversions, donations, holds, instructions, memberships, vouchers

    accounts = connection.execute(
        select(member_accounts.c.partner_id, member_accounts.c.member_ref).where(
            member_accounts.c.member_id == member_id
        )
    ).all()
    changed = 0
    for partner_id, member_ref in accounts:
        alias = pseudonym_of(partner_id)
        for table, partner_column, ref_column in (
            (conversions, conversions.c.source_partner_id, conversions.c.source_member_ref),
            (conversions, conversions.c.target_partner_id, conversions.c.target_member_ref),
            (holds, holds.c.source_partner_id, holds.c.source_member_ref),
            (instructions, instructions.c.partner_id, instructions.c.member_ref),
            (awards, awards.c.issuer_partner_id, awards.c.issuer_member_ref),
            (donations, donations.c.brand_partner_id, donations.c.member_ref),
            (memberships, memberships.c.seller_partner_id, memberships.c.member_ref),
            (member_accounts, member_accounts.c.partner_id, member_accounts.c.member_ref),
        ):
            result = connection.execute(
                update(table)
                .where(partner_column == partner_id, ref_column == member_ref)
                .values({ref_column.name: alias})
            )
            changed += result.rowcount
        # A voucher names the member by the seller's reference; the seller is the membership's.
        result = connection.execute(
            update(vouchers)
            .where(vouchers.c.member_id == member_id, vouchers.c.member_ref == member_ref)
            .values(member_ref=alias)
        )
        changed += result.rowcount
    return changed


def prune_failed_guesses(connection: Connection, *, before_ms: int) -> int:
    """Delete wrong link codes older than the guess-limit window; return how many."""
    return int(connection.execute(delete(link_code_failures).where(link_code_failures.c.at_ms < before_ms)).rowcount)
