"""Mutual TLS: the client certificate must name the principal that signed the request.

A certificate names a principal when its subject common name (CN), or any of its DNS
subject alternative names, equals the principal exactly: the partner id for a partner, or
"operator" for the operator. Nothing else counts (no wildcards, no case folding, no URI,
e-mail or IP names), so one certificate can never stand for a principal by accident.

The check is a second factor, not a replacement: the request must still be signed. It runs
before the signature is verified and before anything is read or written, so a connection
whose certificate names someone else learns nothing about the principal it claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from exchange.domain.errors import Unauthenticated

# Property names grpc puts in ServicerContext.auth_context() after a TLS handshake.
TRANSPORT_SECURITY_TYPE = "transport_security_type"
SSL = b"ssl"
COMMON_NAME = "x509_common_name"
DNS_NAMES = "peer_dns"  # the DNS names among x509_subject_alternative_name, which mixes in URIs and e-mails


def auth_properties(auth_context: Mapping[str, object]) -> dict[str, tuple[bytes, ...]]:
    """Return grpc's auth context as name -> values (grpc gives a list per name; its type stubs say bytes)."""
    properties: dict[str, tuple[bytes, ...]] = {}
    for name, values in auth_context.items():
        listed = values if isinstance(values, list | tuple) else (values,)
        properties[name] = tuple(value for value in listed if isinstance(value, bytes))
    return properties


def certificate_names(auth_context: Mapping[str, Iterable[bytes]]) -> frozenset[str]:
    """Return the names a verified peer certificate may stand for: its CN and DNS names.

    Empty when the connection is not TLS or the peer sent no certificate.
    """
    if SSL not in auth_context.get(TRANSPORT_SECURITY_TYPE, ()):
        return frozenset()
    names = (*auth_context.get(COMMON_NAME, ()), *auth_context.get(DNS_NAMES, ()))
    return frozenset(name.decode("utf-8", errors="replace") for name in names)


def require_certificate_for(auth_context: Mapping[str, Iterable[bytes]], principal: str) -> None:
    """Raise Unauthenticated (CERTIFICATE_MISMATCH) unless the peer certificate names principal."""
    if principal not in certificate_names(auth_context):
        raise Unauthenticated(
            "CERTIFICATE_MISMATCH",
            f"the client certificate does not name {principal!r} (its CN or a DNS name must equal the principal)",
        )
