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

class AgreementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGREEMENT_STATUS_UNSPECIFIED: _ClassVar[AgreementStatus]
    AGREEMENT_STATUS_PROPOSED: _ClassVar[AgreementStatus]
    AGREEMENT_STATUS_ACTIVE: _ClassVar[AgreementStatus]
    AGREEMENT_STATUS_SUSPENDED: _ClassVar[AgreementStatus]
    AGREEMENT_STATUS_TERMINATED: _ClassVar[AgreementStatus]
    AGREEMENT_STATUS_SUPERSEDED: _ClassVar[AgreementStatus]
AGREEMENT_STATUS_UNSPECIFIED: AgreementStatus
AGREEMENT_STATUS_PROPOSED: AgreementStatus
AGREEMENT_STATUS_ACTIVE: AgreementStatus
AGREEMENT_STATUS_SUSPENDED: AgreementStatus
AGREEMENT_STATUS_TERMINATED: AgreementStatus
AGREEMENT_STATUS_SUPERSEDED: AgreementStatus

class AgreementTerms(_message.Message):
    __slots__ = ("source_partner_id", "target_partner_id", "version", "rate", "min_source_points", "max_source_points", "source_increment", "member_daily_cap_source_points", "fee_basis_points", "fee_fixed_points", "valid_from", "valid_until", "settlement_price_minor", "settlement_currency")
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    MIN_SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    MAX_SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_INCREMENT_FIELD_NUMBER: _ClassVar[int]
    MEMBER_DAILY_CAP_SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    FEE_BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    FEE_FIXED_POINTS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_PRICE_MINOR_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    source_partner_id: str
    target_partner_id: str
    version: int
    rate: _common_pb2.Ratio
    min_source_points: int
    max_source_points: int
    source_increment: int
    member_daily_cap_source_points: int
    fee_basis_points: int
    fee_fixed_points: int
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    settlement_price_minor: _common_pb2.Ratio
    settlement_currency: str
    def __init__(self, source_partner_id: _Optional[str] = ..., target_partner_id: _Optional[str] = ..., version: _Optional[int] = ..., rate: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ..., min_source_points: _Optional[int] = ..., max_source_points: _Optional[int] = ..., source_increment: _Optional[int] = ..., member_daily_cap_source_points: _Optional[int] = ..., fee_basis_points: _Optional[int] = ..., fee_fixed_points: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settlement_price_minor: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ..., settlement_currency: _Optional[str] = ...) -> None: ...

class Agreement(_message.Message):
    __slots__ = ("agreement_id", "terms", "status", "document", "proposer_key_id", "proposer_signature", "acceptor_key_id", "acceptor_signature", "proposed_at", "accepted_at", "status_changed_at", "status_reason", "suspended_by")
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
    STATUS_CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    SUSPENDED_BY_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    terms: AgreementTerms
    status: AgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: _timestamp_pb2.Timestamp
    accepted_at: _timestamp_pb2.Timestamp
    status_changed_at: _timestamp_pb2.Timestamp
    status_reason: str
    suspended_by: str
    def __init__(self, agreement_id: _Optional[str] = ..., terms: _Optional[_Union[AgreementTerms, _Mapping]] = ..., status: _Optional[_Union[AgreementStatus, str]] = ..., document: _Optional[bytes] = ..., proposer_key_id: _Optional[str] = ..., proposer_signature: _Optional[bytes] = ..., acceptor_key_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_reason: _Optional[str] = ..., suspended_by: _Optional[str] = ...) -> None: ...

class ProposeAgreementRequest(_message.Message):
    __slots__ = ("terms", "proposer_signature")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    terms: AgreementTerms
    proposer_signature: bytes
    def __init__(self, terms: _Optional[_Union[AgreementTerms, _Mapping]] = ..., proposer_signature: _Optional[bytes] = ...) -> None: ...

class ProposeAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class AcceptAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "acceptor_signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    acceptor_signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ...) -> None: ...

class AcceptAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class GetAgreementRequest(_message.Message):
    __slots__ = ("agreement_id",)
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    def __init__(self, agreement_id: _Optional[str] = ...) -> None: ...

class GetAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class ListAgreementsRequest(_message.Message):
    __slots__ = ("counterparty_id", "status", "page_size", "page_token")
    COUNTERPARTY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    counterparty_id: str
    status: AgreementStatus
    page_size: int
    page_token: str
    def __init__(self, counterparty_id: _Optional[str] = ..., status: _Optional[_Union[AgreementStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAgreementsResponse(_message.Message):
    __slots__ = ("agreements", "next_page_token")
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agreements: _containers.RepeatedCompositeFieldContainer[Agreement]
    next_page_token: str
    def __init__(self, agreements: _Optional[_Iterable[_Union[Agreement, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SuspendAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "reason")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    reason: str
    def __init__(self, agreement_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SuspendAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class ResumeAgreementRequest(_message.Message):
    __slots__ = ("agreement_id",)
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    def __init__(self, agreement_id: _Optional[str] = ...) -> None: ...

class ResumeAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class TerminateAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "reason")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    reason: str
    def __init__(self, agreement_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TerminateAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...
