"""Every field of the contract that carries a brand's member reference is named so the hub finds it in answers."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor

from coalition.exchange.v1 import (
    accruals_pb2,
    conversions_pb2,
    donations_pb2,
    instructions_pb2,
    members_pb2,
    redemptions_pb2,
    settlement_pb2,
)
from exchange.api.answer_members import is_member_ref_field, member_refs_in

MODULES = (accruals_pb2, conversions_pb2, donations_pb2, instructions_pb2, members_pb2, redemptions_pb2, settlement_pb2)


def _messages() -> list[Descriptor]:
    found: list[Descriptor] = []
    for module in MODULES:
        pending = list(module.DESCRIPTOR.message_types_by_name.values())
        while pending:
            descriptor = pending.pop()
            found.append(descriptor)
            pending.extend(descriptor.nested_types)
    return found


def test_member_reference_fields_follow_the_naming_rule() -> None:
    suspicious = [
        f"{d.full_name}.{f.name}"
        for d in _messages()
        for f in d.fields
        if "member" in f.name and "ref" in f.name and not is_member_ref_field(f.name)
    ]
    assert suspicious == []


def test_references_are_found_however_deep_they_sit() -> None:
    page = conversions_pb2.ListConversionsResponse(
        conversions=[
            conversions_pb2.Conversion(source_member_ref="m-1"),
            conversions_pb2.Conversion(target_member_ref="m-2"),
            conversions_pb2.Conversion(),
        ]
    )
    assert member_refs_in(page) == {"m-1", "m-2"}
    assert member_refs_in(instructions_pb2.PullInstructionsResponse()) == set()
