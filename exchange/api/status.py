"""The one table from domain errors to gRPC status codes, and rich error details.

Every refusal carries a google.rpc.Status with an ErrorInfo (reason and domain) and,
when a field is at fault, a BadRequest naming it. The SDK rebuilds its exceptions from them.
"""

from __future__ import annotations

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
}


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
    return status_pb2.Status(code=_code_number(code), message=message, details=details)


def _pack(message: error_details_pb2.ErrorInfo | error_details_pb2.BadRequest) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _code_number(code: grpc.StatusCode) -> int:
    number = code.value[0]
    assert isinstance(number, int)
    return number if number in code_pb2.Code.values() else code_pb2.UNKNOWN
