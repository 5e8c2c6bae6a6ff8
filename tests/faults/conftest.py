"""The fault tests run a PostgreSQL cluster of their own; in CI they must run, elsewhere they may skip."""

from __future__ import annotations

import os

import pytest

from faults import formation
from faults.postgres import ClusterUnavailable, require_available


@pytest.fixture
def cluster_available() -> None:
    """Skip (or, in CI, fail) unless a PostgreSQL cluster of our own can run here."""
    try:
        require_available()
    except ClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the fault tests must run in CI, and cannot: {exc}")
        pytest.skip(f"cannot run a PostgreSQL cluster of our own here: {exc}")


@pytest.fixture
def formation_available() -> None:
    """Skip (or, in CI, fail) unless a pg_auto_failover formation can be built here (pg_autoctl installed)."""
    try:
        formation.require_available()
    except ClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the failover test must run in CI (.ci/run installs pg_auto_failover), and cannot: {exc}")
        pytest.skip(f"cannot build a pg_auto_failover formation here: {exc}")
