import datetime

from coalition.exchange.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DonationTerms(_message.Message):
    __slots__ = ("brand_partner_id", "charity_partner_id", "version", "value_per_point_minor", "settlement_currency", "valid_from", "valid_until")
    BRAND_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARITY_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    VALUE_PER_POINT_MINOR_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    brand_partner_id: str
    charity_partner_id: str
    version: int
    value_per_point_minor: _common_pb2.Ratio
    settlement_currency: str
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, brand_partner_id: _Optional[str] = ..., charity_partner_id: _Optional[str] = ..., version: _Optional[int] = ..., value_per_point_minor: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ..., settlement_currency: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DonationAgreement(_message.Message):
    __slots__ = ("agreement_id", "terms", "status", "document", "proposer_signature", "acceptor_signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    terms: DonationTerms
    status: str
    document: bytes
    proposer_signature: bytes
    acceptor_signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., terms: _Optional[_Union[DonationTerms, _Mapping]] = ..., status: _Optional[str] = ..., document: _Optional[bytes] = ..., proposer_signature: _Optional[bytes] = ..., acceptor_signature: _Optional[bytes] = ...) -> None: ...

class ProposeDonationAgreementRequest(_message.Message):
    __slots__ = ("terms", "proposer_signature")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    terms: DonationTerms
    proposer_signature: bytes
    def __init__(self, terms: _Optional[_Union[DonationTerms, _Mapping]] = ..., proposer_signature: _Optional[bytes] = ...) -> None: ...

class ProposeDonationAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: DonationAgreement
    def __init__(self, agreement: _Optional[_Union[DonationAgreement, _Mapping]] = ...) -> None: ...

class AcceptDonationAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "acceptor_signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    acceptor_signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ...) -> None: ...

class AcceptDonationAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: DonationAgreement
    def __init__(self, agreement: _Optional[_Union[DonationAgreement, _Mapping]] = ...) -> None: ...

class Donation(_message.Message):
    __slots__ = ("donation_id", "brand_partner_id", "charity_partner_id", "member_ref", "donor_pairwise_id", "points", "amount_minor", "currency", "donated_at", "receipt", "receipt_signature", "hub_key_id")
    DONATION_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARITY_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    DONOR_PAIRWISE_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DONATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    donation_id: str
    brand_partner_id: str
    charity_partner_id: str
    member_ref: str
    donor_pairwise_id: str
    points: int
    amount_minor: int
    currency: str
    donated_at: _timestamp_pb2.Timestamp
    receipt: bytes
    receipt_signature: bytes
    hub_key_id: str
    def __init__(self, donation_id: _Optional[str] = ..., brand_partner_id: _Optional[str] = ..., charity_partner_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., donor_pairwise_id: _Optional[str] = ..., points: _Optional[int] = ..., amount_minor: _Optional[int] = ..., currency: _Optional[str] = ..., donated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt: _Optional[bytes] = ..., receipt_signature: _Optional[bytes] = ..., hub_key_id: _Optional[str] = ...) -> None: ...

class DonateRequest(_message.Message):
    __slots__ = ("charity_partner_id", "member_ref", "points", "share_identity_with_charity", "idempotency_key")
    CHARITY_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SHARE_IDENTITY_WITH_CHARITY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    charity_partner_id: str
    member_ref: str
    points: int
    share_identity_with_charity: bool
    idempotency_key: str
    def __init__(self, charity_partner_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., points: _Optional[int] = ..., share_identity_with_charity: _Optional[bool] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class DonateResponse(_message.Message):
    __slots__ = ("donation",)
    DONATION_FIELD_NUMBER: _ClassVar[int]
    donation: Donation
    def __init__(self, donation: _Optional[_Union[Donation, _Mapping]] = ...) -> None: ...

class ListDonationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDonationsResponse(_message.Message):
    __slots__ = ("donations", "next_page_token")
    DONATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    donations: _containers.RepeatedCompositeFieldContainer[Donation]
    next_page_token: str
    def __init__(self, donations: _Optional[_Iterable[_Union[Donation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
