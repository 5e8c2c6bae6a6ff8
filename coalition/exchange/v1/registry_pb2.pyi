import datetime

from coalition.exchange.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterPartnerRequest(_message.Message):
    __slots__ = ("partner_id", "display_name", "point_currency", "settlement_currency", "point_value_minor", "key", "possession_proof", "kind")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    POINT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    POINT_VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: _common_pb2.Ratio
    key: _common_pb2.PublicKey
    possession_proof: bytes
    kind: _common_pb2.PartnerKind
    def __init__(self, partner_id: _Optional[str] = ..., display_name: _Optional[str] = ..., point_currency: _Optional[str] = ..., settlement_currency: _Optional[str] = ..., point_value_minor: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ..., key: _Optional[_Union[_common_pb2.PublicKey, _Mapping]] = ..., possession_proof: _Optional[bytes] = ..., kind: _Optional[_Union[_common_pb2.PartnerKind, str]] = ...) -> None: ...

class RegisterPartnerResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...

class GetPartnerRequest(_message.Message):
    __slots__ = ("partner_id",)
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    def __init__(self, partner_id: _Optional[str] = ...) -> None: ...

class GetPartnerResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...

class ListPartnersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: _common_pb2.PartnerStatus
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.PartnerStatus, str]] = ...) -> None: ...

class ListPartnersResponse(_message.Message):
    __slots__ = ("partners", "next_page_token")
    PARTNERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    partners: _containers.RepeatedCompositeFieldContainer[_common_pb2.Partner]
    next_page_token: str
    def __init__(self, partners: _Optional[_Iterable[_Union[_common_pb2.Partner, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RotateKeyRequest(_message.Message):
    __slots__ = ("new_key", "possession_proof", "previous_key_not_after")
    NEW_KEY_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_KEY_NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    new_key: _common_pb2.PublicKey
    possession_proof: bytes
    previous_key_not_after: _timestamp_pb2.Timestamp
    def __init__(self, new_key: _Optional[_Union[_common_pb2.PublicKey, _Mapping]] = ..., possession_proof: _Optional[bytes] = ..., previous_key_not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RotateKeyResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...

class RevokeKeyRequest(_message.Message):
    __slots__ = ("key_id", "reason")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    reason: str
    def __init__(self, key_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeKeyResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...
