"""Races on PostgreSQL across two hub processes: a voucher redeemed once, a member enrolled once, matched once."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy

from exchange.store.tables import memberships, movements, status_matches
from partner_sdk import ExchangeClient, ExchangeError, save_private_key
from partner_sdk.status_match import Tier
from tests import conftest
from tests.conftest import RunningHub
from tests.e2e.plus_programme import PLUS, Coalition, plus_terms
from tests.e2e.status_match_pair import Pair, match_terms
from tests.e2e.test_cli import _free_port, _wait_healthy

RACERS = 8


@pytest.fixture
def plus_on_two_hubs(postgres_hub: RunningHub, tmp_path: Path) -> Iterator[tuple[Coalition, Coalition]]:
    """Coalition Plus signed at the in-process hub, and the same three brands' clients at a second hub process."""
    hub = postgres_hub
    brands = {name: hub.brand(name) for name in ("stride", "voltline", "brewhaus")}
    first = Coalition(hub, *(brand.client for brand in brands.values()))
    proposed = first.stride.propose_membership_agreement(plus_terms(hub))
    first.voltline.sign_membership_agreement(proposed.agreement_id)
    first.brewhaus.sign_membership_agreement(proposed.agreement_id)
    process, port = _second_hub(hub, tmp_path)
    try:
        clients = [
            ExchangeClient(
                f"127.0.0.1:{port}",
                partner_id=brand.partner_id,
                key_id=brand.key_id,
                private_key=brand.key,
                hub_public_key=hub.hub_public_key,
            )
            for brand in brands.values()
        ]
        yield first, Coalition(hub, *clients)
        for client in clients:
            client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_a_voucher_raced_at_two_hub_processes_is_redeemed_once_and_paid_once(
    plus_on_two_hubs: tuple[Coalition, Coalition],
) -> None:
    first, second = plus_on_two_hubs
    first.link(first.voltline, "s-race", "v-race")
    membership = first.stride.enrol(PLUS, member_ref="s-race", term="YEARLY", fee_minor=88_800)
    (voucher,) = first.voltline.list_vouchers(membership.membership_id).items
    clients = [first.voltline, second.voltline] * (RACERS // 2)
    outcomes = _race(lambda i: clients[i].redeem_voucher(voucher.voucher_id, reference=f"order-{i}"))
    assert outcomes == {"OK": 1, "VOUCHER_ALREADY_REDEEMED": RACERS - 1}
    assert _count(first, movements, movements.c.kind == "VOUCHER_REDEMPTION") == 1


def test_a_member_raced_into_enrolment_at_two_hub_processes_is_enrolled_once(
    plus_on_two_hubs: tuple[Coalition, Coalition],
) -> None:
    first, second = plus_on_two_hubs
    clients = [first.stride, second.stride] * (RACERS // 2)
    outcomes = _race(lambda i: clients[i].enrol(PLUS, member_ref="s-twice", term="MONTHLY", fee_minor=900))
    assert outcomes == {"OK": 1, "ALREADY_ENROLLED": RACERS - 1}
    assert _count(first, memberships, memberships.c.member_ref == "s-twice") == 1
    assert _count(first, movements, movements.c.kind == "MEMBERSHIP_FEE_SHARE") == 2  # a share for each partner


def _race(action: Callable[[int], object]) -> Counter[str]:
    def outcome(i: int) -> str:
        try:
            action(i)
        except ExchangeError as error:
            return error.reason or error.code
        return "OK"

    with ThreadPoolExecutor(RACERS) as pool:
        return Counter(pool.map(outcome, range(RACERS)))


def _count(coalition: Coalition | Pair, table: sqlalchemy.Table, condition: sqlalchemy.ColumnElement[bool]) -> int:
    with coalition.hub.database.engine.connect() as connection:
        query = sqlalchemy.select(sqlalchemy.func.count()).select_from(table).where(condition)
        return int(connection.execute(query).scalar_one())


def _second_hub(hub: RunningHub, tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """`coalition serve` on the same database, keys and keyring."""
    save_private_key(tmp_path / "operator.pem", hub.operator_key)
    save_private_key(tmp_path / "hub.pem", hub.signer.private_key)
    conftest.test_keyring().save(tmp_path / "keyring.json")
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
            "--keyring",
            str(tmp_path / "keyring.json"),
            "--var-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_healthy(f"127.0.0.1:{port}", process)
    return process, port


def test_a_member_raced_into_a_status_match_at_two_hub_processes_is_matched_once(
    postgres_hub: RunningHub, tmp_path: Path
) -> None:
    hub = postgres_hub
    voltline, brewhaus = hub.brand("voltline"), hub.brand("brewhaus")
    pair = Pair(hub, voltline.client, brewhaus.client)
    voltline.client.publish_tier_ladder([Tier("silver", "Silver"), Tier("gold", "Gold")])
    brewhaus.client.publish_tier_ladder([Tier("bronze", "Bronze"), Tier("silver", "Silver")])
    proposed = brewhaus.client.propose_match_agreement(match_terms(hub, mapping=(("gold", "silver"),)))
    voltline.client.accept_match_agreement(proposed.agreement_id)
    pair.member("v-race")
    process, port = _second_hub(hub, tmp_path)
    try:
        other = ExchangeClient(
            f"127.0.0.1:{port}",
            partner_id="brewhaus",
            key_id=brewhaus.key_id,
            private_key=brewhaus.key,
            hub_public_key=hub.hub_public_key,
        )
        clients = [brewhaus.client, other] * (RACERS // 2)
        outcomes = _race(lambda i: clients[i].request_status_match("b-v-race", counterparty_partner_id="voltline"))
        other.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert outcomes == {"OK": 1, "ALREADY_MATCHED": RACERS - 1}
    assert _count(pair, status_matches, status_matches.c.member_id != "") == 1
    told = [i.kind for i in brewhaus.client.pull_instructions(wait_s=0)]
    assert told == ["TIER_MATCHED"]
