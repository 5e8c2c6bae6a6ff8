"""The database keeps an instruction's ids to its origin; every origin reads back as written (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy

from exchange.domain.instructions import Instruction, InstructionKind, InstructionState, Origin
from exchange.service.instructions import withdraw_credit
from exchange.store.database import Database
from exchange.store.instructions_repo import InstructionRepository
from exchange.store.tables import instructions

ORIGINS = [
    (Origin.conversion("cnv-1"), InstructionKind.CREDIT),
    (Origin.reversal("rev-1", of_conversion="cnv-1"), InstructionKind.REFUND),
    (Origin.hold("hold-1"), InstructionKind.RELEASE),
    (Origin.award("awd-1"), InstructionKind.CREDIT),
]


def _instruction(origin: Origin, kind: InstructionKind, instruction_id: str = "ins-1") -> Instruction:
    return Instruction(
        instruction_id=instruction_id,
        partner_id="voltline",
        kind=kind,
        state=InstructionState.PENDING,
        member_ref="v-1",
        points=150,
        point_currency="VOLT",
        origin=origin,
        created_at_ms=1,
        deadline_ms=10 if kind is InstructionKind.CREDIT else None,
    )


def _row(
    origin_kind: str, conversion_id: str = "", reversal_id: str = "", hold_id: str = "", award_id: str = ""
) -> dict[str, str | int]:
    return {
        "instruction_id": "ins-raw",
        "partner_id": "voltline",
        "kind": "REFUND",
        "state": "PENDING",
        "member_ref": "v-1",
        "points": 150,
        "point_currency": "VOLT",
        "origin_kind": origin_kind,
        "conversion_id": conversion_id,
        "reversal_id": reversal_id,
        "hold_id": hold_id,
        "award_id": award_id,
        "created_at_ms": 1,
    }


@pytest.mark.parametrize(("origin", "kind"), ORIGINS, ids=[o.kind.value for o, _ in ORIGINS])
def test_an_instruction_of_each_origin_reads_back_as_written(
    database: Database, origin: Origin, kind: InstructionKind
) -> None:
    written = _instruction(origin, kind)
    with database.engine.begin() as connection:
        InstructionRepository(connection).add(written)
    with database.engine.connect() as connection:
        assert InstructionRepository(connection).get("ins-1") == written


RAW_REFUSED = {
    "a conversion that names a hold too": _row("CONVERSION", conversion_id="cnv-1", hold_id="hold-1"),
    "a conversion with no id": _row("CONVERSION"),
    "a reversal that names no conversion": _row("REVERSAL", reversal_id="rev-1"),
    "a reversal with no id": _row("REVERSAL", conversion_id="cnv-1"),
    "a hold that names a conversion": _row("HOLD", conversion_id="cnv-1", hold_id="hold-1"),
    "an award that names a reversal": _row("AWARD", reversal_id="rev-1", award_id="awd-1"),
    "an award with its id in the hold's column": _row("AWARD", hold_id="awd-1"),
    "an origin kind that does not exist": _row("LOTTERY", conversion_id="cnv-1"),
}


@pytest.mark.parametrize("row", list(RAW_REFUSED.values()), ids=list(RAW_REFUSED))
def test_the_database_refuses_an_instruction_whose_ids_disagree_with_its_origin(
    database: Database, row: dict[str, str | int]
) -> None:
    with database.engine.begin() as connection, pytest.raises(sqlalchemy.exc.IntegrityError):
        connection.execute(sqlalchemy.insert(instructions).values(**row))


def test_withdrawing_a_credit_finds_it_by_its_origin_and_leaves_other_origins_alone(database: Database) -> None:
    conversion_credit = _instruction(Origin.conversion("same-id"), InstructionKind.CREDIT, "ins-conversion")
    award_credit = _instruction(Origin.award("same-id"), InstructionKind.CREDIT, "ins-award")
    with database.engine.begin() as connection:
        InstructionRepository(connection).add(conversion_credit)
        InstructionRepository(connection).add(award_credit)
        withdraw_credit(
            InstructionRepository(connection), Origin.award("same-id"), reason="credit deadline passed", now_ms=11
        )
    with database.engine.connect() as connection:
        repository = InstructionRepository(connection)
        states = {i: found.state for i in ("ins-conversion", "ins-award") if (found := repository.get(i))}
    assert states == {"ins-conversion": InstructionState.PENDING, "ins-award": InstructionState.CANCELLED}
