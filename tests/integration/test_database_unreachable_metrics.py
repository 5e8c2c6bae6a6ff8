"""While the database is unreachable: /metrics still answers (coalition_db_up 0, no traceback), /ready and the
services' health say not ready, liveness stays SERVING; all of it comes back when the database does."""

from __future__ import annotations

import logging
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import sqlalchemy
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from exchange.api import readiness
from exchange.api.conversion_service import CONVERSION_SERVICE
from exchange.api.registry_service import REGISTRY_SERVICE
from exchange.api.response_signing import HubSigner
from exchange.api.server import HubConfig, HubServer
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.service.authentication import OperatorKey
from exchange.store import migrate
from exchange.store.database import Database
from partner_sdk import NO_RETRY, ExchangeClient, UnavailableError, generate_private_key, public_key_bytes
from partner_sdk.operator import operator_key_id
from tests import conftest

FAST_PROBE_S = 0.2
SETTLE_S = 10.0  # how long the hub may take to notice a change (probe interval, probe timeout, reconnects)


@dataclass
class Outage:
    """A hub serving metrics, and how to take its database away and give it back."""

    server: HubServer
    database: Database
    cut: Callable[[], None]
    restore: Callable[[], None]

    @property
    def metrics(self) -> str:
        return f"http://127.0.0.1:{self.server.metrics_port}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.metrics + path, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def health(self, service: str) -> str:
        with grpc.insecure_channel(f"127.0.0.1:{self.server.port}") as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=5
            )
        return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)


def _hub(database: Database) -> HubServer:
    operator = public_key_bytes(generate_private_key())
    server = HubServer(
        HubConfig(
            database=database,
            operator_keys=[OperatorKey(operator_key_id(operator), operator)],
            signer=HubSigner.from_key(generate_private_key()),
            listen="127.0.0.1:0",
            metrics_listen="127.0.0.1:0",
            workers=4,
            background_sweeps=False,
            keyring=conftest.test_keyring(),
            erasures=ErasureLedger(Path(tempfile.mkdtemp(prefix="coalition-erasures-")) / "erasures.jsonl"),
        )
    )
    server.start()
    return server


@pytest.fixture
def sqlite_outage(tmp_path: Path) -> Iterator[Outage]:
    home = tmp_path / "db"
    away = tmp_path / "db.away"
    database = Database(f"sqlite:///{home / 'exchange.sqlite3'}")
    migrate.upgrade(database)
    server = _hub(database)

    def cut() -> None:
        # Root opens any file whatever its mode, so the path itself must stop leading to a database:
        # the directory moves away and a plain file takes its name. The pool is dropped, as it is when
        # its connections are recycled, so calls need a new connection and really fail.
        home.rename(away)
        home.write_text("not a directory")
        database.dispose()

    def restore() -> None:
        home.unlink()
        away.rename(home)

    yield Outage(server, database, cut, restore)
    server.stop(grace_s=1)


@pytest.fixture
def postgresql_outage(postgres_admin_url: str) -> Iterator[Outage]:
    name = f"coalition_outage_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False))
    migrate.upgrade(database)
    server = _hub(database)

    def cut() -> None:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                sqlalchemy.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )

    def restore() -> None:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

    yield Outage(server, database, cut, restore)
    server.stop(grace_s=1)
    restore()
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Outage:
    monkeypatch.setattr(readiness, "READINESS_INTERVAL_S", FAST_PROBE_S)
    fixture: Outage = request.getfixturevalue(f"{request.param}_outage")
    return fixture


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"never {what}")
        time.sleep(0.05)


def _db_up(text: str) -> str | None:
    return next((line.split()[-1] for line in text.splitlines() if line.startswith("coalition_db_up ")), None)


def test_an_unreachable_database_is_not_ready_but_alive_and_metrics_still_answer(
    outage: Outage, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    assert outage.get("/ready") == (200, "ready\n")
    status, text = outage.get("/metrics")
    assert status == 200 and _db_up(text) == "1.0"
    assert outage.health(CONVERSION_SERVICE) == "SERVING"

    outage.cut()
    caplog.set_level(logging.INFO)
    status, text = outage.get("/metrics")
    assert status == 200, text
    assert _db_up(text) == "0.0"
    assert "coalition_requests_total" in text or "coalition_request_seconds" in text or "# HELP" in text
    assert "coalition_conversions_by_state{" not in text  # absent, not stale
    ready, reason = outage.get("/ready")
    assert ready == 503 and reason.startswith("not ready: database unreachable") and reason.count("\n") == 1
    _eventually(lambda: outage.health(CONVERSION_SERVICE) == "NOT_SERVING", "NOT_SERVING per service")
    assert outage.health(REGISTRY_SERVICE) == "NOT_SERVING"
    assert outage.health("") == "SERVING"  # liveness: the process serves; restarting it would not help
    client = ExchangeClient(
        f"127.0.0.1:{outage.server.port}",
        partner_id="stride",
        key_id="k1",
        private_key=generate_private_key(),
        hub_public_key=outage.server.config.signer.public_key,
        retry=NO_RETRY,
    )
    with pytest.raises(UnavailableError):
        client.get_partner("stride")
    client.close()
    outage.get("/metrics")  # a second scrape in the outage: its warning is held back
    warnings = [r for r in caplog.records if r.name == "exchange.metrics" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage() and warnings[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info and r.name in {"exchange.metrics", "exchange.readiness"}]
    assert "Traceback" not in caplog.text + capfd.readouterr().err

    outage.restore()
    _eventually(lambda: outage.get("/ready") == (200, "ready\n"), "ready again")
    _eventually(lambda: outage.health(CONVERSION_SERVICE) == "SERVING", "SERVING again per service")
    status, text = outage.get("/metrics")
    assert status == 200 and _db_up(text) == "1.0"


def test_a_hub_without_a_keyring_is_not_ready(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'exchange.sqlite3'}")
    migrate.upgrade(database)
    server = HubServer(
        HubConfig(
            database=database,
            operator_keys=[],
            signer=HubSigner.from_key(generate_private_key()),
            listen="127.0.0.1:0",
            metrics_listen="127.0.0.1:0",
            background_sweeps=False,
        )
    )
    server.start()
    try:
        outage = Outage(server, database, lambda: None, lambda: None)
        assert outage.get("/ready") == (503, "not ready: no keyring loaded\n")
        assert outage.health(REGISTRY_SERVICE) == "NOT_SERVING"
        assert outage.health("") == "SERVING"
    finally:
        server.stop(grace_s=1)
