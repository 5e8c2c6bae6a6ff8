"""The hub server's defaults and its TLS identity, apart from the server itself.

The command line names these in every `--help` and `coalition admin` default; importing them
from here rather than from exchange.api.server keeps a command that never serves from loading
every service of the hub (about half a second of every `coalition` invocation).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

DEFAULT_LISTEN = "127.0.0.1:50051"
DEFAULT_METRICS_LISTEN = "127.0.0.1:9464"
DEFAULT_WINDOW_S = 300
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
DEFAULT_WORKERS = 16
DEFAULT_GRACE_S = 10.0


@dataclass(frozen=True)
class ServerTls:
    """The hub's TLS identity, and the CA whose client certificates it requires (mutual TLS).

    With client_ca set, a client must present a certificate issued by it to connect at all,
    and every signed call's certificate must name its principal (exchange.api.peer_identity).
    Signatures stay required either way: TLS protects the connection, the signature the request.
    """

    certificate_chain: bytes  # PEM: the hub's certificate, then any intermediates
    private_key: bytes  # PEM
    client_ca: bytes | None = None  # PEM: the CA(s) that issue client certificates

    @property
    def mutual(self) -> bool:
        """Whether clients must present a certificate."""
        return self.client_ca is not None

    def credentials(self) -> grpc.ServerCredentials:
        """Return the gRPC server credentials for this identity."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.mutual,
        )
