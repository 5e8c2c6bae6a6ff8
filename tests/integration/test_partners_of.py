"""partners_of: the two partners of a movement, and a refusal that names the one missing."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from exchange.domain.errors import FailedPrecondition, NotFound
from exchange.domain.money import Ratio
from exchange.domain.partners import Partner, PartnerStatus
from exchange.service.conversions import partners_of
from exchange.store.database import Database
from exchange.store.partners_repo import PartnerRepository


def _partner(partner_id: str, status: PartnerStatus = PartnerStatus.ACTIVE) -> Partner:
    return Partner(
        partner_id=partner_id,
        display_name=partner_id.title(),
        point_currency=partner_id[:4].upper(),
        settlement_currency="EUR",
        point_value_minor=Ratio(1, 2),
        status=status,
        keys=(),
        created_at_ms=1,
        status_changed_at_ms=1,
    )


def _add(database: Database, *partners: Partner) -> None:
    def add(connection: Connection) -> None:
        for partner in partners:
            PartnerRepository(connection).add(partner)

    database.run(add)


def test_a_missing_source_partner_is_named_as_the_source_not_the_target(database: Database) -> None:
    _add(database, _partner("voltline"))
    with pytest.raises(NotFound) as refused:
        database.run(lambda connection: partners_of(PartnerRepository(connection), "stride", "voltline"))
    assert refused.value.reason == "PARTNER_NOT_FOUND"
    assert "'stride'" in refused.value.message
    assert "voltline" not in refused.value.message
    assert refused.value.field != "target_partner_id"


@pytest.mark.parametrize("require_active", [True, False])
def test_a_missing_target_partner_is_named_as_the_target(database: Database, require_active: bool) -> None:
    _add(database, _partner("stride"))
    with pytest.raises(NotFound) as refused:
        database.run(lambda c: partners_of(PartnerRepository(c), "stride", "voltline", require_active=require_active))
    assert "'voltline'" in refused.value.message
    assert refused.value.field == "target_partner_id"


def test_a_target_that_is_not_active_receives_nothing_new_but_is_found_for_an_unwinding(database: Database) -> None:
    _add(database, _partner("stride"), _partner("voltline", PartnerStatus.SUSPENDED))
    with pytest.raises(FailedPrecondition, match="'voltline' is SUSPENDED"):
        database.run(lambda connection: partners_of(PartnerRepository(connection), "stride", "voltline"))
    source, target = database.run(
        lambda c: partners_of(PartnerRepository(c), "stride", "voltline", require_active=False)
    )
    assert (source.partner_id, target.partner_id) == ("stride", "voltline")
