"""What the settlement calls return besides statements and movements (those are partner_sdk.settlement's).

Periods, disputes and reconciliation reports: small frozen dataclasses whose states and kinds
are Literals of plain names, checked when an answer is converted (UNKNOWN: a value from a hub
newer than this SDK).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from partner_sdk.settlement import MovementKind

__all__ = [
    "BreakKind",
    "Dispute",
    "DisputeState",
    "MovementValues",
    "Period",
    "PeriodState",
    "ReconciliationBreak",
    "ReconciliationReport",
]

PeriodState: TypeAlias = Literal["OPEN", "CLOSED", "UNKNOWN"]
DisputeState: TypeAlias = Literal["OPEN", "ACCEPTED", "CONTESTED", "RESOLVED", "UNKNOWN"]
BreakKind: TypeAlias = Literal[
    "MISSING_AT_HUB", "MISSING_AT_BRAND", "AMOUNT_MISMATCH", "DUPLICATE", "IN_OTHER_PERIOD", "UNKNOWN"
]


@dataclass(frozen=True, slots=True)
class Period:
    """A settlement period. state is OPEN or CLOSED; cutoff and closed_at are None while open."""

    period_id: str
    number: int
    state: PeriodState
    opened_at: datetime
    cutoff: datetime | None
    closed_at: datetime | None
    movement_count: int
    statement_count: int


@dataclass(frozen=True, slots=True)
class Dispute:
    """A dispute; state is OPEN, ACCEPTED, CONTESTED or RESOLVED."""

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
    respond_by: datetime
    response_note: str
    awarded_amount_minor: int
    resolution_note: str
    adjustment_movement_id: str
    adjustment_period_id: str
    opened_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """The summary of a reconciliation: what matched and how many breaks of each kind."""

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


@dataclass(frozen=True, slots=True)
class MovementValues:
    """One side's values of a movement in a break."""

    kind: MovementKind
    period_id: str
    source_points: int
    target_points: int
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class ReconciliationBreak:
    """One difference: kind is MISSING_AT_HUB, MISSING_AT_BRAND, AMOUNT_MISMATCH, DUPLICATE or IN_OTHER_PERIOD."""

    kind: BreakKind
    movement_id: str
    line_number: int
    hub: MovementValues | None
    brand: MovementValues | None
