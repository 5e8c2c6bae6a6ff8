"""Member commands: link codes, linking two brands' accounts, unlinking, listing a member's links."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from exchange.domain import members as rules
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from exchange.domain.members import Link, LinkCode
from exchange.secrets.pairwise import code_digest, link_code, normalize_link_code, pairwise_member_id
from exchange.service.authentication import Caller
from exchange.service.ports import MemberDirectory
from exchange.service.standing import end_consents_without_standing
from exchange.store.ids import new_id
from exchange.store.members_repo import MemberRepository


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A link code as issued (the code itself is never stored)."""

    code: str
    expires_at_ms: int
    pairwise_member_id: str


def pairwise_id(secret: bytes, partner_id: str, member_id: str) -> str:
    """The id a brand knows a member by."""
    return pairwise_member_id(secret, partner_id=partner_id, member_id=member_id)


def member_for(connection: Connection, partner_id: str, member_ref: str, secret: bytes, now_ms: int) -> str:
    """Return the member behind a brand's account, creating both on first sight."""
    return member_in(MemberRepository(connection), partner_id, member_ref, secret, now_ms)


def member_in(directory: MemberDirectory, partner_id: str, member_ref: str, secret: bytes, now_ms: int) -> str:
    """member_for on a unit of work's member directory (exchange.service.ports)."""
    member_id = directory.member_of(partner_id, member_ref)
    if member_id is None:
        member_id = new_id("mbr")
        directory.add_member(member_id, now_ms)
        directory.add_account(partner_id, member_ref, member_id, pairwise_id(secret, partner_id, member_id), now_ms)
    elif directory.is_erased(member_id):
        raise NotFound("MEMBER_ERASED", "this member was erased", field="member_ref")
    return member_id


def create_link_code(connection: Connection, caller: Caller, member_ref: str, secret: bytes, now_ms: int) -> IssuedCode:
    """Issue a one-time code for the caller's member."""
    member_ref = rules.parse_member_ref(member_ref)
    member_id = member_for(connection, caller.principal, member_ref, secret, now_ms)
    code = link_code()
    normalized = normalize_link_code(code)
    assert normalized is not None
    expires = now_ms + rules.LINK_CODE_TTL_MS
    MemberRepository(connection).add_code(
        LinkCode(code_digest(secret, normalized), caller.principal, member_id, now_ms, expires)
    )
    return IssuedCode(code, expires, pairwise_id(secret, caller.principal, member_id))


def redeem_link_code(
    connection: Connection, caller: Caller, code: str, member_ref: str, secret: bytes, now_ms: int
) -> Link:
    """Link the caller's account to the issuing brand's account of the same member."""
    repository = MemberRepository(connection)
    repository.lock_guesses(caller.principal)
    rules.check_attempts(repository.failed_guesses(caller.principal, now_ms - rules.FAILED_REDEMPTION_WINDOW_MS))
    member_ref = rules.parse_member_ref(member_ref)
    normalized = normalize_link_code(code)
    if normalized is None:
        raise InvalidArgument("MALFORMED_LINK_CODE", "a link code is 10 letters and digits", field="code")
    digest = code_digest(secret, normalized)
    try:
        issued = rules.redeemable(repository.code(digest), caller.principal, now_ms)
        if repository.is_erased(issued.member_id):
            raise rules.invalid_code()
        rules.check_account(repository.member_of(caller.principal, member_ref), issued.member_id)
        rules.check_not_linked(repository.links_of(issued.member_id), issued.partner_id, caller.principal)
        if not repository.use_code(digest, now_ms):
            raise rules.invalid_code()
    except FailedPrecondition as refusal:
        if refusal.reason == rules.CODE_INVALID:
            repository.add_failed_guess(caller.principal, now_ms)  # commits with the (final) refusal
        raise
    if repository.member_of(caller.principal, member_ref) is None:
        repository.add_account(
            caller.principal,
            member_ref,
            issued.member_id,
            pairwise_id(secret, caller.principal, issued.member_id),
            now_ms,
        )
    link = Link(new_id("lnk"), issued.member_id, issued.partner_id, caller.principal, now_ms)
    repository.add_link(link)
    return link


def unlink(connection: Connection, caller: Caller, link_id: str, reason: str, now_ms: int) -> Link:
    """Either brand ends a link; consents of a brand left without standing end with it (UNLINKED)."""
    repository = MemberRepository(connection)
    ended = rules.end(repository.link(link_id), caller=caller.principal, link_id=link_id, reason=reason, now_ms=now_ms)
    repository.end_link(ended)
    end_consents_without_standing(connection, ended.member_id, now_ms)
    return ended


def links(connection: Connection, caller: Caller, member_ref: str) -> tuple[str, list[Link]]:
    """Return the member behind the caller's account and the links the caller is part of."""
    member_ref = rules.parse_member_ref(member_ref)
    repository = MemberRepository(connection)
    member_id = repository.member_of(caller.principal, member_ref)
    if member_id is None:
        raise NotFound("MEMBER_NOT_FOUND", "this member has no links", field="member_ref")
    return member_id, [link for link in repository.links_of(member_id) if link.joins(caller.principal)]


def linked_target_ref(connection: Connection, caller: Caller, target_partner_id: str, pairwise_member_id: str) -> str:
    """Return the target brand's reference for a member the caller knows by pairwise id, over a live link."""
    repository = MemberRepository(connection)
    member_id = repository.member_by_pairwise(caller.principal, pairwise_member_id)
    if member_id is None or repository.is_erased(member_id):
        raise NotFound("MEMBER_NOT_FOUND", "no member of yours has this pairwise id", field="pairwise_member_id")
    live = [
        link
        for link in repository.links_of(member_id)
        if link.live and link.joins(caller.principal) and link.joins(target_partner_id)
    ]
    target_ref = repository.account_ref(target_partner_id, member_id)
    if not live or target_ref is None:
        raise FailedPrecondition(
            "MEMBER_NOT_LINKED",
            f"the member has not linked an account at {target_partner_id!r}",
            field="pairwise_member_id",
        )
    return target_ref
