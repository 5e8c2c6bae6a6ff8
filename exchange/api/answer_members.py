"""The member references an answer names, found by field name in the answer's message type.

Every field of the contract that carries a brand's own member reference is named
``member_ref`` or ends in ``_member_ref`` (``source_member_ref``, ``target_member_ref``); a test
holds the contract to that. Where those fields sit in a response type is worked out once per
type from its descriptor, so looking at an answer costs a few attribute reads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

MEMBER_REF_FIELD = "member_ref"

# (field name, repeated, None for a member reference, else the plan of the nested message)
_Plan = tuple[tuple[str, bool, "_Plan | None"], ...]


def is_member_ref_field(name: str) -> bool:
    """Whether a field of this name carries a member reference."""
    return name == MEMBER_REF_FIELD or name.endswith("_" + MEMBER_REF_FIELD)


def member_refs_in(message: Message) -> set[str]:
    """Return the distinct, non-empty member references anywhere in message."""
    return set(_walk(message, _plan(message.DESCRIPTOR)))


@functools.cache
def _plan(descriptor: Descriptor, visiting: frozenset[str] = frozenset()) -> _Plan:
    steps: list[tuple[str, bool, _Plan | None]] = []
    for field in descriptor.fields:
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_STRING and is_member_ref_field(field.name):
            steps.append((field.name, repeated, None))
        elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
            if field.message_type.full_name in visiting:
                continue
            nested = _plan(field.message_type, visiting | {descriptor.full_name})
            if nested:
                steps.append((field.name, repeated, nested))
    return tuple(steps)


def _walk(message: Message, plan: _Plan) -> Iterator[str]:
    for name, repeated, nested in plan:
        if nested is None:
            values = getattr(message, name) if repeated else (getattr(message, name),)
            yield from (value for value in values if value)
        elif repeated:
            for item in getattr(message, name):
                yield from _walk(item, nested)
        elif message.HasField(name):
            yield from _walk(getattr(message, name), nested)
