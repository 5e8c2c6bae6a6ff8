"""The median cost of the Ed25519 operations a conversion's signed messages need."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from partner_sdk import generate_private_key, public_key_bytes, signing
from partner_sdk.keys import Ed25519PublicKey


def median_us(fn: Callable[[], object], iterations: int) -> float:
    """The median time of one call of fn, in microseconds."""
    timings = []
    for _ in range(iterations):
        began = time.perf_counter_ns()
        fn()
        timings.append(time.perf_counter_ns() - began)
    return round(statistics.median(timings) / 1000, 2)


def crypto_costs(iterations: int) -> dict[str, float]:
    """Median cost of the signing operations a conversion's four signed messages need, in microseconds."""
    key = generate_private_key()
    public = public_key_bytes(key)
    body = os.urandom(120)  # about the size of a ConvertRequest
    message = signing.canonical_request(
        method="/coalition.exchange.v1.ConversionService/Convert",
        principal="bench-source-0",
        key_id="k1",
        timestamp_ms=1_800_000_000_000,
        nonce=signing.new_nonce(),
        body=body,
    )
    signature = key.sign(message)
    loaded = Ed25519PublicKey.from_public_bytes(public)
    for _ in range(200):  # warm up
        key.sign(message)
        signing.verify(public, signature, message)
    return {
        "sign_us": median_us(lambda: key.sign(message), iterations),
        "verify_us": median_us(lambda: signing.verify(public, signature, message), iterations),
        "verify_preloaded_key_us": median_us(lambda: loaded.verify(signature, message), iterations),
        "sign_request_us": median_us(
            lambda: signing.sign_request(
                key,
                method="/coalition.exchange.v1.ConversionService/Convert",
                principal="bench-source-0",
                key_id="k1",
                body=body,
                timestamp_ms=1_800_000_000_000,
            ),
            iterations,
        ),
    }
