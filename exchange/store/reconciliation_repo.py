"""A brand's uploaded record of a period, and the set-based comparison with the hub's movements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, literal, null, or_, select, update

from exchange.store.tables import (
    movements,
    reconciliation_breaks,
    reconciliation_lines,
    reconciliation_parts,
    reconciliations,
)

BREAK_KINDS = ("MISSING_AT_HUB", "MISSING_AT_BRAND", "AMOUNT_MISMATCH", "DUPLICATE", "IN_OTHER_PERIOD")


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A reconciliation and, once finished, its summary counts."""

    reconciliation_id: str
    partner_id: str
    period_id: str
    state: str  # OPEN | FINISHED
    started_at_ms: int
    parts: int
    lines: int
    brand_lines: int = 0
    hub_movements: int = 0
    matched: int = 0
    missing_at_hub: int = 0
    missing_at_brand: int = 0
    amount_mismatch: int = 0
    duplicate: int = 0
    in_other_period: int = 0

    @property
    def breaks(self) -> int:
        """Every break, all kinds."""
        return (
            self.missing_at_hub + self.missing_at_brand + self.amount_mismatch + self.duplicate + self.in_other_period
        )


@dataclass(frozen=True, slots=True)
class Values:
    """One side's values of a movement."""

    kind: str
    period_id: str
    source_points: int
    target_points: int
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Break:
    """One difference between the brand's file and the hub."""

    kind: str
    movement_id: str
    line_number: int
    hub: Values | None
    brand: Values | None


@dataclass(frozen=True, slots=True)
class StoredLine:
    """One uploaded record, flattened (columns that do not apply are empty or zero)."""

    line_number: int
    record_type: str
    movement_id: str = ""
    kind: str = ""
    period_id: str = ""
    partner_id: str = ""
    source_points: int = 0
    target_points: int = 0
    currency: str = ""
    amount_minor: int = 0
    record_count: int = 0


def _reconciliation(row: Any) -> Reconciliation:
    values = dict(row._mapping)
    values.pop("finished_at_ms")
    return Reconciliation(**values)


def _values(row: Any, prefix: str) -> Values | None:
    if getattr(row, f"{prefix}_kind") is None:
        return None
    return Values(*(getattr(row, f"{prefix}_{name}") for name in Values.__slots__))


class ReconciliationRepository:
    """Reconciliations through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, reconciliation: Reconciliation) -> None:
        """Insert a new, open reconciliation."""
        self._db.execute(
            insert(reconciliations).values(
                reconciliation_id=reconciliation.reconciliation_id,
                partner_id=reconciliation.partner_id,
                period_id=reconciliation.period_id,
                state=reconciliation.state,
                started_at_ms=reconciliation.started_at_ms,
            )
        )

    def get(self, reconciliation_id: str) -> Reconciliation | None:
        """Return a reconciliation by id."""
        row = self._db.execute(
            select(reconciliations).where(reconciliations.c.reconciliation_id == reconciliation_id)
        ).first()
        return _reconciliation(row) if row else None

    def part_sha256(self, reconciliation_id: str, part_number: int) -> str | None:
        """Return the digest of a part already taken, if it was."""
        p = reconciliation_parts.c
        found: str | None = self._db.execute(
            select(p.content_sha256).where(p.reconciliation_id == reconciliation_id, p.part_number == part_number)
        ).scalar_one_or_none()
        return found

    def add_part(
        self, reconciliation: Reconciliation, part_number: int, sha256: str, lines: Sequence[StoredLine]
    ) -> None:
        """Store a part's records and count them on the reconciliation."""
        first = lines[0].line_number if lines else reconciliation.lines + 1
        self._db.execute(
            insert(reconciliation_parts).values(
                reconciliation_id=reconciliation.reconciliation_id,
                part_number=part_number,
                content_sha256=sha256,
                first_line=first,
                line_count=len(lines),
            )
        )
        if lines:
            self._db.execute(
                insert(reconciliation_lines),
                [{"reconciliation_id": reconciliation.reconciliation_id, **_line_columns(line)} for line in lines],
            )
        last_line = lines[-1].line_number if lines else reconciliation.lines
        result = self._db.execute(
            update(reconciliations)
            .where(
                reconciliations.c.reconciliation_id == reconciliation.reconciliation_id,
                reconciliations.c.parts == reconciliation.parts,
            )
            .values(parts=part_number, lines=last_line)
        )
        assert result.rowcount == 1, "the reconciliation changed under this transaction"

    def records(self, reconciliation_id: str, record_types: Sequence[str]) -> list[StoredLine]:
        """Return the header, trailer or end records of an upload (few), by line."""
        r = reconciliation_lines.c
        rows = self._db.execute(
            select(reconciliation_lines)
            .where(r.reconciliation_id == reconciliation_id, r.record_type.in_(record_types))
            .order_by(r.line_number)
        )
        return [StoredLine(**{k: v for k, v in row._mapping.items() if k != "reconciliation_id"}) for row in rows]

    def detail_totals(self, reconciliation_id: str) -> dict[str, tuple[int, int, int, int]]:
        """Return currency -> (lines, source points, target points, amount) over the uploaded detail records."""
        r = reconciliation_lines.c
        rows = self._db.execute(
            select(
                r.currency, func.count(), func.sum(r.source_points), func.sum(r.target_points), func.sum(r.amount_minor)
            )
            .where(r.reconciliation_id == reconciliation_id, r.record_type == "D")
            .group_by(r.currency)
        )
        return {c: (int(n), int(s), int(t), int(a)) for c, n, s, t, a in rows}

    def compare(self, reconciliation: Reconciliation, finished_at_ms: int) -> Reconciliation:
        """Write every break of the upload against the hub's movements, in SQL, and the summary counts."""
        rid, period, brand = reconciliation.reconciliation_id, reconciliation.period_id, reconciliation.partner_id
        r, m, b = reconciliation_lines.c, movements.c, reconciliation_breaks.c
        details = and_(r.reconciliation_id == rid, r.record_type == "D")
        first = (
            select(r.movement_id, func.min(r.line_number).label("line_number"))
            .where(details)
            .group_by(r.movement_id)
            .subquery()
        )
        brand_cols = [r.kind, r.period_id, r.source_points, r.target_points, r.currency, r.amount_minor]
        hub_cols = [m.kind, m.period_id, m.source_points, m.target_points, m.currency, m.amount_minor]
        nulls = [null()] * 6
        targets = ["reconciliation_id", "movement_id", "line_number", "kind"]
        hub_names = [f"hub_{n}" for n in Values.__slots__]
        brand_names = [f"brand_{n}" for n in Values.__slots__]
        # Repeated lines: every occurrence after the first.
        self._insert(
            targets + brand_names,
            select(literal(rid), r.movement_id, r.line_number, literal("DUPLICATE"), *brand_cols)
            .select_from(reconciliation_lines.join(first, first.c.movement_id == r.movement_id))
            .where(details, r.line_number > first.c.line_number),
        )
        firsts = reconciliation_lines.join(
            first, and_(first.c.movement_id == r.movement_id, first.c.line_number == r.line_number)
        )
        party = or_(m.source_partner_id == brand, m.target_partner_id == brand)
        joined = firsts.outerjoin(movements, and_(m.movement_id == r.movement_id, party))
        self._insert(
            targets + hub_names + brand_names,
            select(literal(rid), r.movement_id, r.line_number, literal("MISSING_AT_HUB"), *nulls, *brand_cols)
            .select_from(joined)
            .where(details, m.movement_id.is_(None)),
        )
        self._insert(
            targets + hub_names + brand_names,
            select(literal(rid), r.movement_id, r.line_number, literal("IN_OTHER_PERIOD"), *hub_cols, *brand_cols)
            .select_from(joined)
            .where(details, m.movement_id.is_not(None), m.period_id != period),
        )
        differs = or_(
            m.kind != r.kind,
            m.source_points != r.source_points,
            m.target_points != r.target_points,
            m.currency != r.currency,
            m.amount_minor != r.amount_minor,
        )
        self._insert(
            targets + hub_names + brand_names,
            select(literal(rid), r.movement_id, r.line_number, literal("AMOUNT_MISMATCH"), *hub_cols, *brand_cols)
            .select_from(joined)
            .where(details, m.period_id == period, differs),
        )
        uploaded = select(r.movement_id).where(details, r.movement_id == m.movement_id)
        self._insert(
            targets + hub_names,
            select(literal(rid), m.movement_id, literal(0), literal("MISSING_AT_BRAND"), *hub_cols).where(
                m.period_id == period, party, ~uploaded.exists()
            ),
        )
        counts: dict[str, int] = dict(
            self._db.execute(select(b.kind, func.count()).where(b.reconciliation_id == rid).group_by(b.kind)).all()
        )
        brand_lines = self._db.execute(select(func.count()).where(details)).scalar_one()
        hub_movements = self._db.execute(
            select(func.count()).select_from(movements).where(m.period_id == period, party)
        ).scalar_one()
        unmatched = sum(counts.get(k, 0) for k in ("MISSING_AT_HUB", "IN_OTHER_PERIOD", "AMOUNT_MISMATCH", "DUPLICATE"))
        summary = {
            "brand_lines": int(brand_lines),
            "hub_movements": int(hub_movements),
            "matched": int(brand_lines) - unmatched,
            **{k.lower(): int(counts.get(k, 0)) for k in BREAK_KINDS},
        }
        self._db.execute(
            update(reconciliations)
            .where(reconciliations.c.reconciliation_id == rid, reconciliations.c.state == "OPEN")
            .values(state="FINISHED", finished_at_ms=finished_at_ms, **summary)
        )
        finished = self.get(rid)
        assert finished is not None
        return finished

    def breaks_page(self, reconciliation_id: str, *, after: tuple[str, int] | None, limit: int) -> list[Break]:
        """Return breaks in order of movement id, then line."""
        b = reconciliation_breaks.c
        query = (
            select(reconciliation_breaks)
            .where(b.reconciliation_id == reconciliation_id)
            .order_by(b.movement_id, b.line_number)
            .limit(limit)
        )
        if after is not None:
            movement_id, line = after
            query = query.where(
                or_(b.movement_id > movement_id, and_(b.movement_id == movement_id, b.line_number > line))
            )
        return [
            Break(row.kind, row.movement_id, row.line_number, _values(row, "hub"), _values(row, "brand"))
            for row in self._db.execute(query)
        ]

    def _insert(self, columns: list[str], query: Any) -> None:
        self._db.execute(insert(reconciliation_breaks).from_select(columns, query))


def _line_columns(line: StoredLine) -> dict[str, object]:
    return {name: getattr(line, name) for name in StoredLine.__slots__}
