"""One conversion under the microscope: the hub's SQL round trips, their plans, and its predicate locks.

Usage: .venv/bin/python bench/trace_conversion.py [--warm N] [--postgres-url URL]

Starts a hub in-process (HubServer, background_sweeps=False) on a fresh PostgreSQL database,
converts N times (500) so the tables hold some rows, then traces one more QuoteConversion +
Convert: every statement each transaction runs and how long it took, the pool's pre-ping, the
SERIALIZABLE predicate locks (SIReadLock) each transaction holds when it commits, and the plan
PostgreSQL picks for each read. The database is dropped at the end. This explains the retries
bench/run.py counts; it measures no throughput.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as bench/trace_conversion.py: the repository goes first on the path, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import collections
import os
import re
import time
from typing import Any

from rich.table import Table
from sqlalchemy import event

from bench.brands import SOURCE_POINTS, TARGET_BRAND
from bench.console import console
from bench.in_process import in_process_hub
from bench.postgres import DEFAULT_POSTGRES
from exchange.store.database import Database

SIREAD_OF_THIS_BACKEND = (
    "SELECT relation::regclass::text, locktype, count(*) FROM pg_locks "
    "WHERE pid = pg_backend_pid() AND mode = 'SIReadLock' GROUP BY 1, 2 ORDER BY 1, 2"
)


class Tracer:
    """Records what the hub's engine does, transaction by transaction."""

    def __init__(self) -> None:
        self.enabled = False
        self.transactions: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.checkouts = 0

    def attach(self, database: Database) -> None:
        for engine in database.call_engines:  # the engines calls run on, not the limit-free one for tools
            self._attach(engine)

    def _attach(self, engine: Any) -> None:

        @event.listens_for(engine.pool, "checkout")
        def _checkout(*_: Any) -> None:
            if self.enabled:
                self.checkouts += 1

        @event.listens_for(engine, "begin")
        def _begin(_connection: Any) -> None:
            if self.enabled:
                self.current = {"statements": [], "locks": [], "outcome": "?"}
                self.transactions.append(self.current)

        @event.listens_for(engine, "before_cursor_execute")
        def _before(connection: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool) -> None:
            connection.info["trace_started"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(connection: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
            if self.enabled and self.current is not None:
                elapsed = time.perf_counter() - connection.info.pop("trace_started", time.perf_counter())
                self.current["statements"].append((statement, params, many, elapsed * 1000))

        @event.listens_for(engine, "commit")
        def _commit(connection: Any) -> None:
            if self.enabled and self.current is not None:
                cursor = connection.connection.dbapi_connection.cursor()
                cursor.execute(SIREAD_OF_THIS_BACKEND)
                self.current["locks"] = cursor.fetchall()
                cursor.close()
                self.current["outcome"] = "COMMIT"

        @event.listens_for(engine, "rollback")
        def _rollback(_connection: Any) -> None:
            if self.enabled and self.current is not None:
                self.current["outcome"] = "ROLLBACK"


def short_sql(statement: str) -> str:
    """The statement on one line, placeholders as ?, without column lists and table prefixes."""
    text = re.sub(r"\s+", " ", statement).strip()
    text = re.sub(r"%\(\w+\)s(::\w+)?", "?", text)
    text = re.sub(r"^SELECT .*? FROM", "SELECT … FROM", text)
    text = re.sub(r"^INSERT INTO (\w+) \(.*?\) VALUES \(.*?\)", r"INSERT INTO \1 (…) VALUES (…)", text)
    text = re.sub(r"\b[a-z_]+\.([a-z_]+)\b", r"\1", text)
    return text[:160]


def explain(database: Database, statement: str, params: Any) -> list[str]:
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN " + statement, params)
        lines = [row[0] for row in cursor.fetchall()]
        raw.rollback()
        return lines
    finally:
        raw.close()


def show_plans(database: Database, selects: dict[str, Any], when: str) -> None:
    console.print(f"\n[bold]Plans of the reads, {when} (EXPLAIN, same parameters)[/bold]")
    for statement, params in selects.items():
        plan = explain(database, statement, params)
        console.print(f"[cyan]{short_sql(statement)}[/cyan]", soft_wrap=True)
        for line in plan[:4]:
            console.print(f"    {line}", soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=500, help="conversions made before the traced one (500)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("COALITION_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an admin URL of the server to create the database on",
    )
    args = parser.parse_args(argv)
    tracer = Tracer()
    with in_process_hub(args.postgres_url, "trace") as hub:
        name, database = hub.name, hub.database
        client = hub.client
        tracer.attach(database)

        def convert(n: int) -> None:
            quote = client.quote_conversion(TARGET_BRAND, SOURCE_POINTS)
            client.convert(
                quote.quote_id,
                source_member_ref=f"member-{n}",
                target_member_ref=f"target-member-{n}",
                idempotency_key=f"trace-{n:08d}",
            )

        for n in range(args.warm):
            convert(n)
        tracer.enabled = True
        convert(args.warm)
        tracer.enabled = False

        console.print(
            f"[bold]One conversion (QuoteConversion + Convert) after {args.warm} others[/bold], "
            f"PostgreSQL database {name}, SERIALIZABLE"
        )
        selects: dict[str, Any] = {}
        for number, transaction in enumerate(tracer.transactions, 1):
            table = Table(
                title=f"transaction {number}: {len(transaction['statements'])} statements, {transaction['outcome']}",
                title_justify="left",
            )
            table.add_column("ms", justify="right")
            table.add_column("statement")
            for statement, params, many, elapsed in transaction["statements"]:
                table.add_row(f"{elapsed:.2f}", short_sql(statement) + (" [executemany]" if many else ""))
                if statement.lstrip().upper().startswith("SELECT") and statement not in selects:
                    selects[statement] = params
            console.print(table)
            locks = collections.Counter({f"{rel} ({kind})": count for rel, kind, count in transaction["locks"]})
            console.print(
                "  SIRead locks held at commit: "
                + (", ".join(f"{k} x{v}" for k, v in sorted(locks.items())) or "none"),
                soft_wrap=True,
            )
        statements = sum(len(t["statements"]) for t in tracer.transactions)
        round_trips = statements + 2 * len(tracer.transactions) + tracer.checkouts
        console.print(
            f"round trips to PostgreSQL: {statements} statements + {len(tracer.transactions)} BEGIN + "
            f"{len(tracer.transactions)} COMMIT + {tracer.checkouts} pool pre-ping = {round_trips}"
        )
        show_plans(database, selects, "as the hub ran them (tables not analysed yet)")
        with database.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        show_plans(database, selects, "after ANALYZE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
