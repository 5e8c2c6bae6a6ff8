"""The one table from domain errors to gRPC status codes, and rich error details.

Every refusal carries a google.rpc.Status with an ErrorInfo (reason and domain); when a field
is at fault, a BadRequest naming it; when a retry may succeed, a RetryInfo with the delay; when
a limit was hit, a QuotaFailure naming it. The SDK rebuilds its exceptions from them.

Anything else a call raises (a bug: a broken invariant, a row the database refused for a CHECK,
NOT NULL or foreign key constraint) is answered INTERNAL, reason INTERNAL, once and never
retried by the hub or the SDK, with a message naming a fresh incident id and nothing else: no SQL,
no traceback. The hub logs one ERROR line with the same incident id and the error
(exchange.api.dispatch), so the id a brand quotes finds it.
"""

from __future__ import annotations

import secrets

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from exchange.domain import errors

ERROR_DOMAIN = "exchange.coalition"

STATUS_BY_ERROR: dict[type[errors.ExchangeError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


# When a retry of the same call may succeed, and how long to wait first.
RETRY_DELAY_S: dict[grpc.StatusCode, float] = {grpc.StatusCode.ABORTED: 0.05, grpc.StatusCode.UNAVAILABLE: 0.5}


INTERNAL_REASON = "INTERNAL"
INCIDENT_ID_PREFIX = "inc-"
INCIDENT_ID_BYTES = 8  # 16 hex digits: unique enough to find one line in a hub's logs


def new_incident_id() -> str:
    """Return a fresh incident id, such as ``inc-9f2c4a1be07d3356``, for one INTERNAL answer."""
    return INCIDENT_ID_PREFIX + secrets.token_hex(INCIDENT_ID_BYTES)


def internal_message(incident_id: str) -> str:
    """Return the whole message of an INTERNAL answer: the incident to quote to the operator."""
    return f"internal error (incident {incident_id})"


def status_code_of(error: errors.ExchangeError) -> grpc.StatusCode:
    """Return the gRPC status code for a domain error (its class or nearest base in the table)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return grpc.StatusCode.UNKNOWN


def rich_status(code: grpc.StatusCode, message: str, reason: str, field: str | None = None) -> status_pb2.Status:
    """Build the google.rpc.Status carried in grpc-status-details-bin."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN)
    details = [_pack(info)]
    if field:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    if code in RETRY_DELAY_S:
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(int(RETRY_DELAY_S[code] * 1000))
        details.append(_pack(retry))
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        limit = error_details_pb2.QuotaFailure.Violation(subject=reason, description=message)
        details.append(_pack(error_details_pb2.QuotaFailure(violations=[limit])))
    return status_pb2.Status(code=_code_number(code), message=message, details=details)


def _pack(
    message: error_details_pb2.ErrorInfo
    | error_details_pb2.BadRequest
    | error_details_pb2.RetryInfo
    | error_details_pb2.QuotaFailure,
) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _code_number(code: grpc.StatusCode) -> int:
    number = code.value[0]
    assert isinstance(number, int)
    return number if number in code_pb2.Code.values() else code_pb2.UNKNOWN
