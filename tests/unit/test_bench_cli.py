"""bench/run.py's options resolve as before, and its JSON line holds every figure bench/compare.py reads."""

from __future__ import annotations

from dataclasses import fields

from bench.benchmark import FULL, SHORT, Outcome
from bench.compare import FIGURES
from bench.conversions import RunResult
from bench.pgbench import PgbenchResult
from bench.result import summary
from bench.run import options
from bench.settle import headline

DEFAULTED = {"siread_locks_mid_window", "errors", "converted_total", "rows_in_database"}


def test_short_takes_the_short_windows_and_two_client_processes() -> None:
    chosen = options(["--short"])
    assert chosen.mode == SHORT
    assert chosen.duration_s == SHORT.duration_s
    assert (chosen.clients, chosen.client_processes) == (16, 2)
    assert chosen.floor and chosen.scaling and chosen.sqlite and chosen.settle and chosen.group_commit


def test_one_client_runs_in_one_process_and_a_duration_overrides_the_mode() -> None:
    chosen = options(["--clients", "1", "--duration", "3", "--no-group-commit", "--no-settle"])
    assert chosen.mode == FULL
    assert (chosen.clients, chosen.client_processes, chosen.duration_s) == (1, 1, 3.0)
    assert not chosen.group_commit
    assert not chosen.settle


def test_the_json_line_holds_every_figure_compare_reads() -> None:
    run = RunResult(**{f.name: 1 for f in fields(RunResult) if f.name not in DEFAULTED})
    crypto = {"sign_us": 1.0, "verify_us": 1.0, "verify_preloaded_key_us": 1.0, "sign_request_us": 1.0}
    outcome = Outcome(
        crypto=crypto,
        floor=None,
        main_run=run,
        sqlite_run=run,
        scaling=[run],
        pgbench={1: PgbenchResult(1, 8, 1, 100.0, 1.0)},
        profile=None,
        settled=None,
        settle_fields=headline(None, "not run: --no-settle"),
    )
    figures = summary(options(["--short", "--clients", "1"]), outcome, settings={}, warnings=[], elapsed_s=1.0)
    assert {key for key, _ in FIGURES} <= figures.keys()
    assert figures["ratio"] == 0.01
