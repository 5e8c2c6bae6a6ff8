"""Caps, single-use quotes and idempotency hold under concurrent requests, also across two hub processes.

Each test runs twice: every call in a transaction of its own, and with group commit on (calls waiting
together share a transaction; exchange.store.group_commit), where a refused call must still fail alone.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from partner_sdk import ExchangeClient, ExchangeError, save_private_key
from partner_sdk.keys import Ed25519PrivateKey
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair
from tests.e2e.test_cli import _free_port, _wait_healthy

THREADS = 8


@pytest.fixture(params=[False, True], ids=["alone", "grouped"])
def group_commit(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _grouping(hub: RunningHub, group_commit: bool) -> Iterator[RunningHub]:
    hub.server.context.__dict__["group_commit"] = group_commit
    yield hub
    if group_commit:  # eight racing calls meet: some commit in a group, or are handed back to run alone
        group = hub.database.group_commit
        assert group.groups_committed + group.calls_handed_back > 0, "no call of this test was grouped"


@pytest.fixture
def hub(hub: RunningHub, group_commit: bool) -> Iterator[RunningHub]:
    yield from _grouping(hub, group_commit)


@pytest.fixture
def postgres_hub(postgres_hub: RunningHub, group_commit: bool) -> Iterator[RunningHub]:
    yield from _grouping(postgres_hub, group_commit)


def _outcome(action) -> str:  # type: ignore[no-untyped-def]
    try:
        action()
    except ExchangeError as error:
        return error.reason or error.code
    return "OK"


def test_the_daily_cap_holds_under_concurrent_conversions(hub: RunningHub) -> None:
    pair = accepted_pair(hub, member_daily_cap_source_points=1000, fee_basis_points=None)
    quotes = [pair.source.quote_conversion("voltline", 200) for _ in range(THREADS)]

    def convert(i: int) -> str:
        return _outcome(lambda: pair.source.convert(quotes[i].quote_id, source_member_ref="m", target_member_ref="v"))

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(convert, range(THREADS)))
    assert outcomes == {"OK": 5, "MEMBER_DAILY_CAP": 3}


def test_the_exposure_limit_holds_under_concurrent_conversions_of_many_members(hub: RunningHub) -> None:
    """Different members, one source brand: only the brand's row lock orders them (READ COMMITTED on PostgreSQL)."""
    pair = accepted_pair(hub, fee_basis_points=None)
    quotes = [pair.source.quote_conversion("voltline", 200) for _ in range(THREADS)]
    money = quotes[0].amounts.settlement_amount_minor
    fits = 5
    hub.server.context.__dict__["policy"] = replace(
        hub.server.context.policy, exposure_limit_minor=fits * money + money // 2
    )

    def convert(i: int) -> str:
        return _outcome(
            lambda: pair.source.convert(quotes[i].quote_id, source_member_ref=f"m-{i}", target_member_ref="v")
        )

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(convert, range(THREADS)))
    assert outcomes == {"OK": fits, "EXPOSURE_LIMIT": THREADS - fits}


def test_the_velocity_limit_holds_under_concurrent_conversions_of_one_member(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    quotes = [pair.source.quote_conversion("voltline", 100) for _ in range(THREADS)]
    hub.server.context.__dict__["policy"] = replace(hub.server.context.policy, member_conversions_per_hour=3)

    def convert(i: int) -> str:
        return _outcome(lambda: pair.source.convert(quotes[i].quote_id, source_member_ref="m", target_member_ref="v"))

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(convert, range(THREADS)))
    assert outcomes == {"OK": 3, "MEMBER_VELOCITY": THREADS - 3}


def test_a_quote_is_used_once_under_concurrent_conversions(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    quote = pair.source.quote_conversion("voltline", 200)

    def convert(i: int) -> str:
        return _outcome(
            lambda: pair.source.convert(
                quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key=f"race-key-{i:04d}"
            )
        )

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = Counter(pool.map(convert, range(THREADS)))
    assert outcomes == {"OK": 1, "QUOTE_ALREADY_USED": THREADS - 1}
    assert len(pair.target.pull_instructions(wait_s=0)) == 1


def test_one_idempotency_key_converts_once_under_concurrent_retries(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    quote = pair.source.quote_conversion("voltline", 200)
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(
            pool.map(
                lambda _: pair.source.convert(
                    quote.quote_id, source_member_ref="m", target_member_ref="v", idempotency_key="same-key-0001"
                ),
                range(THREADS),
            )
        )
    assert len({a.conversion_id for a in answers}) == 1
    assert len(pair.source.list_conversions().items) == 1


@pytest.mark.postgres
def test_two_hub_processes_on_one_postgresql_keep_the_cap_and_quotes(
    postgres_hub: RunningHub, group_commit: bool, tmp_path: Path
) -> None:
    hub = postgres_hub
    pair = accepted_pair(hub, member_daily_cap_source_points=1000, fee_basis_points=None)
    second = _second_hub(hub, tmp_path, group_commit=group_commit)
    try:
        target = f"127.0.0.1:{second[1]}"
        other_keys = _keys_of(pair.source)
        other = ExchangeClient(
            target,
            partner_id="stride",
            key_id="k1",
            private_key=other_keys,
            hub_public_key=hub.hub_public_key,
        )
        clients = [pair.source, other] * (THREADS // 2)
        quotes = [c.quote_conversion("voltline", 200) for c in clients]

        def convert(i: int) -> str:
            return _outcome(
                lambda: clients[i].convert(quotes[i].quote_id, source_member_ref="m", target_member_ref="v")
            )

        with ThreadPoolExecutor(THREADS) as pool:
            outcomes = Counter(pool.map(convert, range(THREADS)))
        assert outcomes == {"OK": 5, "MEMBER_DAILY_CAP": 3}
        quote = pair.source.quote_conversion("voltline", 10)
        racers = [pair.source, other, pair.source, other]
        with ThreadPoolExecutor(4) as pool:
            raced = Counter(
                pool.map(
                    lambda c: _outcome(
                        lambda: c.convert(quote.quote_id, source_member_ref="m-2", target_member_ref="v")
                    ),
                    racers,
                )
            )
        assert raced == {"OK": 1, "QUOTE_ALREADY_USED": 3}
        other.close()
    finally:
        second[0].send_signal(signal.SIGTERM)
        second[0].communicate(timeout=30)


def _keys_of(client: ExchangeClient) -> Ed25519PrivateKey:
    return client.transport.private_key


def _second_hub(hub: RunningHub, tmp_path: Path, *, group_commit: bool) -> tuple[subprocess.Popen[str], int]:
    save_private_key(tmp_path / "operator.pem", hub.operator_key)
    save_private_key(tmp_path / "hub.pem", hub.signer.private_key)
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "coalition"),
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--db",
            hub.database.url.render_as_string(hide_password=False),
            "--operator-key",
            str(tmp_path / "operator.pem"),
            "--hub-key",
            str(tmp_path / "hub.pem"),
            "--var-dir",
            str(tmp_path),
            "--group-commit" if group_commit else "--no-group-commit",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_healthy(f"127.0.0.1:{port}", process)
    return process, port
