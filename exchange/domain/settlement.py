"""Settlement rules: movements, periods, and the per-brand statement built from period totals.

A movement is one completed money event between two brands: a conversion whose credit was
acknowledged, a capture, a partial reversal (negative amounts: money flows back), or a
dispute's adjustment. Its source owes its target ``amount_minor``. Every movement belongs to
exactly one period; closing a period turns the period's totals per (source, target, currency)
into one statement per brand and the payment instructions that settle the period with as few
payments as possible. Statements only ever see totals, never the movements themselves, so
building them costs the same for ten movements or ten million.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exchange.domain.conversions import Conversion, Reversal
from exchange.domain.errors import InvalidArgument, InvariantViolation, require
from exchange.domain.netting import Payment, settle
from exchange.domain.redemptions import Capture, Hold

GENESIS_SHA256 = "0" * 64
STATEMENT_FORMAT = "coalition-statement/1"


class MovementKind(enum.Enum):
    """What a movement is."""

    CONVERSION = "CONVERSION"
    CAPTURE = "CAPTURE"
    REVERSAL = "REVERSAL"
    ADJUSTMENT = "ADJUSTMENT"
    ACCRUAL = "ACCRUAL"
    DONATION = "DONATION"
    MEMBERSHIP_FEE_SHARE = "MEMBERSHIP_FEE_SHARE"  # the seller owes a partner its share of a fee; money only
    MEMBERSHIP_FEE_REFUND = "MEMBERSHIP_FEE_REFUND"  # a partner gives back its share of a refund; negative
    VOUCHER_REDEMPTION = "VOUCHER_REDEMPTION"  # the funder owes the honouring partner a redeemed voucher's value


class PeriodState(enum.Enum):
    """Whether a period still takes movements."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"


@dataclass(frozen=True, slots=True)
class Movement:
    """One completed movement: source owes target amount_minor (negative: the target owes it back)."""

    movement_id: str
    kind: MovementKind
    source_partner_id: str
    target_partner_id: str
    source_points: int
    target_points: int
    currency: str
    amount_minor: int
    final_at_ms: int

    def __post_init__(self) -> None:
        require(self.source_partner_id != self.target_partner_id, "a movement is between two brands")
        require(
            all(isinstance(v, int) for v in (self.source_points, self.target_points, self.amount_minor)),
            "movement amounts are ints",
        )


@dataclass(frozen=True, slots=True)
class Period:
    """A settlement period: [opened_at_ms, cutoff_ms) once closed."""

    period_id: str
    number: int
    state: PeriodState
    opened_at_ms: int
    cutoff_ms: int | None
    closed_at_ms: int | None
    closed_by: str
    movement_count: int
    statement_count: int


@dataclass(frozen=True, slots=True)
class PairTotals:
    """A period's movements from one source to one target in one currency, summed."""

    source_partner_id: str
    target_partner_id: str
    currency: str
    movements: int
    source_points: int
    target_points: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class StatementParty:
    """What a statement says about its brand besides the totals."""

    partner_id: str
    display_name: str
    point_currency: str
    sequence: int
    previous_statement_sha256: str


@dataclass(frozen=True, slots=True)
class NettedInstruction:
    """A payment instruction minted at close."""

    instruction_id: str
    currency: str
    payer: str
    payee: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class OutstandingInstruction:
    """An earlier period's instruction not yet paid in full at this close."""

    instruction_id: str
    period_id: str
    currency: str
    payer: str
    payee: str
    outstanding_minor: int


def period_id_of(number: int) -> str:
    """Name period ``number``: 'per-000003'."""
    return f"per-{number:06d}"


def statement_id_of(period_number: int, partner_id: str) -> str:
    """Name a brand's statement for a period: 'stm-000003-sportsbrand'."""
    return f"stm-{period_number:06d}-{partner_id}"


def instruction_id_of(period_number: int, index: int) -> str:
    """Name the index-th (1-based) payment instruction of a period: 'pay-000003-0002' (ids sort in order)."""
    return f"pay-{period_number:06d}-{index:04d}"


def require_cutoff(period: Period, cutoff_ms: int, now_ms: int) -> None:
    """A period closes at a cut-off that is neither in the future nor before it opened."""
    if cutoff_ms > now_ms:
        raise InvalidArgument("CUTOFF_IN_FUTURE", "the cut-off must not be in the future", field="cutoff")
    if cutoff_ms < period.opened_at_ms:
        raise InvalidArgument(
            "CUTOFF_BEFORE_PERIOD",
            f"the cut-off is before {period.period_id} opened (at {period.opened_at_ms} ms)",
            field="cutoff",
        )


def net_positions(totals: Iterable[PairTotals]) -> dict[str, dict[str, int]]:
    """Return currency -> partner -> multilateral net (+ is owed to it) over a period's totals."""
    positions: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pair in totals:
        positions[pair.currency][pair.target_partner_id] += pair.amount_minor
        positions[pair.currency][pair.source_partner_id] -= pair.amount_minor
    return {currency: dict(by_partner) for currency, by_partner in positions.items()}


def payment_instructions(period_number: int, positions: Mapping[str, Mapping[str, int]]) -> list[NettedInstruction]:
    """Net each currency's positions into the fewest payments; number them in a stable order."""
    netted: list[tuple[str, Payment]] = [
        (currency, payment) for currency in sorted(positions) for payment in settle(positions[currency])
    ]
    return [
        NettedInstruction(instruction_id_of(period_number, i), currency, p.payer, p.payee, p.amount_minor)
        for i, (currency, p) in enumerate(netted, start=1)
    ]


def statement_document(
    *,
    party: StatementParty,
    period: Period,
    hub_key_id: str,
    totals: Sequence[PairTotals],
    positions: Mapping[str, Mapping[str, int]],
    instructions: Sequence[NettedInstruction],
    outstanding: Sequence[OutstandingInstruction],
) -> dict[str, Any]:
    """Return the JSON value of one brand's statement (docs/settlement.md describes each field)."""
    require(period.cutoff_ms is not None and period.closed_at_ms is not None, "a statement is of a closed period")
    me = party.partner_id
    lines: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    controls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pair in totals:
        if me not in (pair.source_partner_id, pair.target_partner_id):
            continue
        as_source = pair.source_partner_id == me
        other = pair.target_partner_id if as_source else pair.source_partner_id
        line = lines[(other, pair.currency)]
        if as_source:
            line["movements_as_source"] += pair.movements
            line["points_retired_for_counterparty"] += pair.source_points
            line["money_payable_minor"] += pair.amount_minor
        else:
            line["movements_as_target"] += pair.movements
            line["points_issued_for_counterparty"] += pair.target_points
            line["money_receivable_minor"] += pair.amount_minor
        control = controls[pair.currency]
        control["movements"] += pair.movements
        control["source_points"] += pair.source_points
        control["target_points"] += pair.target_points
        control["amount_minor"] += pair.amount_minor
    counterparties = []
    for (other, currency), line in sorted(lines.items()):
        receivable, payable = line["money_receivable_minor"], line["money_payable_minor"]
        counterparties.append(
            {
                "counterparty": other,
                "currency": currency,
                "movements_as_source": line["movements_as_source"],
                "movements_as_target": line["movements_as_target"],
                "points_retired_for_counterparty": line["points_retired_for_counterparty"],
                "points_issued_for_counterparty": line["points_issued_for_counterparty"],
                "money_payable_minor": payable,
                "money_receivable_minor": receivable,
                "bilateral_net_minor": receivable - payable,
            }
        )
    my_nets: dict[str, int] = defaultdict(int)
    for (_, currency), line in lines.items():
        my_nets[currency] += line["money_receivable_minor"] - line["money_payable_minor"]
    coalition_check = []
    for currency in sorted(positions):
        total = sum(positions[currency].values())
        if total != 0:
            raise InvariantViolation(f"net positions in {currency} sum to {total}, not zero")
        coalition_check.append(
            {"currency": currency, "partners": len(positions[currency]), "sum_of_net_positions_minor": total}
        )
    return {
        "format": STATEMENT_FORMAT,
        "statement_id": statement_id_of(period.number, me),
        "partner_id": me,
        "display_name": party.display_name,
        "point_currency": party.point_currency,
        "sequence": party.sequence,
        "previous_statement_sha256": party.previous_statement_sha256,
        "hub_key_id": hub_key_id,
        "period": {
            "period_id": period.period_id,
            "number": period.number,
            "opened_at_ms": period.opened_at_ms,
            "cutoff_ms": period.cutoff_ms,
            "closed_at_ms": period.closed_at_ms,
        },
        "counterparties": counterparties,
        "net_positions": [{"currency": c, "net_minor": net} for c, net in sorted(my_nets.items())],
        "coalition_check": coalition_check,
        "payment_instructions": [
            {
                "instruction_id": i.instruction_id,
                "currency": i.currency,
                "payer": i.payer,
                "payee": i.payee,
                "amount_minor": i.amount_minor,
            }
            for i in instructions
            if me in (i.payer, i.payee)
        ],
        "outstanding_from_earlier_periods": [
            {
                "instruction_id": o.instruction_id,
                "period_id": o.period_id,
                "currency": o.currency,
                "payer": o.payer,
                "payee": o.payee,
                "outstanding_minor": o.outstanding_minor,
            }
            for o in outstanding
            if me in (o.payer, o.payee)
        ],
        "control_totals": [{"currency": c, **dict(sorted(v.items()))} for c, v in sorted(controls.items())],
        "movement_count": sum(v["movements"] for v in controls.values()),
    }


def conversion_movement(conversion: Conversion, at_ms: int) -> Movement:
    """A conversion is final, and settles, when the target brand acknowledges the credit."""
    amounts = conversion.amounts
    return Movement(
        movement_id=conversion.conversion_id,
        kind=MovementKind.CONVERSION,
        source_partner_id=conversion.source_partner_id,
        target_partner_id=conversion.target_partner_id,
        source_points=amounts.source_points_converted,
        target_points=amounts.target_points,
        currency=amounts.settlement_currency,
        amount_minor=amounts.settlement_amount_minor,
        final_at_ms=at_ms,
    )


def reversal_movement(conversion: Conversion, reversal: Reversal) -> Movement:
    """A reversal gives back part of a conversion: its amounts are negative."""
    return Movement(
        movement_id=reversal.reversal_id,
        kind=MovementKind.REVERSAL,
        source_partner_id=conversion.source_partner_id,
        target_partner_id=conversion.target_partner_id,
        source_points=-reversal.amounts.source_points,
        target_points=-reversal.amounts.target_points,
        currency=conversion.amounts.settlement_currency,
        amount_minor=-reversal.amounts.settlement_amount_minor,
        final_at_ms=reversal.at_ms,
    )


def capture_movement(hold: Hold, capture: Capture) -> Movement:
    """A capture retires source points for goods at the target; no target points are issued."""
    return Movement(
        movement_id=capture.capture_id,
        kind=MovementKind.CAPTURE,
        source_partner_id=hold.source_partner_id,
        target_partner_id=hold.target_partner_id,
        source_points=capture.source_points,
        target_points=0,
        currency=hold.settlement_currency,
        amount_minor=capture.settlement_amount_minor,
        final_at_ms=capture.at_ms,
    )
