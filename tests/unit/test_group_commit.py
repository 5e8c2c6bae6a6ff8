"""Group commit without a database: who runs where, what commits together, what fails alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from exchange.store.group_commit import GroupCommit, Grouped

R = TypeVar("R")


class FakeTransactions:
    """Transactions as lists of what ran in them; a transaction is kept only if its block ends cleanly."""

    def __init__(self) -> None:
        self.committed: list[list[str]] = []
        self.rolled_back = 0
        self.fail_group_commits = False  # the COMMIT of a transaction of two calls or more fails

    @contextmanager
    def begin(self) -> Iterator[Any]:
        ran: list[str] = []
        try:
            yield ran
        except BaseException:
            self.rolled_back += 1
            raise
        if self.fail_group_commits and len(ran) > 1:
            self.rolled_back += 1
            raise ConnectionError("the connection broke during COMMIT")
        self.committed.append(ran)


def alone(transactions: FakeTransactions) -> Callable[[Callable[[Any], Any]], Any]:
    def run(work: Callable[[Any], Any]) -> Any:
        with transactions.begin() as connection:
            return work(connection)

    return run


def writes(name: str, *, fail: bool = False) -> Callable[[list[str]], str]:
    def work(ran: list[str]) -> str:
        ran.append(name)
        if fail:
            raise ValueError(f"{name} refused")
        return f"answer of {name}"

    return work


def queue_behind_a_running_call(
    group: GroupCommit,
    submit: Callable[[Callable[[Any], Any], str], R],
    first: Callable[[Any], Any],
    others: list[tuple[Callable[[Any], Any], str]],
) -> list[R | Exception]:
    """Submit a call that holds the lead until the others wait behind it; return what each other got.

    submit is how a call is made (GroupCommit.run, or Database.run with a group); a call that
    raised gives its exception.
    """
    release = threading.Event()

    def blocking(connection: Any) -> Any:
        release.wait(5)
        return first(connection)

    results: dict[int, R | Exception] = {}

    def make(index: int, work: Callable[[Any], Any], key: str) -> None:
        try:
            results[index] = submit(work, key)
        except Exception as error:
            results[index] = error

    leader = threading.Thread(target=submit, args=(blocking, "0-leader"))
    leader.start()
    while not group._leading:
        time.sleep(0.001)
    waiters = [threading.Thread(target=make, args=(i, work, key)) for i, (work, key) in enumerate(others)]
    for thread in waiters:
        thread.start()
    while len(group._waiting) < len(others):
        time.sleep(0.001)
    release.set()
    for thread in (leader, *waiters):
        thread.join(10)
    return [results[i] for i in range(len(others))]


def run_while_the_first_call_is_running(
    group: GroupCommit, first: Callable[[Any], Any], others: list[tuple[Callable[[Any], Any], str]]
) -> list[Grouped[Any] | Exception]:
    return queue_behind_a_running_call(group, group.run, first, others)


def test_a_lone_call_runs_alone_and_its_error_is_its_own() -> None:
    transactions = FakeTransactions()
    group = GroupCommit(transactions.begin, alone(transactions))
    assert group.run(writes("a"), "brand-a") == Grouped(True, "answer of a")
    with pytest.raises(ValueError, match="b refused"):
        group.run(writes("b", fail=True), "brand-b")
    assert transactions.committed == [["a"]]
    assert group.groups_committed == 0


def test_calls_waiting_together_commit_in_one_transaction_in_key_order_and_each_gets_its_answer() -> None:
    transactions = FakeTransactions()
    group = GroupCommit(transactions.begin, alone(transactions))
    results = run_while_the_first_call_is_running(
        group, writes("first"), [(writes("c"), "brand-c"), (writes("a"), "brand-a"), (writes("b"), "brand-b")]
    )
    assert results == [Grouped(True, "answer of c"), Grouped(True, "answer of a"), Grouped(True, "answer of b")]
    assert transactions.committed == [["first"], ["a", "b", "c"]]
    assert (group.groups_committed, group.calls_committed, group.calls_handed_back) == (1, 3, 0)


def test_a_failing_call_fails_alone_the_calls_before_it_commit_and_the_calls_after_it_are_handed_back() -> None:
    transactions = FakeTransactions()
    group = GroupCommit(transactions.begin, alone(transactions))
    results = run_while_the_first_call_is_running(
        group,
        writes("first"),
        [(writes("a"), "brand-a"), (writes("b"), "brand-b"), (writes("c", fail=True), "brand-c"), (writes("d"), "d")],
    )
    # The group ran a, b, c: c failed, so all rolled back; a and b ran again and committed.
    assert transactions.committed == [["first"], ["a", "b"]]
    assert transactions.rolled_back == 1
    handed_back = Grouped(False, None)  # c, which failed, and d, after it in key order
    assert results == [Grouped(True, "answer of a"), Grouped(True, "answer of b"), handed_back, handed_back]
    assert (group.groups_committed, group.calls_committed, group.calls_handed_back) == (1, 2, 2)


def test_a_group_of_one_left_by_a_failure_is_handed_back_rather_than_run_on_the_leaders_thread() -> None:
    transactions = FakeTransactions()
    group = GroupCommit(transactions.begin, alone(transactions))
    results = run_while_the_first_call_is_running(
        group, writes("first"), [(writes("a"), "brand-a"), (writes("b", fail=True), "brand-b")]
    )
    assert results == [Grouped(False, None), Grouped(False, None)]
    assert transactions.committed == [["first"]]
    assert group.calls_handed_back == 2


def test_when_the_commit_fails_every_call_of_the_group_is_handed_back() -> None:
    transactions = FakeTransactions()
    transactions.fail_group_commits = True
    group = GroupCommit(transactions.begin, alone(transactions))
    results = run_while_the_first_call_is_running(
        group, writes("first"), [(writes("a"), "brand-a"), (writes("b"), "brand-b")]
    )
    assert results == [Grouped(False, None), Grouped(False, None)]
    assert transactions.committed == [["first"]]
    assert (group.groups_committed, group.calls_committed, group.calls_handed_back) == (0, 0, 2)


def test_a_group_holds_at_most_max_calls_and_the_rest_form_the_next() -> None:
    transactions = FakeTransactions()
    group = GroupCommit(transactions.begin, alone(transactions), max_calls=2)
    results = run_while_the_first_call_is_running(
        group, writes("first"), [(writes(name), name) for name in ("a", "b", "c", "d", "e")]
    )
    assert all(result.committed for result in results)
    assert sorted(map(sorted, transactions.committed[1:])) == [["a", "b"], ["c", "d"], ["e"]]


def test_a_group_needs_room_for_one_call() -> None:
    transactions = FakeTransactions()
    with pytest.raises(ValueError, match="at least one"):
        GroupCommit(transactions.begin, alone(transactions), max_calls=0)
