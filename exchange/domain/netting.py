"""Multilateral netting: settle partners' net positions in one currency with as few payments as possible.

A position is integer minor units: positive means the partner is owed money, negative means it
owes. Positions must sum to zero, otherwise there is nothing consistent to settle.

Why ``n - g`` is the minimum: in any set of payments that settles everyone, each connected
component of the payment graph is a group whose positions sum to zero, and a component of ``k``
partners needs at least ``k - 1`` payments. So with ``n`` non-zero partners split into ``g``
components at least ``n - g`` payments are needed, and settling each zero-sum group greedily
(largest debtor pays largest creditor, one of the two is then settled) uses exactly ``k - 1``.
The work is finding the largest ``g``: the partition of the partners into the most zero-sum
groups.

That search is NP-hard (it contains subset-sum), so it is done exactly only for at most
``EXACT_LIMIT`` non-zero partners, by a dynamic programme over subsets (``2**n * n`` steps,
about a million at the limit). Above the limit every partner is settled as one greedy group:
at most ``n - 1`` payments, always correct, but not necessarily the fewest.

The output is deterministic whatever the order of the input mapping: partners are sorted by id
before any choice, ties go to the smaller id, and payments are returned sorted by
``(payer, payee)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exchange.domain.errors import InvalidArgument, require

EXACT_LIMIT = 16  # at most this many non-zero participants: provably minimal


@dataclass(frozen=True, slots=True)
class Payment:
    """One transfer of money from a partner that owes to a partner that is owed."""

    payer: str
    payee: str
    amount_minor: int

    def __post_init__(self) -> None:
        require(isinstance(self.amount_minor, int) and self.amount_minor > 0, "a payment moves a positive amount")
        require(self.payer != self.payee, "a partner never pays itself")


def settle(positions: Mapping[str, int]) -> list[Payment]:
    """Return the payments, sorted by (payer, payee), that bring every position to zero.

    Minimal in number for up to EXACT_LIMIT non-zero positions, at most n - 1 above it.

    Raises:
        InvalidArgument: POSITIONS_DO_NOT_NET_TO_ZERO when the positions do not sum to zero.
    """
    total = sum(positions.values())
    if total != 0:
        raise InvalidArgument(
            "POSITIONS_DO_NOT_NET_TO_ZERO",
            f"positions must sum to zero, they sum to {total}",
            field="positions",
        )
    parties = sorted((partner, amount) for partner, amount in positions.items() if amount != 0)
    groups = _zero_sum_groups(parties) if len(parties) <= EXACT_LIMIT else [parties]
    payments = sorted(
        (payment for group in groups for payment in _settle_greedily(group)), key=lambda p: (p.payer, p.payee)
    )
    require(check_settles(positions, payments), "netting settles every position")
    if len(parties) <= EXACT_LIMIT:  # fewer would mean a finer partition into zero-sum groups existed
        require(len(payments) == len(parties) - len(groups), "each zero-sum group of k is settled with k - 1 payments")
    else:
        require(len(payments) < len(parties), "greedy settles n partners with at most n - 1 payments")
    return payments


def check_settles(positions: Mapping[str, int], payments: Sequence[Payment]) -> bool:
    """Whether the payments bring every position, and nobody else's, to exactly zero.

    Paying raises the payer's position (it owes less) and lowers the payee's (it is owed less).
    """
    balance = dict(positions)
    for payment in payments:
        balance[payment.payer] = balance.get(payment.payer, 0) + payment.amount_minor
        balance[payment.payee] = balance.get(payment.payee, 0) - payment.amount_minor
    return all(amount == 0 for amount in balance.values())


def _zero_sum_groups(parties: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """Partition the (sorted, non-zero, zero-sum) parties into the largest number of zero-sum groups.

    Build every subset one party at a time; best[mask] is the most zero-sum groups completed
    along the best way of adding the parties of mask, one more each time the running subset
    sums to zero. Every ordering of every partition is such a path, so best[full] is the
    maximum. Walking the recorded path back, the zero-sum subsets on it cut it into the groups.
    """
    n = len(parties)
    full = (1 << n) - 1
    sums = [0] * (full + 1)
    best = [0] * (full + 1)
    last_added = [0] * (full + 1)  # the bit added last on the best path to mask
    for mask in range(1, full + 1):
        lowest = mask & -mask
        sums[mask] = sums[mask ^ lowest] + parties[lowest.bit_length() - 1][1]
        best_before, chosen, rest = -1, 0, mask
        while rest:  # lowest bit first and strictly better only: ties go to the smaller partner id
            bit = rest & -rest
            rest ^= bit
            if best[mask ^ bit] > best_before:
                best_before, chosen = best[mask ^ bit], bit
        best[mask] = best_before + (1 if sums[mask] == 0 else 0)
        last_added[mask] = chosen

    groups: list[list[tuple[str, int]]] = []
    group: list[tuple[str, int]] = []
    mask = full
    while mask:
        bit = last_added[mask]
        group.append(parties[bit.bit_length() - 1])
        mask ^= bit
        if sums[mask] == 0:
            groups.append(sorted(group))
            group = []
    require(not group and len(groups) == best[full], "the recovered groups are the best partition")
    return sorted(groups)


def _settle_greedily(group: list[tuple[str, int]]) -> list[Payment]:
    """Settle a zero-sum group with at most len(group) - 1 payments.

    The largest debtor pays the largest creditor the smaller of the two amounts, so each payment
    settles at least one of them and the last settles both. Ties go to the smaller partner id.
    """
    creditors = [(-amount, partner) for partner, amount in group if amount > 0]  # heaps: largest first
    debtors = [(amount, partner) for partner, amount in group if amount < 0]
    heapq.heapify(creditors)
    heapq.heapify(debtors)
    payments: list[Payment] = []
    while creditors and debtors:
        owed, payee = heapq.heappop(creditors)
        owes, payer = heapq.heappop(debtors)
        amount = min(-owed, -owes)
        payments.append(Payment(payer, payee, amount))
        if -owed > amount:
            heapq.heappush(creditors, (owed + amount, payee))
        if -owes > amount:
            heapq.heappush(debtors, (owes + amount, payer))
    require(not creditors and not debtors, "a zero-sum group is settled completely")
    return payments
