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

class AccrualAgreementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCRUAL_AGREEMENT_STATUS_UNSPECIFIED: _ClassVar[AccrualAgreementStatus]
    ACCRUAL_AGREEMENT_STATUS_PROPOSED: _ClassVar[AccrualAgreementStatus]
    ACCRUAL_AGREEMENT_STATUS_ACTIVE: _ClassVar[AccrualAgreementStatus]
    ACCRUAL_AGREEMENT_STATUS_SUPERSEDED: _ClassVar[AccrualAgreementStatus]

class AwardState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AWARD_STATE_UNSPECIFIED: _ClassVar[AwardState]
    AWARD_STATE_PENDING_CREDIT: _ClassVar[AwardState]
    AWARD_STATE_COMPLETED: _ClassVar[AwardState]
    AWARD_STATE_VOIDED: _ClassVar[AwardState]
ACCRUAL_AGREEMENT_STATUS_UNSPECIFIED: AccrualAgreementStatus
ACCRUAL_AGREEMENT_STATUS_PROPOSED: AccrualAgreementStatus
ACCRUAL_AGREEMENT_STATUS_ACTIVE: AccrualAgreementStatus
ACCRUAL_AGREEMENT_STATUS_SUPERSEDED: AccrualAgreementStatus
AWARD_STATE_UNSPECIFIED: AwardState
AWARD_STATE_PENDING_CREDIT: AwardState
AWARD_STATE_COMPLETED: AwardState
AWARD_STATE_VOIDED: AwardState

class AccrualTerms(_message.Message):
    __slots__ = ("awarder_partner_id", "issuer_partner_id", "version", "activity_types", "price_per_point_minor", "settlement_currency", "monthly_budget_points", "monthly_budget_minor", "member_daily_cap_points", "valid_from", "valid_until")
    AWARDER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPES_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_POINT_MINOR_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_BUDGET_POINTS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_BUDGET_MINOR_FIELD_NUMBER: _ClassVar[int]
    MEMBER_DAILY_CAP_POINTS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    awarder_partner_id: str
    issuer_partner_id: str
    version: int
    activity_types: _containers.RepeatedScalarFieldContainer[str]
    price_per_point_minor: _common_pb2.Ratio
    settlement_currency: str
    monthly_budget_points: int
    monthly_budget_minor: int
    member_daily_cap_points: int
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, awarder_partner_id: _Optional[str] = ..., issuer_partner_id: _Optional[str] = ..., version: _Optional[int] = ..., activity_types: _Optional[_Iterable[str]] = ..., price_per_point_minor: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ..., settlement_currency: _Optional[str] = ..., monthly_budget_points: _Optional[int] = ..., monthly_budget_minor: _Optional[int] = ..., member_daily_cap_points: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AccrualAgreement(_message.Message):
    __slots__ = ("agreement_id", "terms", "status", "document", "proposer_key_id", "proposer_signature", "acceptor_key_id", "acceptor_signature", "proposed_at", "accepted_at")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    terms: AccrualTerms
    status: AccrualAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: _timestamp_pb2.Timestamp
    accepted_at: _timestamp_pb2.Timestamp
    def __init__(self, agreement_id: _Optional[str] = ..., terms: _Optional[_Union[AccrualTerms, _Mapping]] = ..., status: _Optional[_Union[AccrualAgreementStatus, str]] = ..., document: _Optional[bytes] = ..., proposer_key_id: _Optional[str] = ..., proposer_signature: _Optional[bytes] = ..., acceptor_key_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProposeAccrualAgreementRequest(_message.Message):
    __slots__ = ("terms", "proposer_signature")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    terms: AccrualTerms
    proposer_signature: bytes
    def __init__(self, terms: _Optional[_Union[AccrualTerms, _Mapping]] = ..., proposer_signature: _Optional[bytes] = ...) -> None: ...

class ProposeAccrualAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: AccrualAgreement
    def __init__(self, agreement: _Optional[_Union[AccrualAgreement, _Mapping]] = ...) -> None: ...

class AcceptAccrualAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "acceptor_signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    acceptor_signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ...) -> None: ...

class AcceptAccrualAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: AccrualAgreement
    def __init__(self, agreement: _Optional[_Union[AccrualAgreement, _Mapping]] = ...) -> None: ...

class GetAccrualAgreementRequest(_message.Message):
    __slots__ = ("agreement_id",)
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    def __init__(self, agreement_id: _Optional[str] = ...) -> None: ...

class GetAccrualAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: AccrualAgreement
    def __init__(self, agreement: _Optional[_Union[AccrualAgreement, _Mapping]] = ...) -> None: ...

class AwardItem(_message.Message):
    __slots__ = ("issuer_partner_id", "pairwise_member_id", "activity_type", "activity_reference", "points", "idempotency_key")
    ISSUER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    issuer_partner_id: str
    pairwise_member_id: str
    activity_type: str
    activity_reference: str
    points: int
    idempotency_key: str
    def __init__(self, issuer_partner_id: _Optional[str] = ..., pairwise_member_id: _Optional[str] = ..., activity_type: _Optional[str] = ..., activity_reference: _Optional[str] = ..., points: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Award(_message.Message):
    __slots__ = ("award_id", "agreement_id", "awarder_partner_id", "issuer_partner_id", "pairwise_member_id", "activity_type", "activity_reference", "points", "settlement_amount_minor", "settlement_currency", "state", "created_at", "credit_deadline", "void_reason")
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AWARDER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    VOID_REASON_FIELD_NUMBER: _ClassVar[int]
    award_id: str
    agreement_id: str
    awarder_partner_id: str
    issuer_partner_id: str
    pairwise_member_id: str
    activity_type: str
    activity_reference: str
    points: int
    settlement_amount_minor: int
    settlement_currency: str
    state: AwardState
    created_at: _timestamp_pb2.Timestamp
    credit_deadline: _timestamp_pb2.Timestamp
    void_reason: str
    def __init__(self, award_id: _Optional[str] = ..., agreement_id: _Optional[str] = ..., awarder_partner_id: _Optional[str] = ..., issuer_partner_id: _Optional[str] = ..., pairwise_member_id: _Optional[str] = ..., activity_type: _Optional[str] = ..., activity_reference: _Optional[str] = ..., points: _Optional[int] = ..., settlement_amount_minor: _Optional[int] = ..., settlement_currency: _Optional[str] = ..., state: _Optional[_Union[AwardState, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credit_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., void_reason: _Optional[str] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "reason", "message", "field")
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    code: str
    reason: str
    message: str
    field: str
    def __init__(self, code: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class AwardResult(_message.Message):
    __slots__ = ("award", "error")
    AWARD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    award: Award
    error: ItemError
    def __init__(self, award: _Optional[_Union[Award, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class AwardPointsRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[AwardItem]
    def __init__(self, items: _Optional[_Iterable[_Union[AwardItem, _Mapping]]] = ...) -> None: ...

class AwardPointsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AwardResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AwardResult, _Mapping]]] = ...) -> None: ...

class GetAwardRequest(_message.Message):
    __slots__ = ("award_id",)
    AWARD_ID_FIELD_NUMBER: _ClassVar[int]
    award_id: str
    def __init__(self, award_id: _Optional[str] = ...) -> None: ...

class GetAwardResponse(_message.Message):
    __slots__ = ("award",)
    AWARD_FIELD_NUMBER: _ClassVar[int]
    award: Award
    def __init__(self, award: _Optional[_Union[Award, _Mapping]] = ...) -> None: ...
