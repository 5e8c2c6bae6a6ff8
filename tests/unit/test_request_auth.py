"""Rules for accepting a signed request: window, key and partner state, nonce verdicts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exchange.domain import partners as rules
from exchange.domain.errors import Unauthenticated
from exchange.domain.partners import PartnerStatus
from exchange.domain.request_auth import NonceVerdict, check_timestamp, claimed_key, judge_nonce, key_may_sign
from exchange.service.authentication import read_call
from partner_sdk import generate_private_key, signing

NOW = 1_800_000_000_000
WINDOW = 300_000


@pytest.mark.parametrize("skew", [0, WINDOW, -WINDOW])
def test_timestamps_inside_the_window_are_accepted(skew: int) -> None:
    check_timestamp(NOW + skew, NOW, WINDOW)


@pytest.mark.parametrize(("skew", "reason"), [(WINDOW + 1, "TIMESTAMP_TOO_NEW"), (-WINDOW - 1, "TIMESTAMP_TOO_OLD")])
def test_timestamps_outside_the_window_are_refused(skew: int, reason: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_timestamp(NOW + skew, NOW, WINDOW)
    assert refused.value.reason == reason


def _partner(status: PartnerStatus = PartnerStatus.ACTIVE) -> rules.Partner:
    registration = rules.validate_registration(
        partner_id="stride",
        display_name="S",
        point_currency="STRD",
        settlement_currency="EUR",
        point_value_numerator=1,
        point_value_denominator=1,
        key_id="k1",
        public_key=bytes(32),
    )
    return replace(rules.new_partner(registration, NOW), status=status)


@pytest.mark.parametrize(
    ("partner", "key_id", "reason"), [(None, "k1", "UNKNOWN_PARTNER"), (_partner(), "k2", "UNKNOWN_KEY")]
)
def test_a_key_that_does_not_exist_is_refused(partner: rules.Partner | None, key_id: str, reason: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        claimed_key(partner, key_id)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("status", "reason"), [(PartnerStatus.SUSPENDED, "PARTNER_SUSPENDED"), (PartnerStatus.PENDING, "PARTNER_PENDING")]
)
def test_partners_that_may_not_call_are_refused(status: PartnerStatus, reason: str) -> None:
    partner = _partner(status)
    with pytest.raises(Unauthenticated) as refused:
        key_may_sign(partner, partner.keys[0], NOW)
    assert refused.value.reason == reason


def test_revoked_and_expired_keys_are_refused() -> None:
    partner = _partner()
    revoked = replace(partner, keys=(replace(partner.keys[0], revoked_at_ms=NOW),))
    expired = replace(partner, keys=(replace(partner.keys[0], not_after_ms=NOW),))
    with pytest.raises(Unauthenticated, match="revoked"):
        key_may_sign(revoked, revoked.keys[0], NOW)
    with pytest.raises(Unauthenticated, match="expired"):
        key_may_sign(expired, expired.keys[0], NOW)
    key_may_sign(expired, expired.keys[0], NOW - 1)


def test_nonce_verdicts() -> None:
    assert judge_nonce(None, ("/m", "abc")) is NonceVerdict.NEW
    assert judge_nonce(("/m", "abc"), ("/m", "abc")) is NonceVerdict.RESENT
    assert judge_nonce(("/m", "abc"), ("/m", "abd")) is NonceVerdict.REPLAYED
    assert judge_nonce(("/m", "abc"), ("/other", "abc")) is NonceVerdict.REPLAYED


def _headers() -> dict[str, str]:
    headers = signing.sign_request(
        generate_private_key(), method="/m", principal="stride", key_id="k1", body=b"x", timestamp_ms=NOW
    )
    return dict(headers.as_metadata())


def test_well_formed_headers_are_read() -> None:
    call = read_call("/m", _headers(), b"x")
    assert (call.principal, call.key_id, call.timestamp_ms, len(call.signature)) == ("stride", "k1", NOW, 64)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        (signing.HEADER_PRINCIPAL, None, "MISSING_SIGNATURE_HEADER"),
        (signing.HEADER_NONCE, "", "MISSING_SIGNATURE_HEADER"),
        (signing.HEADER_NONCE, "short", "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_NONCE, "x" * 65, "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_TIMESTAMP, "-5", "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_TIMESTAMP, "0123", "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_TIMESTAMP, "123\n", "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_KEY_ID, "k 1", "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_PRINCIPAL, "Stride", "MALFORMED_SIGNATURE_HEADER"),
        (signing.HEADER_SIGNATURE, "!" * 88, "MALFORMED_SIGNATURE_HEADER"),
    ],
)
def test_missing_or_malformed_headers_are_refused(header: str, value: str | None, reason: str) -> None:
    headers = _headers()
    if value is None:
        del headers[header]
    else:
        headers[header] = value
    with pytest.raises(Unauthenticated) as refused:
        read_call("/m", headers, b"x")
    assert refused.value.reason == reason


def test_a_signature_in_non_canonical_base64_is_malformed() -> None:
    headers = _headers()
    text = headers[signing.HEADER_SIGNATURE]
    # the last character before '==' carries 4 unused bits: flipping one decodes to the same bytes
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(text[-3])
    headers[signing.HEADER_SIGNATURE] = text[:-3] + alphabet[last ^ 1] + "=="
    with pytest.raises(Unauthenticated) as refused:
        read_call("/m", headers, b"x")
    assert refused.value.reason == "MALFORMED_SIGNATURE_HEADER"
