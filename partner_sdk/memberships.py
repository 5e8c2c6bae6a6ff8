"""Joint paid membership: the terms a seller and its partners sign, their document, and what the calls return.

A selling brand sells one paid membership made with partner brands (like 88VIP or JD Plus). The
seller proposes a version of a programme's terms, signing its document; every partner signs the
same bytes; once all have signed, the version is ACTIVE. The seller then enrols members, renews,
reports a failed renewal and cancels; each partner receives BENEFIT_GRANT and BENEFIT_REVOKE
instructions (InstructionLoop's ``grant_benefit`` and ``revoke_benefit``) and is paid its share
of every fee (MEMBERSHIP_FEE_SHARE movements; MEMBERSHIP_FEE_REFUND when a fee is refunded). The
calls are ExchangeClient's (propose_membership_agreement, sign_membership_agreement, enrol, ...).

The document is canonical JSON: sorted keys, no spaces, ASCII only (other characters escaped),
integers only, never a float::

    {"currency":"CNY","format":"coalition-membership/1","grace_days":7,"name":"88VIP",
     "offers":[{"fee_minor":88800,"term":"YEARLY","tiers":[{"fee_minor":8800,"min_score":1000}]}],
     "partners":[{"benefits":[{"kind":"PARTNER_MEMBERSHIP","name":"Youku VIP"}],"partner_id":"youku",
                  "shares":[{"amount_minor":10000,"kind":"FIXED","term":"YEARLY"}]}],
     "programme_id":"88vip","refund_rule":"PRO_RATA","seller_partner_id":"tmall",
     "valid_from_ms":1767225600000,"valid_until_ms":1798761600000,"version":1}

(shown wrapped; the document is one line). Partners are sorted by id, offers and each partner's
shares by term; tiers and benefits keep their order (the hub refuses tiers out of ascending
min_score; benefits are shown to members in that order). A ratio share is its numerator and
denominator in lowest terms; a discount without a cap has ``"cap_minor":null``. Times are whole
milliseconds since the epoch (rounded down). Text (the name, a partner membership's name, a
text benefit) is rendered stripped of surrounding whitespace, as the hub keeps it.

A partner's checkout checks a member's benefits offline with a membership pass (the call is
issue_membership_pass): canonical JSON the hub signs with Ed25519 over MEMBERSHIP_PASS_PREFIX
followed by it (membership_pass_message), valid for at most 15 minutes::

    {"benefits":[{"kind":"PARTNER_MEMBERSHIP","name":"Youku VIP"}],"format":"coalition-membership-pass/1",
     "issued_at_ms":1772323200000,"membership_id":"mbs-1","pairwise_member_id":"pw-7f3a",
     "partner_id":"youku","programme_id":"88vip","programme_name":"88VIP","valid_until_ms":1772324100000}

(shown wrapped; one line). partner_id is the partner it was issued to, pairwise_member_id the
member's id at that partner, benefits that partner's, written as the document writes them.
verify_membership_pass checks it and returns what it says; the hub renders it with
render_membership_pass_payload, so it is written in one place. Vouchers a vouchers benefit
issues are listed (list_vouchers) and redeemed once at the honouring partner (redeem_voucher);
one the seller funds is owed by the seller to that partner (a VOUCHER_REDEMPTION movement).

Vouchers are also given outside any membership, under a voucher agreement between two brands:
the funder proposes a version of the pair's voucher terms, signing its document
(propose_voucher_agreement); the honouring brand checks and signs the same bytes
(accept_voucher_agreement), and the version is ACTIVE. The funder then issues vouchers to members
who stand with both (issue_voucher; each names its agreement_id), redeemed like any other
(redeem_voucher). The document is canonical JSON in the same rules::

    {"currency":"EUR","format":"coalition-voucher-agreement/1","funder_partner_id":"skyways",
     "honouring_partner_id":"harbour-hotels","monthly_limit":500,"valid_from_ms":1767225600000,
     "valid_until_ms":1798761600000,"validity_days":30,"value_minor":1500,"version":1}

(shown wrapped; one line). Times are whole milliseconds since the epoch (rounded down).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Literal, TypeAlias, cast, get_args

from partner_sdk._hub_signed import (
    SignedKind,
    check_recipient,
    check_window,
    int_of,
    open_signed,
    reading,
    render_payload,
    str_of,
    time_of,
)
from partner_sdk.documents import _fraction, _integer, _text, epoch_ms
from partner_sdk.errors import MembershipPassVerificationError
from partner_sdk.settlement import canonical_json

__all__ = [
    "MEMBERSHIP_FORMAT",
    "MEMBERSHIP_PASS_FORMAT",
    "MEMBERSHIP_PASS_PREFIX",
    "PASS_CLOCK_SKEW_MS",
    "VOUCHER_AGREEMENT_FORMAT",
    "Benefit",
    "FixedShare",
    "FreeDelivery",
    "GrantState",
    "Membership",
    "MembershipAgreement",
    "MembershipAgreementStatus",
    "MembershipPass",
    "MembershipPassDocument",
    "MembershipPassVerificationError",
    "MembershipSignature",
    "MembershipState",
    "MembershipTerms",
    "PaidTerm",
    "PartnerGrant",
    "PartnerMembership",
    "PartnerTerms",
    "PercentageDiscount",
    "PriceTier",
    "RatioShare",
    "RefundRule",
    "Share",
    "TermLength",
    "TermOffer",
    "TextBenefit",
    "UnknownBenefit",
    "UnknownShare",
    "Voucher",
    "VoucherAgreement",
    "VoucherAgreementStatus",
    "VoucherFunding",
    "VoucherPeriod",
    "VoucherState",
    "VoucherTerms",
    "Vouchers",
    "membership_document",
    "membership_pass_message",
    "render_membership_pass_payload",
    "verify_membership_pass",
    "voucher_agreement_document",
]

MEMBERSHIP_FORMAT = "coalition-membership/1"
MEMBERSHIP_PASS_FORMAT = "coalition-membership-pass/1"  # noqa: S105 - a format name, not a password
MEMBERSHIP_PASS_PREFIX = b"COALITION-MEMBERSHIP-PASS-V1\n"
VOUCHER_AGREEMENT_FORMAT = "coalition-voucher-agreement/1"
PASS_CLOCK_SKEW_MS = 5 * 60 * 1000
"""How far ahead of this host's clock a pass's issued_at may be: the hub's and the checkout's clocks differ."""

TermLength: TypeAlias = Literal["MONTHLY", "YEARLY", "UNKNOWN"]
"""How long one paid term lasts: a calendar month or a calendar year, in UTC."""
RefundRule: TypeAlias = Literal["NONE", "PRO_RATA", "UNKNOWN"]
"""What a member gets back on cancelling: nothing, or the unused whole days' part of each fee."""
VoucherPeriod: TypeAlias = Literal["WEEKLY", "MONTHLY", "UNKNOWN"]
"""How often a vouchers benefit issues its vouchers."""
VoucherFunding: TypeAlias = Literal["PARTNER", "SELLER", "UNKNOWN"]
"""Who pays a redeemed voucher's value: the honouring partner (no money moves) or the seller."""
MembershipAgreementStatus: TypeAlias = Literal["PROPOSED", "ACTIVE", "SUPERSEDED", "UNKNOWN"]
"""Where a version of a programme's terms stands."""
MembershipState: TypeAlias = Literal["ACTIVE", "IN_GRACE", "LAPSED", "CANCELLED", "UNKNOWN"]
"""Where a membership stands."""
GrantState: TypeAlias = Literal["AWAITING_LINK", "PENDING", "HONOURED", "REVOKED", "UNKNOWN"]
"""Where one partner's benefits stand for a membership."""
VoucherState: TypeAlias = Literal["ISSUED", "REDEEMED", "EXPIRED", "UNKNOWN"]
"""Where a voucher stands: redeemable, used once, or expired unused (kept by its funder)."""
VoucherAgreementStatus: TypeAlias = Literal["PROPOSED", "ACTIVE", "SUPERSEDED", "UNKNOWN"]
"""Where a version of a pair's voucher terms stands."""


@dataclass(frozen=True, slots=True)
class PartnerMembership:
    """The member is also a member of the partner's own programme (e.g. "Youku VIP"), 1 to 100 characters."""

    name: str


@dataclass(frozen=True, slots=True)
class PercentageDiscount:
    """A discount at the partner in basis points (1 to 10000), capped per purchase in minor units (None: no cap)."""

    basis_points: int
    cap_minor: int | None = None


@dataclass(frozen=True, slots=True)
class Vouchers:
    """per_period vouchers (1 to 31) of value_minor each period, each valid for validity_days (1 to 366)."""

    per_period: int
    period: VoucherPeriod
    value_minor: int
    validity_days: int
    funded_by: VoucherFunding = "PARTNER"


@dataclass(frozen=True, slots=True)
class FreeDelivery:
    """Deliveries from the partner are free."""


@dataclass(frozen=True, slots=True)
class TextBenefit:
    """Any other benefit, in words, 1 to 500 characters (honoured by the partner, not computed by the hub)."""

    text: str


@dataclass(frozen=True, slots=True)
class UnknownBenefit:
    """A kind of benefit newer than this SDK: read from the hub, never signed or sent by it."""


Benefit: TypeAlias = PartnerMembership | PercentageDiscount | Vouchers | FreeDelivery | TextBenefit | UnknownBenefit
"""One benefit a partner gives members."""


@dataclass(frozen=True, slots=True)
class FixedShare:
    """A fixed amount of each fee, in minor units (0 allowed: a partner may be paid nothing)."""

    amount_minor: int


@dataclass(frozen=True, slots=True)
class RatioShare:
    """An exact part of each fee (more than 0, at most 1), rounded down: Fraction(15, 100) is 15%."""

    ratio: Fraction


@dataclass(frozen=True, slots=True)
class UnknownShare:
    """A kind of share newer than this SDK: read from the hub, never signed or sent by it."""


Share: TypeAlias = FixedShare | RatioShare | UnknownShare
"""A partner's share of one term's fee."""


@dataclass(frozen=True, slots=True)
class PriceTier:
    """The fee for members whose attested score is at least min_score (0 to 10**9)."""

    min_score: int
    fee_minor: int


@dataclass(frozen=True, slots=True)
class TermOffer:
    """One term length on sale: its base fee and up to 10 price tiers in strictly ascending min_score.

    The fee a member pays is the tier with the highest min_score the attested score reaches, or
    fee_minor when no tier applies (or no score is attested).
    """

    term: TermLength
    fee_minor: int
    tiers: tuple[PriceTier, ...] = ()


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """What one partner gives members (1 to 10 benefits, in the order members see them) and is paid.

    shares holds one (term, share) per offered term; for every term and price tier the
    partners' shares sum to at most the fee, and the seller keeps the rest.
    """

    partner_id: str
    benefits: tuple[Benefit, ...]
    shares: tuple[tuple[TermLength, Share], ...]


@dataclass(frozen=True, slots=True)
class MembershipTerms:
    """What the seller and every partner sign: one version of a programme's terms.

    programme_id is 3 to 64 of a-z, 0-9 and '-', starting with a letter; version is 1 for the
    programme's first, then the latest plus one. seller_partner_id is the selling brand (the
    caller that proposes); partners are 1 to 20 brands, not the seller. currency is the ISO 4217
    code of every fee, share and voucher. grace_days (0 to 30) is how long a membership stays
    honoured after a failed renewal. valid_from and valid_until are timezone-aware; every term
    sold must end by valid_until.
    """

    programme_id: str
    version: int
    name: str
    seller_partner_id: str
    currency: str
    offers: tuple[TermOffer, ...]
    partners: tuple[PartnerTerms, ...]
    refund_rule: RefundRule
    grace_days: int
    valid_from: datetime
    valid_until: datetime

    @property
    def partner_ids(self) -> tuple[str, ...]:
        """The partners' ids, sorted."""
        return tuple(sorted(p.partner_id for p in self.partners))


@dataclass(frozen=True, slots=True)
class MembershipSignature:
    """One signature over a membership agreement's document: who signed, with which key, and when."""

    partner_id: str
    key_id: str
    signature: bytes
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipAgreement:
    """One version of a programme's terms with every signature; status is PROPOSED, ACTIVE or SUPERSEDED.

    signatures holds the seller's first, then the partners' in the order they signed;
    awaiting_partner_ids names the partners that have not signed yet. document is the exact
    bytes everyone signs (membership_document(terms)).
    """

    agreement_id: str
    terms: MembershipTerms
    status: MembershipAgreementStatus
    document: bytes
    signatures: tuple[MembershipSignature, ...]
    awaiting_partner_ids: tuple[str, ...]
    proposed_at: datetime


@dataclass(frozen=True, slots=True)
class PaidTerm:
    """One paid term: its length and dates, the fee paid, the attested score (None: none), the refund."""

    term: TermLength
    starts_at: datetime
    ends_at: datetime
    fee_minor: int
    score: int | None
    terms_version: int
    refund_minor: int


@dataclass(frozen=True, slots=True)
class PartnerGrant:
    """Where one partner's benefits stand for a membership (AWAITING_LINK, PENDING, HONOURED, REVOKED)."""

    partner_id: str
    state: GrantState
    benefits: tuple[Benefit, ...]


@dataclass(frozen=True, slots=True)
class Membership:
    """A member's membership of a programme; state is ACTIVE, IN_GRACE, LAPSED or CANCELLED.

    member_ref is the caller's own reference for the member (empty for a partner the member is
    not linked to yet). terms are the paid terms, oldest first. grace_until is set while
    IN_GRACE; ended_at once cancelled or lapsed; honoured_until (the current term's end, or
    grace_until) while benefits are honoured. A partner sees only its own grant.
    """

    membership_id: str
    programme_id: str
    programme_name: str
    seller_partner_id: str
    member_ref: str
    state: MembershipState
    terms: tuple[PaidTerm, ...]
    grace_until: datetime | None
    ended_at: datetime | None
    currency: str
    grants: tuple[PartnerGrant, ...]
    honoured_until: datetime | None


@dataclass(frozen=True, slots=True)
class Voucher:
    """One voucher given to a member: the code shown at checkout is voucher_id.

    A membership's vouchers benefit gives it (membership_id set, agreement_id empty), or a funder
    issues it under a voucher agreement (agreement_id set, membership_id empty).
    funder_partner_id pays its value when it is redeemed (the seller, the agreement's funder, or
    honouring_partner_id itself); member_ref is the caller's own reference for the member (empty
    for a partner not linked to the member). It is redeemable from valid_from until expires_at
    while ISSUED; redeemed_at and reference (the honouring partner's, given on redemption) are set
    once REDEEMED. An EXPIRED voucher's value is kept by its funder.
    """

    voucher_id: str
    membership_id: str
    funder_partner_id: str
    honouring_partner_id: str
    member_ref: str
    value_minor: int
    currency: str
    valid_from: datetime
    expires_at: datetime
    state: VoucherState
    redeemed_at: datetime | None
    reference: str
    agreement_id: str = ""


@dataclass(frozen=True, slots=True)
class VoucherTerms:
    """What the funder proposes and the honouring brand accepts: one version of a pair's voucher terms.

    version is 1 for the pair's first, then the latest plus one. Each voucher is worth value_minor
    in currency (ISO 4217) and stays valid validity_days (1 to 366) from its issue; the funder may
    issue monthly_limit (1 to 1000000) per UTC calendar month. valid_from and valid_until are
    timezone-aware: vouchers are issued only between them.
    """

    funder_partner_id: str
    honouring_partner_id: str
    version: int
    value_minor: int
    currency: str
    validity_days: int
    monthly_limit: int
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class VoucherAgreement:
    """One version of a pair's voucher terms; status is PROPOSED, ACTIVE or SUPERSEDED.

    document is the exact bytes both brands sign (voucher_agreement_document(terms)); the proposer
    is the funder, the acceptor the honouring brand (its key id and signature empty until it
    accepts).
    """

    agreement_id: str
    terms: VoucherTerms
    status: VoucherAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipPass:
    """A pass as the hub issued it: the payload, the hub key that signed it, and the signature.

    Check it with verify_membership_pass before honouring it; keep payload as bytes (never
    re-encode it: the signature covers these exact bytes).
    """

    payload: bytes
    hub_key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class MembershipPassDocument:
    """What a verified pass says: honour benefits for pairwise_member_id at partner_id until valid_until.

    benefits are the partner's, in the order members see them (a kind newer than this SDK is an
    UnknownBenefit). issued_at and valid_until are aware UTC datetimes, whole milliseconds.
    """

    membership_id: str
    programme_id: str
    programme_name: str
    partner_id: str
    pairwise_member_id: str
    benefits: tuple[Benefit, ...]
    issued_at: datetime
    valid_until: datetime


def membership_document(terms: MembershipTerms) -> bytes:
    """Return the exact bytes the seller and every partner sign for these terms.

    Args:
        terms: the terms; the hub checks them when they are proposed.

    Returns:
        The canonical JSON document (see this module's docstring), ASCII.

    Raises:
        TypeError: a number is a float or bool, or a text is not a str.
        ValueError: a datetime is naive, a text has control characters, or a value is UNKNOWN
            (newer than this SDK: it can't be signed).
    """
    value = {
        "format": MEMBERSHIP_FORMAT,
        "programme_id": _text("programme_id", terms.programme_id),
        "version": _integer("version", terms.version),
        "name": _text("name", terms.name).strip(),
        "seller_partner_id": _text("seller_partner_id", terms.seller_partner_id),
        "currency": _text("currency", terms.currency),
        "offers": [_offer_value(o) for o in sorted(terms.offers, key=lambda o: _known("term", o.term))],
        "partners": [_partner_value(p) for p in sorted(terms.partners, key=lambda p: p.partner_id)],
        "refund_rule": _known("refund_rule", terms.refund_rule),
        "grace_days": _integer("grace_days", terms.grace_days),
        "valid_from_ms": epoch_ms(terms.valid_from),
        "valid_until_ms": epoch_ms(terms.valid_until),
    }
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def voucher_agreement_document(terms: VoucherTerms) -> bytes:
    """Return the exact bytes the funder and the honouring brand sign for these terms.

    Args:
        terms: the terms; the hub checks them when they are proposed.

    Returns:
        The canonical JSON document (see this module's docstring), ASCII: sorted keys, no spaces,
        integers only, times as whole milliseconds since the epoch rounded down.

    Raises:
        TypeError: a number is a float or bool, or a text is not a str.
        ValueError: a datetime is naive or a text has control characters.
    """
    value = {
        "format": VOUCHER_AGREEMENT_FORMAT,
        "funder_partner_id": _text("funder_partner_id", terms.funder_partner_id),
        "honouring_partner_id": _text("honouring_partner_id", terms.honouring_partner_id),
        "version": _integer("version", terms.version),
        "value_minor": _integer("value_minor", terms.value_minor),
        "currency": _text("currency", terms.currency),
        "validity_days": _integer("validity_days", terms.validity_days),
        "monthly_limit": _integer("monthly_limit", terms.monthly_limit),
        "valid_from_ms": epoch_ms(terms.valid_from),
        "valid_until_ms": epoch_ms(terms.valid_until),
    }
    return canonical_json(value)


def _known(name: str, value: str) -> str:
    if value == "UNKNOWN":
        raise ValueError(f"{name} is a value newer than this SDK (UNKNOWN): it can't be signed")
    return _text(name, value)


def _offer_value(offer: TermOffer) -> dict[str, Any]:
    return {
        "term": _known("term", offer.term),
        "fee_minor": _integer("fee_minor", offer.fee_minor),
        "tiers": [
            {"min_score": _integer("min_score", t.min_score), "fee_minor": _integer("fee_minor", t.fee_minor)}
            for t in offer.tiers
        ],
    }


def _partner_value(partner: PartnerTerms) -> dict[str, Any]:
    return {
        "partner_id": _text("partner_id", partner.partner_id),
        "benefits": [_benefit_value(b) for b in partner.benefits],
        "shares": [
            {"term": _known("term", term), **_share_value(share)}
            for term, share in sorted(partner.shares, key=lambda item: _known("term", item[0]))
        ],
    }


def _benefit_value(benefit: Benefit) -> dict[str, Any]:
    if isinstance(benefit, PartnerMembership):
        return {"kind": "PARTNER_MEMBERSHIP", "name": _text("name", benefit.name).strip()}
    if isinstance(benefit, PercentageDiscount):
        cap = None if benefit.cap_minor is None else _integer("cap_minor", benefit.cap_minor)
        return {
            "kind": "PERCENTAGE_DISCOUNT",
            "basis_points": _integer("basis_points", benefit.basis_points),
            "cap_minor": cap or None,  # 0 is no cap, as on the wire
        }
    if isinstance(benefit, Vouchers):
        return {
            "kind": "VOUCHERS",
            "per_period": _integer("per_period", benefit.per_period),
            "period": _known("period", benefit.period),
            "value_minor": _integer("value_minor", benefit.value_minor),
            "validity_days": _integer("validity_days", benefit.validity_days),
            "funded_by": _known("funded_by", benefit.funded_by),
        }
    if isinstance(benefit, FreeDelivery):
        return {"kind": "FREE_DELIVERY"}
    if isinstance(benefit, TextBenefit):
        return {"kind": "TEXT", "text": _text("text", benefit.text).strip()}
    if isinstance(benefit, UnknownBenefit):
        raise ValueError("a benefit is of a kind newer than this SDK (UnknownBenefit): it can't be signed")
    raise TypeError(f"not a benefit: {type(benefit).__name__}")


def _share_value(share: Share) -> dict[str, Any]:
    if isinstance(share, FixedShare):
        return {"kind": "FIXED", "amount_minor": _integer("amount_minor", share.amount_minor)}
    if isinstance(share, RatioShare):
        ratio = _fraction("ratio", share.ratio)
        return {"kind": "RATIO", "numerator": ratio.numerator, "denominator": ratio.denominator}
    if isinstance(share, UnknownShare):
        raise ValueError("a share is of a kind newer than this SDK (UnknownShare): it can't be signed")
    raise TypeError(f"not a share: {type(share).__name__}")


def _benefit_of(value: object) -> Benefit:
    """Return the benefit a document's benefit object writes (_benefit_value's inverse).

    A kind newer than this SDK is an UnknownBenefit, and a voucher period or funder it does not
    name reads as UNKNOWN.

    Raises:
        ValueError: a known kind with a key missing or unknown, or a value of the wrong type.
    """
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str):
        raise ValueError(f"a benefit must be an object with a kind, not {value!r}")
    kind = value["kind"]
    keys = _BENEFIT_KEYS.get(kind)
    if keys is None:
        return UnknownBenefit()
    if set(value) != keys | {"kind"}:
        raise ValueError(f"a {kind} benefit has the keys {sorted(value)}, not {sorted(keys | {'kind'})}")
    if kind == "PARTNER_MEMBERSHIP":
        return PartnerMembership(str_of(value, "name"))
    if kind == "PERCENTAGE_DISCOUNT":
        cap = None if value["cap_minor"] is None else int_of(value, "cap_minor")
        return PercentageDiscount(int_of(value, "basis_points"), cap)
    if kind == "VOUCHERS":
        period, funded_by = str_of(value, "period"), str_of(value, "funded_by")
        return Vouchers(
            per_period=int_of(value, "per_period"),
            period=cast(VoucherPeriod, period if period in get_args(VoucherPeriod) else "UNKNOWN"),
            value_minor=int_of(value, "value_minor"),
            validity_days=int_of(value, "validity_days"),
            funded_by=cast(VoucherFunding, funded_by if funded_by in get_args(VoucherFunding) else "UNKNOWN"),
        )
    if kind == "FREE_DELIVERY":
        return FreeDelivery()
    return TextBenefit(str_of(value, "text"))


_BENEFIT_KEYS: dict[str, frozenset[str]] = {
    "PARTNER_MEMBERSHIP": frozenset({"name"}),
    "PERCENTAGE_DISCOUNT": frozenset({"basis_points", "cap_minor"}),
    "VOUCHERS": frozenset({"per_period", "period", "value_minor", "validity_days", "funded_by"}),
    "FREE_DELIVERY": frozenset(),
    "TEXT": frozenset({"text"}),
}


# ------------------------------------------------------- the membership pass

_PASS = SignedKind(
    noun="pass",
    format=MEMBERSHIP_PASS_FORMAT,
    prefix=MEMBERSHIP_PASS_PREFIX,
    keys=frozenset(
        {
            "format",
            "membership_id",
            "programme_id",
            "programme_name",
            "partner_id",
            "pairwise_member_id",
            "benefits",
            "issued_at_ms",
            "valid_until_ms",
        }
    ),
    error=MembershipPassVerificationError,
    malformed="MALFORMED_PASS",
    wrong_recipient="WRONG_PARTNER",
    expired="PASS_EXPIRED",
    not_yet_valid="PASS_NOT_YET_VALID",
    skew_ms=PASS_CLOCK_SKEW_MS,
    use="honour",
    expired_hint="issue a new one",
)


def membership_pass_message(payload: bytes) -> bytes:
    """Return the exact bytes the hub signs for a pass: MEMBERSHIP_PASS_PREFIX, then the payload.

    The prefix keeps a pass's signature from being valid for anything else the hub signs.
    """
    return MEMBERSHIP_PASS_PREFIX + payload


def render_membership_pass_payload(
    *,
    membership_id: str,
    programme_id: str,
    programme_name: str,
    partner_id: str,
    pairwise_member_id: str,
    benefit_values: list[dict[str, Any]],
    issued_at_ms: int,
    valid_until_ms: int,
) -> bytes:
    """Return a pass's payload for plain values: the canonical JSON the hub signs (it renders passes with this).

    Args:
        membership_id: the membership.
        programme_id: its programme.
        programme_name: the programme's name, as members see it.
        partner_id: the partner the pass is issued to (it verifies with partner_id=this).
        pairwise_member_id: the member's id at that partner.
        benefit_values: that partner's benefits, each the object the agreement document writes
            for it (for example {"kind": "FREE_DELIVERY"}), in the order members see them.
        issued_at_ms: when it was issued, integer milliseconds since the epoch.
        valid_until_ms: when it stops being valid (at most 15 minutes after issued_at_ms).

    Returns:
        The payload, ASCII (this module's docstring shows one).

    Raises:
        TypeError: a number is a float or bool, or a text is not a str.
        ValueError: a text has control characters.
    """
    texts = {
        "membership_id": membership_id,
        "programme_id": programme_id,
        "programme_name": programme_name,
        "partner_id": partner_id,
        "pairwise_member_id": pairwise_member_id,
    }
    return render_payload(
        _PASS, texts, benefits=list(benefit_values), issued_at_ms=issued_at_ms, valid_until_ms=valid_until_ms
    )


def verify_membership_pass(
    membership_pass: MembershipPass, hub_public_key: bytes, *, partner_id: str, now: datetime | None = None
) -> MembershipPassDocument:
    """Check a membership pass offline and return what it says; honour its benefits only if this returns.

    Checks, in order: the hub's Ed25519 signature over membership_pass_message(payload); that
    the payload is canonical JSON in the coalition-membership-pass/1 format with every field;
    that it was issued to partner_id; and that now is before valid_until and no earlier than
    issued_at less 5 minutes (PASS_CLOCK_SKEW_MS, for clocks that differ).

    Args:
        membership_pass: the pass, as issue_membership_pass returned it (or as the member showed it).
        hub_public_key: the raw 32-byte public key of the hub key membership_pass.hub_key_id.
        partner_id: your partner id: a pass issued to another partner is refused.
        now: the time to check it at, timezone-aware; None: this host's clock.

    Returns:
        The pass's parsed payload.

    Raises:
        MembershipPassVerificationError: reason BAD_HUB_KEY, BAD_SIGNATURE, MALFORMED_PASS,
            NOT_CANONICAL, WRONG_FORMAT, WRONG_PARTNER, PASS_EXPIRED or PASS_NOT_YET_VALID.
        ValueError: now is naive.
    """
    now_ms = epoch_ms(now if now is not None else datetime.now(UTC))
    value = open_signed(_PASS, membership_pass.payload, membership_pass.signature, hub_public_key)
    document = _pass_document(value)
    check_recipient(_PASS, document.partner_id, partner_id)
    check_window(_PASS, now_ms, value["issued_at_ms"], value["valid_until_ms"])
    return document


def _pass_document(value: dict[str, Any]) -> MembershipPassDocument:
    if not isinstance(value["benefits"], list):
        raise _PASS.refused("MALFORMED_PASS", "the pass's benefits must be a list")
    with reading(_PASS):
        return MembershipPassDocument(
            membership_id=str_of(value, "membership_id"),
            programme_id=str_of(value, "programme_id"),
            programme_name=str_of(value, "programme_name"),
            partner_id=str_of(value, "partner_id"),
            pairwise_member_id=str_of(value, "pairwise_member_id"),
            benefits=tuple(_benefit_of(b) for b in value["benefits"]),
            issued_at=time_of(value, "issued_at_ms"),
            valid_until=time_of(value, "valid_until_ms"),
        )
