"""Agreements through a real server: signed by both sides, versioned, never edited in place."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from coalition.exchange.v1 import agreements_pb2
from partner_sdk import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    agreement_document,
    generate_private_key,
    signing,
)
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair, terms


def test_an_agreement_proposed_and_accepted_keeps_both_signatures_over_one_document(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    agreement = pair.agreement
    assert agreement.status == "ACTIVE"
    assert agreement.document == agreement_document(agreement.terms)
    source_key = pair.source.get_partner("stride").keys[0].public_key
    target_key = pair.target.get_partner("voltline").keys[0].public_key
    assert signing.verify(source_key, agreement.proposer_signature, agreement.document)
    assert signing.verify(target_key, agreement.acceptor_signature, agreement.document)
    assert pair.source.get_agreement(agreement.agreement_id) == agreement


def test_a_new_version_supersedes_the_old_one_which_is_never_edited(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    v1 = pair.agreement
    v2 = pair.source.propose_agreement(replace(v1.terms, version=2, rate=v1.terms.rate * 2))
    assert pair.source.get_agreement(v1.agreement_id).status == "ACTIVE"  # until v2 is accepted
    pair.target.accept_agreement(v2.agreement_id)
    old = pair.source.get_agreement(v1.agreement_id)
    assert old.status == "SUPERSEDED"
    assert (old.terms, old.document, old.proposer_signature) == (v1.terms, v1.document, v1.proposer_signature)
    assert pair.source.quote_conversion("voltline", 100).agreement_version == 2


def test_a_proposal_must_carry_the_next_version(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.propose_agreement(replace(pair.agreement.terms, version=3))
    assert refused.value.reason == "WRONG_VERSION"


def test_an_older_proposal_cannot_be_accepted_over_a_newer_accepted_version(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    v2 = pair.source.propose_agreement(replace(pair.agreement.terms, version=2))
    v3 = pair.source.propose_agreement(replace(pair.agreement.terms, version=3))
    pair.target.accept_agreement(v3.agreement_id)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.accept_agreement(v2.agreement_id)
    assert refused.value.reason == "AGREEMENT_OUTDATED"


def test_only_the_source_proposes_and_only_the_target_accepts(hub: RunningHub) -> None:
    source, _ = hub.active_partner("stride")
    target, _ = hub.active_partner("voltline", currency="GBP")
    with pytest.raises(PermissionDeniedError) as refused:
        target.propose_agreement(terms())
    assert refused.value.reason == "NOT_SOURCE_PARTNER"
    proposed = source.propose_agreement(terms())
    with pytest.raises(PermissionDeniedError) as refused:
        source.transport.call(
            "/coalition.exchange.v1.AgreementService/AcceptAgreement",
            agreements_pb2.AcceptAgreementRequest(agreement_id=proposed.agreement_id, acceptor_signature=b"x" * 64),
            agreements_pb2.AcceptAgreementResponse,
        )
    assert refused.value.reason == "NOT_TARGET_PARTNER"


def test_a_signature_over_other_terms_is_refused(hub: RunningHub) -> None:
    from partner_sdk import _convert

    source, key = hub.active_partner("stride")
    hub.active_partner("voltline", currency="GBP")
    signed = terms()
    sent = replace(signed, max_source_points=999_999)
    with pytest.raises(InvalidArgumentError) as refused:
        source.transport.call(
            "/coalition.exchange.v1.AgreementService/ProposeAgreement",
            agreements_pb2.ProposeAgreementRequest(
                terms=_convert.agreement_terms_to_proto(sent), proposer_signature=key.sign(agreement_document(signed))
            ),
            agreements_pb2.ProposeAgreementResponse,
        )
    assert refused.value.reason == "BAD_DOCUMENT_SIGNATURE"


def test_a_third_partner_cannot_see_an_agreement(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    outsider, _ = hub.active_partner("brewhaus", currency="USD")
    with pytest.raises(NotFoundError):
        outsider.get_agreement(pair.agreement.agreement_id)
    assert outsider.list_agreements().items == ()


def test_suspension_stops_quotes_until_the_suspender_resumes(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    agreement_id = pair.agreement.agreement_id
    assert pair.target.suspend_agreement(agreement_id, reason="audit").status == "SUSPENDED"
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.quote_conversion("voltline", 100)
    assert refused.value.reason == "NO_ACTIVE_AGREEMENT"
    with pytest.raises(PermissionDeniedError) as refused:
        pair.source.resume_agreement(agreement_id)
    assert refused.value.reason == "NOT_SUSPENDER"
    assert pair.target.resume_agreement(agreement_id).status == "ACTIVE"
    assert pair.source.quote_conversion("voltline", 100).agreement_id == agreement_id


def test_a_terminated_agreement_is_never_usable_again(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    pair.source.terminate_agreement(pair.agreement.agreement_id, reason="partnership ended")
    with pytest.raises(FailedPreconditionError):
        pair.source.quote_conversion("voltline", 100)
    with pytest.raises(FailedPreconditionError) as refused:
        pair.target.resume_agreement(pair.agreement.agreement_id)
    assert refused.value.reason == "AGREEMENT_NOT_SUSPENDED"


def test_an_agreement_outside_its_validity_window_is_not_in_force(hub: RunningHub) -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    pair = accepted_pair(hub, valid_from=start, valid_until=start + timedelta(days=1))
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.quote_conversion("voltline", 100)
    assert refused.value.reason == "AGREEMENT_NOT_IN_FORCE"


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"rate": 0}, "NON_POSITIVE_RATIO", "terms.rate"),
        ({"min_source_points": 0}, "NON_POSITIVE_AMOUNT", "terms.min_source_points"),
        ({"max_source_points": 5}, "MAX_BELOW_MIN", "terms.max_source_points"),
        ({"source_increment": -1}, "NON_POSITIVE_AMOUNT", "terms.source_increment"),
        ({"fee_basis_points": 10_001}, "INVALID_FEE", "terms.fee_basis_points"),
        ({"fee_basis_points": None, "fee_fixed_points": 10}, "INVALID_FEE", "terms.fee_fixed_points"),
        ({"settlement_currency": "EUR"}, "WRONG_SETTLEMENT_CURRENCY", "terms.settlement_currency"),
        ({"settlement_currency": "ZZZ"}, "UNKNOWN_CURRENCY", "terms.settlement_currency"),
        ({"target_partner_id": "stride"}, "SAME_PARTNER", "terms.target_partner_id"),
        ({"max_source_points": 10**13}, "AMOUNT_TOO_LARGE", "terms.max_source_points"),
    ],
)
def test_bad_terms_are_invalid_argument_and_nothing_is_written(
    hub: RunningHub, changes: dict[str, object], reason: str, field: str
) -> None:
    from partner_sdk import _convert

    source, key = hub.active_partner("stride")
    hub.active_partner("voltline", currency="GBP")
    message = _convert.agreement_terms_to_proto(replace(terms(), **{k: v for k, v in changes.items() if k != "rate"}))  # type: ignore[arg-type]
    if "rate" in changes:
        message.rate.numerator = 0
    with pytest.raises(InvalidArgumentError) as refused:
        source.transport.call(
            "/coalition.exchange.v1.AgreementService/ProposeAgreement",
            agreements_pb2.ProposeAgreementRequest(terms=message, proposer_signature=generate_private_key().sign(b"x")),
            agreements_pb2.ProposeAgreementResponse,
        )
    assert (refused.value.reason, refused.value.field) == (reason, field)
    assert source.list_agreements().items == ()


def test_agreement_times_must_be_whole_milliseconds(hub: RunningHub) -> None:
    from partner_sdk import _convert

    source, key = hub.active_partner("stride")
    hub.active_partner("voltline", currency="GBP")
    message = _convert.agreement_terms_to_proto(terms())
    message.valid_from.nanos += 1
    with pytest.raises(InvalidArgumentError) as refused:
        source.transport.call(
            "/coalition.exchange.v1.AgreementService/ProposeAgreement",
            agreements_pb2.ProposeAgreementRequest(terms=message, proposer_signature=key.sign(b"x")),
            agreements_pb2.ProposeAgreementResponse,
        )
    assert (refused.value.reason, refused.value.field) == ("SUB_MILLISECOND_TIME", "terms.valid_from")
