"""In-memory adapters of the service port (exchange.service.ports.UnitOfWork), for unit tests without a database.

`FakeBooks` is what the store would hold; `FakeUnitOfWork(books)` is one unit of work on it. The
fakes keep the store's own guards where a rule leans on them: a state change is refused (an
AssertionError, as the SQL repositories raise) when the record moved meanwhile, a voucher's move
answers False when another moved it first (the conditional UPDATE of exchange.store.vouchers_repo),
and the limit figures are computed with the same definitions (exchange.domain.limits) the store's
SQL read is tested against. Member data is sealed for real (FakeVault: a per-member key, a keyed
stream and a tag; never the plaintext), and opens to None once the member's key is destroyed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace

from exchange.domain import agreements as agreement_rules
from exchange.domain.accruals import Award, AwardState
from exchange.domain.agreements import Agreement, AgreementStatus
from exchange.domain.audit import AuditEvent
from exchange.domain.consent import EVENT_READ, Consent, Declaration, Purpose
from exchange.domain.conversions import Conversion, ConversionParties, Quote, Reversal
from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin, OriginKind
from exchange.domain.ledger import LedgerTransaction, Posting, money_positions, totals_by_currency
from exchange.domain.limits import LimitFigures, LimitReading, conversions_since, converted_today
from exchange.domain.members import Link
from exchange.domain.membership_agreements import (
    AgreementSignature,
    Grant,
    GrantState,
    MembershipAgreement,
    MembershipAgreementStatus,
)
from exchange.domain.membership_terms import (
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    RefundRule,
    TermLength,
    TermOffer,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
    document_of,
    validate_terms,
)
from exchange.domain.memberships import Membership
from exchange.domain.money import Ratio
from exchange.domain.partners import Partner, PartnerKey, PartnerStatus
from exchange.domain.redemptions import Hold
from exchange.domain.settlement import Movement, Period, PeriodState
from exchange.domain.status_match import Match, MatchAgreement, MatchState
from exchange.domain.status_match_terms import TierLadder
from exchange.domain.vouchers import Voucher
from exchange.store.ids import new_id
from partner_sdk.keys import Ed25519PrivateKey, generate_private_key, public_key_bytes


@dataclass
class FakeBooks:
    """Everything the money path's stores hold, in memory."""

    partners: dict[str, Partner] = field(default_factory=dict)
    agreements: list[Agreement] = field(default_factory=list)
    quotes: dict[str, Quote] = field(default_factory=dict)
    conversions: dict[str, Conversion] = field(default_factory=dict)
    ledger: list[LedgerTransaction] = field(default_factory=list)
    instructions: dict[str, Instruction] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    awards: dict[str, Award] = field(default_factory=dict)
    movements: list[tuple[str, Movement]] = field(default_factory=list)  # (period id, movement)
    audit: list[AuditEvent] = field(default_factory=list)
    membership_agreements: dict[str, MembershipAgreement] = field(default_factory=dict)
    memberships: dict[str, tuple[Membership, str]] = field(default_factory=dict)  # id -> (membership, member id)
    grants: dict[tuple[str, str], tuple[Grant, str]] = field(default_factory=dict)  # (membership, partner) -> ..
    members: dict[str, int] = field(default_factory=dict)  # member id -> created at
    erased: set[str] = field(default_factory=set)  # member ids
    accounts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (partner, ref) -> (member, pw)
    links: list[Link] = field(default_factory=list)
    vouchers: dict[str, tuple[Voucher, str]] = field(default_factory=dict)  # id -> (voucher, member id)
    vouchers_due: dict[str, int | None] = field(default_factory=dict)  # membership id -> next issue
    account_created_at: dict[tuple[str, str], int] = field(default_factory=dict)  # (partner, ref) -> at
    ladders: dict[str, TierLadder] = field(default_factory=dict)  # partner id -> its ladder
    member_tiers: dict[tuple[str, str], tuple[bytes, int]] = field(default_factory=dict)  # (member, partner) -> ..
    match_agreements: dict[str, MatchAgreement] = field(default_factory=dict)
    # match id -> (the match with empty tier codes, its sealed tiers, its attested tier's hold)
    matches: dict[str, tuple[Match, bytes, int]] = field(default_factory=dict)
    member_keys: dict[str, bytes | None] = field(default_factory=dict)  # member id -> data key (None: destroyed)
    declarations: dict[tuple[str, str], Declaration] = field(default_factory=dict)  # (partner, key) -> ..
    consents: dict[str, tuple[Consent, bytes, bytes, str]] = field(default_factory=dict)  # id -> with its receipt
    access_log: list[AccessEntry] = field(default_factory=list)
    period: Period = field(
        default_factory=lambda: Period(
            period_id="per-1",
            number=1,
            state=PeriodState.OPEN,
            opened_at_ms=0,
            cutoff_ms=None,
            closed_at_ms=None,
            closed_by="",
            movement_count=0,
            statement_count=0,
        )
    )

    def instructions_for(self, partner_id: str) -> list[Instruction]:
        """The partner's instructions, oldest first."""
        return [i for i in self.instructions.values() if i.partner_id == partner_id]

    def postings(self) -> list[Posting]:
        """Every posting of the ledger, in order."""
        return [posting for transaction in self.ledger for posting in transaction.postings]

    def membership(self, membership_id: str) -> Membership:
        """The membership as stored."""
        return self.memberships[membership_id][0]

    def grant(self, membership_id: str, partner_id: str) -> Grant:
        """A partner's grant on a membership as stored."""
        return self.grants[(membership_id, partner_id)][0]

    def voucher(self, voucher_id: str) -> Voucher:
        """The voucher as stored."""
        return self.vouchers[voucher_id][0]

    def match(self, match_id: str) -> Match:
        """The match as stored (its tier codes empty: they are sealed)."""
        return self.matches[match_id][0]


@dataclass(frozen=True)
class AccessEntry:
    """One event of a member's access log (exchange.store.tables.access_log)."""

    member_id: str
    at_ms: int
    reader: str
    source: str
    purpose: Purpose | None
    returned: tuple[str, ...]
    withheld: tuple[str, ...]
    event: str
    reason: str
    consent_id: str


def assert_consistent(books: FakeBooks) -> None:
    """The invariants every command keeps, whatever it did.

    The ledger balances in every currency and so do the money positions (what one brand is owed,
    another owes); every instruction's origin names a record in the books, and the instruction
    went to the brand that origin gives that kind of work to. A status match's ending is told
    once: an ENDED match has exactly one TIER_MATCH_ENDED, with its reason, and a live one none.
    """
    postings = books.postings()
    assert all(total == 0 for total in totals_by_currency(postings).values()), totals_by_currency(postings)
    money: dict[str, int] = defaultdict(int)
    for (_, currency), position in money_positions(postings).items():
        money[currency] += position
    assert all(total == 0 for total in money.values()), dict(money)
    for instruction in books.instructions.values():
        assert _addressee_of(books, instruction) == instruction.partner_id, instruction
    for match_id, (match, _, _) in books.matches.items():
        endings = [
            i.reason
            for i in books.instructions.values()
            if i.match_id == match_id and i.kind is InstructionKind.TIER_MATCH_ENDED
        ]
        told = [match.end_reason.value] if match.end_reason is not None else []
        assert endings == told, (match, endings)


def _addressee_of(books: FakeBooks, instruction: Instruction) -> str | None:
    """The brand the instruction's origin gives it to, or None when the origin is not in the books."""
    origin = instruction.origin
    if origin.kind is OriginKind.REVERSAL:
        reversed_ = books.conversions.get(origin.reversed_conversion_id)
        found = reversed_ is not None and any(r.reversal_id == origin.id for r in reversed_.reversals)
        return reversed_.source_partner_id if reversed_ is not None and found else None
    if origin.kind is OriginKind.CONVERSION:
        conversion = books.conversions.get(origin.id)
        if conversion is None:
            return None
        refunds = instruction.kind is InstructionKind.REFUND
        return conversion.source_partner_id if refunds else conversion.target_partner_id
    if origin.kind is OriginKind.HOLD:
        hold = books.holds.get(origin.id)
        return hold.source_partner_id if hold is not None else None
    if origin.kind is OriginKind.AWARD:
        award = books.awards.get(origin.id)
        return award.issuer_partner_id if award is not None else None
    if origin.kind is OriginKind.MEMBERSHIP:  # a grant or revocation goes to a partner with a grant on it
        granted = (origin.id, instruction.partner_id) in books.grants
        return instruction.partner_id if granted else None
    if origin.kind is OriginKind.MATCH:  # TIER_MATCHED and TIER_MATCH_ENDED go to the recogniser
        found = books.matches.get(origin.id)
        return found[0].recogniser_partner_id if found is not None else None
    return None  # an origin FakeBooks does not hold


class FakeConversionStore:
    """Quotes, conversions and reversals in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add_quote(self, quote: Quote) -> None:
        assert quote.quote_id not in self.books.quotes
        self.books.quotes[quote.quote_id] = quote

    def get_quote(self, quote_id: str) -> Quote | None:
        return self.books.quotes.get(quote_id)

    def lock_for_conversion(self, source: str, quote_id: str) -> ConversionParties:
        quote = self.books.quotes.get(quote_id)
        agreement = None
        target = None
        if quote is not None:
            agreement = next((a for a in self.books.agreements if a.agreement_id == quote.agreement_id), None)
            target = self.books.partners.get(quote.target_partner_id)
        return ConversionParties(self.books.partners[source], quote, agreement, target)

    def limit_reading(
        self, source: str, target: str, member_ref: str, *, day: int, since_ms: int, currency: str, quote_id: str
    ) -> LimitReading:
        records = list(self.books.conversions.values())
        postings = [posting for transaction in self.books.ledger for posting in transaction.postings]
        figures = LimitFigures(
            converted_today=converted_today(records, source=source, target=target, member_ref=member_ref, day=day),
            conversions_since=conversions_since(records, source=source, member_ref=member_ref, since_ms=since_ms),
            money_position=money_positions(postings).get((source, currency), 0),
        )
        quote = self.books.quotes.get(quote_id)
        return LimitReading(figures, quote.used_by if quote else None)

    def mark_quote_used(self, quote_id: str, conversion_id: str) -> None:
        self.books.quotes[quote_id] = replace(self.books.quotes[quote_id], used_by=conversion_id)

    def add(self, conversion: Conversion) -> None:
        assert conversion.conversion_id not in self.books.conversions
        self.books.conversions[conversion.conversion_id] = conversion

    def get(self, conversion_id: str) -> Conversion | None:
        return self.books.conversions.get(conversion_id)

    def save_state(self, before: Conversion, after: Conversion) -> None:
        assert self.books.conversions[after.conversion_id].state is before.state, "the conversion changed state"
        self.books.conversions[after.conversion_id] = after

    def add_reversal(self, conversion_id: str, reversal: Reversal) -> None:
        conversion = self.books.conversions[conversion_id]
        self.books.conversions[conversion_id] = replace(conversion, reversals=(*conversion.reversals, reversal))


class FakeAgreementReader:
    """Agreements in FakeBooks: the newest ACTIVE one of a pair is the one in force."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def active_for(self, source: str, target: str) -> Agreement | None:
        pair = [
            a
            for a in self.books.agreements
            if (a.terms.source_partner_id, a.terms.target_partner_id) == (source, target) and a.status.value == "ACTIVE"
        ]
        return max(pair, key=lambda a: a.terms.version, default=None)


class FakePartners:
    """The registry in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def get(self, partner_id: str) -> Partner | None:
        return self.books.partners.get(partner_id)

    def get_pair(self, first: str, second: str) -> tuple[Partner | None, Partner | None]:
        return self.books.partners.get(first), self.books.partners.get(second)


class FakeLedger:
    """The ledger in FakeBooks (every transaction balanced, as the domain builds them)."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def post(self, transaction: LedgerTransaction, at_ms: int) -> str:
        self.books.ledger.append(transaction)
        return f"txn-{len(self.books.ledger)}"


class FakeInstructions:
    """Instructions in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add(self, instruction: Instruction) -> None:
        assert instruction.instruction_id not in self.books.instructions
        self.books.instructions[instruction.instruction_id] = instruction

    def get(self, instruction_id: str) -> Instruction | None:
        return self.books.instructions.get(instruction_id)

    def save(self, instruction: Instruction) -> None:
        assert instruction.instruction_id in self.books.instructions
        self.books.instructions[instruction.instruction_id] = instruction

    def pending_credit_of(self, origin: Origin) -> Instruction | None:
        return next(
            (
                i
                for i in self.books.instructions.values()
                if i.origin == origin and i.kind is InstructionKind.CREDIT and i.state is InstructionState.PENDING
            ),
            None,
        )


class FakeHolds:
    """Holds in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add(self, hold: Hold) -> None:
        assert hold.hold_id not in self.books.holds
        self.books.holds[hold.hold_id] = hold

    def get(self, hold_id: str) -> Hold | None:
        return self.books.holds.get(hold_id)

    def save(self, before: Hold, after: Hold) -> None:
        stored = self.books.holds[after.hold_id]
        assert (stored.state, stored.captured_points) == (before.state, before.captured_points), "the hold changed"
        self.books.holds[after.hold_id] = after


class FakeAwards:
    """Awards in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def get_award(self, award_id: str) -> Award | None:
        return self.books.awards.get(award_id)

    def save_award(self, before: Award, after: Award) -> None:
        assert self.books.awards[before.award_id].state is before.state, "the award changed"
        self.books.awards[after.award_id] = after


class FakeMovementBook:
    """The open settlement period and its movements in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def open_period(self) -> Period:
        return self.books.period

    def add_movement(self, movement: Movement, period_id: str) -> None:
        assert all(m.movement_id != movement.movement_id for _, m in self.books.movements)
        self.books.movements.append((period_id, movement))


class FakeAuditLog:
    """The audit log in FakeBooks."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

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
        seq = len(self.books.audit) + 1
        self.books.audit.append(AuditEvent(seq, at_ms, actor, action, subject, request_sha256, response_sha256))


class FakeMemberships:
    """Membership agreements, memberships and grants in FakeBooks (exchange.store.memberships_repo)."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def latest_version(self, programme_id: str) -> int | None:
        agreements = self.books.membership_agreements.values()
        return max((a.terms.version for a in agreements if a.terms.programme_id == programme_id), default=None)

    def add_agreement(self, agreement: MembershipAgreement) -> None:
        assert agreement.agreement_id not in self.books.membership_agreements
        key = (agreement.terms.programme_id, agreement.terms.version)
        assert self.agreement_version(*key) is None, "one agreement per programme and version"
        self.books.membership_agreements[agreement.agreement_id] = agreement

    def get_agreement(self, agreement_id: str) -> MembershipAgreement | None:
        return self.books.membership_agreements.get(agreement_id)

    def agreement_version(self, programme_id: str, version: int) -> MembershipAgreement | None:
        return next(
            (
                a
                for a in self.books.membership_agreements.values()
                if (a.terms.programme_id, a.terms.version) == (programme_id, version)
            ),
            None,
        )

    def active_agreement(self, programme_id: str) -> MembershipAgreement | None:
        return next(
            (
                a
                for a in self.books.membership_agreements.values()
                if a.terms.programme_id == programme_id and a.status is MembershipAgreementStatus.ACTIVE
            ),
            None,
        )

    def save_agreement(self, before: MembershipAgreement, after: MembershipAgreement, now_ms: int) -> None:
        stored = self.books.membership_agreements[after.agreement_id]
        assert stored.status is before.status, "the membership agreement changed under this transaction"
        # the store writes the status and appends the signatures after the ones read
        added = after.signatures[len(before.signatures) :]
        signed = {s.partner_id for s in stored.signatures}
        assert all(s.partner_id not in signed for s in added), "one signature per partner"
        self.books.membership_agreements[after.agreement_id] = replace(
            stored, status=after.status, signatures=(*stored.signatures, *added)
        )

    def supersede_active(self, programme_id: str, *, except_id: str, now_ms: int) -> None:
        for agreement_id, a in list(self.books.membership_agreements.items()):
            active = a.status is MembershipAgreementStatus.ACTIVE
            if a.terms.programme_id == programme_id and active and agreement_id != except_id:
                self.books.membership_agreements[agreement_id] = replace(a, status=MembershipAgreementStatus.SUPERSEDED)

    def lock_seller(self, seller_partner_id: str) -> None:
        pass  # one unit of work at a time: nothing to queue behind

    def add(self, membership: Membership, member_id: str) -> None:
        assert membership.membership_id not in self.books.memberships
        self.books.memberships[membership.membership_id] = (membership, member_id)

    def get(self, membership_id: str) -> tuple[Membership, str] | None:
        return self.books.memberships.get(membership_id)

    def of_member(self, seller_partner_id: str, programme_id: str, member_ref: str) -> list[Membership]:
        return [
            m
            for m, _ in self.books.memberships.values()
            if (m.seller_partner_id, m.programme_id, m.member_ref) == (seller_partner_id, programme_id, member_ref)
        ]

    def of_member_id(self, member_id: str, limit: int) -> list[Membership]:
        mine = [m for m, owner in self.books.memberships.values() if owner == member_id]
        mine.sort(key=lambda m: m.membership_id)
        mine.sort(key=lambda m: m.state_changed_at_ms, reverse=True)  # newest first, then by id
        return mine[:limit]

    def save(self, before: Membership, after: Membership) -> None:
        stored, member_id = self.books.memberships[after.membership_id]
        moved = (stored.state, stored.state_changed_at_ms) != (before.state, before.state_changed_at_ms)
        assert not moved, "the membership changed under this transaction"
        self.books.memberships[after.membership_id] = (after, member_id)

    def add_grant(self, grant: Grant, member_id: str) -> None:
        key = (grant.membership_id, grant.partner_id)
        assert grant.membership_id in self.books.memberships and key not in self.books.grants
        self.books.grants[key] = (grant, member_id)

    def grants_of(self, membership_id: str) -> list[Grant]:
        return [g for (m, _), (g, _) in sorted(self.books.grants.items()) if m == membership_id]

    def awaiting_link(self, member_id: str) -> list[Grant]:
        return [
            g for g, owner in self.books.grants.values() if owner == member_id and g.state is GrantState.AWAITING_LINK
        ]

    def save_grant(self, grant: Grant) -> None:
        key = (grant.membership_id, grant.partner_id)
        assert key in self.books.grants, "the grant exists"
        self.books.grants[key] = (grant, self.books.grants[key][1])


class FakeMembers:
    """Members, their accounts at brands and their links in FakeBooks (exchange.store.members_repo)."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def member_of(self, partner_id: str, member_ref: str) -> str | None:
        found = self.books.accounts.get((partner_id, member_ref))
        return found[0] if found else None

    def add_member(self, member_id: str, now_ms: int) -> None:
        assert member_id not in self.books.members
        self.books.members[member_id] = now_ms

    def add_account(self, partner_id: str, member_ref: str, member_id: str, pairwise_id: str, now_ms: int) -> None:
        assert (partner_id, member_ref) not in self.books.accounts
        self.books.accounts[(partner_id, member_ref)] = (member_id, pairwise_id)
        self.books.account_created_at[(partner_id, member_ref)] = now_ms

    def account_ref(self, partner_id: str, member_id: str) -> str | None:
        return next(
            (
                ref
                for (partner, ref), (member, _) in self.books.accounts.items()
                if (partner, member) == (partner_id, member_id)
            ),
            None,
        )

    def is_erased(self, member_id: str) -> bool:
        return member_id in self.books.erased

    def links_of(self, member_id: str) -> list[Link]:
        return sorted((link for link in self.books.links if link.member_id == member_id), key=lambda k: k.linked_at_ms)

    def first_partner(self, member_id: str) -> str | None:
        # the oldest account, then the lowest partner id (ORDER BY created_at_ms, partner_id); an account
        # put in the books without a time counts as the newest
        mine = [
            (self.books.account_created_at.get((partner, ref), sys.maxsize), partner)
            for (partner, ref), (member, _) in self.books.accounts.items()
            if member == member_id
        ]
        return min(mine)[1] if mine else None


class FakeVouchers:
    """Membership vouchers in FakeBooks (exchange.store.vouchers_repo)."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def add_if_absent(self, voucher: Voucher, member_id: str) -> bool:
        if voucher.voucher_id in self.books.vouchers:
            return False
        assert voucher.membership_id in self.books.memberships or voucher.agreement_id
        self.books.vouchers[voucher.voucher_id] = (voucher, member_id)
        return True

    def get(self, voucher_id: str) -> Voucher | None:
        found = self.books.vouchers.get(voucher_id)
        return found[0] if found else None

    def page(
        self, membership_id: str, *, honouring_partner_id: str | None, after: tuple[int, str] | None, limit: int
    ) -> list[Voucher]:
        mine = [
            v
            for v, _ in self.books.vouchers.values()
            if v.membership_id == membership_id
            and honouring_partner_id in (None, v.honouring_partner_id)
            and (after is None or (v.issued_at_ms, v.voucher_id) > after)
        ]
        return sorted(mine, key=lambda v: (v.issued_at_ms, v.voucher_id))[:limit]

    def save(self, before: Voucher, after: Voucher) -> bool:
        stored, member_id = self.books.vouchers[after.voucher_id]
        if stored.state is not before.state:
            return False
        moved = replace(stored, state=after.state, redeemed_at_ms=after.redeemed_at_ms, reference=after.reference)
        self.books.vouchers[after.voucher_id] = (moved, member_id)
        return True

    def set_due(self, membership_id: str, due_at_ms: int | None) -> None:
        if membership_id in self.books.memberships:  # the store's UPDATE of no row changes nothing
            self.books.vouchers_due[membership_id] = due_at_ms

    def member_id_of(self, voucher_id: str) -> str | None:
        found = self.books.vouchers.get(voucher_id)
        return found[1] if found else None

    def issued_under(self, agreement_ids: list[str], since_ms: int) -> int:
        return sum(
            1 for v, _ in self.books.vouchers.values() if v.agreement_id in agreement_ids and v.issued_at_ms >= since_ms
        )


class FakeStatusMatch:
    """Ladders, members' sealed tiers, match agreements and matches in FakeBooks (exchange.store.status_match_repo).

    As the store does, it keeps the sealed bytes it is given, and a match without its tier codes
    (get_match returns them empty: the service opens the sealed bytes through the vault).
    """

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def ladder(self, partner_id: str) -> TierLadder | None:
        return self.books.ladders.get(partner_id)

    def put_ladder(self, ladder: TierLadder, now_ms: int) -> None:
        self.books.ladders[ladder.partner_id] = ladder

    def sealed_tier(self, member_id: str, partner_id: str) -> tuple[bytes, int] | None:
        return self.books.member_tiers.get((member_id, partner_id))

    def put_sealed_tier(self, member_id: str, partner_id: str, sealed: bytes, published_at_ms: int) -> None:
        self.books.member_tiers[(member_id, partner_id)] = (sealed, published_at_ms)

    def latest_version(self, recogniser: str, attester: str) -> int | None:
        return max((a.terms.version for a in self._of_pair(recogniser, attester)), default=None)

    def get_agreement(self, agreement_id: str) -> MatchAgreement | None:
        return self.books.match_agreements.get(agreement_id)

    def active_agreement(self, recogniser: str, attester: str) -> MatchAgreement | None:
        return next((a for a in self._of_pair(recogniser, attester) if a.status.value == "ACTIVE"), None)

    def add_agreement(self, agreement: MatchAgreement) -> None:
        assert agreement.agreement_id not in self.books.match_agreements
        terms = agreement.terms
        pair = self._of_pair(terms.recogniser_partner_id, terms.attester_partner_id)
        assert all(a.terms.version != terms.version for a in pair), "one agreement per pair and version"
        self.books.match_agreements[agreement.agreement_id] = agreement

    def save_agreement(self, before: MatchAgreement, after: MatchAgreement) -> None:
        stored = self.books.match_agreements[after.agreement_id]
        assert stored.status is before.status, "the match agreement changed under this transaction"
        self.books.match_agreements[after.agreement_id] = after

    def lock_recogniser(self, recogniser: str) -> None:
        """One transaction at a time here: nothing to queue behind."""

    def add_match(self, match: Match, sealed: bytes, tier_holds_until_ms: int) -> None:
        assert match.match_id not in self.books.matches
        self.books.matches[match.match_id] = (_unsealed_columns(match), sealed, tier_holds_until_ms)

    def get_match(self, match_id: str) -> tuple[Match, bytes] | None:
        found = self.books.matches.get(match_id)
        return (found[0], found[1]) if found is not None else None

    def matches_of_pair(self, recogniser: str, attester: str, member_id: str) -> list[tuple[Match, bytes]]:
        mine = [
            (m, sealed)
            for m, sealed, _ in self.books.matches.values()
            if (m.recogniser_partner_id, m.attester_partner_id, m.member_id) == (recogniser, attester, member_id)
        ]
        return sorted(mine, key=lambda found: found[0].started_at_ms)

    def live_matches_of(self, member_id: str) -> list[tuple[Match, bytes]]:
        return [
            (m, sealed)
            for m, sealed, _ in self.books.matches.values()
            if m.member_id == member_id and m.state is not MatchState.ENDED
        ]

    def save_match(self, before: Match, after: Match, *, tier_holds_until_ms: int | None = None) -> None:
        stored, sealed, holds_until = self.books.matches[after.match_id]
        assert stored.state is before.state, "the match changed under this transaction"
        # the store writes neither the match's identity nor its tiers (they stay sealed as they were)
        moved = replace(
            _unsealed_columns(after),
            member_id=stored.member_id,
            recogniser_partner_id=stored.recogniser_partner_id,
            attester_partner_id=stored.attester_partner_id,
            agreement_version=stored.agreement_version,
        )
        holds = holds_until if tier_holds_until_ms is None else tier_holds_until_ms
        self.books.matches[after.match_id] = (moved, sealed, holds)

    def due(self, now_ms: int, limit: int) -> list[str]:
        """Live matches whose time, or whose attested tier's hold, is over."""
        return [
            match_id
            for match_id, (m, _, holds_until) in self.books.matches.items()
            if m.state is not MatchState.ENDED and (m.ends_at_ms <= now_ms or holds_until <= now_ms)
        ][:limit]

    def _of_pair(self, recogniser: str, attester: str) -> list[MatchAgreement]:
        return [
            a
            for a in self.books.match_agreements.values()
            if (a.terms.recogniser_partner_id, a.terms.attester_partner_id) == (recogniser, attester)
        ]


def _unsealed_columns(match: Match) -> Match:
    return replace(match, attester_tier="", matched_tier="")


_SEALED_MARK = b"fake-sealed-v1|"
_TAG_BYTES = 16


class FakeVault:
    """Member data sealed with the member's own key in FakeBooks (exchange.store.member_vault).

    Sealing XORs the plaintext with a stream keyed by the member's random key and the context,
    and appends a tag: the sealed bytes never hold the plaintext, opening them under another
    member or context fails (as the AEAD's associated data makes it), and once destroy_key
    forgot the member's key (an erasure) they open to None.
    """

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def seal(self, member_id: str, context: str, plaintext: bytes) -> bytes:
        key = self.books.member_keys.get(member_id)
        if member_id not in self.books.member_keys:
            key = self.books.member_keys[member_id] = secrets.token_bytes(32)
        assert key is not None, "a member that is not erased has a data key"
        body = _xor(plaintext, _stream(key, member_id, context, len(plaintext)))
        return _SEALED_MARK + body + _tag(key, member_id, context, body)

    def open(self, member_id: str, context: str, sealed: bytes) -> bytes | None:
        key = self.books.member_keys.get(member_id)
        if key is None:  # destroyed, or the member never had one
            return None
        assert sealed.startswith(_SEALED_MARK), "sealed by the vault"
        body, tag = sealed[len(_SEALED_MARK) : -_TAG_BYTES], sealed[-_TAG_BYTES:]
        assert hmac.compare_digest(tag, _tag(key, member_id, context, body)), "sealed for this member and context"
        return _xor(body, _stream(key, member_id, context, len(body)))

    def destroy_key(self, member_id: str) -> None:
        """Forget the member's key for good (crypto-shredding, as an erasure does)."""
        self.books.member_keys[member_id] = None


def _stream(key: bytes, member_id: str, context: str, length: int) -> bytes:
    blocks = (hashlib.sha256(key + f"|{member_id}|{context}|{i}".encode()).digest() for i in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _tag(key: bytes, member_id: str, context: str, body: bytes) -> bytes:
    return hmac.new(key, f"{member_id}|{context}|".encode() + body, hashlib.sha256).digest()[:_TAG_BYTES]


class FakeConsents:
    """Attribute declarations, consents and the access log in FakeBooks (exchange.store.consent_repo)."""

    def __init__(self, books: FakeBooks) -> None:
        self.books = books

    def declaration(self, partner_id: str, key: str) -> Declaration | None:
        return self.books.declarations.get((partner_id, key))

    def declare(self, declaration: Declaration) -> None:
        found = self.books.declarations.get((declaration.partner_id, declaration.key))
        if found is not None:  # the store updates the description only: a type never changes
            declaration = replace(found, description=declaration.description)
        self.books.declarations[(declaration.partner_id, declaration.key)] = declaration

    def add_consent(self, consent: Consent, receipt: bytes, signature: bytes, key_id: str) -> None:
        assert consent.consent_id not in self.books.consents
        self.books.consents[consent.consent_id] = (consent, receipt, signature, key_id)

    def consents_of(self, member_id: str) -> list[tuple[Consent, bytes, bytes, str]]:
        mine = [found for found in self.books.consents.values() if found[0].member_id == member_id]
        return sorted(mine, key=lambda found: found[0].granted_at_ms)

    def revoke(self, consent: Consent) -> None:
        stored, receipt, signature, key_id = self.books.consents[consent.consent_id]
        if stored.revoked_at_ms is None:  # the store's UPDATE ... WHERE revoked_at_ms IS NULL
            revoked = replace(stored, revoked_at_ms=consent.revoked_at_ms, end_reason=consent.end_reason)
            self.books.consents[consent.consent_id] = (revoked, receipt, signature, key_id)

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
        event: str = EVENT_READ,
        reason: str = "",
        consent_id: str = "",
    ) -> None:
        self.books.access_log.append(
            AccessEntry(
                member_id, at_ms, reader, source, purpose, tuple(returned), tuple(withheld), event, reason, consent_id
            )
        )


class FakeUnitOfWork:
    """One unit of work on FakeBooks (exchange.service.ports.UnitOfWork)."""

    def __init__(self, books: FakeBooks) -> None:
        self.conversions = FakeConversionStore(books)
        self.agreements = FakeAgreementReader(books)
        self.partners = FakePartners(books)
        self.ledger = FakeLedger(books)
        self.instructions = FakeInstructions(books)
        self.holds = FakeHolds(books)
        self.awards = FakeAwards(books)
        self.movements = FakeMovementBook(books)
        self.audit = FakeAuditLog(books)
        self.memberships = FakeMemberships(books)
        self.members = FakeMembers(books)
        self.vouchers = FakeVouchers(books)
        self.status_match = FakeStatusMatch(books)
        self.vault = FakeVault(books)
        self.consents = FakeConsents(books)


# --- records to fill FakeBooks with ------------------------------------------------------------------------

BOOKS_NOW = 1_800_000_000_000
BOOKS_DAY_MS = 86_400_000


def brand(partner_id: str, currency: str, status: PartnerStatus = PartnerStatus.ACTIVE) -> Partner:
    """An active brand whose points are worth half a minor unit; its point currency is its id's first 4 letters."""
    return Partner(
        partner_id=partner_id,
        display_name=partner_id.title(),
        point_currency=partner_id[:4].upper(),
        settlement_currency=currency,
        point_value_minor=Ratio(1, 2),
        status=status,
        keys=(),
        created_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
        status_changed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
    )


def stride_to_volt_agreement(**changes: object) -> Agreement:
    """stride -> volt at 3/2, 100 to 10,000 points by 10, 1% fee, half a penny per volt point, in force 30 days."""
    terms = agreement_rules.validate_terms(
        source_partner_id="stride",
        target_partner_id="volt",
        version=1,
        rate=(3, 2),
        min_source_points=100,
        max_source_points=10_000,
        source_increment=10,
        member_daily_cap_source_points=5_000,
        fee_basis_points=100,
        fee_fixed_points=None,
        valid_from_ms=BOOKS_NOW - BOOKS_DAY_MS,
        valid_until_ms=BOOKS_NOW + 30 * BOOKS_DAY_MS,
        settlement_price_minor=(1, 2),
        settlement_currency="GBP",
    )
    agreement = Agreement(
        agreement_id="agr-1",
        terms=terms,
        status=AgreementStatus.ACTIVE,
        document=b"",
        proposer_key_id="k1",
        proposer_signature=b"",
        proposed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
        status_changed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
    )
    return replace(agreement, **changes)  # type: ignore[arg-type]


def pending_award(books: FakeBooks, award_id: str = "awd-1", *, deadline_ms: int, delivered: int = 0) -> Award:
    """Put a PENDING_CREDIT award of volt (awarder) for 300 stride points (150 minor GBP) and its credit in the books.

    Awards are made on a connection (exchange.service.accruals.award), not a unit of work: a unit
    test builds the records that command would have written.
    """
    award = Award(
        award_id=award_id,
        agreement_id="acc-1",
        awarder_partner_id="volt",
        issuer_partner_id="stride",
        awarder_pairwise_id="pw-1",
        issuer_member_ref="s-1",
        activity_type="ride",
        activity_reference=f"ride-{award_id}",
        points=300,
        settlement_amount_minor=150,
        settlement_currency="GBP",
        state=AwardState.PENDING_CREDIT,
        created_at_ms=deadline_ms - 900_000,
        credit_deadline_ms=deadline_ms,
    )
    books.awards[award_id] = award
    credit = Instruction(
        instruction_id=f"ins-{award_id}",
        partner_id="stride",
        kind=InstructionKind.CREDIT,
        state=InstructionState.PENDING,
        member_ref="s-1",
        points=300,
        point_currency="STRI",
        origin=Origin.award(award_id),
        created_at_ms=award.created_at_ms,
        deadline_ms=deadline_ms,
        delivery_count=delivered,
    )
    books.instructions[credit.instruction_id] = credit
    return award


# --- joint memberships -------------------------------------------------------------------------------------

_BRAND_KEYS: dict[str, Ed25519PrivateKey] = {}


def brand_key(partner_id: str) -> Ed25519PrivateKey:
    """The brand's private Ed25519 key (key id "k1"), the same for the whole test run."""
    if partner_id not in _BRAND_KEYS:
        _BRAND_KEYS[partner_id] = generate_private_key()
    return _BRAND_KEYS[partner_id]


def keyed_brand(partner_id: str, currency: str, status: PartnerStatus = PartnerStatus.ACTIVE) -> Partner:
    """brand(), with its key "k1" registered (brand_key signs for it)."""
    key = PartnerKey("k1", public_key_bytes(brand_key(partner_id)), created_at_ms=BOOKS_NOW - BOOKS_DAY_MS)
    return replace(brand(partner_id, currency, status), keys=(key,))


def club_terms(**changes: object) -> MembershipTerms:
    """stride sells "club" in GBP, volt and acme its partners, from a day ago for three years.

    MONTHLY 1,000 (800 at a score of 500 or more): volt is paid 200 of it, acme 100. YEARLY
    10,000: volt a quarter, acme a tenth. volt gives 2 seller-funded vouchers of 500 a month,
    valid 30 days, and free delivery; acme 1 voucher of 300 a week it funds itself, valid 7
    days, and 5% off. PRO_RATA refunds, 7 days of grace.
    """
    volt = PartnerTerms(
        "volt",
        (Vouchers(2, VoucherPeriod.MONTHLY, 500, 30, VoucherFunding.SELLER), FreeDelivery()),
        ((TermLength.MONTHLY, FixedShare(200)), (TermLength.YEARLY, RatioShare(Ratio(1, 4)))),
    )
    acme = PartnerTerms(
        "acme",
        (Vouchers(1, VoucherPeriod.WEEKLY, 300, 7, VoucherFunding.PARTNER), PercentageDiscount(500, None)),
        ((TermLength.MONTHLY, FixedShare(100)), (TermLength.YEARLY, RatioShare(Ratio(1, 10)))),
    )
    values: dict[str, object] = {
        "programme_id": "club",
        "version": 1,
        "name": "Stride Club",
        "seller_partner_id": "stride",
        "currency": "GBP",
        "offers": [
            TermOffer(TermLength.MONTHLY, 1_000, (PriceTier(500, 800),)),
            TermOffer(TermLength.YEARLY, 10_000),
        ],
        "partners": [volt, acme],
        "refund_rule": RefundRule.PRO_RATA,
        "grace_days": 7,
        "valid_from_ms": BOOKS_NOW - BOOKS_DAY_MS,
        "valid_until_ms": BOOKS_NOW + 3 * 365 * BOOKS_DAY_MS,
    }
    return validate_terms(**{**values, **changes})  # type: ignore[arg-type]


def active_membership_agreement(books: FakeBooks, terms: MembershipTerms) -> MembershipAgreement:
    """Put an ACTIVE version of the terms, signed by the seller and every partner, in the books."""
    document = document_of(terms)
    signers = (terms.seller_partner_id, *terms.partner_ids)
    agreement = MembershipAgreement(
        agreement_id=new_id("mag"),
        terms=terms,
        status=MembershipAgreementStatus.ACTIVE,
        document=document,
        signatures=tuple(
            AgreementSignature(p, "k1", brand_key(p).sign(document), BOOKS_NOW - BOOKS_DAY_MS) for p in signers
        ),
        proposed_at_ms=BOOKS_NOW - BOOKS_DAY_MS,
    )
    books.membership_agreements[agreement.agreement_id] = agreement
    return agreement


def member_with_accounts(books: FakeBooks, refs: dict[str, str], *, linked: tuple[str, ...] = ()) -> str:
    """Put a member with an account at each brand of refs in the books; link the first brand to each of linked."""
    member_id = new_id("mbr")
    books.members[member_id] = BOOKS_NOW - BOOKS_DAY_MS
    for i, (partner_id, ref) in enumerate(refs.items()):  # the first brand of refs knew the member first
        books.accounts[(partner_id, ref)] = (member_id, f"pw-{partner_id}-{ref}")
        books.account_created_at[(partner_id, ref)] = BOOKS_NOW - BOOKS_DAY_MS + i
    first = next(iter(refs))
    for partner_id in linked:
        link_member(books, member_id, first, partner_id)
    return member_id


def link_member(books: FakeBooks, member_id: str, first: str, second: str, at_ms: int = BOOKS_NOW - 1) -> Link:
    """Put a live link of the member's accounts at two brands in the books."""
    link = Link(new_id("lnk"), member_id, first, second, at_ms)
    books.links.append(link)
    return link
