"""Vouchers one brand funds and another honours under a voucher agreement of their own (outside any membership).

The funder proposes the terms (a voucher's value and currency, how long one stays valid, how many
it may issue a UTC calendar month, when the terms are in force) and signs the canonical document;
the honouring brand accepts by signing the same bytes, and the pair's previous ACTIVE version is
SUPERSEDED. Under the active version the funder issues a voucher to one of its members; it is
redeemed like a membership's (exchange.domain.vouchers.redeem), and the funder then owes the
honouring brand its value (a VOUCHER_REDEMPTION movement). An unused voucher expires: breakage,
kept by the funder, as for a membership's.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, replace

from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS, expected_version
from exchange.domain.currency import parse_settlement_currency
from exchange.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted
from exchange.domain.membership_terms import MAX_VOUCHER_VALIDITY_DAYS
from exchange.domain.money import MAX_MINOR_UNITS
from exchange.domain.partners import parse_partner_id
from exchange.domain.vouchers import Voucher

VOUCHER_AGREEMENT_FORMAT = "coalition-voucher-agreement/1"
MAX_MONTHLY_LIMIT = 1_000_000


@dataclass(frozen=True, slots=True)
class VoucherTerms:
    """What the funder and the honouring brand sign."""

    funder_partner_id: str
    honouring_partner_id: str
    version: int
    value_minor: int
    currency: str
    validity_days: int
    monthly_limit: int
    valid_from_ms: int
    valid_until_ms: int

    def in_force_at(self, now_ms: int) -> bool:
        """Whether vouchers may be issued under these terms at now_ms."""
        return self.valid_from_ms <= now_ms < self.valid_until_ms


def validate_terms(
    *,
    funder_partner_id: str,
    honouring_partner_id: str,
    version: int,
    value_minor: int,
    currency: str,
    validity_days: int,
    monthly_limit: int,
    valid_from_ms: int,
    valid_until_ms: int,
) -> VoucherTerms:
    """Check the terms field by field and return them normalised; InvalidArgument on the first fault."""
    funder = parse_partner_id(funder_partner_id, field="terms.funder_partner_id")
    honouring = parse_partner_id(honouring_partner_id, field="terms.honouring_partner_id")
    if funder == honouring:
        raise InvalidArgument("SAME_PARTNER", "a brand honours its own vouchers without an agreement", field="terms")
    _between("version", version, 1, 2**31, "INVALID_VERSION")
    _between("value_minor", value_minor, 1, MAX_MINOR_UNITS, "INVALID_VALUE")
    _between("validity_days", validity_days, 1, MAX_VOUCHER_VALIDITY_DAYS, "INVALID_VOUCHER_VALIDITY")
    _between("monthly_limit", monthly_limit, 1, MAX_MONTHLY_LIMIT, "INVALID_MONTHLY_LIMIT")
    if valid_until_ms <= valid_from_ms:
        raise InvalidArgument("EMPTY_VALIDITY", "valid_until must be after valid_from", field="terms.valid_until")
    if valid_until_ms - valid_from_ms > MAX_AGREEMENT_DAYS * DAY_MS:
        raise InvalidArgument(
            "VALIDITY_TOO_LONG", f"an agreement may last at most {MAX_AGREEMENT_DAYS} days", field="terms.valid_until"
        )
    return VoucherTerms(
        funder_partner_id=funder,
        honouring_partner_id=honouring,
        version=version,
        value_minor=value_minor,
        currency=parse_settlement_currency(currency, field="terms.currency"),
        validity_days=validity_days,
        monthly_limit=monthly_limit,
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
    )


def _between(name: str, value: int, low: int, high: int, reason: str) -> None:
    if type(value) is not int or not low <= value <= high:
        raise InvalidArgument(reason, f"{name} must be an integer from {low} to {high}", field=f"terms.{name}")


def document_of(terms: VoucherTerms) -> bytes:
    """The canonical document both brands sign: sorted keys, no spaces, ASCII, integers only."""
    value = {
        "format": VOUCHER_AGREEMENT_FORMAT,
        "funder_partner_id": terms.funder_partner_id,
        "honouring_partner_id": terms.honouring_partner_id,
        "version": terms.version,
        "value_minor": terms.value_minor,
        "currency": terms.currency,
        "validity_days": terms.validity_days,
        "monthly_limit": terms.monthly_limit,
        "valid_from_ms": terms.valid_from_ms,
        "valid_until_ms": terms.valid_until_ms,
    }
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def terms_of_document(document: bytes) -> VoucherTerms:
    """Read the terms back from their canonical document (refused if it is not one document_of writes)."""
    try:
        value = json.loads(document)
        terms = validate_terms(**{k: v for k, v in value.items() if k != "format"})
    except (ValueError, TypeError) as exc:
        raise InvalidArgument("MALFORMED_DOCUMENT", f"not a voucher agreement document: {exc}") from exc
    if value.get("format") != VOUCHER_AGREEMENT_FORMAT or document_of(terms) != document:
        raise InvalidArgument("MALFORMED_DOCUMENT", "the document is not a canonical voucher agreement")
    return terms


class VoucherAgreementStatus(enum.Enum):
    """Where a voucher agreement version stands."""

    PROPOSED = "PROPOSED"
    ACTIVE = "ACTIVE"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True, slots=True)
class VoucherAgreement:
    """One version of a pair's voucher agreement with both signatures."""

    agreement_id: str
    terms: VoucherTerms
    status: VoucherAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    proposed_at_ms: int
    status_changed_at_ms: int
    acceptor_key_id: str = ""
    acceptor_signature: bytes = b""

    def is_party(self, partner_id: str) -> bool:
        """Whether the brand is the funder or the honouring brand."""
        return partner_id in (self.terms.funder_partner_id, self.terms.honouring_partner_id)


def require_visible(agreement: VoucherAgreement | None, caller: str, agreement_id: str) -> VoucherAgreement:
    """Return the version to one of its two brands; to anyone else it does not exist."""
    if agreement is None or not agreement.is_party(caller):
        raise NotFound("VOUCHER_AGREEMENT_NOT_FOUND", f"no voucher agreement {agreement_id!r}", field="agreement_id")
    return agreement


def propose(
    terms: VoucherTerms,
    *,
    agreement_id: str,
    caller: str,
    key_id: str,
    signature: bytes,
    latest_version: int | None,
    now_ms: int,
) -> VoucherAgreement:
    """The funder proposes the pair's next version (its signature over document_of(terms) checked by the caller)."""
    if caller != terms.funder_partner_id:
        raise PermissionDenied("NOT_FUNDER", "only the funding brand proposes voucher terms", field="terms")
    if terms.version != expected_version(latest_version):
        raise FailedPrecondition(
            "WRONG_VERSION",
            f"the next version of this pair's voucher terms is {expected_version(latest_version)}",
            field="terms.version",
        )
    return VoucherAgreement(
        agreement_id, terms, VoucherAgreementStatus.PROPOSED, document_of(terms), key_id, signature, now_ms, now_ms
    )


def accept(
    agreement: VoucherAgreement,
    *,
    caller: str,
    key_id: str,
    signature: bytes,
    now_ms: int,
    active: VoucherAgreement | None,
) -> tuple[VoucherAgreement, VoucherAgreement | None]:
    """The honouring brand accepts a proposed version: it ACTIVE, the pair's previous one SUPERSEDED."""
    if caller != agreement.terms.honouring_partner_id:
        raise PermissionDenied("NOT_HONOURING_PARTNER", "only the honouring brand accepts voucher terms")
    if agreement.status is not VoucherAgreementStatus.PROPOSED:
        raise FailedPrecondition(
            "AGREEMENT_NOT_PROPOSED", f"agreement {agreement.agreement_id!r} is {agreement.status.value}"
        )
    if active is not None and active.terms.version > agreement.terms.version:
        raise FailedPrecondition(
            "AGREEMENT_SUPERSEDED", f"version {active.terms.version} is in force already", field="agreement_id"
        )
    accepted = replace(
        agreement,
        status=VoucherAgreementStatus.ACTIVE,
        acceptor_key_id=key_id,
        acceptor_signature=signature,
        status_changed_at_ms=now_ms,
    )
    superseded = (
        None
        if active is None
        else replace(active, status=VoucherAgreementStatus.SUPERSEDED, status_changed_at_ms=now_ms)
    )
    return accepted, superseded


def issue(
    agreement: VoucherAgreement, *, voucher_id: str, member_ref: str, issued_this_month: int, now_ms: int
) -> Voucher:
    """A voucher the funder gives its member under the active agreement, valid from now for validity_days."""
    terms = agreement.terms
    if not terms.in_force_at(now_ms):
        raise FailedPrecondition("AGREEMENT_NOT_IN_FORCE", "the voucher agreement is not in force now")
    if issued_this_month >= terms.monthly_limit:
        raise ResourceExhausted(
            "MONTHLY_LIMIT", f"{terms.monthly_limit} vouchers were issued this month under the agreement"
        )
    return Voucher(
        voucher_id=voucher_id,
        membership_id="",
        funder_partner_id=terms.funder_partner_id,
        honouring_partner_id=terms.honouring_partner_id,
        member_ref=member_ref,
        value_minor=terms.value_minor,
        currency=terms.currency,
        issued_at_ms=now_ms,
        expires_at_ms=now_ms + terms.validity_days * DAY_MS,
        agreement_id=agreement.agreement_id,
    )
