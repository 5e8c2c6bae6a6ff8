"""AgreementService: proposing, checking and accepting, reading and ending agreements between two brands."""

# Each call's first parameter, self, is the client it is bound to (partner_sdk/_client/__init__.py):
# its docstring's Args name the caller's arguments only.
# ruff: noqa: D417

from __future__ import annotations

from collections.abc import Iterator

from coalition.exchange.v1 import agreements_pb2
from partner_sdk import _convert, signing
from partner_sdk._client import registry
from partner_sdk._client.connection import PartnerConnection
from partner_sdk._models import Agreement, AgreementTerms, Page, every_page
from partner_sdk.documents import agreement_document
from partner_sdk.errors import ResponseVerificationError

_AGREEMENTS = "/coalition.exchange.v1.AgreementService/"


def propose_agreement(self: PartnerConnection, terms: AgreementTerms, *, timeout_s: float | None = None) -> Agreement:
    """Propose an agreement version as its source partner, signed with this client's key.

    The client signs agreement_document(terms) with the key that signs the call; the
    target partner then checks and accepts it (accept_agreement).

    Args:
        terms: the terms; terms.source_partner_id must be this partner. version is 1 for
            the pair's first agreement, then the previous version plus one.
        timeout_s: this call's deadline in seconds (the client's default if None).

    Returns:
        The new agreement version, PROPOSED.

    Raises:
        TypeError: a number in terms is a float or bool.
        ValueError: a datetime is naive or both fees are set.
        ExchangeError: the hub refused it (InvalidArgumentError for bad terms, ...).
    """
    document = agreement_document(terms)
    request = agreements_pb2.ProposeAgreementRequest(
        terms=_convert.agreement_terms_to_proto(terms),
        proposer_signature=self.transport.private_key.sign(document),
    )
    answer = self.transport.call(
        _AGREEMENTS + "ProposeAgreement", request, agreements_pb2.ProposeAgreementResponse, timeout_s=timeout_s
    )
    return _convert.agreement(answer.agreement)


def accept_agreement(self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None) -> Agreement:
    """Accept a PROPOSED agreement as its target partner, after checking what is signed.

    Read it with get_agreement first and accept only terms you agree to: a version is
    never edited, so what you read is what you sign. Before signing, the client checks that
    the hub's document is exactly agreement_document(terms) and that the proposer's
    signature over it verifies with the proposer's registered key.

    Args:
        agreement_id: the PROPOSED version to accept.
        timeout_s: the deadline of each call this makes (the client's default if None).

    Returns:
        The agreement, ACTIVE.

    Raises:
        ResponseVerificationError: reason AGREEMENT_DOCUMENT_MISMATCH if the document does
            not match the terms, PROPOSER_SIGNATURE_INVALID if the proposer's key is
            unknown or revoked or its signature does not verify. Nothing was signed.
        ExchangeError: the hub refused a call.
    """
    proposed = get_agreement(self, agreement_id, timeout_s=timeout_s)
    if proposed.document != agreement_document(proposed.terms):
        raise ResponseVerificationError(
            f"agreement {agreement_id}: the hub's document does not match its terms",
            reason="AGREEMENT_DOCUMENT_MISMATCH",
        )
    proposer = registry.get_partner(self, proposed.terms.source_partner_id, timeout_s=timeout_s)
    key = next((k for k in proposer.keys if k.key_id == proposed.proposer_key_id), None)
    if key is None or key.state == "REVOKED":
        problem = "is not registered" if key is None else "was revoked"
        raise ResponseVerificationError(
            f"agreement {agreement_id}: the proposer's key {proposed.proposer_key_id!r} {problem}",
            reason="PROPOSER_SIGNATURE_INVALID",
        )
    if not signing.verify(key.public_key, proposed.proposer_signature, proposed.document):
        raise ResponseVerificationError(
            f"agreement {agreement_id}: the proposer's signature does not verify",
            reason="PROPOSER_SIGNATURE_INVALID",
        )
    request = agreements_pb2.AcceptAgreementRequest(
        agreement_id=agreement_id, acceptor_signature=self.transport.private_key.sign(proposed.document)
    )
    answer = self.transport.call(
        _AGREEMENTS + "AcceptAgreement", request, agreements_pb2.AcceptAgreementResponse, timeout_s=timeout_s
    )
    return _convert.agreement(answer.agreement)


def get_agreement(self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None) -> Agreement:
    """Return one agreement version this partner is a party to."""
    answer = self.transport.call(
        _AGREEMENTS + "GetAgreement",
        agreements_pb2.GetAgreementRequest(agreement_id=agreement_id),
        agreements_pb2.GetAgreementResponse,
        timeout_s=timeout_s,
    )
    return _convert.agreement(answer.agreement)


def list_agreements(
    self: PartnerConnection,
    *,
    counterparty_id: str | None = None,
    status: str | None = None,
    page_size: int = 0,
    page_token: str = "",
    timeout_s: float | None = None,
) -> Page[Agreement]:
    """Return one page of this partner's agreements, newest first.

    Args:
        counterparty_id: only agreements with this partner.
        status: only PROPOSED, ACTIVE, SUSPENDED, TERMINATED or SUPERSEDED ones.
        page_size: the most to return; 0 lets the hub choose (50).
        page_token: the previous page's next_page_token; empty for the first page.
        timeout_s: this call's deadline in seconds.
    """
    request = agreements_pb2.ListAgreementsRequest(
        counterparty_id=counterparty_id or "", page_size=page_size, page_token=page_token
    )
    if status is not None:
        request.status = _convert.agreement_status(status)
    answer = self.transport.call(
        _AGREEMENTS + "ListAgreements", request, agreements_pb2.ListAgreementsResponse, timeout_s=timeout_s
    )
    return Page(tuple(_convert.agreement(a) for a in answer.agreements), answer.next_page_token)


def iter_agreements(
    self: PartnerConnection, *, counterparty_id: str | None = None, status: str | None = None, page_size: int = 0
) -> Iterator[Agreement]:
    """Yield every agreement list_agreements would page through, fetching pages as needed."""
    return every_page(
        lambda token: list_agreements(
            self, counterparty_id=counterparty_id, status=status, page_size=page_size, page_token=token
        )
    )


def suspend_agreement(
    self: PartnerConnection, agreement_id: str, *, reason: str, timeout_s: float | None = None
) -> Agreement:
    """Suspend an ACTIVE agreement (either party): no quotes or conversions until resumed."""
    answer = self.transport.call(
        _AGREEMENTS + "SuspendAgreement",
        agreements_pb2.SuspendAgreementRequest(agreement_id=agreement_id, reason=reason),
        agreements_pb2.SuspendAgreementResponse,
        timeout_s=timeout_s,
    )
    return _convert.agreement(answer.agreement)


def resume_agreement(self: PartnerConnection, agreement_id: str, *, timeout_s: float | None = None) -> Agreement:
    """Resume a SUSPENDED agreement (only the party that suspended it)."""
    answer = self.transport.call(
        _AGREEMENTS + "ResumeAgreement",
        agreements_pb2.ResumeAgreementRequest(agreement_id=agreement_id),
        agreements_pb2.ResumeAgreementResponse,
        timeout_s=timeout_s,
    )
    return _convert.agreement(answer.agreement)


def terminate_agreement(
    self: PartnerConnection, agreement_id: str, *, reason: str, timeout_s: float | None = None
) -> Agreement:
    """End an agreement for good (PROPOSED, ACTIVE or SUSPENDED; either party)."""
    answer = self.transport.call(
        _AGREEMENTS + "TerminateAgreement",
        agreements_pb2.TerminateAgreementRequest(agreement_id=agreement_id, reason=reason),
        agreements_pb2.TerminateAgreementResponse,
        timeout_s=timeout_s,
    )
    return _convert.agreement(answer.agreement)
