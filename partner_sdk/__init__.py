"""The coalition exchange SDK for partner brands.

Construct an ExchangeClient with the hub's address, your partner id and your Ed25519
key; every call is signed, every answer verified, failures raise ExchangeError subclasses.
Agreements are signed over agreement_document(terms); conversions are priced with
quote_conversion and recorded with convert; holds let a member spend points at another
brand (authorize_hold, capture_hold); InstructionLoop applies the hub's credit, refund and
release instructions with a handler of your own.
"""

from partner_sdk._version import __version__
from partner_sdk.client import DEFAULT_TIMEOUT_S, ExchangeClient
from partner_sdk.documents import agreement_document
from partner_sdk.errors import (
    AbortedError,
    AlreadyExistsError,
    DeadlineExceededError,
    ExchangeError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    ResponseVerificationError,
    UnauthenticatedError,
    UnavailableError,
)
from partner_sdk.instructions import InstructionHandler, InstructionLoop, RejectInstruction
from partner_sdk.keys import fingerprint, generate_private_key, load_private_key, public_key_bytes, save_private_key
from partner_sdk.loop_state import LoopState, MemoryLoopState, SqliteLoopState
from partner_sdk.models import (
    AccessLogEntry,
    Agreement,
    AgreementTerms,
    AttributeDeclaration,
    AttributeRead,
    Capture,
    Consent,
    Conversion,
    ConversionAmounts,
    ConversionEvent,
    ConversionReversal,
    Erasure,
    Hold,
    HubInfo,
    Instruction,
    LinkCode,
    MemberLink,
    Page,
    Partner,
    PartnerKey,
    Quote,
)
from partner_sdk.operator import OperatorClient
from partner_sdk.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy
from partner_sdk.tls import TlsOptions

__all__ = [
    "LinkCode",
    "MemberLink",
    "Capture",
    "Hold",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT_S",
    "NO_RETRY",
    "AbortedError",
    "AccessLogEntry",
    "Agreement",
    "AgreementTerms",
    "AlreadyExistsError",
    "AttributeDeclaration",
    "AttributeRead",
    "Consent",
    "Conversion",
    "ConversionAmounts",
    "ConversionEvent",
    "ConversionReversal",
    "DeadlineExceededError",
    "Erasure",
    "ExchangeClient",
    "ExchangeError",
    "FailedPreconditionError",
    "HubInfo",
    "Instruction",
    "InstructionHandler",
    "InstructionLoop",
    "LoopState",
    "MemoryLoopState",
    "SqliteLoopState",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "OperatorClient",
    "Page",
    "Partner",
    "PartnerKey",
    "PermissionDeniedError",
    "Quote",
    "RejectInstruction",
    "ResourceExhaustedError",
    "ResponseVerificationError",
    "RetryPolicy",
    "TlsOptions",
    "UnauthenticatedError",
    "UnavailableError",
    "__version__",
    "agreement_document",
    "fingerprint",
    "generate_private_key",
    "load_private_key",
    "public_key_bytes",
    "save_private_key",
]
