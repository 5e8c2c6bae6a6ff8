"""Group commit on a real database: one transaction for the calls waiting together, a failure failing only its call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy
from sqlalchemy import Connection

from exchange.store.database import Database
from exchange.store.nonces_repo import NonceRepository
from tests.integration.test_precompiled import _record
from tests.unit.test_group_commit import queue_behind_a_running_call


def _nonces(connection: Connection) -> list[str]:
    rows = connection.execute(sqlalchemy.text("SELECT nonce FROM request_nonces ORDER BY nonce")).all()
    return [row[0] for row in rows]


def _transaction_id(connection: Connection) -> int | None:
    if connection.dialect.name != "postgresql":
        return None
    return int(connection.execute(sqlalchemy.text("SELECT txid_current()")).scalar_one())


def _call(nonce: str, *, fail: bool = False) -> Callable[[Connection], Any]:
    def work(connection: Connection) -> tuple[list[str], int | None]:
        _record(NonceRepository(connection), nonce)
        seen = _nonces(connection)
        if fail:
            raise ValueError(f"{nonce} refused after writing")
        return seen, _transaction_id(connection)

    return work


def _grouped(database: Database) -> Callable[[Callable[[Connection], Any], str], Any]:
    return lambda work, key: database.run(work, group=key)


def test_calls_waiting_together_commit_in_one_transaction_each_seeing_the_writes_of_those_before(
    database: Database,
) -> None:
    results = queue_behind_a_running_call(
        database.group_commit,
        _grouped(database),
        _call("n-leader"),
        [(_call("n-c"), "brand-c"), (_call("n-a"), "brand-a"), (_call("n-b"), "brand-b")],
    )
    seen = {nonce: result[0] for nonce, result in zip(("n-c", "n-a", "n-b"), results, strict=True)}
    # Run in key order, in one transaction after the leader's own: each sees its own write and those before it.
    assert seen == {
        "n-a": ["n-a", "n-leader"],
        "n-b": ["n-a", "n-b", "n-leader"],
        "n-c": ["n-a", "n-b", "n-c", "n-leader"],
    }
    if database.dialect == "postgresql":
        assert len({result[1] for result in results}) == 1
    group = database.group_commit
    assert (group.groups_committed, group.calls_committed, group.calls_handed_back) == (1, 3, 0)
    assert database.run(_nonces) == ["n-a", "n-b", "n-c", "n-leader"]


def test_a_call_failing_in_a_group_fails_alone_and_leaves_nothing_while_the_others_commit(database: Database) -> None:
    results = queue_behind_a_running_call(
        database.group_commit,
        _grouped(database),
        _call("n-leader"),
        [
            (_call("n-a"), "brand-a"),
            (_call("n-b"), "brand-b"),
            (_call("n-c", fail=True), "brand-c"),
            (_call("n-d"), "brand-d"),
        ],
    )
    refused = results[2]
    assert isinstance(refused, ValueError)
    assert str(refused) == "n-c refused after writing"
    # a and b committed as a group once c failed; then c and d ran alone: c was refused again, d committed.
    assert [results[0][0], results[1][0], results[3][0]] == [
        ["n-a", "n-leader"],
        ["n-a", "n-b", "n-leader"],
        ["n-a", "n-b", "n-d", "n-leader"],
    ]
    assert database.run(_nonces) == ["n-a", "n-b", "n-d", "n-leader"]
    group = database.group_commit
    assert (group.groups_committed, group.calls_committed, group.calls_handed_back) == (1, 2, 2)
