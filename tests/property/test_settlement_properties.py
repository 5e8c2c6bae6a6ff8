"""Statements built from any period's totals balance, settle, and verify with the SDK a brand uses."""

from __future__ import annotations

from collections import defaultdict

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.domain.settlement import (
    GENESIS_SHA256,
    PairTotals,
    Period,
    PeriodState,
    StatementParty,
    net_positions,
    payment_instructions,
    statement_document,
    statement_id_of,
)
from partner_sdk.settlement import Statement, canonical_json, document_sha256, statement_message, verify_statement

BRANDS = ("a-brand", "b-brand", "c-brand", "d-brand", "e-brand")
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
PERIOD = Period("per-000004", 4, PeriodState.CLOSED, 1_000, 2_000, 2_500, "operator", 0, 0)

movement = st.tuples(
    st.sampled_from(BRANDS),
    st.sampled_from(BRANDS),
    st.sampled_from(("EUR", "GBP")),
    st.integers(-10_000, 10**12),
    st.integers(-(10**6), 10**9),
    st.integers(-(10**6), 10**9),
).filter(lambda m: m[0] != m[1])


def _totals(moves: list[tuple[str, str, str, int, int, int]]) -> list[PairTotals]:
    """Sum movements per (source, target, currency) as the close's GROUP BY does."""
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for source, target, currency, amount, source_points, target_points in moves:
        row = sums[(source, target, currency)]
        row[0] += 1
        row[1] += source_points
        row[2] += target_points
        row[3] += amount
    return [PairTotals(s, t, c, n, sp, tp, a) for (s, t, c), (n, sp, tp, a) in sums.items()]


@settings(max_examples=150, deadline=None)
@given(st.lists(movement, max_size=40))
def test_every_brands_statement_balances_settles_and_verifies(moves: list[tuple[str, str, str, int, int, int]]) -> None:
    totals = _totals(moves)
    positions = net_positions(totals)
    instructions = payment_instructions(PERIOD.number, positions)
    nets: dict[str, int] = defaultdict(int)
    for brand in BRANDS:
        party = StatementParty(brand, brand.title(), "PTS", 1, GENESIS_SHA256)
        value = statement_document(
            party=party,
            period=PERIOD,
            hub_key_id="hub-test",
            totals=totals,
            positions=positions,
            instructions=instructions,
            outstanding=[],
        )
        document = canonical_json(value)
        statement = Statement(
            statement_id=statement_id_of(PERIOD.number, brand),
            partner_id=brand,
            period_id=PERIOD.period_id,
            sequence=1,
            document=document,
            document_sha256=document_sha256(document),
            previous_statement_sha256=GENESIS_SHA256,
            signature=KEY.sign(statement_message(document)),
            hub_key_id="hub-test",
        )
        doc = verify_statement(statement, PUBLIC)  # arithmetic, control totals and netting checked by the SDK
        mine = [m for m in moves if brand in (m[0], m[1])]
        assert doc.movement_count == len(mine)
        for position in doc.net_positions:
            nets[position.currency] += position.net_minor
            expected = sum(m[3] if m[1] == brand else -m[3] for m in mine if m[2] == position.currency)
            assert position.net_minor == expected
    assert all(total == 0 for total in nets.values())
