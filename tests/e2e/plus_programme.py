"""Coalition Plus, the joint membership the membership tests sell: its terms and a coalition that signed them.

Stride sells "Coalition Plus" with Voltline (5 % off and a monthly voucher Stride funds) and
Brewhaus (a free coffee a week, free delivery): yearly at 888.00, or 88.00 for members Stride
scores 1,000 or more, monthly at 9.00. Voltline is paid a tenth of every fee, Brewhaus a fixed
5.00 of a yearly fee and 0.50 of a monthly one; Stride keeps the rest. Cancelling refunds the
unused whole days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from fractions import Fraction

import sqlalchemy

from partner_sdk import ExchangeClient
from partner_sdk.memberships import (
    FixedShare,
    FreeDelivery,
    MembershipTerms,
    PartnerTerms,
    PercentageDiscount,
    PriceTier,
    RatioShare,
    TermOffer,
    TextBenefit,
    Vouchers,
)
from tests.conftest import RunningHub

DAY_MS = 86_400_000
PLUS = "coalition-plus"


def plus_terms(hub: RunningHub, **changes: object) -> MembershipTerms:
    now = hub.clock.now()
    terms = MembershipTerms(
        programme_id=PLUS,
        version=1,
        name="Coalition Plus",
        seller_partner_id="stride",
        currency="EUR",
        offers=(
            TermOffer("MONTHLY", 900),
            TermOffer("YEARLY", 88_800, tiers=(PriceTier(min_score=1_000, fee_minor=8_800),)),
        ),
        partners=(
            PartnerTerms(
                "voltline",
                benefits=(
                    PercentageDiscount(basis_points=500, cap_minor=2_000),
                    Vouchers(1, "MONTHLY", 500, 30, "SELLER"),
                ),
                shares=(("MONTHLY", RatioShare(Fraction(1, 10))), ("YEARLY", RatioShare(Fraction(1, 10)))),
            ),
            PartnerTerms(
                "brewhaus",
                benefits=(TextBenefit("a free coffee every week"), FreeDelivery()),
                shares=(("MONTHLY", FixedShare(50)), ("YEARLY", FixedShare(500))),
            ),
        ),
        refund_rule="PRO_RATA",
        grace_days=7,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=800),
    )
    return replace(terms, **changes)  # type: ignore[arg-type]


@dataclass
class Coalition:
    hub: RunningHub
    stride: ExchangeClient
    voltline: ExchangeClient
    brewhaus: ExchangeClient

    def count(self, table: sqlalchemy.Table) -> int:
        with self.hub.database.engine.connect() as connection:
            return int(connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(table)).scalar_one())

    def link(self, partner: ExchangeClient, stride_ref: str, partner_ref: str) -> None:
        code = self.stride.create_link_code(stride_ref)
        partner.redeem_link_code(code.code, member_ref=partner_ref)
