"""docs/membership.md and docs/membership_vectors.json against the hub's code and the SDK's.

The agreement document vector must be what both the SDK (partner_sdk.memberships.membership_document)
and the hub (the servicer's terms_from_proto, then exchange.domain.membership_terms.document_of)
make of the stated terms, byte for byte, and the seller's signature must verify over it. The pass
vector's payload must be render_membership_pass_payload of its fields and its signature must
verify with verify_membership_pass. The worked arithmetic (calendar months, fees, shares,
refunds, voucher ids) is the hub's. The refusal table names exactly the reasons the membership
code raises, each with the status its error class maps to, and every MembershipService RPC is in
the doc's RPC table with the right idempotency column.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coalition.exchange.v1 import memberships_pb2
from exchange.api.membership_service import MEMBERSHIP_METHODS
from exchange.api.membership_translate import terms_from_proto
from exchange.api.response_signing import HubSigner
from exchange.api.status import STATUS_BY_ERROR
from exchange.domain import memberships as rules
from exchange.domain.membership_agreements import terms_of_document
from exchange.domain.membership_terms import MembershipTerms as HubTerms
from exchange.domain.membership_terms import TermLength, document_of
from exchange.domain.settlement import MovementKind
from exchange.domain.vouchers import voucher_id_of
from exchange.service.membership_benefits import PASS_LIFETIME_MS
from partner_sdk import signing
from partner_sdk._client.memberships import terms_to_proto
from partner_sdk.keys import public_key_bytes
from partner_sdk.memberships import (
    _PASS,
    MEMBERSHIP_PASS_PREFIX,
    PASS_CLOCK_SKEW_MS,
    Benefit,
    FixedShare,
    FreeDelivery,
    MembershipPass,
    MembershipPassVerificationError,
    MembershipTerms,
    PartnerMembership,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    Share,
    TermOffer,
    TextBenefit,
    Vouchers,
    membership_document,
    membership_pass_message,
    render_membership_pass_payload,
    verify_membership_pass,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "membership.md").read_text(encoding="utf-8")
SETTLEMENT_DOC = (ROOT / "docs" / "settlement.md").read_text(encoding="utf-8")
VECTORS: dict[str, Any] = json.loads((ROOT / "docs" / "membership_vectors.json").read_text(encoding="utf-8"))
DOCUMENTS = VECTORS["agreement_documents"]
PASSES = VECTORS["passes"]
ARITHMETIC = VECTORS["arithmetic"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The hub code whose refusals the doc's table lists, all of them.
MEMBERSHIP_SOURCES = [
    *sorted((ROOT / "exchange" / "domain").glob("membership*.py")),
    ROOT / "exchange" / "domain" / "vouchers.py",
    ROOT / "exchange" / "domain" / "voucher_agreements.py",
    *sorted((ROOT / "exchange" / "service").glob("membership*.py")),
    ROOT / "exchange" / "service" / "voucher_agreements.py",
    *sorted((ROOT / "exchange" / "api").glob("membership*.py")),
    ROOT / "exchange" / "api" / "voucher_service.py",
]
RAISED = re.compile(r"\b(" + "|".join(c.__name__ for c in STATUS_BY_ERROR) + r")\(\s*\"([A-Z][A-Z0-9_]+)\"")


def _at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _benefit(value: dict[str, Any]) -> Benefit:
    kind = value["kind"]
    if kind == "PARTNER_MEMBERSHIP":
        return PartnerMembership(value["name"])
    if kind == "PERCENTAGE_DISCOUNT":
        return PercentageDiscount(value["basis_points"], value["cap_minor"])
    if kind == "VOUCHERS":
        return Vouchers(
            value["per_period"], value["period"], value["value_minor"], value["validity_days"], value["funded_by"]
        )
    if kind == "FREE_DELIVERY":
        return FreeDelivery()
    assert kind == "TEXT"
    return TextBenefit(value["text"])


def _share(value: dict[str, Any]) -> Share:
    if value["kind"] == "FIXED":
        return FixedShare(value["amount_minor"])
    return RatioShare(Fraction(value["numerator"], value["denominator"]))


def sdk_terms(inputs: dict[str, Any]) -> MembershipTerms:
    """The SDK's MembershipTerms for a vector's terms, in the order given."""
    return MembershipTerms(
        programme_id=inputs["programme_id"],
        version=inputs["version"],
        name=inputs["name"],
        seller_partner_id=inputs["seller_partner_id"],
        currency=inputs["currency"],
        offers=tuple(
            TermOffer(o["term"], o["fee_minor"], tuple(PriceTier(t["min_score"], t["fee_minor"]) for t in o["tiers"]))
            for o in inputs["offers"]
        ),
        partners=tuple(
            PartnerTerms(
                p["partner_id"],
                tuple(_benefit(b) for b in p["benefits"]),
                tuple((s["term"], _share(s)) for s in p["shares"]),
            )
            for p in inputs["partners"]
        ),
        refund_rule=inputs["refund_rule"],
        grace_days=inputs["grace_days"],
        valid_from=_at(inputs["valid_from_ms"]),
        valid_until=_at(inputs["valid_until_ms"]),
    )


def hub_terms(vector: dict[str, Any]) -> HubTerms:
    """The terms as the hub reads the vector's message (the servicer's path)."""
    return terms_from_proto(memberships_pb2.MembershipTerms.FromString(bytes.fromhex(vector["terms_message_hex"])))


def section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert found, f"docs/membership.md has no section '## {title}'"
    return found.group(1)


# ---------------------------------------------------------------------------- the agreement document


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v["name"])
def test_the_document_is_what_the_sdk_and_the_hub_make_of_the_terms(vector: dict[str, Any]) -> None:
    document = vector["document"].encode("ascii")
    terms = sdk_terms(vector["terms"])
    assert membership_document(terms) == document
    assert terms_to_proto(terms).SerializeToString().hex() == vector["terms_message_hex"]
    read = hub_terms(vector)
    assert document_of(read) == document
    assert terms_of_document(document) == read  # the hub reads its stored document back to the same terms
    assert hashlib.sha256(document).hexdigest() == vector["document_sha256"]


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v["name"])
def test_the_seller_signs_the_document_bytes_themselves(vector: dict[str, Any]) -> None:
    seller = vector["seller"]
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seller["seed_hex"]))
    assert public_key_bytes(key).hex() == seller["public_key_hex"]
    document = vector["document"].encode("ascii")
    assert key.sign(document).hex() == seller["signature_hex"]
    assert signing.verify(bytes.fromhex(seller["public_key_hex"]), bytes.fromhex(seller["signature_hex"]), document)
    assert not signing.verify(
        bytes.fromhex(seller["public_key_hex"]), bytes.fromhex(seller["signature_hex"]), document + b"\n"
    )


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v["name"])
def test_the_doc_shows_the_vector_document_and_its_hash(vector: dict[str, Any]) -> None:
    text = section("The agreement document")
    assert vector["document"] in text
    assert vector["document_sha256"] in text
    value = json.loads(vector["document"])
    ratio = next(s for p in value["partners"] for s in p["shares"] if s["kind"] == "RATIO")
    assert Fraction(ratio["numerator"], ratio["denominator"]).denominator == ratio["denominator"]  # lowest terms
    assert [p["partner_id"] for p in value["partners"]] == sorted(p["partner_id"] for p in value["partners"])


def test_the_documents_keys_are_the_ones_the_doc_lists() -> None:
    value = json.loads(DOCUMENTS[0]["document"])
    text = section("The agreement document")
    keys = set(value) | {k for o in value["offers"] for k in o} | {k for p in value["partners"] for k in p}
    keys |= {k for o in value["offers"] for t in o["tiers"] for k in t}
    keys |= {k for p in value["partners"] for item in (*p["benefits"], *p["shares"]) for k in item}
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == []


# ---------------------------------------------------------------------------- the pass


@pytest.mark.parametrize("vector", PASSES, ids=lambda v: v["name"])
def test_the_pass_payload_and_message_are_the_sdks(vector: dict[str, Any]) -> None:
    payload = vector["payload"].encode("ascii")
    assert render_membership_pass_payload(**vector["fields"]) == payload
    message = membership_pass_message(payload)
    assert message == MEMBERSHIP_PASS_PREFIX + payload == b"COALITION-MEMBERSHIP-PASS-V1\n" + payload
    assert message.hex() == vector["message_hex"]
    hub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["hub"]["seed_hex"]))
    assert public_key_bytes(hub).hex() == vector["hub"]["public_key_hex"]
    assert HubSigner.from_key(hub).key_id == vector["hub"]["hub_key_id"]
    assert hub.sign(message).hex() == vector["signature_hex"]


@pytest.mark.parametrize("vector", PASSES, ids=lambda v: v["name"])
def test_the_pass_verifies_offline_only_for_its_partner_and_within_its_life(vector: dict[str, Any]) -> None:
    fields = vector["fields"]
    issued = vector["hub"]
    membership_pass = MembershipPass(
        vector["payload"].encode("ascii"), issued["hub_key_id"], bytes.fromhex(vector["signature_hex"])
    )
    key = bytes.fromhex(issued["public_key_hex"])
    seen = verify_membership_pass(
        membership_pass, key, partner_id=fields["partner_id"], now=_at(vector["verify_at_ms"])
    )
    assert (seen.membership_id, seen.partner_id, seen.pairwise_member_id, seen.programme_name) == (
        fields["membership_id"],
        fields["partner_id"],
        fields["pairwise_member_id"],
        fields["programme_name"],
    )
    assert seen.valid_until == _at(fields["valid_until_ms"])
    assert fields["valid_until_ms"] - fields["issued_at_ms"] == PASS_LIFETIME_MS == 15 * 60_000
    assert PASS_CLOCK_SKEW_MS == 5 * 60_000
    refusals = [
        (dict(partner_id="brewhaus", now=_at(vector["verify_at_ms"])), "WRONG_PARTNER"),
        (dict(partner_id=fields["partner_id"], now=_at(fields["valid_until_ms"])), "PASS_EXPIRED"),
        (
            dict(partner_id=fields["partner_id"], now=_at(fields["issued_at_ms"] - PASS_CLOCK_SKEW_MS - 1)),
            "PASS_NOT_YET_VALID",
        ),
    ]
    for options, reason in refusals:
        with pytest.raises(MembershipPassVerificationError) as refused:
            verify_membership_pass(membership_pass, key, **options)  # type: ignore[arg-type]
        assert refused.value.reason == reason
    assert verify_membership_pass(
        membership_pass, key, partner_id=fields["partner_id"], now=_at(fields["issued_at_ms"] - PASS_CLOCK_SKEW_MS)
    )


@pytest.mark.parametrize("vector", PASSES, ids=lambda v: v["name"])
def test_the_doc_shows_the_pass_vector(vector: dict[str, Any]) -> None:
    text = section("The pass")
    for shown in (vector["payload"], vector["signature_hex"], vector["hub"]["public_key_hex"]):
        assert shown in text
    for key in json.loads(vector["payload"]):
        assert f"`{key}`" in text


def test_the_pass_refusals_the_doc_lists_are_the_sdks() -> None:
    # The pass's own reasons are its kind's; the checks every hub-signed document shares raise theirs.
    sources = (ROOT / "partner_sdk" / name for name in ("memberships.py", "_hub_signed.py"))
    raised = {
        reason for path in sources for reason in re.findall(r"refused\(\s*\"([A-Z_]+)\"", path.read_text("utf-8"))
    }
    raised |= {_PASS.malformed, _PASS.wrong_recipient, _PASS.expired, _PASS.not_yet_valid}
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", section("The pass"), re.M))
    assert raised and listed == raised


# ---------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize("case", ARITHMETIC["calendar_months"], ids=lambda c: f"{c['anchor_ms']}+{c['months']}")
def test_calendar_months(case: dict[str, int]) -> None:
    assert rules.add_months(case["anchor_ms"], case["months"]) == case["end_ms"]


def test_fees_and_shares_follow_the_vector_terms() -> None:
    terms = hub_terms(DOCUMENTS[0])
    for case in ARITHMETIC["fees"]:
        assert rules.fee_for(terms, TermLength(case["term"]), case["score"]) == case["fee_minor"], case
    for case in ARITHMETIC["shares"]:
        shares = rules.shares_of(terms, TermLength(case["term"]), case["fee_minor"])
        assert shares == case["shares"]
        assert case["fee_minor"] - sum(shares.values()) == case["seller_keeps_minor"]


@pytest.mark.parametrize("case", ARITHMETIC["refunds"], ids=lambda c: c["description"])
def test_pro_rata_refunds_and_the_shares_given_back(case: dict[str, Any]) -> None:
    refund = rules.pro_rata_refund(case["fee_minor"], case["start_ms"], case["end_ms"], case["cancelled_at_ms"])
    assert refund == case["refund_minor"]
    if "term_days" in case:
        assert (case["end_ms"] - case["start_ms"]) // 86_400_000 == case["term_days"]
        assert (case["end_ms"] - case["cancelled_at_ms"]) // 86_400_000 == case["unused_days"]
        assert refund == case["fee_minor"] * case["unused_days"] // case["term_days"]
    assert rules.refund_shares(case["shares"], case["fee_minor"], refund) == case["given_back"]
    for partner, share in case["shares"].items():
        assert case["given_back"][partner] == share * refund // case["fee_minor"]
    assert str(refund) in DOC


def test_voucher_ids() -> None:
    for case in ARITHMETIC["voucher_ids"]:
        made = voucher_id_of(case["membership_id"], case["partner_id"], case["period_start_ms"], case["number"])
        assert made == case["voucher_id"]
        assert made in DOC


# ---------------------------------------------------------------------------- refusals, RPCs, movements


def _raised_in(paths: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        for cls, reason in RAISED.findall(path.read_text(encoding="utf-8")):
            found.setdefault(reason, set()).add(cls)
    return found


def _refusal_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| `([A-Z_]+)` \|", section("Refusals"), re.M)
    assert rows, "the refusal table has no rows"
    reasons = [reason for reason, _ in rows]
    assert len(reasons) == len(set(reasons)), "a reason is listed twice"
    return dict(rows)


def test_every_reason_the_membership_code_raises_is_in_the_refusal_table() -> None:
    missing = sorted(set(_raised_in(MEMBERSHIP_SOURCES)) - set(_refusal_rows()))
    assert missing == []


def test_every_reason_in_the_refusal_table_is_raised_by_the_hub_with_that_status() -> None:
    sources = [p for p in (ROOT / "exchange").rglob("*.py") if not p.name.endswith("_pb2.py")]
    raised = _raised_in(sources)
    status_of = {cls.__name__: code.name for cls, code in STATUS_BY_ERROR.items()}
    for reason, status in _refusal_rows().items():
        assert reason in raised, f"no hub code raises {reason}"
        assert status in {status_of[cls] for cls in raised[reason]}, f"{reason} is not raised as {status}"


def test_every_membership_rpc_is_in_the_rpc_table_with_its_idempotency_key() -> None:
    service = memberships_pb2.DESCRIPTOR.services_by_name["MembershipService"]
    rows = dict(re.findall(r"^\| `MembershipService/(\w+)` \| [^|]+ \| (yes|no) \|", DOC, re.M))
    assert set(rows) == {method.name for method in service.methods} == set(MEMBERSHIP_METHODS)
    for name, command in MEMBERSHIP_METHODS.items():
        assert rows[name] == ("yes" if command.idempotency_key is not None else "no"), name


def test_the_membership_movement_kinds_are_documented_here_and_in_settlement() -> None:
    kinds = ("MEMBERSHIP_FEE_SHARE", "MEMBERSHIP_FEE_REFUND", "VOUCHER_REDEMPTION")
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", SETTLEMENT_DOC, re.M))
    assert {kind.value for kind in MovementKind} <= listed, "docs/settlement.md lists every movement kind"
    for kind in kinds:
        assert MovementKind(kind) and f"`{kind}`" in section("Money")
    assert "settlement.md" in section("Money")


def test_the_limits_and_sizes_the_doc_states_are_the_codes() -> None:
    from exchange.domain import membership_terms as limits
    from exchange.domain.agreements import MAX_AGREEMENT_DAYS

    assert (limits.MAX_PARTNERS, limits.MAX_BENEFITS_PER_PARTNER, limits.MAX_PRICE_TIERS) == (20, 10, 10)
    assert (limits.MAX_GRACE_DAYS, limits.MAX_VOUCHERS_PER_PERIOD, limits.MAX_VOUCHER_VALIDITY_DAYS) == (30, 31, 366)
    assert (limits.BENEFIT_NAME_MAX, limits.BENEFIT_TEXT_MAX, limits.MAX_SCORE) == (100, 500, 10**9)
    assert MAX_AGREEMENT_DAYS == 1_830 and "1,830 days" in DOC
    assert len(MEMBERSHIP_PASS_PREFIX) == 29 and "29 bytes" in DOC
    assert f"one line, {len(DOCUMENTS[0]['document']):,}" in DOC
    sources = "".join(p.read_text(encoding="utf-8") for p in MEMBERSHIP_SOURCES)
    assert 'new_id("mfs")' in sources and 'new_id("vrd")' in sources
    assert "`mfs-…`" in DOC and "`vrd-…`" in DOC
