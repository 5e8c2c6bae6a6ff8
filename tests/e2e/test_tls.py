"""TLS and mutual TLS, end to end: a real hub on a free port, the real SDK, certificates made here.

With TLS the connection is private and the hub authenticated; with mutual TLS a client needs
a certificate from the client CA to connect at all, and every signed call's certificate must
name the principal that signed it (its CN or a DNS name). Signatures stay required throughout.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import grpc
import pytest
import sqlalchemy
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from coalition.exchange.v1 import registry_pb2
from exchange.api.server_settings import ServerTls
from exchange.store.database import Database
from exchange.store.tables import metadata
from partner_sdk import (
    NO_RETRY,
    ExchangeClient,
    OperatorClient,
    TlsOptions,
    UnauthenticatedError,
    UnavailableError,
    generate_private_key,
    signing,
)
from partner_sdk.keys import Ed25519PrivateKey
from tests.conftest import RunningHub
from tests.conftest import test_keyring as shared_keyring  # not named test_*: pytest would collect it

COALITION = str(Path(sys.executable).parent / "coalition")
HUB_NAME_OVERRIDE = "hub.coalition.test"


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Pem:
    """A certificate and its private key, PEM."""

    certificate: bytes
    private_key: bytes


@dataclass(frozen=True)
class Pki:
    """One test CA, the hub's server certificate, and client certificates by name."""

    ca: bytes
    hub: Pem
    clients: dict[str, Pem]

    def server(self, *, mutual: bool) -> ServerTls:
        return ServerTls(self.hub.certificate, self.hub.private_key, self.ca if mutual else None)

    def client(self, name: str | None = None, **options: str) -> TlsOptions:
        """TLS options trusting the CA, with the named client certificate (None: no certificate)."""
        pem = self.clients[name] if name else None
        return TlsOptions(
            root_certificates=self.ca,
            certificate_chain=pem.certificate if pem else None,
            private_key=pem.private_key if pem else None,
            **options,  # type: ignore[arg-type]
        )

    def write(self, folder: Path) -> dict[str, Path]:
        """Write the CA, the hub's pair and every client pair as PEM files; return their paths by name."""
        paths = {"ca": folder / "ca.pem", "hub.crt": folder / "hub.crt", "hub.key": folder / "hub.key"}
        paths["ca"].write_bytes(self.ca)
        paths["hub.crt"].write_bytes(self.hub.certificate)
        paths["hub.key"].write_bytes(self.hub.private_key)
        for name, pem in self.clients.items():
            paths[f"{name}.crt"], paths[f"{name}.key"] = folder / f"{name}.crt", folder / f"{name}.key"
            paths[f"{name}.crt"].write_bytes(pem.certificate)
            paths[f"{name}.key"].write_bytes(pem.private_key)
        return paths


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    common_name: str,
    *,
    names: list[x509.GeneralName] | None = None,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
    key: ec.EllipticCurvePrivateKey | None = None,
    is_ca: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _pem(certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Coalition test client and hub CA")])
    ca, _ = _issue(ca_key, ca_name, "Coalition test client and hub CA", key=ca_key, is_ca=True)
    hub_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName(HUB_NAME_OVERRIDE),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    hub = _issue(ca_key, ca_name, "coalition hub", names=hub_names, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    clients = {name: _pem(*_issue(ca_key, ca_name, name)) for name in ("stride", "voltline", "operator")}
    # The DNS-name form of the rule: a CN for people, the partner id as a DNS name.
    clients["stride-by-dns"] = _pem(*_issue(ca_key, ca_name, "Stride Rewards Ltd", names=[x509.DNSName("stride")]))
    return Pki(ca.public_bytes(serialization.Encoding.PEM), _pem(*hub), clients)


# ---------------------------------------------------------------- hubs


def _serve(database: Database, tls: ServerTls) -> Iterator[RunningHub]:
    running = RunningHub(database, workers=8, max_request_bytes=64 * 1024, keyring=shared_keyring(), tls=tls).start()
    yield running
    running.stop()


@pytest.fixture
def tls_hub(database: Database, pki: Pki) -> Iterator[RunningHub]:
    """A hub serving TLS; clients need no certificate."""
    yield from _serve(database, pki.server(mutual=False))


@pytest.fixture
def mtls_hub(database: Database, pki: Pki) -> Iterator[RunningHub]:
    """A hub serving mutual TLS: clients need a certificate from the test CA."""
    yield from _serve(database, pki.server(mutual=True))


def _operator(hub: RunningHub, tls: TlsOptions, key: Ed25519PrivateKey | None = None) -> OperatorClient:
    client = OperatorClient(
        hub.target, private_key=key or hub.operator_key, hub_public_key=hub.hub_public_key, tls=tls, retry=NO_RETRY
    )
    client.transport.clock_ms = hub.clock.now_ms
    hub.clients.append(client)
    return client


def _partner(hub: RunningHub, partner_id: str, key: Ed25519PrivateKey, tls: TlsOptions | None) -> ExchangeClient:
    return hub.client(partner_id, key, tls=tls, retry=NO_RETRY, timeout_s=5.0)


def _register(client: ExchangeClient) -> None:
    client.register(
        display_name=client.partner_id.title(),
        point_currency=client.partner_id[:4].upper(),
        settlement_currency="EUR",
        point_value_minor=Fraction(1, 2),
    )


def _snapshot(hub: RunningHub) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, the nonce store's included: a refused certificate leaves no trace at all."""
    with hub.database.engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(sqlalchemy.select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def _raw_call(hub: RunningHub, tls: TlsOptions, method: str, body: bytes) -> tuple[str, str, bool]:
    """Send bytes with no signing headers; return (status code name, reason, whether the answer is hub-signed)."""
    with grpc.secure_channel(hub.target, tls.credentials()) as channel:
        try:
            channel.unary_unary(method, None, None)(body, timeout=5)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            status = rpc_status.from_call(error)
            assert status is not None
            info = error_details_pb2.ErrorInfo()
            assert status.details[0].Unpack(info)
            signed = any(key == signing.HEADER_HUB_SIGNATURE for key, _ in error.trailing_metadata() or ())
            return error.code().name, info.reason, signed
    return "OK", "", False


# ---------------------------------------------------------------- TLS


def test_a_tls_hub_serves_the_sdk_end_to_end(tls_hub: RunningHub, pki: Pki) -> None:
    stride = _partner(tls_hub, "stride", generate_private_key(), pki.client())
    _register(stride)
    assert _operator(tls_hub, pki.client()).approve("stride").status == "ACTIVE"
    assert stride.get_partner("stride").status == "ACTIVE"


def test_a_client_may_check_the_hub_certificate_under_another_name(tls_hub: RunningHub, pki: Pki) -> None:
    key = generate_private_key()
    client = _partner(tls_hub, "stride", key, pki.client(server_name_override=HUB_NAME_OVERRIDE))
    assert client.hub_info().hub_public_key == tls_hub.hub_public_key


def test_a_plaintext_client_cannot_reach_a_tls_hub(tls_hub: RunningHub) -> None:
    client = _partner(tls_hub, "stride", generate_private_key(), None)
    with pytest.raises(UnavailableError):
        _register(client)
    with tls_hub.database.engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("select count(*) from partners")).scalar_one() == 0


def test_a_client_that_does_not_trust_the_hub_certificate_cannot_connect(tls_hub: RunningHub, pki: Pki) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    other_ca = _pem(*_issue(other_key, other_name, "another CA", key=other_key, is_ca=True))
    client = _partner(tls_hub, "stride", generate_private_key(), TlsOptions(root_certificates=other_ca.certificate))
    with pytest.raises(UnavailableError):
        client.hub_info()


# ---------------------------------------------------------------- mutual TLS


def test_under_mutual_tls_a_client_without_a_certificate_is_refused_at_the_handshake(
    mtls_hub: RunningHub, pki: Pki
) -> None:
    client = _partner(mtls_hub, "stride", generate_private_key(), pki.client())
    with pytest.raises(UnavailableError):
        _register(client)
    with pytest.raises(UnavailableError):
        client.hub_info()  # not even the unsigned call


def test_under_mutual_tls_certificates_naming_the_signers_are_served(mtls_hub: RunningHub, pki: Pki) -> None:
    key = generate_private_key()
    stride = _partner(mtls_hub, "stride", key, pki.client("stride"))
    _register(stride)
    assert _operator(mtls_hub, pki.client("operator")).approve("stride").status == "ACTIVE"
    assert stride.get_partner("stride").status == "ACTIVE"
    by_dns_name = _partner(mtls_hub, "stride", key, pki.client("stride-by-dns"))
    assert by_dns_name.list_partners().items[0].partner_id == "stride"


def test_under_mutual_tls_registration_needs_a_certificate_naming_the_registering_partner(
    mtls_hub: RunningHub, pki: Pki
) -> None:
    client = _partner(mtls_hub, "stride", generate_private_key(), pki.client("voltline"))
    before = _snapshot(mtls_hub)
    with pytest.raises(UnauthenticatedError) as refused:
        _register(client)  # the SDK checked the refusal's hub signature before raising it
    assert refused.value.reason == "CERTIFICATE_MISMATCH"
    assert _snapshot(mtls_hub) == before


def test_under_mutual_tls_another_partners_certificate_with_a_valid_signature_is_refused_and_changes_nothing(
    mtls_hub: RunningHub, pki: Pki
) -> None:
    key = generate_private_key()
    _register(_partner(mtls_hub, "stride", key, pki.client("stride")))
    _operator(mtls_hub, pki.client("operator")).approve("stride")
    stride_signing_over_voltline = _partner(mtls_hub, "stride", key, pki.client("voltline"))
    before = _snapshot(mtls_hub)
    with pytest.raises(UnauthenticatedError) as refused:
        stride_signing_over_voltline.rotate_key("k2", generate_private_key())
    assert (refused.value.code, refused.value.reason) == ("UNAUTHENTICATED", "CERTIFICATE_MISMATCH")
    with pytest.raises(UnauthenticatedError) as operator_refused:
        _operator(mtls_hub, pki.client("stride")).suspend("stride", reason="signed by the operator, sent as stride")
    assert operator_refused.value.reason == "CERTIFICATE_MISMATCH"
    assert _snapshot(mtls_hub) == before


def test_under_mutual_tls_a_request_without_a_signature_is_still_refused(mtls_hub: RunningHub, pki: Pki) -> None:
    _register(_partner(mtls_hub, "stride", generate_private_key(), pki.client("stride")))
    method = "/coalition.exchange.v1.RegistryService/GetPartner"
    body = registry_pb2.GetPartnerRequest(partner_id="stride").SerializeToString()
    assert _raw_call(mtls_hub, pki.client("stride"), method, body) == (
        "UNAUTHENTICATED",
        "MISSING_SIGNATURE_HEADER",
        True,
    )


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--tls-cert", "hub.crt"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "hub.key"], "--tls-cert and --tls-key go together"),
        (["--tls-client-ca", "ca"], "--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key"),
        (["--tls-cert", "hub.crt", "--tls-key", "stride.key"], "is not the private key of the first certificate"),
        (["--tls-cert", "hub.key", "--tls-key", "hub.key"], "holds no PEM certificate"),
    ],
)
def test_serve_refuses_tls_files_that_do_not_fit(tmp_path: Path, pki: Pki, given: list[str], said: str) -> None:
    paths = pki.write(tmp_path)
    arguments = [str(paths[item]) if item in paths else item for item in given]
    refused = subprocess.run(
        [COALITION, "serve", "--var-dir", str(tmp_path / "var"), *arguments], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert said in " ".join(refused.stderr.split())
    assert not (tmp_path / "var").exists()  # refused before touching the database or the keys


def test_serve_with_mutual_tls_and_health_over_tls(tmp_path: Path, pki: Pki) -> None:
    paths = pki.write(tmp_path)
    target = f"127.0.0.1:{_free_port()}"
    tls = ["--tls-cert", str(paths["hub.crt"]), "--tls-key", str(paths["hub.key"])]
    process = subprocess.Popen(
        [COALITION, "serve", "--listen", target, "--var-dir", str(tmp_path / "var"), *tls],
        env={**_environment(), "COALITION_TLS_CLIENT_CA": str(paths["ca"])},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    health = [COALITION, "health", "--target", target, "--tls-ca", str(paths["ca"])]
    with_certificate = [*health, "--tls-cert", str(paths["voltline.crt"]), "--tls-key", str(paths["voltline.key"])]
    try:
        _wait_until_healthy(with_certificate, process)
        assert subprocess.run(health, capture_output=True, timeout=30).returncode == 1  # no client certificate
        assert subprocess.run(health[:4], capture_output=True, timeout=30).returncode == 1  # plaintext
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert "mutual TLS" in output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("COALITION_TLS_")}


def _wait_until_healthy(health: list[str], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        if subprocess.run(health, capture_output=True, timeout=30).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail("the hub never became healthy over TLS")
