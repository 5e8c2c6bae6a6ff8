"""A coalition hub inside your own tests: the real hub code on a real gRPC port, set up in one line.

A brand's integration tests need a hub that answers as production does (signatures, refusals,
instructions, settlement) without a shared test environment. This module starts one in the test
process on an embedded SQLite database in a temporary folder (or on the database you pass), with
its own operator and hub keys, and registers ready brands::

    from partner_sdk.testing import LocalHub

    with LocalHub() as hub:
        stride, voltline = hub.coalition("stride", "voltline")   # registered, approved, agreed both ways
        quote = stride.client.quote_conversion("voltline", 1_000)
        stride.client.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="v-1")
        (credit,) = voltline.client.pull_instructions(wait_s=0)

It needs the hub's dependencies: ``pip install 'coalition-exchange[hub]'`` (the SDK alone does
not pull in the database stack). The hub's clock is ``hub.clock``: ``hub.clock.advance(ms)``
moves the hub and every client made here together, to pass a deadline without waiting. The
background sweeps are off, so nothing happens behind a test's back; the hub's own test suite,
its demonstration and its benchmark use this same class.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Self

try:
    from exchange.api.response_signing import HubSigner
    from exchange.api.server import HubConfig, HubServer
    from exchange.secrets.erasure_ledger import ErasureLedger
    from exchange.secrets.keyring import Keyring
    from exchange.service.authentication import OperatorKey
    from exchange.store import migrate
    from exchange.store.database import Database
except ImportError as missing:  # the SDK alone: say how to get the hub, not a bare ImportError
    raise ImportError(
        f"partner_sdk.testing runs a hub in your tests and needs its dependencies ({missing.name} is missing): "
        "pip install 'coalition-exchange[hub]'"
    ) from None
from partner_sdk import Agreement, AgreementTerms, ExchangeClient, OperatorClient, generate_private_key
from partner_sdk.keys import Ed25519PrivateKey, public_key_bytes
from partner_sdk.operator import operator_key_id

__all__ = ["HubClock", "LocalBrand", "LocalHub", "default_terms"]

DEFAULT_KEY_ID = "k1"


class HubClock:
    """The wall clock plus an offset a test moves forward, shared by the hub and its clients."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        """Return the current time in milliseconds since the epoch, moved by the offset."""
        return time.time_ns() // 1_000_000 + self.offset_ms

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime in whole milliseconds."""
        now_ms = self.now_ms()
        return datetime.fromtimestamp(now_ms // 1000, UTC) + timedelta(milliseconds=now_ms % 1000)

    def advance(self, ms: int) -> None:
        """Move the clock forward by ms milliseconds."""
        self.offset_ms += ms


@dataclass(frozen=True)
class LocalBrand:
    """A brand registered at a LocalHub: its id, its key, the key's id, its currency, a client signing as it."""

    partner_id: str
    key: Ed25519PrivateKey
    key_id: str
    settlement_currency: str
    client: ExchangeClient


def default_terms(
    source: str, target: str, *, settlement_currency: str, now: datetime, **changes: Any
) -> AgreementTerms:
    """Terms that work for most tests: 3 target points per 2 source points, a 1% fee, 30 days.

    settlement_currency must be the target brand's; changes replaces any other field.
    """
    terms = AgreementTerms(
        source_partner_id=source,
        target_partner_id=target,
        version=1,
        rate=Fraction(3, 2),
        min_source_points=10,
        max_source_points=100_000,
        source_increment=1,
        member_daily_cap_source_points=50_000,
        fee_basis_points=100,
        fee_fixed_points=None,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(days=30),
        settlement_price_minor=Fraction(1, 2),
        settlement_currency=settlement_currency,
    )
    return replace(terms, **changes)


class LocalHub:
    """A hub serving on a free loopback port of this process until stop() (or the end of a with block).

    Args:
        database: where the hub keeps its books; default a migrated SQLite file in a temporary
            folder, removed at stop(). A database you pass is migrated if it is empty, and kept.
        clock: the hub's clock, shared with every client made here; default a HubClock.
        operator_key, signer: the operator's key and the hub's response signer; default fresh ones.
        options: any other HubConfig field (policy, keyring, erasures, workers, tls, group_commit, ...).
    """

    def __init__(
        self,
        database: Database | None = None,
        *,
        clock: HubClock | None = None,
        operator_key: Ed25519PrivateKey | None = None,
        signer: HubSigner | None = None,
        **options: Any,
    ) -> None:
        self._database = database
        self.clock = clock or HubClock()
        self.operator_key = operator_key or generate_private_key()
        self.signer = signer or HubSigner.from_key(generate_private_key())
        self.options = options
        self.clients: list[ExchangeClient | OperatorClient] = []
        self._server: HubServer | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._made_database = False

    def start(self) -> Self:
        """Migrate the database if it is empty, bind a free port and serve."""
        options = dict(self.options)
        if self._database is None or "keyring" not in options or "erasures" not in options:
            # A folder only for what this hub makes itself, removed at stop().
            self._folder = self._folder or tempfile.TemporaryDirectory(prefix="coalition-local-hub-")
            folder = Path(self._folder.name)
            if self._database is None:
                self._database = Database(f"sqlite:///{folder / 'exchange.sqlite3'}")
                self._made_database = True
            if "keyring" not in options:
                options["keyring"] = Keyring.load_or_create(folder / "keyring.json")[0]
            if "erasures" not in options:
                options["erasures"] = ErasureLedger(folder / "erasures.jsonl")
        assert self._database is not None
        if migrate.schema_state(self._database) is migrate.SchemaState.EMPTY:
            migrate.upgrade(self._database)
        public = public_key_bytes(self.operator_key)
        config = HubConfig(
            database=self._database,
            operator_keys=[OperatorKey(operator_key_id(public), public)],
            signer=self.signer,
            listen="127.0.0.1:0",
            background_sweeps=False,
        )
        self._server = HubServer(replace(config, **options), clock=self.clock)
        self._server.start()
        return self

    def stop(self, grace_s: float = 1) -> None:
        """Close the clients made here, stop serving (in-flight calls finish), remove what start() made."""
        for client in self.clients:
            client.close()
        self.clients.clear()
        if self._server is not None:
            self._server.stop(grace_s=grace_s)
            self._server = None
        if self._made_database and self._database is not None:
            self._database.dispose()
            self._database, self._made_database = None, False
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def take_down(self, grace_s: float = 0.5) -> None:
        """Stop serving, as an outage would (calls in flight finish); bring_back() serves again."""
        self.server.stop(grace_s=grace_s)

    def bring_back(self) -> None:
        """Serve again after take_down(), on the same port, database, keys and clock."""
        stopped = self.server
        self._server = HubServer(replace(stopped.config, listen=f"127.0.0.1:{stopped.port}"), clock=self.clock)
        self._server.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def server(self) -> HubServer:
        """The running HubServer (its port, its context, expire_overdue_once, ...)."""
        if self._server is None:
            raise RuntimeError("the hub is not started: use `with LocalHub() as hub` or hub.start()")
        return self._server

    @property
    def database(self) -> Database:
        """The hub's database."""
        if self._database is None:
            raise RuntimeError("the hub is not started: use `with LocalHub() as hub` or hub.start()")
        return self._database

    @property
    def target(self) -> str:
        """The hub's address, for ExchangeClient(target, ...)."""
        return f"127.0.0.1:{self.server.port}"

    @property
    def hub_public_key(self) -> bytes:
        """The hub's response-signing key, to pin in clients."""
        return self.signer.public_key

    def operator(self) -> OperatorClient:
        """A client signing as the coalition operator (approve, suspend, close periods, ...)."""
        client = OperatorClient(self.target, private_key=self.operator_key, hub_public_key=self.hub_public_key)
        client.transport.clock_ms = self.clock.now_ms
        self.clients.append(client)
        return client

    def client(
        self, partner_id: str, key: Ed25519PrivateKey, key_id: str = DEFAULT_KEY_ID, **options: Any
    ) -> ExchangeClient:
        """A client signing as partner_id with key, on the hub's clock, closed when the hub stops."""
        client = ExchangeClient(
            self.target,
            partner_id=partner_id,
            key_id=key_id,
            private_key=key,
            hub_public_key=self.hub_public_key,
            **options,
        )
        client.transport.clock_ms = self.clock.now_ms
        self.clients.append(client)
        return client

    def brand(
        self,
        partner_id: str,
        *,
        settlement_currency: str = "EUR",
        point_value_minor: Fraction = Fraction(1, 2),
        point_currency: str | None = None,
        approve: bool = True,
    ) -> LocalBrand:
        """Register a brand with a fresh key (and approve it, unless approve=False: it stays PENDING)."""
        key = generate_private_key()
        client = self.client(partner_id, key)
        client.register(
            display_name=partner_id.title(),
            point_currency=point_currency or partner_id[:4].upper().replace("-", "X"),
            settlement_currency=settlement_currency,
            point_value_minor=point_value_minor,
        )
        if approve:
            self.operator().approve(partner_id)
        return LocalBrand(partner_id, key, DEFAULT_KEY_ID, settlement_currency, client)

    def agree(self, source: LocalBrand, target: LocalBrand, **terms: Any) -> Agreement:
        """The source brand proposes default_terms (as changed by terms), the target accepts: the agreement in force."""
        proposed = source.client.propose_agreement(
            default_terms(
                source.partner_id,
                target.partner_id,
                settlement_currency=terms.pop("settlement_currency", target.settlement_currency),
                now=self.clock.now(),
                **terms,
            )
        )
        return target.client.accept_agreement(proposed.agreement_id)

    def coalition(self, *partner_ids: str, **terms: Any) -> list[LocalBrand]:
        """Brands registered and approved, with an agreement in force from each to each other."""
        brands = [self.brand(partner_id) for partner_id in partner_ids]
        for source in brands:
            for target in brands:
                if source is not target:
                    self.agree(source, target, **terms)
        return brands
