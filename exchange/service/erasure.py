"""Erasing a member, and re-applying erasures a database restore rolled back.

Erasure destroys the member's data key (every sealed value becomes unreadable, copies included),
deletes the sealed values, ends the member's consents (ERASED) and links, empties the kept
answers that named the member (exchange.service.stored_answers), and replaces the member's
references in conversions, holds, instructions, awards and donations by the brand's pseudonym,
so settlement stays whole without naming them. The member's id goes to the erasure ledger
(exchange.secrets.erasure_ledger) before the transaction commits, so a restored backup from
before the erasure is erased again when the hub starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from exchange.domain import consent as consent_rules
from exchange.domain.status_match import EndReason
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.pairwise import member_tag, pairwise_member_id
from exchange.service import status_match
from exchange.store.consent_repo import ConsentRepository
from exchange.store.database import Database
from exchange.store.idempotency_repo import erase_answers
from exchange.store.members_repo import MemberRepository, scrub_member_refs
from exchange.store.unit_of_work import SqlUnitOfWork

REAPPLY_BATCH = 500
RESTORE_ACTOR = "hub:erasure-ledger"


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a member did."""

    erased_at_ms: int
    links_ended: int
    consents_revoked: int


def apply(connection: Connection, member_id: str, *, by: str, now_ms: int, secret: bytes) -> Erasure:
    """Erase one member inside the caller's transaction (idempotent: a second run changes nothing more)."""
    # Their status matches end first, each recogniser told once (ERASED); no tier is readable after.
    status_match.end_member_matches(SqlUnitOfWork(connection), member_id, EndReason.ERASED, now_ms)
    consents = ConsentRepository(connection)
    consents.destroy_key(member_id, now_ms)
    revoked = 0
    for consent, *_ in consents.consents_of(member_id):
        if consent.revoked_at_ms is None:
            consents.revoke(
                consent_rules.revoke(consent, member_id, consent.consent_id, now_ms, reason=consent_rules.ENDED_ERASED)
            )
            revoked += 1
    members = MemberRepository(connection)
    ended = 0
    for link in members.links_of(member_id):
        if link.live:
            members.end_link(replace(link, ended_at_ms=now_ms, ended_by=by, end_reason="member erased"))
            ended += 1
    members.mark_erased(member_id, now_ms, by)
    tags = [
        member_tag(secret, partner_id=partner_id, member_ref=member_ref)
        for partner_id, member_ref in members.accounts_of(member_id)
    ]
    erase_answers(connection, tags)
    scrub_member_refs(
        connection,
        member_id,
        lambda partner_id: "erased:" + pairwise_member_id(secret, partner_id=partner_id, member_id=member_id),
    )
    return Erasure(now_ms, ended, revoked)


def erase(
    connection: Connection,
    member_id: str,
    *,
    by: str,
    now_ms: int,
    secret: bytes,
    ledger: ErasureLedger | None,
) -> Erasure:
    """Erase a member whose erasure a brand forwarded: the ledger line first, then the database."""
    if ledger is not None:
        ledger.record(member_id, now_ms, by)
    return apply(connection, member_id, by=by, now_ms=now_ms, secret=secret)


def reapply(
    database: Database,
    ledger: ErasureLedger,
    secret: bytes,
    now_ms: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Erase again every member the ledger lists and the database shows unerased (a restored backup).

    Returns how many members were erased again.
    """
    member_ids = ledger.member_ids()
    again = 0
    for start in range(0, len(member_ids), REAPPLY_BATCH):
        batch = member_ids[start : start + REAPPLY_BATCH]

        def work(connection: Connection, batch: list[str] = batch) -> int:
            found = MemberRepository(connection).not_erased(batch)
            for member_id in found:
                apply(connection, member_id, by=RESTORE_ACTOR, now_ms=now_ms, secret=secret)
            return len(found)

        again += database.run(work)
        if progress is not None:
            progress(len(batch))
    return again
