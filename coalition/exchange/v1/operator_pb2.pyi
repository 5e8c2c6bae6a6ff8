from coalition.exchange.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApprovePartnerRequest(_message.Message):
    __slots__ = ("partner_id",)
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    def __init__(self, partner_id: _Optional[str] = ...) -> None: ...

class ApprovePartnerResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...

class SuspendPartnerRequest(_message.Message):
    __slots__ = ("partner_id", "reason")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    reason: str
    def __init__(self, partner_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SuspendPartnerResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...

class ReinstatePartnerRequest(_message.Message):
    __slots__ = ("partner_id",)
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    def __init__(self, partner_id: _Optional[str] = ...) -> None: ...

class ReinstatePartnerResponse(_message.Message):
    __slots__ = ("partner",)
    PARTNER_FIELD_NUMBER: _ClassVar[int]
    partner: _common_pb2.Partner
    def __init__(self, partner: _Optional[_Union[_common_pb2.Partner, _Mapping]] = ...) -> None: ...
