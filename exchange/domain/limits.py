"""The money path's limits on a conversion, as plain rules over figures a repository reads.

Three limits stand between a quote and a conversion, checked in this order:

- the member's **daily cap** with the pair (the agreement's `member_daily_cap_source_points`):
  the source points debited from the member with this pair on this UTC day, by conversions
  still standing (waiting for their credit, or completed), plus this one's, may not pass it;
- the member's **velocity**: at most `member_conversions_per_hour` conversions with the source
  brand in the hour before (any outcome: a refused credit was still an attempt);
- the source brand's **exposure**: what it owes, unsettled, in the settlement currency, plus
  this conversion's settlement amount, may not pass the hub's `exposure_limit_minor`.

The figures are defined here too, over plain records (`converted_today`, `conversions_since`),
so the store's fused SQL read (exchange.store.conversions_repo) has a definition to be tested
against, and a fake repository for the service's unit tests computes the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from exchange.domain.agreements import DAY_MS
from exchange.domain.conversions import STANDING_STATES, Conversion
from exchange.domain.errors import ResourceExhausted

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class LimitFigures:
    """What a new conversion's limits are checked against, read together under the source's lock."""

    converted_today: int  # source points debited from the member with this pair today (standing conversions)
    conversions_since: int  # the member's conversions with the source since the velocity window opened
    money_position: int  # the source's net money position in the settlement currency: + owed to it, - it owes


@dataclass(frozen=True, slots=True)
class LimitReading:
    """A conversion's limit figures and the quote's use, read together after the source's lock."""

    figures: LimitFigures
    quote_used_by: str | None  # the conversion the quote was used by, if any (it converts once)


@dataclass(frozen=True, slots=True)
class ConversionLimits:
    """The limit values in force for one conversion: the agreement's cap and the hub's two limits."""

    member_daily_cap_source_points: int
    member_conversions_per_hour: int
    exposure_limit_minor: int


@dataclass(frozen=True, slots=True)
class ConversionAsk:
    """What the new conversion would add: its debit from the member and the money the source would owe."""

    source_partner_id: str
    source_points_debited: int
    settlement_amount_minor: int
    settlement_currency: str


def check_conversion(figures: LimitFigures, limits: ConversionLimits, ask: ConversionAsk) -> None:
    """Refuse the conversion (ResourceExhausted) at the first limit it would pass, in the hub's order."""
    check_daily_cap(figures, limits.member_daily_cap_source_points, ask.source_points_debited)
    check_velocity(figures, limits.member_conversions_per_hour)
    check_exposure(figures, limits.exposure_limit_minor, ask)


def check_daily_cap(figures: LimitFigures, cap: int, debit: int) -> None:
    """The member's debits with the pair today, this one included, stay within the agreement's cap."""
    if figures.converted_today + debit > cap:
        raise ResourceExhausted(
            "MEMBER_DAILY_CAP",
            f"the member may convert at most {cap} points a day with this partner; "
            f"{figures.converted_today} used today",
        )


def check_velocity(figures: LimitFigures, per_hour: int) -> None:
    """Fewer than per_hour conversions by the member with the source in the hour before."""
    if figures.conversions_since >= per_hour:
        raise ResourceExhausted(
            "MEMBER_VELOCITY", f"a member may convert at most {per_hour} times an hour; try again later"
        )


def check_exposure(figures: LimitFigures, limit: int, ask: ConversionAsk) -> None:
    """What the source owes unsettled, with this conversion's amount, stays within the exposure limit."""
    owed = -figures.money_position
    if owed + ask.settlement_amount_minor > limit:
        raise ResourceExhausted(
            "EXPOSURE_LIMIT",
            f"{ask.source_partner_id!r} would owe more than its exposure limit of {limit} minor units of "
            f"{ask.settlement_currency} (it owes {max(owed, 0)} unsettled)",
        )


def utc_day(ms: int) -> int:
    """The UTC day number (days since the epoch) of a time: the daily cap's day."""
    return ms // DAY_MS


def converted_today(records: Iterable[Conversion], *, source: str, target: str, member_ref: str, day: int) -> int:
    """The daily cap's figure: points debited from the member with the pair on that UTC day, standing conversions."""
    return sum(
        record.amounts.source_points_debited
        for record in records
        if (record.source_partner_id, record.target_partner_id, record.source_member_ref)
        == (source, target, member_ref)
        and utc_day(record.created_at_ms) == day
        and record.state in STANDING_STATES
    )


def conversions_since(records: Iterable[Conversion], *, source: str, member_ref: str, since_ms: int) -> int:
    """The velocity figure: the member's conversions with the source (any target, any state) since a time."""
    return sum(
        1
        for record in records
        if (record.source_partner_id, record.source_member_ref) == (source, member_ref)
        and record.created_at_ms >= since_ms
    )


@dataclass(slots=True)
class RunningFigures:
    """The limit figures of one source's conversions in a batch, counting each conversion the batch makes.

    Read once for the batch (exchange.store.conversions_repo.batch_figures), under the source's
    row lock, then kept here as the batch goes: each item is checked against what was committed
    before and the items accepted before it, as if it were the next conversion on its own.
    """

    converted_today: dict[tuple[str, str], int]  # (target partner, member) -> the daily cap's figure
    conversions_since: dict[str, int]  # member -> the velocity figure
    money_positions: dict[str, int]  # settlement currency -> the source's money position

    def figures(self, target_partner_id: str, member_ref: str, currency: str) -> LimitFigures:
        """What the next conversion of this member with this target is checked against."""
        return LimitFigures(
            self.converted_today.get((target_partner_id, member_ref), 0),
            self.conversions_since.get(member_ref, 0),
            self.money_positions.get(currency, 0),
        )

    def check_and_count(
        self, target_partner_id: str, member_ref: str, limits: ConversionLimits, ask: ConversionAsk
    ) -> None:
        """Refuse the conversion as check_conversion would, or count it in: its debit, its attempt, what is owed."""
        check_conversion(self.figures(target_partner_id, member_ref, ask.settlement_currency), limits, ask)
        pair = (target_partner_id, member_ref)
        self.converted_today[pair] = self.converted_today.get(pair, 0) + ask.source_points_debited
        self.conversions_since[member_ref] = self.conversions_since.get(member_ref, 0) + 1
        currency = ask.settlement_currency
        self.money_positions[currency] = self.money_positions.get(currency, 0) - ask.settlement_amount_minor
