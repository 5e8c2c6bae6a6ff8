"""Every instruction names its origin, and each origin kind's outcomes go through one table."""

from __future__ import annotations

from types import MappingProxyType
from typing import cast

import pytest

from exchange.domain.errors import InvariantViolation
from exchange.domain.instructions import (
    BENEFIT_KINDS,
    KINDS_OF_ORIGIN,
    NO_POINTS_KINDS,
    BenefitNotice,
    Instruction,
    InstructionKind,
    InstructionState,
    Origin,
    OriginKind,
    cancel,
    take_back,
)
from exchange.domain.membership_terms import FreeDelivery
from exchange.service.outcomes import OUTCOMES, OriginOutcomes, outcomes_of

ORIGINS = {
    OriginKind.CONVERSION: Origin.conversion("cnv-1"),
    OriginKind.REVERSAL: Origin.reversal("rev-1", of_conversion="cnv-1"),
    OriginKind.HOLD: Origin.hold("hold-1"),
    OriginKind.AWARD: Origin.award("awd-1"),
    OriginKind.MEMBERSHIP: Origin.membership("mbs-1"),
    OriginKind.MATCH: Origin.match("smt-1"),
}


def _instruction(kind: InstructionKind, origin: Origin, *, delivered: int = 0) -> Instruction:
    benefit = kind in BENEFIT_KINDS
    return Instruction(
        instruction_id="ins-1",
        partner_id="voltline",
        kind=kind,
        state=InstructionState.PENDING,
        member_ref="v-1",
        points=0 if kind in NO_POINTS_KINDS else 150,
        benefit=BenefitNotice("plus", (FreeDelivery(),), 0, 10) if benefit else None,
        point_currency="VOLT",
        origin=origin,
        created_at_ms=0,
        deadline_ms=10 if kind is InstructionKind.CREDIT else None,
        delivery_count=delivered,
    )


# --- the routing table ----------------------------------------------------------------------------------


def test_every_origin_kind_has_exactly_one_outcome_handler() -> None:
    assert sorted(OUTCOMES, key=lambda k: k.value) == sorted(OriginKind, key=lambda k: k.value)
    assert all(isinstance(handler, OriginOutcomes) for handler in OUTCOMES.values())
    assert all(outcomes_of(kind) is OUTCOMES[kind] for kind in OriginKind)


def test_the_routing_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        OUTCOMES[OriginKind.HOLD] = OUTCOMES[OriginKind.AWARD]  # type: ignore[index]


@pytest.mark.parametrize("kind", list(OriginKind), ids=lambda k: k.value)
def test_an_origin_that_gives_credits_handles_their_refusal_and_deadline_and_no_other_does(kind: OriginKind) -> None:
    gives_credits = InstructionKind.CREDIT in KINDS_OF_ORIGIN[kind]
    handler = OUTCOMES[kind]
    assert (handler.refused is not None, handler.overdue is not None) == (gives_credits, gives_credits)


def test_an_origin_kind_missing_from_the_table_is_refused_loudly() -> None:
    without_awards = MappingProxyType({k: v for k, v in OUTCOMES.items() if k is not OriginKind.AWARD})
    with pytest.raises(InvariantViolation, match="AWARD"):
        outcomes_of(OriginKind.AWARD, without_awards)


def test_an_unknown_origin_kind_is_refused_loudly() -> None:
    with pytest.raises(InvariantViolation, match="LOTTERY"):
        outcomes_of(cast(OriginKind, "LOTTERY"))


def test_an_instruction_of_an_unknown_origin_kind_cannot_be_made() -> None:
    with pytest.raises(InvariantViolation, match="OriginKind"):
        Origin(cast(OriginKind, "LOTTERY"), "lot-1")


# --- the origin of an instruction -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(OriginKind), ids=lambda k: k.value)
def test_an_origin_gives_only_its_kinds_of_instruction(kind: OriginKind) -> None:
    for instruction_kind in InstructionKind:
        if instruction_kind in KINDS_OF_ORIGIN[kind]:
            assert _instruction(instruction_kind, ORIGINS[kind]).origin == ORIGINS[kind]
        else:
            with pytest.raises(InvariantViolation, match=f"{kind.value} origin gives no {instruction_kind.value}"):
                _instruction(instruction_kind, ORIGINS[kind])


def test_an_origin_has_an_id() -> None:
    with pytest.raises(InvariantViolation, match="has an id"):
        Origin.hold("")


def test_a_reversal_and_only_a_reversal_names_the_conversion_it_reverses() -> None:
    with pytest.raises(InvariantViolation, match="only a reversal"):
        Origin.reversal("rev-1", of_conversion="")
    with pytest.raises(InvariantViolation, match="only a reversal"):
        Origin(OriginKind.AWARD, "awd-1", reversed_conversion_id="cnv-1")


@pytest.mark.parametrize(
    ("kind", "ids"),
    [
        (OriginKind.CONVERSION, ("cnv-1", "", "", "")),
        (OriginKind.REVERSAL, ("cnv-1", "rev-1", "", "")),
        (OriginKind.HOLD, ("", "", "hold-1", "")),
        (OriginKind.AWARD, ("", "", "", "awd-1")),
    ],
    ids=["conversion", "reversal", "hold", "award"],
)
def test_the_ids_a_partner_sees_follow_from_the_origin(kind: OriginKind, ids: tuple[str, str, str, str]) -> None:
    instruction_kind = next(iter(sorted(KINDS_OF_ORIGIN[kind], key=lambda k: k.value)))
    made = _instruction(instruction_kind, ORIGINS[kind])
    assert (made.conversion_id, made.reversal_id, made.hold_id, made.award_id) == ids


@pytest.mark.parametrize("kind", [OriginKind.CONVERSION, OriginKind.AWARD], ids=lambda k: k.value)
def test_a_take_back_belongs_to_the_origin_of_the_credit_it_takes_back(kind: OriginKind) -> None:
    credit = _instruction(InstructionKind.CREDIT, ORIGINS[kind], delivered=1)
    back = take_back(cancel(credit, reason="late"), instruction_id="ins-2", now_ms=11)
    assert back is not None
    assert (back.kind, back.origin, back.cancels_instruction_id) == (
        InstructionKind.CREDIT_CANCELLED,
        credit.origin,
        "ins-1",
    )
