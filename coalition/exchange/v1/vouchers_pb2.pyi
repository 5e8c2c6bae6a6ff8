import datetime

from coalition.exchange.v1 import memberships_pb2 as _memberships_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoucherAgreementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_AGREEMENT_STATUS_UNSPECIFIED: _ClassVar[VoucherAgreementStatus]
    VOUCHER_AGREEMENT_STATUS_PROPOSED: _ClassVar[VoucherAgreementStatus]
    VOUCHER_AGREEMENT_STATUS_ACTIVE: _ClassVar[VoucherAgreementStatus]
    VOUCHER_AGREEMENT_STATUS_SUPERSEDED: _ClassVar[VoucherAgreementStatus]
VOUCHER_AGREEMENT_STATUS_UNSPECIFIED: VoucherAgreementStatus
VOUCHER_AGREEMENT_STATUS_PROPOSED: VoucherAgreementStatus
VOUCHER_AGREEMENT_STATUS_ACTIVE: VoucherAgreementStatus
VOUCHER_AGREEMENT_STATUS_SUPERSEDED: VoucherAgreementStatus

class VoucherTerms(_message.Message):
    __slots__ = ("funder_partner_id", "honouring_partner_id", "version", "value_minor", "currency", "validity_days", "monthly_limit", "valid_from", "valid_until")
    FUNDER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    HONOURING_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_DAYS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    funder_partner_id: str
    honouring_partner_id: str
    version: int
    value_minor: int
    currency: str
    validity_days: int
    monthly_limit: int
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, funder_partner_id: _Optional[str] = ..., honouring_partner_id: _Optional[str] = ..., version: _Optional[int] = ..., value_minor: _Optional[int] = ..., currency: _Optional[str] = ..., validity_days: _Optional[int] = ..., monthly_limit: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class VoucherAgreement(_message.Message):
    __slots__ = ("agreement_id", "terms", "status", "document", "proposer_key_id", "proposer_signature", "acceptor_key_id", "acceptor_signature", "proposed_at")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    terms: VoucherTerms
    status: VoucherAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: _timestamp_pb2.Timestamp
    def __init__(self, agreement_id: _Optional[str] = ..., terms: _Optional[_Union[VoucherTerms, _Mapping]] = ..., status: _Optional[_Union[VoucherAgreementStatus, str]] = ..., document: _Optional[bytes] = ..., proposer_key_id: _Optional[str] = ..., proposer_signature: _Optional[bytes] = ..., acceptor_key_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProposeVoucherAgreementRequest(_message.Message):
    __slots__ = ("terms", "proposer_signature")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    terms: VoucherTerms
    proposer_signature: bytes
    def __init__(self, terms: _Optional[_Union[VoucherTerms, _Mapping]] = ..., proposer_signature: _Optional[bytes] = ...) -> None: ...

class ProposeVoucherAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: VoucherAgreement
    def __init__(self, agreement: _Optional[_Union[VoucherAgreement, _Mapping]] = ...) -> None: ...

class AcceptVoucherAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "acceptor_signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    acceptor_signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ...) -> None: ...

class AcceptVoucherAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: VoucherAgreement
    def __init__(self, agreement: _Optional[_Union[VoucherAgreement, _Mapping]] = ...) -> None: ...

class GetVoucherAgreementRequest(_message.Message):
    __slots__ = ("agreement_id",)
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    def __init__(self, agreement_id: _Optional[str] = ...) -> None: ...

class GetVoucherAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: VoucherAgreement
    def __init__(self, agreement: _Optional[_Union[VoucherAgreement, _Mapping]] = ...) -> None: ...

class IssueVoucherRequest(_message.Message):
    __slots__ = ("honouring_partner_id", "member_ref", "idempotency_key")
    HONOURING_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    honouring_partner_id: str
    member_ref: str
    idempotency_key: str
    def __init__(self, honouring_partner_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class IssueVoucherResponse(_message.Message):
    __slots__ = ("voucher",)
    VOUCHER_FIELD_NUMBER: _ClassVar[int]
    voucher: _memberships_pb2.Voucher
    def __init__(self, voucher: _Optional[_Union[_memberships_pb2.Voucher, _Mapping]] = ...) -> None: ...

class GetVoucherRequest(_message.Message):
    __slots__ = ("voucher_id",)
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    def __init__(self, voucher_id: _Optional[str] = ...) -> None: ...

class GetVoucherResponse(_message.Message):
    __slots__ = ("voucher",)
    VOUCHER_FIELD_NUMBER: _ClassVar[int]
    voucher: _memberships_pb2.Voucher
    def __init__(self, voucher: _Optional[_Union[_memberships_pb2.Voucher, _Mapping]] = ...) -> None: ...
