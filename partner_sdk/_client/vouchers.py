"""VoucherService: voucher agreements between a funder and an honouring brand, and the vouchers issued under them.

A voucher of either kind is redeemed with redeem_voucher (partner_sdk/_client/memberships.py).
"""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import vouchers_pb2 as pb
from partner_sdk._client.connection import PartnerConnection, new_key
from partner_sdk._client.memberships import voucher
from partner_sdk._client.proposals import check_document, check_proposer_signature
from partner_sdk._convert import Names, to_datetime
from partner_sdk.documents import epoch_ms
from partner_sdk.memberships import (
    Voucher,
    VoucherAgreement,
    VoucherAgreementStatus,
    VoucherTerms,
    voucher_agreement_document,
)

_VOUCHERS = "/coalition.exchange.v1.VoucherService/"
AGREEMENT_STATUS: Names[VoucherAgreementStatus] = Names(
    VoucherAgreementStatus, pb.VoucherAgreementStatus, "VOUCHER_AGREEMENT_STATUS_"
)


def _whole_ms(moment: datetime) -> Timestamp:
    """Terms' times are whole milliseconds, as in the signed document (sub-millisecond parts are dropped)."""
    stamp = Timestamp()
    stamp.FromMilliseconds(epoch_ms(moment))
    return stamp


def terms_to_proto(terms: VoucherTerms) -> pb.VoucherTerms:
    """Return the VoucherTerms message for terms.

    Raises:
        ValueError: a datetime is naive.
    """
    return pb.VoucherTerms(
        funder_partner_id=terms.funder_partner_id,
        honouring_partner_id=terms.honouring_partner_id,
        version=terms.version,
        value_minor=terms.value_minor,
        currency=terms.currency,
        validity_days=terms.validity_days,
        monthly_limit=terms.monthly_limit,
        valid_from=_whole_ms(terms.valid_from),
        valid_until=_whole_ms(terms.valid_until),
    )


def terms(message: pb.VoucherTerms) -> VoucherTerms:
    """Convert a VoucherTerms message."""
    return VoucherTerms(
        funder_partner_id=message.funder_partner_id,
        honouring_partner_id=message.honouring_partner_id,
        version=message.version,
        value_minor=message.value_minor,
        currency=message.currency,
        validity_days=message.validity_days,
        monthly_limit=message.monthly_limit,
        valid_from=to_datetime(message.valid_from),
        valid_until=to_datetime(message.valid_until),
    )


def agreement(message: pb.VoucherAgreement) -> VoucherAgreement:
    """Convert a VoucherAgreement message."""
    return VoucherAgreement(
        agreement_id=message.agreement_id,
        terms=terms(message.terms),
        status=AGREEMENT_STATUS.of(message.status),
        document=message.document,
        proposer_key_id=message.proposer_key_id,
        proposer_signature=message.proposer_signature,
        acceptor_key_id=message.acceptor_key_id,
        acceptor_signature=message.acceptor_signature,
        proposed_at=to_datetime(message.proposed_at),
    )


def propose_voucher_agreement(
    self: PartnerConnection, terms: VoucherTerms, *, timeout_s: float | None = None
) -> VoucherAgreement:
    """Propose a version of a pair's voucher terms as its funder, signed with this client's key.

    The client signs voucher_agreement_document(terms) with the key that signs the call; the
    honouring brand then checks and accepts it (accept_voucher_agreement).

    Args:
        terms: the terms; terms.funder_partner_id must be this partner. version is 1 for the
            pair's first, then the latest version plus one.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The new version, PROPOSED.

    Raises:
        TypeError: a number in terms is a float or bool.
        ValueError: a datetime is naive.
        ExchangeError: the hub refused it (InvalidArgumentError for bad terms, ...).
    """
    request = pb.ProposeVoucherAgreementRequest(
        terms=terms_to_proto(terms), proposer_signature=self.sign_document(voucher_agreement_document(terms))
    )
    answer = self.transport.call(
        _VOUCHERS + "ProposeVoucherAgreement", request, pb.ProposeVoucherAgreementResponse, timeout_s=timeout_s
    )
    return agreement(answer.agreement)


def accept_voucher_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> VoucherAgreement:
    """Accept a PROPOSED version as its honouring brand, after checking what is signed.

    Read it with get_voucher_agreement first and accept only terms you agree to: a version is
    never edited, so what you read is what you sign. Before signing, the client checks that the
    hub's document is exactly voucher_agreement_document(terms) and that the funder's signature
    over it verifies with the funder's registered key.

    Args:
        agreement_id: the PROPOSED version to accept.
        timeout_s: the deadline of each call this makes (the client's default if None).

    Returns:
        The version, ACTIVE (the pair's previous ACTIVE version is SUPERSEDED).

    Raises:
        ResponseVerificationError: reason AGREEMENT_DOCUMENT_MISMATCH if the document does not
            match the terms, PROPOSER_SIGNATURE_INVALID if the funder's key is unknown or revoked
            or its signature does not verify. Nothing was signed.
        ExchangeError: the hub refused a call.
    """
    proposed = get_voucher_agreement(self, agreement_id, timeout_s=timeout_s)
    label = f"voucher agreement {agreement_id}"
    check_document(label, proposed.document, lambda: voucher_agreement_document(proposed.terms))
    check_proposer_signature(
        self,
        label=label,
        document=proposed.document,
        proposer_partner_id=proposed.terms.funder_partner_id,
        role="funder",
        key_id=proposed.proposer_key_id,
        signature=proposed.proposer_signature,
        timeout_s=timeout_s,
    )
    answer = self.transport.call(
        _VOUCHERS + "AcceptVoucherAgreement",
        pb.AcceptVoucherAgreementRequest(
            agreement_id=agreement_id, acceptor_signature=self.sign_document(proposed.document)
        ),
        pb.AcceptVoucherAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def get_voucher_agreement(
    self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None
) -> VoucherAgreement:
    """Return one version of a pair's voucher terms (to its two brands only)."""
    answer = self.transport.call(
        _VOUCHERS + "GetVoucherAgreement",
        pb.GetVoucherAgreementRequest(agreement_id=agreement_id),
        pb.GetVoucherAgreementResponse,
        timeout_s=timeout_s,
    )
    return agreement(answer.agreement)


def issue_voucher(
    self: PartnerConnection,
    honouring_partner_id: str,
    *,
    member_ref: str,
    idempotency_key: str | None = None,
    timeout_s: float | None = None,
) -> Voucher:
    """As the funder: give one of your members a voucher to use at the honouring brand.

    The pair's ACTIVE voucher agreement sets its value, currency and validity; the member must
    stand with both brands, and the agreement's monthly limit must not be reached.

    Args:
        honouring_partner_id: the brand that will honour it.
        member_ref: your own reference for the member.
        idempotency_key: your key for this issue; a retry with it gets the same voucher (a
            fresh one protects only this call's own retries).
        timeout_s: this call's deadline in seconds.

    Returns:
        The voucher, ISSUED, its agreement_id the agreement it was issued under.

    Raises:
        ExchangeError: the hub refused it (FailedPreconditionError when there is no active
            agreement or the monthly limit is reached, ...).
    """
    answer = self.transport.call(
        _VOUCHERS + "IssueVoucher",
        pb.IssueVoucherRequest(
            honouring_partner_id=honouring_partner_id,
            member_ref=member_ref,
            idempotency_key=idempotency_key if idempotency_key is not None else new_key("sdk-issue-voucher-"),
        ),
        pb.IssueVoucherResponse,
        timeout_s=timeout_s,
    )
    return voucher(answer.voucher)


def get_voucher(self: PartnerConnection, voucher_id: str, *, timeout_s: float | None = None) -> Voucher:
    """Return a voucher to its funder or the brand that honours it, the member named by your own reference."""
    answer = self.transport.call(
        _VOUCHERS + "GetVoucher",
        pb.GetVoucherRequest(voucher_id=voucher_id),
        pb.GetVoucherResponse,
        timeout_s=timeout_s,
    )
    return voucher(answer.voucher)
