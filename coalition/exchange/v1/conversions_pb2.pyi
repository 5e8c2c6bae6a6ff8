import datetime

from coalition.exchange.v1 import accruals_pb2 as _accruals_pb2
from coalition.exchange.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConversionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSION_STATE_UNSPECIFIED: _ClassVar[ConversionState]
    CONVERSION_STATE_PENDING_CREDIT: _ClassVar[ConversionState]
    CONVERSION_STATE_COMPLETED: _ClassVar[ConversionState]
    CONVERSION_STATE_REJECTED: _ClassVar[ConversionState]
    CONVERSION_STATE_EXPIRED: _ClassVar[ConversionState]
    CONVERSION_STATE_REFUNDED: _ClassVar[ConversionState]
CONVERSION_STATE_UNSPECIFIED: ConversionState
CONVERSION_STATE_PENDING_CREDIT: ConversionState
CONVERSION_STATE_COMPLETED: ConversionState
CONVERSION_STATE_REJECTED: ConversionState
CONVERSION_STATE_EXPIRED: ConversionState
CONVERSION_STATE_REFUNDED: ConversionState

class ConversionAmounts(_message.Message):
    __slots__ = ("source_points_requested", "fee_points", "source_points_converted", "source_points_debited", "source_points_not_taken", "target_points", "settlement_amount_minor", "settlement_currency", "rate")
    SOURCE_POINTS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    FEE_POINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_CONVERTED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_DEBITED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_NOT_TAKEN_FIELD_NUMBER: _ClassVar[int]
    TARGET_POINTS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    source_points_requested: int
    fee_points: int
    source_points_converted: int
    source_points_debited: int
    source_points_not_taken: int
    target_points: int
    settlement_amount_minor: int
    settlement_currency: str
    rate: _common_pb2.Ratio
    def __init__(self, source_points_requested: _Optional[int] = ..., fee_points: _Optional[int] = ..., source_points_converted: _Optional[int] = ..., source_points_debited: _Optional[int] = ..., source_points_not_taken: _Optional[int] = ..., target_points: _Optional[int] = ..., settlement_amount_minor: _Optional[int] = ..., settlement_currency: _Optional[str] = ..., rate: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("quote_id", "agreement_id", "agreement_version", "source_partner_id", "target_partner_id", "amounts", "created_at", "expires_at")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    agreement_id: str
    agreement_version: int
    source_partner_id: str
    target_partner_id: str
    amounts: ConversionAmounts
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, quote_id: _Optional[str] = ..., agreement_id: _Optional[str] = ..., agreement_version: _Optional[int] = ..., source_partner_id: _Optional[str] = ..., target_partner_id: _Optional[str] = ..., amounts: _Optional[_Union[ConversionAmounts, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QuoteConversionRequest(_message.Message):
    __slots__ = ("target_partner_id", "source_points")
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    target_partner_id: str
    source_points: int
    def __init__(self, target_partner_id: _Optional[str] = ..., source_points: _Optional[int] = ...) -> None: ...

class QuoteConversionResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class ConvertRequest(_message.Message):
    __slots__ = ("quote_id", "source_member_ref", "target_member_ref", "idempotency_key", "pairwise_member_id")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    TARGET_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    source_member_ref: str
    target_member_ref: str
    idempotency_key: str
    pairwise_member_id: str
    def __init__(self, quote_id: _Optional[str] = ..., source_member_ref: _Optional[str] = ..., target_member_ref: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., pairwise_member_id: _Optional[str] = ...) -> None: ...

class ConvertResponse(_message.Message):
    __slots__ = ("conversion",)
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    conversion: Conversion
    def __init__(self, conversion: _Optional[_Union[Conversion, _Mapping]] = ...) -> None: ...

class ConversionEvent(_message.Message):
    __slots__ = ("at", "actor", "from_state", "to_state", "note")
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    actor: str
    from_state: ConversionState
    to_state: ConversionState
    note: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., from_state: _Optional[_Union[ConversionState, str]] = ..., to_state: _Optional[_Union[ConversionState, str]] = ..., note: _Optional[str] = ...) -> None: ...

class ConversionReversal(_message.Message):
    __slots__ = ("reversal_id", "target_points", "source_points", "settlement_amount_minor", "reason", "at")
    REVERSAL_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_POINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    reversal_id: str
    target_points: int
    source_points: int
    settlement_amount_minor: int
    reason: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, reversal_id: _Optional[str] = ..., target_points: _Optional[int] = ..., source_points: _Optional[int] = ..., settlement_amount_minor: _Optional[int] = ..., reason: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Conversion(_message.Message):
    __slots__ = ("conversion_id", "quote_id", "agreement_id", "agreement_version", "source_partner_id", "target_partner_id", "source_member_ref", "target_member_ref", "amounts", "state", "history", "credit_deadline", "created_at", "reversals")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    TARGET_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    CREDIT_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVERSALS_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    quote_id: str
    agreement_id: str
    agreement_version: int
    source_partner_id: str
    target_partner_id: str
    source_member_ref: str
    target_member_ref: str
    amounts: ConversionAmounts
    state: ConversionState
    history: _containers.RepeatedCompositeFieldContainer[ConversionEvent]
    credit_deadline: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    reversals: _containers.RepeatedCompositeFieldContainer[ConversionReversal]
    def __init__(self, conversion_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., agreement_id: _Optional[str] = ..., agreement_version: _Optional[int] = ..., source_partner_id: _Optional[str] = ..., target_partner_id: _Optional[str] = ..., source_member_ref: _Optional[str] = ..., target_member_ref: _Optional[str] = ..., amounts: _Optional[_Union[ConversionAmounts, _Mapping]] = ..., state: _Optional[_Union[ConversionState, str]] = ..., history: _Optional[_Iterable[_Union[ConversionEvent, _Mapping]]] = ..., credit_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reversals: _Optional[_Iterable[_Union[ConversionReversal, _Mapping]]] = ...) -> None: ...

class GetConversionRequest(_message.Message):
    __slots__ = ("conversion_id",)
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    def __init__(self, conversion_id: _Optional[str] = ...) -> None: ...

class GetConversionResponse(_message.Message):
    __slots__ = ("conversion",)
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    conversion: Conversion
    def __init__(self, conversion: _Optional[_Union[Conversion, _Mapping]] = ...) -> None: ...

class ListConversionsRequest(_message.Message):
    __slots__ = ("state", "member_ref", "created_from", "created_before", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: ConversionState
    member_ref: str
    created_from: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[ConversionState, str]] = ..., member_ref: _Optional[str] = ..., created_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversionsResponse(_message.Message):
    __slots__ = ("conversions", "next_page_token")
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversions: _containers.RepeatedCompositeFieldContainer[Conversion]
    next_page_token: str
    def __init__(self, conversions: _Optional[_Iterable[_Union[Conversion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReverseConversionRequest(_message.Message):
    __slots__ = ("conversion_id", "target_points", "reason", "idempotency_key")
    CONVERSION_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_POINTS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    conversion_id: str
    target_points: int
    reason: str
    idempotency_key: str
    def __init__(self, conversion_id: _Optional[str] = ..., target_points: _Optional[int] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ReverseConversionResponse(_message.Message):
    __slots__ = ("conversion",)
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    conversion: Conversion
    def __init__(self, conversion: _Optional[_Union[Conversion, _Mapping]] = ...) -> None: ...

class ConversionItem(_message.Message):
    __slots__ = ("quote_id", "target_partner_id", "source_points", "source_member_ref", "target_member_ref", "pairwise_member_id", "idempotency_key")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    TARGET_MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    target_partner_id: str
    source_points: int
    source_member_ref: str
    target_member_ref: str
    pairwise_member_id: str
    idempotency_key: str
    def __init__(self, quote_id: _Optional[str] = ..., target_partner_id: _Optional[str] = ..., source_points: _Optional[int] = ..., source_member_ref: _Optional[str] = ..., target_member_ref: _Optional[str] = ..., pairwise_member_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ConvertBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ConversionItem]
    def __init__(self, items: _Optional[_Iterable[_Union[ConversionItem, _Mapping]]] = ...) -> None: ...

class ConversionResult(_message.Message):
    __slots__ = ("conversion", "error")
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    conversion: Conversion
    error: _accruals_pb2.ItemError
    def __init__(self, conversion: _Optional[_Union[Conversion, _Mapping]] = ..., error: _Optional[_Union[_accruals_pb2.ItemError, _Mapping]] = ...) -> None: ...

class ConvertBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ConversionResult]
    def __init__(self, results: _Optional[_Iterable[_Union[ConversionResult, _Mapping]]] = ...) -> None: ...
