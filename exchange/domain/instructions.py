"""Instructions: work the hub hands a partner (credit or refund a member) and its answer.

Every instruction has an origin: the conversion, reversal, hold, award or membership it is part of. The
origin's kind is a closed set, and what an answer means (a credit applied completes a
conversion, a credit refused voids an award...) is decided by the origin, in one table
(exchange.service.outcomes).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from exchange.domain.errors import FailedPrecondition, NotFound, require
from exchange.domain.membership_terms import Benefit
from exchange.domain.partners import REASON_MAX, parse_text

MAX_PULL = 200
DEFAULT_PULL = 50
MAX_WAIT_S = 20
DEFAULT_LEASE_S = 30
MIN_LEASE_S = 5
MAX_LEASE_S = 300
REFERENCE_MAX = 128


class InstructionKind(enum.Enum):
    """What the partner is asked to do."""

    CREDIT = "CREDIT"
    REFUND = "REFUND"
    RELEASE = "RELEASE"
    # Take back a credit the hub cancelled after delivering it (its deadline passed unacknowledged):
    # the target may have applied it. Names the credit in cancels_instruction_id.
    CREDIT_CANCELLED = "CREDIT_CANCELLED"
    # Honour a joint membership's benefits for the member (BenefitNotice says which, from when to when).
    BENEFIT_GRANT = "BENEFIT_GRANT"
    # Stop honouring them (BenefitNotice.honoured_until says from when).
    BENEFIT_REVOKE = "BENEFIT_REVOKE"
    # Recognise the member's matched tier (a status match; what the match says is read with it).
    TIER_MATCHED = "TIER_MATCHED"
    # The status match ended (reason says why).
    TIER_MATCH_ENDED = "TIER_MATCH_ENDED"


class OriginKind(enum.Enum):
    """What an instruction is part of."""

    CONVERSION = "CONVERSION"  # its credit, the refund when that failed, the take-back of a cancelled credit
    REVERSAL = "REVERSAL"  # the refund to the source's member when the target reverses part of a conversion
    HOLD = "HOLD"  # the release of what a hold did not capture
    AWARD = "AWARD"  # its credit, the take-back of a cancelled credit
    MEMBERSHIP = "MEMBERSHIP"  # a partner's grant of a joint membership's benefits, and their revocation
    MATCH = "MATCH"  # a status match recognised at the recogniser, and its end


# The kinds of instruction each origin gives: only conversions and awards credit a member, so only
# they have credits to refuse, to expire and to take back.
KINDS_OF_ORIGIN: Mapping[OriginKind, frozenset[InstructionKind]] = MappingProxyType(
    {
        OriginKind.CONVERSION: frozenset(
            {InstructionKind.CREDIT, InstructionKind.REFUND, InstructionKind.CREDIT_CANCELLED}
        ),
        OriginKind.REVERSAL: frozenset({InstructionKind.REFUND}),
        OriginKind.HOLD: frozenset({InstructionKind.RELEASE}),
        OriginKind.AWARD: frozenset({InstructionKind.CREDIT, InstructionKind.CREDIT_CANCELLED}),
        OriginKind.MEMBERSHIP: frozenset({InstructionKind.BENEFIT_GRANT, InstructionKind.BENEFIT_REVOKE}),
        OriginKind.MATCH: frozenset({InstructionKind.TIER_MATCHED, InstructionKind.TIER_MATCH_ENDED}),
    }
)


@dataclass(frozen=True, slots=True)
class Origin:
    """The conversion, reversal, hold or award an instruction is part of.

    A reversal also names the conversion it reverses: a partner sees both on the instruction.
    """

    kind: OriginKind
    id: str
    reversed_conversion_id: str = ""

    def __post_init__(self) -> None:
        require(isinstance(self.kind, OriginKind), f"an origin's kind is an OriginKind, not {self.kind!r}")
        require(bool(self.id), f"a {self.kind.value} origin has an id")
        require(
            (self.kind is OriginKind.REVERSAL) == bool(self.reversed_conversion_id),
            f"a reversal, and only a reversal, names the conversion it reverses ({self})",
        )

    @classmethod
    def conversion(cls, conversion_id: str) -> Origin:
        """A conversion's credit, refund or take-back."""
        return cls(OriginKind.CONVERSION, conversion_id)

    @classmethod
    def reversal(cls, reversal_id: str, *, of_conversion: str) -> Origin:
        """The refund of a partial reversal of a conversion."""
        return cls(OriginKind.REVERSAL, reversal_id, reversed_conversion_id=of_conversion)

    @classmethod
    def hold(cls, hold_id: str) -> Origin:
        """The release of a hold's uncaptured points."""
        return cls(OriginKind.HOLD, hold_id)

    @classmethod
    def award(cls, award_id: str) -> Origin:
        """An award's credit or take-back."""
        return cls(OriginKind.AWARD, award_id)

    @classmethod
    def membership(cls, membership_id: str) -> Origin:
        """A membership's grant of benefits to a partner, or their revocation."""
        return cls(OriginKind.MEMBERSHIP, membership_id)

    @classmethod
    def match(cls, match_id: str) -> Origin:
        """A status match told to its recogniser, or its end."""
        return cls(OriginKind.MATCH, match_id)

    def id_if(self, kind: OriginKind) -> str:
        """Return the origin's id if it is of that kind, else the empty string (the wire's optional ids)."""
        return self.id if self.kind is kind else ""

    @property
    def conversion_id(self) -> str:
        """The conversion this belongs to: itself, the one a reversal reverses, or none (empty)."""
        return self.id_if(OriginKind.CONVERSION) or self.reversed_conversion_id


BENEFIT_KINDS = frozenset({InstructionKind.BENEFIT_GRANT, InstructionKind.BENEFIT_REVOKE})
MATCH_KINDS = frozenset({InstructionKind.TIER_MATCHED, InstructionKind.TIER_MATCH_ENDED})
NO_POINTS_KINDS = BENEFIT_KINDS | MATCH_KINDS  # instructions that move no points


@dataclass(frozen=True, slots=True)
class BenefitNotice:
    """What a BENEFIT_GRANT or BENEFIT_REVOKE tells the partner (no points move).

    benefits are the partner's own under the programme, in the order members are shown them;
    a revocation names none. honoured_from_ms is the grant's start (None on a revocation);
    honoured_until_ms is when the benefits end.
    """

    programme_id: str
    benefits: tuple[Benefit, ...]
    honoured_from_ms: int | None
    honoured_until_ms: int


class InstructionState(enum.Enum):
    """Where an instruction stands."""

    PENDING = "PENDING"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class Instruction:
    """One piece of work for one partner."""

    instruction_id: str
    partner_id: str
    kind: InstructionKind
    state: InstructionState
    member_ref: str
    points: int
    point_currency: str
    origin: Origin
    created_at_ms: int
    deadline_ms: int | None = None
    delivery_count: int = 0
    leased_until_ms: int = 0
    partner_reference: str = ""
    reason: str = ""
    cancels_instruction_id: str = ""
    benefit: BenefitNotice | None = None  # BENEFIT_GRANT and BENEFIT_REVOKE only

    def __post_init__(self) -> None:
        require(
            self.kind in KINDS_OF_ORIGIN[self.origin.kind],
            f"a {self.origin.kind.value} origin gives no {self.kind.value} instruction ({self.instruction_id})",
        )
        require(
            (self.kind in BENEFIT_KINDS) == (self.benefit is not None),
            f"a benefit instruction, and only one, carries a notice ({self.instruction_id})",
        )
        require(
            (self.kind in NO_POINTS_KINDS) == (self.points == 0),
            f"a benefit or match instruction, and only one, moves no points ({self.instruction_id})",
        )

    @property
    def membership_id(self) -> str:
        """The membership whose benefits it grants or revokes; empty otherwise."""
        return self.origin.id_if(OriginKind.MEMBERSHIP)

    @property
    def match_id(self) -> str:
        """The status match it tells of; empty otherwise."""
        return self.origin.id_if(OriginKind.MATCH)

    @property
    def conversion_id(self) -> str:
        """The conversion it belongs to (a conversion's own, or a reversal's); empty otherwise."""
        return self.origin.conversion_id

    @property
    def reversal_id(self) -> str:
        """The reversal whose refund it is; empty otherwise."""
        return self.origin.id_if(OriginKind.REVERSAL)

    @property
    def hold_id(self) -> str:
        """The hold whose release it is; empty otherwise."""
        return self.origin.id_if(OriginKind.HOLD)

    @property
    def award_id(self) -> str:
        """The award whose credit (or take-back) it is; empty otherwise."""
        return self.origin.id_if(OriginKind.AWARD)


def require_own(instruction: Instruction | None, caller: str, instruction_id: str) -> Instruction:
    """Return the instruction if it was given to the caller; otherwise it does not exist for them."""
    if instruction is None or instruction.partner_id != caller:
        raise NotFound("INSTRUCTION_NOT_FOUND", f"no instruction {instruction_id!r}", field="instruction_id")
    return instruction


def is_late(instruction: Instruction, now_ms: int) -> bool:
    """Return whether a pending credit's deadline has passed (the hub expires it and refunds the source)."""
    late = instruction.deadline_ms is not None and now_ms >= instruction.deadline_ms
    return late and instruction.state is InstructionState.PENDING


def require_in_time(instruction: Instruction, now_ms: int) -> None:
    """Refuse an answer to a pending credit after its deadline, for good (a final refusal)."""
    if is_late(instruction, now_ms):
        raise FailedPrecondition(
            "CREDIT_DEADLINE_PASSED",
            f"instruction {instruction.instruction_id!r} was due before now; it is cancelled and refunded",
            final=True,
        )


def acknowledge(instruction: Instruction, *, reference: str) -> Instruction:
    """The partner applied it. Acknowledging again with the same reference is a no-op."""
    reference = parse_text(reference, field="partner_reference", max_length=REFERENCE_MAX)
    if instruction.state is InstructionState.ACKNOWLEDGED and instruction.partner_reference == reference:
        return instruction
    _require_pending(instruction)
    return replace(instruction, state=InstructionState.ACKNOWLEDGED, partner_reference=reference)


def reject(instruction: Instruction, *, reason: str) -> Instruction:
    """The partner refuses a credit (a refund can't be refused: the member's points are owed back)."""
    reason = parse_text(reason, field="reason", max_length=REASON_MAX)
    if instruction.kind is not InstructionKind.CREDIT:
        raise FailedPrecondition(
            "ONLY_CREDITS_REJECTABLE",
            "a refund or release gives the member's own points back, a cancelled credit takes back "
            "points that were never owed, and a benefit grant or revocation is the programme's terms: apply it",
        )
    _require_pending(instruction)
    return replace(instruction, state=InstructionState.REJECTED, reason=reason)


def cancel(instruction: Instruction, *, reason: str) -> Instruction:
    """The hub withdraws a pending credit (its deadline passed)."""
    _require_pending(instruction)
    return replace(instruction, state=InstructionState.CANCELLED, reason=reason)


def take_back(cancelled: Instruction, *, instruction_id: str, now_ms: int) -> Instruction | None:
    """The instruction that tells the target to take back a cancelled credit, if it was ever delivered.

    A credit the target pulled may have been applied in its ledger even though no
    acknowledgement reached the hub (the hub or the network was down, or the target's process
    died in between). The hub can't know, so it says so: the target reverses the credit if it
    applied it, and acknowledges either way. A credit never delivered was never applied.
    """
    if cancelled.kind is not InstructionKind.CREDIT or cancelled.delivery_count == 0:
        return None
    return Instruction(
        instruction_id=instruction_id,
        partner_id=cancelled.partner_id,
        kind=InstructionKind.CREDIT_CANCELLED,
        state=InstructionState.PENDING,
        member_ref=cancelled.member_ref,
        points=cancelled.points,
        point_currency=cancelled.point_currency,
        origin=cancelled.origin,
        created_at_ms=now_ms,
        reason=cancelled.reason,
        cancels_instruction_id=cancelled.instruction_id,
    )


def _require_pending(instruction: Instruction) -> None:
    if instruction.state is not InstructionState.PENDING:
        detail = f" ({instruction.reason})" if instruction.reason else ""
        raise FailedPrecondition(
            f"INSTRUCTION_{instruction.state.value}",
            f"instruction {instruction.instruction_id!r} is {instruction.state.value}{detail}",
        )
