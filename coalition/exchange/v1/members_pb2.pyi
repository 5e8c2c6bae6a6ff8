import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttributeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTE_TYPE_UNSPECIFIED: _ClassVar[AttributeType]
    ATTRIBUTE_TYPE_TEXT: _ClassVar[AttributeType]
    ATTRIBUTE_TYPE_INTEGER: _ClassVar[AttributeType]
    ATTRIBUTE_TYPE_BOOLEAN: _ClassVar[AttributeType]
    ATTRIBUTE_TYPE_DATE: _ClassVar[AttributeType]

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_PERSONALISED_OFFERS: _ClassVar[Purpose]
    PURPOSE_FRAUD_PREVENTION: _ClassVar[Purpose]
    PURPOSE_SERVICE: _ClassVar[Purpose]
    PURPOSE_STATUS_MATCH: _ClassVar[Purpose]
ATTRIBUTE_TYPE_UNSPECIFIED: AttributeType
ATTRIBUTE_TYPE_TEXT: AttributeType
ATTRIBUTE_TYPE_INTEGER: AttributeType
ATTRIBUTE_TYPE_BOOLEAN: AttributeType
ATTRIBUTE_TYPE_DATE: AttributeType
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_PERSONALISED_OFFERS: Purpose
PURPOSE_FRAUD_PREVENTION: Purpose
PURPOSE_SERVICE: Purpose
PURPOSE_STATUS_MATCH: Purpose

class DeclareAttributeRequest(_message.Message):
    __slots__ = ("key", "type", "description")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    key: str
    type: AttributeType
    description: str
    def __init__(self, key: _Optional[str] = ..., type: _Optional[_Union[AttributeType, str]] = ..., description: _Optional[str] = ...) -> None: ...

class DeclareAttributeResponse(_message.Message):
    __slots__ = ("attribute",)
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    attribute: AttributeDeclaration
    def __init__(self, attribute: _Optional[_Union[AttributeDeclaration, _Mapping]] = ...) -> None: ...

class AttributeDeclaration(_message.Message):
    __slots__ = ("partner_id", "key", "type", "description")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    key: str
    type: AttributeType
    description: str
    def __init__(self, partner_id: _Optional[str] = ..., key: _Optional[str] = ..., type: _Optional[_Union[AttributeType, str]] = ..., description: _Optional[str] = ...) -> None: ...

class AttributeValue(_message.Message):
    __slots__ = ("key", "text", "integer", "boolean", "date")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INTEGER_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    text: str
    integer: int
    boolean: bool
    date: str
    def __init__(self, key: _Optional[str] = ..., text: _Optional[str] = ..., integer: _Optional[int] = ..., boolean: _Optional[bool] = ..., date: _Optional[str] = ...) -> None: ...

class PublishAttributesRequest(_message.Message):
    __slots__ = ("member_ref", "values")
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    values: _containers.RepeatedCompositeFieldContainer[AttributeValue]
    def __init__(self, member_ref: _Optional[str] = ..., values: _Optional[_Iterable[_Union[AttributeValue, _Mapping]]] = ...) -> None: ...

class PublishAttributesResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("consent_id", "source_partner_id", "grantee_partner_id", "attribute_keys", "purpose", "granted_at", "expires_at", "revoked_at", "granted_via", "receipt", "receipt_signature", "receipt_key_id", "end_reason")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_KEYS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    GRANTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    GRANTED_VIA_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    source_partner_id: str
    grantee_partner_id: str
    attribute_keys: _containers.RepeatedScalarFieldContainer[str]
    purpose: Purpose
    granted_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    granted_via: str
    receipt: bytes
    receipt_signature: bytes
    receipt_key_id: str
    end_reason: str
    def __init__(self, consent_id: _Optional[str] = ..., source_partner_id: _Optional[str] = ..., grantee_partner_id: _Optional[str] = ..., attribute_keys: _Optional[_Iterable[str]] = ..., purpose: _Optional[_Union[Purpose, str]] = ..., granted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., granted_via: _Optional[str] = ..., receipt: _Optional[bytes] = ..., receipt_signature: _Optional[bytes] = ..., receipt_key_id: _Optional[str] = ..., end_reason: _Optional[str] = ...) -> None: ...

class GrantConsentRequest(_message.Message):
    __slots__ = ("member_ref", "source_partner_id", "grantee_partner_id", "attribute_keys", "purpose", "expires_at")
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_KEYS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    source_partner_id: str
    grantee_partner_id: str
    attribute_keys: _containers.RepeatedScalarFieldContainer[str]
    purpose: Purpose
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, member_ref: _Optional[str] = ..., source_partner_id: _Optional[str] = ..., grantee_partner_id: _Optional[str] = ..., attribute_keys: _Optional[_Iterable[str]] = ..., purpose: _Optional[_Union[Purpose, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GrantConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: Consent
    def __init__(self, consent: _Optional[_Union[Consent, _Mapping]] = ...) -> None: ...

class RevokeConsentRequest(_message.Message):
    __slots__ = ("member_ref", "consent_id")
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    consent_id: str
    def __init__(self, member_ref: _Optional[str] = ..., consent_id: _Optional[str] = ...) -> None: ...

class RevokeConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: Consent
    def __init__(self, consent: _Optional[_Union[Consent, _Mapping]] = ...) -> None: ...

class ListConsentsRequest(_message.Message):
    __slots__ = ("member_ref",)
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    def __init__(self, member_ref: _Optional[str] = ...) -> None: ...

class ListConsentsResponse(_message.Message):
    __slots__ = ("consents",)
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    consents: _containers.RepeatedCompositeFieldContainer[Consent]
    def __init__(self, consents: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ...) -> None: ...

class ReadAttributesRequest(_message.Message):
    __slots__ = ("pairwise_member_id", "source_partner_id", "purpose", "attribute_keys")
    PAIRWISE_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_KEYS_FIELD_NUMBER: _ClassVar[int]
    pairwise_member_id: str
    source_partner_id: str
    purpose: Purpose
    attribute_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pairwise_member_id: _Optional[str] = ..., source_partner_id: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, str]] = ..., attribute_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class WithheldAttribute(_message.Message):
    __slots__ = ("key", "reason")
    KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    key: str
    reason: str
    def __init__(self, key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReadAttributesResponse(_message.Message):
    __slots__ = ("values", "withheld")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[AttributeValue]
    withheld: _containers.RepeatedCompositeFieldContainer[WithheldAttribute]
    def __init__(self, values: _Optional[_Iterable[_Union[AttributeValue, _Mapping]]] = ..., withheld: _Optional[_Iterable[_Union[WithheldAttribute, _Mapping]]] = ...) -> None: ...

class ListAccessLogRequest(_message.Message):
    __slots__ = ("member_ref",)
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    def __init__(self, member_ref: _Optional[str] = ...) -> None: ...

class AccessLogEntry(_message.Message):
    __slots__ = ("at", "reader_partner_id", "source_partner_id", "purpose", "returned_keys", "withheld_keys", "event", "reason", "consent_id")
    AT_FIELD_NUMBER: _ClassVar[int]
    READER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    RETURNED_KEYS_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_KEYS_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    reader_partner_id: str
    source_partner_id: str
    purpose: Purpose
    returned_keys: _containers.RepeatedScalarFieldContainer[str]
    withheld_keys: _containers.RepeatedScalarFieldContainer[str]
    event: str
    reason: str
    consent_id: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reader_partner_id: _Optional[str] = ..., source_partner_id: _Optional[str] = ..., purpose: _Optional[_Union[Purpose, str]] = ..., returned_keys: _Optional[_Iterable[str]] = ..., withheld_keys: _Optional[_Iterable[str]] = ..., event: _Optional[str] = ..., reason: _Optional[str] = ..., consent_id: _Optional[str] = ...) -> None: ...

class ListAccessLogResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AccessLogEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AccessLogEntry, _Mapping]]] = ...) -> None: ...

class EraseMemberRequest(_message.Message):
    __slots__ = ("member_ref",)
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    def __init__(self, member_ref: _Optional[str] = ...) -> None: ...

class EraseMemberResponse(_message.Message):
    __slots__ = ("erased_at", "links_ended", "consents_revoked")
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    LINKS_ENDED_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_REVOKED_FIELD_NUMBER: _ClassVar[int]
    erased_at: _timestamp_pb2.Timestamp
    links_ended: int
    consents_revoked: int
    def __init__(self, erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., links_ended: _Optional[int] = ..., consents_revoked: _Optional[int] = ...) -> None: ...

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
