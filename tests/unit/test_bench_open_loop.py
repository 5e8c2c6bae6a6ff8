"""The open loop's schedule and figures, with a stand-in for the hub (no server, no database)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bench.clients import ClientJob
from bench.cpu import CpuSnapshot
from bench.open_loop import UNFINISHED, Arrival, Missed, OpenLoopThreads, open_loop_figures

NOWHERE = "127.0.0.1:9"  # channels are lazy: never connected, the operation is a stand-in


class SleepingLoop(OpenLoopThreads):
    """Each arrival takes `SERVICE_S` of a worker's time; arrival 3 fails."""

    SERVICE_S = 0.0

    def _operation(self, slot: int) -> Callable[[int], float]:
        def operation(n: int) -> float:
            time.sleep(self.SERVICE_S)
            if n == 3:
                raise RuntimeError("refused")
            return time.perf_counter()

        return operation


class SlowLoop(SleepingLoop):
    SERVICE_S = 0.025


class FastLoop(SleepingLoop):
    SERVICE_S = 0.002


def run(
    loop: type[OpenLoopThreads], *, rate: float, workers: int, run_s: float, drain_s: float = 5.0
) -> tuple[OpenLoopThreads, float, list[Arrival], list[Missed]]:
    job = ClientJob(kind="open-loop", target=NOWHERE, indices=tuple(range(workers)), rate_per_s=rate)
    threads = loop(job)
    epoch = time.perf_counter() + 0.01
    threads.start(epoch)
    time.sleep(run_s)
    arrivals, missed = threads.finish(time.monotonic() + drain_s)
    return threads, epoch, arrivals, missed


def test_every_arrival_due_before_the_stop_is_served_once_on_its_schedule() -> None:
    threads, epoch, arrivals, missed = run(FastLoop, rate=200, workers=4, run_s=0.5)
    dues = sorted([a[0] for a in arrivals] + [m[0] for m in missed])
    assert dues == [pytest.approx(epoch + n / 200) for n in range(len(dues))]
    assert 90 <= len(dues) <= 140  # 0.5 s at 200/s, and however late the sleep ends on a busy machine
    assert [m[3] for m in missed] == ["RuntimeError"]
    assert all(started >= due for due, started, _, _ in arrivals)
    assert sorted(started - due for due, started, _, _ in arrivals)[len(arrivals) // 2] < 0.02  # on time


def test_a_late_answer_makes_the_arrivals_behind_it_wait_and_their_wait_counts() -> None:
    _, _, arrivals, missed = run(SlowLoop, rate=100, workers=1, run_s=0.3)
    by_due = sorted(arrivals)
    latencies = [ended - due for due, _, _, ended in by_due]
    # One worker, 25 ms a call, an arrival every 10 ms: each waits 15 ms longer than the one before.
    assert latencies[-1] - latencies[0] > 0.010 * (len(by_due) - 1)
    assert latencies[-1] > 0.2
    assert all(ended - started < 0.05 for _, started, _, ended in by_due)
    assert not [m for m in missed if m[3] == UNFINISHED]


def test_arrivals_not_served_by_the_drain_deadline_are_missed_as_unfinished() -> None:
    _, _, arrivals, missed = run(SlowLoop, rate=200, workers=1, run_s=0.2, drain_s=0.05)
    unfinished = [m for m in missed if m[3] == UNFINISHED]
    assert unfinished
    assert len(arrivals) + len(missed) >= 39


def test_each_process_takes_every_other_arrival_of_the_schedule() -> None:
    dues: list[float] = []
    for share in (0, 1):
        job = ClientJob(kind="open-loop", target=NOWHERE, indices=(share,), share=share, shares=2, rate_per_s=100)
        threads = FastLoop(job)
        threads.start(1000.0)
        dues.extend(threads.due(n) for n in range(3))
        threads.finish(time.monotonic())
    assert sorted(dues) == [pytest.approx(1000 + n / 100) for n in range(6)]


def snapshot(at: float) -> CpuSnapshot:
    return CpuSnapshot(at, hub_s=at / 10, postgres_s=at / 20, client_s=at / 40, machine=(at * 100, at * 200))


def test_the_window_counts_arrivals_due_in_it_from_when_they_were_due() -> None:
    arrivals: list[Arrival] = [(10 + n / 100, 10 + n / 100, 0.0, 10 + n / 100 + 0.025) for n in range(1000)]
    arrivals.append((15.0, 19.5, 0.0, 20.5))  # waited 4.5 s for a worker, ended after the window
    arrivals.append((9.0, 9.0, 0.0, 10.5))  # due before the window: not its latency
    missed: list[Missed] = [(12.0, 12.0, 12.1, "AbortedError:TRANSACTION_CONFLICT"), (19.9, 20.2, 20.2, UNFINISHED)]
    result = open_loop_figures(
        rate_per_s=100,
        workers=4,
        client_processes=2,
        before=snapshot(10.0),
        after=snapshot(20.0),
        arrivals=arrivals,
        missed=missed,
        metrics=({"coalition_db_retries_total": 1.0}, {"coalition_db_retries_total": 3.0}),
    )
    assert result.offered == 1001 + 2
    # Ended in the window: 998 of the 1000 (the last two end after it) and the one due before it.
    assert result.completed_per_s == pytest.approx(999 / 10)
    assert result.p50_ms == pytest.approx(25)
    assert result.p999_ms == pytest.approx(25)  # nearest rank: the 1000th of 1001
    assert result.max_ms == pytest.approx(5500)
    assert result.start_lag_p99_ms == pytest.approx(0)
    assert result.queued_at_window_end == 1
    assert result.errors == {"AbortedError:TRANSACTION_CONFLICT": 1, UNFINISHED: 1}
    assert result.db_retries == 2
    assert result.hub_cpu_ms_per_conversion == pytest.approx(1000 / 999, abs=0.001)
