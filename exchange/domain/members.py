"""Members across brands: accounts, links between two brands, one-time link codes.

A member is known to the hub by an internal id, never shown to any brand. Each brand has
accounts (its own member references) that point to a member; a link joins a member's accounts
at two brands. Brands see a member only through pairwise ids derived from the internal id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from exchange.domain.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied, ResourceExhausted
from exchange.domain.partners import REASON_MAX, parse_text

LINK_CODE_TTL_MS = 10 * 60 * 1000
MAX_FAILED_REDEMPTIONS = 5  # per redeeming brand within FAILED_REDEMPTION_WINDOW_MS
FAILED_REDEMPTION_WINDOW_MS = 10 * 60 * 1000
MEMBER_REF_MAX = 128
CODE_INVALID = "LINK_CODE_INVALID"
NOT_LINKED = "MEMBER_NOT_LINKED"


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A one-time code a brand issued for one of its members (stored only as a digest)."""

    code_digest: str
    partner_id: str
    member_id: str
    created_at_ms: int
    expires_at_ms: int
    used_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A member's accounts at two brands, joined."""

    link_id: str
    member_id: str
    partner_a: str
    partner_b: str
    linked_at_ms: int
    ended_at_ms: int | None = None
    ended_by: str = ""
    end_reason: str = ""

    @property
    def live(self) -> bool:
        """Whether the link still stands."""
        return self.ended_at_ms is None

    def joins(self, partner_id: str) -> bool:
        """Whether the partner is one of the link's two brands."""
        return partner_id in (self.partner_a, self.partner_b)

    def counterparty_of(self, partner_id: str) -> str:
        """The other brand."""
        return self.partner_b if partner_id == self.partner_a else self.partner_a


def standing_partners(first_partner: str | None, links: list[Link]) -> frozenset[str]:
    """The brands that act for a member: every brand of a live link, and the brand the member was first known at.

    A brand speaks for a member (publishes, grants, revokes, lists consents, reads the access
    log, forwards an erasure) and reads another brand's attributes of them only while it stands
    with the member. Standing comes from a live link: when a link ends, a brand left with no
    other live link stops standing at once, and so do the consents it gave or received
    (exchange.service.standing). The brand where the member started (``first_partner``, the
    first account) keeps standing without links, so the member can still see their consents and
    access log there after every link ended.
    """
    standing = {partner for link in links if link.live for partner in (link.partner_a, link.partner_b)}
    if first_partner is not None:
        standing.add(first_partner)
    return frozenset(standing)


def require_standing(partner_id: str, standing: frozenset[str], *, field: str = "member_ref") -> None:
    """Refuse a brand that does not stand with the member (its link ended, or it never had one)."""
    if partner_id not in standing:
        raise PermissionDenied(
            NOT_LINKED, f"{partner_id!r} is not linked with this member (or its link has ended)", field=field
        )


def parse_member_ref(value: str, *, field: str = "member_ref") -> str:
    """Return a valid member reference (1 to 128 printable characters), or raise InvalidArgument."""
    return parse_text(value, field=field, max_length=MEMBER_REF_MAX)


def check_attempts(failed_recently: int) -> None:
    """Refuse a redemption after too many failed ones (guessing codes), for a while."""
    if failed_recently >= MAX_FAILED_REDEMPTIONS:
        raise ResourceExhausted(
            "LINK_CODE_ATTEMPTS",
            f"at most {MAX_FAILED_REDEMPTIONS} wrong link codes per {FAILED_REDEMPTION_WINDOW_MS // 60_000} minutes; "
            "try again later",
        )


def invalid_code() -> FailedPrecondition:
    """The one refusal a guesser gets for a wrong, used or expired code.

    It is final: the hub counts it as a failed guess in the refusal's own transaction, so the
    count and the refusal commit together.
    """
    return FailedPrecondition(CODE_INVALID, "this link code is unknown, used or expired", field="code", final=True)


def redeemable(code: LinkCode | None, caller: str, now_ms: int) -> LinkCode:
    """Return the code if the caller may redeem it now; every failure looks the same to a guesser."""
    if code is None or code.used_at_ms is not None or now_ms >= code.expires_at_ms:
        raise invalid_code()
    if code.partner_id == caller:
        raise FailedPrecondition("SAME_PARTNER", "a member links accounts at two different brands", field="code")
    return code


def check_account(existing_member_id: str | None, member_id: str) -> None:
    """The redeeming brand's account may be new or already this member's, never another member's."""
    if existing_member_id is not None and existing_member_id != member_id:
        raise FailedPrecondition(
            "ACCOUNT_LINKED_ELSEWHERE",
            "this account already belongs to another linked member; unlink it there first",
            field="member_ref",
        )


def check_not_linked(links: list[Link], partner_a: str, partner_b: str) -> None:
    """Refuse a second live link between the same two brands for one member."""
    if any(link.live and link.joins(partner_a) and link.joins(partner_b) for link in links):
        raise AlreadyExists("LINK_EXISTS", "the member's accounts at these two brands are already linked")


def end(link: Link | None, *, caller: str, link_id: str, reason: str, now_ms: int) -> Link:
    """Either brand ends a live link, with a reason."""
    if link is None or not link.joins(caller):
        raise NotFound("LINK_NOT_FOUND", f"no link {link_id!r}", field="link_id")
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    if not link.live:
        raise FailedPrecondition("LINK_ENDED", f"link {link_id!r} has already ended")
    return replace(link, ended_at_ms=now_ms, ended_by=caller, end_reason=reason)
