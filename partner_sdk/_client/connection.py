"""The signed connection both clients are built on, and the argument checks every call shares."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import grpc

from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.retry import RetryPolicy
from partner_sdk.tls import TlsOptions
from partner_sdk.transport import SignedTransport

DEFAULT_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def open_channel(target: str, tls: TlsOptions | None) -> grpc.Channel:
    """Open a plaintext channel, or a TLS one when options are given (same message limits)."""
    options: list[tuple[str, int | str]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    if tls is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, tls.credentials(), options=[*options, *tls.channel_options()])


class Connection:
    """A signed channel to the hub as one principal: what partners and the operator share."""

    def __init__(
        self,
        target: str,
        *,
        principal: str,
        key_id: str,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None,
        timeout_s: float,
        retry: RetryPolicy,
        channel: grpc.Channel | None,
        tls: TlsOptions | None,
    ) -> None:
        if channel is not None and tls is not None:
            raise ValueError("give either a channel or TLS options, not both (the channel carries its own)")
        self._owns_channel = channel is None
        self._channel = channel or open_channel(target, tls)
        self._transport = SignedTransport(
            self._channel,
            principal=principal,
            key_id=key_id,
            private_key=private_key,
            hub_public_key=hub_public_key,
            timeout_s=timeout_s,
            retry=retry,
        )

    @property
    def transport(self) -> SignedTransport:
        """The signed transport, for calls this client does not wrap yet."""
        return self._transport

    def close(self) -> None:
        """Close the channel if this client opened it."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class PartnerConnection(Connection):
    """A brand's connection: its partner id, and its key to sign documents with."""

    partner_id: str

    def sign_document(self, document: bytes) -> bytes:
        """Sign a document (an agreement, an accrual agreement) with the key that signs this client's calls."""
        return self._transport.private_key.sign(document)


def whole(name: str, value: int) -> int:
    """Refuse floats and bools where the contract takes whole numbers (points are never fractional)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def key_list(keys: Sequence[str]) -> list[str]:
    """Refuse a bare str where a sequence of attribute keys is expected (it would be split into letters)."""
    if isinstance(keys, str):
        raise TypeError("attribute_keys must be a sequence of keys, not a str")
    return list(keys)


def new_key(prefix: str) -> str:
    """Make up an idempotency key, for a call whose caller gave none: it protects only this call's own retries."""
    return prefix + secrets.token_hex(16)
