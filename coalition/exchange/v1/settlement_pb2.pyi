import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeriodState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERIOD_STATE_UNSPECIFIED: _ClassVar[PeriodState]
    PERIOD_STATE_OPEN: _ClassVar[PeriodState]
    PERIOD_STATE_CLOSED: _ClassVar[PeriodState]

class MovementKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOVEMENT_KIND_UNSPECIFIED: _ClassVar[MovementKind]
    MOVEMENT_KIND_CONVERSION: _ClassVar[MovementKind]
    MOVEMENT_KIND_CAPTURE: _ClassVar[MovementKind]
    MOVEMENT_KIND_REVERSAL: _ClassVar[MovementKind]
    MOVEMENT_KIND_ADJUSTMENT: _ClassVar[MovementKind]
    MOVEMENT_KIND_ACCRUAL: _ClassVar[MovementKind]
    MOVEMENT_KIND_DONATION: _ClassVar[MovementKind]
    MOVEMENT_KIND_MEMBERSHIP_FEE_SHARE: _ClassVar[MovementKind]
    MOVEMENT_KIND_MEMBERSHIP_FEE_REFUND: _ClassVar[MovementKind]
    MOVEMENT_KIND_VOUCHER_REDEMPTION: _ClassVar[MovementKind]

class PaymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATE_UNSPECIFIED: _ClassVar[PaymentState]
    PAYMENT_STATE_OUTSTANDING: _ClassVar[PaymentState]
    PAYMENT_STATE_PART_PAID: _ClassVar[PaymentState]
    PAYMENT_STATE_PAID: _ClassVar[PaymentState]

class BreakKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAK_KIND_UNSPECIFIED: _ClassVar[BreakKind]
    BREAK_KIND_MISSING_AT_HUB: _ClassVar[BreakKind]
    BREAK_KIND_MISSING_AT_BRAND: _ClassVar[BreakKind]
    BREAK_KIND_AMOUNT_MISMATCH: _ClassVar[BreakKind]
    BREAK_KIND_DUPLICATE: _ClassVar[BreakKind]
    BREAK_KIND_IN_OTHER_PERIOD: _ClassVar[BreakKind]

class DisputeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISPUTE_STATE_UNSPECIFIED: _ClassVar[DisputeState]
    DISPUTE_STATE_OPEN: _ClassVar[DisputeState]
    DISPUTE_STATE_ACCEPTED: _ClassVar[DisputeState]
    DISPUTE_STATE_CONTESTED: _ClassVar[DisputeState]
    DISPUTE_STATE_RESOLVED: _ClassVar[DisputeState]
PERIOD_STATE_UNSPECIFIED: PeriodState
PERIOD_STATE_OPEN: PeriodState
PERIOD_STATE_CLOSED: PeriodState
MOVEMENT_KIND_UNSPECIFIED: MovementKind
MOVEMENT_KIND_CONVERSION: MovementKind
MOVEMENT_KIND_CAPTURE: MovementKind
MOVEMENT_KIND_REVERSAL: MovementKind
MOVEMENT_KIND_ADJUSTMENT: MovementKind
MOVEMENT_KIND_ACCRUAL: MovementKind
MOVEMENT_KIND_DONATION: MovementKind
MOVEMENT_KIND_MEMBERSHIP_FEE_SHARE: MovementKind
MOVEMENT_KIND_MEMBERSHIP_FEE_REFUND: MovementKind
MOVEMENT_KIND_VOUCHER_REDEMPTION: MovementKind
PAYMENT_STATE_UNSPECIFIED: PaymentState
PAYMENT_STATE_OUTSTANDING: PaymentState
PAYMENT_STATE_PART_PAID: PaymentState
PAYMENT_STATE_PAID: PaymentState
BREAK_KIND_UNSPECIFIED: BreakKind
BREAK_KIND_MISSING_AT_HUB: BreakKind
BREAK_KIND_MISSING_AT_BRAND: BreakKind
BREAK_KIND_AMOUNT_MISMATCH: BreakKind
BREAK_KIND_DUPLICATE: BreakKind
BREAK_KIND_IN_OTHER_PERIOD: BreakKind
DISPUTE_STATE_UNSPECIFIED: DisputeState
DISPUTE_STATE_OPEN: DisputeState
DISPUTE_STATE_ACCEPTED: DisputeState
DISPUTE_STATE_CONTESTED: DisputeState
DISPUTE_STATE_RESOLVED: DisputeState

class Period(_message.Message):
    __slots__ = ("period_id", "number", "state", "opened_at", "cutoff", "closed_at", "movement_count", "statement_count")
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    CUTOFF_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    period_id: str
    number: int
    state: PeriodState
    opened_at: _timestamp_pb2.Timestamp
    cutoff: _timestamp_pb2.Timestamp
    closed_at: _timestamp_pb2.Timestamp
    movement_count: int
    statement_count: int
    def __init__(self, period_id: _Optional[str] = ..., number: _Optional[int] = ..., state: _Optional[_Union[PeriodState, str]] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cutoff: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., movement_count: _Optional[int] = ..., statement_count: _Optional[int] = ...) -> None: ...

class Movement(_message.Message):
    __slots__ = ("movement_id", "kind", "period_id", "source_partner_id", "target_partner_id", "source_points", "target_points", "currency", "amount_minor", "final_at")
    MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_POINTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    FINAL_AT_FIELD_NUMBER: _ClassVar[int]
    movement_id: str
    kind: MovementKind
    period_id: str
    source_partner_id: str
    target_partner_id: str
    source_points: int
    target_points: int
    currency: str
    amount_minor: int
    final_at: _timestamp_pb2.Timestamp
    def __init__(self, movement_id: _Optional[str] = ..., kind: _Optional[_Union[MovementKind, str]] = ..., period_id: _Optional[str] = ..., source_partner_id: _Optional[str] = ..., target_partner_id: _Optional[str] = ..., source_points: _Optional[int] = ..., target_points: _Optional[int] = ..., currency: _Optional[str] = ..., amount_minor: _Optional[int] = ..., final_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PaymentInstruction(_message.Message):
    __slots__ = ("instruction_id", "period_id", "currency", "payer_partner_id", "payee_partner_id", "amount_minor", "paid_minor", "outstanding_minor", "state", "payments")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PAYER_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    PAID_MINOR_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_MINOR_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    period_id: str
    currency: str
    payer_partner_id: str
    payee_partner_id: str
    amount_minor: int
    paid_minor: int
    outstanding_minor: int
    state: PaymentState
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    def __init__(self, instruction_id: _Optional[str] = ..., period_id: _Optional[str] = ..., currency: _Optional[str] = ..., payer_partner_id: _Optional[str] = ..., payee_partner_id: _Optional[str] = ..., amount_minor: _Optional[int] = ..., paid_minor: _Optional[int] = ..., outstanding_minor: _Optional[int] = ..., state: _Optional[_Union[PaymentState, str]] = ..., payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("payment_id", "amount_minor", "payment_reference", "recorded_by", "recorded_at")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    amount_minor: int
    payment_reference: str
    recorded_by: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, payment_id: _Optional[str] = ..., amount_minor: _Optional[int] = ..., payment_reference: _Optional[str] = ..., recorded_by: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Statement(_message.Message):
    __slots__ = ("statement_id", "partner_id", "period_id", "sequence", "document", "document_sha256", "previous_statement_sha256", "signature", "hub_key_id", "payment_instructions")
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATEMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    partner_id: str
    period_id: str
    sequence: int
    document: bytes
    document_sha256: str
    previous_statement_sha256: str
    signature: bytes
    hub_key_id: str
    payment_instructions: _containers.RepeatedCompositeFieldContainer[PaymentInstruction]
    def __init__(self, statement_id: _Optional[str] = ..., partner_id: _Optional[str] = ..., period_id: _Optional[str] = ..., sequence: _Optional[int] = ..., document: _Optional[bytes] = ..., document_sha256: _Optional[str] = ..., previous_statement_sha256: _Optional[str] = ..., signature: _Optional[bytes] = ..., hub_key_id: _Optional[str] = ..., payment_instructions: _Optional[_Iterable[_Union[PaymentInstruction, _Mapping]]] = ...) -> None: ...

class ClosePeriodRequest(_message.Message):
    __slots__ = ("period_id", "cutoff")
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    CUTOFF_FIELD_NUMBER: _ClassVar[int]
    period_id: str
    cutoff: _timestamp_pb2.Timestamp
    def __init__(self, period_id: _Optional[str] = ..., cutoff: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClosePeriodResponse(_message.Message):
    __slots__ = ("period", "next_period", "closed_now")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    NEXT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    CLOSED_NOW_FIELD_NUMBER: _ClassVar[int]
    period: Period
    next_period: Period
    closed_now: bool
    def __init__(self, period: _Optional[_Union[Period, _Mapping]] = ..., next_period: _Optional[_Union[Period, _Mapping]] = ..., closed_now: _Optional[bool] = ...) -> None: ...

class GetPeriodRequest(_message.Message):
    __slots__ = ("period_id",)
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    period_id: str
    def __init__(self, period_id: _Optional[str] = ...) -> None: ...

class GetPeriodResponse(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: Period
    def __init__(self, period: _Optional[_Union[Period, _Mapping]] = ...) -> None: ...

class ListPeriodsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPeriodsResponse(_message.Message):
    __slots__ = ("periods", "next_page_token")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[Period]
    next_page_token: str
    def __init__(self, periods: _Optional[_Iterable[_Union[Period, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListStatementsRequest(_message.Message):
    __slots__ = ("partner_id", "page_size", "page_token")
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    partner_id: str
    page_size: int
    page_token: str
    def __init__(self, partner_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStatementsResponse(_message.Message):
    __slots__ = ("statements", "next_page_token")
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statements: _containers.RepeatedCompositeFieldContainer[Statement]
    next_page_token: str
    def __init__(self, statements: _Optional[_Iterable[_Union[Statement, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetStatementRequest(_message.Message):
    __slots__ = ("statement_id",)
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    def __init__(self, statement_id: _Optional[str] = ...) -> None: ...

class GetStatementResponse(_message.Message):
    __slots__ = ("statement",)
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    statement: Statement
    def __init__(self, statement: _Optional[_Union[Statement, _Mapping]] = ...) -> None: ...

class ListStatementMovementsRequest(_message.Message):
    __slots__ = ("statement_id", "page_size", "page_token")
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    page_size: int
    page_token: str
    def __init__(self, statement_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStatementMovementsResponse(_message.Message):
    __slots__ = ("movements", "next_page_token")
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    movements: _containers.RepeatedCompositeFieldContainer[Movement]
    next_page_token: str
    def __init__(self, movements: _Optional[_Iterable[_Union[Movement, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPaymentInstructionsRequest(_message.Message):
    __slots__ = ("period_id", "outstanding_only", "page_size", "page_token")
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    period_id: str
    outstanding_only: bool
    page_size: int
    page_token: str
    def __init__(self, period_id: _Optional[str] = ..., outstanding_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentInstructionsResponse(_message.Message):
    __slots__ = ("instructions", "next_page_token")
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instructions: _containers.RepeatedCompositeFieldContainer[PaymentInstruction]
    next_page_token: str
    def __init__(self, instructions: _Optional[_Iterable[_Union[PaymentInstruction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecordPaymentRequest(_message.Message):
    __slots__ = ("instruction_id", "amount_minor", "payment_reference", "idempotency_key")
    INSTRUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    instruction_id: str
    amount_minor: int
    payment_reference: str
    idempotency_key: str
    def __init__(self, instruction_id: _Optional[str] = ..., amount_minor: _Optional[int] = ..., payment_reference: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RecordPaymentResponse(_message.Message):
    __slots__ = ("instruction",)
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    instruction: PaymentInstruction
    def __init__(self, instruction: _Optional[_Union[PaymentInstruction, _Mapping]] = ...) -> None: ...

class StartReconciliationRequest(_message.Message):
    __slots__ = ("period_id",)
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    period_id: str
    def __init__(self, period_id: _Optional[str] = ...) -> None: ...

class StartReconciliationResponse(_message.Message):
    __slots__ = ("reconciliation_id",)
    RECONCILIATION_ID_FIELD_NUMBER: _ClassVar[int]
    reconciliation_id: str
    def __init__(self, reconciliation_id: _Optional[str] = ...) -> None: ...

class AddReconciliationPartRequest(_message.Message):
    __slots__ = ("reconciliation_id", "part_number", "content")
    RECONCILIATION_ID_FIELD_NUMBER: _ClassVar[int]
    PART_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    reconciliation_id: str
    part_number: int
    content: bytes
    def __init__(self, reconciliation_id: _Optional[str] = ..., part_number: _Optional[int] = ..., content: _Optional[bytes] = ...) -> None: ...

class AddReconciliationPartResponse(_message.Message):
    __slots__ = ("lines_received",)
    LINES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    lines_received: int
    def __init__(self, lines_received: _Optional[int] = ...) -> None: ...

class FinishReconciliationRequest(_message.Message):
    __slots__ = ("reconciliation_id",)
    RECONCILIATION_ID_FIELD_NUMBER: _ClassVar[int]
    reconciliation_id: str
    def __init__(self, reconciliation_id: _Optional[str] = ...) -> None: ...

class ReconciliationReport(_message.Message):
    __slots__ = ("reconciliation_id", "period_id", "brand_lines", "hub_movements", "matched", "breaks", "missing_at_hub", "missing_at_brand", "amount_mismatch", "duplicate", "in_other_period")
    RECONCILIATION_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_LINES_FIELD_NUMBER: _ClassVar[int]
    HUB_MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    MISSING_AT_HUB_FIELD_NUMBER: _ClassVar[int]
    MISSING_AT_BRAND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    IN_OTHER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    reconciliation_id: str
    period_id: str
    brand_lines: int
    hub_movements: int
    matched: int
    breaks: int
    missing_at_hub: int
    missing_at_brand: int
    amount_mismatch: int
    duplicate: int
    in_other_period: int
    def __init__(self, reconciliation_id: _Optional[str] = ..., period_id: _Optional[str] = ..., brand_lines: _Optional[int] = ..., hub_movements: _Optional[int] = ..., matched: _Optional[int] = ..., breaks: _Optional[int] = ..., missing_at_hub: _Optional[int] = ..., missing_at_brand: _Optional[int] = ..., amount_mismatch: _Optional[int] = ..., duplicate: _Optional[int] = ..., in_other_period: _Optional[int] = ...) -> None: ...

class MovementValues(_message.Message):
    __slots__ = ("kind", "period_id", "source_points", "target_points", "currency", "amount_minor")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_POINTS_FIELD_NUMBER: _ClassVar[int]
    TARGET_POINTS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    kind: str
    period_id: str
    source_points: int
    target_points: int
    currency: str
    amount_minor: int
    def __init__(self, kind: _Optional[str] = ..., period_id: _Optional[str] = ..., source_points: _Optional[int] = ..., target_points: _Optional[int] = ..., currency: _Optional[str] = ..., amount_minor: _Optional[int] = ...) -> None: ...

class ReconciliationBreak(_message.Message):
    __slots__ = ("kind", "movement_id", "line_number", "hub", "brand")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    HUB_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    kind: BreakKind
    movement_id: str
    line_number: int
    hub: MovementValues
    brand: MovementValues
    def __init__(self, kind: _Optional[_Union[BreakKind, str]] = ..., movement_id: _Optional[str] = ..., line_number: _Optional[int] = ..., hub: _Optional[_Union[MovementValues, _Mapping]] = ..., brand: _Optional[_Union[MovementValues, _Mapping]] = ...) -> None: ...

class FinishReconciliationResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: ReconciliationReport
    def __init__(self, report: _Optional[_Union[ReconciliationReport, _Mapping]] = ...) -> None: ...

class ListReconciliationBreaksRequest(_message.Message):
    __slots__ = ("reconciliation_id", "page_size", "page_token")
    RECONCILIATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reconciliation_id: str
    page_size: int
    page_token: str
    def __init__(self, reconciliation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReconciliationBreaksResponse(_message.Message):
    __slots__ = ("report", "breaks", "next_page_token")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    BREAKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    report: ReconciliationReport
    breaks: _containers.RepeatedCompositeFieldContainer[ReconciliationBreak]
    next_page_token: str
    def __init__(self, report: _Optional[_Union[ReconciliationReport, _Mapping]] = ..., breaks: _Optional[_Iterable[_Union[ReconciliationBreak, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Dispute(_message.Message):
    __slots__ = ("dispute_id", "opened_by", "counterparty", "movement_id", "statement_id", "period_id", "currency", "claimed_amount_minor", "reason", "evidence", "state", "respond_by", "response_note", "awarded_amount_minor", "resolution_note", "adjustment_movement_id", "adjustment_period_id", "opened_at", "updated_at")
    DISPUTE_ID_FIELD_NUMBER: _ClassVar[int]
    OPENED_BY_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESPOND_BY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_NOTE_FIELD_NUMBER: _ClassVar[int]
    AWARDED_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_NOTE_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_PERIOD_ID_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    dispute_id: str
    opened_by: str
    counterparty: str
    movement_id: str
    statement_id: str
    period_id: str
    currency: str
    claimed_amount_minor: int
    reason: str
    evidence: str
    state: DisputeState
    respond_by: _timestamp_pb2.Timestamp
    response_note: str
    awarded_amount_minor: int
    resolution_note: str
    adjustment_movement_id: str
    adjustment_period_id: str
    opened_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, dispute_id: _Optional[str] = ..., opened_by: _Optional[str] = ..., counterparty: _Optional[str] = ..., movement_id: _Optional[str] = ..., statement_id: _Optional[str] = ..., period_id: _Optional[str] = ..., currency: _Optional[str] = ..., claimed_amount_minor: _Optional[int] = ..., reason: _Optional[str] = ..., evidence: _Optional[str] = ..., state: _Optional[_Union[DisputeState, str]] = ..., respond_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response_note: _Optional[str] = ..., awarded_amount_minor: _Optional[int] = ..., resolution_note: _Optional[str] = ..., adjustment_movement_id: _Optional[str] = ..., adjustment_period_id: _Optional[str] = ..., opened_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OpenDisputeRequest(_message.Message):
    __slots__ = ("movement_id", "statement_id", "counterparty", "currency", "claimed_amount_minor", "reason", "evidence", "idempotency_key")
    MOVEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    movement_id: str
    statement_id: str
    counterparty: str
    currency: str
    claimed_amount_minor: int
    reason: str
    evidence: str
    idempotency_key: str
    def __init__(self, movement_id: _Optional[str] = ..., statement_id: _Optional[str] = ..., counterparty: _Optional[str] = ..., currency: _Optional[str] = ..., claimed_amount_minor: _Optional[int] = ..., reason: _Optional[str] = ..., evidence: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class OpenDisputeResponse(_message.Message):
    __slots__ = ("dispute",)
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    dispute: Dispute
    def __init__(self, dispute: _Optional[_Union[Dispute, _Mapping]] = ...) -> None: ...

class RespondToDisputeRequest(_message.Message):
    __slots__ = ("dispute_id", "accept", "note")
    DISPUTE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    dispute_id: str
    accept: bool
    note: str
    def __init__(self, dispute_id: _Optional[str] = ..., accept: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class RespondToDisputeResponse(_message.Message):
    __slots__ = ("dispute",)
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    dispute: Dispute
    def __init__(self, dispute: _Optional[_Union[Dispute, _Mapping]] = ...) -> None: ...

class ResolveDisputeRequest(_message.Message):
    __slots__ = ("dispute_id", "awarded_amount_minor", "note")
    DISPUTE_ID_FIELD_NUMBER: _ClassVar[int]
    AWARDED_AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    dispute_id: str
    awarded_amount_minor: int
    note: str
    def __init__(self, dispute_id: _Optional[str] = ..., awarded_amount_minor: _Optional[int] = ..., note: _Optional[str] = ...) -> None: ...

class ResolveDisputeResponse(_message.Message):
    __slots__ = ("dispute",)
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    dispute: Dispute
    def __init__(self, dispute: _Optional[_Union[Dispute, _Mapping]] = ...) -> None: ...

class GetDisputeRequest(_message.Message):
    __slots__ = ("dispute_id",)
    DISPUTE_ID_FIELD_NUMBER: _ClassVar[int]
    dispute_id: str
    def __init__(self, dispute_id: _Optional[str] = ...) -> None: ...

class GetDisputeResponse(_message.Message):
    __slots__ = ("dispute",)
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    dispute: Dispute
    def __init__(self, dispute: _Optional[_Union[Dispute, _Mapping]] = ...) -> None: ...

class ListDisputesRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: DisputeState
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[DisputeState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDisputesResponse(_message.Message):
    __slots__ = ("disputes", "next_page_token")
    DISPUTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    disputes: _containers.RepeatedCompositeFieldContainer[Dispute]
    next_page_token: str
    def __init__(self, disputes: _Optional[_Iterable[_Union[Dispute, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
