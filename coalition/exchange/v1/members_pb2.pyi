import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateLinkCodeRequest(_message.Message):
    __slots__ = ("member_ref",)
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    def __init__(self, member_ref: _Optional[str] = ...) -> None: ...

class CreateLinkCodeResponse(_message.Message):
    __slots__ = ("code", "expires_at", "pairwise_member_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    expires_at: _timestamp_pb2.Timestamp
    pairwise_member_id: str
    def __init__(self, code: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pairwise_member_id: _Optional[str] = ...) -> None: ...

class RedeemLinkCodeRequest(_message.Message):
    __slots__ = ("code", "member_ref")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    code: str
    member_ref: str
    def __init__(self, code: _Optional[str] = ..., member_ref: _Optional[str] = ...) -> None: ...

class RedeemLinkCodeResponse(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: Link
    def __init__(self, link: _Optional[_Union[Link, _Mapping]] = ...) -> None: ...

class Link(_message.Message):
    __slots__ = ("link_id", "counterparty_id", "pairwise_member_id", "linked_at", "ended_at", "ended_by", "end_reason")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_ID_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    LINKED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_BY_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    counterparty_id: str
    pairwise_member_id: str
    linked_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    ended_by: str
    end_reason: str
    def __init__(self, link_id: _Optional[str] = ..., counterparty_id: _Optional[str] = ..., pairwise_member_id: _Optional[str] = ..., linked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_by: _Optional[str] = ..., end_reason: _Optional[str] = ...) -> None: ...

class UnlinkRequest(_message.Message):
    __slots__ = ("link_id", "reason")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    reason: str
    def __init__(self, link_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnlinkResponse(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: Link
    def __init__(self, link: _Optional[_Union[Link, _Mapping]] = ...) -> None: ...

class ListLinksRequest(_message.Message):
    __slots__ = ("member_ref",)
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    def __init__(self, member_ref: _Optional[str] = ...) -> None: ...

class ListLinksResponse(_message.Message):
    __slots__ = ("links",)
    LINKS_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[Link]
    def __init__(self, links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ...) -> None: ...
