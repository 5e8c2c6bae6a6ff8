"""Fixtures the end-to-end tests share: a coalition that signed Coalition Plus (tests/e2e/plus_programme.py)."""

from __future__ import annotations

import pytest

from tests.conftest import RunningHub
from tests.e2e.plus_programme import Coalition, plus_terms


@pytest.fixture
def plus_brands(hub: RunningHub) -> Coalition:
    stride, _ = hub.active_partner("stride")
    voltline, _ = hub.active_partner("voltline")
    brewhaus, _ = hub.active_partner("brewhaus")
    return Coalition(hub, stride, voltline, brewhaus)


@pytest.fixture
def plus(plus_brands: Coalition) -> Coalition:
    proposed = plus_brands.stride.propose_membership_agreement(plus_terms(plus_brands.hub))
    plus_brands.voltline.sign_membership_agreement(proposed.agreement_id)
    active = plus_brands.brewhaus.sign_membership_agreement(proposed.agreement_id)
    assert active.status == "ACTIVE"
    return plus_brands
