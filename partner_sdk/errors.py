"""The SDK's exceptions, rebuilt from the hub's gRPC status and its google.rpc details.

    ExchangeError                    anything the hub refused or the call could not do
     +-- InvalidArgumentError        INVALID_ARGUMENT: fix the request
     +-- NotFoundError               NOT_FOUND
     +-- AlreadyExistsError          ALREADY_EXISTS
     +-- FailedPreconditionError     FAILED_PRECONDITION: the state forbids it now
     +-- PermissionDeniedError       PERMISSION_DENIED: this caller may not
     +-- UnauthenticatedError        UNAUTHENTICATED: signature, key, clock or replay
     +-- ResourceExhaustedError      RESOURCE_EXHAUSTED: a limit was hit
     +-- AbortedError                ABORTED: a conflict; safe to retry the same call
     +-- UnavailableError            UNAVAILABLE: the hub could not be reached
     +-- DeadlineExceededError       DEADLINE_EXCEEDED: no answer in time
     +-- InternalError               INTERNAL, UNKNOWN and anything else
     +-- ResponseVerificationError   the answer was not signed by the hub's key

``reason`` is the hub's stable machine-readable code (for example ``KEY_REVOKED``),
``field`` the request field at fault when there is one.
"""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2
from grpc_status import rpc_status

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "DeadlineExceededError",
    "ExchangeError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "ResponseVerificationError",
    "UnauthenticatedError",
    "UnavailableError",
]


class ExchangeError(Exception):
    """A call to the hub failed.

    Attributes:
        code: the gRPC status code name, for example "INVALID_ARGUMENT".
        reason: the hub's stable reason code, or "" when the hub did not answer.
        message: the hub's message.
        field: the request field at fault, or None.
        request_id: the id of the request, to quote to the operator.
        retry_delay_s: how long the hub asks to wait before the same call is tried again, or None.
        limit: for RESOURCE_EXHAUSTED, the limit that was hit as the hub describes it, or None.
    """

    code = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        field: str | None = None,
        request_id: str = "",
        retry_delay_s: float | None = None,
        limit: str | None = None,
    ) -> None:
        super().__init__(f"{message} [{reason}]" if reason else message)
        self.message = message
        self.reason = reason
        self.field = field
        self.request_id = request_id
        self.retry_delay_s = retry_delay_s
        self.limit = limit


class InvalidArgumentError(ExchangeError):
    """The request is malformed or a field is out of range."""

    code = "INVALID_ARGUMENT"


class NotFoundError(ExchangeError):
    """The named thing does not exist, or is not visible to this partner."""

    code = "NOT_FOUND"


class AlreadyExistsError(ExchangeError):
    """The thing to create exists already."""

    code = "ALREADY_EXISTS"


class FailedPreconditionError(ExchangeError):
    """The request is valid but the current state forbids it."""

    code = "FAILED_PRECONDITION"


class PermissionDeniedError(ExchangeError):
    """The caller is authenticated but may not do this."""

    code = "PERMISSION_DENIED"


class UnauthenticatedError(ExchangeError):
    """The hub could not establish who sent the request (signature, key, clock, replay)."""

    code = "UNAUTHENTICATED"


class ResourceExhaustedError(ExchangeError):
    """A limit was hit."""

    code = "RESOURCE_EXHAUSTED"


class AbortedError(ExchangeError):
    """The request conflicted with others; the same call may be retried."""

    code = "ABORTED"


class UnavailableError(ExchangeError):
    """The hub could not be reached."""

    code = "UNAVAILABLE"


class DeadlineExceededError(ExchangeError):
    """No answer arrived before the deadline; the call may or may not have happened."""

    code = "DEADLINE_EXCEEDED"


class InternalError(ExchangeError):
    """The hub failed in a way it did not expect."""

    code = "INTERNAL"


class ResponseVerificationError(ExchangeError):
    """The answer was not signed by the hub's key, or its signature does not match."""

    code = "RESPONSE_NOT_VERIFIED"


_BY_CODE: dict[grpc.StatusCode, type[ExchangeError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def error_from_rpc(error: grpc.RpcError, request_id: str = "") -> ExchangeError:
    """Rebuild the SDK exception from a failed call, with the reason and field the hub sent."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = (error.details() if isinstance(error, grpc.Call) else None) or str(code)
    reason, field, retry_delay_s, limit = "", None, None, None
    try:
        status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    except (ValueError, DecodeError):
        return ResponseVerificationError(
            f"{code.name}: the error's details do not match its status: {message}",
            reason="RESPONSE_MALFORMED",
            request_id=request_id,
        )
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                if bad.field_violations:
                    field = bad.field_violations[0].field
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_delay_s = retry.retry_delay.ToMilliseconds() / 1000
            elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
                quota = error_details_pb2.QuotaFailure()
                detail.Unpack(quota)
                if quota.violations:
                    limit = quota.violations[0].description
    return _BY_CODE.get(code, InternalError)(
        message, reason=reason, field=field, request_id=request_id, retry_delay_s=retry_delay_s, limit=limit
    )
