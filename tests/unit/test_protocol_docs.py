"""docs/protocol.md against the contract and the hub's code.

Every `Service/Method` the walkthrough names exists in protos/, every service is named, and its
table of all RPCs is complete and says who may call each one and which take an idempotency key
exactly as the hub's method tables do. Every metadata key it names is one the code sends or
reads, and its two metadata tables list exactly what is signed and sent. Its error table is what
exchange.api.status.rich_status builds for each status code the hub answers with. Every
`Message.field` it names exists, and the signed-documents table's first lines, prefixes and
formats are the code's. tests/e2e/test_error_details.py checks the same on a real hub's wire.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor
from google.rpc import error_details_pb2, status_pb2

from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    common_pb2,
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
from exchange.api import (
    accrual_service,
    agreement_service,
    conversion_service,
    donation_service,
    member_service,
    membership_service,
    redemption_service,
    registry_service,
    settlement_service,
    status_match_service,
    voucher_service,
)
from exchange.api.dispatch import REQUEST_ID_PATTERN, _request_id
from exchange.api.hub_service import GET_HUB_INFO
from exchange.api.response_signing import HubSigner
from exchange.api.status import ERROR_DOMAIN, RETRY_DELAY_S, STATUS_BY_ERROR, internal_message, rich_status
from exchange.domain.consent import Consent, Purpose, receipt
from exchange.domain.membership_terms import MEMBERSHIP_FORMAT
from exchange.domain.status_match_terms import MATCH_FORMAT
from exchange.service.pipeline import OPERATOR, PARTNERS, Command
from partner_sdk import accruals, donations, generate_private_key, settlement, signing
from partner_sdk.documents import AGREEMENT_SCHEME
from partner_sdk.memberships import MEMBERSHIP_PASS_PREFIX
from partner_sdk.status_match import TIER_ATTESTATION_PREFIX

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = (REPO_ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
PROTO_MODULES: tuple[ModuleType, ...] = (
    accruals_pb2,
    agreements_pb2,
    common_pb2,
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
RPC = re.compile(r"\b([A-Z][A-Za-z]*Service)/([A-Z][A-Za-z]*)\b")
DETAIL_COLUMNS = ("ErrorInfo", "BadRequest", "RetryInfo", "QuotaFailure")
FIELD_FAULT = "when a field is at fault"


def rpcs_in_the_protos() -> dict[str, set[str]]:
    """Each service of coalition.exchange.v1 by short name, with its methods."""
    services: dict[str, set[str]] = {}
    for module in PROTO_MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            services[service.name] = {method.name for method in service.methods}
    return services


def signed_methods() -> dict[str, Command[Any]]:
    """The hub's signed methods as `Service/Method`, from the tables exchange.api.server serves."""
    tables = [
        (registry_service.REGISTRY_SERVICE, registry_service.REGISTRY_METHODS),
        (registry_service.OPERATOR_SERVICE, registry_service.OPERATOR_METHODS),
        (agreement_service.AGREEMENT_SERVICE, agreement_service.AGREEMENT_METHODS),
        (conversion_service.CONVERSION_SERVICE, conversion_service.CONVERSION_METHODS),
        (conversion_service.INSTRUCTION_SERVICE, conversion_service.INSTRUCTION_METHODS),
        (redemption_service.REDEMPTION_SERVICE, redemption_service.REDEMPTION_METHODS),
        (member_service.MEMBER_SERVICE, member_service.MEMBER_METHODS),
        (settlement_service.SETTLEMENT_SERVICE, settlement_service.SETTLEMENT_METHODS),
        (accrual_service.ACCRUAL_SERVICE, accrual_service.ACCRUAL_METHODS),
        (donation_service.DONATION_SERVICE, donation_service.DONATION_METHODS),
        (membership_service.MEMBERSHIP_SERVICE, membership_service.MEMBERSHIP_METHODS),
        (status_match_service.STATUS_MATCH_SERVICE, status_match_service.STATUS_MATCH_METHODS),
        (voucher_service.VOUCHER_SERVICE, voucher_service.VOUCHER_METHODS),
    ]
    return {
        f"{service.rsplit('.', 1)[1]}/{name}": method for service, methods in tables for name, method in methods.items()
    }


def section(number: int) -> str:
    found = re.search(rf"^## {number}\. .*?\n(.*?)(?=^## |\Z)", PROTOCOL, re.MULTILINE | re.DOTALL)
    assert found, f"docs/protocol.md has no section {number}"
    return found.group(1)


def table_rows(text: str, first_header: str) -> list[list[str]]:
    """The body rows of the markdown table whose first header cell is first_header, cells stripped."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\| {re.escape(first_header)} \|", line))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def unquoted(cell: str) -> str:
    return cell.strip("`")


def test_every_rpc_named_exists_in_the_protos() -> None:
    services = rpcs_in_the_protos()
    named = RPC.findall(PROTOCOL)
    assert len(named) > 50
    for service, method in named:
        assert service in services, f"docs/protocol.md names {service}, which protos/ does not define"
        assert method in services[service], f"docs/protocol.md names {service}/{method}, which protos/ does not define"


def test_every_service_and_every_rpc_of_the_protos_is_named() -> None:
    named = set(RPC.findall(PROTOCOL))
    for service, methods in rpcs_in_the_protos().items():
        for method in methods:
            assert (service, method) in named, f"docs/protocol.md does not name {service}/{method}"
    assert "grpc.health.v1.Health" in PROTOCOL


def test_every_rpc_is_unary() -> None:
    assert "There is no streaming call." in PROTOCOL
    for module in PROTO_MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                proto = descriptor_pb2.MethodDescriptorProto()
                method.CopyToProto(proto)
                assert not (proto.client_streaming or proto.server_streaming), method.full_name


def test_the_table_of_all_rpcs_lists_each_once() -> None:
    rows = table_rows(section(5), "RPC")
    listed = [unquoted(row[0]) for row in rows]
    assert len(listed) == len(set(listed))
    assert set(listed) == {f"{s}/{m}" for s, methods in rpcs_in_the_protos().items() for m in methods}


def expected_caller(rpc: str, method: Command[Any] | None) -> str:
    if method is None:
        assert f"/coalition.exchange.v1.{rpc}" == GET_HUB_INFO, f"{rpc} is not served as a signed method"
        return "anyone"
    if method.registrant_key is not None:
        assert not method.callers
        return "registrant"
    return {PARTNERS: "brand", OPERATOR: "operator", PARTNERS | OPERATOR: "brand, operator"}[method.callers]


def expected_idempotency(method: Command[Any] | None) -> str:
    if method is None:
        return "no"
    request = method.request_type.DESCRIPTOR
    if method.idempotency_key is not None:
        assert "idempotency_key" in request.fields_by_name
        return "yes"
    assert "idempotency_key" not in request.fields_by_name, f"{request.name} has a key the hub does not use"
    per_item = [
        field
        for field in request.fields
        if field.message_type is not None and "idempotency_key" in field.message_type.fields_by_name
    ]
    return "one per item" if per_item else "no"


@pytest.mark.parametrize("row", table_rows(section(5), "RPC"), ids=lambda row: unquoted(row[0]))
def test_the_table_says_who_may_call_and_which_take_an_idempotency_key(row: list[str]) -> None:
    rpc, caller, idempotency = unquoted(row[0]), row[1], row[2]
    method = signed_methods().get(rpc)
    assert caller == expected_caller(rpc, method)
    assert idempotency == expected_idempotency(method)


def metadata_keys_named() -> set[str]:
    return set(re.findall(r"`((?:x|grpc)-[a-z0-9-]+)`", PROTOCOL))


def test_every_metadata_key_named_is_one_the_code_uses() -> None:
    headers = {value for name, value in vars(signing).items() if name.startswith("HEADER_")}
    dispatch = (REPO_ROOT / "exchange" / "api" / "dispatch.py").read_text(encoding="utf-8")
    for key in metadata_keys_named():
        if key.startswith("x-"):
            assert key in headers, f"docs/protocol.md names {key}, which partner_sdk.signing does not define"
        else:  # gRPC's own: the status the hub answers with, read off the wire in tests/e2e/test_error_details.py
            assert key in {"grpc-status", "grpc-message", "grpc-status-details-bin"}, key
    assert '"grpc-status-details-bin"' in dispatch
    assert headers <= metadata_keys_named(), "every header the signing rules define is named"


def test_the_request_table_is_what_a_signed_call_sends() -> None:
    rows = table_rows(section(2), "Metadata key")
    headers = signing.sign_request(
        generate_private_key(), method="/m/M", principal="stride", key_id="k1", body=b"", timestamp_ms=1
    )
    sent = [key for key, _ in headers.as_metadata()]
    assert [unquoted(row[0]) for row in rows] == [*sent, signing.HEADER_REQUEST_ID]
    assert "optional, not signed" in rows[-1][1]
    assert "1 to 64 of `A-Z a-z 0-9 . _ : -`" in rows[-1][1]
    assert REQUEST_ID_PATTERN.pattern == "[A-Za-z0-9._:-]{1,64}"
    assert _request_id("order:42/b") != "order:42/b"  # replaced
    assert _request_id("order:42_b-7.x") == "order:42_b-7.x"  # kept
    canonical = signing.canonical_request(
        method="/m/M", principal="stride", key_id="k1", timestamp_ms=1, nonce=headers.nonce, body=b""
    ).split(b"\n")
    shown = re.search(r"```text\n(COALITION-REQUEST-V1\n.*?)```", section(2), re.DOTALL)
    assert shown and len(shown.group(1).rstrip("\n").split("\n")) == len(canonical) == 7
    assert canonical[0].decode() == signing.REQUEST_SCHEME


def test_the_answer_table_is_what_the_hub_signs_with() -> None:
    rows = table_rows(section(2), "Trailer")
    trailers = HubSigner.from_key(generate_private_key()).headers(
        method="/m/M", request_nonce="n", status="OK", body=b"", now_ms=1
    )
    assert [unquoted(row[0]) for row in rows] == [*(key for key, _ in trailers), signing.HEADER_REQUEST_ID]
    shown = re.search(r"```text\n(COALITION-RESPONSE-V1\n.*?)```", section(2), re.DOTALL)
    canonical = signing.canonical_response(
        method="/m/M", request_nonce="n", hub_key_id="h", timestamp_ms=1, status="OK", body=b""
    ).split(b"\n")
    assert shown and len(shown.group(1).rstrip("\n").split("\n")) == len(canonical) == 7


def hub_codes() -> set[grpc.StatusCode]:
    return {*STATUS_BY_ERROR.values(), grpc.StatusCode.INTERNAL}


def unpacked(status: status_pb2.Status) -> dict[str, Any]:
    """The details by short type name, checking they come in the order of the table's columns."""
    found: dict[str, Any] = {}
    for detail in status.details:
        name = detail.type_url.rsplit(".", 1)[1]
        message = getattr(error_details_pb2, name)()
        assert detail.Unpack(message)
        found[name] = message
    assert list(found) == [name for name in DETAIL_COLUMNS if name in found], "details in the documented order"
    return found


def test_the_error_table_lists_every_code_the_hub_answers_with() -> None:
    rows = table_rows(section(3), "Status code")
    assert {unquoted(row[0]) for row in rows} == {code.name for code in hub_codes()}
    for row in rows:
        assert int(row[1]) == grpc.StatusCode[unquoted(row[0])].value[0]


@pytest.mark.parametrize("row", table_rows(section(3), "Status code"), ids=lambda row: unquoted(row[0]))
def test_each_codes_details_are_what_the_hub_builds(row: list[str]) -> None:
    code = grpc.StatusCode[unquoted(row[0])]
    cells = dict(zip(DETAIL_COLUMNS, row[2:], strict=True))
    if code is grpc.StatusCode.INTERNAL:  # the one INTERNAL the hub sends (exchange.api.dispatch)
        dispatch = (REPO_ROOT / "exchange" / "api" / "dispatch.py").read_text(encoding="utf-8")
        assert "grpc.StatusCode.INTERNAL, message, INTERNAL_REASON)" in dispatch
        message = internal_message("inc-0123456789abcdef")  # the message names the incident, nothing else
        cases = [(rich_status(code, message, "INTERNAL"), message, "INTERNAL", None)]
    else:
        cases = [
            (rich_status(code, "a message", "A_REASON", field), "a message", "A_REASON", field)
            for field in (None, "terms.rate")
        ]
    for status, message, reason, field in cases:
        assert (status.code, status.message) == (code.value[0], message)
        details = unpacked(status)
        assert cells["ErrorInfo"] == "always"
        info = details["ErrorInfo"]
        assert (info.reason, info.domain, dict(info.metadata)) == (reason, ERROR_DOMAIN, {})
        if cells["BadRequest"] == FIELD_FAULT and field is not None:
            violations = details["BadRequest"].field_violations
            assert [(v.field, v.description) for v in violations] == [(field, message)]
        else:
            assert cells["BadRequest"] in {FIELD_FAULT, "no"}
            assert "BadRequest" not in details
        if cells["RetryInfo"] == "no":
            assert "RetryInfo" not in details
        else:
            delay_ms = int(re.fullmatch(r"(\d+) ms", cells["RetryInfo"]).group(1))  # type: ignore[union-attr]
            assert details["RetryInfo"].retry_delay.ToMilliseconds() == delay_ms == RETRY_DELAY_S[code] * 1000
        if cells["QuotaFailure"] == "always":
            violations = details["QuotaFailure"].violations
            assert [(v.subject, v.description) for v in violations] == [(reason, message)]
        else:
            assert cells["QuotaFailure"] == "no"
            assert "QuotaFailure" not in details
    assert f"always `{ERROR_DOMAIN}`" in PROTOCOL


def descriptors_by_short_name() -> dict[str, Descriptor]:
    found: dict[str, Descriptor] = {}
    for module in (*PROTO_MODULES, status_pb2, error_details_pb2):
        for message in module.DESCRIPTOR.message_types_by_name.values():
            assert message.name not in found or found[message.name] is message, message.name
            found[message.name] = message
    return found


def test_every_message_field_named_exists() -> None:
    messages = descriptors_by_short_name()
    named = set(re.findall(r"`([A-Z][A-Za-z]+)\.([a-z_]+)`", PROTOCOL))
    assert len(named) > 20
    for message, field in named:
        assert message in messages, f"docs/protocol.md names {message}, which the contract does not define"
        assert field in messages[message].fields_by_name, f"{message} has no field {field}"


def test_the_signed_documents_are_the_codes() -> None:
    rows = table_rows(section(4), "Document")
    covered = {row[0]: row[3] for row in rows}
    consent = Consent("cst-1", "m", "stride", "voltline", ("k",), Purpose.SERVICE, 0, 1, "stride")
    first_lines = {
        "Proof of possession": signing.POSSESSION_SCHEME,
        "Agreement document": AGREEMENT_SCHEME,
        "Accrual document": accruals.ACCRUAL_SCHEME,
        "Donation document": donations.DONATION_SCHEME,
        "Consent receipt": receipt(consent, pairwise_member_id="pm-x").split(b"\n")[0].decode(),
    }
    prefixes = {
        "Settlement statement": settlement.SIGNING_PREFIX,
        "Donation receipt": donations.RECEIPT_PREFIX,
        "Membership pass": MEMBERSHIP_PASS_PREFIX,
        "Tier attestation": TIER_ATTESTATION_PREFIX,
    }
    # Canonical JSON documents signed as they are, named by their "format" key.
    formats = {"Membership agreement document": MEMBERSHIP_FORMAT, "Match agreement document": MATCH_FORMAT}
    assert set(covered) == set(first_lines) | set(prefixes) | set(formats)
    for document, format_name in formats.items():
        assert covered[document] == f"the canonical JSON document itself, no prefix (`format` `{format_name}`)"
    for document, first_line in first_lines.items():
        assert f"starting `{first_line}`" in covered[document], document
    for document, prefix in prefixes.items():
        assert prefix.endswith(b"\n")
        assert covered[document].startswith(f"`{prefix[:-1].decode()}` and a line feed, then"), document


def test_no_code_block_is_python() -> None:
    """Wire examples are `text`: tests/e2e/test_docs_snippets.py runs ```python blocks, and these are not Python."""
    fences = re.findall(r"^\s*```(\S*)\s*$", PROTOCOL, re.MULTILINE)
    assert fences and len(fences) % 2 == 0
    assert set(fences[0::2]) == {"text"}
    assert set(fences[1::2]) == {""}


def test_the_quota_failure_subjects_are_every_resource_exhausted_reason() -> None:
    sources = "\n".join(path.read_text(encoding="utf-8") for path in (REPO_ROOT / "exchange").rglob("*.py"))
    reasons = set(re.findall(r'ResourceExhausted\(\s*"([A-Z_]+)"', sources))
    listed = re.search(r"`ErrorInfo.reason`: one of (.*?)\. `description`", section(3))
    assert listed, "section 3 lists the QuotaFailure subjects"
    assert set(re.findall(r"`([A-Z_]+)`", listed.group(1))) == reasons
    assert len(reasons) >= 5
