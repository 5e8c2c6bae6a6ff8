"""A call stuck on a row lock does not hold the hub past its grace period, and is not committed behind its caller's
back: the hub cancels it at the deadline, and the same signed bytes resent to another hub convert exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy

from coalition.exchange.v1 import conversions_pb2
from exchange.api.server import STOP_MARGIN_S
from exchange.domain.errors import Aborted, Unavailable
from exchange.store.database import Database
from exchange.store.tables import conversions, partners
from partner_sdk import NO_RETRY, AbortedError, ExchangeClient
from partner_sdk.keys import save_private_key
from tests import conftest
from tests.conftest import RunningHub, configured_hub
from tests.e2e.money import Pair, accepted_pair
from tests.e2e.test_cli import _free_port, _wait_healthy

pytestmark = pytest.mark.postgres

CONVERT = "/coalition.exchange.v1.ConversionService/Convert"
GRACE_S = 1.0
EXIT_SLACK_S = 2.0  # a process's own exit (interpreter teardown) on top of the hub's grace + margin
LOCK_HELD_AT_MOST_S = 20.0  # today's hub waited for the lock to go: the test lets it go after this
WAIT_FOR_LOCK_S = 15.0


@contextmanager
def _source_partner_locked(url: str) -> Iterator[sqlalchemy.Connection]:
    """Hold the source partner's row lock (FOR UPDATE) in a connection of the test's own, as a stuck writer would."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as holder:
            holder.execute(
                sqlalchemy.select(partners.c.partner_id).where(partners.c.partner_id == "stride").with_for_update()
            )
            try:
                yield holder
            finally:
                holder.rollback()
    finally:
        engine.dispose()


def _waiting_on_a_lock(url: str) -> int:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    sqlalchemy.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _terminate(url: str, pid: int) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()


def _until(condition: Callable[[], bool], what: str, within_s: float = WAIT_FOR_LOCK_S) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never {what}")
        time.sleep(0.02)


def _conversions(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(conversions)).scalar_one())


def _signed_convert(pair: Pair) -> tuple[bytes, list[tuple[str, str]], str]:
    quote = pair.source.quote_conversion("voltline", 100)
    body = conversions_pb2.ConvertRequest(
        quote_id=quote.quote_id, source_member_ref="m-1", target_member_ref="v-1", idempotency_key="grace-convert-1"
    ).SerializeToString()
    headers = pair.source.transport.sign(CONVERT, body)
    return body, list(headers.as_metadata()), headers.nonce


def _send_in_background(client: ExchangeClient, signed: tuple[bytes, list[tuple[str, str]], str]) -> list[object]:
    answers: list[object] = []

    def send() -> None:
        try:
            answers.append(client.transport.send(CONVERT, *signed, conversions_pb2.ConvertResponse))
        except Exception as exc:
            answers.append(exc)

    threading.Thread(target=send, daemon=True).start()
    return answers


def _impatient(hub: RunningHub, pair: Pair, target: str) -> ExchangeClient:
    client = ExchangeClient(
        target,
        partner_id="stride",
        key_id="k1",
        private_key=pair.source.transport.private_key,
        hub_public_key=hub.hub_public_key,
        retry=NO_RETRY,
    )
    client.transport.clock_ms = hub.clock.now_ms
    return client


def _resent_converts_once(hub: RunningHub, pair: Pair, signed: tuple[bytes, list[tuple[str, str]], str]) -> None:
    """The same bytes, resent to a running hub on the same database: one conversion, and its answer again after."""
    client = _impatient(hub, pair, hub.target)
    first = client.transport.send(CONVERT, *signed, conversions_pb2.ConvertResponse)
    again = client.transport.send(CONVERT, *signed, conversions_pb2.ConvertResponse)
    client.close()
    assert again == first
    assert _conversions(hub.database) == 1


def test_stop_cancels_a_call_stuck_on_a_row_lock_within_grace_and_the_resend_converts_once(
    postgres_hub: RunningHub,
) -> None:
    hub = postgres_hub
    url = hub.database.url.render_as_string(hide_password=False)
    pair = accepted_pair(hub)
    signed = _signed_convert(pair)
    client = _impatient(hub, pair, hub.target)
    with _source_partner_locked(url):
        answers = _send_in_background(client, signed)
        _until(lambda: _waiting_on_a_lock(url) > 0, "waited on the source partner's lock")
        started = time.monotonic()
        hub.server.stop(grace_s=GRACE_S)
        stopped_in_s = time.monotonic() - started
        assert stopped_in_s < GRACE_S + STOP_MARGIN_S, stopped_in_s
        assert _waiting_on_a_lock(url) == 0  # the stuck statement was cancelled, not left to wait
        _until(lambda: bool(answers), "answered the cut-off caller", within_s=5)
    assert isinstance(answers[0], Exception), answers  # cut off: UNAVAILABLE or CANCELLED
    time.sleep(0.5)  # had the call survived the cancel, it would commit now that the lock is gone
    assert _conversions(hub.database) == 0
    client.close()

    fresh = Database(url)
    restarted = configured_hub(fresh, hub.clock, operator_key=hub.operator_key, signer=hub.signer).start()
    try:
        _resent_converts_once(restarted, pair, signed)
    finally:
        restarted.stop()
        fresh.dispose()


def test_serve_exits_within_grace_while_a_call_waits_on_a_row_lock_and_the_call_is_not_committed(
    postgres_hub: RunningHub, tmp_path: Path
) -> None:
    hub = postgres_hub
    url = hub.database.url.render_as_string(hide_password=False)
    pair = accepted_pair(hub)
    save_private_key(tmp_path / "operator.pem", hub.operator_key)
    save_private_key(tmp_path / "hub.pem", hub.signer.private_key)
    conftest.test_keyring().save(tmp_path / "keyring.json")
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "coalition"), "serve", "--listen", f"127.0.0.1:{port}", "--db", url,
            "--operator-key", str(tmp_path / "operator.pem"), "--hub-key", str(tmp_path / "hub.pem"),
            "--keyring", str(tmp_path / "keyring.json"), "--var-dir", str(tmp_path), "--grace-s", str(GRACE_S),
            "--db-lock-timeout-s", "0",  # no lock timeout: only the cancel at the deadline ends the wait
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        _wait_healthy(f"127.0.0.1:{port}", process)
        signed = _signed_convert(pair)
        client = _impatient(hub, pair, f"127.0.0.1:{port}")
        with _source_partner_locked(url):
            answers = _send_in_background(client, signed)
            _until(lambda: _waiting_on_a_lock(url) > 0, "waited on the source partner's lock")
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                exit_code = process.wait(timeout=LOCK_HELD_AT_MOST_S)
            except subprocess.TimeoutExpired:
                exit_code = None
            exited_in_s = time.monotonic() - started
        output = process.communicate(timeout=30)[0] if exit_code is not None else ""
        assert exit_code == 0, output
        assert exited_in_s < GRACE_S + STOP_MARGIN_S + EXIT_SLACK_S, exited_in_s
        assert "Traceback" not in output
        _until(lambda: bool(answers), "answered the cut-off caller", within_s=5)
        assert isinstance(answers[0], Exception), answers
        time.sleep(0.5)
        assert _conversions(hub.database) == 0
        client.close()
        _resent_converts_once(hub, pair, signed)  # the fixture's hub, on the same database
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_lock_waited_on_past_the_lock_timeout_is_aborted_for_a_retry_not_internal(postgres_url: str) -> None:
    database = Database(postgres_url, lock_timeout_s=0.2)
    holder_engine = sqlalchemy.create_engine(postgres_url)
    try:
        with holder_engine.connect() as holder:
            holder.execute(sqlalchemy.text("LOCK TABLE partners IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(Aborted) as refused:
                database.run(lambda c: c.execute(sqlalchemy.select(partners.c.partner_id)).all())
            holder.rollback()
        assert refused.value.reason == "LOCK_TIMEOUT"
    finally:
        database.dispose()
        holder_engine.dispose()


def test_a_statement_past_the_statement_timeout_is_unavailable_for_a_resend_not_internal(postgres_url: str) -> None:
    database = Database(postgres_url, statement_timeout_s=0.2)
    with pytest.raises(Unavailable) as refused:
        database.run(lambda c: c.execute(sqlalchemy.text("SELECT pg_sleep(2)")).all())
    assert refused.value.reason == "DATABASE_TIMEOUT"
    database.dispose()


def test_a_convert_stuck_behind_a_row_lock_is_refused_as_aborted_with_a_retry_delay(postgres_hub: RunningHub) -> None:
    hub = postgres_hub
    url = hub.database.url.render_as_string(hide_password=False)
    pair = accepted_pair(hub)
    quote = pair.source.quote_conversion("voltline", 100)
    client = _impatient(hub, pair, hub.target)
    with _source_partner_locked(url) as holder:
        # Today's hub waited for as long as the lock was held: let it go after a while rather than hang.
        holder_pid = holder.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar_one()
        release = threading.Timer(LOCK_HELD_AT_MOST_S / 2, _terminate, (url, holder_pid))
        release.start()
        try:
            with pytest.raises(AbortedError) as refused:
                client.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="v-1")
        finally:
            release.cancel()
    assert refused.value.reason == "LOCK_TIMEOUT"
    assert refused.value.retry_delay_s is not None
    client.close()
    assert _conversions(hub.database) == 0
