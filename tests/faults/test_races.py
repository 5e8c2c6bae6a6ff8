"""A retry racing its own, still running, first attempt across a deadline (faults/races.py).

Each would fail on a hub that decides a deadline refusal on a snapshot that can't see the
first attempt: the retry would be refused while the first attempt commits.
"""

from __future__ import annotations

import pytest

from faults.races import run

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("cluster_available")]


def test_a_retried_acknowledgement_is_never_refused_when_the_acknowledgement_happened() -> None:
    (result,) = run(["ack"])
    assert not result.inconsistent, result


def test_a_retried_conversion_is_never_refused_when_the_conversion_happened() -> None:
    (result,) = run(["convert"])
    assert not result.inconsistent, result


def test_a_resend_gets_the_answer_of_the_original_even_across_a_deadline() -> None:
    (result,) = run(["resend"])
    assert not result.inconsistent, result
