"""The ledger balances per currency, and partners' money positions always net to zero."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from exchange.domain.agreements import validate_terms
from exchange.domain.errors import InvalidArgument, InvariantViolation
from exchange.domain.ledger import (
    COALITION,
    Account,
    AccountKind,
    LedgerTransaction,
    Posting,
    conversion_transaction,
    money_positions,
    reversal_transaction,
    reversing_transaction,
    totals_by_currency,
)
from exchange.domain.pricing import ConversionAmounts, ReversalAmounts, price_conversion, price_reversal

NOW = 1_800_000_000_000
DAY_MS = 86_400_000
POINT_CURRENCY = {"stride": "STRD", "bloom": "BLOM", "voltline": "VOLT", "harbor": "HRBR"}
PARTNERS = sorted(POINT_CURRENCY)
MONEY_CURRENCIES = ["EUR", "USD", "JPY"]

small_terms = st.integers(1, 1_000)
partner_pairs = st.lists(st.sampled_from(PARTNERS), min_size=2, max_size=2, unique=True)


@st.composite
def conversion_amounts(draw: st.DrawFn) -> ConversionAmounts:
    """Amounts of a conversion priced under random valid terms."""
    source_points = draw(st.integers(1, 1_000_000))
    fee = draw(
        st.one_of(
            st.just({"fee_basis_points": None, "fee_fixed_points": None}),
            st.builds(lambda bps: {"fee_basis_points": bps, "fee_fixed_points": None}, st.integers(0, 2_000)),
            st.builds(lambda fixed: {"fee_basis_points": None, "fee_fixed_points": fixed}, st.integers(0, 20)),
        )
    )
    assume(fee["fee_fixed_points"] is None or fee["fee_fixed_points"] < source_points)
    terms = validate_terms(
        source_partner_id="stride",
        target_partner_id="bloom",
        version=1,
        rate=(draw(small_terms), draw(small_terms)),
        min_source_points=source_points,
        max_source_points=source_points,
        source_increment=1,
        member_daily_cap_source_points=source_points,
        valid_from_ms=NOW,
        valid_until_ms=NOW + DAY_MS,
        settlement_price_minor=(draw(small_terms), draw(small_terms)),
        settlement_currency=draw(st.sampled_from(MONEY_CURRENCIES)),
        **fee,
    )
    try:
        return price_conversion(terms, source_points)
    except InvalidArgument as refused:
        assert refused.reason == "AMOUNT_TOO_SMALL"
        assume(False)
        raise


def post_conversion(reference: str, source: str, target: str, amounts: ConversionAmounts) -> LedgerTransaction:
    return conversion_transaction(
        reference,
        source=source,
        target=target,
        source_currency=POINT_CURRENCY[source],
        target_currency=POINT_CURRENCY[target],
        amounts=amounts,
    )


def post_reversal(
    reference: str, source: str, target: str, amounts: ConversionAmounts, reversal: ReversalAmounts
) -> LedgerTransaction:
    return reversal_transaction(
        reference,
        source=source,
        target=target,
        source_currency=POINT_CURRENCY[source],
        target_currency=POINT_CURRENCY[target],
        reversal=reversal,
        money_currency=amounts.settlement_currency,
    )


def assert_balanced(transaction: LedgerTransaction) -> None:
    assert transaction.postings
    assert all(type(p.amount) is int and p.amount != 0 for p in transaction.postings)
    assert all(total == 0 for total in totals_by_currency(transaction.postings).values())


# --- one transaction at a time -----------------------------------------------------------------------------


@given(conversion_amounts(), partner_pairs)
def test_a_conversion_balances_in_every_currency(amounts: ConversionAmounts, pair: list[str]) -> None:
    source, target = pair
    transaction = post_conversion("cnv_1", source, target, amounts)
    assert_balanced(transaction)
    assert set(totals_by_currency(transaction.postings)) <= {
        POINT_CURRENCY[source],
        POINT_CURRENCY[target],
        amounts.settlement_currency,
    }
    money = amounts.settlement_amount_minor
    expected = {(target, amounts.settlement_currency): money, (source, amounts.settlement_currency): -money}
    assert money_positions(transaction.postings) == ({} if money == 0 else expected)


@given(conversion_amounts(), partner_pairs)
def test_the_exact_opposite_of_a_conversion_balances_in_every_currency(
    amounts: ConversionAmounts, pair: list[str]
) -> None:
    source, target = pair
    original = post_conversion("cnv_1", source, target, amounts)
    refund = reversing_transaction(original, "REFUND", "cnv_1:refund")
    assert_balanced(refund)
    assert (refund.kind, refund.reference) == ("REFUND", "cnv_1:refund")
    everything = (*original.postings, *refund.postings)
    assert all(total == 0 for total in money_positions(everything).values())


@given(conversion_amounts(), partner_pairs)
def test_reversing_twice_gives_back_the_original_postings(amounts: ConversionAmounts, pair: list[str]) -> None:
    original = post_conversion("cnv_1", pair[0], pair[1], amounts)
    twice = reversing_transaction(reversing_transaction(original, "REFUND", "r1"), "CONVERSION", "cnv_1")
    assert twice.postings == original.postings
    assert twice == original


@given(conversion_amounts(), partner_pairs, st.data())
def test_a_partial_reversal_balances_in_every_currency(
    amounts: ConversionAmounts, pair: list[str], data: st.DataObject
) -> None:
    source, target = pair
    points = data.draw(st.integers(1, amounts.target_points))
    reversal = price_reversal(amounts, target_points=points, reversed_before=ReversalAmounts(0, 0, 0))
    transaction = post_reversal("rev_1", source, target, amounts, reversal)
    assert_balanced(transaction)
    currency = amounts.settlement_currency
    money = reversal.settlement_amount_minor
    assert money_positions(transaction.postings) == (
        {} if money == 0 else {(target, currency): -money, (source, currency): money}
    )


# --- refusals of a malformed transaction ---------------------------------------------------------------------


def account(owner: str, kind: AccountKind = AccountKind.MONEY_RECEIVABLE, counterparty: str = "bloom") -> Account:
    return Account(owner, kind, counterparty)


def test_a_transaction_without_postings_is_refused() -> None:
    with pytest.raises(InvariantViolation):
        LedgerTransaction("CONVERSION", "cnv_1", ())


def test_a_transaction_that_does_not_balance_is_refused() -> None:
    with pytest.raises(InvariantViolation):
        LedgerTransaction(
            "CONVERSION", "cnv_1", (Posting(account("stride"), "EUR", 100), Posting(account("bloom"), "EUR", -99))
        )


def test_a_transaction_that_balances_only_across_currencies_is_refused() -> None:
    with pytest.raises(InvariantViolation):
        LedgerTransaction(
            "CONVERSION", "cnv_1", (Posting(account("stride"), "EUR", 100), Posting(account("bloom"), "USD", -100))
        )


def test_a_transaction_with_a_zero_amount_is_refused() -> None:
    with pytest.raises(InvariantViolation):
        LedgerTransaction(
            "CONVERSION",
            "cnv_1",
            (
                Posting(account("stride"), "EUR", 100),
                Posting(account("bloom"), "EUR", -100),
                Posting(Account(COALITION, AccountKind.CLEARING), "STRD", 0),
            ),
        )


def test_a_transaction_with_a_non_integer_amount_is_refused() -> None:
    with pytest.raises(InvariantViolation):
        LedgerTransaction(
            "CONVERSION",
            "cnv_1",
            (Posting(account("stride"), "EUR", 1.5), Posting(account("bloom"), "EUR", -1.5)),  # type: ignore[arg-type]
        )


def test_a_balanced_transaction_is_accepted() -> None:
    transaction = LedgerTransaction(
        "CONVERSION", "cnv_1", (Posting(account("stride"), "EUR", 100), Posting(account("bloom"), "EUR", -100))
    )
    assert totals_by_currency(transaction.postings) == {"EUR": 0}


# --- any sequence of conversions, refunds and partial reversals -----------------------------------------------


@dataclass
class Posted:
    """A conversion as the test tracks it, independently of the ledger."""

    source: str
    target: str
    amounts: ConversionAmounts
    transaction: LedgerTransaction
    refunded: bool = False
    reversed_so_far: ReversalAmounts = field(default_factory=lambda: ReversalAmounts(0, 0, 0))

    @property
    def reversible(self) -> bool:
        return not self.refunded and self.reversed_so_far.target_points < self.amounts.target_points


class MoneyPositions(RuleBasedStateMachine):
    """Convert, refund and reverse in any order: the ledger agrees with money counted by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.postings: list[Posting] = []
        self.conversions: list[Posted] = []
        self.expected: dict[tuple[str, str], int] = defaultdict(int)

    def _post(self, transaction: LedgerTransaction) -> None:
        assert_balanced(transaction)
        self.postings.extend(transaction.postings)

    def _owe(self, debtor: str, creditor: str, currency: str, money: int) -> None:
        self.expected[(creditor, currency)] += money
        self.expected[(debtor, currency)] -= money

    @rule(amounts=conversion_amounts(), pair=partner_pairs)
    def convert(self, amounts: ConversionAmounts, pair: list[str]) -> None:
        source, target = pair
        transaction = post_conversion(f"cnv_{len(self.conversions)}", source, target, amounts)
        self._post(transaction)
        self.conversions.append(Posted(source, target, amounts, transaction))
        self._owe(source, target, amounts.settlement_currency, amounts.settlement_amount_minor)

    # A refund undoes a conversion whose credit failed, so one never reversed in part.
    @precondition(lambda self: any(not c.refunded and c.reversed_so_far.target_points == 0 for c in self.conversions))
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        candidates = [c for c in self.conversions if not c.refunded and c.reversed_so_far.target_points == 0]
        posted = data.draw(st.sampled_from(candidates))
        self._post(reversing_transaction(posted.transaction, "REFUND", f"{posted.transaction.reference}:refund"))
        posted.refunded = True
        self._owe(
            posted.target, posted.source, posted.amounts.settlement_currency, posted.amounts.settlement_amount_minor
        )

    @precondition(lambda self: any(c.reversible for c in self.conversions))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        posted = data.draw(st.sampled_from([c for c in self.conversions if c.reversible]))
        left = posted.amounts.target_points - posted.reversed_so_far.target_points
        points = data.draw(st.one_of(st.just(left), st.integers(1, left)))
        reversal = price_reversal(posted.amounts, target_points=points, reversed_before=posted.reversed_so_far)
        self._post(post_reversal(f"rev_{len(self.postings)}", posted.source, posted.target, posted.amounts, reversal))
        before = posted.reversed_so_far
        posted.reversed_so_far = ReversalAmounts(
            before.target_points + reversal.target_points,
            before.source_points + reversal.source_points,
            before.settlement_amount_minor + reversal.settlement_amount_minor,
        )
        self._owe(posted.target, posted.source, posted.amounts.settlement_currency, reversal.settlement_amount_minor)

    @invariant()
    def money_positions_sum_to_zero_in_every_currency(self) -> None:
        totals: dict[str, int] = defaultdict(int)
        for (_, currency), amount in money_positions(self.postings).items():
            totals[currency] += amount
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def each_partners_money_position_is_what_its_conversions_net_to(self) -> None:
        actual = {key: amount for key, amount in money_positions(self.postings).items() if amount}
        expected = {key: amount for key, amount in self.expected.items() if amount}
        assert actual == expected

    @invariant()
    def all_postings_together_balance_in_every_currency(self) -> None:
        assert all(total == 0 for total in totals_by_currency(self.postings).values())

    @invariant()
    def a_fully_reversed_or_refunded_conversion_owes_nothing(self) -> None:
        for posted in self.conversions:
            if posted.reversed_so_far.target_points == posted.amounts.target_points:
                assert posted.reversed_so_far.settlement_amount_minor == posted.amounts.settlement_amount_minor
                assert posted.reversed_so_far.source_points == posted.amounts.source_points_converted


# Each step re-sums the whole ledger, so runs are kept short to keep the test within a few seconds.
MoneyPositions.TestCase.settings = settings(max_examples=40, stateful_step_count=25)
TestMoneyPositions = MoneyPositions.TestCase
