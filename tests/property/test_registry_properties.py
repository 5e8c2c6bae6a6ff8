"""Properties of exact ratios and of key lifecycles under any sequence of operations."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from exchange.domain import partners as rules
from exchange.domain.errors import ExchangeError, InvalidArgument
from exchange.domain.money import MAX_RATIO_TERM, Ratio
from exchange.domain.partners import KeyState

terms = st.integers(1, MAX_RATIO_TERM)


@given(terms, terms)
def test_a_ratio_keeps_its_exact_value_in_lowest_terms(numerator: int, denominator: int) -> None:
    ratio = Ratio.parse(numerator, denominator, field="r")
    assert ratio.as_fraction() == Fraction(numerator, denominator)
    assert Fraction(ratio.numerator, ratio.denominator).denominator == ratio.denominator


@given(st.integers(max_value=0), st.integers())
def test_a_ratio_with_a_non_positive_term_is_refused(bad: int, other: int) -> None:
    with pytest.raises(InvalidArgument):
        Ratio.parse(bad, other, field="r")
    with pytest.raises(InvalidArgument):
        Ratio.parse(other, bad, field="r")


HOUR = 3_600_000


class KeyLifecycle(RuleBasedStateMachine):
    """Rotate, revoke and let time pass in any order: a partner always keeps an active key."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_800_000_000_000
        registration = rules.validate_registration(
            partner_id="stride",
            display_name="S",
            point_currency="STRD",
            settlement_currency="EUR",
            point_value_numerator=1,
            point_value_denominator=1,
            key_id="k0",
            public_key=bytes(32),
        )
        self.partner = rules.new_partner(registration, self.now)
        self.counter = 0

    def _signers(self) -> list[str]:
        return [k.key_id for k in self.partner.signing_keys_at(self.now)]

    @precondition(lambda self: self.counter < rules.MAX_KEYS_PER_PARTNER - 1)
    @rule(data=st.data(), overlap_h=st.one_of(st.none(), st.integers(0, 48)))
    def rotate(self, data: st.DataObject, overlap_h: int | None) -> None:
        self.counter += 1
        signer = data.draw(st.sampled_from(self._signers()))
        self.partner = rules.rotate_key(
            self.partner,
            signing_key_id=signer,
            new_key_id=f"k{self.counter}",
            new_public_key=self.counter.to_bytes(32, "big"),
            previous_key_not_after_ms=None if overlap_h is None else self.now + overlap_h * HOUR,
            now_ms=self.now,
        )

    @rule(data=st.data())
    def revoke(self, data: st.DataObject) -> None:
        key_id = data.draw(st.sampled_from([k.key_id for k in self.partner.keys]))
        try:
            self.partner = rules.revoke_key(self.partner, key_id=key_id, reason="test", now_ms=self.now)
        except ExchangeError as refused:
            assert refused.reason in {"LAST_ACTIVE_KEY", "KEY_ALREADY_REVOKED"}

    @rule(hours=st.integers(1, 100))
    def time_passes(self, hours: int) -> None:
        self.now += hours * HOUR

    @invariant()
    def an_active_key_without_end_always_remains(self) -> None:
        assert any(k.state_at(self.now) is KeyState.ACTIVE for k in self.partner.keys)

    @invariant()
    def revoked_keys_never_sign_again(self) -> None:
        for key in self.partner.keys:
            if key.revoked_at_ms is not None:
                assert not key.can_sign_at(self.now)


TestKeyLifecycle = KeyLifecycle.TestCase
