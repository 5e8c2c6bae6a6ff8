"""docs/signing.md section 10 on a real hub, seen as raw messages (the SDK's Fractions would hide reduction).

A proposal sent with unreduced ratios is stored, returned and priced with them reduced, and the
brands sign the document of the reduced terms; a signature over the unreduced text is refused,
on proposal and on acceptance, and so is one by another key than the one that signs the call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coalition.exchange.v1 import agreements_pb2, common_pb2, conversions_pb2, redemptions_pb2
from partner_sdk import ExchangeClient, InvalidArgumentError, _convert, agreement_document, generate_private_key
from tests.conftest import RunningHub
from tests.e2e.money import terms

AGREEMENTS = "/coalition.exchange.v1.AgreementService/"
CONVERSIONS = "/coalition.exchange.v1.ConversionService/"
REDEMPTIONS = "/coalition.exchange.v1.RedemptionService/"


def propose(
    client: ExchangeClient, terms_message: agreements_pb2.AgreementTerms, signature: bytes
) -> agreements_pb2.Agreement:
    return client.transport.call(
        AGREEMENTS + "ProposeAgreement",
        agreements_pb2.ProposeAgreementRequest(terms=terms_message, proposer_signature=signature),
        agreements_pb2.ProposeAgreementResponse,
    ).agreement


def accept(client: ExchangeClient, agreement_id: str, signature: bytes) -> agreements_pb2.Agreement:
    return client.transport.call(
        AGREEMENTS + "AcceptAgreement",
        agreements_pb2.AcceptAgreementRequest(agreement_id=agreement_id, acceptor_signature=signature),
        agreements_pb2.AcceptAgreementResponse,
    ).agreement


def test_ratios_sent_unreduced_are_stored_priced_and_signed_reduced(hub: RunningHub) -> None:
    source, source_key = hub.active_partner("stride", currency="EUR")
    target, target_key = hub.active_partner("voltline", currency="GBP")
    agreed = terms()  # rate 3/2, settlement price 1/2
    sent = _convert.agreement_terms_to_proto(agreed)
    sent.rate.CopyFrom(common_pb2.Ratio(numerator=6, denominator=4))
    sent.settlement_price_minor.CopyFrom(common_pb2.Ratio(numerator=2, denominator=4))
    document = agreement_document(agreed)
    assert b"\nrate=3/2\n" in document and b"\nsettlement_price_minor=1/2\n" in document
    as_sent = document.replace(b"rate=3/2", b"rate=6/4").replace(
        b"settlement_price_minor=1/2", b"settlement_price_minor=2/4"
    )

    with pytest.raises(InvalidArgumentError) as refused:
        propose(source, sent, source_key.sign(as_sent))
    assert (refused.value.reason, refused.value.field) == ("BAD_DOCUMENT_SIGNATURE", "proposer_signature")

    proposed = propose(source, sent, source_key.sign(document))
    assert proposed.document == document
    assert proposed.terms.rate == common_pb2.Ratio(numerator=3, denominator=2)
    assert proposed.terms.settlement_price_minor == common_pb2.Ratio(numerator=1, denominator=2)

    with pytest.raises(InvalidArgumentError) as refused:
        accept(target, proposed.agreement_id, target_key.sign(as_sent))
    assert (refused.value.reason, refused.value.field) == ("BAD_DOCUMENT_SIGNATURE", "acceptor_signature")
    accepted = accept(target, proposed.agreement_id, target_key.sign(proposed.document))
    assert accepted.status == agreements_pb2.AGREEMENT_STATUS_ACTIVE
    assert accepted.terms.rate == common_pb2.Ratio(numerator=3, denominator=2)

    quote = source.transport.call(
        CONVERSIONS + "QuoteConversion",
        conversions_pb2.QuoteConversionRequest(target_partner_id="voltline", source_points=100),
        conversions_pb2.QuoteConversionResponse,
    ).quote
    assert quote.amounts.rate == common_pb2.Ratio(numerator=3, denominator=2)
    conversion = source.transport.call(
        CONVERSIONS + "Convert",
        conversions_pb2.ConvertRequest(
            quote_id=quote.quote_id, source_member_ref="m-1", target_member_ref="v-1", idempotency_key="convert-0001"
        ),
        conversions_pb2.ConvertResponse,
    ).conversion
    assert conversion.amounts.rate == common_pb2.Ratio(numerator=3, denominator=2)
    hold = source.transport.call(
        REDEMPTIONS + "AuthorizeHold",
        redemptions_pb2.AuthorizeHoldRequest(
            target_partner_id="voltline", source_points=100, source_member_ref="m-1", idempotency_key="hold-0001"
        ),
        redemptions_pb2.AuthorizeHoldResponse,
    ).hold
    assert hold.rate == common_pb2.Ratio(numerator=3, denominator=2)


def test_the_document_is_signed_by_the_key_that_signs_the_call(hub: RunningHub) -> None:
    source, first_key = hub.active_partner("stride", currency="EUR")
    hub.active_partner("voltline", currency="GBP")
    second_key = generate_private_key()
    # The first key keeps signing for an hour; the client signs its calls with the second from now on.
    source.rotate_key("k2", second_key, previous_key_valid_until=datetime.now(UTC) + timedelta(hours=1))
    proposed_terms = terms()  # once: terms() reads the clock, and two readings may differ by a millisecond
    document = agreement_document(proposed_terms)
    sent = _convert.agreement_terms_to_proto(proposed_terms)
    with pytest.raises(InvalidArgumentError) as refused:
        propose(source, sent, first_key.sign(document))  # a key of stride's, but not the call's
    assert (refused.value.reason, refused.value.field) == ("BAD_DOCUMENT_SIGNATURE", "proposer_signature")
    assert propose(source, sent, second_key.sign(document)).proposer_key_id == "k2"
