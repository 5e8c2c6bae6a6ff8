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

class TermLength(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TERM_LENGTH_UNSPECIFIED: _ClassVar[TermLength]
    TERM_LENGTH_MONTHLY: _ClassVar[TermLength]
    TERM_LENGTH_YEARLY: _ClassVar[TermLength]

class RefundRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REFUND_RULE_UNSPECIFIED: _ClassVar[RefundRule]
    REFUND_RULE_NONE: _ClassVar[RefundRule]
    REFUND_RULE_PRO_RATA: _ClassVar[RefundRule]

class VoucherPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_PERIOD_UNSPECIFIED: _ClassVar[VoucherPeriod]
    VOUCHER_PERIOD_WEEKLY: _ClassVar[VoucherPeriod]
    VOUCHER_PERIOD_MONTHLY: _ClassVar[VoucherPeriod]

class VoucherFunding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_FUNDING_UNSPECIFIED: _ClassVar[VoucherFunding]
    VOUCHER_FUNDING_PARTNER: _ClassVar[VoucherFunding]
    VOUCHER_FUNDING_SELLER: _ClassVar[VoucherFunding]

class MembershipAgreementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBERSHIP_AGREEMENT_STATUS_UNSPECIFIED: _ClassVar[MembershipAgreementStatus]
    MEMBERSHIP_AGREEMENT_STATUS_PROPOSED: _ClassVar[MembershipAgreementStatus]
    MEMBERSHIP_AGREEMENT_STATUS_ACTIVE: _ClassVar[MembershipAgreementStatus]
    MEMBERSHIP_AGREEMENT_STATUS_SUPERSEDED: _ClassVar[MembershipAgreementStatus]

class MembershipState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBERSHIP_STATE_UNSPECIFIED: _ClassVar[MembershipState]
    MEMBERSHIP_STATE_ACTIVE: _ClassVar[MembershipState]
    MEMBERSHIP_STATE_IN_GRACE: _ClassVar[MembershipState]
    MEMBERSHIP_STATE_LAPSED: _ClassVar[MembershipState]
    MEMBERSHIP_STATE_CANCELLED: _ClassVar[MembershipState]

class GrantState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANT_STATE_UNSPECIFIED: _ClassVar[GrantState]
    GRANT_STATE_AWAITING_LINK: _ClassVar[GrantState]
    GRANT_STATE_PENDING: _ClassVar[GrantState]
    GRANT_STATE_HONOURED: _ClassVar[GrantState]
    GRANT_STATE_REVOKED: _ClassVar[GrantState]

class VoucherState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOUCHER_STATE_UNSPECIFIED: _ClassVar[VoucherState]
    VOUCHER_STATE_ISSUED: _ClassVar[VoucherState]
    VOUCHER_STATE_REDEEMED: _ClassVar[VoucherState]
    VOUCHER_STATE_EXPIRED: _ClassVar[VoucherState]
TERM_LENGTH_UNSPECIFIED: TermLength
TERM_LENGTH_MONTHLY: TermLength
TERM_LENGTH_YEARLY: TermLength
REFUND_RULE_UNSPECIFIED: RefundRule
REFUND_RULE_NONE: RefundRule
REFUND_RULE_PRO_RATA: RefundRule
VOUCHER_PERIOD_UNSPECIFIED: VoucherPeriod
VOUCHER_PERIOD_WEEKLY: VoucherPeriod
VOUCHER_PERIOD_MONTHLY: VoucherPeriod
VOUCHER_FUNDING_UNSPECIFIED: VoucherFunding
VOUCHER_FUNDING_PARTNER: VoucherFunding
VOUCHER_FUNDING_SELLER: VoucherFunding
MEMBERSHIP_AGREEMENT_STATUS_UNSPECIFIED: MembershipAgreementStatus
MEMBERSHIP_AGREEMENT_STATUS_PROPOSED: MembershipAgreementStatus
MEMBERSHIP_AGREEMENT_STATUS_ACTIVE: MembershipAgreementStatus
MEMBERSHIP_AGREEMENT_STATUS_SUPERSEDED: MembershipAgreementStatus
MEMBERSHIP_STATE_UNSPECIFIED: MembershipState
MEMBERSHIP_STATE_ACTIVE: MembershipState
MEMBERSHIP_STATE_IN_GRACE: MembershipState
MEMBERSHIP_STATE_LAPSED: MembershipState
MEMBERSHIP_STATE_CANCELLED: MembershipState
GRANT_STATE_UNSPECIFIED: GrantState
GRANT_STATE_AWAITING_LINK: GrantState
GRANT_STATE_PENDING: GrantState
GRANT_STATE_HONOURED: GrantState
GRANT_STATE_REVOKED: GrantState
VOUCHER_STATE_UNSPECIFIED: VoucherState
VOUCHER_STATE_ISSUED: VoucherState
VOUCHER_STATE_REDEEMED: VoucherState
VOUCHER_STATE_EXPIRED: VoucherState

class PartnerMembershipBenefit(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DiscountBenefit(_message.Message):
    __slots__ = ("basis_points", "cap_minor")
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    CAP_MINOR_FIELD_NUMBER: _ClassVar[int]
    basis_points: int
    cap_minor: int
    def __init__(self, basis_points: _Optional[int] = ..., cap_minor: _Optional[int] = ...) -> None: ...

class VouchersBenefit(_message.Message):
    __slots__ = ("per_period", "period", "value_minor", "validity_days", "funded_by")
    PER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_DAYS_FIELD_NUMBER: _ClassVar[int]
    FUNDED_BY_FIELD_NUMBER: _ClassVar[int]
    per_period: int
    period: VoucherPeriod
    value_minor: int
    validity_days: int
    funded_by: VoucherFunding
    def __init__(self, per_period: _Optional[int] = ..., period: _Optional[_Union[VoucherPeriod, str]] = ..., value_minor: _Optional[int] = ..., validity_days: _Optional[int] = ..., funded_by: _Optional[_Union[VoucherFunding, str]] = ...) -> None: ...

class FreeDeliveryBenefit(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TextBenefit(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class Benefit(_message.Message):
    __slots__ = ("partner_membership", "discount", "vouchers", "free_delivery", "text")
    PARTNER_MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    FREE_DELIVERY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    partner_membership: PartnerMembershipBenefit
    discount: DiscountBenefit
    vouchers: VouchersBenefit
    free_delivery: FreeDeliveryBenefit
    text: TextBenefit
    def __init__(self, partner_membership: _Optional[_Union[PartnerMembershipBenefit, _Mapping]] = ..., discount: _Optional[_Union[DiscountBenefit, _Mapping]] = ..., vouchers: _Optional[_Union[VouchersBenefit, _Mapping]] = ..., free_delivery: _Optional[_Union[FreeDeliveryBenefit, _Mapping]] = ..., text: _Optional[_Union[TextBenefit, _Mapping]] = ...) -> None: ...

class FeeShare(_message.Message):
    __slots__ = ("term", "fixed_minor", "ratio")
    TERM_FIELD_NUMBER: _ClassVar[int]
    FIXED_MINOR_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    term: TermLength
    fixed_minor: int
    ratio: _common_pb2.Ratio
    def __init__(self, term: _Optional[_Union[TermLength, str]] = ..., fixed_minor: _Optional[int] = ..., ratio: _Optional[_Union[_common_pb2.Ratio, _Mapping]] = ...) -> None: ...

class PriceTier(_message.Message):
    __slots__ = ("min_score", "fee_minor")
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    FEE_MINOR_FIELD_NUMBER: _ClassVar[int]
    min_score: int
    fee_minor: int
    def __init__(self, min_score: _Optional[int] = ..., fee_minor: _Optional[int] = ...) -> None: ...

class TermOffer(_message.Message):
    __slots__ = ("term", "fee_minor", "tiers")
    TERM_FIELD_NUMBER: _ClassVar[int]
    FEE_MINOR_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    term: TermLength
    fee_minor: int
    tiers: _containers.RepeatedCompositeFieldContainer[PriceTier]
    def __init__(self, term: _Optional[_Union[TermLength, str]] = ..., fee_minor: _Optional[int] = ..., tiers: _Optional[_Iterable[_Union[PriceTier, _Mapping]]] = ...) -> None: ...

class PartnerTerms(_message.Message):
    __slots__ = ("partner_id", "benefits", "shares")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    BENEFITS_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    benefits: _containers.RepeatedCompositeFieldContainer[Benefit]
    shares: _containers.RepeatedCompositeFieldContainer[FeeShare]
    def __init__(self, partner_id: _Optional[str] = ..., benefits: _Optional[_Iterable[_Union[Benefit, _Mapping]]] = ..., shares: _Optional[_Iterable[_Union[FeeShare, _Mapping]]] = ...) -> None: ...

class MembershipTerms(_message.Message):
    __slots__ = ("programme_id", "version", "name", "seller_partner_id", "currency", "offers", "partners", "refund_rule", "grace_days", "valid_from", "valid_until")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SELLER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    PARTNERS_FIELD_NUMBER: _ClassVar[int]
    REFUND_RULE_FIELD_NUMBER: _ClassVar[int]
    GRACE_DAYS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    version: int
    name: str
    seller_partner_id: str
    currency: str
    offers: _containers.RepeatedCompositeFieldContainer[TermOffer]
    partners: _containers.RepeatedCompositeFieldContainer[PartnerTerms]
    refund_rule: RefundRule
    grace_days: int
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, programme_id: _Optional[str] = ..., version: _Optional[int] = ..., name: _Optional[str] = ..., seller_partner_id: _Optional[str] = ..., currency: _Optional[str] = ..., offers: _Optional[_Iterable[_Union[TermOffer, _Mapping]]] = ..., partners: _Optional[_Iterable[_Union[PartnerTerms, _Mapping]]] = ..., refund_rule: _Optional[_Union[RefundRule, str]] = ..., grace_days: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgreementSignature(_message.Message):
    __slots__ = ("partner_id", "key_id", "signature", "signed_at")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    key_id: str
    signature: bytes
    signed_at: _timestamp_pb2.Timestamp
    def __init__(self, partner_id: _Optional[str] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., signed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MembershipAgreement(_message.Message):
    __slots__ = ("agreement_id", "terms", "status", "document", "signatures", "awaiting_partner_ids", "proposed_at")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    AWAITING_PARTNER_IDS_FIELD_NUMBER: _ClassVar[int]
    PROPOSED_AT_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    terms: MembershipTerms
    status: MembershipAgreementStatus
    document: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[AgreementSignature]
    awaiting_partner_ids: _containers.RepeatedScalarFieldContainer[str]
    proposed_at: _timestamp_pb2.Timestamp
    def __init__(self, agreement_id: _Optional[str] = ..., terms: _Optional[_Union[MembershipTerms, _Mapping]] = ..., status: _Optional[_Union[MembershipAgreementStatus, str]] = ..., document: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[AgreementSignature, _Mapping]]] = ..., awaiting_partner_ids: _Optional[_Iterable[str]] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProposeMembershipAgreementRequest(_message.Message):
    __slots__ = ("terms", "seller_signature")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    SELLER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    terms: MembershipTerms
    seller_signature: bytes
    def __init__(self, terms: _Optional[_Union[MembershipTerms, _Mapping]] = ..., seller_signature: _Optional[bytes] = ...) -> None: ...

class ProposeMembershipAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: MembershipAgreement
    def __init__(self, agreement: _Optional[_Union[MembershipAgreement, _Mapping]] = ...) -> None: ...

class SignMembershipAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SignMembershipAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: MembershipAgreement
    def __init__(self, agreement: _Optional[_Union[MembershipAgreement, _Mapping]] = ...) -> None: ...

class GetMembershipAgreementRequest(_message.Message):
    __slots__ = ("agreement_id",)
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    def __init__(self, agreement_id: _Optional[str] = ...) -> None: ...

class GetMembershipAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: MembershipAgreement
    def __init__(self, agreement: _Optional[_Union[MembershipAgreement, _Mapping]] = ...) -> None: ...

class PaidTerm(_message.Message):
    __slots__ = ("term", "starts_at", "ends_at", "fee_minor", "score", "terms_version", "refund_minor")
    TERM_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    FEE_MINOR_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TERMS_VERSION_FIELD_NUMBER: _ClassVar[int]
    REFUND_MINOR_FIELD_NUMBER: _ClassVar[int]
    term: TermLength
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    fee_minor: int
    score: int
    terms_version: int
    refund_minor: int
    def __init__(self, term: _Optional[_Union[TermLength, str]] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fee_minor: _Optional[int] = ..., score: _Optional[int] = ..., terms_version: _Optional[int] = ..., refund_minor: _Optional[int] = ...) -> None: ...

class PartnerGrant(_message.Message):
    __slots__ = ("partner_id", "state", "benefits")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BENEFITS_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    state: GrantState
    benefits: _containers.RepeatedCompositeFieldContainer[Benefit]
    def __init__(self, partner_id: _Optional[str] = ..., state: _Optional[_Union[GrantState, str]] = ..., benefits: _Optional[_Iterable[_Union[Benefit, _Mapping]]] = ...) -> None: ...

class Membership(_message.Message):
    __slots__ = ("membership_id", "programme_id", "programme_name", "seller_partner_id", "member_ref", "state", "terms", "grace_until", "ended_at", "currency", "grants", "honoured_until")
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_NAME_FIELD_NUMBER: _ClassVar[int]
    SELLER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    GRACE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    HONOURED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    programme_id: str
    programme_name: str
    seller_partner_id: str
    member_ref: str
    state: MembershipState
    terms: _containers.RepeatedCompositeFieldContainer[PaidTerm]
    grace_until: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    currency: str
    grants: _containers.RepeatedCompositeFieldContainer[PartnerGrant]
    honoured_until: _timestamp_pb2.Timestamp
    def __init__(self, membership_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., programme_name: _Optional[str] = ..., seller_partner_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., state: _Optional[_Union[MembershipState, str]] = ..., terms: _Optional[_Iterable[_Union[PaidTerm, _Mapping]]] = ..., grace_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[PartnerGrant, _Mapping]]] = ..., honoured_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EnrolRequest(_message.Message):
    __slots__ = ("programme_id", "member_ref", "term", "score", "fee_minor", "idempotency_key")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FEE_MINOR_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_ref: str
    term: TermLength
    score: int
    fee_minor: int
    idempotency_key: str
    def __init__(self, programme_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., term: _Optional[_Union[TermLength, str]] = ..., score: _Optional[int] = ..., fee_minor: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class EnrolResponse(_message.Message):
    __slots__ = ("membership",)
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    membership: Membership
    def __init__(self, membership: _Optional[_Union[Membership, _Mapping]] = ...) -> None: ...

class RenewMembershipRequest(_message.Message):
    __slots__ = ("membership_id", "term", "score", "fee_minor", "idempotency_key")
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FEE_MINOR_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    term: TermLength
    score: int
    fee_minor: int
    idempotency_key: str
    def __init__(self, membership_id: _Optional[str] = ..., term: _Optional[_Union[TermLength, str]] = ..., score: _Optional[int] = ..., fee_minor: _Optional[int] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RenewMembershipResponse(_message.Message):
    __slots__ = ("membership",)
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    membership: Membership
    def __init__(self, membership: _Optional[_Union[Membership, _Mapping]] = ...) -> None: ...

class ReportRenewalFailureRequest(_message.Message):
    __slots__ = ("membership_id",)
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    def __init__(self, membership_id: _Optional[str] = ...) -> None: ...

class ReportRenewalFailureResponse(_message.Message):
    __slots__ = ("membership",)
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    membership: Membership
    def __init__(self, membership: _Optional[_Union[Membership, _Mapping]] = ...) -> None: ...

class CancelMembershipRequest(_message.Message):
    __slots__ = ("membership_id", "idempotency_key")
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    idempotency_key: str
    def __init__(self, membership_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CancelMembershipResponse(_message.Message):
    __slots__ = ("membership",)
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    membership: Membership
    def __init__(self, membership: _Optional[_Union[Membership, _Mapping]] = ...) -> None: ...

class GetMembershipRequest(_message.Message):
    __slots__ = ("membership_id",)
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    def __init__(self, membership_id: _Optional[str] = ...) -> None: ...

class GetMembershipResponse(_message.Message):
    __slots__ = ("membership",)
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    membership: Membership
    def __init__(self, membership: _Optional[_Union[Membership, _Mapping]] = ...) -> None: ...

class ListMembershipsRequest(_message.Message):
    __slots__ = ("member_ref",)
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    def __init__(self, member_ref: _Optional[str] = ...) -> None: ...

class ListMembershipsResponse(_message.Message):
    __slots__ = ("memberships",)
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    memberships: _containers.RepeatedCompositeFieldContainer[Membership]
    def __init__(self, memberships: _Optional[_Iterable[_Union[Membership, _Mapping]]] = ...) -> None: ...

class IssueMembershipPassRequest(_message.Message):
    __slots__ = ("membership_id",)
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    def __init__(self, membership_id: _Optional[str] = ...) -> None: ...

class MembershipPass(_message.Message):
    __slots__ = ("payload", "hub_key_id", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    hub_key_id: str
    signature: bytes
    def __init__(self, payload: _Optional[bytes] = ..., hub_key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class IssueMembershipPassResponse(_message.Message):
    __slots__ = ("membership_pass",)
    MEMBERSHIP_PASS_FIELD_NUMBER: _ClassVar[int]
    membership_pass: MembershipPass
    def __init__(self, membership_pass: _Optional[_Union[MembershipPass, _Mapping]] = ...) -> None: ...

class Voucher(_message.Message):
    __slots__ = ("voucher_id", "membership_id", "funder_partner_id", "honouring_partner_id", "member_ref", "value_minor", "currency", "valid_from", "expires_at", "state", "redeemed_at", "reference", "agreement_id")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    FUNDER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    HONOURING_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    membership_id: str
    funder_partner_id: str
    honouring_partner_id: str
    member_ref: str
    value_minor: int
    currency: str
    valid_from: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    state: VoucherState
    redeemed_at: _timestamp_pb2.Timestamp
    reference: str
    agreement_id: str
    def __init__(self, voucher_id: _Optional[str] = ..., membership_id: _Optional[str] = ..., funder_partner_id: _Optional[str] = ..., honouring_partner_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., value_minor: _Optional[int] = ..., currency: _Optional[str] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[VoucherState, str]] = ..., redeemed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., agreement_id: _Optional[str] = ...) -> None: ...

class ListVouchersRequest(_message.Message):
    __slots__ = ("membership_id", "page_size", "page_token")
    MEMBERSHIP_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    membership_id: str
    page_size: int
    page_token: str
    def __init__(self, membership_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVouchersResponse(_message.Message):
    __slots__ = ("vouchers", "next_page_token")
    VOUCHERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    vouchers: _containers.RepeatedCompositeFieldContainer[Voucher]
    next_page_token: str
    def __init__(self, vouchers: _Optional[_Iterable[_Union[Voucher, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RedeemVoucherRequest(_message.Message):
    __slots__ = ("voucher_id", "reference", "idempotency_key")
    VOUCHER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    voucher_id: str
    reference: str
    idempotency_key: str
    def __init__(self, voucher_id: _Optional[str] = ..., reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RedeemVoucherResponse(_message.Message):
    __slots__ = ("voucher",)
    VOUCHER_FIELD_NUMBER: _ClassVar[int]
    voucher: Voucher
    def __init__(self, voucher: _Optional[_Union[Voucher, _Mapping]] = ...) -> None: ...
