"""Signatures cover every part of the canonical request: change anything and verification fails."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from hypothesis import given
from hypothesis import strategies as st

from partner_sdk import generate_private_key, public_key_bytes, signing

KEY = generate_private_key()
PUBLIC = public_key_bytes(KEY)

principals = st.from_regex(signing.PRINCIPAL_PATTERN, fullmatch=True)
key_ids = st.from_regex(signing.KEY_ID_PATTERN, fullmatch=True)
nonces = st.from_regex(signing.NONCE_PATTERN, fullmatch=True)
methods = st.sampled_from(
    [
        "/coalition.exchange.v1.RegistryService/GetPartner",
        "/coalition.exchange.v1.RegistryService/RotateKey",
        "/coalition.exchange.v1.OperatorService/SuspendPartner",
    ]
)


@dataclass(frozen=True)
class Request:
    method: str
    principal: str
    key_id: str
    timestamp_ms: int
    nonce: str
    body: bytes


requests = st.builds(Request, methods, principals, key_ids, st.integers(0, 10**15 - 1), nonces, st.binary(max_size=256))


def _signature(request: Request) -> bytes:
    return KEY.sign(signing.canonical_request(**asdict(request)))


@given(requests)
def test_a_signed_request_verifies(request: Request) -> None:
    assert signing.verify(PUBLIC, _signature(request), signing.canonical_request(**asdict(request)))


@given(requests, requests, st.sampled_from(["method", "principal", "key_id", "timestamp_ms", "nonce", "body"]))
def test_changing_any_field_breaks_the_signature(request: Request, other: Request, field: str) -> None:
    changed = replace(request, **{field: getattr(other, field)})
    if changed == request:
        return
    assert not signing.verify(PUBLIC, _signature(request), signing.canonical_request(**asdict(changed)))


@given(requests, st.data())
def test_flipping_any_body_bit_breaks_the_signature(request: Request, data: st.DataObject) -> None:
    if not request.body:
        return
    position = data.draw(st.integers(0, len(request.body) * 8 - 1))
    body = bytearray(request.body)
    body[position // 8] ^= 1 << (position % 8)
    tampered = replace(request, body=bytes(body))
    assert not signing.verify(PUBLIC, _signature(request), signing.canonical_request(**asdict(tampered)))


@given(requests)
def test_another_key_never_verifies(request: Request) -> None:
    assert not signing.verify(
        public_key_bytes(generate_private_key()), _signature(request), signing.canonical_request(**asdict(request))
    )
