"""docs/scaling.md against the code: what it says the hub does today must stay what the hub does.

The page is a reading of the code for a move to a distributed SQL engine. When the code changes
under it (a lock replaced, a SQLSTATE handled, a sequence dropped), these tests fail and say which
part of the page to rewrite.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import BigInteger
from sqlalchemy.exc import DBAPIError

from exchange.service.audit import SEAL_DELAY_MS
from exchange.store import database
from exchange.store.tables import metadata

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "scaling.md"
TEXT = PAGE.read_text(encoding="utf-8")
# The page's prose wraps anywhere: compare with its whitespace collapsed.
FLAT = re.sub(r"\s+", " ", TEXT)


def _modules_whose_source_has(pattern: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "exchange").rglob("*.py")
        if re.search(pattern, path.read_text(encoding="utf-8"))
    }


def test_every_path_the_page_names_exists() -> None:
    named = set(re.findall(r"`((?:exchange|partner_sdk|faults|tests|docker|docs)/[\w./-]+)`", TEXT))
    assert named
    assert sorted(path for path in named if not (ROOT / path).exists()) == []


def test_the_retries_are_the_ones_the_page_describes() -> None:
    assert {"40001", "40P01", "23505"} == database.RETRYABLE_SQLSTATES
    assert f"`MAX_TRANSACTION_ATTEMPTS` ({database.MAX_TRANSACTION_ATTEMPTS})" in FLAT


def test_the_advisory_locks_are_the_three_the_page_replaces() -> None:
    modules = _modules_whose_source_has(r"pg_advisory")
    assert modules == {"exchange/store/migrate.py", "exchange/service/audit.py", "exchange/store/members_repo.py"}
    for module in modules:
        assert f"`{module}`" in TEXT, f"docs/scaling.md, Advisory locks: name {module}"


def test_the_modules_that_branch_on_postgresql_are_the_five_the_page_lists() -> None:
    modules = _modules_whose_source_has(r'"postgresql"')
    assert len(modules) == 5, "docs/scaling.md, The dialect: 'five modules branch on the name postgresql'"
    section = FLAT[FLAT.index("**The dialect") : FLAT.index("**Advisory locks")]
    for module in modules:
        assert f"`{module}`" in section, f"docs/scaling.md, The dialect: name {module}"


def test_an_ambiguous_commit_is_answered_as_the_page_says_today() -> None:
    """40003 is neither retried nor taken for an outage, so the call is answered INTERNAL."""
    error = DBAPIError.instance(
        "COMMIT", None, psycopg.errors.StatementCompletionUnknown("result is ambiguous"), psycopg.Error
    )
    assert database.timeout_reason(error) is None
    assert not database.is_retryable(error), "docs/scaling.md, The ambiguous commit: rewrite it"
    assert not database.unavailable(error), "docs/scaling.md, The ambiguous commit: rewrite it"
    assert "so the call is answered `INTERNAL`" in FLAT


def test_the_autoincrement_keys_are_the_eight_the_page_lists() -> None:
    keys = {
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.primary_key.columns
        if isinstance(column.type, BigInteger) and column.autoincrement is True
    }
    assert len(keys) == 8, "docs/scaling.md, Sequences: 'Eight BIGINT keys are autoincrement'"
    section = FLAT[FLAT.index("**Sequences") : FLAT.index("**Migrations")]
    assert set(re.findall(r"`(\w+\.\w+)`", section)) >= keys


@pytest.mark.parametrize("figure", [f"`SEAL_DELAY_MS` ({SEAL_DELAY_MS // 1000} s)"])
def test_the_sealers_delay_is_the_one_the_page_gives(figure: str) -> None:
    assert figure in FLAT
