"""docs/signing.md section 10 (the agreement document) and its vectors, against the hub's own code.

Each agreement vector in docs/signing_vectors.json gives the AgreementTerms message a brand sends.
The hub's path is rebuilt here: the message is read as the servicer reads it
(exchange.api.money_translate.terms_from_message) and the document is built as the command
builds it (exchange.service.agreements.document_of); it must be the vector's document byte for
byte, and the vector's signature must verify over it, as the hub checks it. The SDK's path
(partner_sdk.documents.agreement_document) must give the same bytes. The rest checks the rules
the section states, one test each.
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.timestamp_pb2 import Timestamp

from coalition.exchange.v1 import agreements_pb2, common_pb2
from exchange.api.money_translate import terms_from_message, terms_message
from exchange.domain.errors import InvalidArgument
from exchange.service.agreements import document_of
from partner_sdk import _convert, signing
from partner_sdk.documents import AGREEMENT_SCHEME, agreement_document

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGNING_MD = REPO_ROOT / "docs" / "signing.md"
AGREEMENTS_PROTO = REPO_ROOT / "protos" / "coalition" / "exchange" / "v1" / "agreements.proto"
VECTORS = [
    vector
    for vector in json.loads((REPO_ROOT / "docs" / "signing_vectors.json").read_text(encoding="utf-8"))["vectors"]
    if vector["kind"] == "agreement"
]
SECTION_TITLE = "The agreement document"


def sent(vector: dict[str, Any]) -> agreements_pb2.AgreementTerms:
    return agreements_pb2.AgreementTerms.FromString(bytes.fromhex(vector["terms_message_hex"]))


def lines(document: bytes) -> list[str]:
    return document.decode("utf-8").split("\n")


def value_of(document: bytes, name: str) -> str:
    return next(line.split("=", 1)[1] for line in lines(document)[1:] if line.split("=", 1)[0] == name)


def section(title: str) -> str:
    """The text of the '## N. title' section of docs/signing.md, up to the next '## ' heading."""
    text = SIGNING_MD.read_text(encoding="utf-8")
    found = re.search(rf"^## \d+\. {re.escape(title)}\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert found, f"docs/signing.md has no section '{title}'"
    return found.group(1)


def sample_terms(**values: Any) -> agreements_pb2.AgreementTerms:
    """Valid terms as a brand sends them; values override fields."""
    fields: dict[str, Any] = {
        "source_partner_id": "stride",
        "target_partner_id": "voltline",
        "version": 1,
        "rate": common_pb2.Ratio(numerator=3, denominator=2),
        "min_source_points": 100,
        "max_source_points": 1000,
        "source_increment": 1,
        "member_daily_cap_source_points": 5000,
        "valid_from": Timestamp(seconds=1_800_000_000),
        "valid_until": Timestamp(seconds=1_800_086_400),
        "settlement_price_minor": common_pb2.Ratio(numerator=1, denominator=2),
        "settlement_currency": "GBP",
    }
    return agreements_pb2.AgreementTerms(**(fields | values))


def hub_document(terms: agreements_pb2.AgreementTerms) -> bytes:
    return document_of(terms_from_message(terms))


def test_there_are_vectors_with_a_whole_rate_and_with_unreduced_ratios() -> None:
    assert len(VECTORS) >= 3
    inputs = [vector["inputs"] for vector in VECTORS]
    assert any(i["rate_denominator"] == 1 for i in inputs)
    assert any(math.gcd(i["rate_numerator"], i["rate_denominator"]) > 1 for i in inputs)
    assert any(math.gcd(i["price_numerator"], i["price_denominator"]) > 1 for i in inputs)
    assert {(i["fee_basis_points"] is None, i["fee_fixed_points"] is None) for i in inputs} == {
        (False, True),
        (True, False),
        (True, True),
    }


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_the_terms_message_is_the_inputs_as_sent(vector: dict[str, Any]) -> None:
    terms, inputs = sent(vector), vector["inputs"]
    fee = terms.WhichOneof("fee")
    assert (terms.rate.numerator, terms.rate.denominator) == (inputs["rate_numerator"], inputs["rate_denominator"])
    assert (terms.settlement_price_minor.numerator, terms.settlement_price_minor.denominator) == (
        inputs["price_numerator"],
        inputs["price_denominator"],
    )
    assert (terms.fee_basis_points if fee == "fee_basis_points" else None) == inputs["fee_basis_points"]
    assert (terms.fee_fixed_points if fee == "fee_fixed_points" else None) == inputs["fee_fixed_points"]
    assert terms.valid_from.ToMilliseconds() == inputs["valid_from_ms"]
    assert terms.valid_until.ToMilliseconds() == inputs["valid_until_ms"]
    for name in ("source_partner_id", "target_partner_id", "version", "min_source_points", "max_source_points"):
        assert getattr(terms, name) == inputs[name]
    for name in ("source_increment", "member_daily_cap_source_points", "settlement_currency"):
        assert getattr(terms, name) == inputs[name]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_the_hub_builds_the_vectors_document_from_the_message_it_receives(vector: dict[str, Any]) -> None:
    assert hub_document(sent(vector)) == vector["canonical"].encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_the_sdk_builds_the_same_document(vector: dict[str, Any]) -> None:
    assert agreement_document(_convert.agreement_terms(sent(vector))) == vector["canonical"].encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_the_vectors_signature_is_the_test_keys_and_passes_the_hubs_check(vector: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["inputs"]["seed_hex"]))
    document = hub_document(sent(vector))
    assert key.sign(document).hex() == vector["signature_hex"]
    # What exchange.service.agreements.check_document_signature requires of it.
    signature = bytes.fromhex(vector["signature_hex"])
    assert len(signature) == signing.SIGNATURE_BYTES
    assert signing.verify(bytes.fromhex(vector["inputs"]["public_key_hex"]), signature, document)


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["name"])
def test_the_stored_terms_have_both_ratios_reduced_and_the_document_says_so(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    stored = terms_message(terms_from_message(sent(vector)))
    document = vector["canonical"].encode("utf-8")
    for ratio, numerator, denominator, line in (
        (stored.rate, inputs["rate_numerator"], inputs["rate_denominator"], "rate"),
        (
            stored.settlement_price_minor,
            inputs["price_numerator"],
            inputs["price_denominator"],
            "settlement_price_minor",
        ),
    ):
        reduced = Fraction(numerator, denominator)
        assert (ratio.numerator, ratio.denominator) == (reduced.numerator, reduced.denominator)
        assert value_of(document, line) == f"{reduced.numerator}/{reduced.denominator}"


def test_a_rate_sent_as_6_4_is_stored_and_signed_as_3_2() -> None:
    terms = sample_terms(rate=common_pb2.Ratio(numerator=6, denominator=4))
    assert terms_message(terms_from_message(terms)).rate == common_pb2.Ratio(numerator=3, denominator=2)
    document = hub_document(terms)
    assert value_of(document, "rate") == "3/2"
    assert b"rate=6/4" not in document


def test_a_whole_rate_is_written_over_1() -> None:
    assert value_of(hub_document(sample_terms(rate=common_pb2.Ratio(numerator=2, denominator=1))), "rate") == "2/1"
    assert value_of(hub_document(sample_terms(rate=common_pb2.Ratio(numerator=4, denominator=2))), "rate") == "2/1"


def test_the_section_gives_the_lines_in_the_order_the_hub_writes_them() -> None:
    template = re.search(r"```text\n(COALITION-AGREEMENT-V1\n.*?)```", section(SECTION_TITLE), re.DOTALL)
    assert template, "the section shows the document's lines in a ```text block"
    spec = template.group(1).rstrip("\n").split("\n")
    document = lines(hub_document(sample_terms(fee_basis_points=150)))
    assert len(spec) == len(document) == 14
    assert spec[0] == document[0] == AGREEMENT_SCHEME
    assert [line.split("=", 1)[0] for line in spec[1:]] == [line.split("=", 1)[0] for line in document[1:]]


def test_lines_are_joined_by_one_line_feed_with_none_at_the_end() -> None:
    document = hub_document(sample_terms())
    assert not document.endswith(b"\n")
    assert b"\r" not in document
    assert b" " not in document
    assert document.count(b"\n") == 13
    assert document.decode("utf-8").isascii()


@pytest.mark.parametrize(
    ("fee", "line"),
    [
        ({}, "none"),
        ({"fee_basis_points": 150}, "bps:150"),
        ({"fee_fixed_points": 25}, "fixed:25"),
        ({"fee_basis_points": 0}, "bps:0"),  # set to 0 is still set: not "none"
        ({"fee_fixed_points": 0}, "fixed:0"),
    ],
)
def test_the_fee_line_follows_the_oneof(fee: dict[str, int], line: str) -> None:
    terms = sample_terms(**fee)
    assert agreements_pb2.AgreementTerms.FromString(terms.SerializeToString()).WhichOneof("fee") == (
        next(iter(fee)) if fee else None
    ), "the oneof's presence survives the wire"
    assert value_of(hub_document(terms), "fee") == line


def test_times_are_whole_milliseconds_since_the_epoch() -> None:
    terms = sample_terms(
        valid_from=Timestamp(seconds=1_717_243_200, nanos=123_000_000),
        valid_until=Timestamp(seconds=1_748_779_200),
    )
    document = hub_document(terms)
    assert value_of(document, "valid_from_ms") == "1717243200123"
    assert value_of(document, "valid_until_ms") == "1748779200000"


def test_a_time_before_1970_is_written_with_a_minus_sign() -> None:
    terms = sample_terms(valid_from=Timestamp(seconds=-2, nanos=500_000_000), valid_until=Timestamp(seconds=86_400))
    assert value_of(hub_document(terms), "valid_from_ms") == "-1500"


@pytest.mark.parametrize("name", ["valid_from", "valid_until"])
def test_a_time_that_is_not_a_whole_millisecond_is_refused(name: str) -> None:
    stamp = Timestamp(seconds=1_800_000_000 if name == "valid_from" else 1_800_086_400, nanos=1_500_000)
    with pytest.raises(InvalidArgument) as refused:
        terms_from_message(sample_terms(**{name: stamp}))
    assert (refused.value.reason, refused.value.field) == ("SUB_MILLISECOND_TIME", f"terms.{name}")


@pytest.mark.parametrize(
    ("ratio", "reason"),
    [
        (common_pb2.Ratio(numerator=0, denominator=1), "NON_POSITIVE_RATIO"),
        (common_pb2.Ratio(numerator=1, denominator=-2), "NON_POSITIVE_RATIO"),
        (common_pb2.Ratio(numerator=10**12 + 1, denominator=1), "RATIO_TOO_LARGE"),
        (common_pb2.Ratio(numerator=1, denominator=10**12 + 1), "RATIO_TOO_LARGE"),
    ],
)
@pytest.mark.parametrize("field", ["rate", "settlement_price_minor"])
def test_ratio_parts_must_be_positive_and_at_most_10_to_the_12(
    ratio: common_pb2.Ratio, reason: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        terms_from_message(sample_terms(**{field: ratio}))
    assert (refused.value.reason, refused.value.field) == (reason, f"terms.{field}")
    assert terms_from_message(sample_terms(**{field: common_pb2.Ratio(numerator=10**12, denominator=1)}))


def test_agreements_proto_names_a_section_of_signing_md_that_exists() -> None:
    text = AGREEMENTS_PROTO.read_text(encoding="utf-8")
    references = re.findall(r'docs/signing\.md,?\s+(?://\s*)?section (\d+),?\s+(?://\s*)?"([^"]+)"', text)
    assert references, "agreements.proto points at the section of docs/signing.md that specifies the document"
    headings = re.findall(r"^## (\d+)\. (.+)$", SIGNING_MD.read_text(encoding="utf-8"), re.MULTILINE)
    for number, title in references:
        assert (number, title) in headings, f'docs/signing.md has no "## {number}. {title}"'
    assert ("10", SECTION_TITLE) in headings


def test_the_example_in_flows_md_is_a_document_the_hub_would_build() -> None:
    text = (REPO_ROOT / "docs" / "flows.md").read_text(encoding="utf-8")
    assert 'docs/signing.md`, section 10\n  "The agreement document"' in text
    example = re.search(r"^( +)COALITION-AGREEMENT-V1\n((?:\1\S.*\n)+)", text, re.MULTILINE)
    assert example, "docs/flows.md shows an agreement document"
    shown = [AGREEMENT_SCHEME, *(line.strip() for line in example.group(2).splitlines())]
    values = dict(line.split("=", 1) for line in shown[1:])
    rate, price = (values[name].split("/") for name in ("rate", "settlement_price_minor"))
    kind, _, amount = values["fee"].partition(":")
    terms = sample_terms(
        source_partner_id=values["source"],
        target_partner_id=values["target"],
        version=int(values["version"]),
        rate=common_pb2.Ratio(numerator=int(rate[0]), denominator=int(rate[1])),
        min_source_points=int(values["min_source_points"]),
        max_source_points=int(values["max_source_points"]),
        source_increment=int(values["source_increment"]),
        member_daily_cap_source_points=int(values["member_daily_cap_source_points"]),
        valid_from=Timestamp(seconds=int(values["valid_from_ms"]) // 1000),
        valid_until=Timestamp(seconds=int(values["valid_until_ms"]) // 1000),
        settlement_price_minor=common_pb2.Ratio(numerator=int(price[0]), denominator=int(price[1])),
        settlement_currency=values["settlement_currency"],
        **({"fee_basis_points": int(amount)} if kind == "bps" else {"fee_fixed_points": int(amount)} if amount else {}),
    )
    assert lines(hub_document(terms)) == shown
