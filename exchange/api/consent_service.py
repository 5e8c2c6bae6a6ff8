"""MemberService's attribute and consent calls: thin translations between protobuf and commands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from coalition.exchange.v1 import members_pb2
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.translate import timestamp, timestamp_ms
from exchange.domain.consent import AttributeType, Purpose, Value
from exchange.domain.errors import InvalidArgument
from exchange.secrets.keyring import Keyring
from exchange.service import consent, status_match
from exchange.service.consent import SignedConsent
from exchange.service.pipeline import PARTNERS, command

TYPES = {
    members_pb2.ATTRIBUTE_TYPE_TEXT: AttributeType.TEXT,
    members_pb2.ATTRIBUTE_TYPE_INTEGER: AttributeType.INTEGER,
    members_pb2.ATTRIBUTE_TYPE_BOOLEAN: AttributeType.BOOLEAN,
    members_pb2.ATTRIBUTE_TYPE_DATE: AttributeType.DATE,
}
TYPE_TO_PROTO = {v: k for k, v in TYPES.items()}
PURPOSES = {
    members_pb2.PURPOSE_PERSONALISED_OFFERS: Purpose.PERSONALISED_OFFERS,
    members_pb2.PURPOSE_FRAUD_PREVENTION: Purpose.FRAUD_PREVENTION,
    members_pb2.PURPOSE_SERVICE: Purpose.SERVICE,
    members_pb2.PURPOSE_STATUS_MATCH: Purpose.STATUS_MATCH,
}
PURPOSE_TO_PROTO = {v: k for k, v in PURPOSES.items()}


def _keyring(call: Invocation) -> Keyring:
    keyring = call.hub.keyring
    assert keyring is not None, "a hub serving members has a keyring"
    return keyring


def _value(message: members_pb2.AttributeValue) -> Value:
    kind = message.WhichOneof("value")
    if kind is None:
        raise InvalidArgument("MISSING_VALUE", f"attribute {message.key!r} has no value", field="values")
    if kind == "date":
        try:
            return dt.date.fromisoformat(message.date)
        except ValueError as exc:
            raise InvalidArgument(
                "INVALID_DATE", f"attribute {message.key!r} is not YYYY-MM-DD", field="values"
            ) from exc
    value: Value = getattr(message, kind)
    return value


def _value_message(key: str, value: Value) -> members_pb2.AttributeValue:
    if isinstance(value, bool):
        return members_pb2.AttributeValue(key=key, boolean=value)
    if isinstance(value, int):
        return members_pb2.AttributeValue(key=key, integer=value)
    if isinstance(value, dt.date):
        return members_pb2.AttributeValue(key=key, date=value.isoformat())
    return members_pb2.AttributeValue(key=key, text=value)


def _consent_message(signed: SignedConsent) -> members_pb2.Consent:
    c = signed.consent
    message = members_pb2.Consent(
        consent_id=c.consent_id,
        source_partner_id=c.source_partner_id,
        grantee_partner_id=c.grantee_partner_id,
        attribute_keys=list(c.attribute_keys),
        purpose=PURPOSE_TO_PROTO[c.purpose],
        granted_at=timestamp(c.granted_at_ms),
        expires_at=timestamp(c.expires_at_ms),
        granted_via=c.granted_via,
        receipt=signed.receipt,
        receipt_signature=signed.signature,
        receipt_key_id=signed.key_id,
        end_reason=c.end_reason,
    )
    if c.revoked_at_ms is not None:
        message.revoked_at.CopyFrom(timestamp(c.revoked_at_ms))
    return message


@command(members_pb2.DeclareAttributeRequest, callers=PARTNERS)
def _declare(call: Invocation, request: members_pb2.DeclareAttributeRequest) -> members_pb2.DeclareAttributeResponse:
    declared = consent.declare(call.connection, call.caller, request.key, TYPES.get(request.type), request.description)
    return members_pb2.DeclareAttributeResponse(
        attribute=members_pb2.AttributeDeclaration(
            partner_id=declared.partner_id,
            key=declared.key,
            type=TYPE_TO_PROTO[declared.type],
            description=declared.description,
        )
    )


@command(members_pb2.PublishAttributesRequest, callers=PARTNERS)
def _publish(call: Invocation, request: members_pb2.PublishAttributesRequest) -> members_pb2.PublishAttributesResponse:
    values = {v.key: _value(v) for v in request.values}
    if len(values) != len(request.values):
        raise InvalidArgument("DUPLICATE_KEY", "each attribute appears once", field="values")
    stored = consent.publish(call.connection, call.caller, request.member_ref, values, _keyring(call), call.now_ms)
    return members_pb2.PublishAttributesResponse(keys=stored)


@command(members_pb2.GrantConsentRequest, callers=PARTNERS)
def _grant(call: Invocation, request: members_pb2.GrantConsentRequest) -> members_pb2.GrantConsentResponse:
    if not request.HasField("expires_at"):
        raise InvalidArgument("MISSING_FIELD", "expires_at is required", field="expires_at")
    signer = call.hub.signer

    def sign(document: bytes) -> tuple[bytes, str]:
        return signer.private_key.sign(document), signer.key_id

    signed = consent.grant(
        call.connection,
        call.caller,
        member_ref=request.member_ref,
        source=request.source_partner_id,
        grantee=request.grantee_partner_id,
        keys=list(request.attribute_keys),
        purpose=PURPOSES.get(request.purpose),
        expires_at_ms=timestamp_ms(request.expires_at, "expires_at"),
        secret=_keyring(call).pairwise_secret,
        sign=sign,
        now_ms=call.now_ms,
    )
    return members_pb2.GrantConsentResponse(consent=_consent_message(signed))


@command(members_pb2.RevokeConsentRequest, callers=PARTNERS)
def _revoke(call: Invocation, request: members_pb2.RevokeConsentRequest) -> members_pb2.RevokeConsentResponse:
    signed = consent.revoke(call.connection, call.caller, request.member_ref, request.consent_id, call.now_ms)
    status_match.end_after_consent_change(call.work, signed.consent.member_id, call.now_ms)  # matches it allowed
    return members_pb2.RevokeConsentResponse(consent=_consent_message(signed))


@command(members_pb2.ListConsentsRequest, callers=PARTNERS, keep_answer=False)
def _list(call: Invocation, request: members_pb2.ListConsentsRequest) -> members_pb2.ListConsentsResponse:
    found = consent.list_consents(call.connection, call.caller, request.member_ref)
    return members_pb2.ListConsentsResponse(consents=[_consent_message(s) for s in found])


@command(members_pb2.ReadAttributesRequest, callers=PARTNERS, keep_answer=False)
def _read(call: Invocation, request: members_pb2.ReadAttributesRequest) -> members_pb2.ReadAttributesResponse:
    got = consent.read(
        call.connection,
        call.caller,
        pairwise_member_id=request.pairwise_member_id,
        source=request.source_partner_id,
        purpose=PURPOSES.get(request.purpose),
        keys=list(request.attribute_keys),
        keyring=_keyring(call),
        now_ms=call.now_ms,
    )
    return members_pb2.ReadAttributesResponse(
        values=[_value_message(k, v) for k, v in got.values.items()],
        withheld=[members_pb2.WithheldAttribute(key=k, reason=r) for k, r in got.withheld.items()],
    )


@command(members_pb2.ListAccessLogRequest, callers=PARTNERS, keep_answer=False)
def _log(call: Invocation, request: members_pb2.ListAccessLogRequest) -> members_pb2.ListAccessLogResponse:
    rows: list[Any] = consent.access_log(call.connection, call.caller, request.member_ref)
    return members_pb2.ListAccessLogResponse(
        entries=[
            members_pb2.AccessLogEntry(
                at=timestamp(r.at_ms),
                reader_partner_id=r.reader_partner_id,
                source_partner_id=r.source_partner_id,
                purpose=PURPOSE_TO_PROTO[Purpose(r.purpose)] if r.purpose else members_pb2.PURPOSE_UNSPECIFIED,
                returned_keys=[k for k in r.returned_keys.split(",") if k],
                withheld_keys=[k for k in r.withheld_keys.split(",") if k],
                event=r.event,
                reason=r.reason,
                consent_id=r.consent_id,
            )
            for r in rows
        ]
    )


@command(members_pb2.EraseMemberRequest, callers=PARTNERS)
def _erase(call: Invocation, request: members_pb2.EraseMemberRequest) -> members_pb2.EraseMemberResponse:
    done = consent.erase(
        call.connection,
        call.caller,
        request.member_ref,
        call.now_ms,
        _keyring(call).pairwise_secret,
        call.hub.erasures,
    )
    return members_pb2.EraseMemberResponse(
        erased_at=timestamp(done.erased_at_ms), links_ended=done.links_ended, consents_revoked=done.consents_revoked
    )


CONSENT_METHODS: SignedMethods = {
    "DeclareAttribute": _declare,
    "PublishAttributes": _publish,
    "GrantConsent": _grant,
    "RevokeConsent": _revoke,
    "ListConsents": _list,
    "ReadAttributes": _read,
    "ListAccessLog": _log,
    "EraseMember": _erase,
}
