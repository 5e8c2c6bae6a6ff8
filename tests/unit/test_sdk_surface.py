"""The SDK has one public surface: partner_sdk's __all__, a few public namespaces, and nothing else.

What the README and docs/ import or name is there; nothing public leaks from the package beyond
__all__; every new module is private unless it is a namespace named here. Failures form one tree,
every verify_* raises from it and returns what it verified, states and kinds are Literals that
match the contract, and the clients name each call's home module.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import types
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

import partner_sdk
from coalition.exchange.v1 import (
    accruals_pb2,
    agreements_pb2,
    common_pb2,
    conversions_pb2,
    instructions_pb2,
    members_pb2,
    memberships_pb2,
    redemptions_pb2,
    settlement_pb2,
    status_match_pb2,
    vouchers_pb2,
)
from partner_sdk import _convert, keys
from partner_sdk.errors import ExchangeError, ReceiptVerificationError, ResponseVerificationError

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_BLOCKS = {"python", "py-example", "py"}
FENCE = re.compile(r"^```(\S*)\s*$")

# The public namespaces besides the package itself; every other module of the SDK starts with "_".
# client, operator, retry and tls define the clients and their options (the hub and the docs
# import them by those paths); testing is a hub inside a brand's own tests.
PUBLIC_MODULES = frozenset(
    {
        "accruals",
        "client",
        "documents",
        "donations",
        "errors",
        "keys",
        "memberships",
        "operator",
        "retry",
        "settlement",
        "settlement_csv",
        "settlement_html",
        "signing",
        "status_match",
        "testing",
        "tls",
        "transport",
    }
)


def _python_blocks(path: Path) -> Iterator[tuple[int, str]]:
    """(first line, code) of every Python block of a Markdown file."""
    language, first, body = None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = FENCE.match(line)
        if language is None:
            if fence:
                language, first, body = fence.group(1), number + 1, []
        elif line.rstrip() == "```":
            if language in PYTHON_BLOCKS:
                yield first, "\n".join(body)
            language = None
        else:
            body.append(line)


def _documented_imports() -> list[tuple[str, str, str]]:
    """(where, module, name) of every `from partner_sdk... import name` in the README's and docs' code."""
    found = []
    for path in TEXTS:
        for first, code in _python_blocks(path):
            for node in ast.walk(ast.parse(code, filename=str(path))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "partner_sdk":
                    where = f"{path.name}:{first + node.lineno - 1}"
                    found += [(where, str(node.module), alias.name) for alias in node.names]
    return found


def _public_namespaces() -> dict[str, types.ModuleType]:
    names = {info.name for info in pkgutil.iter_modules(partner_sdk.__path__)} & PUBLIC_MODULES
    return {name: importlib.import_module(f"partner_sdk.{name}") for name in names - {"testing"}}


def test_every_name_in_all_exists_once() -> None:
    assert len(partner_sdk.__all__) == len(set(partner_sdk.__all__))
    assert [name for name in partner_sdk.__all__ if not hasattr(partner_sdk, name)] == []


def test_the_readme_and_docs_import_only_what_the_sdk_offers() -> None:
    imports = _documented_imports()
    assert imports, "the README and docs import from partner_sdk somewhere"
    missing = [
        (where, module, name) for where, module, name in imports if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []
    from_the_package = {name for _, module, name in imports if module == "partner_sdk"}
    assert from_the_package <= set(partner_sdk.__all__)


def test_names_the_readme_and_docs_use_from_the_sdk_are_in_all() -> None:
    """AwardItem, verify_receipt, InstructionLoop, ... appear in examples without their import: the package has them."""
    offered: set[str] = set()
    for module in _public_namespaces().values():
        offered |= {name for name in getattr(module, "__all__", ()) if not name.startswith("_")}
    used: set[str] = set()
    defined: set[str] = set()
    for path in TEXTS:
        for _, code in _python_blocks(path):
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Name):
                    (used if isinstance(node.ctx, ast.Load) else defined).add(node.id)
                elif isinstance(node, ast.ImportFrom | ast.Import):
                    defined |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
                elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                    defined.add(node.name)
    sdk_names = (used - defined) & offered
    assert sdk_names, "the examples use SDK names"
    assert sorted(sdk_names - set(partner_sdk.__all__)) == []


def test_every_sdk_path_the_docs_name_exists() -> None:
    """`partner_sdk.x.y` in prose resolves to a module or attribute, and `partner_sdk/x.py` to a file."""
    dotted = re.compile(r"partner_sdk(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
    files = re.compile(r"partner_sdk/[A-Za-z0-9_/]+\.py")
    texts = [*TEXTS, *sorted((ROOT / "protos").rglob("*.proto"))]
    unresolved = []
    for path in texts:
        text = path.read_text(encoding="utf-8")
        for reference in set(dotted.findall(text)):
            if not _resolves(reference):
                unresolved.append((path.name, reference))
        unresolved += [(path.name, ref) for ref in set(files.findall(text)) if not (ROOT / ref).is_file()]
    assert sorted(unresolved) == []


def _resolves(reference: str) -> bool:
    parts = reference.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_nothing_public_leaks_from_the_package_beyond_all() -> None:
    leaked = {
        name
        for name, value in vars(partner_sdk).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(leaked - set(partner_sdk.__all__)) == []
    modules = {name for name, value in vars(partner_sdk).items() if isinstance(value, types.ModuleType)}
    assert sorted(name for name in modules if not name.startswith("_") and name not in PUBLIC_MODULES) == []


def test_every_module_of_the_sdk_is_private_unless_it_is_a_public_namespace() -> None:
    modules = {info.name for info in pkgutil.iter_modules(partner_sdk.__path__)}
    assert sorted(name for name in modules if not name.startswith("_") and name not in PUBLIC_MODULES) == []


def test_every_exception_the_sdk_raises_is_in_the_one_tree() -> None:
    exceptions = {
        name: value
        for name in partner_sdk.__all__
        if isinstance(value := getattr(partner_sdk, name), type) and issubclass(value, BaseException)
    }
    # RejectInstruction is the brand's own handler raising to refuse a credit, never raised by the SDK.
    outside = {name for name, cls in exceptions.items() if not issubclass(cls, ExchangeError)}
    assert outside == {"RejectInstruction"}
    assert issubclass(partner_sdk.StatementVerificationError, ResponseVerificationError)
    assert issubclass(partner_sdk.ReceiptVerificationError, ResponseVerificationError)
    assert issubclass(partner_sdk.MembershipPassVerificationError, ResponseVerificationError)
    assert issubclass(partner_sdk.TierAttestationVerificationError, ResponseVerificationError)
    assert issubclass(partner_sdk.StatementFormatError, ValueError)  # as it always was
    errors_tree = importlib.import_module("partner_sdk.errors")
    assert set(errors_tree.__all__) == {name for name, cls in exceptions.items() if issubclass(cls, ExchangeError)}
    assert [name for name in errors_tree.__all__ if name not in (errors_tree.__doc__ or "")] == []  # drawn there


def _verify_callables() -> Iterator[tuple[str, Any]]:
    for module_name, module in _public_namespaces().items():
        for name, value in vars(module).items():
            if name.startswith("verify_") and callable(value):
                yield f"partner_sdk.{module_name}.{name}", value
            if isinstance(value, type) and value.__module__.startswith("partner_sdk"):
                for method_name, method in vars(value).items():
                    if method_name.startswith("verify_"):
                        yield f"{value.__name__}.{method_name}", method


def test_no_verify_function_or_method_answers_with_a_bool() -> None:
    found = dict(_verify_callables())
    assert {
        "partner_sdk.settlement.verify_statement",
        "partner_sdk.memberships.verify_membership_pass",
        "partner_sdk.status_match.verify_tier_attestation",
        "Consent.verify_receipt",
        "Donation.verify_receipt",
    } <= set(found)
    answers_bool = [name for name, fn in found.items() if inspect.signature(fn).return_annotation in (bool, "bool")]
    assert answers_bool == []


def _consent(signed_by: bytes | None = None) -> partner_sdk.Consent:
    hub = keys.generate_private_key()
    receipt = b"COALITION-CONSENT-RECEIPT-V1\nconsent=cst-1"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return partner_sdk.Consent(
        consent_id="cst-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=("shoe_size",),
        purpose="SERVICE",
        granted_at=now,
        expires_at=now,
        revoked_at=None,
        granted_via="stride",
        receipt=receipt,
        receipt_signature=hub.sign(signed_by if signed_by is not None else receipt),
        receipt_key_id=keys.public_key_bytes(hub).hex(),  # the test keeps the key here to check with
    )


def test_a_receipt_that_verifies_is_returned_and_one_that_does_not_raises_from_the_tree() -> None:
    consent = _consent()
    hub_key = bytes.fromhex(consent.receipt_key_id)
    assert consent.verify_receipt(hub_key) == consent.receipt
    assert partner_sdk.verify_receipt(consent, hub_key) == consent.receipt
    with pytest.raises(ReceiptVerificationError) as altered:
        replace(consent, receipt=consent.receipt + b"!").verify_receipt(hub_key)
    assert (altered.value.reason, altered.value.code) == ("BAD_SIGNATURE", "RECEIPT_NOT_VERIFIED")
    with pytest.raises(ReceiptVerificationError) as short:
        consent.verify_receipt(hub_key[:31])
    assert short.value.reason == "BAD_HUB_KEY"
    assert isinstance(short.value, ResponseVerificationError)


def test_a_donation_receipt_is_checked_with_its_prefix() -> None:
    hub = keys.generate_private_key()
    receipt = b'{"format":"coalition-donation-receipt/1"}'
    donation = partner_sdk.Donation(
        donation_id="don-1",
        brand_partner_id="stride",
        charity_partner_id="oceans",
        member_ref="m-1",
        donor_pairwise_id="",
        points=10,
        amount_minor=3,
        currency="EUR",
        donated_at=datetime(2026, 1, 1, tzinfo=UTC),
        receipt=receipt,
        receipt_signature=hub.sign(partner_sdk.donations.RECEIPT_PREFIX + receipt),
        hub_key_id="hub-1",
    )
    assert partner_sdk.verify_receipt(donation, keys.public_key_bytes(hub)) == receipt
    with pytest.raises(ReceiptVerificationError):
        partner_sdk.verify_receipt(replace(donation, receipt_signature=hub.sign(receipt)), keys.public_key_bytes(hub))


# Each Literal of the models, the protobuf enum it reads, and the enum's prefix.
LITERALS: list[tuple[str, EnumTypeWrapper, str]] = [
    ("PartnerStatus", common_pb2.PartnerStatus, "PARTNER_STATUS_"),
    ("PartnerKind", common_pb2.PartnerKind, "PARTNER_KIND_"),
    ("KeyState", common_pb2.KeyState, "KEY_STATE_"),
    ("AgreementStatus", agreements_pb2.AgreementStatus, "AGREEMENT_STATUS_"),
    ("ConversionState", conversions_pb2.ConversionState, "CONVERSION_STATE_"),
    ("InstructionKind", instructions_pb2.InstructionKind, "INSTRUCTION_KIND_"),
    ("InstructionState", instructions_pb2.InstructionState, "INSTRUCTION_STATE_"),
    ("HoldState", redemptions_pb2.HoldState, "HOLD_STATE_"),
    ("AttributeType", members_pb2.AttributeType, "ATTRIBUTE_TYPE_"),
    ("Purpose", members_pb2.Purpose, "PURPOSE_"),
    ("PeriodState", settlement_pb2.PeriodState, "PERIOD_STATE_"),
    ("DisputeState", settlement_pb2.DisputeState, "DISPUTE_STATE_"),
    ("PaymentState", settlement_pb2.PaymentState, "PAYMENT_STATE_"),
    ("BreakKind", settlement_pb2.BreakKind, "BREAK_KIND_"),
    ("MovementKind", settlement_pb2.MovementKind, "MOVEMENT_KIND_"),
    ("AccrualAgreementStatus", accruals_pb2.AccrualAgreementStatus, "ACCRUAL_AGREEMENT_STATUS_"),
    ("AwardState", accruals_pb2.AwardState, "AWARD_STATE_"),
    ("DonationAgreementStatus", accruals_pb2.AccrualAgreementStatus, "ACCRUAL_AGREEMENT_STATUS_"),  # same states
    ("TermLength", memberships_pb2.TermLength, "TERM_LENGTH_"),
    ("RefundRule", memberships_pb2.RefundRule, "REFUND_RULE_"),
    ("VoucherPeriod", memberships_pb2.VoucherPeriod, "VOUCHER_PERIOD_"),
    ("VoucherFunding", memberships_pb2.VoucherFunding, "VOUCHER_FUNDING_"),
    ("MembershipAgreementStatus", memberships_pb2.MembershipAgreementStatus, "MEMBERSHIP_AGREEMENT_STATUS_"),
    ("MembershipState", memberships_pb2.MembershipState, "MEMBERSHIP_STATE_"),
    ("GrantState", memberships_pb2.GrantState, "GRANT_STATE_"),
    ("VoucherState", memberships_pb2.VoucherState, "VOUCHER_STATE_"),
    ("MatchAgreementStatus", status_match_pb2.MatchAgreementStatus, "MATCH_AGREEMENT_STATUS_"),
    ("MatchState", status_match_pb2.MatchState, "MATCH_STATE_"),
    ("VoucherAgreementStatus", vouchers_pb2.VoucherAgreementStatus, "VOUCHER_AGREEMENT_STATUS_"),
]


@pytest.mark.parametrize(("literal", "enum", "prefix"), LITERALS, ids=[name for name, _, _ in LITERALS])
def test_each_literal_names_exactly_the_contracts_values(literal: str, enum: EnumTypeWrapper, prefix: str) -> None:
    contract = {value.name.removeprefix(prefix) for value in enum.DESCRIPTOR.values} - {"UNSPECIFIED"}
    assert literal in partner_sdk.__all__
    assert set(get_args(getattr(partner_sdk, literal))) - {"UNKNOWN"} == contract


def test_a_value_the_sdk_does_not_know_reads_as_unknown_never_as_a_name_its_type_lacks() -> None:
    kinds = _convert.INSTRUCTION_KIND
    assert kinds.of(instructions_pb2.INSTRUCTION_KIND_CREDIT) == "CREDIT"
    assert kinds.of(instructions_pb2.INSTRUCTION_KIND_UNSPECIFIED) == "UNKNOWN"
    assert kinds.of(99) == "UNKNOWN"  # a kind a newer hub might add
    assert _convert.WITHHELD_REASON.of_text("NO_CONSENT") == "NO_CONSENT"
    assert _convert.WITHHELD_REASON.of_text("SOMETHING_NEW") == "UNKNOWN"
    assert _convert.CONSENT_END_REASON.of_text("") == ""


EXCHANGE_CLIENT_CALLS = [
    "hub_info",
    "get_partner",
    "list_partners",
    "iter_partners",
    "register",
    "rotate_key",
    "revoke_key",
    "propose_agreement",
    "accept_agreement",
    "get_agreement",
    "list_agreements",
    "iter_agreements",
    "suspend_agreement",
    "resume_agreement",
    "terminate_agreement",
    "quote_conversion",
    "convert",
    "convert_batch",
    "get_conversion",
    "list_conversions",
    "iter_conversions",
    "reverse_conversion",
    "authorize_hold",
    "capture_hold",
    "void_hold",
    "get_hold",
    "create_link_code",
    "redeem_link_code",
    "unlink",
    "list_links",
    "declare_attribute",
    "publish_attributes",
    "grant_consent",
    "revoke_consent",
    "list_consents",
    "read_attributes",
    "list_access_log",
    "erase_member",
    "pull_instructions",
    "acknowledge_instruction",
    "reject_instruction",
    "propose_accrual_agreement",
    "accept_accrual_agreement",
    "get_accrual_agreement",
    "award_points",
    "award",
    "get_award",
    "propose_donation_agreement",
    "accept_donation_agreement",
    "donate",
    "list_donations",
    "propose_membership_agreement",
    "sign_membership_agreement",
    "get_membership_agreement",
    "enrol",
    "renew_membership",
    "report_renewal_failure",
    "cancel_membership",
    "get_membership",
    "list_memberships",
    "issue_membership_pass",
    "list_vouchers",
    "iter_vouchers",
    "redeem_voucher",
    "propose_voucher_agreement",
    "accept_voucher_agreement",
    "get_voucher_agreement",
    "issue_voucher",
    "get_voucher",
    "publish_tier_ladder",
    "publish_member_tier",
    "propose_match_agreement",
    "accept_match_agreement",
    "get_match_agreement",
    "request_status_match",
    "get_status_match",
    "get_tier_attestation",
    "report_challenge",
    "close_period",
    "get_period",
    "list_periods",
    "list_statements",
    "iter_statements",
    "get_statement",
    "iter_statement_movements",
    "list_payment_instructions",
    "record_payment",
    "reconcile",
    "iter_reconciliation_breaks",
    "open_dispute",
    "respond_to_dispute",
    "resolve_dispute",
    "get_dispute",
    "list_disputes",
]
OPERATOR_CLIENT_CALLS = [
    "hub_info",
    "get_partner",
    "list_partners",
    "iter_partners",
    "approve",
    "suspend",
    "reinstate",
    "close_period",
    "get_period",
    "list_periods",
    "list_statements",
    "iter_statements",
    "get_statement",
    "iter_statement_movements",
    "list_payment_instructions",
    "record_payment",
    "reconcile",
    "iter_reconciliation_breaks",
    "open_dispute",
    "respond_to_dispute",
    "resolve_dispute",
    "get_dispute",
    "list_disputes",
]
CONNECTION = {"close", "transport", "sign_document"}


@pytest.mark.parametrize(
    ("client", "calls"),
    [(partner_sdk.ExchangeClient, EXCHANGE_CLIENT_CALLS), (partner_sdk.OperatorClient, OPERATOR_CLIENT_CALLS)],
)
def test_each_client_names_its_calls_and_each_call_lives_in_its_services_module(client: type, calls: list[str]) -> None:
    public = {name for name in dir(client) if not name.startswith("_")} - CONNECTION
    assert public == set(calls)
    homes = {name: getattr(client, name).__module__ for name in calls}
    assert {name: home for name, home in homes.items() if not home.startswith("partner_sdk._client.")} == {}
    named_in_body = {name for name in vars(client) if not name.startswith("_")}
    assert named_in_body == set(calls)  # composed in the class body, not inherited from mixins
