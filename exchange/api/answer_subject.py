"""The subject of an audited call: the id of what it acted on, found by field name.

The subject is the first non-empty id among, in order: the answer's own fields, then the
fields of its singular nested messages (one level down, in field order: ``partner.partner_id``,
``conversion.conversion_id``, ``consent.consent_id``, ``period.period_id``); then the same in
the request (``AddReconciliationPart`` answers with a count); then the caller itself, for the
calls that act on the caller's own members and answer with no id (``CreateLinkCode``,
``PublishAttributes``, ``EraseMember``).

An id is a string field named ``*_id``, except pseudonyms (``pairwise_member_id``,
``donor_pairwise_id``: a member must not be findable in the audit log by them) and key ids
(``hub_key_id``, ``receipt_key_id``: the key that signed, not what was acted on). Member
references (``*member_ref``) and attribute values are never ids, so never a subject. Repeated
fields are left out: a batch (``AwardPoints``, ``ConvertBatch``) has no one subject. Where the
ids sit in a type is worked out once per type from its descriptor (as exchange.api.answer_members
does).
"""

from __future__ import annotations

import functools

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

ID_SUFFIX = "_id"
NOT_SUBJECTS = ("pairwise", "key_id")  # a field whose name holds one of these is never a subject

# Paths to the candidate ids of one message type, in the order they are tried.
_Plan = tuple[tuple[str, ...], ...]


def is_subject_field(field: FieldDescriptor) -> bool:
    """Whether a field may name an audited call's subject: a singular string id, not a pseudonym or key id."""
    return (
        field.type == FieldDescriptor.TYPE_STRING
        and not field.is_repeated
        and field.name.endswith(ID_SUFFIX)
        and not any(part in field.name for part in NOT_SUBJECTS)
    )


def subject_of(answer: Message, request: Message, caller: str) -> str:
    """Return the id of what a call acted on (see the module docstring); never empty."""
    return _first_id(answer) or _first_id(request) or caller


def _first_id(message: Message) -> str:
    for path in _plan(message.DESCRIPTOR):
        value: object = message
        for name in path:
            value = getattr(value, name)
        if isinstance(value, str) and value:
            return value
    return ""


@functools.cache
def _plan(descriptor: Descriptor) -> _Plan:
    own = [(field.name,) for field in descriptor.fields if is_subject_field(field)]
    nested = [
        (field.name, inner.name)
        for field in descriptor.fields
        if field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated and field.message_type is not None
        for inner in field.message_type.fields
        if is_subject_field(inner)
    ]
    return (*own, *nested)


def subject_of_replay(full_method: str, body: bytes, request: Message, caller: str) -> str:
    """The subject of a call answered again from an idempotency key's record (its answer's bytes).

    The answer's type is the method's output type in the contract; an answer that was not kept
    (empty bytes) leaves the request and the caller to name the subject.
    """
    answer_type = _answer_type(full_method)
    answer = answer_type.FromString(body) if body else answer_type()
    return subject_of(answer, request, caller)


@functools.cache
def _answer_type(full_method: str) -> type[Message]:
    from google.protobuf import descriptor_pool, message_factory

    service, _, name = full_method.lstrip("/").rpartition("/")
    method = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name)
    return message_factory.GetMessageClass(method.output_type)
