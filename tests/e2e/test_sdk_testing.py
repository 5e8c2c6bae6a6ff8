"""partner_sdk.testing: the hub a brand runs inside its own tests behaves as the real one, and cleans up."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.store.database import Database
from partner_sdk import FailedPreconditionError, UnauthenticatedError
from partner_sdk.testing import LocalHub


def _port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_local_hub_serves_a_ready_coalition_and_leaves_nothing_behind() -> None:
    with LocalHub() as hub:
        shop, partner = hub.coalition("shop", "partner")
        port = hub.server.port
        folder = Path(str(hub.database.url.database)).parent
        quote = shop.client.quote_conversion("partner", 1_000)
        converted = shop.client.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="p-1")
        (credit,) = partner.client.pull_instructions(wait_s=0)
        assert (credit.conversion_id, credit.member_ref) == (converted.conversion_id, "p-1")
        assert partner.client.quote_conversion("shop", 1_000).target_partner_id == "shop"  # agreed both ways
        assert {p.partner_id: p.status for p in hub.operator().iter_partners()} == {
            "shop": "ACTIVE",
            "partner": "ACTIVE",
        }
    assert not _port_is_open(port)
    assert not folder.exists()


def test_a_brand_can_stay_pending_until_the_operator_approves_it() -> None:
    with LocalHub() as hub:
        newcomer = hub.brand("newcomer", approve=False)
        with pytest.raises(UnauthenticatedError):  # PARTNER_PENDING: it may not call yet
            newcomer.client.get_partner("newcomer")
        hub.operator().approve("newcomer")
        assert newcomer.client.get_partner("newcomer").status == "ACTIVE"


def test_the_hubs_clock_moves_the_hub_and_its_clients_together() -> None:
    with LocalHub() as hub:
        shop, _ = hub.coalition("shop", "partner")
        quote = shop.client.quote_conversion("partner", 1_000)
        hub.clock.advance(
            24 * 60 * 60 * 1000
        )  # a day later: the quote has expired, and the client's signature is fresh
        with pytest.raises(FailedPreconditionError):
            shop.client.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="p-1")


def test_a_database_passed_in_is_migrated_when_empty_and_kept(database: Database) -> None:
    with LocalHub(database) as hub:
        hub.coalition("shop", "partner")
    with database.engine.connect() as connection:
        from exchange.store.partners_repo import PartnerRepository

        assert {p.partner_id for p in PartnerRepository(connection).list_page(after="", limit=100, status=None)} >= {
            "shop",
            "partner",
        }


def test_without_the_hub_extra_the_import_says_what_to_install() -> None:
    code = "import sys; sys.modules['sqlalchemy'] = None\nimport partner_sdk.testing"
    failed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "pip install 'coalition-exchange[hub]'" in failed.stderr.splitlines()[-1]
