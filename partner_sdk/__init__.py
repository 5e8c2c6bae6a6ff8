"""The coalition exchange SDK for partner brands: everything a brand uses is importable from here.

Construct an ExchangeClient with the hub's address, your partner id and your Ed25519 key;
every call is signed, every answer verified, and every failure is an ExchangeError subclass
(partner_sdk.errors draws the tree; every verify_* raises one of its verification errors and
returns what it verified). Agreements are signed over agreement_document(terms); conversions
are priced with quote_conversion and recorded with convert; holds let a member spend points at
another brand (authorize_hold, capture_hold); InstructionLoop applies the hub's credit, refund
and release instructions with a handler of your own. Results are frozen dataclasses whose
states and kinds are Literals of plain names.

Besides this package, these modules are public namespaces (everything else is private):

    partner_sdk.errors            the exception tree
    partner_sdk.keys              key files and fingerprints
    partner_sdk.signing           the signing rules (the reference implementation)
    partner_sdk.documents         the agreement document
    partner_sdk.accruals          the accrual document (and its models)
    partner_sdk.donations         the donation document and receipts (and its models)
    partner_sdk.memberships       joint paid membership: the terms' document, passes (and its models)
    partner_sdk.settlement        statements: the document, offline verification
    partner_sdk.settlement_csv    the CSV of a statement's movements, written and read
    partner_sdk.settlement_html   a statement's JSON export and printable page
    partner_sdk.transport         SignedTransport, for calls the clients do not wrap
    partner_sdk.client, .operator, .retry, .tls   where ExchangeClient, OperatorClient,
                                  RetryPolicy and TlsOptions are defined
    partner_sdk.testing           a hub inside your own tests
"""

from partner_sdk._instruction_loop import InstructionHandler, InstructionLoop, InstructionSource, RejectInstruction
from partner_sdk._loop_state import LoopOutcome, LoopState, MemoryLoopState, SqliteLoopState
from partner_sdk._models import (
    AccessEvent,
    AccessLogEntry,
    Agreement,
    AgreementStatus,
    AgreementTerms,
    AttributeDeclaration,
    AttributeRead,
    AttributeType,
    Capture,
    Consent,
    ConsentEndReason,
    Conversion,
    ConversionAmounts,
    ConversionEvent,
    ConversionReversal,
    ConversionState,
    Erasure,
    Hold,
    HoldState,
    HubInfo,
    Instruction,
    InstructionKind,
    InstructionState,
    KeyState,
    LinkCode,
    MemberLink,
    Page,
    Partner,
    PartnerKey,
    PartnerKind,
    PartnerStatus,
    Purpose,
    Quote,
    WithheldReason,
)
from partner_sdk._settlement_models import (
    BreakKind,
    Dispute,
    DisputeState,
    MovementValues,
    Period,
    PeriodState,
    ReconciliationBreak,
    ReconciliationReport,
)
from partner_sdk._version import __version__
from partner_sdk.accruals import (
    AccrualAgreement,
    AccrualAgreementStatus,
    AccrualTerms,
    Award,
    AwardItem,
    AwardResult,
    AwardState,
    accrual_document,
)
from partner_sdk.client import DEFAULT_TIMEOUT_S, ExchangeClient
from partner_sdk.documents import agreement_document
from partner_sdk.donations import (
    Donation,
    DonationAgreement,
    DonationAgreementStatus,
    DonationTerms,
    donation_document,
    verify_receipt,
)
from partner_sdk.errors import (
    AbortedError,
    AlreadyExistsError,
    DeadlineExceededError,
    ExchangeError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    MembershipPassVerificationError,
    NotFoundError,
    PermissionDeniedError,
    ReceiptVerificationError,
    ResourceExhaustedError,
    ResponseVerificationError,
    StatementFormatError,
    StatementVerificationError,
    UnauthenticatedError,
    UnavailableError,
)
from partner_sdk.keys import (
    fingerprint,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_key_bytes,
    save_private_key,
)
from partner_sdk.memberships import (
    Benefit,
    FixedShare,
    FreeDelivery,
    GrantState,
    Membership,
    MembershipAgreement,
    MembershipAgreementStatus,
    MembershipPass,
    MembershipPassDocument,
    MembershipSignature,
    MembershipState,
    MembershipTerms,
    PaidTerm,
    PartnerGrant,
    PartnerMembership,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    RefundRule,
    Share,
    TermLength,
    TermOffer,
    TextBenefit,
    UnknownBenefit,
    UnknownShare,
    Voucher,
    VoucherFunding,
    VoucherPeriod,
    Vouchers,
    VoucherState,
    membership_document,
    verify_membership_pass,
)
from partner_sdk.operator import OperatorClient
from partner_sdk.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy
from partner_sdk.settlement import (
    Movement,
    MovementKind,
    PaymentInstructionStatus,
    PaymentRecord,
    PaymentState,
    Statement,
    StatementDocument,
    verify_chain,
    verify_statement,
)
from partner_sdk.tls import TlsOptions

__all__ = [
    # the clients and their options
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT_S",
    "NO_RETRY",
    "ExchangeClient",
    "OperatorClient",
    "RetryPolicy",
    "TlsOptions",
    "__version__",
    # keys
    "fingerprint",
    "generate_private_key",
    "load_private_key",
    "load_public_key",
    "public_key_bytes",
    "save_private_key",
    # errors: one tree (partner_sdk.errors)
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
    "ReceiptVerificationError",
    "ResourceExhaustedError",
    "ResponseVerificationError",
    "StatementFormatError",
    "StatementVerificationError",
    "UnauthenticatedError",
    "UnavailableError",
    # partners, agreements, conversions, holds, instructions
    "Agreement",
    "AgreementStatus",
    "AgreementTerms",
    "Capture",
    "Conversion",
    "ConversionAmounts",
    "ConversionEvent",
    "ConversionReversal",
    "ConversionState",
    "Hold",
    "HoldState",
    "HubInfo",
    "Instruction",
    "InstructionKind",
    "InstructionState",
    "KeyState",
    "Page",
    "Partner",
    "PartnerKey",
    "PartnerKind",
    "PartnerStatus",
    "Quote",
    "agreement_document",
    # the instruction loop
    "InstructionHandler",
    "InstructionLoop",
    "InstructionSource",
    "LoopOutcome",
    "LoopState",
    "MemoryLoopState",
    "RejectInstruction",
    "SqliteLoopState",
    # members
    "AccessEvent",
    "AccessLogEntry",
    "AttributeDeclaration",
    "AttributeRead",
    "AttributeType",
    "Consent",
    "ConsentEndReason",
    "Erasure",
    "LinkCode",
    "MemberLink",
    "Purpose",
    "WithheldReason",
    # earning and giving
    "AccrualAgreement",
    "AccrualAgreementStatus",
    "AccrualTerms",
    "Award",
    "AwardItem",
    "AwardResult",
    "AwardState",
    "Donation",
    "DonationAgreement",
    "DonationAgreementStatus",
    "DonationTerms",
    "accrual_document",
    "donation_document",
    "verify_receipt",
    # joint paid membership
    "Benefit",
    "FixedShare",
    "FreeDelivery",
    "GrantState",
    "Membership",
    "MembershipAgreement",
    "MembershipAgreementStatus",
    "MembershipPass",
    "MembershipPassDocument",
    "MembershipSignature",
    "MembershipState",
    "MembershipTerms",
    "PaidTerm",
    "PartnerGrant",
    "PartnerMembership",
    "PartnerTerms",
    "PercentageDiscount",
    "PriceTier",
    "RatioShare",
    "RefundRule",
    "Share",
    "TermLength",
    "TermOffer",
    "TextBenefit",
    "UnknownBenefit",
    "UnknownShare",
    "Voucher",
    "VoucherFunding",
    "VoucherPeriod",
    "VoucherState",
    "Vouchers",
    "membership_document",
    "verify_membership_pass",
    # settlement
    "BreakKind",
    "Dispute",
    "DisputeState",
    "Movement",
    "MovementKind",
    "MovementValues",
    "PaymentInstructionStatus",
    "PaymentRecord",
    "PaymentState",
    "Period",
    "PeriodState",
    "ReconciliationBreak",
    "ReconciliationReport",
    "Statement",
    "StatementDocument",
    "verify_chain",
    "verify_statement",
]
