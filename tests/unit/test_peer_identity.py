"""The mutual-TLS identity rule: the client certificate's CN or a DNS name must equal the principal.

The auth contexts here have the shape grpc gives after a TLS handshake (name -> list of bytes).
"""

from __future__ import annotations

import pytest

from exchange.api.peer_identity import auth_properties, certificate_names, require_certificate_for
from exchange.domain.errors import Unauthenticated
from partner_sdk import TlsOptions


def tls_peer(common_name: str = "", **properties: list[bytes]) -> dict[str, list[bytes]]:
    context = {"transport_security_type": [b"ssl"], **properties}
    if common_name:
        context["x509_common_name"] = [common_name.encode()]
    return context


def refusal(context: dict[str, list[bytes]], principal: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        require_certificate_for(context, principal)
    return refused.value.reason


def test_a_certificate_whose_common_name_is_the_principal_names_it() -> None:
    require_certificate_for(tls_peer("stride"), "stride")
    require_certificate_for(tls_peer("operator"), "operator")


def test_a_certificate_with_the_principal_as_a_dns_name_names_it() -> None:
    context = tls_peer("Stride Rewards Ltd", peer_dns=[b"api.stride.example", b"stride"])
    require_certificate_for(context, "stride")


def test_a_certificate_naming_another_partner_is_a_certificate_mismatch() -> None:
    assert refusal(tls_peer("voltline", peer_dns=[b"voltline"]), "stride") == "CERTIFICATE_MISMATCH"


def test_the_operator_needs_a_certificate_naming_the_operator() -> None:
    assert refusal(tls_peer("stride"), "operator") == "CERTIFICATE_MISMATCH"


def test_uri_email_and_ip_names_never_count() -> None:
    context = tls_peer(
        "someone",
        x509_subject_alternative_name=[b"stride", b"spiffe://coalition/stride"],
        peer_uri=[b"stride"],
        peer_email=[b"stride"],
    )
    assert refusal(context, "stride") == "CERTIFICATE_MISMATCH"


def test_names_match_exactly_without_case_folding_prefixes_or_wildcards() -> None:
    for near_miss in ("Stride", "stride.example", "*", "stride ", "strid"):
        assert refusal(tls_peer(near_miss, peer_dns=[near_miss.encode()]), "stride") == "CERTIFICATE_MISMATCH"


def test_without_tls_or_without_a_certificate_nothing_is_named() -> None:
    assert certificate_names({}) == frozenset()
    assert certificate_names({"transport_security_type": [b"insecure"], "x509_common_name": [b"stride"]}) == frozenset()
    assert refusal(tls_peer(), "stride") == "CERTIFICATE_MISMATCH"


def test_grpc_auth_context_values_are_read_as_lists_of_bytes() -> None:
    raw: dict[str, object] = {"transport_security_type": [b"ssl"], "x509_common_name": b"stride", "odd": ["text"]}
    assert auth_properties(raw) == {"transport_security_type": (b"ssl",), "x509_common_name": (b"stride",), "odd": ()}


def test_sdk_tls_options_refuse_a_client_certificate_without_its_key_and_the_reverse() -> None:
    with pytest.raises(ValueError, match="private key"):
        TlsOptions(certificate_chain=b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(ValueError, match="private key"):
        TlsOptions(private_key=b"-----BEGIN PRIVATE KEY-----")


def test_sdk_tls_options_add_the_server_name_override_as_a_channel_option() -> None:
    assert TlsOptions().channel_options() == []
    assert TlsOptions(server_name_override="hub.test").channel_options() == [
        ("grpc.ssl_target_name_override", "hub.test")
    ]


def test_sdk_clients_take_a_channel_or_tls_options_not_both() -> None:
    import grpc

    from partner_sdk import ExchangeClient, generate_private_key

    with grpc.insecure_channel("127.0.0.1:1") as channel, pytest.raises(ValueError, match="not both"):
        ExchangeClient(
            "127.0.0.1:1",
            partner_id="stride",
            key_id="k1",
            private_key=generate_private_key(),
            channel=channel,
            tls=TlsOptions(),
        )
