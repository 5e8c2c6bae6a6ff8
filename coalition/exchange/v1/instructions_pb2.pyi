import datetime

from coalition.exchange.v1 import memberships_pb2 as _memberships_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstructionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUCTION_KIND_UNSPECIFIED: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_CREDIT: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_REFUND: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_RELEASE: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_CREDIT_CANCELLED: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_BENEFIT_GRANT: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_BENEFIT_REVOKE: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_TIER_MATCHED: _ClassVar[InstructionKind]
    INSTRUCTION_KIND_TIER_MATCH_ENDED: _ClassVar[InstructionKind]

class InstructionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTRUCTION_STATE_UNSPECIFIED: _ClassVar[InstructionState]
    INSTRUCTION_STATE_PENDING: _ClassVar[InstructionState]
    INSTRUCTION_STATE_ACKNOWLEDGED: _ClassVar[InstructionState]
    INSTRUCTION_STATE_REJECTED: _ClassVar[InstructionState]
    INSTRUCTION_STATE_CANCELLED: _ClassVar[InstructionState]
INSTRUCTION_KIND_UNSPECIFIED: InstructionKind
INSTRUCTION_KIND_CREDIT: InstructionKind
INSTRUCTION_KIND_REFUND: InstructionKind
INSTRUCTION_KIND_RELEASE: InstructionKind
INSTRUCTION_KIND_CREDIT_CANCELLED: InstructionKind
INSTRUCTION_KIND_BENEFIT_GRANT: InstructionKind
INSTRUCTION_KIND_BENEFIT_REVOKE: InstructionKind
INSTRUCTION_KIND_TIER_MATCHED: InstructionKind
INSTRUCTION_KIND_TIER_MATCH_ENDED: InstructionKind
INSTRUCTION_STATE_UNSPECIFIED: InstructionState
INSTRUCTION_STATE_PENDING: InstructionState
INSTRUCTION_STATE_ACKNOWLEDGED: InstructionState
INSTRUCTION_STATE_REJECTED: InstructionState
INSTRUCTION_STATE_CANCELLED: InstructionState

class Instruction(_message.Message):
    __slots__ = ("instruction_id", "kind", "state", "member_ref", "points", "point_currency", "conversion_id", "created_at", "deadline", "delivery_count", "partner_reference", "reason", "reversal_id", "hold_id", "award_id", "cancels_instruction_id", "membership_id", "programme_id", "benefits", "honoured_from", "honoured_until", "match_id", "attester_partner_id", "attester_tier", "matched_tier", "match_ends_at")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    POINT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_COUNT_FIELD_NUMBER: _ClassVar[int]
    PARTNER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVERSAL_ID_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    CANCELS_INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    BENEFITS_FIELD_NUMBER: _ClassVar[int]
    HONOURED_FROM_FIELD_NUMBER: _ClassVar[int]
    HONOURED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_TIER_FIELD_NUMBER: _ClassVar[int]
    MATCHED_TIER_FIELD_NUMBER: _ClassVar[int]
    MATCH_ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    kind: InstructionKind
    state: InstructionState
    member_ref: str
    points: int
    point_currency: str
    conversion_id: str
    created_at: _timestamp_pb2.Timestamp
    deadline: _timestamp_pb2.Timestamp
    delivery_count: int
    partner_reference: str
    reason: str
    reversal_id: str
    hold_id: str
    award_id: str
    cancels_instruction_id: str
    membership_id: str
    programme_id: str
    benefits: _containers.RepeatedCompositeFieldContainer[_memberships_pb2.Benefit]
    honoured_from: _timestamp_pb2.Timestamp
    honoured_until: _timestamp_pb2.Timestamp
    match_id: str
    attester_partner_id: str
    attester_tier: str
    matched_tier: str
    match_ends_at: _timestamp_pb2.Timestamp
    def __init__(self, instruction_id: _Optional[str] = ..., kind: _Optional[_Union[InstructionKind, str]] = ..., state: _Optional[_Union[InstructionState, str]] = ..., member_ref: _Optional[str] = ..., points: _Optional[int] = ..., point_currency: _Optional[str] = ..., conversion_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivery_count: _Optional[int] = ..., partner_reference: _Optional[str] = ..., reason: _Optional[str] = ..., reversal_id: _Optional[str] = ..., hold_id: _Optional[str] = ..., award_id: _Optional[str] = ..., cancels_instruction_id: _Optional[str] = ..., membership_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., benefits: _Optional[_Iterable[_Union[_memberships_pb2.Benefit, _Mapping]]] = ..., honoured_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., honoured_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., match_id: _Optional[str] = ..., attester_partner_id: _Optional[str] = ..., attester_tier: _Optional[str] = ..., matched_tier: _Optional[str] = ..., match_ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PullInstructionsRequest(_message.Message):
    __slots__ = ("max_instructions", "wait_seconds", "lease_seconds")
    MAX_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_instructions: int
    wait_seconds: int
    lease_seconds: int
    def __init__(self, max_instructions: _Optional[int] = ..., wait_seconds: _Optional[int] = ..., lease_seconds: _Optional[int] = ...) -> None: ...

class PullInstructionsResponse(_message.Message):
    __slots__ = ("instructions",)
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    instructions: _containers.RepeatedCompositeFieldContainer[Instruction]
    def __init__(self, instructions: _Optional[_Iterable[_Union[Instruction, _Mapping]]] = ...) -> None: ...

class AcknowledgeInstructionRequest(_message.Message):
    __slots__ = ("instruction_id", "partner_reference")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    partner_reference: str
    def __init__(self, instruction_id: _Optional[str] = ..., partner_reference: _Optional[str] = ...) -> None: ...

class AcknowledgeInstructionResponse(_message.Message):
    __slots__ = ("instruction",)
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    instruction: Instruction
    def __init__(self, instruction: _Optional[_Union[Instruction, _Mapping]] = ...) -> None: ...

class RejectInstructionRequest(_message.Message):
    __slots__ = ("instruction_id", "reason")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    reason: str
    def __init__(self, instruction_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectInstructionResponse(_message.Message):
    __slots__ = ("instruction",)
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    instruction: Instruction
    def __init__(self, instruction: _Optional[_Union[Instruction, _Mapping]] = ...) -> None: ...
