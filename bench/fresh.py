"""A fresh hub for one measured run: a database (or SQLite file) of its own, `coalition serve`, the coalition."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.brands import Brand, build_coalition
from bench.console import console
from bench.hub import HubProcess
from bench.postgres import Postgres


@dataclass(frozen=True)
class FreshHub:
    """A started hub on a database of its own, with the benchmark's brands registered and agreed."""

    hub: HubProcess
    brands: list[Brand]
    database: str  # the PostgreSQL database's name; empty for SQLite
    sqlite_path: Path | None


@contextlib.contextmanager
def fresh_hub(
    *,
    backend: str,
    postgres: Postgres,
    workdir: Path,
    label: str,
    sources: int,
    workers: int,
    hub_processes: int | None,
    group_commit: bool,
) -> Iterator[FreshHub]:
    """Create the database, start the hub on it (refused unless durable), build the coalition; stop the hub at the end.

    The database is dropped with every other one by `Postgres.drop_all`, so its rows can be
    counted after the hub stopped. On a failure the hub's log tail is printed.
    """
    hub_dir = workdir / f"{backend}-{label}-{uuid.uuid4().hex[:6]}"
    sqlite_path: Path | None = None
    if backend == "postgresql":
        name = postgres.create(label)
        durable = postgres.durable(name)
        if durable["synchronous_commit"] != "on" or durable["fsync"] != "on":
            raise SystemExit(f"refusing to benchmark a non-durable database: {durable}")
        url = postgres.url(name)
    else:
        name = ""
        sqlite_path = hub_dir / "exchange.sqlite3"
        url = f"sqlite:///{sqlite_path}"
    hub = HubProcess(url, hub_dir, workers=workers, processes=hub_processes, group_commit=group_commit)
    try:
        hub.start()
        brands = build_coalition(
            hub.target, hub_public_key=hub.hub_public_key, operator_key=hub.operator_key, sources=sources
        )
        yield FreshHub(hub, brands, name, sqlite_path)
    except Exception:
        console.print(f"[red]hub log ({hub.log_path}):[/red]\n{hub.log_tail()}", markup=True)
        raise
    finally:
        hub.stop()
