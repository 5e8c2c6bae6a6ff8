"""A partner's answer to an instruction, routed to what the instruction is part of (its origin).

    exchange.api --acknowledge / reject--> outcomes --OUTCOMES[origin kind]--> conversions, accruals, memberships
                                               |
                                           the instruction's own state (exchange.domain.instructions)

OUTCOMES holds one entry per origin kind: what an applied instruction, a refused credit and an
answer past a credit's deadline mean for that origin. This module imports the origins' services;
they import nothing of it (they withdraw a credit through exchange.service.instructions), so
no import goes round in a circle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exchange.domain import instructions as rules
from exchange.domain.conversions import Conversion, ConversionState, move
from exchange.domain.errors import InvariantViolation, require
from exchange.domain.instructions import Instruction, InstructionKind, OriginKind
from exchange.domain.settlement import conversion_movement
from exchange.service import accruals, conversions, memberships, settlement
from exchange.service.authentication import Caller
from exchange.service.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Answer:
    """A partner's answer to one instruction: who, when, and its reference (applied) or reason (refused)."""

    actor: str
    note: str
    now_ms: int


Handler = Callable[[UnitOfWork, Instruction, Answer], None]
Expiry = Callable[[UnitOfWork, str, int], bool]


@dataclass(frozen=True, slots=True)
class OriginOutcomes:
    """What an origin does when a partner answers one of its instructions.

    refused and overdue are None for an origin that gives no credit: only a credit can be
    refused (exchange.domain.instructions.reject) and only a credit has a deadline.
    """

    applied: Handler
    refused: Handler | None = None
    overdue: Expiry | None = None


def acknowledge(work: UnitOfWork, caller: Caller, instruction_id: str, reference: str, now_ms: int) -> Instruction:
    """The partner applied an instruction; its origin takes the outcome (a credit completes a conversion...)."""
    repository = work.instructions
    instruction = rules.require_own(repository.get(instruction_id), caller.principal, instruction_id)
    _expire_if_late(work, instruction, now_ms)
    acknowledged = rules.acknowledge(instruction, reference=reference)
    if acknowledged == instruction:
        return instruction
    repository.save(acknowledged)
    answer = Answer(caller.principal, acknowledged.partner_reference, now_ms)  # the reference as kept: stripped
    outcomes_of(instruction.origin.kind).applied(work, acknowledged, answer)
    return acknowledged


def reject(work: UnitOfWork, caller: Caller, instruction_id: str, reason: str, now_ms: int) -> Instruction:
    """The partner refuses a credit; its origin takes the outcome (a conversion is refunded, an award voided)."""
    repository = work.instructions
    instruction = rules.require_own(repository.get(instruction_id), caller.principal, instruction_id)
    _expire_if_late(work, instruction, now_ms)
    rejected = rules.reject(instruction, reason=reason)
    repository.save(rejected)
    refused = outcomes_of(instruction.origin.kind).refused
    require(refused is not None, f"a {instruction.origin.kind.value} origin takes the refusal of its credit")
    assert refused is not None
    refused(work, rejected, Answer(caller.principal, rejected.reason, now_ms))
    return rejected


def _expire_if_late(work: UnitOfWork, instruction: Instruction, now_ms: int) -> None:
    """Past its deadline, expire the credit here, as the sweep would, and refuse the answer for good.

    The expiry commits with the refusal (a final refusal; see exchange.domain.errors), so this
    call conflicts with an earlier, in-time answer to the same credit that is still committing:
    one of the two wins, and the other, retried, agrees with it. A refusal that wrote nothing
    would be decided on a snapshot that can't see the in-time answer and never be retried.
    """
    if not rules.is_late(instruction, now_ms):
        return
    overdue = outcomes_of(instruction.origin.kind).overdue
    require(overdue is not None, f"a {instruction.origin.kind.value} origin expires its overdue credit")
    assert overdue is not None
    overdue(work, instruction.origin.id, now_ms)
    rules.require_in_time(instruction, now_ms)


def outcomes_of(kind: OriginKind, table: Mapping[OriginKind, OriginOutcomes] | None = None) -> OriginOutcomes:
    """Return what an origin kind does with its instructions' answers; a kind with no entry stops loudly."""
    found = (OUTCOMES if table is None else table).get(kind)
    if found is None:
        raise InvariantViolation(f"no outcome handler for instructions of origin kind {kind!r}")
    return found


def _conversion(work: UnitOfWork, instruction: Instruction) -> Conversion:
    found = work.conversions.get(instruction.origin.id)
    require(found is not None, f"instruction {instruction.instruction_id!r}'s conversion exists")
    assert found is not None
    return found


def _conversion_applied(work: UnitOfWork, instruction: Instruction, answer: Answer) -> None:
    """A credit applied completes the conversion, the refund of a failed one closes it; a take-back changes nothing."""
    if instruction.kind is InstructionKind.CREDIT_CANCELLED:
        return
    conversion = _conversion(work, instruction)
    to_state = ConversionState.COMPLETED if instruction.kind is InstructionKind.CREDIT else ConversionState.REFUNDED
    done = move(conversion, to_state, actor=answer.actor, at_ms=answer.now_ms, note=answer.note)
    work.conversions.save_state(conversion, done)
    if to_state is ConversionState.COMPLETED:
        settlement.record_movement(work.movements, conversion_movement(done, answer.now_ms))


def _conversion_refused(work: UnitOfWork, instruction: Instruction, answer: Answer) -> None:
    """The target refused the credit: the conversion is REJECTED and the source refunds its member."""
    conversion = _conversion(work, instruction)
    conversions.fail_credit(
        work, conversion, ConversionState.REJECTED, actor=answer.actor, note=answer.note, now_ms=answer.now_ms
    )


def _award_applied(work: UnitOfWork, instruction: Instruction, answer: Answer) -> None:
    """The issuer credited its member: the award settles. A take-back changes nothing."""
    if instruction.kind is InstructionKind.CREDIT:
        accruals.complete(work, instruction.origin.id, answer.now_ms)


def _award_refused(work: UnitOfWork, instruction: Instruction, answer: Answer) -> None:
    accruals.void(work, instruction.origin.id, f"the issuer rejected the credit: {answer.note}")


def _benefit_applied(work: UnitOfWork, instruction: Instruction, answer: Answer) -> None:
    """The partner honours the benefits it was granted (a revocation acknowledged changes nothing more)."""
    memberships.grant_acknowledged(work, instruction)


def _nothing_more(work: UnitOfWork, instruction: Instruction, answer: Answer) -> None:
    """A reversal's refund, a hold's release, a status match told: the origin recorded everything when it made it."""


OUTCOMES: Mapping[OriginKind, OriginOutcomes] = MappingProxyType(
    {
        OriginKind.CONVERSION: OriginOutcomes(
            applied=_conversion_applied, refused=_conversion_refused, overdue=conversions.expire_overdue
        ),
        OriginKind.REVERSAL: OriginOutcomes(applied=_nothing_more),
        OriginKind.HOLD: OriginOutcomes(applied=_nothing_more),
        OriginKind.AWARD: OriginOutcomes(
            applied=_award_applied, refused=_award_refused, overdue=accruals.expire_overdue
        ),
        OriginKind.MEMBERSHIP: OriginOutcomes(applied=_benefit_applied),
        OriginKind.MATCH: OriginOutcomes(applied=_nothing_more),
    }
)
require(set(OUTCOMES) == set(OriginKind), f"every origin kind has an outcome handler: {sorted(OUTCOMES, key=str)}")
