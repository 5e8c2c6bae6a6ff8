"""The README is the front door: short, every test its guarantees name exists, every path it names is there.

The examples the README and the guides show in ```python blocks that the test suite does not run
(the README's, docs/privacy.md's, docs/earning.md's) still compile, and call only methods the
SDK's client has.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from partner_sdk import ExchangeClient

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
MAX_README_BYTES = 12 * 1024
# The brands of the examples: every method called on one of them is ExchangeClient's.
BRAND_CLIENTS = {"stride", "voltline", "pacer", "client"}
ILLUSTRATED = [README, ROOT / "docs" / "privacy.md", ROOT / "docs" / "earning.md"]


def _section(heading: str) -> str:
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", TEXT, re.M | re.S)
    assert found, f"the README has no '## {heading}' section"
    return found.group(1)


def _guarantee_rows() -> list[tuple[str, list[str]]]:
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", _section("Guarantees"), re.M)
    return [(promise, re.findall(r"`(tests/[^`]+)`", tests)) for promise, tests in rows[2:]]


def test_the_readme_stays_short() -> None:
    assert len(TEXT.encode("utf-8")) <= MAX_README_BYTES, "move detail to docs/ and link it"


def test_every_guarantee_names_a_test() -> None:
    rows = _guarantee_rows()
    assert len(rows) >= 10
    for promise, tests in rows:
        assert tests, f"the guarantee {promise!r} names no test"


@pytest.mark.parametrize("named", sorted({test for _, tests in _guarantee_rows() for test in tests}))
def test_every_test_a_guarantee_names_exists(named: str) -> None:
    path, _, function = named.partition("::")
    assert (ROOT / path).exists(), f"the README's guarantees name {path}, which does not exist"
    if function:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {re.escape(function)}\(", source, re.M), f"{path} has no {function}"


def test_every_path_the_readme_names_exists() -> None:
    named = set(re.findall(r"`((?:docs|bench|docker|tests|scripts|protos|exchange|partner_sdk)/[\w./-]*)`", TEXT))
    assert named
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert missing == []


def test_the_readme_names_every_guide() -> None:
    for guide in sorted((ROOT / "docs").glob("*.md")):
        assert f"`docs/{guide.name}`" in TEXT, f"the README's documentation list does not name docs/{guide.name}"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", path.read_text(encoding="utf-8"), re.M | re.S)


@pytest.mark.parametrize("document", ILLUSTRATED, ids=lambda path: path.name)
def test_the_examples_compile_and_call_what_the_client_has(document: Path) -> None:
    blocks = _python_blocks(document)
    assert blocks, f"{document.name} shows no python example"
    for block in blocks:
        tree = ast.parse(block, filename=document.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in BRAND_CLIENTS
            ):
                method = node.func.attr
                assert hasattr(ExchangeClient, method), f"{document.name}: ExchangeClient has no {method}"
