"""How many processes `coalition serve` runs when --processes is not given."""

from __future__ import annotations

import pytest

from exchange.cli import processes


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (4, 4), (64, 4)])
def test_postgresql_gets_one_process_per_core_up_to_the_cap(
    monkeypatch: pytest.MonkeyPatch, cores: int, expected: int
) -> None:
    monkeypatch.setattr(processes.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert processes.default_count("0.0.0.0:50051", "postgresql") == expected
    assert expected <= processes.DEFAULT_MAX_PROCESSES


@pytest.mark.parametrize("cores", [1, 2, 8])
def test_sqlite_gets_one_process_whatever_the_cores(monkeypatch: pytest.MonkeyPatch, cores: int) -> None:
    monkeypatch.setattr(processes.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    assert processes.default_count("0.0.0.0:50051", "sqlite") == 1


def test_an_address_processes_cannot_share_gets_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    assert processes.default_count("unix:/run/coalition.sock", "postgresql") == 1
