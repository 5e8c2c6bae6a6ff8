import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MatchAgreementStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_AGREEMENT_STATUS_UNSPECIFIED: _ClassVar[MatchAgreementStatus]
    MATCH_AGREEMENT_STATUS_PROPOSED: _ClassVar[MatchAgreementStatus]
    MATCH_AGREEMENT_STATUS_ACTIVE: _ClassVar[MatchAgreementStatus]
    MATCH_AGREEMENT_STATUS_SUPERSEDED: _ClassVar[MatchAgreementStatus]

class MatchState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_STATE_UNSPECIFIED: _ClassVar[MatchState]
    MATCH_STATE_ACTIVE: _ClassVar[MatchState]
    MATCH_STATE_CONFIRMED: _ClassVar[MatchState]
    MATCH_STATE_ENDED: _ClassVar[MatchState]
MATCH_AGREEMENT_STATUS_UNSPECIFIED: MatchAgreementStatus
MATCH_AGREEMENT_STATUS_PROPOSED: MatchAgreementStatus
MATCH_AGREEMENT_STATUS_ACTIVE: MatchAgreementStatus
MATCH_AGREEMENT_STATUS_SUPERSEDED: MatchAgreementStatus
MATCH_STATE_UNSPECIFIED: MatchState
MATCH_STATE_ACTIVE: MatchState
MATCH_STATE_CONFIRMED: MatchState
MATCH_STATE_ENDED: MatchState

class Tier(_message.Message):
    __slots__ = ("code", "name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class TierLadder(_message.Message):
    __slots__ = ("partner_id", "tiers")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    tiers: _containers.RepeatedCompositeFieldContainer[Tier]
    def __init__(self, partner_id: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[Tier, _Mapping]]] = ...) -> None: ...

class PublishTierLadderRequest(_message.Message):
    __slots__ = ("tiers",)
    TIERS_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[Tier]
    def __init__(self, tiers: _Optional[_Iterable[_Union[Tier, _Mapping]]] = ...) -> None: ...

class PublishTierLadderResponse(_message.Message):
    __slots__ = ("ladder",)
    LADDER_FIELD_NUMBER: _ClassVar[int]
    ladder: TierLadder
    def __init__(self, ladder: _Optional[_Union[TierLadder, _Mapping]] = ...) -> None: ...

class PublishMemberTierRequest(_message.Message):
    __slots__ = ("member_ref", "tier_code", "reached_at", "holds_until")
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    TIER_CODE_FIELD_NUMBER: _ClassVar[int]
    REACHED_AT_FIELD_NUMBER: _ClassVar[int]
    HOLDS_UNTIL_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    tier_code: str
    reached_at: _timestamp_pb2.Timestamp
    holds_until: _timestamp_pb2.Timestamp
    def __init__(self, member_ref: _Optional[str] = ..., tier_code: _Optional[str] = ..., reached_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., holds_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PublishMemberTierResponse(_message.Message):
    __slots__ = ("matches_ended",)
    MATCHES_ENDED_FIELD_NUMBER: _ClassVar[int]
    matches_ended: int
    def __init__(self, matches_ended: _Optional[int] = ...) -> None: ...

class Challenge(_message.Message):
    __slots__ = ("days", "activity", "target")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    days: int
    activity: str
    target: int
    def __init__(self, days: _Optional[int] = ..., activity: _Optional[str] = ..., target: _Optional[int] = ...) -> None: ...

class TierMapping(_message.Message):
    __slots__ = ("attester_tier", "recogniser_tier")
    ATTESTER_TIER_FIELD_NUMBER: _ClassVar[int]
    RECOGNISER_TIER_FIELD_NUMBER: _ClassVar[int]
    attester_tier: str
    recogniser_tier: str
    def __init__(self, attester_tier: _Optional[str] = ..., recogniser_tier: _Optional[str] = ...) -> None: ...

class MatchTerms(_message.Message):
    __slots__ = ("recogniser_partner_id", "attester_partner_id", "version", "mapping", "challenge", "match_days", "period_days", "max_tier_age_days", "valid_from", "valid_until")
    RECOGNISER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    MATCH_DAYS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_DAYS_FIELD_NUMBER: _ClassVar[int]
    MAX_TIER_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    recogniser_partner_id: str
    attester_partner_id: str
    version: int
    mapping: _containers.RepeatedCompositeFieldContainer[TierMapping]
    challenge: Challenge
    match_days: int
    period_days: int
    max_tier_age_days: int
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, recogniser_partner_id: _Optional[str] = ..., attester_partner_id: _Optional[str] = ..., version: _Optional[int] = ..., mapping: _Optional[_Iterable[_Union[TierMapping, _Mapping]]] = ..., challenge: _Optional[_Union[Challenge, _Mapping]] = ..., match_days: _Optional[int] = ..., period_days: _Optional[int] = ..., max_tier_age_days: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MatchAgreement(_message.Message):
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
    terms: MatchTerms
    status: MatchAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: _timestamp_pb2.Timestamp
    def __init__(self, agreement_id: _Optional[str] = ..., terms: _Optional[_Union[MatchTerms, _Mapping]] = ..., status: _Optional[_Union[MatchAgreementStatus, str]] = ..., document: _Optional[bytes] = ..., proposer_key_id: _Optional[str] = ..., proposer_signature: _Optional[bytes] = ..., acceptor_key_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ..., proposed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProposeMatchAgreementRequest(_message.Message):
    __slots__ = ("terms", "proposer_signature")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    terms: MatchTerms
    proposer_signature: bytes
    def __init__(self, terms: _Optional[_Union[MatchTerms, _Mapping]] = ..., proposer_signature: _Optional[bytes] = ...) -> None: ...

class ProposeMatchAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: MatchAgreement
    def __init__(self, agreement: _Optional[_Union[MatchAgreement, _Mapping]] = ...) -> None: ...

class AcceptMatchAgreementRequest(_message.Message):
    __slots__ = ("agreement_id", "acceptor_signature")
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTOR_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    acceptor_signature: bytes
    def __init__(self, agreement_id: _Optional[str] = ..., acceptor_signature: _Optional[bytes] = ...) -> None: ...

class AcceptMatchAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: MatchAgreement
    def __init__(self, agreement: _Optional[_Union[MatchAgreement, _Mapping]] = ...) -> None: ...

class GetMatchAgreementRequest(_message.Message):
    __slots__ = ("agreement_id",)
    AGREEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    agreement_id: str
    def __init__(self, agreement_id: _Optional[str] = ...) -> None: ...

class GetMatchAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: MatchAgreement
    def __init__(self, agreement: _Optional[_Union[MatchAgreement, _Mapping]] = ...) -> None: ...

class StatusMatch(_message.Message):
    __slots__ = ("match_id", "recogniser_partner_id", "attester_partner_id", "member_ref", "attester_tier", "matched_tier", "state", "started_at", "ends_at", "challenge_ends_at", "ended_at", "end_reason", "agreement_version")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RECOGNISER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_TIER_FIELD_NUMBER: _ClassVar[int]
    MATCHED_TIER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    recogniser_partner_id: str
    attester_partner_id: str
    member_ref: str
    attester_tier: str
    matched_tier: str
    state: MatchState
    started_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    challenge_ends_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    end_reason: str
    agreement_version: int
    def __init__(self, match_id: _Optional[str] = ..., recogniser_partner_id: _Optional[str] = ..., attester_partner_id: _Optional[str] = ..., member_ref: _Optional[str] = ..., attester_tier: _Optional[str] = ..., matched_tier: _Optional[str] = ..., state: _Optional[_Union[MatchState, str]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., challenge_ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_reason: _Optional[str] = ..., agreement_version: _Optional[int] = ...) -> None: ...

class TierAttestation(_message.Message):
    __slots__ = ("payload", "hub_key_id", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    hub_key_id: str
    signature: bytes
    def __init__(self, payload: _Optional[bytes] = ..., hub_key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class RequestStatusMatchRequest(_message.Message):
    __slots__ = ("member_ref", "counterparty_partner_id", "idempotency_key")
    MEMBER_REF_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    member_ref: str
    counterparty_partner_id: str
    idempotency_key: str
    def __init__(self, member_ref: _Optional[str] = ..., counterparty_partner_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RequestStatusMatchResponse(_message.Message):
    __slots__ = ("match", "attestation")
    MATCH_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    match: StatusMatch
    attestation: TierAttestation
    def __init__(self, match: _Optional[_Union[StatusMatch, _Mapping]] = ..., attestation: _Optional[_Union[TierAttestation, _Mapping]] = ...) -> None: ...

class GetStatusMatchRequest(_message.Message):
    __slots__ = ("match_id",)
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    def __init__(self, match_id: _Optional[str] = ...) -> None: ...

class GetStatusMatchResponse(_message.Message):
    __slots__ = ("match",)
    MATCH_FIELD_NUMBER: _ClassVar[int]
    match: StatusMatch
    def __init__(self, match: _Optional[_Union[StatusMatch, _Mapping]] = ...) -> None: ...

class GetTierAttestationRequest(_message.Message):
    __slots__ = ("match_id",)
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    def __init__(self, match_id: _Optional[str] = ...) -> None: ...

class GetTierAttestationResponse(_message.Message):
    __slots__ = ("attestation",)
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    attestation: TierAttestation
    def __init__(self, attestation: _Optional[_Union[TierAttestation, _Mapping]] = ...) -> None: ...

class ReportChallengeRequest(_message.Message):
    __slots__ = ("match_id", "met")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    met: bool
    def __init__(self, match_id: _Optional[str] = ..., met: _Optional[bool] = ...) -> None: ...

class ReportChallengeResponse(_message.Message):
    __slots__ = ("match",)
    MATCH_FIELD_NUMBER: _ClassVar[int]
    match: StatusMatch
    def __init__(self, match: _Optional[_Union[StatusMatch, _Mapping]] = ...) -> None: ...
