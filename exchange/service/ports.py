"""What the money path's services need from storage, as Protocols: the seam under the services.

A money-path command (quote, convert, reverse, expire, a partner's answer to an instruction,
holds, the settling of an award) takes a `UnitOfWork`: one transaction, exposing the
repositories it reads and writes. The SQL adapter is exchange.store.unit_of_work.SqlUnitOfWork,
built by the call pipeline on the connection of the call's transaction (exchange.store.database
owns the transaction: isolation, group commit, held writes and retries). tests/unit/fakes.py
holds an in-memory one, so every rule and refusal of the money path runs in a unit test without
a database.

The Protocols name only what the services call; a repository may offer more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from exchange.domain.accruals import Award
from exchange.domain.agreements import Agreement
from exchange.domain.consent import Consent, Declaration, Purpose
from exchange.domain.conversions import Conversion, ConversionParties, Quote, Reversal
from exchange.domain.instructions import Instruction, Origin
from exchange.domain.ledger import LedgerTransaction
from exchange.domain.limits import LimitReading
from exchange.domain.members import Link
from exchange.domain.membership_agreements import Grant, MembershipAgreement
from exchange.domain.memberships import Membership
from exchange.domain.partners import Partner
from exchange.domain.redemptions import Hold
from exchange.domain.settlement import Movement, Period
from exchange.domain.status_match import Match, MatchAgreement
from exchange.domain.status_match_terms import TierLadder
from exchange.domain.voucher_agreements import VoucherAgreement
from exchange.domain.vouchers import Voucher

T = TypeVar("T")


class Transactions(Protocol):
    """Runs a call's work in one transaction (exchange.store.database.Database is the one there is).

    It owns the transaction's policy: the isolation asked for, sharing a commit with concurrent
    calls (group), holding writes for one round trip, and retrying a conflict with a fresh attempt.
    """

    def run(
        self,
        work: Callable[[Connection], T],
        *,
        read_committed: bool = False,
        group: str | None = None,
        hold_writes: bool = False,
    ) -> T:
        """Run work(connection) in one transaction, committing on return."""
        ...


class ConversionStore(Protocol):
    """Quotes, conversions and their reversals."""

    def add_quote(self, quote: Quote) -> None:
        """Keep a new quote."""
        ...

    def get_quote(self, quote_id: str) -> Quote | None:
        """The quote, if any."""
        ...

    def lock_for_conversion(self, source: str, quote_id: str) -> ConversionParties:
        """Lock the source brand's row; read the quote, its agreement and the target brand."""
        ...

    def limit_reading(
        self, source: str, target: str, member_ref: str, *, day: int, since_ms: int, currency: str, quote_id: str
    ) -> LimitReading:
        """Read the figures of the three limits (exchange.domain.limits) and the quote's use, together."""
        ...

    def mark_quote_used(self, quote_id: str, conversion_id: str) -> None:
        """Record that the quote was used by the conversion (a quote converts once)."""
        ...

    def add(self, conversion: Conversion) -> None:
        """Keep a new conversion with its first event."""
        ...

    def get(self, conversion_id: str) -> Conversion | None:
        """The conversion with its history and reversals, if any."""
        ...

    def save_state(self, before: Conversion, after: Conversion) -> None:
        """Move a conversion from the state read to the next (refused if another moved it meanwhile)."""
        ...

    def add_reversal(self, conversion_id: str, reversal: Reversal) -> None:
        """Keep a reversal of part of a completed conversion."""
        ...


class AgreementReader(Protocol):
    """Agreements in force."""

    def active_for(self, source: str, target: str) -> Agreement | None:
        """The agreement in force from source to target, if any."""
        ...


class PartnerReader(Protocol):
    """The registry of brands."""

    def get(self, partner_id: str) -> Partner | None:
        """The brand, if registered."""
        ...

    def get_pair(self, first: str, second: str) -> tuple[Partner | None, Partner | None]:
        """Both brands of a movement, in one read."""
        ...


class LedgerWriter(Protocol):
    """The double-entry ledger."""

    def post(self, transaction: LedgerTransaction, at_ms: int) -> str:
        """Post a balanced transaction; return its id."""
        ...


class InstructionStore(Protocol):
    """Instructions to brands."""

    def add(self, instruction: Instruction) -> None:
        """Queue a new instruction for its brand."""
        ...

    def get(self, instruction_id: str) -> Instruction | None:
        """The instruction, if any."""
        ...

    def save(self, instruction: Instruction) -> None:
        """Keep an instruction's new state."""
        ...

    def pending_credit_of(self, origin: Origin) -> Instruction | None:
        """The origin's credit still waiting for its answer, if any."""
        ...


class HoldStore(Protocol):
    """Holds on points spent at a partner."""

    def add(self, hold: Hold) -> None:
        """Keep a new hold."""
        ...

    def get(self, hold_id: str) -> Hold | None:
        """The hold with its captures, if any."""
        ...

    def save(self, before: Hold, after: Hold) -> None:
        """Move a hold from the state read to the next (refused if another moved it meanwhile)."""
        ...


class AwardStore(Protocol):
    """Awards of points one brand buys from another for its members."""

    def get_award(self, award_id: str) -> Award | None:
        """The award, if any."""
        ...

    def save_award(self, before: Award, after: Award) -> None:
        """Move an award from the state read to the next."""
        ...


class MovementBook(Protocol):
    """Settlement periods and the completed movements they hold."""

    def open_period(self) -> Period:
        """The period movements are recorded in now."""
        ...

    def add_movement(self, movement: Movement, period_id: str) -> None:
        """Append a completed movement to a period."""
        ...


class AuditLog(Protocol):
    """The audit log."""

    def append(
        self,
        *,
        at_ms: int,
        actor: str,
        action: str,
        subject: str = "",
        request_sha256: str = "",
        response_sha256: str = "",
    ) -> None:
        """Append one event."""
        ...


class MembershipStore(Protocol):
    """Joint memberships: programmes' agreements, memberships, partners' grants (exchange.store.memberships_repo)."""

    def latest_version(self, programme_id: str) -> int | None:
        """The programme's latest version number, if any."""
        ...

    def add_agreement(self, agreement: MembershipAgreement) -> None:
        """Keep a new version with its seller's signature."""
        ...

    def get_agreement(self, agreement_id: str) -> MembershipAgreement | None:
        """The version with its signatures, if any."""
        ...

    def agreement_version(self, programme_id: str, version: int) -> MembershipAgreement | None:
        """One version of a programme's terms, if any."""
        ...

    def active_agreement(self, programme_id: str) -> MembershipAgreement | None:
        """The programme's ACTIVE version, if any."""
        ...

    def save_agreement(self, before: MembershipAgreement, after: MembershipAgreement, now_ms: int) -> None:
        """Write a version's new signatures and status."""
        ...

    def supersede_active(self, programme_id: str, *, except_id: str, now_ms: int) -> None:
        """The programme's other ACTIVE version, if any, becomes SUPERSEDED."""
        ...

    def lock_seller(self, seller_partner_id: str) -> None:
        """Queue the seller's enrolments one behind another."""
        ...

    def add(self, membership: Membership, member_id: str) -> None:
        """Keep a new membership of the member (the hub's id of them)."""
        ...

    def get(self, membership_id: str) -> tuple[Membership, str] | None:
        """The membership and its member's hub id, if any."""
        ...

    def of_member(self, seller_partner_id: str, programme_id: str, member_ref: str) -> list[Membership]:
        """Every membership the seller sold the member in the programme."""
        ...

    def of_member_id(self, member_id: str, limit: int) -> list[Membership]:
        """The member's memberships (the hub's id of them), newest first."""
        ...

    def save(self, before: Membership, after: Membership) -> None:
        """Write a membership's new state and terms (refused if it moved meanwhile)."""
        ...

    def add_grant(self, grant: Grant, member_id: str) -> None:
        """Keep a partner's grant on a membership."""
        ...

    def grants_of(self, membership_id: str) -> list[Grant]:
        """The partners' grants on a membership, by partner."""
        ...

    def awaiting_link(self, member_id: str) -> list[Grant]:
        """The member's grants waiting for a link at their partner."""
        ...

    def save_grant(self, grant: Grant) -> None:
        """Write a grant's state and the time the partner was last told."""
        ...


class VoucherStore(Protocol):
    """Membership vouchers (exchange.store.vouchers_repo)."""

    def add_if_absent(self, voucher: Voucher, member_id: str) -> bool:
        """Keep a voucher unless it was issued already; return whether it is new."""
        ...

    def get(self, voucher_id: str) -> Voucher | None:
        """The voucher, if any."""
        ...

    def page(
        self, membership_id: str, *, honouring_partner_id: str | None, after: tuple[int, str] | None, limit: int
    ) -> list[Voucher]:
        """A membership's vouchers (one partner's, or all), oldest first, after a (valid_from, voucher id)."""
        ...

    def save(self, before: Voucher, after: Voucher) -> bool:
        """Move a voucher from the state read to the next; False if another transaction moved it first."""
        ...

    def set_due(self, membership_id: str, due_at_ms: int | None) -> None:
        """When the membership's next vouchers are to be issued (None: no more)."""
        ...

    def member_id_of(self, voucher_id: str) -> str | None:
        """The hub's id of the voucher's member."""
        ...

    def issued_under(self, agreement_ids: list[str], since_ms: int) -> int:
        """How many vouchers the agreements gave since then."""
        ...


class VoucherAgreementStore(Protocol):
    """Voucher agreements (exchange.store.voucher_agreements_repo)."""

    def latest_version(self, funder: str, honouring: str) -> int | None:
        """The pair's latest version number."""
        ...

    def get(self, agreement_id: str) -> VoucherAgreement | None:
        """One version."""
        ...

    def active(self, funder: str, honouring: str) -> VoucherAgreement | None:
        """The pair's ACTIVE version."""
        ...

    def ids_of_pair(self, funder: str, honouring: str) -> list[str]:
        """Every version's id of the pair."""
        ...

    def add(self, agreement: VoucherAgreement) -> None:
        """Keep a new version."""
        ...

    def save(self, before: VoucherAgreement, after: VoucherAgreement) -> None:
        """Write a version's new status and signature."""
        ...


class StatusMatchStore(Protocol):
    """Ladders, members' sealed tiers, match agreements and matches (exchange.store.status_match_repo)."""

    def ladder(self, partner_id: str) -> TierLadder | None:
        """The brand's ladder, if it published one."""
        ...

    def put_ladder(self, ladder: TierLadder, now_ms: int) -> None:
        """Keep the brand's ladder."""
        ...

    def sealed_tier(self, member_id: str, partner_id: str) -> tuple[bytes, int] | None:
        """The member's sealed tier at the brand and when it was published."""
        ...

    def put_sealed_tier(self, member_id: str, partner_id: str, sealed: bytes, published_at_ms: int) -> None:
        """Keep the member's sealed tier at the brand."""
        ...

    def latest_version(self, recogniser: str, attester: str) -> int | None:
        """The pair's latest version number."""
        ...

    def get_agreement(self, agreement_id: str) -> MatchAgreement | None:
        """One version."""
        ...

    def active_agreement(self, recogniser: str, attester: str) -> MatchAgreement | None:
        """The pair's ACTIVE version."""
        ...

    def add_agreement(self, agreement: MatchAgreement) -> None:
        """Keep a new version."""
        ...

    def save_agreement(self, before: MatchAgreement, after: MatchAgreement) -> None:
        """Write a version's new status and signature."""
        ...

    def lock_recogniser(self, recogniser: str) -> None:
        """Make the recogniser's matches one at a time."""
        ...

    def add_match(self, match: Match, sealed: bytes, tier_holds_until_ms: int) -> None:
        """Keep a new match, its tiers sealed."""
        ...

    def get_match(self, match_id: str) -> tuple[Match, bytes] | None:
        """The match (tier codes empty) and its sealed tiers."""
        ...

    def matches_of_pair(self, recogniser: str, attester: str, member_id: str) -> list[tuple[Match, bytes]]:
        """Every match of the member with the pair."""
        ...

    def live_matches_of(self, member_id: str) -> list[tuple[Match, bytes]]:
        """The member's matches that have not ended."""
        ...

    def save_match(self, before: Match, after: Match, *, tier_holds_until_ms: int | None = None) -> None:
        """Write a match's new state."""
        ...


class MemberVault(Protocol):
    """Member data sealed with the member's own key (exchange.store.member_vault)."""

    def seal(self, member_id: str, context: str, plaintext: bytes) -> bytes:
        """Seal plaintext for the member."""
        ...

    def open(self, member_id: str, context: str, sealed: bytes) -> bytes | None:
        """The plaintext, or None once the member was erased."""
        ...


class ConsentLedger(Protocol):
    """Attribute declarations, consents and the member's access log (exchange.store.consent_repo)."""

    def declaration(self, partner_id: str, key: str) -> Declaration | None:
        """One declaration, if any."""
        ...

    def declare(self, declaration: Declaration) -> None:
        """Insert or update a declaration."""
        ...

    def consents_of(self, member_id: str) -> list[tuple[Consent, bytes, bytes, str]]:
        """The member's consents with their receipts."""
        ...

    def log_read(
        self,
        *,
        member_id: str,
        at_ms: int,
        reader: str,
        source: str,
        purpose: Purpose | None,
        returned: list[str],
        withheld: list[str],
        event: str = ...,
        reason: str = "",
        consent_id: str = "",
    ) -> None:
        """Append one event to the member's access log."""
        ...


class MemberDirectory(Protocol):
    """Members, brands' accounts of them and their links (exchange.store.members_repo)."""

    def member_of(self, partner_id: str, member_ref: str) -> str | None:
        """The member behind a brand's account, if any."""
        ...

    def add_member(self, member_id: str, now_ms: int) -> None:
        """Create a member."""
        ...

    def add_account(self, partner_id: str, member_ref: str, member_id: str, pairwise_id: str, now_ms: int) -> None:
        """Attach a brand's account to a member."""
        ...

    def account_ref(self, partner_id: str, member_id: str) -> str | None:
        """The brand's own reference for a member, if it has an account."""
        ...

    def is_erased(self, member_id: str) -> bool:
        """Whether the member was erased."""
        ...

    def links_of(self, member_id: str) -> list[Link]:
        """The member's links, live and ended."""
        ...

    def first_partner(self, member_id: str) -> str | None:
        """The brand the member was first known at."""
        ...


class UnitOfWork(Protocol):
    """One transaction of a money-path command: the repositories it uses, all on that transaction."""

    @property
    def conversions(self) -> ConversionStore:
        """Quotes, conversions and reversals."""
        ...

    @property
    def agreements(self) -> AgreementReader:
        """Agreements."""
        ...

    @property
    def partners(self) -> PartnerReader:
        """Brands."""
        ...

    @property
    def ledger(self) -> LedgerWriter:
        """The ledger."""
        ...

    @property
    def instructions(self) -> InstructionStore:
        """Instructions."""
        ...

    @property
    def holds(self) -> HoldStore:
        """Holds."""
        ...

    @property
    def awards(self) -> AwardStore:
        """Awards."""
        ...

    @property
    def movements(self) -> MovementBook:
        """Settlement periods' movements."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit log."""
        ...

    @property
    def memberships(self) -> MembershipStore:
        """Joint memberships."""
        ...

    @property
    def members(self) -> MemberDirectory:
        """Members and their links."""
        ...

    @property
    def vouchers(self) -> VoucherStore:
        """Membership vouchers."""
        ...

    @property
    def voucher_agreements(self) -> VoucherAgreementStore:
        """Voucher agreements."""
        ...

    @property
    def status_match(self) -> StatusMatchStore:
        """Ladders, tiers, match agreements, matches."""
        ...

    @property
    def vault(self) -> MemberVault:
        """Member data sealed with the member's key."""
        ...

    @property
    def consents(self) -> ConsentLedger:
        """Declarations, consents, the access log."""
        ...
