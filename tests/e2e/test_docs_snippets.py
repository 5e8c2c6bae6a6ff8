"""The documentation runs: docs/integration.md's Python blocks as one script, and the README's commands.

The integration guide's ```python blocks, joined in order, are one script that asserts its own
outcomes. It runs here against a real hub on each dialect, given HUB, HUB_KEY and OPERATOR. Every
other line of the guide becomes an empty line, so a traceback names the guide's own line numbers.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from partner_sdk import ExchangeClient
from tests.conftest import RunningHub

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration.md"
FENCE = re.compile(r"^```(\S*)\s*$")
# Runnable blocks are `python`; illustrations are `py-example` or `text`; commands are `sh`.
KNOWN_LANGUAGES = {"python", "py-example", "text", "sh"}


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """Return (language, first line number, lines) of every fenced block at the start of a line."""
    blocks: list[tuple[str, int, list[str]]] = []
    current: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if current is None:
            if fence:
                current = (fence.group(1), number + 1, [])
        elif line.rstrip() == "```":
            blocks.append(current)
            current = None
        else:
            current[2].append(line)
    assert current is None, f"a code block opened at line {current[1] - 1} is never closed"
    return blocks


def guide_script(text: str) -> str:
    """The python blocks in order, each at its own line numbers; every other line left empty."""
    lines = [""] * len(text.splitlines())
    for language, first, body in fenced_blocks(text):
        if language == "python":
            lines[first - 1 : first - 1 + len(body)] = body
    return "\n".join(lines) + "\n"


def test_every_code_block_is_marked_runnable_or_not() -> None:
    blocks = fenced_blocks(GUIDE.read_text(encoding="utf-8"))
    assert {language for language, _, _ in blocks} <= KNOWN_LANGUAGES
    assert sum(language == "python" for language, _, _ in blocks) >= 10


def test_the_integration_guide_runs_against_a_real_hub(
    hub: RunningHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the guide writes its key files under ./keys
    monkeypatch.setenv("STRIDE_KEY_PASSPHRASE", "stride passphrase for the guide")
    monkeypatch.setenv("VOLTLINE_KEY_PASSPHRASE", "voltline passphrase for the guide")
    # dont_inherit: the guide is a plain script, without this module's `from __future__` imports.
    code = compile(guide_script(GUIDE.read_text(encoding="utf-8")), str(GUIDE), "exec", dont_inherit=True)
    namespace: dict[str, object] = {
        "__name__": "integration_guide",
        "HUB": hub.target,
        "HUB_KEY": hub.hub_public_key,
        "OPERATOR": hub.operator(),
    }
    try:
        exec(code, namespace)
    finally:
        _stop_what_the_script_left_running(namespace)
    assert (tmp_path / "keys" / "stride-k2.pem").stat().st_mode & 0o777 == 0o600


def _stop_what_the_script_left_running(namespace: dict[str, object]) -> None:
    """If the script failed half way, stop its instruction loops and close its clients."""
    values = list(namespace.values())
    for value in values:
        if isinstance(value, threading.Event):
            value.set()
    for value in values:
        for worker in value if isinstance(value, list) else [value]:
            if isinstance(worker, threading.Thread) and worker.is_alive():
                worker.join(timeout=30)
    for value in values:
        if isinstance(value, ExchangeClient):
            value.close()


def test_the_readme_quick_start_commands_are_make_targets() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    quick_start = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert quick_start is not None, "the README has no quick-start block"
    commands = re.findall(r"^make (\S+)", quick_start.group(1), re.MULTILINE)
    assert commands == ["demo", "test"]
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    for target in commands:
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"the Makefile has no `{target}` target"
        assert target in phony.group(1).split()
