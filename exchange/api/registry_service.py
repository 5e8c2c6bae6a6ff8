"""RegistryService and OperatorService: thin translations between protobuf and commands."""

from __future__ import annotations

from coalition.exchange.v1 import common_pb2, operator_pb2, registry_pb2
from exchange.api.dispatch import Invocation, SignedMethods
from exchange.api.translate import PARTNER_STATUS_FROM_PROTO, optional_ms, partner_message
from exchange.domain.errors import InvalidArgument
from exchange.domain.partners import PartnerKind, validate_registration
from exchange.service import registry
from exchange.service.pipeline import OPERATOR, PARTNERS, PARTNERS_AND_OPERATOR, command

REGISTRY_SERVICE = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name
OPERATOR_SERVICE = operator_pb2.DESCRIPTOR.services_by_name["OperatorService"].full_name


def _registrant_key(request: registry_pb2.RegisterPartnerRequest) -> bytes:
    if len(request.key.public_key) != 32:
        raise InvalidArgument(
            "MALFORMED_PUBLIC_KEY", "key.public_key must be a raw 32-byte Ed25519 public key", field="key.public_key"
        )
    return request.key.public_key


@command(registry_pb2.RegisterPartnerRequest, registrant_key=_registrant_key)
def _register(call: Invocation, request: registry_pb2.RegisterPartnerRequest) -> registry_pb2.RegisterPartnerResponse:
    registration = validate_registration(
        partner_id=request.partner_id,
        display_name=request.display_name,
        point_currency=request.point_currency,
        settlement_currency=request.settlement_currency,
        point_value_numerator=request.point_value_minor.numerator,
        point_value_denominator=request.point_value_minor.denominator,
        key_id=request.key.key_id,
        public_key=request.key.public_key,
        kind=PartnerKind.CHARITY if request.kind == common_pb2.PARTNER_KIND_CHARITY else PartnerKind.BRAND,
    )
    partner = registry.register_partner(
        call.connection, call.caller, registration, request.possession_proof, call.now_ms
    )
    return registry_pb2.RegisterPartnerResponse(partner=partner_message(partner, call.now_ms))


@command(registry_pb2.GetPartnerRequest, callers=PARTNERS_AND_OPERATOR)
def _get(call: Invocation, request: registry_pb2.GetPartnerRequest) -> registry_pb2.GetPartnerResponse:
    partner = registry.get_partner(call.connection, request.partner_id)
    return registry_pb2.GetPartnerResponse(partner=partner_message(partner, call.now_ms))


@command(registry_pb2.ListPartnersRequest, callers=PARTNERS_AND_OPERATOR)
def _list(call: Invocation, request: registry_pb2.ListPartnersRequest) -> registry_pb2.ListPartnersResponse:
    status = None
    if request.status != common_pb2.PARTNER_STATUS_UNSPECIFIED:
        if request.status not in PARTNER_STATUS_FROM_PROTO:
            raise InvalidArgument("INVALID_STATUS", "status is not a known PartnerStatus", field="status")
        status = PARTNER_STATUS_FROM_PROTO[request.status]
    page = registry.list_partners(
        call.connection, page_size=request.page_size, page_token=request.page_token, status=status
    )
    return registry_pb2.ListPartnersResponse(
        partners=[partner_message(p, call.now_ms) for p in page.partners], next_page_token=page.next_page_token
    )


@command(registry_pb2.RotateKeyRequest, callers=PARTNERS)
def _rotate(call: Invocation, request: registry_pb2.RotateKeyRequest) -> registry_pb2.RotateKeyResponse:
    partner = registry.rotate_key(
        call.connection,
        call.caller,
        new_key_id=request.new_key.key_id,
        new_public_key=request.new_key.public_key,
        possession_proof=request.possession_proof,
        previous_key_not_after_ms=optional_ms(
            request.previous_key_not_after, request.HasField("previous_key_not_after"), "previous_key_not_after"
        ),
        now_ms=call.now_ms,
    )
    return registry_pb2.RotateKeyResponse(partner=partner_message(partner, call.now_ms))


@command(registry_pb2.RevokeKeyRequest, callers=PARTNERS)
def _revoke(call: Invocation, request: registry_pb2.RevokeKeyRequest) -> registry_pb2.RevokeKeyResponse:
    partner = registry.revoke_key(
        call.connection, call.caller, key_id=request.key_id, reason=request.reason, now_ms=call.now_ms
    )
    return registry_pb2.RevokeKeyResponse(partner=partner_message(partner, call.now_ms))


@command(operator_pb2.ApprovePartnerRequest, callers=OPERATOR)
def _approve(call: Invocation, request: operator_pb2.ApprovePartnerRequest) -> operator_pb2.ApprovePartnerResponse:
    partner = registry.change_partner_status(
        call.connection, call.caller, partner_id=request.partner_id, action="approve", reason="", now_ms=call.now_ms
    )
    return operator_pb2.ApprovePartnerResponse(partner=partner_message(partner, call.now_ms))


@command(operator_pb2.SuspendPartnerRequest, callers=OPERATOR)
def _suspend(call: Invocation, request: operator_pb2.SuspendPartnerRequest) -> operator_pb2.SuspendPartnerResponse:
    partner = registry.change_partner_status(
        call.connection,
        call.caller,
        partner_id=request.partner_id,
        action="suspend",
        reason=request.reason,
        now_ms=call.now_ms,
    )
    return operator_pb2.SuspendPartnerResponse(partner=partner_message(partner, call.now_ms))


@command(operator_pb2.ReinstatePartnerRequest, callers=OPERATOR)
def _reinstate(
    call: Invocation, request: operator_pb2.ReinstatePartnerRequest
) -> operator_pb2.ReinstatePartnerResponse:
    partner = registry.change_partner_status(
        call.connection, call.caller, partner_id=request.partner_id, action="reinstate", reason="", now_ms=call.now_ms
    )
    return operator_pb2.ReinstatePartnerResponse(partner=partner_message(partner, call.now_ms))


REGISTRY_METHODS: SignedMethods = {
    "RegisterPartner": _register,
    "GetPartner": _get,
    "ListPartners": _list,
    "RotateKey": _rotate,
    "RevokeKey": _revoke,
}

OPERATOR_METHODS: SignedMethods = {
    "ApprovePartner": _approve,
    "SuspendPartner": _suspend,
    "ReinstatePartner": _reinstate,
}
