"""The layering holds: the domain is pure, the SDK never imports the hub."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    offenders = {
        (path, module)
        for path, module in _imports("exchange/domain")
        if not module.startswith("exchange.domain") and module.split(".")[0] not in sys.stdlib_module_names
    }
    assert offenders == set()


def test_the_sdk_never_imports_the_hub() -> None:
    """Only partner_sdk.testing does, which runs a hub in a brand's tests (the [hub] extra)."""
    offenders = {
        (p, m) for p, m in _imports("partner_sdk") if m.split(".")[0] == "exchange" and p != "partner_sdk/testing.py"
    }
    assert offenders == set()


def test_importing_the_sdk_does_not_import_the_testing_hub() -> None:
    import subprocess

    code = "import sys, partner_sdk; print('exchange' in sys.modules, 'partner_sdk.testing' in sys.modules)"
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["False", "False"]


def test_the_sdk_needs_no_database_stack() -> None:
    heavy = {"sqlalchemy", "alembic", "psycopg", "typer", "rich"}
    offenders = {(p, m) for p, m in _imports("partner_sdk") if m.split(".")[0] in heavy}
    assert offenders == set()


def test_the_base_install_declares_no_hub_dependency() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    assert not any(name in base for name in ("sqlalchemy", "alembic", "psycopg"))
    assert any("sqlalchemy" in dep.lower() for dep in project["optional-dependencies"]["hub"])
