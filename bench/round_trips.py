"""Round trips to PostgreSQL per signed call, counted at the driver.

Usage: .venv/bin/python bench/round_trips.py [--warm N] [--batch B] [--postgres-url URL]

Starts a hub in-process (HubServer, background_sweeps=False) on a fresh PostgreSQL database,
converts N times (20: past psycopg's prepare threshold, so statements run prepared as in a long
run), then counts, for one more QuoteConversion and one more Convert, every time psycopg waits for
the server's answer: each statement (the hot ones on the driver's cursor included, which
SQLAlchemy's events never see), psycopg's own BEGIN, the COMMIT, a pool ping. That is what a
call costs in waits on the database; the CPU each costs is in bench/run.py. Then one
ConvertBatch of B unquoted items (100; 0 skips it), after a first one of B that prepares its
statements, counted the same way, and per item. The database is dropped at the end. Prints a
table, then one JSON line.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as bench/round_trips.py: the repository goes first on the path, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg._cursor_base
from psycopg import generators
from rich.table import Table

from bench.brands import SOURCE_POINTS, TARGET_BRAND
from bench.bulk import BATCH_SIZE
from bench.console import console
from bench.in_process import in_process_hub
from bench.postgres import DEFAULT_POSTGRES
from partner_sdk import ConversionItem


class RoundTrips:
    """Counts psycopg's waits for a result: one per statement, BEGIN, COMMIT or ping sent."""

    def __init__(self) -> None:
        self.count = 0
        self.counting = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Wrap the generator psycopg's cursors and connections wait on, for the duration."""
        real = generators.execute

        def counted(pgconn: Any) -> Any:
            if self.counting:
                self.count += 1
            return real(pgconn)

        psycopg._cursor_base.execute = counted  # type: ignore[attr-defined]
        generators.execute = counted
        try:
            yield
        finally:
            psycopg._cursor_base.execute = real  # type: ignore[attr-defined]
            generators.execute = real

    def of(self, call: Callable[[], Any]) -> int:
        """The round trips one call makes (the hub serves it on another thread of this process)."""
        self.count, self.counting = 0, True
        try:
            call()
        finally:
            self.counting = False
        return self.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=20, help="conversions made before the counted one (20)")
    parser.add_argument(
        "--batch", type=int, default=100, help=f"items of the ConvertBatch counted (100; 0 to {BATCH_SIZE}, 0 skips it)"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("COALITION_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an admin URL of the server to create the database on",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.batch <= BATCH_SIZE:
        parser.error(f"--batch must be 0 to {BATCH_SIZE}")
    counter = RoundTrips()
    with in_process_hub(args.postgres_url, "trips") as hub:
        with counter.installed():
            client = hub.client

            def convert(n: int) -> tuple[int, int]:
                quoted: list[Any] = []
                quote_trips = counter.of(lambda: quoted.append(client.quote_conversion(TARGET_BRAND, SOURCE_POINTS)))
                convert_trips = counter.of(
                    lambda: client.convert(
                        quoted[0].quote_id,
                        source_member_ref=f"member-{n}",
                        target_member_ref=f"target-member-{n}",
                        idempotency_key=f"trips-{n:08d}",
                    )
                )
                return quote_trips, convert_trips

            def convert_batch(n: int) -> int:
                items = [
                    ConversionItem(
                        source_member_ref=f"batch-member-{n}-{k}",
                        target_partner_id=TARGET_BRAND,
                        source_points=SOURCE_POINTS,
                        target_member_ref=f"batch-target-{n}-{k}",
                        idempotency_key=f"trips-batch-{n}-{k:04d}",
                    )
                    for k in range(args.batch)
                ]
                results: list[Any] = []
                trips = counter.of(lambda: results.extend(client.convert_batch(items)))
                failed = [r for r in results if not r.ok]
                if len(results) != len(items) or failed:
                    raise SystemExit(f"the batch did not convert every item: {failed[:3]}")
                return trips

            for n in range(args.warm):
                convert(n)
            quote_trips, convert_trips = convert(args.warm)
            batch_trips = None
            if args.batch:
                convert_batch(0)
                batch_trips = convert_batch(1)
        table = Table(title=f"Round trips to PostgreSQL after {args.warm} conversions", title_justify="left")
        table.add_column("call")
        table.add_column("round trips", justify="right")
        table.add_row("QuoteConversion", str(quote_trips))
        table.add_row("Convert", str(convert_trips))
        table.add_row("a conversion", str(quote_trips + convert_trips))
        figures: dict[str, float] = {
            "quote": quote_trips,
            "convert": convert_trips,
            "conversion": quote_trips + convert_trips,
        }
        if batch_trips is not None:
            table.add_row(f"ConvertBatch of {args.batch} unquoted items", str(batch_trips))
            table.add_row("  per item", f"{batch_trips / args.batch:.2f}")
            figures |= {"batch_items": args.batch, "batch": batch_trips, "batch_per_item": batch_trips / args.batch}
        console.print(table)
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
