"""The wheel a brand installs: generated code inside, the SDK's dependencies only, the hub behind an extra."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import grpc

from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    conversions_pb2,
    donations_pb2,
    hub_pb2,
    instructions_pb2,
    members_pb2,
    memberships_pb2,
    operator_pb2,
    redemptions_pb2,
    registry_pb2,
    settlement_pb2,
    status_match_pb2,
    vouchers_pb2,
)
from partner_sdk import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_carries_the_generated_code_and_keeps_the_hub_stack_behind_an_extra(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("coalition_exchange-*.whl")
    assert wheel.name.startswith(f"coalition_exchange-{__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert {"coalition/exchange/v1/conversions_pb2.py", "partner_sdk/py.typed", "partner_sdk/client.py"} <= names
    assert any(n.startswith("exchange/store/migrations/versions/0001_") for n in names)
    assert "coalition = exchange.cli.entry:main" in entry_points
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in requires if "extra ==" not in line]
    assert base, requires
    assert not any(
        pkg in line.lower() for line in base for pkg in ("sqlalchemy", "alembic", "psycopg", "typer", "rich")
    )
    assert any("sqlalchemy" in line.lower() and 'extra == "hub"' in line for line in requires)


def test_the_documented_service_config_names_every_service_and_is_valid_for_grpc() -> None:
    config_text = (ROOT / "docs" / "service_config.json").read_text()
    config = json.loads(config_text)
    named = {n["service"] for method in config["methodConfig"] for n in method["name"]}
    services = {
        service.full_name
        for module in (
            accruals_pb2,
            agreements_pb2,
            conversions_pb2,
            donations_pb2,
            hub_pb2,
            instructions_pb2,
            members_pb2,
            memberships_pb2,
            operator_pb2,
            redemptions_pb2,
            registry_pb2,
            settlement_pb2,
            status_match_pb2,
            vouchers_pb2,
        )
        for service in module.DESCRIPTOR.services_by_name.values()
    }
    assert named == services
    # gRPC validates a service config when a call is made: an invalid one fails with INVALID_ARGUMENT,
    # a valid one reaches the (absent) server and fails with UNAVAILABLE.
    with grpc.insecure_channel("127.0.0.1:1", options=[("grpc.service_config", config_text)]) as channel:
        call = channel.unary_unary("/coalition.exchange.v1.HubService/GetHubInfo", None, None)
        try:
            call(b"", timeout=2)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            assert error.code() in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}, error.details()
