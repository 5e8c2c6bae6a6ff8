"""Directional agreements between two partners: terms, versions, status, who may change what."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from exchange.domain.currency import parse_settlement_currency
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.money import Ratio, parse_points
from exchange.domain.partners import REASON_MAX, parse_text

MAX_BASIS_POINTS = 10_000
MAX_AGREEMENT_DAYS = 5 * 366
DAY_MS = 86_400_000


class AgreementStatus(enum.Enum):
    """Where an agreement version stands."""

    PROPOSED = "PROPOSED"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What both partners sign: source points convert to target points at an exact rate."""

    source_partner_id: str
    target_partner_id: str
    version: int
    rate: Ratio
    min_source_points: int
    max_source_points: int
    source_increment: int
    member_daily_cap_source_points: int
    fee_basis_points: int | None
    fee_fixed_points: int | None
    valid_from_ms: int
    valid_until_ms: int
    settlement_price_minor: Ratio
    settlement_currency: str

    def fee_for(self, source_points: int) -> int:
        """Return the fee in source points for an amount (basis points rounded down, or fixed)."""
        if self.fee_basis_points is not None:
            return source_points * self.fee_basis_points // MAX_BASIS_POINTS
        return self.fee_fixed_points or 0


def validate_terms(
    *,
    source_partner_id: str,
    target_partner_id: str,
    version: int,
    rate: tuple[int, int],
    min_source_points: int,
    max_source_points: int,
    source_increment: int,
    member_daily_cap_source_points: int,
    fee_basis_points: int | None,
    fee_fixed_points: int | None,
    valid_from_ms: int,
    valid_until_ms: int,
    settlement_price_minor: tuple[int, int],
    settlement_currency: str,
) -> AgreementTerms:
    """Check every term and return them, or raise InvalidArgument naming the first bad field."""
    if source_partner_id == target_partner_id:
        raise InvalidArgument(
            "SAME_PARTNER", "an agreement needs two different partners", field="terms.target_partner_id"
        )
    if version < 1:
        raise InvalidArgument("INVALID_VERSION", "version must be 1 or more", field="terms.version")
    minimum = parse_points(min_source_points, field="terms.min_source_points")
    maximum = parse_points(max_source_points, field="terms.max_source_points")
    if maximum < minimum:
        raise InvalidArgument(
            "MAX_BELOW_MIN", "max_source_points must be at least min_source_points", field="terms.max_source_points"
        )
    increment = parse_points(source_increment, field="terms.source_increment")
    cap = parse_points(member_daily_cap_source_points, field="terms.member_daily_cap_source_points")
    if fee_basis_points is not None and fee_fixed_points is not None:
        raise InvalidArgument(
            "INVALID_FEE", "set one fee: basis points or fixed points", field="terms.fee_fixed_points"
        )
    if fee_basis_points is not None and not 0 <= fee_basis_points <= MAX_BASIS_POINTS:
        raise InvalidArgument(
            "INVALID_FEE", f"fee_basis_points must be 0 to {MAX_BASIS_POINTS}", field="terms.fee_basis_points"
        )
    if fee_fixed_points is not None and not 0 <= fee_fixed_points < minimum:
        raise InvalidArgument(
            "INVALID_FEE",
            "fee_fixed_points must be 0 or more and below min_source_points",
            field="terms.fee_fixed_points",
        )
    if valid_until_ms <= valid_from_ms:
        raise InvalidArgument("EMPTY_VALIDITY", "valid_until must be after valid_from", field="terms.valid_until")
    if valid_until_ms - valid_from_ms > MAX_AGREEMENT_DAYS * DAY_MS:
        raise InvalidArgument(
            "VALIDITY_TOO_LONG", f"an agreement may last at most {MAX_AGREEMENT_DAYS} days", field="terms.valid_until"
        )
    return AgreementTerms(
        source_partner_id=source_partner_id,
        target_partner_id=target_partner_id,
        version=version,
        rate=Ratio.parse(*rate, field="terms.rate"),
        min_source_points=minimum,
        max_source_points=maximum,
        source_increment=increment,
        member_daily_cap_source_points=cap,
        fee_basis_points=fee_basis_points,
        fee_fixed_points=fee_fixed_points,
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
        settlement_price_minor=Ratio.parse(*settlement_price_minor, field="terms.settlement_price_minor"),
        settlement_currency=parse_settlement_currency(settlement_currency, field="terms.settlement_currency"),
    )


@dataclass(frozen=True, slots=True)
class Agreement:
    """One version of an agreement, with the document and both signatures."""

    agreement_id: str
    terms: AgreementTerms
    status: AgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    proposed_at_ms: int
    status_changed_at_ms: int
    acceptor_key_id: str = ""
    acceptor_signature: bytes = b""
    accepted_at_ms: int | None = None
    status_reason: str = ""
    suspended_by: str = ""

    def is_party(self, partner_id: str) -> bool:
        """Return whether the partner is one of the agreement's two sides."""
        return partner_id in (self.terms.source_partner_id, self.terms.target_partner_id)


def require_visible(agreement: Agreement | None, caller: str, agreement_id: str) -> Agreement:
    """Return the agreement if the caller is a party to it; otherwise it does not exist for them."""
    if agreement is None or not agreement.is_party(caller):
        raise NotFound("AGREEMENT_NOT_FOUND", f"no agreement {agreement_id!r}", field="agreement_id")
    return agreement


def expected_version(latest: int | None) -> int:
    """Return the version a new proposal for a pair must carry."""
    return 1 if latest is None else latest + 1


def check_proposal(terms: AgreementTerms, caller: str, latest_version: int | None, target_currency: str) -> None:
    """Refuse a proposal the caller may not make or that does not follow the pair's versions."""
    if terms.source_partner_id != caller:
        raise PermissionDenied(
            "NOT_SOURCE_PARTNER", "only the source partner proposes an agreement", field="terms.source_partner_id"
        )
    if terms.version != expected_version(latest_version):
        raise FailedPrecondition(
            "WRONG_VERSION",
            f"the next version of this pair's agreement is {expected_version(latest_version)}, not {terms.version}",
            field="terms.version",
        )
    if terms.settlement_currency != target_currency:
        raise InvalidArgument(
            "WRONG_SETTLEMENT_CURRENCY",
            f"the settlement currency must be the target partner's, {target_currency}",
            field="terms.settlement_currency",
        )


def accept(agreement: Agreement, *, caller: str, key_id: str, signature: bytes, now_ms: int) -> Agreement:
    """The target partner accepts a proposed agreement (its signature is checked by the caller)."""
    if agreement.terms.target_partner_id != caller:
        raise PermissionDenied("NOT_TARGET_PARTNER", "only the target partner accepts an agreement")
    if agreement.status is not AgreementStatus.PROPOSED:
        raise FailedPrecondition(
            "AGREEMENT_NOT_PROPOSED", f"agreement {agreement.agreement_id!r} is {agreement.status.value}, not PROPOSED"
        )
    return replace(
        agreement,
        status=AgreementStatus.ACTIVE,
        acceptor_key_id=key_id,
        acceptor_signature=signature,
        accepted_at_ms=now_ms,
        status_changed_at_ms=now_ms,
    )


def supersede(agreement: Agreement, now_ms: int) -> Agreement:
    """Mark an older accepted version as replaced by a newer one."""
    return replace(agreement, status=AgreementStatus.SUPERSEDED, status_changed_at_ms=now_ms, suspended_by="")


def suspend(agreement: Agreement, *, caller: str, reason: str, now_ms: int) -> Agreement:
    """Either party pauses an ACTIVE agreement."""
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    _require_status(agreement, AgreementStatus.ACTIVE, "suspend")
    return replace(
        agreement,
        status=AgreementStatus.SUSPENDED,
        status_changed_at_ms=now_ms,
        status_reason=reason,
        suspended_by=caller,
    )


def resume(agreement: Agreement, *, caller: str, now_ms: int) -> Agreement:
    """The party that suspended an agreement resumes it."""
    _require_status(agreement, AgreementStatus.SUSPENDED, "resume")
    if agreement.suspended_by != caller:
        raise PermissionDenied("NOT_SUSPENDER", f"only {agreement.suspended_by!r}, who suspended it, may resume it")
    return replace(
        agreement, status=AgreementStatus.ACTIVE, status_changed_at_ms=now_ms, status_reason="", suspended_by=""
    )


def terminate(agreement: Agreement, *, reason: str, now_ms: int) -> Agreement:
    """Either party ends an agreement for good."""
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    if agreement.status in (AgreementStatus.TERMINATED, AgreementStatus.SUPERSEDED):
        raise FailedPrecondition(
            "AGREEMENT_ENDED", f"agreement {agreement.agreement_id!r} is already {agreement.status.value}"
        )
    return replace(agreement, status=AgreementStatus.TERMINATED, status_changed_at_ms=now_ms, status_reason=reason)


def require_usable(agreement: Agreement | None, now_ms: int) -> Agreement:
    """Return the agreement if conversions may use it now, or raise FailedPrecondition saying why not."""
    if agreement is None:
        raise FailedPrecondition("NO_ACTIVE_AGREEMENT", "there is no accepted agreement with this partner")
    if agreement.status is not AgreementStatus.ACTIVE:
        raise FailedPrecondition(
            "AGREEMENT_NOT_ACTIVE", f"agreement {agreement.agreement_id!r} is {agreement.status.value}"
        )
    if not agreement.terms.valid_from_ms <= now_ms < agreement.terms.valid_until_ms:
        raise FailedPrecondition(
            "AGREEMENT_NOT_IN_FORCE", f"agreement {agreement.agreement_id!r} is outside its validity window"
        )
    return agreement


def _require_status(agreement: Agreement, status: AgreementStatus, action: str) -> None:
    if agreement.status is not status:
        raise FailedPrecondition(
            f"AGREEMENT_NOT_{status.value}",
            f"cannot {action} agreement {agreement.agreement_id!r}: it is {agreement.status.value}",
        )
