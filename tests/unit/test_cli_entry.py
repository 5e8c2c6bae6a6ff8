"""The console script's last word on an error: one line, a non-zero exit, a traceback only on request."""

from __future__ import annotations

import pytest

from exchange.cli.entry import UNFORESEEN_EXIT, USAGE_EXIT, run
from exchange.cli.main import app


def _broken_app(**_: object) -> None:
    raise RuntimeError("the disk\nis full")


def test_a_failure_no_command_foresaw_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_broken_app, []) == UNFORESEEN_EXIT
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err and "the disk" in err


def test_coalition_debug_adds_the_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COALITION_DEBUG", "1")
    assert run(_broken_app, []) == UNFORESEEN_EXIT
    assert "Traceback" in capsys.readouterr().err


def test_a_usage_mistake_is_one_line_naming_the_command_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(app, ["settlement", "pay", "pay-1", "ten", "--reference", "r"]) == USAGE_EXIT
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("coalition settlement pay: ") and "amount_minor" in line.lower()
