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


# Import cycles in exchange/ left on purpose, each the set of modules caught in it, with why. Both
# run through exchange/cli, which other work owns; the test fails when one of them is broken, so
# the entry goes with it.
KNOWN_IMPORT_CYCLES: dict[frozenset[str], str] = {
    frozenset(
        {
            "exchange.cli.demo",
            "exchange.cli.demo_earning",
            "exchange.cli.demo_members",
            "exchange.cli.demo_money",
            "exchange.cli.demo_settlement",
        }
    ): "demo imports every story; each story imports demo's Checks back (for its type, inside TYPE_CHECKING)",
    frozenset({"exchange.cli.entry", "exchange.cli.main"}): (
        "entry's main() imports main's app, and main's command that runs the entry point imports entry back"
    ),
}


def _modules(root: Path, package: str) -> dict[str, Path]:
    modules = {}
    for path in (root / package).rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports.

    Every import statement counts, wherever it is: at the top, inside a function, under
    TYPE_CHECKING. A name is resolved to the deepest module it names (``from a import b`` is
    the module a.b when there is one, else a); importing a.b also runs package a's __init__.
    """
    modules = _modules(root, package)

    def module_of(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        named: list[str] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                named += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                base += node.module.split(".") if node.module else []
                named += [".".join([*base, alias.name]) for alias in node.names]
        for target in filter(None, map(module_of, named)):
            parts = target.split(".")
            graph[name] |= {".".join(parts[:n]) for n in range(1, len(parts) + 1)} - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> dict[frozenset[str], list[str]]:
    """Each group of modules that import each other, and the shortest cycle (a, b, ..., a) from its first."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group: set[str] = set()
            while module not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return {frozenset(group): _shortest_cycle(graph, group) for group in groups}


def _shortest_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for imported in sorted(graph[module] & group):
                if imported == start:
                    return [*paths[module], start]
                if imported not in paths:
                    paths[imported] = [*paths[module], imported]
                    following.append(imported)
        frontier = following
    raise AssertionError(f"{group} is a group of modules importing each other, yet no cycle runs through {start}")


def test_no_module_of_the_hub_imports_itself_back_through_others() -> None:
    cycles = _cycles(_import_graph(ROOT, "exchange"))
    unexpected = [" -> ".join(cycle) for group, cycle in cycles.items() if group not in KNOWN_IMPORT_CYCLES]
    assert unexpected == [], "import cycles in exchange/ (late imports inside functions count too)"
    gone = KNOWN_IMPORT_CYCLES.keys() - cycles.keys()
    assert gone == set(), "these cycles are broken now: take them out of KNOWN_IMPORT_CYCLES"


def test_the_import_graph_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for path, text in {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "",
        "pkg/a.py": "from pkg.sub import b\n",
        "pkg/sub/b.py": "def late() -> None:\n    from .. import c\n",
        "pkg/c.py": "import pkg.a\n",
        "pkg/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import thing\n",
    }.items():
        (tmp_path / path).write_text(text)
    graph = _import_graph(tmp_path, "pkg")
    assert graph["pkg.d"] == {"pkg", "pkg.a"}
    assert _cycles(graph) == {frozenset({"pkg.a", "pkg.sub.b", "pkg.c"}): ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]}


MONEY_PATH_COMMANDS = {
    "exchange.service.conversions": ("quote", "convert", "get", "reverse", "fail_credit", "expire_overdue"),
    "exchange.service.outcomes": ("acknowledge", "reject"),
    "exchange.service.redemptions": ("authorize", "get", "capture", "void", "expire_overdue"),
    "exchange.service.accruals": ("complete", "void", "expire_overdue"),
}


def test_the_money_paths_commands_take_a_unit_of_work_not_a_connection() -> None:
    import importlib
    import inspect

    from exchange.service.ports import UnitOfWork

    for module_name, names in MONEY_PATH_COMMANDS.items():
        module = importlib.import_module(module_name)
        for name in names:
            first = next(iter(inspect.signature(getattr(module, name), eval_str=True).parameters.values()))
            assert first.annotation is UnitOfWork, f"{module_name}.{name} takes {first.annotation}, not a UnitOfWork"


def test_the_service_modules_of_holds_and_instruction_answers_know_no_sql() -> None:
    for module_name in ("exchange.service.redemptions", "exchange.service.outcomes"):
        tree = ast.parse((ROOT / (module_name.replace(".", "/") + ".py")).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        sql = {
            name
            for name in imported
            if name.startswith(("sqlalchemy", "exchange.store")) and name != "exchange.store.ids"
        }
        assert not sql, f"{module_name} imports {sorted(sql)}: it should reach storage through exchange.service.ports"
