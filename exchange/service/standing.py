"""Which brands stand with a member, and what ends when a brand stops standing.

The rule is exchange.domain.members.standing_partners; this module reads what it needs and
applies it. Everything is read from the database inside the call's transaction, so an ended
link takes a brand's access away at once on every replica.
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.domain import consent as consent_rules
from exchange.domain import members as member_rules
from exchange.store.consent_repo import ConsentRepository
from exchange.store.members_repo import MemberRepository


def standing_of(connection: Connection, member_id: str) -> frozenset[str]:
    """The brands that stand with the member now."""
    repository = MemberRepository(connection)
    return member_rules.standing_partners(repository.first_partner(member_id), repository.links_of(member_id))


def end_consents_without_standing(connection: Connection, member_id: str, now_ms: int) -> int:
    """End (UNLINKED) the member's consents whose grantee or source stopped standing; log each ending.

    Returns how many ended.
    """
    repository = ConsentRepository(connection)
    consents = [c for c, *_ in repository.consents_of(member_id)]
    ended = consent_rules.left_without_standing(consents, standing_of(connection, member_id), now_ms)
    for consent in ended:
        repository.revoke(consent)
        repository.log_read(
            member_id=member_id,
            at_ms=now_ms,
            reader=consent.grantee_partner_id,
            source=consent.source_partner_id,
            purpose=consent.purpose,
            returned=[],
            withheld=list(consent.attribute_keys),
            event=consent_rules.EVENT_CONSENT_ENDED,
            reason=consent.end_reason,
            consent_id=consent.consent_id,
        )
    return len(ended)
