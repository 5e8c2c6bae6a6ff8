"""docs/signing_vectors.json against the reference implementation in partner_sdk.signing.

Every vector's canonical string and signature must come out of partner_sdk.signing exactly,
the signature must verify with the vector's public key and fail as soon as any one input
changes, and the committed file must be exactly what scripts/make_signing_vectors.py writes.
Every request vector's headers must also pass the hub's own header parser, and the error
vector's body must be the google.rpc.Status the hub builds. The agreement vectors are checked
against the hub's own document code as well in tests/unit/test_agreement_vectors.py.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coalition.exchange.v1 import registry_pb2
from exchange.api.status import rich_status
from exchange.domain.errors import InvalidArgument, Unauthenticated
from exchange.domain.partners import parse_partner_id
from exchange.service.authentication import read_call
from partner_sdk import signing
from partner_sdk.documents import AGREEMENT_SCHEME, render_agreement_document
from partner_sdk.errors import ResponseVerificationError
from partner_sdk.keys import public_key_bytes
from partner_sdk.transport import _verify_answer

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = REPO_ROOT / "docs" / "signing_vectors.json"
GENERATOR_FILE = REPO_ROOT / "scripts" / "make_signing_vectors.py"

DOCUMENT: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]
BY_NAME = {vector["name"]: vector for vector in VECTORS}
REQUESTS = [vector for vector in VECTORS if vector["kind"] == "request"]
GET_HUB_INFO = "/coalition.exchange.v1.HubService/GetHubInfo"

# The inputs each kind's canonical string is built from (seed and public key are the signer's).
MESSAGE_INPUTS = {
    "request": ("method", "principal", "key_id", "timestamp_ms", "nonce", "body_hex"),
    "response": ("method", "request_nonce", "hub_key_id", "timestamp_ms", "status", "body_hex"),
    "possession": ("principal", "key_id", "public_key_hex"),
    "agreement": (
        "source_partner_id",
        "target_partner_id",
        "version",
        "rate_numerator",
        "rate_denominator",
        "min_source_points",
        "max_source_points",
        "source_increment",
        "member_daily_cap_source_points",
        "fee_basis_points",
        "fee_fixed_points",
        "valid_from_ms",
        "valid_until_ms",
        "price_numerator",
        "price_denominator",
        "settlement_currency",
    ),
}


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_signing_vectors", GENERATOR_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def canonical_bytes(kind: str, inputs: dict[str, Any]) -> bytes:
    """Build the bytes the signature covers from a vector's inputs with partner_sdk.signing."""
    if kind == "request":
        return signing.canonical_request(
            method=inputs["method"],
            principal=inputs["principal"],
            key_id=inputs["key_id"],
            timestamp_ms=inputs["timestamp_ms"],
            nonce=inputs["nonce"],
            body=bytes.fromhex(inputs["body_hex"]),
        )
    if kind == "response":
        return signing.canonical_response(
            method=inputs["method"],
            request_nonce=inputs["request_nonce"],
            hub_key_id=inputs["hub_key_id"],
            timestamp_ms=inputs["timestamp_ms"],
            status=inputs["status"],
            body=bytes.fromhex(inputs["body_hex"]),
        )
    if kind == "agreement":
        return render_agreement_document(**{name: inputs[name] for name in MESSAGE_INPUTS["agreement"]})
    assert kind == "possession"
    return signing.possession_message(
        principal=inputs["principal"], key_id=inputs["key_id"], public_key=bytes.fromhex(inputs["public_key_hex"])
    )


def signer(vector: dict[str, Any]) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["inputs"]["seed_hex"]))


def mutated(name: str, value: Any) -> Any:
    """Return value changed as little as possible: one character, one unit, or one byte."""
    if name.endswith("_hex"):
        data = bytearray.fromhex(value)
        if not data:
            return "00"
        data[len(data) // 2] ^= 0x01
        return data.hex()
    if isinstance(value, int):
        return value + 1
    if not value:
        return "x"
    last = value[-1]
    return value[:-1] + ("A" if last != "A" else "B")


def mutations() -> list[Any]:
    return [
        pytest.param(vector, field, id=f"{vector['name']}-{field}")
        for vector in VECTORS
        for field in MESSAGE_INPUTS[vector["kind"]]
        if vector["inputs"][field] is not None  # an unset fee: setting it is another document, tested apart
    ]


def test_file_has_every_kind_of_vector() -> None:
    kinds = [vector["kind"] for vector in VECTORS]
    assert kinds.count("request") >= 2
    assert kinds.count("possession") >= 1
    assert kinds.count("agreement") >= 1
    statuses = [vector["inputs"]["status"] for vector in VECTORS if vector["kind"] == "response"]
    assert signing.STATUS_OK in statuses
    assert "INVALID_ARGUMENT" in statuses
    assert len(BY_NAME) == len(VECTORS), "vector names are unique"
    assert DOCUMENT["schemes"] == {
        "request": signing.REQUEST_SCHEME,
        "response": signing.RESPONSE_SCHEME,
        "possession": signing.POSSESSION_SCHEME,
        "agreement": AGREEMENT_SCHEME,
    }


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_canonical_string_matches_the_reference_implementation(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    assert canonical_bytes(vector["kind"], inputs) == vector["canonical"].encode("utf-8")
    if "body_hex" in inputs:
        assert vector["body_sha256"] == signing.sha256_hex(bytes.fromhex(inputs["body_hex"]))
        assert vector["canonical"].split("\n")[-1] == vector["body_sha256"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_seed_gives_the_public_key(vector: dict[str, Any]) -> None:
    assert public_key_bytes(signer(vector)).hex() == vector["inputs"]["public_key_hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_signing_gives_the_expected_signature(vector: dict[str, Any]) -> None:
    signature = signer(vector).sign(canonical_bytes(vector["kind"], vector["inputs"]))
    assert signing.encode_signature(signature) == vector["signature_base64"]
    assert signature.hex() == vector["signature_hex"]
    assert signing.decode_signature(vector["signature_base64"]) == signature


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_expected_signature_verifies_with_the_public_key(vector: dict[str, Any]) -> None:
    public_key = bytes.fromhex(vector["inputs"]["public_key_hex"])
    signature = signing.decode_signature(vector["signature_base64"])
    assert signing.verify(public_key, signature, vector["canonical"].encode("utf-8"))


@pytest.mark.parametrize(("vector", "field"), mutations())
def test_changing_one_input_breaks_the_signature(vector: dict[str, Any], field: str) -> None:
    inputs = dict(vector["inputs"])
    inputs[field] = mutated(field, inputs[field])
    message = canonical_bytes(vector["kind"], inputs)
    assert message != vector["canonical"].encode("utf-8")
    public_key = bytes.fromhex(vector["inputs"]["public_key_hex"])
    assert not signing.verify(public_key, signing.decode_signature(vector["signature_base64"]), message)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_another_key_does_not_verify(vector: dict[str, Any]) -> None:
    other = bytes.fromhex(mutated("public_key_hex", vector["inputs"]["public_key_hex"]))
    others = [other, *(bytes.fromhex(v["inputs"]["public_key_hex"]) for v in VECTORS)]
    signature = signing.decode_signature(vector["signature_base64"])
    for public_key in others:
        if public_key.hex() != vector["inputs"]["public_key_hex"]:
            assert not signing.verify(public_key, signature, vector["canonical"].encode("utf-8"))


@pytest.mark.parametrize("vector", REQUESTS, ids=lambda v: v["name"])
def test_request_headers_are_what_sign_request_returns(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    headers = signing.sign_request(
        signer(vector),
        method=inputs["method"],
        principal=inputs["principal"],
        key_id=inputs["key_id"],
        body=bytes.fromhex(inputs["body_hex"]),
        timestamp_ms=inputs["timestamp_ms"],
        nonce=inputs["nonce"],
    )
    assert dict(headers.as_metadata()) == vector["headers"]
    assert signing.PRINCIPAL_PATTERN.fullmatch(inputs["principal"])
    assert signing.KEY_ID_PATTERN.fullmatch(inputs["key_id"])
    assert signing.NONCE_PATTERN.fullmatch(inputs["nonce"])
    assert signing.TIMESTAMP_PATTERN.fullmatch(vector["headers"][signing.HEADER_TIMESTAMP])


@pytest.mark.parametrize("vector", REQUESTS, ids=lambda v: v["name"])
def test_request_headers_pass_the_hubs_header_parser(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    body = bytes.fromhex(inputs["body_hex"])
    call = read_call(inputs["method"], vector["headers"], body)
    assert (call.principal, call.key_id, call.timestamp_ms, call.nonce) == (
        inputs["principal"],
        inputs["key_id"],
        inputs["timestamp_ms"],
        inputs["nonce"],
    )
    assert call.signature.hex() == vector["signature_hex"]
    assert call.body_sha256 == vector["body_sha256"]
    assert call.canonical() == vector["canonical"].encode("utf-8")


def _non_canonical_signature(text: str) -> str:
    """The same 64 bytes in base64 with a non-zero unused bit in the last character before '=='."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(text[85])
    assert last % 16 == 0, "a canonical encoding of 64 bytes leaves the last 4 bits zero"
    return text[:85] + alphabet[last + 1] + "=="


# Header values the hub refuses as MALFORMED_SIGNATURE_HEADER although they look close to valid.
MALFORMED_HEADERS = {
    "timestamp-leading-zero": (signing.HEADER_TIMESTAMP, lambda value: "0" + value),
    "timestamp-trailing-newline": (signing.HEADER_TIMESTAMP, lambda value: value + "\n"),
    "timestamp-16-digits": (signing.HEADER_TIMESTAMP, lambda value: value.rjust(16, "1")),
    "principal-trailing-newline": (signing.HEADER_PRINCIPAL, lambda value: value + "\n"),
    "nonce-trailing-newline": (signing.HEADER_NONCE, lambda value: value + "\n"),
    "signature-non-canonical-base64": (signing.HEADER_SIGNATURE, _non_canonical_signature),
    "signature-unpadded": (signing.HEADER_SIGNATURE, lambda value: value.rstrip("=")),
    "signature-trailing-newline": (signing.HEADER_SIGNATURE, lambda value: value + "\n"),
    "signature-url-safe": (signing.HEADER_SIGNATURE, lambda value: _url_safe(value)),
}


def _url_safe(text: str) -> str:
    """The same bytes in URL-safe base64 (every vector's signature has a '+' or a '/', so this differs)."""
    changed = text.replace("+", "-").replace("/", "_")
    assert changed != text
    return changed


@pytest.mark.parametrize("vector", REQUESTS, ids=lambda v: v["name"])
@pytest.mark.parametrize("case", sorted(MALFORMED_HEADERS))
def test_the_hub_refuses_non_canonical_header_values(vector: dict[str, Any], case: str) -> None:
    header, change = MALFORMED_HEADERS[case]
    headers = dict(vector["headers"])
    headers[header] = change(headers[header])
    with pytest.raises(Unauthenticated) as refused:
        read_call(vector["inputs"]["method"], headers, bytes.fromhex(vector["inputs"]["body_hex"]))
    assert refused.value.reason == "MALFORMED_SIGNATURE_HEADER"
    assert header in refused.value.message


def test_a_non_canonical_signature_decodes_to_the_same_bytes() -> None:
    """The canonical-base64 rule, not the decoded value, is what refuses the variant above."""
    for vector in REQUESTS:
        variant = _non_canonical_signature(vector["signature_base64"])
        assert base64.b64decode(variant, validate=True).hex() == vector["signature_hex"]
        with pytest.raises(ValueError, match="canonical"):
            signing.decode_signature(variant)


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["kind"] == "response"], ids=lambda v: v["name"])
def test_response_trailing_metadata(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    assert vector["trailing_metadata"] == {
        signing.HEADER_HUB_KEY_ID: inputs["hub_key_id"],
        signing.HEADER_HUB_TIMESTAMP: str(inputs["timestamp_ms"]),
        signing.HEADER_HUB_SIGNATURE: vector["signature_base64"],
    }
    assert signing.TIMESTAMP_PATTERN.fullmatch(str(inputs["timestamp_ms"]))
    if inputs["request_nonce"] or inputs["method"] != GET_HUB_INFO:
        assert signing.NONCE_PATTERN.fullmatch(inputs["request_nonce"])


def test_get_hub_info_is_covered_with_and_without_a_nonce() -> None:
    nonces = [
        v["inputs"]["request_nonce"]
        for v in VECTORS
        if v["kind"] == "response" and v["inputs"]["method"] == GET_HUB_INFO
    ]
    assert "" in nonces
    assert any(nonces)


def test_the_error_vector_is_the_status_the_hub_builds() -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_partner_id("Not A Partner")
    error = refused.value
    expected = rich_status(grpc.StatusCode.INVALID_ARGUMENT, error.message, error.reason, error.field)
    vector = BY_NAME["response-error-invalid-argument"]
    assert vector["inputs"]["status"] == grpc.StatusCode.INVALID_ARGUMENT.name
    assert bytes.fromhex(vector["inputs"]["body_hex"]) == expected.SerializeToString()


def test_signature_header_is_padded_standard_base64_of_64_bytes() -> None:
    for vector in VECTORS:
        text = vector["signature_base64"]
        assert len(text) == 88
        assert text.endswith("==")
        assert base64.b64decode(text, validate=True) == bytes.fromhex(vector["signature_hex"])


def test_possession_proofs_in_request_bodies_match_the_possession_vectors() -> None:
    register = registry_pb2.RegisterPartnerRequest.FromString(
        bytes.fromhex(BY_NAME["request-register-partner"]["inputs"]["body_hex"])
    )
    assert register.possession_proof.hex() == BY_NAME["possession-register-stride-k1"]["signature_hex"]
    assert register.key.public_key.hex() == BY_NAME["possession-register-stride-k1"]["inputs"]["public_key_hex"]
    rotate = registry_pb2.RotateKeyRequest.FromString(
        bytes.fromhex(BY_NAME["request-rotate-key"]["inputs"]["body_hex"])
    )
    assert rotate.possession_proof.hex() == BY_NAME["possession-rotate-stride-k2"]["signature_hex"]
    assert rotate.new_key.public_key.hex() == BY_NAME["possession-rotate-stride-k2"]["inputs"]["public_key_hex"]


def test_committed_file_is_what_the_generator_writes() -> None:
    generator = load_generator()
    expected = generator.render()
    assert VECTORS_FILE.read_text(encoding="utf-8") == expected, (
        "docs/signing_vectors.json is stale: run `python scripts/make_signing_vectors.py`"
    )
    assert generator.render() == expected, "the generator is deterministic"


# The hub's signature trailer in any other text than canonical padded standard base64 of the same 64 bytes.
OTHER_ENCODINGS = {
    "url-safe": _url_safe,
    "unpadded": lambda text: text.rstrip("="),
    "non-canonical-last-character": _non_canonical_signature,
    "trailing-newline": lambda text: text + "\n",
}


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["kind"] == "response"], ids=lambda v: v["name"])
@pytest.mark.parametrize("encoding", sorted(OTHER_ENCODINGS))
def test_the_sdk_accepts_the_hub_signature_in_one_encoding_only(vector: dict[str, Any], encoding: str) -> None:
    inputs = vector["inputs"]
    body = bytes.fromhex(inputs["body_hex"])
    public_key = bytes.fromhex(inputs["public_key_hex"])
    trailers = list(vector["trailing_metadata"].items())
    _verify_answer(public_key, inputs["method"], inputs["request_nonce"], inputs["status"], body, trailers, "")
    changed = dict(vector["trailing_metadata"])
    changed[signing.HEADER_HUB_SIGNATURE] = OTHER_ENCODINGS[encoding](changed[signing.HEADER_HUB_SIGNATURE])
    with pytest.raises(ResponseVerificationError) as refused:
        _verify_answer(
            public_key, inputs["method"], inputs["request_nonce"], inputs["status"], body, list(changed.items()), ""
        )
    assert refused.value.reason == "RESPONSE_BAD_SIGNATURE"
