import datetime

from coalition.exchange.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HoldState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STATE_UNSPECIFIED: _ClassVar[HoldState]
    HOLD_STATE_OPEN: _ClassVar[HoldState]
    HOLD_STATE_CAPTURED: _ClassVar[HoldState]
    HOLD_STATE_VOIDED: _ClassVar[HoldState]
    HOLD_STATE_EXPIRED: _ClassVar[HoldState]
HOLD_STATE_UNSPECIFIED: HoldState
HOLD_STATE_OPEN: HoldState
HOLD_STATE_CAPTURED: HoldState
HOLD_STATE_VOIDED: HoldState
HOLD_STATE_EXPIRED: HoldState

class Capture(_message.Message):
    __slots__ = ("capture_id", "source_points", "target_points_value", "settlement_amount_minor", "target_reference", "at")
    CAPTURE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_POINTS_VALUE_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    TARGET_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    capture_id: str
    source_points: int
    target_points_value: int
    settlement_amount_minor: int
    target_reference: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, capture_id: _Optional[str] = ..., source_points: _Optional[int] = ..., target_points_value: _Optional[int] = ..., settlement_amount_minor: _Optional[int] = ..., target_reference: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("hold_id", "agreement_id", "source_partner_id", "target_partner_id", "source_member_ref", "authorized_points", "captured_points", "released_points", "state", "created_at", "expires_at", "rate", "settlement_currency", "captures")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZED_POINTS_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_POINTS_FIELD_NUMBER: _ClassVar[int]
    RELEASED_POINTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CAPTURES_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    agreement_id: str
    source_partner_id: str
    target_partner_id: str
    source_member_ref: str
    authorized_points: int
    captured_points: int
    released_points: int
    state: HoldState
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    rate: _common_pb2.Ratio
    settlement_currency: str
    captures: _containers.RepeatedCompositeFieldContainer[Capture]
    def __init__(self, hold_id: _Optional[str] = ..., agreement_id: _Optional[str] = ..., source_partner_id: _Optional[str] = ..., target_partner_id: _Optional[str] = ..., source_member_ref: _Optional[str] = ..., authorized_points: _Optional[int] = ..., captured_points: _Optional[int] = ..., released_points: _Optional[int] = ..., state: _Optional[_Union[HoldState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rate: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ..., settlement_currency: _Optional[str] = ..., captures: _Optional[_Iterable[_Union[Capture, _Mapping]]] = ...) -> None: ...

class AuthorizeHoldRequest(_message.Message):
    __slots__ = ("target_partner_id", "source_points", "source_member_ref", "expires_in_seconds", "idempotency_key")
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    target_partner_id: str
    source_points: int
    source_member_ref: str
    expires_in_seconds: int
    idempotency_key: str
    def __init__(self, target_partner_id: _Optional[str] = ..., source_points: _Optional[int] = ..., source_member_ref: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AuthorizeHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class CaptureHoldRequest(_message.Message):
    __slots__ = ("hold_id", "source_points", "target_reference", "idempotency_key")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    source_points: int
    target_reference: str
    idempotency_key: str
    def __init__(self, hold_id: _Optional[str] = ..., source_points: _Optional[int] = ..., target_reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CaptureHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class VoidHoldRequest(_message.Message):
    __slots__ = ("hold_id", "reason")
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    reason: str
    def __init__(self, hold_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class GetHoldRequest(_message.Message):
    __slots__ = ("hold_id",)
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    def __init__(self, hold_id: _Optional[str] = ...) -> None: ...

class GetHoldResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...
