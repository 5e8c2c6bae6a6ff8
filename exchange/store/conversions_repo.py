"""Reading and writing quotes, conversions, their events and reversals."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, tuple_, update

from exchange.domain.conversions import (
    STANDING_STATES,
    Conversion,
    ConversionEvent,
    ConversionParties,
    ConversionState,
    Quote,
    Reversal,
)
from exchange.domain.limits import LimitFigures, LimitReading, RunningFigures, utc_day
from exchange.domain.money import Ratio
from exchange.domain.partners import Partner
from exchange.domain.pricing import ConversionAmounts, ReversalAmounts
from exchange.store.agreements_repo import agreement_from_row
from exchange.store.ledger_repo import POSITION_OF
from exchange.store.partners_repo import partner_from_row
from exchange.store.precompiled import Precompiled, constants, insert_rows, inserting, selecting
from exchange.store.tables import (
    agreements,
    conversion_events,
    conversion_reversals,
    conversions,
    money_positions,
    partners,
    quotes,
)

# The statements of a quote and a conversion, built once (exchange.store.precompiled).
_ADD_QUOTE = inserting(quotes, [column.key for column in quotes.columns])
_GET_QUOTE = selecting(quotes, "quote_id")
_MARK_QUOTE_USED_SQL = (
    update(quotes)
    .where(quotes.c.quote_id == bindparam("claimed_quote_id"), quotes.c.used_by.is_(None))
    .values(used_by=bindparam("used_by"))
)
_MARK_QUOTE_USED = Precompiled(_MARK_QUOTE_USED_SQL)
_ADD_CONVERSION = inserting(conversions, [column.key for column in conversions.columns])
_ADD_EVENT = inserting(conversion_events, ("conversion_id", "at_ms", "actor", "from_state", "to_state", "note"))
# A conversion's first statement: the source partner's row lock (FOR NO KEY UPDATE), and with it the
# quote, its agreement and the target partner (each None when not found), columns prefixed s_, q_, a_, t_.
_source = partners.alias("source")
_target = partners.alias("target")
_PARTS = (("s_", _source), ("q_", quotes), ("a_", agreements), ("t_", _target))
_LOCK_FOR_CONVERSION = Precompiled(
    select(*(column.label(f"{prefix}{column.key}") for prefix, table in _PARTS for column in table.columns))
    .select_from(
        _source.outerjoin(
            quotes, and_(quotes.c.quote_id == bindparam("quote_id"), quotes.c.source_partner_id == _source.c.partner_id)
        )
        .outerjoin(agreements, agreements.c.agreement_id == quotes.c.agreement_id)
        .outerjoin(_target, _target.c.partner_id == quotes.c.target_partner_id)
    )
    .where(_source.c.partner_id == bindparam("source"))
    .with_for_update(of=_source, key_share=True)
)


def _slices() -> list[tuple[str, tuple[str, ...], int, int]]:
    """Where each part's columns sit in that statement's row: prefix, column names, first index, end index."""
    slices, start = [], 0
    for prefix, table in _PARTS:
        keys = tuple(column.key for column in table.columns)
        slices.append((prefix, keys, start, start + len(keys)))
        start += len(keys)
    return slices


_SLICES = _slices()
# A batch's first statement: the source partner's row lock alone (its quotes are read after it).
_LOCK_SOURCE = Precompiled(
    select(partners).where(partners.c.partner_id == bindparam("source")).with_for_update(key_share=True)
)
# The daily cap: source points the member converted with this pair today (standing conversions).
_CONVERTED_TODAY = select(
    func.coalesce(func.sum(conversions.c.fee_points + conversions.c.source_points_converted), 0)
).where(
    conversions.c.source_partner_id == bindparam("source"),
    conversions.c.target_partner_id == bindparam("target"),
    conversions.c.source_member_ref == bindparam("member_ref"),
    conversions.c.utc_day == bindparam("day"),
    conversions.c.state.in_(constants(s.value for s in STANDING_STATES)),
)
# The velocity limit: the member's conversions with this source since a time (any state).
_CONVERSIONS_SINCE = select(func.count()).where(
    conversions.c.source_partner_id == bindparam("source"),
    conversions.c.source_member_ref == bindparam("member_ref"),
    conversions.c.created_at_ms >= bindparam("since_ms"),
)
# What a conversion's three limits read, in one statement: its three reads as scalar subqueries, and
# the quote's use as this statement sees it.
_LIMIT_USAGE = Precompiled(
    select(
        _CONVERTED_TODAY.scalar_subquery(),
        _CONVERSIONS_SINCE.scalar_subquery(),
        POSITION_OF.scalar_subquery(),  # bound as owner: the source partner
        select(quotes.c.used_by).where(quotes.c.quote_id == bindparam("quote_id")).scalar_subquery(),
    )
)


class ConversionRepository:
    """Quotes and conversions through one connection."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    # quotes -----------------------------------------------------------------------------
    def add_quote(self, quote: Quote) -> None:
        """Insert a new quote."""
        _ADD_QUOTE.write(self._db, **_quote_columns(quote, None))

    def get_quote(self, quote_id: str) -> Quote | None:
        """Return a quote, or None."""
        m = _GET_QUOTE.first(self._db, quote_id=quote_id)
        return _quote(m) if m is not None else None

    def lock_for_conversion(self, source: str, quote_id: str) -> ConversionParties:
        """Take the source partner's row lock (no-op on SQLite); read the quote, its agreement and target with it.

        The lock queues a source's conversions one behind another (exchange.service.conversions).
        What this statement reads may predate a conversion the lock waited for, so the quote's use
        and the limits are read again, by the next statement (limit_usage).

        Raises:
            LookupError: there is no partner source.
        """
        row = _LOCK_FOR_CONVERSION.execute(self._db, source=source, quote_id=quote_id).fetchone()
        if row is None:
            raise LookupError(f"no partner {source!r}")
        parts = {prefix: dict(zip(keys, row[start:end], strict=True)) for prefix, keys, start, end in _SLICES}
        return ConversionParties(
            source=partner_from_row(parts["s_"], ()),
            quote=_quote(parts["q_"]) if parts["q_"]["quote_id"] is not None else None,
            agreement=agreement_from_row(parts["a_"]) if parts["a_"]["agreement_id"] is not None else None,
            target=partner_from_row(parts["t_"], ()) if parts["t_"]["partner_id"] is not None else None,
        )

    def mark_quote_used(self, quote_id: str, conversion_id: str) -> None:
        """Mark a quote used by a conversion (a write whose outcome is not read).

        That a quote converts once is kept by the unique key on conversions.quote_id: of two
        conversions of one quote, the second's INSERT fails. The source partner's row lock makes
        that rare; the conversion's limit read (limit_usage) sees a use committed before it.
        """
        _MARK_QUOTE_USED.write(self._db, claimed_quote_id=quote_id, used_by=conversion_id)

    # a batch's conversions (exchange.service.conversion_batch) -----------------------------
    def lock_source(self, source: str) -> Partner:
        """Take the source partner's row lock (no-op on SQLite), as a conversion's first statement does.

        Raises:
            LookupError: there is no partner source.
        """
        row = _LOCK_SOURCE.first(self._db, source=source)
        if row is None:
            raise LookupError(f"no partner {source!r}")
        return partner_from_row(row, ())

    def quotes_of(self, source: str, quote_ids: Collection[str]) -> dict[str, Quote]:
        """The source's quotes among these ids, read now (after the lock: their use is current)."""
        if not quote_ids:
            return {}
        rows = self._db.execute(
            select(quotes).where(quotes.c.quote_id.in_(sorted(quote_ids)), quotes.c.source_partner_id == source)
        ).all()
        return {row.quote_id: _quote(row._mapping) for row in rows}

    def running_figures(
        self, source: str, member_refs: Collection[str], currencies: Collection[str], *, day: int, since_ms: int
    ) -> RunningFigures:
        """The limit figures of every member and currency of a batch, read once under the source's lock.

        The same figures as limit_reading's three reads, grouped: by target and member for the
        daily cap, by member for the velocity limit, by currency for the exposure limit.
        """
        members = sorted(member_refs)
        today: dict[tuple[str, str], int] = {}
        since: dict[str, int] = {}
        if members:
            for target, member, points in self._db.execute(
                select(
                    conversions.c.target_partner_id,
                    conversions.c.source_member_ref,
                    func.sum(conversions.c.fee_points + conversions.c.source_points_converted),
                )
                .where(
                    conversions.c.source_partner_id == source,
                    conversions.c.source_member_ref.in_(members),
                    conversions.c.utc_day == day,
                    conversions.c.state.in_([s.value for s in STANDING_STATES]),
                )
                .group_by(conversions.c.target_partner_id, conversions.c.source_member_ref)
            ):
                today[(target, member)] = int(points)
            for member, count in self._db.execute(
                select(conversions.c.source_member_ref, func.count())
                .where(
                    conversions.c.source_partner_id == source,
                    conversions.c.source_member_ref.in_(members),
                    conversions.c.created_at_ms >= since_ms,
                )
                .group_by(conversions.c.source_member_ref)
            ):
                since[member] = int(count)
        positions: dict[str, int] = {}
        if currencies:
            for currency, amount in self._db.execute(
                select(money_positions.c.currency, func.sum(money_positions.c.amount))
                .where(money_positions.c.owner == source, money_positions.c.currency.in_(sorted(currencies)))
                .group_by(money_positions.c.currency)
            ):
                positions[currency] = int(amount)
        return RunningFigures(today, since, positions)

    def add_quotes(self, used: Sequence[tuple[Quote, str]]) -> None:
        """Insert quotes made and used at once by a batch: each with the conversion that used it."""
        if used:
            insert_rows(self._db, quotes, [_quote_columns(quote, used_by) for quote, used_by in used])

    def mark_quotes_used(self, uses: Sequence[tuple[str, str]]) -> None:
        """Mark quotes used, each by its conversion (quote id, conversion id); see mark_quote_used."""
        if uses:
            self._db.execute(
                _MARK_QUOTE_USED_SQL,
                [{"claimed_quote_id": quote_id, "used_by": conversion_id} for quote_id, conversion_id in uses],
            )

    def add_many(self, new: Sequence[Conversion]) -> None:
        """Insert new conversions with their first events, in two bulk statements (precompiled.insert_rows)."""
        if not new:
            return
        insert_rows(self._db, conversions, [_conversion_columns(conversion) for conversion in new])
        insert_rows(
            self._db,
            conversion_events,
            [_event_columns(conversion.conversion_id, event) for conversion in new for event in conversion.history],
        )

    # conversions ------------------------------------------------------------------------
    def add(self, conversion: Conversion) -> None:
        """Insert a new conversion with its first event."""
        _ADD_CONVERSION.write(self._db, **_conversion_columns(conversion))
        self._add_events(conversion.conversion_id, conversion.history)

    def save_state(self, before: Conversion, after: Conversion) -> None:
        """Write a state change; refuses (AssertionError) if the row moved meanwhile."""
        result = self._db.execute(
            update(conversions)
            .where(conversions.c.conversion_id == after.conversion_id, conversions.c.state == before.state.value)
            .values(state=after.state.value)
        )
        assert result.rowcount == 1, "the conversion changed state under this transaction"
        self._add_events(after.conversion_id, after.history[len(before.history) :])

    def add_reversal(self, conversion_id: str, reversal: Reversal) -> None:
        """Record a reversal."""
        self._db.execute(
            insert(conversion_reversals).values(
                reversal_id=reversal.reversal_id,
                conversion_id=conversion_id,
                target_points=reversal.amounts.target_points,
                source_points=reversal.amounts.source_points,
                settlement_amount_minor=reversal.amounts.settlement_amount_minor,
                reason=reversal.reason,
                at_ms=reversal.at_ms,
            )
        )

    def get(self, conversion_id: str) -> Conversion | None:
        """Return a conversion with its history and reversals, or None."""
        row = self._db.execute(select(conversions).where(conversions.c.conversion_id == conversion_id)).first()
        return self._assemble([row])[0] if row else None

    def limit_reading(
        self, source: str, target: str, member_ref: str, *, day: int, since_ms: int, currency: str, quote_id: str
    ) -> LimitReading:
        """Read the figures of the daily cap, the velocity limit and the exposure limit, and the quote's use, together.

        One statement of scalar subqueries, each the SQL of a definition in exchange.domain.limits
        (tests/property/test_limit_figures_properties.py holds them equal); the money position
        comes from the running positions (exchange.store.ledger_repo).
        """
        cursor = _LIMIT_USAGE.execute(
            self._db,
            source=source,
            target=target,
            member_ref=member_ref,
            day=day,
            since_ms=since_ms,
            owner=source,
            currency=currency,
            quote_id=quote_id,
        )
        today, since, position, used_by = cursor.fetchone()
        return LimitReading(LimitFigures(int(today), int(since), int(position)), used_by)

    def overdue(self, now_ms: int, limit: int) -> list[str]:
        """Return ids of PENDING_CREDIT conversions whose credit deadline has passed."""
        rows = self._db.execute(
            select(conversions.c.conversion_id)
            .where(
                conversions.c.state == ConversionState.PENDING_CREDIT.value,
                conversions.c.credit_deadline_ms <= now_ms,
            )
            .order_by(conversions.c.credit_deadline_ms)
            .limit(limit)
        ).all()
        return [r.conversion_id for r in rows]

    def list_page(
        self,
        party: str,
        *,
        state: ConversionState | None,
        member_ref: str,
        created_from_ms: int | None,
        created_before_ms: int | None,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[Conversion]:
        """Return the party's conversions (as source or target), newest first, after a keyset cursor."""
        as_source = conversions.c.source_partner_id == party
        as_target = conversions.c.target_partner_id == party
        query = select(conversions).where(as_source | as_target)
        if member_ref:
            query = query.where(
                (as_source & (conversions.c.source_member_ref == member_ref))
                | (as_target & (conversions.c.target_member_ref == member_ref))
            )
        if state is not None:
            query = query.where(conversions.c.state == state.value)
        if created_from_ms is not None:
            query = query.where(conversions.c.created_at_ms >= created_from_ms)
        if created_before_ms is not None:
            query = query.where(conversions.c.created_at_ms < created_before_ms)
        if before is not None:
            query = query.where(
                tuple_(conversions.c.created_at_ms, conversions.c.conversion_id) < tuple_(before[0], before[1])
            )
        order = (conversions.c.created_at_ms.desc(), conversions.c.conversion_id.desc())
        return self._assemble(self._db.execute(query.order_by(*order).limit(limit)).all())

    def _add_events(self, conversion_id: str, events: tuple[ConversionEvent, ...]) -> None:
        for event in events:
            _ADD_EVENT.write(self._db, **_event_columns(conversion_id, event))

    def _assemble(self, rows: Any) -> list[Conversion]:
        ids = [r.conversion_id for r in rows]
        if not ids:
            return []
        events: dict[str, list[ConversionEvent]] = {i: [] for i in ids}
        for e in self._db.execute(
            select(conversion_events)
            .where(conversion_events.c.conversion_id.in_(ids))
            .order_by(conversion_events.c.event_id)
        ).all():
            events[e.conversion_id].append(
                ConversionEvent(
                    e.at_ms,
                    e.actor,
                    ConversionState(e.from_state) if e.from_state else None,
                    ConversionState(e.to_state),
                    e.note,
                )
            )
        reversals: dict[str, list[Reversal]] = {i: [] for i in ids}
        for r in self._db.execute(
            select(conversion_reversals)
            .where(conversion_reversals.c.conversion_id.in_(ids))
            .order_by(conversion_reversals.c.at_ms, conversion_reversals.c.reversal_id)
        ).all():
            reversals[r.conversion_id].append(
                Reversal(
                    r.reversal_id,
                    ReversalAmounts(r.target_points, r.source_points, r.settlement_amount_minor),
                    r.reason,
                    r.at_ms,
                )
            )
        return [
            Conversion(
                conversion_id=m["conversion_id"],
                quote_id=m["quote_id"],
                agreement_id=m["agreement_id"],
                agreement_version=m["agreement_version"],
                source_partner_id=m["source_partner_id"],
                target_partner_id=m["target_partner_id"],
                source_member_ref=m["source_member_ref"],
                target_member_ref=m["target_member_ref"],
                amounts=_amounts(m),
                state=ConversionState(m["state"]),
                credit_deadline_ms=m["credit_deadline_ms"],
                created_at_ms=m["created_at_ms"],
                history=tuple(events[m["conversion_id"]]),
                reversals=tuple(reversals[m["conversion_id"]]),
            )
            for m in (row._mapping for row in rows)
        ]


def _quote_columns(quote: Quote, used_by: str | None) -> dict[str, Any]:
    return {
        "quote_id": quote.quote_id,
        "agreement_id": quote.agreement_id,
        "agreement_version": quote.agreement_version,
        "source_partner_id": quote.source_partner_id,
        "target_partner_id": quote.target_partner_id,
        "created_at_ms": quote.created_at_ms,
        "expires_at_ms": quote.expires_at_ms,
        "used_by": used_by,
        **_amount_columns(quote.amounts),
    }


def _conversion_columns(conversion: Conversion) -> dict[str, Any]:
    return {
        "conversion_id": conversion.conversion_id,
        "quote_id": conversion.quote_id,
        "agreement_id": conversion.agreement_id,
        "agreement_version": conversion.agreement_version,
        "source_partner_id": conversion.source_partner_id,
        "target_partner_id": conversion.target_partner_id,
        "source_member_ref": conversion.source_member_ref,
        "target_member_ref": conversion.target_member_ref,
        "state": conversion.state.value,
        "credit_deadline_ms": conversion.credit_deadline_ms,
        "created_at_ms": conversion.created_at_ms,
        "utc_day": utc_day(conversion.created_at_ms),
        **_amount_columns(conversion.amounts),
    }


def _event_columns(conversion_id: str, event: ConversionEvent) -> dict[str, Any]:
    return {
        "conversion_id": conversion_id,
        "at_ms": event.at_ms,
        "actor": event.actor,
        "from_state": event.from_state.value if event.from_state else None,
        "to_state": event.to_state.value,
        "note": event.note,
    }


def _amount_columns(amounts: ConversionAmounts) -> dict[str, Any]:
    amounts.check()
    return {
        "source_points_requested": amounts.source_points_requested,
        "fee_points": amounts.fee_points,
        "source_points_converted": amounts.source_points_converted,
        "target_points": amounts.target_points,
        "settlement_amount_minor": amounts.settlement_amount_minor,
        "settlement_currency": amounts.settlement_currency,
        "rate_numerator": amounts.rate.numerator,
        "rate_denominator": amounts.rate.denominator,
    }


def _quote(m: Any) -> Quote:
    return Quote(
        quote_id=m["quote_id"],
        agreement_id=m["agreement_id"],
        agreement_version=m["agreement_version"],
        source_partner_id=m["source_partner_id"],
        target_partner_id=m["target_partner_id"],
        amounts=_amounts(m),
        created_at_ms=m["created_at_ms"],
        expires_at_ms=m["expires_at_ms"],
        used_by=m["used_by"],
    )


def _amounts(m: Any) -> ConversionAmounts:
    amounts = ConversionAmounts(
        source_points_requested=m["source_points_requested"],
        fee_points=m["fee_points"],
        source_points_converted=m["source_points_converted"],
        target_points=m["target_points"],
        settlement_amount_minor=m["settlement_amount_minor"],
        settlement_currency=m["settlement_currency"],
        rate=Ratio(m["rate_numerator"], m["rate_denominator"]),
    )
    amounts.check()
    return amounts
