"""The double-entry ledger of what partners owe each other, in points and in money.

Every movement is one LedgerTransaction of postings; a posting's amount is positive for a
debit and negative for a credit, and every transaction sums to zero in each currency (the
constructor refuses one that does not). The postings are the record: a position is the sum of
them. The store keeps one running total beside them, for the exposure check (money_positions in
exchange.store.tables: a partner's money per currency and counterparty), added to in the
transaction that posts the entries and checked against their sums after every test that runs a
hub. A row of it belongs to one pair of partners, so no row is written by every movement.

Accounts, per partner (owner) and counterparty:
    POINTS_RETIRED_FOR_OTHERS   source points taken from members on a counterparty's behalf
    POINTS_ISSUED_FOR_OTHERS    target points given to members on a counterparty's behalf
    POINTS_FEES_RETIRED         source points taken from members as the partner's own fee
    MONEY_RECEIVABLE            money a counterparty owes the owner
    MONEY_PAYABLE               money the owner owes a counterparty
and the coalition's CLEARING account per point currency, through which one brand's points
become another's (the exchange is two linked legs through it, as a currency exchange is).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from exchange.domain.errors import require
from exchange.domain.pricing import ConversionAmounts, ReversalAmounts

COALITION = "coalition"


class AccountKind(enum.Enum):
    """What an account records."""

    POINTS_RETIRED_FOR_OTHERS = "POINTS_RETIRED_FOR_OTHERS"
    POINTS_ISSUED_FOR_OTHERS = "POINTS_ISSUED_FOR_OTHERS"
    POINTS_FEES_RETIRED = "POINTS_FEES_RETIRED"
    MONEY_RECEIVABLE = "MONEY_RECEIVABLE"
    MONEY_PAYABLE = "MONEY_PAYABLE"
    CLEARING = "CLEARING"


MONEY_KINDS = frozenset({AccountKind.MONEY_RECEIVABLE, AccountKind.MONEY_PAYABLE})


@dataclass(frozen=True, slots=True)
class Account:
    """One account: whose, what kind, against whom ("" when it has no counterparty)."""

    owner: str
    kind: AccountKind
    counterparty: str = ""


@dataclass(frozen=True, slots=True)
class Posting:
    """A signed amount on one account in one currency: + debit, - credit."""

    account: Account
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class LedgerTransaction:
    """Postings that happen together and balance in every currency."""

    kind: str
    reference: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        require(bool(self.postings), "a ledger transaction has postings")
        require(all(isinstance(p.amount, int) and p.amount != 0 for p in self.postings), "amounts are non-zero ints")
        require(all(total == 0 for total in totals_by_currency(self.postings).values()), "balanced per currency")


def totals_by_currency(postings: Iterable[Posting]) -> dict[str, int]:
    """Return the sum of postings in each currency (zero for a balanced set)."""
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting.currency] += posting.amount
    return dict(totals)


def _transfer(debit: Account, credit: Account, currency: str, amount: int) -> tuple[Posting, ...]:
    if amount == 0:
        return ()
    require(amount > 0, "transfers move positive amounts")
    return (Posting(debit, currency, amount), Posting(credit, currency, -amount))


def _conversion_legs(
    *,
    source: str,
    target: str,
    source_currency: str,
    target_currency: str,
    converted: int,
    fee: int,
    target_points: int,
    money: int,
    money_currency: str,
) -> tuple[Posting, ...]:
    clearing = Account(COALITION, AccountKind.CLEARING)
    return (
        *_transfer(
            Account(source, AccountKind.POINTS_RETIRED_FOR_OTHERS, target), clearing, source_currency, converted
        ),
        *_transfer(Account(source, AccountKind.POINTS_FEES_RETIRED), clearing, source_currency, fee),
        *_transfer(
            clearing, Account(target, AccountKind.POINTS_ISSUED_FOR_OTHERS, source), target_currency, target_points
        ),
        *_money_owed(source, target, money_currency, money),
    )


def conversion_transaction(
    reference: str, *, source: str, target: str, source_currency: str, target_currency: str, amounts: ConversionAmounts
) -> LedgerTransaction:
    """Post a conversion: source points retired (and the fee), target points issued, money owed source -> target."""
    return LedgerTransaction(
        "CONVERSION",
        reference,
        _conversion_legs(
            source=source,
            target=target,
            source_currency=source_currency,
            target_currency=target_currency,
            converted=amounts.source_points_converted,
            fee=amounts.fee_points,
            target_points=amounts.target_points,
            money=amounts.settlement_amount_minor,
            money_currency=amounts.settlement_currency,
        ),
    )


def reversal_transaction(
    reference: str,
    *,
    source: str,
    target: str,
    source_currency: str,
    target_currency: str,
    reversal: ReversalAmounts,
    money_currency: str,
) -> LedgerTransaction:
    """Post a partial reversal: the conversion's legs, scaled to the reversal, in the opposite direction."""
    legs = _conversion_legs(
        source=source,
        target=target,
        source_currency=source_currency,
        target_currency=target_currency,
        converted=reversal.source_points,
        fee=0,
        target_points=reversal.target_points,
        money=reversal.settlement_amount_minor,
        money_currency=money_currency,
    )
    return LedgerTransaction("REVERSAL", reference, tuple(Posting(p.account, p.currency, -p.amount) for p in legs))


def capture_transaction(
    reference: str,
    *,
    source: str,
    target: str,
    source_currency: str,
    source_points: int,
    money: int,
    money_currency: str,
) -> LedgerTransaction:
    """Post a capture: source points retired for the target, money owed source -> target (no points issued)."""
    clearing = Account(COALITION, AccountKind.CLEARING)
    return LedgerTransaction(
        "CAPTURE",
        reference,
        (
            *_transfer(
                Account(source, AccountKind.POINTS_RETIRED_FOR_OTHERS, target), clearing, source_currency, source_points
            ),
            *_money_owed(source, target, money_currency, money),
        ),
    )


def _money_owed(payer: str, payee: str, currency: str, amount: int) -> tuple[Posting, ...]:
    return _transfer(
        Account(payee, AccountKind.MONEY_RECEIVABLE, payer),
        Account(payer, AccountKind.MONEY_PAYABLE, payee),
        currency,
        amount,
    )


def adjustment_transaction(reference: str, *, payer: str, payee: str, currency: str, amount: int) -> LedgerTransaction:
    """Post a dispute's award: the payer owes the payee more money (no points move)."""
    return LedgerTransaction("ADJUSTMENT", reference, _money_owed(payer, payee, currency, amount))


def membership_money_transaction(
    kind: str, reference: str, *, payer: str, payee: str, currency: str, amount: int
) -> LedgerTransaction:
    """Post money a joint membership moves: a partner's share of a fee, a redeemed voucher, or a refund's share.

    A positive amount is the payer (the seller, or a voucher's funder) owing the payee more; a
    negative one, a share given back, is the payee owing the payer, as a reversal is the target
    owing the source.
    """
    if amount < 0:
        return LedgerTransaction(kind, reference, _money_owed(payee, payer, currency, -amount))
    return LedgerTransaction(kind, reference, _money_owed(payer, payee, currency, amount))


def payment_transaction(reference: str, *, payer: str, payee: str, currency: str, amount: int) -> LedgerTransaction:
    """Post a settlement payment: the payer's debt and the payee's claim both shrink by the amount."""
    owed = _money_owed(payer, payee, currency, amount)
    return LedgerTransaction("PAYMENT", reference, tuple(Posting(p.account, p.currency, -p.amount) for p in owed))


def accrual_transaction(
    reference: str,
    *,
    awarder: str,
    issuer: str,
    issuer_currency: str,
    points: int,
    money: int,
    money_currency: str,
) -> LedgerTransaction:
    """Post a credited award: the issuer's points issued for the awarder, money owed awarder -> issuer."""
    clearing = Account(COALITION, AccountKind.CLEARING)
    return LedgerTransaction(
        "ACCRUAL",
        reference,
        (
            *_transfer(
                clearing, Account(issuer, AccountKind.POINTS_ISSUED_FOR_OTHERS, awarder), issuer_currency, points
            ),
            *_money_owed(awarder, issuer, money_currency, money),
        ),
    )


def donation_transaction(
    reference: str,
    *,
    brand: str,
    charity: str,
    brand_currency: str,
    points: int,
    money: int,
    money_currency: str,
) -> LedgerTransaction:
    """Post a donation: the brand's points retired for the charity, money owed brand -> charity."""
    clearing = Account(COALITION, AccountKind.CLEARING)
    return LedgerTransaction(
        "DONATION",
        reference,
        (
            *_transfer(
                Account(brand, AccountKind.POINTS_RETIRED_FOR_OTHERS, charity), clearing, brand_currency, points
            ),
            *_money_owed(brand, charity, money_currency, money),
        ),
    )


def reversing_transaction(original: LedgerTransaction, kind: str, reference: str) -> LedgerTransaction:
    """Post the exact opposite of a transaction (a refused or expired conversion)."""
    return LedgerTransaction(
        kind, reference, tuple(Posting(p.account, p.currency, -p.amount) for p in original.postings)
    )


def money_positions(postings: Iterable[Posting]) -> dict[tuple[str, str], int]:
    """Return each (partner, currency) net money position: + is owed to it, - it owes."""
    positions: dict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        if posting.account.kind in MONEY_KINDS:
            positions[(posting.account.owner, posting.currency)] += posting.amount
    return dict(positions)
