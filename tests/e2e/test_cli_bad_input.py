"""Every `coalition` command, given what people get wrong, answers in one line and a non-zero exit.

A missing file, a wrong or unreadable key, a hub that is not there, a value that is not what
the option takes: each case runs the real console script and holds it to one line on stderr,
no traceback, and exit 1 or 2. The table below must name every command the CLI has (a new
command without a bad-input case fails test_every_command_has_its_bad_input_cases).
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer.main

from exchange.cli.main import app
from partner_sdk import generate_private_key, save_private_key
from tests.conftest import RunningHub
from tests.e2e.test_cli import COALITION, _free_port

# Placeholders filled in per test: {dir} a fresh folder, {key} a plain private key there,
# {text} a file that is no key, {hub} an address nothing listens on, {hex} a well-formed public key.
CASES: dict[str, list[str]] = {
    "serve": [
        "serve --var-dir {dir} --listen 127.0.0.1:port",
        "serve --var-dir {dir} --operator-key {dir}/missing.pem",
        "serve --var-dir {dir} --hub-key {text}",
        "serve --var-dir {dir} --db foo://x",
        "serve --var-dir {dir} --workers many",
        "serve --var-dir {dir} --tls-cert {dir}/missing.crt --tls-key {dir}/missing.key",
    ],
    "health": ["health --target {hub} --timeout-s 1", "health --timeout-s soon", "health --tls-ca {dir}/missing.pem"],
    "demo": ["demo --var-dir {text}/below-a-file"],
    "db upgrade": ["db upgrade --db foo://x", "db upgrade --db sqlite:///{dir}/missing/exchange.sqlite3"],
    "db status": ["db status --db sqlite:///{dir}/missing.sqlite3", "db status --db postgresql+psycopg://x@{hub}/x"],
    "admin list": [
        "admin list --target {hub} --operator-key {key}",
        "admin list --operator-key {dir}/missing.pem",
        "admin list --operator-key {text}",
        "admin list --operator-key {key} --hub-public-key nothex",
        "admin list --operator-key {key} --tls-ca {dir}/missing.pem",
        "admin --target {hub} list --status NOPE --operator-key {key}",
    ],
    "admin approve": ["admin approve stride --target {hub} --operator-key {key}", "admin approve"],
    "admin suspend": ["admin suspend stride --target {hub} --operator-key {key}"],
    "admin reinstate": ["admin reinstate stride --operator-key {dir}/missing.pem"],
    "keys new": ["keys new {key}", "keys new {dir}/new.pem --passphrase-env COALITION_UNSET_VARIABLE"],
    "keys show": ["keys show {dir}/missing.pem", "keys show {text}", "keys show {dir}"],
    "keys protect": ["keys protect {dir}/missing.pem", "keys protect {text}"],
    "keys keyring": ["keys keyring {key}", "keys keyring {text}/below-a-file.json"],
    "keys rotate-master": [
        "keys rotate-master --keyring {dir}/missing.json --db sqlite:///{dir}/x.sqlite3",
        "keys rotate-master --keyring {text} --db sqlite:///{dir}/x.sqlite3",
    ],
    "keys retire-master": ["keys retire-master mk-9 --keyring {dir}/missing.json --db sqlite:///{dir}/x.sqlite3"],
    "settlement close": [
        "settlement close --target {hub} --operator-key {key}",
        "settlement close --cutoff yesterday --operator-key {key}",
    ],
    "settlement periods": [
        "settlement periods --target {hub} --operator-key {key}",
        "settlement periods --operator-key {dir}/missing.pem",
    ],
    "settlement statements": [
        "settlement statements --target {hub} --partner stride --key {key} --key-id stride-k1",
        "settlement statements --partner stride --key {key}",
        "settlement statements --partner stride --key {text} --key-id stride-k1",
        "settlement --partner stride statements --key {dir}/missing.pem --key-id stride-k1",
    ],
    "settlement show": ["settlement show stm-1 --target {hub} --operator-key {key} --hub-public-key 12ab"],
    "settlement export": [
        "settlement export stm-1 --format pdf --operator-key {key}",
        "settlement export stm-1 --target {hub} --operator-key {key}",
    ],
    "settlement verify": [
        "settlement verify --file {dir}/missing.json --hub-public-key {hex}",
        "settlement verify --file {text} --hub-public-key {hex}",
        "settlement verify --file {text}",
        "settlement verify --target {hub} --operator-key {key}",
    ],
    "settlement reconcile": [
        "settlement reconcile per-1 {dir}/missing.csv --operator-key {key}",
        "settlement reconcile per-1 {text} --target {hub} --partner stride --key {key} --key-id stride-k1",
    ],
    "settlement payments": ["settlement payments --target {hub} --operator-key {key}"],
    "settlement pay": [
        "settlement pay pay-1 ten --reference r --operator-key {key}",
        "settlement pay pay-1 10 --operator-key {key}",
        "settlement pay pay-1 10 --reference r --target {hub} --partner stride --key {key} --key-id stride-k1",
    ],
    "settlement disputes": ["settlement disputes --target {hub} --operator-key {key}"],
    "settlement dispute": [
        "settlement dispute --claim lots --reason r --partner stride --key {key} --key-id stride-k1",
        "settlement dispute --claim 5 --reason r --target {hub} --partner stride --key {key} --key-id stride-k1",
    ],
    "settlement respond": ["settlement respond dsp-1 --accept --note n --target {hub} --operator-key {key}"],
    "settlement resolve": ["settlement resolve dsp-1 --award x --note n --operator-key {key}"],
    "audit seal": ["audit seal --hub-key {dir}/missing.pem", "audit seal --hub-key {text} --db sqlite:///{dir}/a.db"],
    "audit verify": [
        "audit verify --hub-public-key nothex",
        "audit verify --hub-public-key {hex} --db sqlite:///{dir}/missing.sqlite3",
    ],
}


def _leaf_commands() -> set[str]:
    found: set[str] = set()

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, [*path, name])
        else:
            found.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_has_its_bad_input_cases() -> None:
    assert _leaf_commands() == set(CASES)


def _mistake(case: str, folder: Path) -> str | None:
    """Run one case in its own folder; return what is wrong with its answer, or None."""
    folder.mkdir()
    key = folder / "key.pem"
    save_private_key(key, generate_private_key())
    text = folder / "notes.txt"
    text.write_text("not a key, not JSON, not a CSV in the export layout\n")
    values = {
        "dir": str(folder),
        "key": str(key),
        "text": str(text),
        "hub": f"127.0.0.1:{_free_port()}",
        "hex": "ab" * 32,
    }
    argv = [COALITION, *case.format(**values).split()]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")}
    result = subprocess.run(
        argv, cwd=folder, env=environment, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    said = result.stdout + result.stderr
    # health's answer is its output (SERVING / NOT SERVING: UNAVAILABLE), which probes read on stdout.
    lines = (result.stdout if case.startswith("health --target") else result.stderr).strip().splitlines()
    if result.returncode not in (1, 2) or "Traceback" in said or len(lines) != 1:
        return f"`coalition {case}` exited {result.returncode} with:\n{said}"
    if not lines[0].startswith(("coalition", "NOT SERVING")):
        return f"`coalition {case}` said: {lines[0]}"
    return None


@pytest.mark.parametrize("command", sorted(CASES))
def test_a_mistake_is_one_line_and_a_non_zero_exit(command: str, tmp_path: Path) -> None:
    """Each command's cases, run side by side (each is a whole interpreter starting): every answer one line."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda numbered: _mistake(numbered[1], tmp_path / str(numbered[0])), enumerate(CASES[command]))
        wrong = [problem for problem in found if problem is not None]
    assert wrong == [], "\n\n".join(wrong)


def test_a_key_the_hub_does_not_know_is_one_line(hub: RunningHub, tmp_path: Path) -> None:
    """A live hub refusing the signer: the refusal, its code and reason, in one line, exit 2."""
    stranger = tmp_path / "stranger.pem"
    save_private_key(stranger, generate_private_key())
    for args in (
        ["settlement", "statements", "--partner", "stride", "--key", str(stranger), "--key-id", "stride-k1"],
        ["settlement", "periods", "--operator-key", str(stranger)],
        ["admin", "list", "--operator-key", str(stranger)],
    ):
        result = subprocess.run([COALITION, *args, "--target", hub.target], capture_output=True, text=True, timeout=60)
        assert result.returncode in (1, 2), result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "UNAUTHENTICATED" in line or "PERMISSION_DENIED" in line, line
