"""The SDK's one exception tree: the hub's refusals (from its gRPC status and details) and the SDK's own checks.

    ExchangeError                    anything the hub refused, the call could not do, or that does not verify
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
     +-- ResponseVerificationError   something the hub signed does not verify: an answer, or
     |    |                          the document of an agreement to accept
     |    +-- StatementVerificationError   a statement or chain (verify_statement, verify_chain)
     |    +-- ReceiptVerificationError     a consent's or donation's receipt (verify_receipt)
     |    +-- MembershipPassVerificationError  a membership pass (verify_membership_pass)
     |    +-- TierAttestationVerificationError a tier attestation (verify_tier_attestation)
     +-- StatementFormatError        a statement document is not coalition-statement/1 (also a ValueError)

``reason`` is a stable machine-readable code: the hub's (for example ``KEY_REVOKED``), or the
SDK's own for what it checks (``BAD_SIGNATURE``, ``CHAIN_GAP``, ...). ``field`` is the request
field at fault when there is one. Every ``verify_*`` function and method raises one of the
verification errors above and returns what it verified.
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
    "MembershipPassVerificationError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "ReceiptVerificationError",
    "ResponseVerificationError",
    "StatementFormatError",
    "StatementVerificationError",
    "TierAttestationVerificationError",
    "UnauthenticatedError",
    "UnavailableError",
]


class ExchangeError(Exception):
    """A call to the hub failed.

    Attributes:
        code: the gRPC status code name, for example "INVALID_ARGUMENT"; for what the SDK found
            wrong itself, the name of that check, for example "RESPONSE_NOT_VERIFIED".
        reason: the stable reason code, or "" when the hub did not answer.
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
    """Something the hub signed does not verify: not signed by the hub's key, or its signature does not match."""

    code = "RESPONSE_NOT_VERIFIED"


class StatementVerificationError(ResponseVerificationError):
    """A statement, or a chain of statements, does not verify (verify_statement, verify_chain).

    reason is a stable code, e.g. DOCUMENT_HASH_MISMATCH, BAD_SIGNATURE, ENVELOPE_MISMATCH,
    NET_POSITION_WRONG, COALITION_UNBALANCED, CHAIN_GAP, CHAIN_BROKEN; message the first
    problem found, in words.
    """

    code = "STATEMENT_NOT_VERIFIED"


class ReceiptVerificationError(ResponseVerificationError):
    """A consent's or a donation's receipt is not signed by the hub key given (verify_receipt).

    reason is BAD_SIGNATURE (wrong key, or an altered receipt) or BAD_HUB_KEY (not a 32-byte key).
    """

    code = "RECEIPT_NOT_VERIFIED"


class MembershipPassVerificationError(ResponseVerificationError):
    """A membership pass must not be honoured: not the hub's, not for this partner, or not valid now.

    verify_membership_pass raises it. reason is BAD_HUB_KEY (not a 32-byte key), BAD_SIGNATURE
    (another key, or an altered pass), MALFORMED_PASS (not JSON, or a field missing, unknown or
    of the wrong type), NOT_CANONICAL, WRONG_FORMAT (not coalition-membership-pass/1),
    WRONG_PARTNER (issued to another partner), PASS_EXPIRED or PASS_NOT_YET_VALID.
    """

    code = "MEMBERSHIP_PASS_NOT_VERIFIED"


class TierAttestationVerificationError(ResponseVerificationError):
    """A tier attestation must not be recognised: not the hub's, not for this brand, or not valid now.

    verify_tier_attestation raises it. reason is BAD_HUB_KEY (not a 32-byte key), BAD_SIGNATURE
    (another key, or an altered attestation), MALFORMED_ATTESTATION (not JSON, or a field missing,
    unknown or of the wrong type), NOT_CANONICAL, WRONG_FORMAT (not coalition-tier-attestation/1),
    WRONG_RECOGNISER (issued to another brand), ATTESTATION_EXPIRED or ATTESTATION_NOT_YET_VALID.
    """

    code = "TIER_ATTESTATION_NOT_VERIFIED"


class StatementFormatError(ExchangeError, ValueError):
    """A statement document is not a well-formed coalition-statement/1 document (reason MALFORMED_DOCUMENT)."""

    code = "STATEMENT_MALFORMED"

    def __init__(self, message: str, *, reason: str = "MALFORMED_DOCUMENT") -> None:
        super().__init__(message, reason=reason)


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
