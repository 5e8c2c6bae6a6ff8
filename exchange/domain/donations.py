"""Giving: donation agreements between a brand and a charity, and donations, in plain rules."""

from __future__ import annotations

from dataclasses import dataclass, replace

from exchange.domain.accruals import AccrualAgreementStatus
from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS
from exchange.domain.currency import parse_settlement_currency
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.money import MAX_POINTS, Ratio, round_down
from exchange.domain.partners import Partner, PartnerKind, PartnerStatus

RECEIPT_FORMAT = "coalition-donation-receipt/1"
AgreementState = AccrualAgreementStatus  # the same three states: PROPOSED, ACTIVE, SUPERSEDED


@dataclass(frozen=True, slots=True)
class DonationTerms:
    """What a brand and a charity sign."""

    brand_partner_id: str
    charity_partner_id: str
    version: int
    value_per_point_minor: Ratio
    settlement_currency: str
    valid_from_ms: int
    valid_until_ms: int


@dataclass(frozen=True, slots=True)
class DonationAgreement:
    """One version (PROPOSED, ACTIVE or SUPERSEDED, as accrual agreements)."""

    agreement_id: str
    terms: DonationTerms
    status: AgreementState
    document: bytes
    proposer_signature: bytes
    acceptor_signature: bytes
    proposed_at_ms: int
    accepted_at_ms: int | None

    def is_party(self, partner_id: str) -> bool:
        """Whether a partner may see this agreement."""
        return partner_id in (self.terms.brand_partner_id, self.terms.charity_partner_id)


@dataclass(frozen=True, slots=True)
class Donation:
    """A member's donation of a brand's points to a charity."""

    donation_id: str
    agreement_id: str
    brand_partner_id: str
    charity_partner_id: str
    member_ref: str
    member_id: str
    share_identity: bool
    points: int
    amount_minor: int
    currency: str
    donated_at_ms: int
    receipt: bytes
    receipt_signature: bytes
    hub_key_id: str


def require_charity(partner: Partner | None, partner_id: str, field: str) -> Partner:
    """Donations go only to an active partner of kind CHARITY."""
    if partner is None:
        raise NotFound("PARTNER_NOT_FOUND", f"no partner {partner_id!r}", field=field)
    if partner.kind is not PartnerKind.CHARITY:
        raise FailedPrecondition(
            "NOT_A_CHARITY", f"{partner_id!r} is not a charity; donations go to charities", field=field
        )
    if partner.status is not PartnerStatus.ACTIVE:
        raise FailedPrecondition("COUNTERPARTY_NOT_ACTIVE", f"partner {partner_id!r} is {partner.status.value}")
    return partner


def validate_terms(terms: DonationTerms, caller: str, latest_version: int | None) -> None:
    """Check terms as the brand proposes them."""
    if terms.brand_partner_id != caller:
        # Who may propose is authorisation, as NOT_SOURCE_PARTNER is for conversion agreements:
        # PERMISSION_DENIED, not INVALID_ARGUMENT.
        raise PermissionDenied(
            "NOT_BRAND", "only the brand proposes a donation agreement", field="terms.brand_partner_id"
        )
    parse_settlement_currency(terms.settlement_currency, field="terms.settlement_currency")
    if not 0 < terms.valid_until_ms - terms.valid_from_ms <= MAX_AGREEMENT_DAYS * DAY_MS:
        raise InvalidArgument(
            "INVALID_VALIDITY", "valid_until must be after valid_from, within 5 years", field="terms.valid_until"
        )
    expected = (latest_version or 0) + 1
    if terms.version != expected:
        raise FailedPrecondition("WRONG_VERSION", f"the next version of this pair is {expected}", field="terms.version")


def accept(agreement: DonationAgreement, *, caller: str, signature: bytes, now_ms: int) -> DonationAgreement:
    """The charity signs the proposal."""
    if caller != agreement.terms.charity_partner_id:
        raise PermissionDenied("NOT_CHARITY", "only the charity accepts a donation agreement")
    if agreement.status is not AgreementState.PROPOSED:
        raise FailedPrecondition("NOT_PROPOSED", f"{agreement.agreement_id} is {agreement.status.value}")
    return replace(agreement, status=AgreementState.ACTIVE, acceptor_signature=signature, accepted_at_ms=now_ms)


def require_usable(agreement: DonationAgreement | None, charity: str, now_ms: int) -> DonationAgreement:
    """A donation needs the pair's active version, within its validity."""
    if agreement is None:
        raise FailedPrecondition("NO_DONATION_AGREEMENT", f"no active donation agreement with {charity!r}")
    if not agreement.terms.valid_from_ms <= now_ms < agreement.terms.valid_until_ms:
        raise FailedPrecondition("DONATION_AGREEMENT_NOT_VALID_NOW", f"{agreement.agreement_id} is not valid now")
    return agreement


def value_of(terms: DonationTerms, points: int) -> int:
    """The money value of donated points, rounded down (the one rounding rule)."""
    if not 0 < points <= MAX_POINTS:
        raise InvalidArgument("INVALID_POINTS", f"points must be between 1 and {MAX_POINTS}", field="points")
    return round_down(terms.value_per_point_minor.as_fraction() * points)
