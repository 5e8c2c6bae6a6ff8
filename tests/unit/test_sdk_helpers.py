"""SDK helpers: key files and the retry policy."""

from __future__ import annotations

import stat
from pathlib import Path

import grpc
import pytest

from partner_sdk import RetryPolicy, generate_private_key, load_private_key, public_key_bytes, save_private_key
from partner_sdk.keys import fingerprint, load_public_key


def test_a_saved_key_loads_back_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    key = generate_private_key()
    save_private_key(tmp_path / "k.pem", key)
    assert public_key_bytes(load_private_key(tmp_path / "k.pem")) == public_key_bytes(key)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_a_passphrase_protected_key_needs_its_passphrase(tmp_path: Path) -> None:
    key = generate_private_key()
    save_private_key(tmp_path / "k.pem", key, passphrase=b"correct horse")
    assert b"ENCRYPTED" in (tmp_path / "k.pem").read_bytes()
    with pytest.raises(TypeError):
        load_private_key(tmp_path / "k.pem")
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography's message varies by version
        load_private_key(tmp_path / "k.pem", passphrase=b"wrong")
    assert public_key_bytes(load_private_key(tmp_path / "k.pem", passphrase=b"correct horse")) == public_key_bytes(key)


def test_loading_a_private_key_as_public_is_refused(tmp_path: Path) -> None:
    save_private_key(tmp_path / "k.pem", generate_private_key())
    with pytest.raises(ValueError, match="private key"):
        load_public_key(tmp_path / "k.pem")


def test_fingerprints_are_sha256_of_the_raw_key() -> None:
    assert fingerprint(bytes(32)) == "SHA256:66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"


@pytest.mark.parametrize(
    ("code", "retried"),
    [
        (grpc.StatusCode.UNAVAILABLE, True),
        (grpc.StatusCode.ABORTED, True),
        (grpc.StatusCode.DEADLINE_EXCEEDED, True),
        (grpc.StatusCode.INVALID_ARGUMENT, False),
        (grpc.StatusCode.UNAUTHENTICATED, False),
        (grpc.StatusCode.FAILED_PRECONDITION, False),
        (grpc.StatusCode.INTERNAL, False),
    ],
)
def test_only_retryable_codes_are_retried(code: grpc.StatusCode, retried: bool) -> None:
    assert RetryPolicy().should_retry(code, attempt=1, elapsed_s=0) is retried


def test_retries_are_bounded_in_attempts_and_time() -> None:
    policy = RetryPolicy(max_attempts=3, total_timeout_s=5)
    assert policy.should_retry(grpc.StatusCode.UNAVAILABLE, attempt=2, elapsed_s=1)
    assert not policy.should_retry(grpc.StatusCode.UNAVAILABLE, attempt=3, elapsed_s=1)
    assert not policy.should_retry(grpc.StatusCode.UNAVAILABLE, attempt=1, elapsed_s=5)


def test_backoff_is_jittered_and_capped() -> None:
    policy = RetryPolicy(initial_backoff_s=0.1, max_backoff_s=0.5, multiplier=2)
    pauses = [policy.pause_s(attempt) for attempt in range(1, 10) for _ in range(20)]
    assert all(0 <= pause <= 0.5 for pause in pauses)
    assert len(set(pauses)) > 10


def test_an_aborted_refusal_carries_a_retry_delay_the_sdk_reads() -> None:
    from grpc_status import rpc_status

    from exchange.api.status import rich_status
    from partner_sdk.errors import AbortedError, error_from_rpc

    status = rpc_status.to_status(rich_status(grpc.StatusCode.ABORTED, "conflict", "TRANSACTION_CONFLICT"))

    class FakeCall(grpc.RpcError, grpc.Call):  # type: ignore[misc]
        def code(self) -> grpc.StatusCode:
            return status.code

        def details(self) -> str:
            return status.details

        def trailing_metadata(self):  # type: ignore[no-untyped-def]
            return status.trailing_metadata

        def initial_metadata(self):  # type: ignore[no-untyped-def]
            return ()

        def is_active(self) -> bool:
            return False

        def time_remaining(self) -> None:
            return None

        def cancel(self) -> bool:
            return False

        def add_callback(self, callback):  # type: ignore[no-untyped-def]
            return False

    error = error_from_rpc(FakeCall())
    assert isinstance(error, AbortedError)
    assert error.retry_delay_s == 0.05
    assert error.reason == "TRANSACTION_CONFLICT"
