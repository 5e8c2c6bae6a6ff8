import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PartnerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTNER_STATUS_UNSPECIFIED: _ClassVar[PartnerStatus]
    PARTNER_STATUS_PENDING: _ClassVar[PartnerStatus]
    PARTNER_STATUS_ACTIVE: _ClassVar[PartnerStatus]
    PARTNER_STATUS_SUSPENDED: _ClassVar[PartnerStatus]

class PartnerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTNER_KIND_UNSPECIFIED: _ClassVar[PartnerKind]
    PARTNER_KIND_BRAND: _ClassVar[PartnerKind]
    PARTNER_KIND_CHARITY: _ClassVar[PartnerKind]

class KeyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_STATE_UNSPECIFIED: _ClassVar[KeyState]
    KEY_STATE_ACTIVE: _ClassVar[KeyState]
    KEY_STATE_EXPIRING: _ClassVar[KeyState]
    KEY_STATE_EXPIRED: _ClassVar[KeyState]
    KEY_STATE_REVOKED: _ClassVar[KeyState]
PARTNER_STATUS_UNSPECIFIED: PartnerStatus
PARTNER_STATUS_PENDING: PartnerStatus
PARTNER_STATUS_ACTIVE: PartnerStatus
PARTNER_STATUS_SUSPENDED: PartnerStatus
PARTNER_KIND_UNSPECIFIED: PartnerKind
PARTNER_KIND_BRAND: PartnerKind
PARTNER_KIND_CHARITY: PartnerKind
KEY_STATE_UNSPECIFIED: KeyState
KEY_STATE_ACTIVE: KeyState
KEY_STATE_EXPIRING: KeyState
KEY_STATE_EXPIRED: KeyState
KEY_STATE_REVOKED: KeyState

class Ratio(_message.Message):
    __slots__ = ("numerator", "denominator")
    NUMERATOR_FIELD_NUMBER: _ClassVar[int]
    DENOMINATOR_FIELD_NUMBER: _ClassVar[int]
    numerator: int
    denominator: int
    def __init__(self, numerator: _Optional[int] = ..., denominator: _Optional[int] = ...) -> None: ...

class PublicKey(_message.Message):
    __slots__ = ("key_id", "public_key")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: bytes
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class PartnerKey(_message.Message):
    __slots__ = ("key_id", "public_key", "state", "created_at", "not_after", "revoked_at", "fingerprint")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: bytes
    state: KeyState
    created_at: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    fingerprint: str
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., state: _Optional[_Union[KeyState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fingerprint: _Optional[str] = ...) -> None: ...

class Partner(_message.Message):
    __slots__ = ("partner_id", "display_name", "point_currency", "settlement_currency", "point_value_minor", "status", "keys", "created_at", "status_changed_at", "status_reason", "kind")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    POINT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    POINT_VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: Ratio
    status: PartnerStatus
    keys: _containers.RepeatedCompositeFieldContainer[PartnerKey]
    created_at: _timestamp_pb2.Timestamp
    status_changed_at: _timestamp_pb2.Timestamp
    status_reason: str
    kind: PartnerKind
    def __init__(self, partner_id: _Optional[str] = ..., display_name: _Optional[str] = ..., point_currency: _Optional[str] = ..., settlement_currency: _Optional[str] = ..., point_value_minor: _Optional[_Union[Ratio, _Mapping]] = ..., status: _Optional[_Union[PartnerStatus, str]] = ..., keys: _Optional[_Iterable[_Union[PartnerKey, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_reason: _Optional[str] = ..., kind: _Optional[_Union[PartnerKind, str]] = ...) -> None: ...
