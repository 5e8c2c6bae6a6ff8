"""docs/service_config.json: an entry for every service of the contract, timeouts that fit, safe retries only."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import grpc
import pytest

from exchange.domain.instructions import MAX_WAIT_S

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos" / "coalition" / "exchange" / "v1"
CONFIG_TEXT = (ROOT / "docs" / "service_config.json").read_text()
CONFIG: dict[str, Any] = json.loads(CONFIG_TEXT)
# A resend carries the same signed request and nonce, so the hub answers it from record: safe for these only.
RETRYABLE = {"UNAVAILABLE", "ABORTED"}
SETTLEMENT_WORK = ("ClosePeriod", "FinishReconciliation", "ListStatementMovements", "ListPaymentInstructions")


def services_in_the_protos() -> dict[str, set[str]]:
    """Return each `service` of protos/coalition/exchange/v1/*.proto by full name, with its methods."""
    found: dict[str, set[str]] = {}
    for proto in sorted(PROTOS.glob("*.proto")):
        text = proto.read_text()
        package = re.search(r"^package\s+([\w.]+)\s*;", text, re.MULTILINE)
        assert package, proto
        for name, body in re.findall(r"^service\s+(\w+)\s*\{(.*?)^\}", text, re.MULTILINE | re.DOTALL):
            found[f"{package[1]}.{name}"] = set(re.findall(r"^\s*rpc\s+(\w+)\s*\(", body, re.MULTILINE))
    return found


def services_in_the_generated_code() -> dict[str, set[str]]:
    """Return each service the generated descriptors (coalition/exchange/v1/*_pb2.py) declare, with its methods."""
    found: dict[str, set[str]] = {}
    for module_file in sorted((ROOT / "coalition" / "exchange" / "v1").glob("*_pb2.py")):
        module = importlib.import_module(f"coalition.exchange.v1.{module_file.stem}")
        for service in module.DESCRIPTOR.services_by_name.values():
            found[service.full_name] = {method.name for method in service.methods}
    return found


def entries() -> list[tuple[dict[str, str], dict[str, Any]]]:
    return [(name, method_config) for method_config in CONFIG["methodConfig"] for name in method_config["name"]]


def config_for(service: str, method: str) -> dict[str, Any]:
    """The methodConfig gRPC applies to a call: an entry naming the method wins over one naming its service."""
    for wanted in ({"service": service, "method": method}, {"service": service}):
        for name, method_config in entries():
            if name == wanted:
                return method_config
    raise AssertionError(f"no entry applies to {service}/{method}")


def seconds(duration: str) -> float:
    assert re.fullmatch(r"\d+(\.\d+)?s", duration), duration
    return float(duration[:-1])


def test_the_protos_and_the_generated_code_declare_the_same_services() -> None:
    assert services_in_the_protos() == services_in_the_generated_code()
    assert len(services_in_the_protos()) >= 11


@pytest.mark.parametrize("service", sorted(services_in_the_protos()))
def test_every_service_of_the_contract_has_an_entry_of_its_own(service: str) -> None:
    assert {"service": service} in [name for name, _ in entries()], f"{service} has no entry in service_config.json"


def test_every_entry_names_a_service_and_method_that_exist_and_each_only_once() -> None:
    services = services_in_the_protos()
    names = [json.dumps(name, sort_keys=True) for name, _ in entries()]
    assert len(names) == len(set(names)), "gRPC rejects a service config that names a method twice"
    for name, _ in entries():
        assert name["service"] in services, name
        if "method" in name:
            assert name["method"] in services[name["service"]], name


def test_every_call_has_a_timeout_and_retries_only_what_a_resend_makes_safe() -> None:
    for service, methods in services_in_the_protos().items():
        for method in methods:
            method_config = config_for(service, method)
            assert seconds(method_config["timeout"]) > 0
            policy = method_config["retryPolicy"]
            assert set(policy["retryableStatusCodes"]) == RETRYABLE, (service, method)
            assert 2 <= policy["maxAttempts"] <= 5  # gRPC caps attempts at 5


def test_a_long_poll_of_pull_instructions_fits_in_its_timeout() -> None:
    timeout_s = seconds(config_for("coalition.exchange.v1.InstructionService", "PullInstructions")["timeout"])
    assert timeout_s >= MAX_WAIT_S + 5
    ack = config_for("coalition.exchange.v1.InstructionService", "AcknowledgeInstruction")
    assert seconds(ack["timeout"]) < timeout_s


@pytest.mark.parametrize("method", SETTLEMENT_WORK)
def test_closing_a_period_and_exporting_a_statement_get_longer_than_a_plain_call(method: str) -> None:
    plain = seconds(config_for("coalition.exchange.v1.ConversionService", "Convert")["timeout"])
    assert seconds(config_for("coalition.exchange.v1.SettlementService", method)["timeout"]) >= 6 * plain


def test_grpc_accepts_the_config() -> None:
    # gRPC validates a service config when a call is made: an invalid one fails with INVALID_ARGUMENT,
    # a valid one reaches the (absent) server and fails with UNAVAILABLE.
    with grpc.insecure_channel("127.0.0.1:1", options=[("grpc.service_config", CONFIG_TEXT)]) as channel:
        call = channel.unary_unary("/coalition.exchange.v1.MemberService/ListLinks", None, None)
        with pytest.raises(grpc.RpcError) as raised:
            call(b"", timeout=2)
        assert isinstance(raised.value, grpc.Call)
        code = raised.value.code()
        assert code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}, raised.value.details()
