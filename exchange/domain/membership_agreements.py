"""A joint membership's agreement (its versions and signatures), the partners' grants, and its movements.

A programme's terms (exchange.domain.membership_terms) are proposed by the seller, who signs
the canonical document, and become ACTIVE once every partner named in them has signed the same
bytes; the programme's previous ACTIVE version is then SUPERSEDED. Terms sold later follow the
new version; terms already paid keep the shares they were paid with.

Each partner's benefits on a membership are a grant: AWAITING_LINK while the member has no live
link at the partner, PENDING once the BENEFIT_GRANT instruction is sent, HONOURED when the
partner acknowledged it, REVOKED once the benefits ended (a BENEFIT_REVOKE is sent to a partner
that was told of the grant).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, replace
from typing import Any

from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from exchange.domain.membership_terms import (
    Benefit,
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerMembership,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    RefundRule,
    Share,
    TermLength,
    TermOffer,
    TextBenefit,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
    benefit_value,
    document_of,
    validate_terms,
)
from exchange.domain.memberships import Obligation
from exchange.domain.money import Ratio
from exchange.domain.settlement import Movement, MovementKind


class MembershipAgreementStatus(enum.Enum):
    """Where a version of a programme's terms stands."""

    PROPOSED = "PROPOSED"
    ACTIVE = "ACTIVE"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True, slots=True)
class AgreementSignature:
    """One signature over the document: the seller's, or a partner's."""

    partner_id: str
    key_id: str
    signature: bytes
    signed_at_ms: int


@dataclass(frozen=True, slots=True)
class MembershipAgreement:
    """One version of a programme's terms, with the signatures it has (the seller's first)."""

    agreement_id: str
    terms: MembershipTerms
    status: MembershipAgreementStatus
    document: bytes
    signatures: tuple[AgreementSignature, ...]
    proposed_at_ms: int

    @property
    def awaiting(self) -> tuple[str, ...]:
        """The partners that have not signed yet."""
        signed = {s.partner_id for s in self.signatures}
        return tuple(p for p in self.terms.partner_ids if p not in signed)

    def is_party(self, partner_id: str) -> bool:
        """Whether the brand is the seller or a partner of this version."""
        return partner_id == self.terms.seller_partner_id or partner_id in self.terms.partner_ids


def require_visible(agreement: MembershipAgreement | None, caller: str, agreement_id: str) -> MembershipAgreement:
    """Return the version if the caller is its seller or a partner; otherwise it does not exist for them."""
    if agreement is None or not agreement.is_party(caller):
        raise NotFound("AGREEMENT_NOT_FOUND", f"no membership agreement {agreement_id!r}", field="agreement_id")
    return agreement


def sign(agreement: MembershipAgreement, signature: AgreementSignature) -> MembershipAgreement:
    """Add a partner's signature (already verified over the document); ACTIVE once nobody is awaited.

    A partner signing again changes nothing. The seller signed when proposing.
    """
    if signature.partner_id not in agreement.terms.partner_ids:
        raise FailedPrecondition("NOT_A_PARTNER", "only a partner named in the terms signs them")
    if signature.partner_id not in agreement.awaiting:
        return agreement
    if agreement.status is not MembershipAgreementStatus.PROPOSED:
        raise FailedPrecondition(
            "AGREEMENT_NOT_PROPOSED", f"agreement {agreement.agreement_id!r} is {agreement.status.value}"
        )
    signed = replace(agreement, signatures=(*agreement.signatures, signature))
    return replace(signed, status=MembershipAgreementStatus.ACTIVE) if not signed.awaiting else signed


class GrantState(enum.Enum):
    """Where one partner's benefits on one membership stand."""

    AWAITING_LINK = "AWAITING_LINK"
    PENDING = "PENDING"
    HONOURED = "HONOURED"
    REVOKED = "REVOKED"


@dataclass(frozen=True, slots=True)
class Grant:
    """One partner's benefits on one membership."""

    membership_id: str
    partner_id: str
    state: GrantState
    honoured_until_ms: int  # what the partner was last told (grant or revocation)


def fee_movement(obligation: Obligation, *, movement_id: str, at_ms: int) -> Movement:
    """The settlement movement of a share owed (MEMBERSHIP_FEE_SHARE) or given back (MEMBERSHIP_FEE_REFUND)."""
    kind = MovementKind.MEMBERSHIP_FEE_SHARE if obligation.amount_minor > 0 else MovementKind.MEMBERSHIP_FEE_REFUND
    return obligation_movement(obligation, kind, movement_id=movement_id, at_ms=at_ms)


def obligation_movement(obligation: Obligation, kind: MovementKind, *, movement_id: str, at_ms: int) -> Movement:
    """The settlement movement of money a membership moves between two brands (no points)."""
    return Movement(
        movement_id=movement_id,
        kind=kind,
        source_partner_id=obligation.payer,
        target_partner_id=obligation.payee,
        source_points=0,
        target_points=0,
        currency=obligation.currency,
        amount_minor=obligation.amount_minor,
        final_at_ms=at_ms,
    )


# The agreement document read back ---------------------------------------------------------------


def terms_of_document(document: bytes) -> MembershipTerms:
    """Read the terms back from their canonical document (exchange.domain.membership_terms.document_of).

    The store keeps only the signed bytes; reading them back and rendering them again must give
    the same bytes, or the row is not a document the hub wrote.
    """
    try:
        value = json.loads(document)
        terms = validate_terms(
            programme_id=value["programme_id"],
            version=value["version"],
            name=value["name"],
            seller_partner_id=value["seller_partner_id"],
            currency=value["currency"],
            offers=[
                TermOffer(
                    TermLength(o["term"]),
                    o["fee_minor"],
                    tuple(PriceTier(t["min_score"], t["fee_minor"]) for t in o["tiers"]),
                )
                for o in value["offers"]
            ],
            partners=[
                PartnerTerms(
                    p["partner_id"],
                    tuple(_benefit(b) for b in p["benefits"]),
                    tuple((TermLength(s["term"]), _share(s)) for s in p["shares"]),
                )
                for p in value["partners"]
            ],
            refund_rule=RefundRule(value["refund_rule"]),
            grace_days=value["grace_days"],
            valid_from_ms=value["valid_from_ms"],
            valid_until_ms=value["valid_until_ms"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument("MALFORMED_DOCUMENT", f"not a membership document: {exc}") from exc
    if document_of(terms) != document:
        raise InvalidArgument("MALFORMED_DOCUMENT", "the document is not in canonical form")
    return terms


def benefits_json(benefits: tuple[Benefit, ...]) -> str:
    """The benefits as the canonical document writes them, for an instruction to carry."""
    return json.dumps([benefit_value(b) for b in benefits], sort_keys=True, separators=(",", ":"))


def benefits_of_json(text: str) -> tuple[Benefit, ...]:
    """The benefits benefits_json wrote."""
    return tuple(_benefit(b) for b in json.loads(text)) if text else ()


def _benefit(value: dict[str, Any]) -> Benefit:
    kind = value["kind"]
    if kind == "PARTNER_MEMBERSHIP":
        return PartnerMembership(value["name"])
    if kind == "PERCENTAGE_DISCOUNT":
        return PercentageDiscount(value["basis_points"], value["cap_minor"])
    if kind == "VOUCHERS":
        return Vouchers(
            value["per_period"],
            VoucherPeriod(value["period"]),
            value["value_minor"],
            value["validity_days"],
            VoucherFunding(value["funded_by"]),
        )
    if kind == "FREE_DELIVERY":
        return FreeDelivery()
    if kind == "TEXT":
        return TextBenefit(value["text"])
    raise ValueError(f"unknown benefit kind {kind!r}")


def _share(value: dict[str, Any]) -> Share:
    if value["kind"] == "FIXED":
        return FixedShare(value["amount_minor"])
    if value["kind"] == "RATIO":
        return RatioShare(Ratio(value["numerator"], value["denominator"]))
    raise ValueError(f"unknown share kind {value['kind']!r}")
