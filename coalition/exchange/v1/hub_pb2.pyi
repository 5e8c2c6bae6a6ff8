import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetHubInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetHubInfoResponse(_message.Message):
    __slots__ = ("hub_key_id", "hub_public_key", "hub_key_fingerprint", "timestamp_window_seconds", "max_request_bytes", "server_time", "version")
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    HUB_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_BYTES_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    hub_key_id: str
    hub_public_key: bytes
    hub_key_fingerprint: str
    timestamp_window_seconds: int
    max_request_bytes: int
    server_time: _timestamp_pb2.Timestamp
    version: str
    def __init__(self, hub_key_id: _Optional[str] = ..., hub_public_key: _Optional[bytes] = ..., hub_key_fingerprint: _Optional[str] = ..., timestamp_window_seconds: _Optional[int] = ..., max_request_bytes: _Optional[int] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[str] = ...) -> None: ...
