"""What the SDK returns: small frozen dataclasses, never protobuf messages, and the names of their states.

Every state, status and kind is a Literal of plain names (the protobuf enum's name without its
prefix), checked when an answer is converted. UNKNOWN is what a value reads as when this SDK
does not know it (a hub newer than the SDK): handle it as "not for this version".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Generic, Literal, TypeAlias, TypeVar

from partner_sdk._receipts import check_receipt

if TYPE_CHECKING:  # partner_sdk.memberships imports partner_sdk.documents, which imports this module
    from partner_sdk.memberships import Benefit

T = TypeVar("T")

__all__ = [
    "AccessEvent",
    "AccessLogEntry",
    "Agreement",
    "AgreementStatus",
    "AgreementTerms",
    "AttributeDeclaration",
    "AttributeRead",
    "AttributeType",
    "Capture",
    "Consent",
    "ConsentEndReason",
    "Conversion",
    "ConversionAmounts",
    "ConversionEvent",
    "ConversionReversal",
    "ConversionState",
    "Erasure",
    "Hold",
    "HoldState",
    "HubInfo",
    "Instruction",
    "InstructionKind",
    "InstructionState",
    "KeyState",
    "LinkCode",
    "MemberLink",
    "Page",
    "Partner",
    "PartnerKey",
    "PartnerKind",
    "PartnerStatus",
    "Purpose",
    "Quote",
    "WithheldReason",
]

PartnerStatus: TypeAlias = Literal["PENDING", "ACTIVE", "SUSPENDED", "UNKNOWN"]
PartnerKind: TypeAlias = Literal["BRAND", "CHARITY"]
KeyState: TypeAlias = Literal["ACTIVE", "EXPIRING", "EXPIRED", "REVOKED", "UNKNOWN"]
AgreementStatus: TypeAlias = Literal["PROPOSED", "ACTIVE", "SUSPENDED", "TERMINATED", "SUPERSEDED", "UNKNOWN"]
ConversionState: TypeAlias = Literal["PENDING_CREDIT", "COMPLETED", "REJECTED", "EXPIRED", "REFUNDED", "UNKNOWN"]
InstructionKind: TypeAlias = Literal[
    "CREDIT",
    "REFUND",
    "RELEASE",
    "CREDIT_CANCELLED",
    "BENEFIT_GRANT",
    "BENEFIT_REVOKE",
    "TIER_MATCHED",
    "TIER_MATCH_ENDED",
    "UNKNOWN",
]
InstructionState: TypeAlias = Literal["PENDING", "ACKNOWLEDGED", "REJECTED", "CANCELLED", "UNKNOWN"]
HoldState: TypeAlias = Literal["OPEN", "CAPTURED", "VOIDED", "EXPIRED", "UNKNOWN"]
AttributeType: TypeAlias = Literal["TEXT", "INTEGER", "BOOLEAN", "DATE", "UNKNOWN"]
Purpose: TypeAlias = Literal["PERSONALISED_OFFERS", "FRAUD_PREVENTION", "SERVICE", "STATUS_MATCH", "UNKNOWN"]
"""Why a consent lets a brand read attributes; STATUS_MATCH: the attribute "status_tier", for a status match."""
ConsentEndReason: TypeAlias = Literal["", "REVOKED", "UNLINKED", "ERASED", "UNKNOWN"]
"""Why a consent ended before it lapsed; empty while it stands or once it lapsed."""
WithheldReason: TypeAlias = Literal["NO_CONSENT", "NOT_DECLARED", "NO_VALUE", "UNKNOWN"]
AccessEvent: TypeAlias = Literal["READ", "READ_REFUSED", "CONSENT_ENDED", "UNKNOWN"]


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """One of a partner's Ed25519 keys. state is ACTIVE, EXPIRING, EXPIRED or REVOKED."""

    key_id: str
    public_key: bytes
    fingerprint: str
    state: KeyState
    created_at: datetime
    not_after: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner's public record. status is PENDING, ACTIVE or SUSPENDED.

    point_value_minor is the money value of one point in minor units of
    settlement_currency, exact (a Fraction, never a float).
    """

    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: Fraction
    status: PartnerStatus
    keys: tuple[PartnerKey, ...]
    created_at: datetime
    status_changed_at: datetime
    status_reason: str
    kind: PartnerKind = "BRAND"  # or CHARITY (no points of its own; point_currency is empty)


@dataclass(frozen=True, slots=True)
class HubInfo:
    """The hub's response-signing key and request rules."""

    hub_key_id: str
    hub_public_key: bytes
    hub_key_fingerprint: str
    timestamp_window_s: int
    max_request_bytes: int
    server_time: datetime
    version: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; pass next_page_token to get the next (empty on the last page)."""

    items: tuple[T, ...]
    next_page_token: str


def every_page(fetch: Callable[[str], Page[T]]) -> Iterator[T]:
    """Yield every item of a paginated list, fetching the next page as the caller reaches it."""
    token = ""
    while True:
        page = fetch(token)
        yield from page.items
        if not page.next_page_token:
            return
        token = page.next_page_token


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """The terms of one agreement version: what both partners sign.

    The source partner's members convert source points into target points at ``rate``
    (target points per source point); the source partner pays the target partner
    ``settlement_price_minor`` minor units of ``settlement_currency`` per target point issued.
    Rates and prices are exact Fractions, never floats. At most one of fee_basis_points
    (100 = 1% of the amount, rounded down) and fee_fixed_points is set; neither means no fee.
    valid_from and valid_until must be timezone-aware; the signed document carries them in
    whole milliseconds, so keep them to whole milliseconds.

    Example:
        >>> AgreementTerms(
        ...     source_partner_id="sprk", target_partner_id="aero", version=1,
        ...     rate=Fraction(1, 2), min_source_points=100, max_source_points=100_000,
        ...     source_increment=100, member_daily_cap_source_points=500_000,
        ...     fee_basis_points=150, fee_fixed_points=None,
        ...     valid_from=datetime(2026, 1, 1, tzinfo=UTC), valid_until=datetime(2027, 1, 1, tzinfo=UTC),
        ...     settlement_price_minor=Fraction(3, 4), settlement_currency="EUR")
    """

    source_partner_id: str
    target_partner_id: str
    version: int
    rate: Fraction
    min_source_points: int
    max_source_points: int
    source_increment: int
    member_daily_cap_source_points: int
    fee_basis_points: int | None
    fee_fixed_points: int | None
    valid_from: datetime
    valid_until: datetime
    settlement_price_minor: Fraction
    settlement_currency: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """One agreement version with its signatures.

    status is PROPOSED, ACTIVE, SUSPENDED, TERMINATED or SUPERSEDED. document is the exact
    UTF-8 agreement document both partners sign (see partner_sdk.documents); the acceptor's
    key id and signature are empty and accepted_at is None until the target partner accepts.
    """

    agreement_id: str
    terms: AgreementTerms
    status: AgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: datetime
    accepted_at: datetime | None
    status_changed_at: datetime
    status_reason: str
    suspended_by: str


@dataclass(frozen=True, slots=True)
class ConversionAmounts:
    """The amounts of a quote or conversion, every rounding down and in the member's favour.

    source_points_debited (fee_points + source_points_converted) is what the source partner
    takes from its member; source_points_not_taken is left with the member. The source
    partner owes the target partner settlement_amount_minor minor units of settlement_currency.
    """

    source_points_requested: int
    fee_points: int
    source_points_converted: int
    source_points_debited: int
    source_points_not_taken: int
    target_points: int
    settlement_amount_minor: int
    settlement_currency: str
    rate: Fraction


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced, single-use offer to convert; pass quote_id to convert() before expires_at."""

    quote_id: str
    agreement_id: str
    agreement_version: int
    source_partner_id: str
    target_partner_id: str
    amounts: ConversionAmounts
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConversionEvent:
    """One state change of a conversion.

    actor is a partner id, or "hub" for the credit deadline; from_state is None for the first
    event; note is the partner's reference or a rejection or reversal reason.
    """

    at: datetime
    actor: str
    from_state: ConversionState | None
    to_state: ConversionState
    note: str


@dataclass(frozen=True, slots=True)
class ConversionReversal:
    """A reversal of part of a completed conversion."""

    reversal_id: str
    target_points: int
    source_points: int
    settlement_amount_minor: int
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Conversion:
    """A conversion and its history.

    state is PENDING_CREDIT, COMPLETED, REJECTED, EXPIRED or REFUNDED. Each partner sees only
    its own member reference: the other one is empty.
    """

    conversion_id: str
    quote_id: str
    agreement_id: str
    agreement_version: int
    source_partner_id: str
    target_partner_id: str
    source_member_ref: str
    target_member_ref: str
    amounts: ConversionAmounts
    state: ConversionState
    history: tuple[ConversionEvent, ...]
    credit_deadline: datetime
    created_at: datetime
    reversals: tuple[ConversionReversal, ...]


@dataclass(frozen=True, slots=True)
class ConversionItem:
    """One conversion of a batch (ExchangeClient.convert_batch).

    Against a quote (quote_id), or unquoted (target_partner_id and source_points: the hub prices
    it under the active agreement and converts at once). Name the target member by
    target_member_ref or pairwise_member_id. An empty idempotency_key gets a fresh one, which
    protects only this call's own retries: store your own with the debit to make a later retry safe.
    """

    source_member_ref: str
    quote_id: str = ""
    target_partner_id: str = ""
    source_points: int = 0
    target_member_ref: str = ""
    pairwise_member_id: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class ConversionResult:
    """One item's outcome: a conversion, or why the item failed (code, reason, message, field)."""

    conversion: Conversion | None
    error_code: str = ""
    error_reason: str = ""
    error_message: str = ""
    error_field: str = ""

    @property
    def ok(self) -> bool:
        """Whether the item converted."""
        return self.conversion is not None


@dataclass(frozen=True, slots=True)
class Instruction:
    """Work the hub gives this partner: credit, refund or release points of a member, honour a membership or a tier.

    kind is CREDIT, REFUND, RELEASE (points reserved for hold_id that were not captured),
    CREDIT_CANCELLED (take back the delivered credit cancels_instruction_id, if it was applied),
    BENEFIT_GRANT (honour benefits for member_ref from honoured_from until honoured_until, for the
    joint membership membership_id of programme_id; a renewal sends another with the new end),
    BENEFIT_REVOKE (stop honouring membership_id's benefits from honoured_until), TIER_MATCHED
    (recognise member_ref at matched_tier until match_ends_at: their attester_tier at
    attester_partner_id was matched, match_id) or TIER_MATCH_ENDED (the match match_id ended at
    match_ends_at; reason says why: DOWNGRADED, LAPSED, CONSENT_REVOKED, UNLINKED, ERASED,
    CHALLENGE_FAILED or EXPIRED); state is
    PENDING, ACKNOWLEDGED, REJECTED or CANCELLED. points are in the partner's own point currency.
    deadline is set for credits only: after it the hub cancels the credit and refuses a late
    acknowledgement. instruction_id is the key to dedupe on: the same instruction may be
    delivered more than once.
    """

    instruction_id: str
    kind: InstructionKind
    state: InstructionState
    member_ref: str
    points: int
    point_currency: str
    conversion_id: str
    created_at: datetime
    deadline: datetime | None
    delivery_count: int
    partner_reference: str
    reason: str
    reversal_id: str = ""
    hold_id: str = ""
    award_id: str = ""  # a CREDIT of points another brand awarded (accrual); conversion_id is then empty
    cancels_instruction_id: str = ""  # a CREDIT_CANCELLED: the delivered credit to take back
    membership_id: str = ""  # a BENEFIT_GRANT or BENEFIT_REVOKE: the membership
    programme_id: str = ""  # a BENEFIT_GRANT or BENEFIT_REVOKE: its programme
    benefits: tuple[Benefit, ...] = ()  # a BENEFIT_GRANT: what to honour, in the order members see them
    honoured_from: datetime | None = None  # a BENEFIT_GRANT: from when
    honoured_until: datetime | None = None  # a BENEFIT_GRANT: until when; a BENEFIT_REVOKE: when they end
    match_id: str = ""  # a TIER_MATCHED or TIER_MATCH_ENDED: the status match
    attester_partner_id: str = ""  # a TIER_MATCHED: the brand whose tier was matched
    attester_tier: str = ""  # a TIER_MATCHED: the member's tier there
    matched_tier: str = ""  # a TIER_MATCHED: the tier to recognise here
    match_ends_at: datetime | None = None  # a TIER_MATCHED: until when; a TIER_MATCH_ENDED: when it ended


@dataclass(frozen=True, slots=True)
class Capture:
    """One capture of a hold: source points spent, their value at the target, the money owed."""

    capture_id: str
    source_points: int
    target_points_value: int
    settlement_amount_minor: int
    target_reference: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Hold:
    """Points reserved at the source partner for spending at the target partner.

    hold_id is the redemption token the member presents at checkout. state is OPEN,
    CAPTURED, VOIDED or EXPIRED; authorized = captured + released + what is left.
    """

    hold_id: str
    agreement_id: str
    source_partner_id: str
    target_partner_id: str
    source_member_ref: str
    authorized_points: int
    captured_points: int
    released_points: int
    state: HoldState
    created_at: datetime
    expires_at: datetime
    rate: Fraction
    settlement_currency: str
    captures: tuple[Capture, ...]

    @property
    def remaining_points(self) -> int:
        """Points that may still be captured."""
        return self.authorized_points - self.captured_points - self.released_points


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A one-time code for a member to type at another brand, and this brand's pairwise id for them."""

    code: str
    expires_at: datetime
    pairwise_member_id: str


@dataclass(frozen=True, slots=True)
class MemberLink:
    """A link between a member's accounts at this brand and counterparty_id.

    pairwise_member_id is this brand's id for the member: stable here, different at every brand.
    ended_at is None while the link stands.
    """

    link_id: str
    counterparty_id: str
    pairwise_member_id: str
    linked_at: datetime
    ended_at: datetime | None
    ended_by: str
    end_reason: str


@dataclass(frozen=True, slots=True)
class AttributeDeclaration:
    """An attribute a brand can share about its members.

    type is TEXT, INTEGER, BOOLEAN or DATE; description is what the member reads on a consent screen.
    """

    partner_id: str
    key: str
    type: AttributeType
    description: str


@dataclass(frozen=True, slots=True)
class Consent:
    """A member's consent: grantee_partner_id may read attribute_keys of source_partner_id.

    purpose is PERSONALISED_OFFERS, FRAUD_PREVENTION, SERVICE or STATUS_MATCH; the consent lapses at
    expires_at and revoked_at is None unless it was revoked. granted_via is the brand through
    whose app it was given. receipt is the UTF-8 text the hub signed (receipt_signature, by
    the hub key receipt_key_id); check it with verify_receipt.
    """

    consent_id: str
    source_partner_id: str
    grantee_partner_id: str
    attribute_keys: tuple[str, ...]
    purpose: Purpose
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    granted_via: str
    receipt: bytes
    receipt_signature: bytes
    receipt_key_id: str
    end_reason: ConsentEndReason = ""  # REVOKED, UNLINKED (a brand's link with the member ended) or ERASED

    def verify_receipt(self, hub_public_key: bytes) -> bytes:
        """Check that receipt_signature is the hub's Ed25519 signature over receipt, and return the receipt.

        Args:
            hub_public_key: the raw 32-byte public key of the hub key receipt_key_id
                (HubInfo.hub_public_key for the current key).

        Returns:
            The receipt, exactly the bytes the hub signed.

        Raises:
            ReceiptVerificationError: reason BAD_SIGNATURE (another key, or an altered receipt)
                or BAD_HUB_KEY (not a 32-byte key).
        """
        check_receipt(hub_public_key, self.receipt_signature, self.receipt, what=f"consent {self.consent_id}")
        return self.receipt


@dataclass(frozen=True, slots=True)
class AttributeRead:
    """What a read of a linked member's attributes returned.

    values holds the attributes a live consent covers, typed (str, int, bool, or
    datetime.date for DATE); withheld maps every other requested key to why it was not
    returned: NO_CONSENT, NOT_DECLARED or NO_VALUE.
    """

    values: Mapping[str, str | int | bool | date]
    withheld: Mapping[str, WithheldReason]


@dataclass(frozen=True, slots=True)
class AccessLogEntry:
    """One event of a member's data: a read (who, whose attributes, why, what was returned and withheld).

    event is READ; READ_REFUSED for a read refused as a whole (reason says why, e.g.
    MEMBER_NOT_LINKED); or CONSENT_ENDED when a consent ended early (reason, e.g. UNLINKED, and
    consent_id say which and why; withheld_keys are the attributes it covered).
    """

    at: datetime
    reader_partner_id: str
    source_partner_id: str
    purpose: Purpose
    returned_keys: tuple[str, ...]
    withheld_keys: tuple[str, ...]
    event: AccessEvent = "READ"
    reason: str = ""
    consent_id: str = ""


@dataclass(frozen=True, slots=True)
class Erasure:
    """A member's erasure: their attributes are unreadable for good; links and consents ended."""

    erased_at: datetime
    links_ended: int
    consents_revoked: int
