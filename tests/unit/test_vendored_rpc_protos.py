"""The buf module (protos/) holds every google.rpc type the hub puts in an error, as the hub builds it.

A client in another language generates its code from protos/ alone, so each message the hub
packs into grpc-status-details-bin (google.rpc.Status and the details inside it) must be in
that module. The module is compiled here with protoc into a descriptor set, the way buf or any
other generator reads it. The hub's details are taken from exchange.api.status.rich_status for
every status code the hub answers with, so a new kind of detail that is not vendored fails here.
Each vendored message must have the same fields as the googleapis-common-protos copy the hub
builds them with, and scripts/gen_protos.py must not generate Python for them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor
from google.rpc import error_details_pb2, status_pb2
from grpc_tools import protoc  # type: ignore[import-untyped]

from exchange.api.status import RETRY_DELAY_S, STATUS_BY_ERROR, rich_status

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO_ROOT / "protos"
VENDORED = ("google/rpc/status.proto", "google/rpc/error_details.proto")
TYPE_URL_PREFIX = "type.googleapis.com/"


def hub_status_codes() -> list[grpc.StatusCode]:
    """Every status code the hub's own refusals carry: the mapping table, and INTERNAL."""
    return sorted({*STATUS_BY_ERROR.values(), *RETRY_DELAY_S, grpc.StatusCode.INTERNAL}, key=lambda code: code.name)


def details_the_hub_sends() -> set[str]:
    """The full names of the messages inside the hub's google.rpc.Status, for every code, with and without a field."""
    names = set()
    for code in hub_status_codes():
        for field in (None, "partner_id"):
            for detail in rich_status(code, "a message", "A_REASON", field).details:
                assert detail.type_url.startswith(TYPE_URL_PREFIX)
                names.add(detail.type_url.removeprefix(TYPE_URL_PREFIX))
    return names


@pytest.fixture(scope="module")
def module_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every file of the buf module, compiled by protoc (with the well-known types it imports)."""
    out = tmp_path_factory.mktemp("descriptors") / "module.binpb"
    protos = sorted(str(path.relative_to(PROTO_ROOT)) for path in PROTO_ROOT.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto only
    assert not (include / "google" / "rpc").exists(), "google.rpc must come from protos/, not from protoc's includes"
    args = ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", "--include_imports", f"--descriptor_set_out={out}", *protos]
    assert protoc.main(args) == 0, "protos/ does not compile"
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return {file.name: file for file in files}


def messages_of(file: descriptor_pb2.FileDescriptorProto) -> dict[str, descriptor_pb2.DescriptorProto]:
    found: dict[str, descriptor_pb2.DescriptorProto] = {}

    def visit(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        found[f"{prefix}.{message.name}"] = message
        for nested in message.nested_type:
            visit(f"{prefix}.{message.name}", nested)

    for message in file.message_type:
        visit(file.package, message)
    return found


def fields(message: descriptor_pb2.DescriptorProto) -> set[tuple[str, int, int, int, str]]:
    return {(f.name, f.number, f.type, f.label, f.type_name) for f in message.field}


def python_message(full_name: str) -> descriptor_pb2.DescriptorProto:
    """The message as the googleapis-common-protos package the hub uses defines it."""
    descriptor: Descriptor = status_pb2.DESCRIPTOR.pool.FindMessageTypeByName(full_name)
    message = descriptor_pb2.DescriptorProto()
    descriptor.CopyToProto(message)
    return message


def test_the_hub_sends_status_with_these_four_details() -> None:
    assert details_the_hub_sends() == {
        "google.rpc.ErrorInfo",
        "google.rpc.BadRequest",
        "google.rpc.RetryInfo",
        "google.rpc.QuotaFailure",
    }


def test_the_vendored_files_are_in_the_module(module_files: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
    for name in VENDORED:
        assert name in module_files
        assert module_files[name].package == "google.rpc"
    assert (PROTO_ROOT / "google" / "README.md").exists()


def test_the_module_needs_nothing_but_the_well_known_types(
    module_files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> None:
    """docs/protocol.md section 1 and protos/google/README.md: a generator needs nothing else."""
    own = {str(path.relative_to(PROTO_ROOT)) for path in PROTO_ROOT.rglob("*.proto")}
    outside = set(module_files) - own
    assert outside == {f"google/protobuf/{name}.proto" for name in ("any", "duration", "timestamp")}


def test_every_detail_the_hub_sends_is_a_message_of_the_module(
    module_files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> None:
    in_module = {name for file in module_files.values() for name in messages_of(file)}
    wanted = {"google.rpc.Status", *details_the_hub_sends()}
    missing = wanted - in_module
    assert not missing, f"the hub sends {sorted(missing)} but protos/ does not define them"


def test_the_vendored_messages_have_the_fields_of_the_package_the_hub_uses(
    module_files: dict[str, descriptor_pb2.FileDescriptorProto],
) -> None:
    vendored = {name: message for file in VENDORED for name, message in messages_of(module_files[file]).items()}
    wanted = {"google.rpc.Status", *details_the_hub_sends()}
    nested = {name for name in vendored if any(name.startswith(f"{top}.") for top in wanted)}
    for name in sorted(wanted | nested):
        assert fields(vendored[name]) == fields(python_message(name)), f"{name} differs from googleapis-common-protos"


def test_the_vendored_files_keep_their_license_header() -> None:
    for name in VENDORED:
        head = (PROTO_ROOT / name).read_text(encoding="utf-8").splitlines()[:14]
        assert head[0].startswith("// Copyright") and "Google LLC" in head[0]
        assert any("Licensed under the Apache License, Version 2.0" in line for line in head)


def _load_gen_protos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protos", REPO_ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_python_is_generated_for_google_rpc(tmp_path: Path) -> None:
    written = _load_gen_protos().generate(tmp_path)
    assert written
    assert all(path.relative_to(tmp_path).parts[0] == "coalition" for path in written)
    assert not (tmp_path / "google").exists()
    assert not (REPO_ROOT / "google").exists(), "a generated google/ package would shadow googleapis-common-protos"
    # The SDK's google.rpc is the installed package's (googleapis-common-protos), as the hub's is.
    for module in (status_pb2, error_details_pb2):
        assert {"site-packages", "dist-packages"} & set(Path(module.__file__).parts), module.__file__
