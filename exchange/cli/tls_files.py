"""TLS PEM files named on the command line: read and checked before grpc sees them.

grpc reports a missing key, a malformed certificate or a key that belongs to another
certificate only as "failed to bind"; these checks name the option and the file instead.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from exchange.api.server_settings import ServerTls
from partner_sdk.tls import TlsOptions


class TlsFileError(ValueError):
    """A TLS option or file is missing, malformed or does not fit the others."""


def server_tls(cert: Path | None, key: Path | None, client_ca: Path | None) -> ServerTls | None:
    """Return the hub's TLS settings from --tls-cert, --tls-key and --tls-client-ca; None for plaintext."""
    if cert is None and key is None:
        if client_ca is not None:
            raise TlsFileError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key: the hub must serve TLS")
        return None
    if cert is None or key is None:
        raise TlsFileError("--tls-cert and --tls-key go together: the hub's certificate and its private key")
    chain, private_key = certificate_and_key(cert, key)
    return ServerTls(
        certificate_chain=chain,
        private_key=private_key,
        client_ca=None if client_ca is None else _certificates(client_ca, "--tls-client-ca"),
    )


def client_tls(ca: Path | None, cert: Path | None, key: Path | None) -> TlsOptions | None:
    """Return a client's TLS options from --tls-ca, --tls-cert and --tls-key; None for plaintext."""
    if (cert is None) != (key is None):
        raise TlsFileError("--tls-cert and --tls-key go together: the client certificate and its private key")
    if ca is None and cert is None:
        return None
    chain, private_key = certificate_and_key(cert, key) if cert is not None and key is not None else (None, None)
    return TlsOptions(
        root_certificates=None if ca is None else _certificates(ca, "--tls-ca"),
        certificate_chain=chain,
        private_key=private_key,
    )


def certificate_and_key(cert: Path, key: Path) -> tuple[bytes, bytes]:
    """Read a certificate chain and its private key, refusing a key that belongs to another certificate."""
    chain = _certificates(cert, "--tls-cert")
    pem = _read(key, "--tls-key")
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise TlsFileError(f"--tls-key {key} is not an unencrypted PEM private key") from exc
    if _spki(private_key.public_key()) != _spki(x509.load_pem_x509_certificates(chain)[0].public_key()):
        raise TlsFileError(f"--tls-key {key} is not the private key of the first certificate in {cert}")
    return chain, pem


def _certificates(path: Path, option: str) -> bytes:
    pem = _read(path, option)
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TlsFileError(f"{option} {path} holds no PEM certificate") from exc
    return pem


def _read(path: Path, option: str) -> bytes:
    if not path.is_file():
        raise TlsFileError(f"{option} {path} does not exist")
    return path.read_bytes()


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
