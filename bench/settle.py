"""Closing a settlement period of 1,000,000 movements on PostgreSQL, end to end through the hub.

Usage: .venv/bin/python bench/settle.py [--movements N] [--smaller N] [--postgres-url URL]

For each size (the main one, then a smaller one to show that memory does not grow with the
movements): a fresh database, migrated; 12 ACTIVE brands and N movements between them in
period per-000001, loaded with COPY (timed apart: loading is not the figure); then
`coalition serve` on it and one `OperatorClient.close_period("per-000001")`, timed on the
wall clock, with the hub's resident memory high-water mark (VmHWM) read before and after.
What the close produced is then checked against the generated movements. Every database
created is dropped at the end, also on failure. bench/README.md explains every figure; the
last line printed is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as bench/settle.py: the repository goes first on the path, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import psycopg
from rich.table import Table
from sqlalchemy import Connection, insert
from sqlalchemy.engine import make_url

from bench.console import console
from bench.cpu import postgres_cpu_s, process_cpu_s
from bench.hub import HubProcess
from bench.postgres import DEFAULT_POSTGRES, Postgres
from exchange.store.database import Database
from exchange.store.migrate import upgrade
from exchange.store.tables import partners
from partner_sdk import OperatorClient
from partner_sdk.settlement import verify_statement

PERIOD_ID = "per-000001"  # the open period migration 0006 seeds
BRANDS = tuple(f"bench-brand-{i:02d}" for i in range(12))
CURRENCIES = ("EUR", "GBP")
EUR_SHARE = 0.75
REVERSAL_SHARE = 0.03  # negative amounts: money flows back
CAPTURE_SHARE = 0.20  # no target points issued
MIN_POINTS, MAX_POINTS = 100, 50_000
SPAN_MS = 28 * 24 * 3600 * 1000  # the movements are final over the four weeks before the close
SEED = 20_261_123
MOVEMENTS = 1_000_000
SMALLER = 100_000
CLOSE_TIMEOUT_S = 600.0
TARGET_S = 30.0
PEAK_RATIO_LIMIT = 1.2  # above this, the hub's peak is taken to grow with the movements
HUB_WORKERS = 4
MOVEMENT_COLUMNS = (
    "movement_id", "period_id", "kind", "source_partner_id", "target_partner_id",
    "source_points", "target_points", "currency", "amount_minor", "final_at_ms",
)  # fmt: skip
ID_PREFIX = {"CONVERSION": "cnv", "CAPTURE": "cap", "REVERSAL": "rev"}


@dataclass(frozen=True)
class SizeFigures:
    """One close of `movements` movements on a fresh database and a fresh hub."""

    movements: int
    load_s: float  # partners + COPY + VACUUM ANALYZE: not the measured figure
    close_s: float  # ClosePeriod as the operator's SDK call sees it, wall clock
    hub_side_close_s: float | None  # the same call inside the hub (its own latency histogram)
    hub_cpu_s: float  # the hub process's CPU during the call
    postgres_cpu_s: float | None  # the database's backends + shared PostgreSQL processes during the call
    hub_rss_before_mb: float  # hub VmHWM after start-up and a warm-up call, before the close (MiB)
    hub_peak_mb: float  # hub VmHWM after the close (MiB)
    hub_growth_mb: float  # hub_peak_mb - hub_rss_before_mb
    statements: int
    net_sums: dict[str, int]  # per currency, the sum over the statements' net positions (must be 0)


@dataclass(frozen=True)
class SettleResult:
    """The main size and, to show memory does not follow the movement count, a smaller one."""

    main: SizeFigures
    smaller: SizeFigures | None

    @property
    def peak_ratio(self) -> float | None:
        """Main peak ÷ smaller peak: near 1 when memory does not grow with the movements."""
        return None if self.smaller is None else round(self.main.hub_peak_mb / self.smaller.hub_peak_mb, 3)


@dataclass
class Expected:
    """What the generated movements must net to, accumulated as they are generated (O(brands) memory)."""

    movements: int = 0
    net: dict[tuple[str, str], int] = field(default_factory=dict)  # (currency, partner) -> owed to it

    def add(self, source: str, target: str, currency: str, amount_minor: int) -> None:
        self.movements += 1
        self.net[currency, target] = self.net.get((currency, target), 0) + amount_minor
        self.net[currency, source] = self.net.get((currency, source), 0) - amount_minor


class CheckFailed(Exception):
    """What the close produced disagrees with the movements loaded: the timing is not to be trusted."""


def require(condition: bool, message: str) -> None:
    """Like assert, but survives `python -O`: a benchmark of a wrong result is worthless."""
    if not condition:
        raise CheckFailed(message)


# --------------------------------------------------------------------------- data


def brand_rows(now_ms: int) -> list[dict[str, object]]:
    """The brands, ACTIVE as the operator would have left them (no keys: nobody but the operator calls)."""
    return [
        {
            "partner_id": brand,
            "display_name": f"Bench Brand {index}",
            "point_currency": f"PTS{index:02d}",
            "settlement_currency": CURRENCIES[index % len(CURRENCIES)],
            "point_value_numerator": 1,
            "point_value_denominator": 2,
            "status": "ACTIVE",
            "status_reason": "",
            "created_at_ms": now_ms - 2 * SPAN_MS,
            "status_changed_at_ms": now_ms - 2 * SPAN_MS,
        }
        for index, brand in enumerate(BRANDS)
    ]


def movement_rows(count: int, *, first_ms: int, expected: Expected) -> Iterator[tuple[object, ...]]:
    """Yield `count` movements lazily (never a list of them), final_at_ms increasing, recording their nets."""
    rng = random.Random(SEED)
    for index in range(count):
        source = rng.randrange(len(BRANDS))
        target = rng.randrange(len(BRANDS) - 1)
        if target >= source:  # any brand but the source, uniformly
            target += 1
        currency = CURRENCIES[0] if rng.random() < EUR_SHARE else CURRENCIES[1]
        draw = rng.random()
        points = rng.randrange(MIN_POINTS, MAX_POINTS + 1)
        if draw < REVERSAL_SHARE:
            kind, source_points, target_points, amount = "REVERSAL", -points, -(points * 3 // 2), -(points // 2)
        elif draw < REVERSAL_SHARE + CAPTURE_SHARE:
            kind, source_points, target_points, amount = "CAPTURE", points, 0, points // 2
        else:
            kind, source_points, target_points, amount = "CONVERSION", points, points * 3 // 2, points // 2
        expected.add(BRANDS[source], BRANDS[target], currency, amount)
        yield (
            f"{ID_PREFIX[kind]}-{rng.getrandbits(128):032x}",
            PERIOD_ID,
            kind,
            BRANDS[source],
            BRANDS[target],
            source_points,
            target_points,
            currency,
            amount,
            first_ms + index * SPAN_MS // count,
        )


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg.connect takes it (no '+psycopg')."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load(url: str, count: int, now_ms: int) -> Expected:
    """Migrate, insert the brands, COPY `count` movements, then VACUUM ANALYZE as autovacuum would have."""
    database = Database(url)
    try:
        upgrade(database)

        def add_brands(connection: Connection) -> None:
            connection.execute(insert(partners), brand_rows(now_ms))

        database.run(add_brands)
    finally:
        database.dispose()
    expected = Expected()
    rows = movement_rows(count, first_ms=now_ms - SPAN_MS, expected=expected)
    with psycopg.connect(libpq_url(url)) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY movements ({', '.join(MOVEMENT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        connection.commit()
        # A period's movements accumulate over weeks: autovacuum has set hint bits and the
        # visibility map long before the close, so the close must not pay for that here either.
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE) movements")
        connection.execute("ANALYZE partners")
    require(expected.movements == count, f"{expected.movements} movements generated, {count} asked for")
    return expected


# --------------------------------------------------------------------------- the close


def vm_hwm_mb(pid: int) -> float:
    """The process's resident memory high-water mark (VmHWM in /proc/<pid>/status), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for process {pid}")


def hub_side_s(hub: HubProcess, before: dict[str, float]) -> float | None:
    """Seconds the hub itself spent answering ClosePeriod since `before` (its latency histogram)."""
    key = 'coalition_request_seconds_sum{method="ClosePeriod"}'
    after = hub.metrics()
    return round(after[key] - before.get(key, 0.0), 3) if key in after else None


def check_close(operator: OperatorClient, hub_public_key: bytes, expected: Expected) -> tuple[int, dict[str, int]]:
    """Check what the close produced against the generated movements; return (statements, net sums)."""
    period = operator.get_period(PERIOD_ID)
    require(period.state == "CLOSED", f"{PERIOD_ID} is {period.state} after the close")
    require(
        period.movement_count == expected.movements,
        f"{PERIOD_ID} counts {period.movement_count} movements, {expected.movements} were loaded",
    )
    statements = [s for s in operator.iter_statements() if s.period_id == PERIOD_ID]
    require(len(statements) == len(BRANDS), f"{len(statements)} statements for {len(BRANDS)} brands")
    sums = dict.fromkeys(CURRENCIES, 0)
    sides = 0  # every movement is on two brands' statements
    for statement in statements:
        document = verify_statement(statement, hub_public_key)  # hash, signature, arithmetic, netting
        sides += document.movement_count
        for position in document.net_positions:
            sums[position.currency] += position.net_minor
            want = expected.net.get((position.currency, document.partner_id), 0)
            require(
                position.net_minor == want,
                f"{document.partner_id} nets {position.net_minor} {position.currency}, its movements {want}",
            )
    require(sides == 2 * expected.movements, f"the statements count {sides} sides of {expected.movements} movements")
    require(all(total == 0 for total in sums.values()), f"net positions do not sum to 0: {sums}")
    return len(statements), sums


def close_once(hub: HubProcess, database: str, expected: Expected, load_s: float) -> SizeFigures:
    """Warm the hub up, then time one ClosePeriod call and read the hub's memory around it."""
    with OperatorClient(
        hub.target, private_key=hub.operator_key, hub_public_key=hub.hub_public_key, timeout_s=CLOSE_TIMEOUT_S
    ) as operator:
        warm = operator.get_period(PERIOD_ID)  # a signed call, a pooled connection, a count of the period
        require(warm.state == "OPEN" and warm.movement_count == expected.movements, f"before the close: {warm}")
        before_mb = vm_hwm_mb(hub.pid)
        metrics = hub.metrics()
        hub_cpu, pg_cpu = process_cpu_s(hub.pid), postgres_cpu_s(database)
        began = time.perf_counter()
        closed, _, closed_now = operator.close_period(PERIOD_ID, timeout_s=CLOSE_TIMEOUT_S)
        close_s = time.perf_counter() - began
        pg_after = postgres_cpu_s(database)
        hub_cpu = process_cpu_s(hub.pid) - hub_cpu
        peak_mb = vm_hwm_mb(hub.pid)
        require(closed_now and closed.state == "CLOSED", f"the close answered {closed}, closed_now={closed_now}")
        statements, sums = check_close(operator, hub.hub_public_key, expected)
    return SizeFigures(
        movements=expected.movements,
        load_s=round(load_s, 2),
        close_s=round(close_s, 3),
        hub_side_close_s=hub_side_s(hub, metrics),
        hub_cpu_s=round(hub_cpu, 3),
        postgres_cpu_s=None if pg_cpu is None or pg_after is None else round(pg_after - pg_cpu, 3),
        hub_rss_before_mb=before_mb,
        hub_peak_mb=peak_mb,
        hub_growth_mb=round(peak_mb - before_mb, 1),
        statements=statements,
        net_sums=sums,
    )


def measure_size(admin_url: str, count: int, workdir: Path) -> SizeFigures:
    """Fresh database, `count` movements loaded, fresh hub, one timed close; the database is dropped."""
    postgres = Postgres(admin_url)
    try:
        name = postgres.create(f"settle{count}")
        durable = postgres.durable(name)
        if durable["synchronous_commit"] != "on" or durable["fsync"] != "on":
            raise SystemExit(f"refusing to benchmark a non-durable database: {durable}")
        url = postgres.url(name)
        console.print(f"settle: loading {count:,} movements ...")
        began = time.perf_counter()
        expected = load(url, count, now_ms=int(time.time() * 1000))
        load_s = time.perf_counter() - began
        console.print(f"settle: loaded in {load_s:.1f} s; closing {PERIOD_ID} through the hub ...")
        hub = HubProcess(url, workdir / f"settle-{count}", workers=HUB_WORKERS)
        try:
            hub.start()
            return close_once(hub, name, expected, load_s)
        except Exception:
            console.print(f"[red]hub log ({hub.log_path}):[/red]\n{hub.log_tail()}", markup=True)
            raise
        finally:
            hub.stop()
    finally:
        postgres.drop_all()


def smaller_size(movements: int) -> int:
    """The comparison size: SMALLER, or a tenth of a smaller run (0: none)."""
    return min(SMALLER, movements // 10)


def measure_settlement(admin_url: str, movements: int = MOVEMENTS, smaller: int | None = None) -> SettleResult:
    """The close at the smaller size (default: smaller_size), then at `movements`, each on its own database and hub."""
    smaller = smaller_size(movements) if smaller is None else smaller
    with tempfile.TemporaryDirectory(prefix="coalition-settle-") as tmp:
        small = measure_size(admin_url, smaller, Path(tmp)) if smaller > 0 else None
        return SettleResult(measure_size(admin_url, movements, Path(tmp)), small)


# --------------------------------------------------------------------------- report


def settle_table(result: SettleResult) -> Table:
    """One row per size: what loading cost, what the close cost, the hub's memory around it."""
    table = Table(
        title=f"Closing a settlement period on PostgreSQL (target: ≤ {TARGET_S:g} s, memory flat)",
        title_justify="left",
    )
    columns = ("movements", "load s", "close s", "in hub s", "hub CPU s", "PG CPU s", "hub VmHWM before MiB",
               "after MiB", "growth MiB", "statements", "net sums")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for size in (result.smaller, result.main):
        if size is None:
            continue
        table.add_row(
            f"{size.movements:,}",
            f"{size.load_s:.1f}",
            f"{size.close_s:.2f}",
            "-" if size.hub_side_close_s is None else f"{size.hub_side_close_s:.2f}",
            f"{size.hub_cpu_s:.2f}",
            "-" if size.postgres_cpu_s is None else f"{size.postgres_cpu_s:.2f}",
            f"{size.hub_rss_before_mb:.1f}",
            f"{size.hub_peak_mb:.1f}",
            f"{size.hub_growth_mb:.1f}",
            str(size.statements),
            " ".join(f"{c} {v}" for c, v in size.net_sums.items()),
        )
    return table


def summary(result: SettleResult) -> dict[str, object]:
    """The figures as JSON."""
    return {
        "movements": result.main.movements,
        "close_s": result.main.close_s,
        "hub_peak_mb": result.main.hub_peak_mb,
        "peak_ratio_to_smaller": result.peak_ratio,
        "main": asdict(result.main),
        "smaller": asdict(result.smaller) if result.smaller else None,
    }


def shortfalls(result: SettleResult) -> list[str]:
    """Where the close misses the issue's target: over TARGET_S, or memory that follows the movements."""
    main, small, ratio = result.main, result.smaller, result.peak_ratio
    found = []
    if main.close_s > TARGET_S:
        found.append(f"closing {main.movements:,} movements took {main.close_s:g} s (target {TARGET_S:g} s)")
    if small is not None and ratio is not None and ratio > PEAK_RATIO_LIMIT:
        found.append(f"the hub's memory peak grew {ratio:g}x from {small.movements:,} to {main.movements:,} movements")
    return found


def headline(result: SettleResult | None, why_not: str = "") -> dict[str, object]:
    """bench/run.py's settle_* fields: settle_1m_* are null unless exactly 1,000,000 movements were closed."""
    if result is None:
        return {"settle_1m_s": None, "settle_1m_peak_mb": None, "settle_note": why_not, "settle": None}
    main = result.main
    at_1m = main.movements == MOVEMENTS
    note = (
        f"ClosePeriod({PERIOD_ID}) of {main.movements:,} movements, one SDK call to the hub on a fresh PostgreSQL "
        f"database, wall clock; loading them (COPY + VACUUM ANALYZE, {main.load_s:g} s) is not counted; hub VmHWM "
        f"{main.hub_rss_before_mb:g} MiB before the close, {main.hub_peak_mb:g} MiB after"
    )
    if result.smaller is not None:
        note += f" ({result.smaller.hub_peak_mb:g} MiB after closing {result.smaller.movements:,})"
    if not at_1m:
        note += f"; not {MOVEMENTS:,} movements (--settle-movements), so settle_1m_* are null"
    return {
        "settle_1m_s": main.close_s if at_1m else None,
        "settle_1m_peak_mb": main.hub_peak_mb if at_1m else None,
        "settle_note": note,
        "settle": summary(result),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movements", type=int, default=MOVEMENTS, help=f"movements in the period ({MOVEMENTS:,})")
    parser.add_argument(
        "--smaller",
        type=int,
        help=f"the comparison size for memory ({SMALLER:,}, or a tenth of --movements if less; 0: skip it)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("COALITION_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an admin URL of the server to create databases on (env COALITION_BENCH_POSTGRES_URL)",
    )
    args = parser.parse_args(argv)
    if args.movements <= 0 or (args.smaller or 0) < 0:
        parser.error("--movements must be positive and --smaller not negative")
    result = measure_settlement(args.postgres_url, args.movements, args.smaller)
    console.print(settle_table(result))
    sys.stdout.flush()
    print(json.dumps(summary(result), separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
