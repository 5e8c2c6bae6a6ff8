"""MembershipService: joint paid membership agreements (the seller proposes, every partner signs) and memberships.

Also a partner's membership passes (issue_membership_pass) and vouchers (list_vouchers, redeem_voucher).
"""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import common_pb2
from coalition.exchange.v1 import memberships_pb2 as pb
from partner_sdk._client.connection import PartnerConnection, new_key, whole
from partner_sdk._client.proposals import check_document, check_proposer_signature
from partner_sdk._convert import Names, _enum_value, _optional_time, benefit, benefit_to_proto, to_datetime
from partner_sdk._models import Page, every_page
from partner_sdk.documents import _fraction, epoch_ms
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.memberships import (
    FixedShare,
    GrantState,
    Membership,
    MembershipAgreement,
    MembershipAgreementStatus,
    MembershipPass,
    MembershipSignature,
    MembershipState,
    MembershipTerms,
    PaidTerm,
    PartnerGrant,
    PartnerTerms,
    PriceTier,
    RatioShare,
    RefundRule,
    Share,
    TermLength,
    TermOffer,
    UnknownShare,
    Voucher,
    VoucherState,
    membership_document,
)

_MEMBERSHIPS = "/coalition.exchange.v1.MembershipService/"
TERM_LENGTH: Names[TermLength] = Names(TermLength, pb.TermLength, "TERM_LENGTH_")
REFUND_RULE: Names[RefundRule] = Names(RefundRule, pb.RefundRule, "REFUND_RULE_")
AGREEMENT_STATUS: Names[MembershipAgreementStatus] = Names(
    MembershipAgreementStatus, pb.MembershipAgreementStatus, "MEMBERSHIP_AGREEMENT_STATUS_"
)
MEMBERSHIP_STATE: Names[MembershipState] = Names(MembershipState, pb.MembershipState, "MEMBERSHIP_STATE_")
GRANT_STATE: Names[GrantState] = Names(GrantState, pb.GrantState, "GRANT_STATE_")
VOUCHER_STATE: Names[VoucherState] = Names(VoucherState, pb.VoucherState, "VOUCHER_STATE_")


def term_length(term: TermLength) -> pb.TermLength:
    """Return the TermLength value for "MONTHLY" or "YEARLY" (ValueError otherwise, UNKNOWN included)."""
    return cast(pb.TermLength, _enum_value(pb.TermLength, "TERM_LENGTH_", term))


def _whole_ms(moment: datetime) -> Timestamp:
    """Terms' times are whole milliseconds, as in the signed document (sub-millisecond parts are dropped)."""
    stamp = Timestamp()
    stamp.FromMilliseconds(epoch_ms(moment))
    return stamp


def share_to_proto(term: TermLength, share: Share) -> pb.FeeShare:
    """Return the FeeShare message for a partner's share of one term's fee (its oneof amount set).

    Raises:
        ValueError: the term is UNKNOWN or the share an UnknownShare (newer than this SDK).
    """
    message = pb.FeeShare(term=term_length(term))
    if isinstance(share, FixedShare):
        message.fixed_minor = share.amount_minor
    elif isinstance(share, RatioShare):
        ratio = _fraction("ratio", share.ratio)
        message.ratio.CopyFrom(common_pb2.Ratio(numerator=ratio.numerator, denominator=ratio.denominator))
    else:
        raise ValueError("a share of a kind newer than this SDK (UnknownShare) can't be sent")
    return message


def share(message: pb.FeeShare) -> tuple[TermLength, Share]:
    """Convert a FeeShare message to (term, share); an amount newer than this SDK is an UnknownShare."""
    amount = message.WhichOneof("amount")
    term = TERM_LENGTH.of(message.term)
    if amount == "fixed_minor":
        return term, FixedShare(message.fixed_minor)
    if amount == "ratio":
        return term, RatioShare(Fraction(message.ratio.numerator, message.ratio.denominator))
    return term, UnknownShare()


def terms_to_proto(terms: MembershipTerms) -> pb.MembershipTerms:
    """Return the MembershipTerms message for terms, in their own order (the hub sorts as the document does).

    Raises:
        ValueError: a value is UNKNOWN (newer than this SDK) or a datetime is naive.
    """
    return pb.MembershipTerms(
        programme_id=terms.programme_id,
        version=terms.version,
        name=terms.name,
        seller_partner_id=terms.seller_partner_id,
        currency=terms.currency,
        offers=[
            pb.TermOffer(
                term=term_length(o.term),
                fee_minor=o.fee_minor,
                tiers=[pb.PriceTier(min_score=t.min_score, fee_minor=t.fee_minor) for t in o.tiers],
            )
            for o in terms.offers
        ],
        partners=[
            pb.PartnerTerms(
                partner_id=p.partner_id,
                benefits=[benefit_to_proto(b) for b in p.benefits],
                shares=[share_to_proto(term, s) for term, s in p.shares],
            )
            for p in terms.partners
        ],
        refund_rule=cast(pb.RefundRule, _enum_value(pb.RefundRule, "REFUND_RULE_", terms.refund_rule)),
        grace_days=terms.grace_days,
        valid_from=_whole_ms(terms.valid_from),
        valid_until=_whole_ms(terms.valid_until),
    )


def terms(message: pb.MembershipTerms) -> MembershipTerms:
    """Convert a MembershipTerms message."""
    return MembershipTerms(
        programme_id=message.programme_id,
        version=message.version,
        name=message.name,
        seller_partner_id=message.seller_partner_id,
        currency=message.currency,
        offers=tuple(
            TermOffer(
                term=TERM_LENGTH.of(o.term),
                fee_minor=o.fee_minor,
                tiers=tuple(PriceTier(min_score=t.min_score, fee_minor=t.fee_minor) for t in o.tiers),
            )
            for o in message.offers
        ),
        partners=tuple(
            PartnerTerms(
                partner_id=p.partner_id,
                benefits=tuple(benefit(b) for b in p.benefits),
                shares=tuple(share(s) for s in p.shares),
            )
            for p in message.partners
        ),
        refund_rule=REFUND_RULE.of(message.refund_rule),
        grace_days=message.grace_days,
        valid_from=to_datetime(message.valid_from),
        valid_until=to_datetime(message.valid_until),
    )


def agreement(message: pb.MembershipAgreement) -> MembershipAgreement:
    """Convert a MembershipAgreement message."""
    return MembershipAgreement(
        agreement_id=message.agreement_id,
        terms=terms(message.terms),
        status=AGREEMENT_STATUS.of(message.status),
        document=message.document,
        signatures=tuple(
            MembershipSignature(
                partner_id=s.partner_id, key_id=s.key_id, signature=s.signature, signed_at=to_datetime(s.signed_at)
            )
            for s in message.signatures
        ),
        awaiting_partner_ids=tuple(message.awaiting_partner_ids),
        proposed_at=to_datetime(message.proposed_at),
    )


def membership(message: pb.Membership) -> Membership:
    """Convert a Membership message."""
    return Membership(
        membership_id=message.membership_id,
        programme_id=message.programme_id,
        programme_name=message.programme_name,
        seller_partner_id=message.seller_partner_id,
        member_ref=message.member_ref,
        state=MEMBERSHIP_STATE.of(message.state),
        terms=tuple(
            PaidTerm(
                term=TERM_LENGTH.of(t.term),
                starts_at=to_datetime(t.starts_at),
                ends_at=to_datetime(t.ends_at),
                fee_minor=t.fee_minor,
                score=t.score if t.HasField("score") else None,
                terms_version=t.terms_version,
                refund_minor=t.refund_minor,
            )
            for t in message.terms
        ),
        grace_until=_optional_time(message, "grace_until"),
        ended_at=_optional_time(message, "ended_at"),
        currency=message.currency,
        grants=tuple(
            PartnerGrant(
                partner_id=g.partner_id, state=GRANT_STATE.of(g.state), benefits=tuple(benefit(b) for b in g.benefits)
            )
            for g in message.grants
        ),
        honoured_until=_optional_time(message, "honoured_until"),
    )


def voucher(message: pb.Voucher) -> Voucher:
    """Convert a Voucher message (redeemed_at None until it is redeemed; agreement_id empty for a membership's)."""
    return Voucher(
        voucher_id=message.voucher_id,
        membership_id=message.membership_id,
        funder_partner_id=message.funder_partner_id,
        honouring_partner_id=message.honouring_partner_id,
        member_ref=message.member_ref,
        value_minor=message.value_minor,
        currency=message.currency,
        valid_from=to_datetime(message.valid_from),
        expires_at=to_datetime(message.expires_at),
        state=VOUCHER_STATE.of(message.state),
        redeemed_at=_optional_time(message, "redeemed_at"),
        reference=message.reference,
        agreement_id=message.agreement_id,
    )


def membership_pass(message: pb.MembershipPass) -> MembershipPass:
    """Convert a MembershipPass message, its payload the exact bytes the hub signed."""
    return MembershipPass(payload=message.payload, hub_key_id=message.hub_key_id, signature=message.signature)


def propose_membership_agreement(
    self: PartnerConnection, terms: MembershipTerms, *, timeout_s: float | None = None
) -> MembershipAgreement:
    """Propose a version of a programme's terms as its seller, signed with this client's key.

    The client signs membership_document(terms) with the key that signs the call; every partner
    then checks and signs it (sign_membership_agreement).

    Args:
        terms: the terms; terms.seller_partner_id must be this partner. version is 1 for the
            programme's first, then the latest version plus one.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The new version, PROPOSED, awaiting every partner.

    Raises:
        TypeError: a number in terms is a float or bool.
        ValueError: a datetime is naive, or a value is UNKNOWN (newer than this SDK).
        ExchangeError: the hub refused it (InvalidArgumentError for bad terms, ...).
    """
    request = pb.ProposeMembershipAgreementRequest(
        terms=terms_to_proto(terms), seller_signature=self.sign_document(membership_document(terms))
    )
    answer = self.transport.call(
        _MEMBERSHIPS + "ProposeMembershipAgreement",
        request,
        pb.ProposeMembershipAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def sign_membership_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> MembershipAgreement:
    """Sign a PROPOSED version as one of its partners, after checking what is signed.

    Read it with get_membership_agreement first and sign only terms you agree to: a version is
    never edited, so what you read is what you sign. Before signing, the client checks that the
    hub's document is exactly membership_document(terms) and that the seller's signature over
    it verifies with the seller's registered key.

    Args:
        agreement_id: the PROPOSED version to sign.
        timeout_s: the deadline of each call this makes (the client's default if None).

    Returns:
        The version with this partner's signature; ACTIVE once every partner signed.

    Raises:
        ResponseVerificationError: reason AGREEMENT_DOCUMENT_MISMATCH if the document does not
            match the terms (or the terms hold a value newer than this SDK, which it can't
            check), PROPOSER_SIGNATURE_INVALID if the seller's signature is missing, its key
            unknown or revoked, or it does not verify. Nothing was signed.
        ExchangeError: the hub refused a call.
    """
    proposed = get_membership_agreement(self, agreement_id, timeout_s=timeout_s)
    label = f"membership agreement {agreement_id}"
    check_document(label, proposed.document, lambda: membership_document(proposed.terms))
    seller_id = proposed.terms.seller_partner_id
    by_seller = next((s for s in proposed.signatures if s.partner_id == seller_id), None)
    if by_seller is None:
        raise ResponseVerificationError(
            f"{label}: the seller {seller_id!r} has not signed it", reason="PROPOSER_SIGNATURE_INVALID"
        )
    check_proposer_signature(
        self,
        label=label,
        document=proposed.document,
        proposer_partner_id=seller_id,
        role="seller",
        key_id=by_seller.key_id,
        signature=by_seller.signature,
        timeout_s=timeout_s,
    )
    answer = self.transport.call(
        _MEMBERSHIPS + "SignMembershipAgreement",
        pb.SignMembershipAgreementRequest(agreement_id=agreement_id, signature=self.sign_document(proposed.document)),
        pb.SignMembershipAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def get_membership_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> MembershipAgreement:
    """Return one version of a programme's terms (to its seller and partners only)."""
    answer = self.transport.call(
        _MEMBERSHIPS + "GetMembershipAgreement",
        pb.GetMembershipAgreementRequest(agreement_id=agreement_id),
        pb.GetMembershipAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def enrol(
    self: PartnerConnection,
    programme_id: str,
    *,
    member_ref: str,
    term: TermLength,
    fee_minor: int,
    score: int | None = None,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Membership:
    """As the seller: sell a member a first term of a programme under its active terms.

    Args:
        programme_id: the programme.
        member_ref: your own reference for the member.
        term: "MONTHLY" or "YEARLY", one the programme offers.
        fee_minor: the fee you collected; it must be the agreed fee for the term and score.
        score: the member's score at your brand, as you attest it (prices the tiers); None: none.
        idempotency_key: your key for this enrolment; a retry with it gets the same answer
            (a fresh one protects only this call's own retries).
        timeout_s: this call's deadline in seconds.

    Returns:
        The new membership, ACTIVE.

    Raises:
        TypeError: fee_minor or score is not an int.
        ValueError: term is not MONTHLY or YEARLY.
        ExchangeError: the hub refused it (FailedPreconditionError FEE_MISMATCH, ...).
    """
    request = pb.EnrolRequest(
        programme_id=programme_id,
        member_ref=member_ref,
        term=term_length(term),
        fee_minor=whole("fee_minor", fee_minor),
        idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-enrol-"),
    )
    if score is not None:
        request.score = whole("score", score)
    answer = self.transport.call(_MEMBERSHIPS + "Enrol", request, pb.EnrolResponse, timeout_s=timeout_s)
    return membership(answer.membership)


def renew_membership(
    self: PartnerConnection,
    membership_id: str,
    *,
    term: TermLength,
    fee_minor: int,
    score: int | None = None,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Membership:
    """As the seller: sell the next term, starting where the current one ends (also out of IN_GRACE).

    Args:
        membership_id: the membership.
        term: "MONTHLY" or "YEARLY".
        fee_minor: the fee you collected; it must be the agreed fee for the term and score.
        score: the member's score at your brand now; None: none.
        idempotency_key: your key for this renewal; a retry with it gets the same answer.
        timeout_s: this call's deadline in seconds.

    Returns:
        The membership, ACTIVE, with the new term.
    """
    request = pb.RenewMembershipRequest(
        membership_id=membership_id,
        term=term_length(term),
        fee_minor=whole("fee_minor", fee_minor),
        idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-renew-"),
    )
    if score is not None:
        request.score = whole("score", score)
    answer = self.transport.call(
        _MEMBERSHIPS + "RenewMembership", request, pb.RenewMembershipResponse, timeout_s=timeout_s
    )
    return membership(answer.membership)


def report_renewal_failure(
    self: PartnerConnection, membership_id: str, *, timeout_s: float | None = None
) -> Membership:
    """As the seller: the next term's fee could not be collected; the membership is IN_GRACE, then lapses."""
    answer = self.transport.call(
        _MEMBERSHIPS + "ReportRenewalFailure",
        pb.ReportRenewalFailureRequest(membership_id=membership_id),
        pb.ReportRenewalFailureResponse,
        timeout_s=timeout_s,
    )
    return membership(answer.membership)


def cancel_membership(
    self: PartnerConnection,
    membership_id: str,
    *,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Membership:
    """As the seller: end a membership now, refunding the member by the agreement's refund rule.

    Args:
        membership_id: the membership.
        idempotency_key: your key for this cancellation; a retry with it gets the same answer.
        timeout_s: this call's deadline in seconds.

    Returns:
        The membership, CANCELLED, with each term's refund_minor.
    """
    answer = self.transport.call(
        _MEMBERSHIPS + "CancelMembership",
        pb.CancelMembershipRequest(
            membership_id=membership_id,
            idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-cancel-"),
        ),
        pb.CancelMembershipResponse,
        timeout_s=timeout_s,
    )
    return membership(answer.membership)


def get_membership(self: PartnerConnection, membership_id: str, *, timeout_s: float | None = None) -> Membership:
    """Return a membership: to its seller, and to a partner of its programme (with only its own grant)."""
    answer = self.transport.call(
        _MEMBERSHIPS + "GetMembership",
        pb.GetMembershipRequest(membership_id=membership_id),
        pb.GetMembershipResponse,
        timeout_s=timeout_s,
    )
    return membership(answer.membership)


def list_memberships(
    self: PartnerConnection, member_ref: str, *, timeout_s: float | None = None
) -> tuple[Membership, ...]:
    """Return your member's memberships you sell or honour, newest first (at most 100): what your app shows them."""
    answer = self.transport.call(
        _MEMBERSHIPS + "ListMemberships",
        pb.ListMembershipsRequest(member_ref=member_ref),
        pb.ListMembershipsResponse,
        timeout_s=timeout_s,
    )
    return tuple(membership(m) for m in answer.memberships)


def issue_membership_pass(
    self: PartnerConnection, membership_id: str, *, timeout_s: float | None = None
) -> MembershipPass:
    """As a partner: get a short-lived pass, signed by the hub, for a membership whose benefits you honour.

    Your checkout checks it offline with verify_membership_pass (the hub's public key and your
    partner id) and honours the benefits it names until it expires (at most 15 minutes), with no
    call to the hub per purchase.

    Args:
        membership_id: the membership; the member must be linked to you.
        timeout_s: this call's deadline in seconds.

    Returns:
        The pass, unverified: verify it before honouring it.

    Raises:
        ExchangeError: the hub refused it (NotFoundError, FailedPreconditionError, ...).
    """
    answer = self.transport.call(
        _MEMBERSHIPS + "IssueMembershipPass",
        pb.IssueMembershipPassRequest(membership_id=membership_id),
        pb.IssueMembershipPassResponse,
        timeout_s=timeout_s,
    )
    return membership_pass(answer.membership_pass)


def list_vouchers(
    self: PartnerConnection,
    membership_id: str,
    *,
    page_size: int = 0,
    page_token: str = "",
    timeout_s: float | None = None,
) -> Page[Voucher]:
    """Return one page of a membership's vouchers, oldest first: every one to the seller, its own to a partner.

    Args:
        membership_id: the membership.
        page_size: the most to return; 0 lets the hub choose (50); at most 200.
        page_token: the previous page's next_page_token; empty for the first page.
        timeout_s: this call's deadline in seconds.
    """
    answer = self.transport.call(
        _MEMBERSHIPS + "ListVouchers",
        pb.ListVouchersRequest(membership_id=membership_id, page_size=page_size, page_token=page_token),
        pb.ListVouchersResponse,
        timeout_s=timeout_s,
    )
    return Page(tuple(voucher(v) for v in answer.vouchers), answer.next_page_token)


def iter_vouchers(self: PartnerConnection, membership_id: str, *, page_size: int = 0) -> Iterator[Voucher]:
    """Yield every voucher list_vouchers would page through, fetching pages as needed."""
    return every_page(lambda token: list_vouchers(self, membership_id, page_size=page_size, page_token=token))


def redeem_voucher(
    self: PartnerConnection,
    voucher_id: str,
    *,
    reference: str,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Voucher:
    """As the honouring partner: redeem a voucher the member showed, once, whatever races it.

    Args:
        voucher_id: the voucher ("vch-...").
        reference: your reference for the purchase it was used on (your order number), 1 to 128
            characters.
        idempotency_key: your key for this redemption; a retry with it gets the same answer
            (a fresh one protects only this call's own retries).
        timeout_s: this call's deadline in seconds.

    Returns:
        The voucher, REDEEMED.

    Raises:
        ExchangeError: the hub refused it: FailedPreconditionError VOUCHER_ALREADY_REDEEMED,
            VOUCHER_EXPIRED or VOUCHER_NOT_YET_VALID, PermissionDeniedError NOT_HONOURING_PARTNER,
            NotFoundError VOUCHER_NOT_FOUND, ...
    """
    answer = self.transport.call(
        _MEMBERSHIPS + "RedeemVoucher",
        pb.RedeemVoucherRequest(
            voucher_id=voucher_id,
            reference=reference,
            idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-redeem-voucher-"),
        ),
        pb.RedeemVoucherResponse,
        timeout_s=timeout_s,
    )
    return voucher(answer.voucher)
