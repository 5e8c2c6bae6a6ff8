"""The benchmark's coalition: one target brand, N source brands, each agreed with the target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from partner_sdk import AgreementTerms, ExchangeClient, OperatorClient, generate_private_key
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.testing import default_terms

TARGET_BRAND = "bench-target"
SOURCE_POINTS = 1_000  # per conversion: fee 10, 990 converted, 1 485 target points, 742 minor units


@dataclass(frozen=True)
class Brand:
    partner_id: str
    key: Ed25519PrivateKey


def agreement_terms(source: str) -> AgreementTerms:
    """The testing helper's terms (partner_sdk.testing.default_terms), with no daily cap to speak of."""
    return default_terms(
        source, TARGET_BRAND, settlement_currency="EUR", now=datetime.now(UTC), member_daily_cap_source_points=10**9
    )


def build_coalition(
    address: str, *, hub_public_key: bytes, operator_key: Ed25519PrivateKey, sources: int
) -> list[Brand]:
    """Register the target brand and `sources` source brands, approve them, agree source -> target."""
    target_key = generate_private_key()
    with (
        OperatorClient(address, private_key=operator_key, hub_public_key=hub_public_key) as operator,
        ExchangeClient(
            address, partner_id=TARGET_BRAND, key_id="k1", private_key=target_key, hub_public_key=hub_public_key
        ) as target,
    ):
        target.register(
            display_name="Bench Target", point_currency="TGTPTS", settlement_currency="EUR", point_value_minor=1
        )
        operator.approve(TARGET_BRAND)
        brands = []
        for index in range(sources):
            brand = Brand(f"bench-source-{index}", generate_private_key())
            with ExchangeClient(
                address, partner_id=brand.partner_id, key_id="k1", private_key=brand.key, hub_public_key=hub_public_key
            ) as source:
                source.register(
                    display_name=f"Bench Source {index}",
                    point_currency=f"SRC{index}",
                    settlement_currency="EUR",
                    point_value_minor=Fraction(1, 2),
                )
                operator.approve(brand.partner_id)
                proposed = source.propose_agreement(agreement_terms(brand.partner_id))
            target.accept_agreement(proposed.agreement_id)
            brands.append(brand)
    return brands
