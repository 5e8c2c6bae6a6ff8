"""docs/status-match.md and docs/status_match_vectors.json against the hub's code and the SDK's.

The agreement document vectors must be what both the SDK (partner_sdk.status_match.match_document)
and the hub (the MatchTerms message read as the servicer reads it, checked against both ladders
by validate_match_terms, then exchange.domain.status_match_terms.document_of) make of the stated
terms, byte for byte, and both brands' signatures must verify over them. The attestation vectors
are what the hub signs for a match it starts from the stated tier (start_match, report_challenge,
then the service's _attest) and what render_tier_attestation_payload renders, and they verify
with verify_tier_attestation. The refusal table names exactly the reasons the status match code
raises, each with the statuses its error classes map to; every StatusMatchService RPC is in the
doc's RPC table with the right idempotency column; every end reason and state is described.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast, get_args

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coalition.exchange.v1 import instructions_pb2, members_pb2
from coalition.exchange.v1 import status_match_pb2 as pb
from exchange.api.response_signing import HubSigner
from exchange.api.status import STATUS_BY_ERROR
from exchange.api.status_match_service import STATUS_MATCH_METHODS
from exchange.api.translate import timestamp_ms
from exchange.domain import status_match as rules
from exchange.domain import status_match_terms as hub_terms_module
from exchange.domain.agreements import MAX_AGREEMENT_DAYS
from exchange.domain.consent import Purpose
from exchange.domain.instructions import InstructionKind
from exchange.domain.status_match_terms import (
    Challenge as HubChallenge,
)
from exchange.domain.status_match_terms import (
    MatchTerms as HubTerms,
)
from exchange.domain.status_match_terms import (
    MemberTier,
    TierLadder,
    document_of,
    terms_of_document,
    validate_ladder,
    validate_match_terms,
)
from exchange.domain.status_match_terms import Tier as HubTier
from exchange.service import status_match as service
from exchange.service.ports import UnitOfWork
from partner_sdk import signing
from partner_sdk._client.status_match import terms_to_proto
from partner_sdk.keys import public_key_bytes
from partner_sdk.status_match import (
    ATTESTATION_CLOCK_SKEW_MS,
    TIER_ATTESTATION_FORMAT,
    TIER_ATTESTATION_PREFIX,
    Challenge,
    MatchEndReason,
    MatchTerms,
    TierAttestation,
    TierAttestationVerificationError,
    match_document,
    render_tier_attestation_payload,
    tier_attestation_message,
    verify_tier_attestation,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "status-match.md").read_text(encoding="utf-8")
VECTORS: dict[str, Any] = json.loads((ROOT / "docs" / "status_match_vectors.json").read_text(encoding="utf-8"))
DOCUMENTS = VECTORS["agreement_documents"]
ATTESTATIONS = VECTORS["attestations"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
# The hub code whose refusals the doc's table lists, all of them.
STATUS_MATCH_SOURCES = [
    *sorted((ROOT / "exchange" / "domain").glob("status_match*.py")),
    ROOT / "exchange" / "service" / "status_match.py",
    ROOT / "exchange" / "api" / "status_match_service.py",
]
RAISED = re.compile(r"\b(" + "|".join(c.__name__ for c in STATUS_BY_ERROR) + r")\(\s*\"([A-Z][A-Z0-9_]+)\"")


def _at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert found, f"docs/status-match.md has no section '## {title}'"
    return found.group(1)


def sdk_terms(inputs: dict[str, Any]) -> MatchTerms:
    """The SDK's MatchTerms for a vector's terms, in the order given."""
    challenge = inputs["challenge"]
    return MatchTerms(
        recogniser_partner_id=inputs["recogniser_partner_id"],
        attester_partner_id=inputs["attester_partner_id"],
        version=inputs["version"],
        mapping=tuple((m["attester_tier"], m["recogniser_tier"]) for m in inputs["mapping"]),
        challenge=None
        if challenge is None
        else Challenge(challenge["days"], challenge["activity"], challenge["target"]),
        match_days=inputs["match_days"],
        period_days=inputs["period_days"],
        max_tier_age_days=inputs["max_tier_age_days"],
        valid_from=_at(inputs["valid_from_ms"]),
        valid_until=_at(inputs["valid_until_ms"]),
    )


def hub_ladder(vector: dict[str, Any], partner_id: str) -> TierLadder:
    return validate_ladder(partner_id, [HubTier(t["code"], t["name"]) for t in vector["ladders"][partner_id]])


def hub_terms(vector: dict[str, Any]) -> HubTerms:
    """The terms as the hub reads the vector's message (as StatusMatchService's ProposeMatchAgreement does)."""
    t = pb.MatchTerms.FromString(bytes.fromhex(vector["terms_message_hex"]))
    challenge = (
        HubChallenge(t.challenge.days, t.challenge.activity, t.challenge.target) if t.HasField("challenge") else None
    )
    return validate_match_terms(
        recogniser_partner_id=t.recogniser_partner_id,
        attester_partner_id=t.attester_partner_id,
        version=t.version,
        mapping=[(m.attester_tier, m.recogniser_tier) for m in t.mapping],
        challenge=challenge,
        match_days=t.match_days,
        period_days=t.period_days,
        max_tier_age_days=t.max_tier_age_days,
        valid_from_ms=timestamp_ms(t.valid_from, "terms.valid_from"),
        valid_until_ms=timestamp_ms(t.valid_until, "terms.valid_until"),
        attester_ladder=hub_ladder(vector, t.attester_partner_id),
        recogniser_ladder=hub_ladder(vector, t.recogniser_partner_id),
    )


# ---------------------------------------------------------------------------- the agreement document


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v["name"])
def test_the_document_is_what_the_sdk_and_the_hub_make_of_the_terms(vector: dict[str, Any]) -> None:
    document = vector["document"].encode("ascii")
    terms = sdk_terms(vector["terms"])
    assert match_document(terms) == document
    assert terms_to_proto(terms).SerializeToString().hex() == vector["terms_message_hex"]
    read = hub_terms(vector)
    assert document_of(read) == document
    assert terms_of_document(document) == read  # the hub reads its stored document back to the same terms
    assert hashlib.sha256(document).hexdigest() == vector["document_sha256"]


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v["name"])
def test_both_brands_sign_the_document_bytes_themselves(vector: dict[str, Any]) -> None:
    document = vector["document"].encode("ascii")
    for role in ("recogniser", "attester"):
        brand = vector[role]
        assert brand["partner_id"] == vector["terms"][f"{role}_partner_id"]
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(brand["seed_hex"]))
        public = bytes.fromhex(brand["public_key_hex"])
        assert public_key_bytes(key) == public
        assert key.sign(document).hex() == brand["signature_hex"]
        assert signing.verify(public, bytes.fromhex(brand["signature_hex"]), document)
        assert not signing.verify(public, bytes.fromhex(brand["signature_hex"]), document + b"\n")


@pytest.mark.parametrize("vector", DOCUMENTS, ids=lambda v: v["name"])
def test_the_doc_shows_the_vector_documents_and_their_hashes(vector: dict[str, Any]) -> None:
    text = section("The agreement document")
    assert vector["document"] in text
    assert vector["document_sha256"] in text
    value = json.loads(vector["document"])
    assert value["format"] == hub_terms_module.MATCH_FORMAT == "coalition-status-match/1"
    codes = [m["attester_tier"] for m in value["mapping"]]
    assert codes == sorted(codes)


def test_the_documents_keys_are_the_ones_the_doc_lists() -> None:
    value = json.loads(DOCUMENTS[0]["document"])
    text = section("The agreement document")
    keys = set(value) | {k for m in value["mapping"] for k in m} | set(value["challenge"])
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert missing == []
    assert f"one line, {len(DOCUMENTS[0]['document'])} bytes" in text
    assert any(json.loads(v["document"])["challenge"] is None for v in DOCUMENTS) and '"challenge":null' in text


# ---------------------------------------------------------------------------- the tier attestation


def _hub_match() -> tuple[rules.Match, TierLadder]:
    """The match the hub starts for the vectors' member at the vectors' time (its tiers in clear)."""
    vector = DOCUMENTS[0]
    match = ATTESTATIONS["match"]
    tier = match["member_tier"]
    ladder = hub_ladder(vector, "voltline")
    started = rules.start_match(
        hub_terms(vector),
        member_tier=MemberTier(tier["code"], tier["reached_at_ms"], tier["holds_until_ms"], tier["published_at_ms"]),
        attester_ladder=ladder,
        now_ms=match["started_at_ms"],
        previous_matches=[],
        match_id=ATTESTATIONS["vectors"][0]["fields"]["match_id"],
        member_id=ATTESTATIONS["member_id"],
    )
    return started, ladder


def test_the_hub_signs_the_attestation_vectors() -> None:
    hub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(ATTESTATIONS["hub"]["seed_hex"]))
    assert public_key_bytes(hub).hex() == ATTESTATIONS["hub"]["public_key_hex"]
    key_id = HubSigner.from_key(hub).key_id
    assert key_id == ATTESTATIONS["hub"]["hub_key_id"]
    signer = service.HubSigner(key_id, hub.sign)
    secret = bytes.fromhex(ATTESTATIONS["pairwise_secret_hex"])
    under_challenge, confirmed = ATTESTATIONS["vectors"]
    match, _ = _hub_match()
    assert match.ends_at_ms == match.started_at_ms + 30 * DAY_MS  # the challenge's deadline
    work = cast(UnitOfWork, None)  # _attest reads nothing from the store
    reported = rules.report_challenge(match, True, confirmed["fields"]["issued_at_ms"])
    assert reported.state is rules.MatchState.CONFIRMED
    for state, vector in ((match, under_challenge), (reported, confirmed)):
        issued_at = vector["fields"]["issued_at_ms"]
        signed = service._attest(work, state, secret, signer, issued_at)
        assert signed.payload.decode("ascii") == vector["payload"]
        assert (signed.hub_key_id, signed.signature.hex()) == (key_id, vector["signature_hex"])
        assert vector["fields"]["valid_until_ms"] == state.ends_at_ms
    assert confirmed["fields"]["valid_until_ms"] == match.started_at_ms + 180 * DAY_MS


@pytest.mark.parametrize("vector", ATTESTATIONS["vectors"], ids=lambda v: v["name"])
def test_the_attestation_payload_and_message_are_the_sdks(vector: dict[str, Any]) -> None:
    payload = vector["payload"].encode("ascii")
    assert render_tier_attestation_payload(**vector["fields"]) == payload
    message = tier_attestation_message(payload)
    assert message == TIER_ATTESTATION_PREFIX + payload == b"COALITION-TIER-ATTESTATION-V1\n" + payload
    assert message.hex() == vector["message_hex"]
    assert json.loads(payload)["format"] == TIER_ATTESTATION_FORMAT == rules.ATTESTATION_FORMAT


@pytest.mark.parametrize("vector", ATTESTATIONS["vectors"], ids=lambda v: v["name"])
def test_the_attestation_verifies_offline_only_for_its_recogniser_and_within_its_life(vector: dict[str, Any]) -> None:
    fields = vector["fields"]
    attestation = TierAttestation(
        vector["payload"].encode("ascii"), ATTESTATIONS["hub"]["hub_key_id"], bytes.fromhex(vector["signature_hex"])
    )
    key = bytes.fromhex(ATTESTATIONS["hub"]["public_key_hex"])
    recogniser = fields["recogniser_partner_id"]
    seen = verify_tier_attestation(attestation, key, recogniser_partner_id=recogniser, now=_at(vector["verify_at_ms"]))
    assert (seen.match_id, seen.pairwise_member_id, seen.attester_tier, seen.matched_tier) == (
        fields["match_id"],
        fields["pairwise_member_id"],
        fields["attester_tier"],
        fields["matched_tier"],
    )
    assert (seen.issued_at, seen.valid_until) == (_at(fields["issued_at_ms"]), _at(fields["valid_until_ms"]))
    assert ATTESTATION_CLOCK_SKEW_MS == 5 * 60_000
    refusals = [
        (
            dict(recogniser_partner_id=fields["attester_partner_id"], now=_at(vector["verify_at_ms"])),
            "WRONG_RECOGNISER",
        ),
        (dict(recogniser_partner_id=recogniser, now=_at(fields["valid_until_ms"])), "ATTESTATION_EXPIRED"),
        (
            dict(recogniser_partner_id=recogniser, now=_at(fields["issued_at_ms"] - ATTESTATION_CLOCK_SKEW_MS - 1)),
            "ATTESTATION_NOT_YET_VALID",
        ),
    ]
    for options, reason in refusals:
        with pytest.raises(TierAttestationVerificationError) as refused:
            verify_tier_attestation(attestation, key, **options)  # type: ignore[arg-type]
        assert refused.value.reason == reason
    assert verify_tier_attestation(
        attestation, key, recogniser_partner_id=recogniser, now=_at(fields["issued_at_ms"] - ATTESTATION_CLOCK_SKEW_MS)
    )


def test_the_doc_shows_the_attestation_vector() -> None:
    text = section("The tier attestation")
    vector = ATTESTATIONS["vectors"][0]
    for shown in (vector["payload"], vector["signature_hex"], ATTESTATIONS["hub"]["public_key_hex"]):
        assert shown in text
    for key in json.loads(vector["payload"]):
        assert f"`{key}`" in text
    assert f"{len(TIER_ATTESTATION_PREFIX)} bytes" in text


def test_the_attestation_refusals_the_doc_lists_are_the_sdks_in_order() -> None:
    """Each reason the table lists is what verify_tier_attestation answers, checked in the table's order."""
    documented = (verify_tier_attestation.__doc__ or "").split("TierAttestationVerificationError: reason")[1]
    documented = documented.split("ValueError")[0]
    listed = re.findall(r"^\| `([A-Z_]+)` \|", section("The tier attestation"), re.M)
    assert len(listed) == len(set(listed)) and set(listed) == set(re.findall(r"[A-Z][A-Z_]+[A-Z]", documented))
    hub = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(ATTESTATIONS["hub"]["seed_hex"]))
    key = bytes.fromhex(ATTESTATIONS["hub"]["public_key_hex"])
    vector = ATTESTATIONS["vectors"][0]
    fields = vector["fields"]
    recogniser, late = fields["recogniser_partner_id"], _at(fields["valid_until_ms"])

    def signed(payload: bytes) -> TierAttestation:
        return TierAttestation(payload, "hub", hub.sign(tier_attestation_message(payload)))

    value = json.loads(vector["payload"])
    wrong_format = json.dumps({**value, "format": "x"}, sort_keys=True, separators=(",", ":")).encode()
    cases = [  # each also fails every later check it can: the earlier one is what is answered
        ("BAD_HUB_KEY", signed(b"{}"), key[:31], recogniser),
        ("BAD_SIGNATURE", TierAttestation(b"{ }", "hub", hub.sign(b"{}")), key, "nobody"),
        ("MALFORMED_ATTESTATION", signed(b'{"format":1.5}'), key, "nobody"),
        ("NOT_CANONICAL", signed(json.dumps({**value, "format": "x"}).encode()), key, "nobody"),
        ("MALFORMED_ATTESTATION", signed(b"[]"), key, "nobody"),
        ("WRONG_FORMAT", signed(wrong_format), key, "nobody"),
        ("MALFORMED_ATTESTATION", signed(render_tier_attestation_payload(**{**fields, "match_id": ""})), key, "x"),
        ("WRONG_RECOGNISER", signed(vector["payload"].encode()), key, "nobody"),
    ]
    answered = []
    for reason, attestation, hub_key, who in cases:
        with pytest.raises(TierAttestationVerificationError) as refused:
            verify_tier_attestation(attestation, hub_key, recogniser_partner_id=who, now=late)
        assert refused.value.reason == reason
        answered.append(reason)
    answered += ["ATTESTATION_EXPIRED", "ATTESTATION_NOT_YET_VALID"]  # checked last, by the vector test
    assert [r for r in listed if r != "MALFORMED_ATTESTATION"] == [
        r for r in dict.fromkeys(answered) if r != "MALFORMED_ATTESTATION"
    ]


# ---------------------------------------------------------------------------- states and endings


def test_every_end_reason_is_described_once_and_is_the_wires() -> None:
    text = section("Endings")
    rows = re.findall(r"^\| `([A-Z_]+)` \|", text, re.M)
    assert len(rows) == len(set(rows))
    assert set(rows) == {reason.value for reason in rules.EndReason}
    assert set(rows) == {r for r in get_args(MatchEndReason) if r not in ("", "UNKNOWN")}
    for kind in ("TIER_MATCHED", "TIER_MATCH_ENDED"):
        assert InstructionKind(kind) and instructions_pb2.InstructionKind.Value(f"INSTRUCTION_KIND_{kind}")
        assert f"`{kind}`" in DOC


def test_every_state_and_status_is_named() -> None:
    for state in rules.MatchState:
        assert f"`{state.value}`" in section("Matches: states and the challenge")
        assert pb.MatchState.Value(f"MATCH_STATE_{state.value}")
    for status in rules.MatchAgreementStatus:
        assert f"`{status.value}`" in section("The match agreement")
        assert pb.MatchAgreementStatus.Value(f"MATCH_AGREEMENT_STATUS_{status.value}")


def test_the_consent_the_doc_describes_is_the_hubs() -> None:
    assert service.STATUS_TIER_KEY == "status_tier" and "`status_tier`" in DOC
    assert Purpose.STATUS_MATCH.value == "STATUS_MATCH" and members_pb2.Purpose.Value("PURPOSE_STATUS_MATCH")
    assert "`STATUS_MATCH`" in DOC


# ---------------------------------------------------------------------------- refusals, RPCs, limits


def _raised_in(paths: list[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        for cls, reason in RAISED.findall(path.read_text(encoding="utf-8")):
            found.setdefault(reason, set()).add(cls)
    return found


def _refusal_rows() -> dict[str, set[str]]:
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ((?:`[A-Z_]+`(?: or )?)+) \|", section("Refusals"), re.M)
    assert rows, "the refusal table has no rows"
    reasons = [reason for reason, _ in rows]
    assert len(reasons) == len(set(reasons)), "a reason is listed twice"
    return {reason: set(re.findall(r"`([A-Z_]+)`", statuses)) for reason, statuses in rows}


def test_every_reason_the_status_match_code_raises_is_in_the_refusal_table_with_each_status() -> None:
    status_of = {cls.__name__: code.name for cls, code in STATUS_BY_ERROR.items()}
    rows = _refusal_rows()
    raised = _raised_in(STATUS_MATCH_SOURCES)
    assert sorted(set(raised) - set(rows)) == []
    for reason, classes in raised.items():
        assert {status_of[cls] for cls in classes} <= rows[reason], f"{reason}: a status it is raised with is missing"


def test_every_reason_in_the_refusal_table_is_raised_by_the_hub_with_those_statuses() -> None:
    sources = [p for p in (ROOT / "exchange").rglob("*.py") if not p.name.endswith("_pb2.py")]
    raised = _raised_in(sources)
    status_of = {cls.__name__: code.name for cls, code in STATUS_BY_ERROR.items()}
    for reason, statuses in _refusal_rows().items():
        assert reason in raised, f"no hub code raises {reason}"
        assert statuses <= {status_of[cls] for cls in raised[reason]}, f"{reason} is not raised as {statuses}"


def test_every_status_match_rpc_is_in_the_rpc_table_with_its_idempotency_key() -> None:
    service_descriptor = pb.DESCRIPTOR.services_by_name["StatusMatchService"]
    rows = dict(re.findall(r"^\| `StatusMatchService/(\w+)` \| [^|]+ \| (yes|no) \|", DOC, re.M))
    assert set(rows) == {method.name for method in service_descriptor.methods} == set(STATUS_MATCH_METHODS)
    for name, command in STATUS_MATCH_METHODS.items():
        assert rows[name] == ("yes" if command.idempotency_key is not None else "no"), name


def test_the_limits_the_doc_states_are_the_codes() -> None:
    limits = hub_terms_module
    assert (limits.MAX_TIERS, limits.TIER_NAME_MAX, limits.MAX_TIER_HOLD_DAYS) == (20, 64, 1_098)
    assert (limits.MAX_CHALLENGE_DAYS, limits.CHALLENGE_ACTIVITY_MAX, limits.MAX_CHALLENGE_TARGET) == (365, 200, 10**9)
    assert (limits.MAX_MATCH_DAYS, limits.MAX_PERIOD_DAYS, limits.MAX_TIER_AGE_DAYS) == (730, 1_095, 90)
    assert limits.TIER_CODE_PATTERN.pattern == r"^[a-z][a-z0-9_]{0,31}$"
    assert MAX_AGREEMENT_DAYS == 1_830
    for stated in ("1 to 20 tiers", "1 to 64 characters", "1,098 days", "1 to 365", "1 to 200 characters"):
        assert stated in DOC, stated
    for stated in ("1 to 10^9", "1 to 730", "1 to 1,095", "1 to 90", "1,830 days"):
        assert stated in DOC, stated
    sources = "".join(p.read_text(encoding="utf-8") for p in STATUS_MATCH_SOURCES)
    assert 'new_id("mta")' in sources and 'new_id("smt")' in sources
    assert "`mta-…`" in DOC and "`smt-…`" in DOC
