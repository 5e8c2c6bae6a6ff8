"""TlsOptions: how the SDK reaches a hub that serves TLS, or mutual TLS.

TLS protects the connection; it replaces nothing. Every request is still signed with the
partner's Ed25519 key and every answer still verified against the hub's key. With mutual TLS
the hub also requires the client certificate to name the signer: its subject CN or one of its
DNS names must equal the partner id ("operator" for the operator).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

__all__ = ["TlsOptions"]


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """PEM material for a TLS channel to the hub.

    Attributes:
        root_certificates: the CA(s) that issued the hub's certificate; None trusts the
            system's default roots.
        certificate_chain: the client certificate, for mutual TLS (with private_key).
        private_key: the client certificate's private key (PEM). Not the Ed25519 signing key.
        server_name_override: check the hub's certificate against this name instead of the
            target's host (for tests and for hubs reached by an address not in their certificate).
    """

    root_certificates: bytes | None = None
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    server_name_override: str | None = None

    def __post_init__(self) -> None:
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ValueError("a client certificate needs its private key, and a private key its certificate")

    @classmethod
    def from_files(
        cls,
        *,
        root_certificates: str | Path | None = None,
        certificate_chain: str | Path | None = None,
        private_key: str | Path | None = None,
        server_name_override: str | None = None,
    ) -> TlsOptions:
        """Read the PEM files named (any may be None)."""
        return cls(
            root_certificates=_read(root_certificates),
            certificate_chain=_read(certificate_chain),
            private_key=_read(private_key),
            server_name_override=server_name_override,
        )

    def credentials(self) -> grpc.ChannelCredentials:
        """Return the gRPC channel credentials."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.root_certificates,
            private_key=self.private_key,
            certificate_chain=self.certificate_chain,
        )

    def channel_options(self) -> list[tuple[str, str]]:
        """Return the channel options TLS adds (the server name override, if any)."""
        if self.server_name_override is None:
            return []
        return [("grpc.ssl_target_name_override", self.server_name_override)]


def _read(path: str | Path | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()
