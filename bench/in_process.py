"""A hub served in this process on a fresh PostgreSQL database, with one source brand agreed with the target.

For the scripts that look inside one conversion (trace_conversion.py, round_trips.py): the hub's
code runs in the same interpreter, so they can watch its engine and its driver. No background
sweeps, and the risk limits out of the way, as in bench/run.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.brands import Brand, build_coalition
from bench.postgres import Postgres
from exchange.api.server import HubServer
from exchange.service.conversions import ConversionPolicy
from exchange.store.database import Database
from partner_sdk import ExchangeClient
from partner_sdk.testing import LocalHub


@dataclass(frozen=True)
class InProcessHub:
    """The database (its name on the server), the running hub, the source brand, and a client of that brand's."""

    name: str
    database: Database
    server: HubServer
    brand: Brand
    client: ExchangeClient


@contextmanager
def in_process_hub(admin_url: str, label: str) -> Iterator[InProcessHub]:
    """Create and migrate a database, serve it on a free loopback port, register and agree the brands.

    At the end the hub stops and the database is dropped, also on failure.
    """
    postgres = Postgres(admin_url)
    name = postgres.create(label)
    database = Database(postgres.url(name))
    try:
        with _serving(database) as (server, brand, client):
            yield InProcessHub(name, database, server, brand, client)
    finally:
        database.dispose()
        postgres.drop_all()


@contextmanager
def _serving(database: Database) -> Iterator[tuple[HubServer, Brand, ExchangeClient]]:
    policy = ConversionPolicy(member_conversions_per_hour=10**9, exposure_limit_minor=10**15)
    with LocalHub(database, policy=policy) as hub:
        [brand] = build_coalition(
            hub.target, hub_public_key=hub.hub_public_key, operator_key=hub.operator_key, sources=1
        )
        with ExchangeClient(
            hub.target,
            partner_id=brand.partner_id,
            key_id="k1",
            private_key=brand.key,
            hub_public_key=hub.hub_public_key,
        ) as client:
            yield hub.server, brand, client
