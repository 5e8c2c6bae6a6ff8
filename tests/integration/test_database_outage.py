"""The database going away mid-call is UNAVAILABLE (resend it), never INTERNAL, and the resend is answered once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import OperationalError

from exchange.domain.errors import Unavailable
from exchange.store.database import Database
from exchange.store.tables import instructions
from partner_sdk import NO_RETRY, UnavailableError
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair


def test_a_database_that_cannot_be_reached_is_unavailable() -> None:
    database = Database("postgresql+psycopg://coalition@127.0.0.1:1/nowhere?connect_timeout=2")
    with pytest.raises(Unavailable) as refused:
        database.run(lambda connection: connection.execute(sqlalchemy.text("SELECT 1")).scalar())
    assert refused.value.reason == "DATABASE_UNAVAILABLE"
    database.dispose()


def test_a_broken_sqlite_statement_is_not_taken_for_an_outage(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(OperationalError):
        database.run(lambda connection: connection.execute(sqlalchemy.text("SELECT * FROM no_such_table")).all())
    database.dispose()


@pytest.mark.postgres
def test_a_call_whose_connection_is_killed_is_unavailable_and_its_resend_happens_once(
    postgres_hub: RunningHub,
) -> None:
    hub = postgres_hub
    pair = accepted_pair(hub)
    conversion = pair.convert(100)
    credit = pair.only_instruction(pair.target)
    impatient = hub.client("voltline", pair.target.transport.private_key, retry=NO_RETRY)
    url = hub.database.url.render_as_string(hide_password=False)
    blocker = sqlalchemy.create_engine(url)
    with blocker.connect() as holder:
        holder.execute(
            sqlalchemy.select(instructions.c.instruction_id)
            .where(instructions.c.instruction_id == credit.instruction_id)
            .with_for_update()
        )
        answers: list[BaseException | str] = []

        def acknowledge() -> None:
            try:
                answers.append(impatient.acknowledge_instruction(credit.instruction_id, partner_reference="l-1").state)
            except Exception as exc:
                answers.append(exc)

        waiting = threading.Thread(target=acknowledge)
        waiting.start()
        with blocker.connect() as admin:
            for _ in range(500):
                killed = admin.execute(
                    sqlalchemy.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                ).all()
                admin.rollback()
                if killed:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the acknowledgement never came to wait on the locked instruction")
        waiting.join(timeout=30)
        holder.rollback()
    blocker.dispose()
    (answer,) = answers
    assert isinstance(answer, UnavailableError), answer
    assert answer.reason == "DATABASE_UNAVAILABLE"
    assert answer.retry_delay_s is not None
    assert pair.source.get_conversion(conversion.conversion_id).state == "PENDING_CREDIT"  # nothing half-written
    assert pair.target.acknowledge_instruction(credit.instruction_id, partner_reference="l-1").state == "ACKNOWLEDGED"
    assert pair.source.get_conversion(conversion.conversion_id).state == "COMPLETED"


@pytest.mark.postgres
def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exchange.store import database as database_module

    database = Database(postgres_url, pool_size=1)
    try:
        backend = database.run(lambda c: c.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar_one())
        admin = sqlalchemy.create_engine(postgres_url)
        with admin.connect() as connection:
            assert connection.execute(sqlalchemy.text(f"SELECT pg_terminate_backend({int(backend)})")).scalar_one()
            connection.commit()
        admin.dispose()
        monkeypatch.setattr(database_module, "IDLE_BEFORE_PING_S", 0.0)  # every checkout counts as idle
        fresh = database.run(lambda c: c.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar_one())
        assert fresh != backend  # the dead connection was pinged, dropped and replaced: no UNAVAILABLE
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_write_refused_by_a_read_only_server_is_unavailable_not_internal(postgres_url: str) -> None:
    """What a standby, or a primary being demoted in a failover, answers a write: resend it (UNAVAILABLE)."""
    database = Database(postgres_url)

    def write_on_a_read_only_server(connection: sqlalchemy.Connection) -> None:
        connection.execute(sqlalchemy.text("SET TRANSACTION READ ONLY"))
        connection.execute(sqlalchemy.text("CREATE TEMPORARY TABLE failover_probe (x int)"))
        connection.execute(sqlalchemy.text("INSERT INTO hub_settings (name, value) VALUES ('probe', 'x')"))

    with pytest.raises(Unavailable) as refused:
        database.run(write_on_a_read_only_server)
    assert refused.value.reason == "DATABASE_UNAVAILABLE"
    database.dispose()


@pytest.mark.postgres
def test_a_write_refused_as_read_only_drops_the_pool_so_the_next_call_connects_afresh(postgres_url: str) -> None:
    """After a failover the old primary's connections refuse writes: none of them may be used again."""
    database = Database(postgres_url, pool_size=1)
    try:
        backend = database.run(lambda c: c.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar_one())

        def write_on_a_read_only_server(connection: sqlalchemy.Connection) -> None:
            connection.execute(sqlalchemy.text("SET TRANSACTION READ ONLY"))
            connection.execute(sqlalchemy.text("INSERT INTO hub_settings (name, value) VALUES ('probe', 'x')"))

        with pytest.raises(Unavailable):
            database.run(write_on_a_read_only_server)
        fresh = database.run(lambda c: c.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar_one())
        assert fresh != backend
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_multi_host_url_reaches_the_writable_server_past_one_that_is_down(postgres_url: str) -> None:
    """libpq's several hosts, as SQLAlchemy with psycopg takes them; the first is down, the second writable."""
    url = sqlalchemy.make_url(postgres_url)
    first_down = (
        f"postgresql+psycopg://{url.username or 'postgres'}@/{url.database}"
        f"?host=127.0.0.1:1&host={url.host}:{url.port or 5432}&target_session_attrs=read-write"
    )
    database = Database(first_down)
    assert database.run(lambda c: c.execute(sqlalchemy.text("SELECT pg_is_in_recovery()")).scalar()) is False
    database.dispose()
