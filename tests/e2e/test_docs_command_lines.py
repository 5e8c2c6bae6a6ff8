"""Every `coalition` command line the README and docs/ show, run as a reader would run it.

Each fenced shell block is run line by line, in order, with bash, in a folder set up as the
text assumes: a real `coalition serve` whose var directory is `var/`, brands' key files beside
it, `/etc/coalition/...` and `hub.internal:50051` standing for that folder and that hub. Shell
variables a block sets (HUB_KEY=..., export ...) carry over to later lines of the same file.
Placeholders a reader fills in (`cnv-...`, `dsp-...`) are filled in with the real ids.

A line that can't run here (a second hub, a TLS hub, another host's database) is listed in
NOT_RUN_HERE with the test that runs it or the reason; the list is checked to be exact, so a
new line is either run or consciously listed. Every line, and every `coalition ...` inline in the
prose, must also parse against the real command line: the command exists and takes each
option named, where it is written.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pytest
import typer.main

from exchange.cli.main import app
from partner_sdk import ExchangeClient, OperatorClient, generate_private_key, load_private_key, save_private_key
from partner_sdk.settlement_csv import write_movements_csv
from tests.e2e.money import terms
from tests.e2e.test_cli import COALITION, _free_port, _wait_healthy

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"^(?:\S*/)?coalition(?:\s|$)")
SHOWS_A_COMMAND = re.compile(r"(?:^|[\s(/])coalition\s", re.M)

# (document, start of the line) -> where it is run instead, or why it can't be run here.
NOT_RUN_HERE: dict[tuple[str, str], str] = {
    ("README.md", ".venv/bin/coalition serve"): "a second hub: tests/e2e/test_cli.py serves with these options",
    ("operations.md", "coalition serve"): "a second hub: tests/e2e/test_cli.py and test_tls.py serve so",
    ("operations.md", "coalition health --target hub.internal:50051 --tls-ca"): "a TLS hub: tests/e2e/test_tls.py",
    ("operations.md", "coalition admin list $ADMIN $TLS"): "a TLS hub: test_cli_operator_papercuts.py",
    ("operations.md", "coalition keys protect var/hub_key.pem"): "test_key_passphrase_cli.py runs this block",
    ("operations.md", "coalition keys show var/hub_key.pem --passphrase-env"): "test_key_passphrase_cli.py",
}


def _fenced_blocks(path: Path) -> Iterator[str]:
    for language, body in re.findall(
        r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", path.read_text(encoding="utf-8"), re.M | re.S
    ):
        if language in ("sh", "bash", "shell", "console", "text", ""):
            yield body


def _lines(block: str) -> list[str]:
    """The block's lines as the shell reads them: continuations joined, indentation gone."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _documented_command_lines() -> list[tuple[str, str]]:
    return [
        (path.name, line)
        for path in DOCUMENTS
        for block in _fenced_blocks(path)
        for line in _lines(block)
        if COMMAND.match(line)
    ]


def _inline_command_lines() -> list[tuple[str, str]]:
    found = []
    for path in DOCUMENTS:
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        for span in re.findall(r"`(coalition [^`]+)`", re.sub(r"\s*\n\s*", " ", text)):
            found.append((path.name, span))
    return found


def _not_run_here(document: str, line: str) -> str | None:
    return next((why for (doc, start), why in NOT_RUN_HERE.items() if doc == document and line.startswith(start)), None)


# -- every line parses ------------------------------------------------------------------------


def _words_for_parsing(line: str) -> list[str]:
    line = re.sub(r"\$\([^)]*\)", "x", line)  # $(command substitution)
    line = re.sub(r"\[([^\]]*)\]", r"\1", line)  # [--optional PART] in prose
    words = shlex.split(line, comments=True)
    words = [word.split("|")[0] if "|" in word and not word.startswith("--") else word for word in words]
    return [word for word in words[1:] if not word.startswith("$") and not word.startswith("2>")]


def _unknown_options(words: list[str]) -> tuple[str, list[str]]:
    """Walk the command tree; return the command reached and the options it does not take."""
    command = typer.main.get_command(app)
    path: list[str] = []
    while words and hasattr(command, "commands") and words[0] in command.commands:
        path.append(words[0])
        command = command.commands[words.pop(0)]
    if hasattr(command, "commands") and words and not words[0].startswith("-") and words[0] != "...":
        return " ".join(path), [f"no such command {words[0]!r}"]
    taken = {"--help"} | {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    if hasattr(command, "commands"):  # options before a subcommand written as "..."
        for sub in command.commands.values():
            taken |= {opt for param in sub.params for opt in (*param.opts, *param.secondary_opts)}
    return " ".join(path), [w.split("=")[0] for w in words if w.startswith("-") and w.split("=")[0] not in taken]


@pytest.mark.parametrize(("document", "line"), [*_documented_command_lines(), *_inline_command_lines()])
def test_every_documented_command_line_names_a_command_and_options_it_takes(document: str, line: str) -> None:
    reached, unknown = _unknown_options(_words_for_parsing(line))
    assert reached or line.split()[1].startswith("-"), f"{document}: {line}"
    assert unknown == [], f"{document}: `{line}` ({reached}) does not take {unknown}"


def test_the_list_of_lines_not_run_here_names_only_lines_the_docs_show() -> None:
    shown = _documented_command_lines()
    for (document, start), why in NOT_RUN_HERE.items():
        assert any(doc == document and line.startswith(start) for doc, line in shown), (document, start, why)


# -- every line runs ---------------------------------------------------------------------------


@dataclass
class Site:
    """A folder laid out as the docs assume, with a hub serving from its var/ directory."""

    folder: Path
    target: str
    environment: dict[str, str]
    hub_public_key: bytes
    facts: dict[str, str] = field(default_factory=dict)  # placeholder -> the real value

    def operator(self) -> OperatorClient:
        key = load_private_key(self.folder / "var" / "operator_key.pem")
        return OperatorClient(self.target, private_key=key, hub_public_key=self.hub_public_key)

    def brand(self, partner_id: str, key_file: str, key_id: str) -> ExchangeClient:
        path = self.folder / key_file
        if not path.exists():
            save_private_key(path, generate_private_key())
        return ExchangeClient(
            self.target,
            partner_id=partner_id,
            key_id=key_id,
            private_key=load_private_key(path),
            hub_public_key=self.hub_public_key,
        )

    def register(self, partner_id: str, key_file: str, key_id: str, *, approve: bool) -> ExchangeClient:
        client = self.brand(partner_id, key_file, key_id)
        client.register(
            display_name=partner_id.title(),
            point_currency=partner_id[:4].upper(),
            settlement_currency="GBP",
            point_value_minor=Fraction(1, 2),
        )
        if approve:
            with self.operator() as operator:
                operator.approve(partner_id)
        return client

    def run(self, document: str, line: str) -> subprocess.CompletedProcess[str]:
        for placeholder, value in self.facts.items():
            line = line.replace(placeholder, value)
        line = line.replace("/etc/coalition/", f"{self.folder}/etc/coalition/")
        line = line.replace("hub.internal:50051", self.target).replace("127.0.0.1:50051", self.target)
        assignment = re.match(r"^(?:export\s+)?([A-Z_][A-Z0-9_]*)=", line)
        script = f'{line}\nprintf "%s" "${assignment.group(1)}"' if assignment else line
        result = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{script}"],
            cwd=self.folder,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        said = f"{document}: {line}\n{result.stdout}{result.stderr}"
        assert result.returncode == 0, said
        assert "Traceback" not in said
        if assignment:
            self.environment[assignment.group(1)] = result.stdout
        return result


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    folder = tmp_path / "site"
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "coalition").symlink_to(COALITION)
    (folder / "data").mkdir()
    target = f"127.0.0.1:{_free_port()}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")}
    environment |= {
        "PATH": f"{Path(COALITION).parent}:{environment['PATH']}",
        "HOME": str(folder / "home"),
        "COLUMNS": "200",
        "COALITION_DB": f"sqlite:///{folder / 'var' / 'exchange.sqlite3'}",
        "COALITION_TARGET": target,  # the hub at "its default address", for lines that name none
    }
    process = subprocess.Popen(
        [COALITION, "serve", "--listen", target, "--var-dir", "var"],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(target, process)
        (folder / "etc" / "coalition").mkdir(parents=True)
        (folder / "etc" / "coalition" / "hub_key.pem").symlink_to(folder / "var" / "hub_key.pem")
        (folder / "home" / ".coalition").mkdir(parents=True)
        shutil.copy(folder / "var" / "operator_key.pem", folder / "home" / ".coalition" / "operator_key.pem")
        from partner_sdk import public_key_bytes

        hub_key = public_key_bytes(load_private_key(folder / "var" / "hub_key.pem"))
        yield Site(folder, target, environment, hub_key)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _pending_stride(site: Site) -> None:
    site.register("stride", "stride.pem", "stride-k1", approve=False)


def _a_period_of_traffic(site: Site) -> None:
    """stride converts its members' points into voltline's, and voltline credits them."""
    site.register("voltline", "volt.pem", "volt-k1", approve=True)
    with (
        site.brand("stride", "stride.pem", "stride-k1") as stride,
        site.brand("voltline", "volt.pem", "volt-k1") as volt,
    ):
        volt.accept_agreement(stride.propose_agreement(terms()).agreement_id)
        for member in range(3):
            quote = stride.quote_conversion("voltline", 10_000)
            stride.convert(quote.quote_id, source_member_ref=f"m-{member}", target_member_ref=f"v-{member}")
        for instruction in volt.pull_instructions(wait_s=0):
            volt.acknowledge_instruction(instruction.instruction_id, partner_reference="ok")


def _stride_books(site: Site) -> None:
    """stride's own record of the closed period, in the export layout (from its books, here the hub's)."""
    with site.brand("stride", "stride.pem", "stride-k1") as stride:
        movements = list(stride.iter_statement_movements("stm-000001-stride"))
        (instruction,) = stride.get_statement("stm-000001-stride").payment_instructions
    with (site.folder / "our-books.csv").open("w", encoding="utf-8", newline="") as books:
        write_movements_csv(books, period_id="per-000001", partner_id="stride", statement_id="", movements=movements)
    site.facts["cnv-..."] = movements[0].movement_id
    site.facts["pay-000001-0001"] = instruction.instruction_id


def _an_active_stride_and_a_period_of_traffic(site: Site) -> None:
    site.register("stride", "stride.pem", "stride-k1", approve=True)
    _a_period_of_traffic(site)


def _the_dispute(site: Site) -> None:
    with site.operator() as operator:
        site.facts["dsp-..."] = operator.list_disputes().items[0].dispute_id


def _rotated_master_key(site: Site) -> None:
    site.run("privacy.md", "coalition keys rotate-master --keyring var/keyring.json --db $COALITION_DB")


# (document, start of a line) -> what the reader has done before it, as the text says.
BEFORE: dict[tuple[str, str], Callable[[Site], None]] = {
    ("README.md", ".venv/bin/coalition admin list --status PENDING"): _pending_stride,
    ("README.md", "export COALITION_TARGET="): _a_period_of_traffic,
    ("README.md", "STRIDE="): _stride_books,
    ("settlement.md", "export COALITION_TARGET="): _an_active_stride_and_a_period_of_traffic,
    ("settlement.md", "STRIDE="): _stride_books,
    ("settlement.md", "coalition settlement respond dsp-..."): _the_dispute,
    ("operations.md", "HUB_KEY="): _pending_stride,
    ("privacy.md", "coalition keys retire-master mk-1"): _rotated_master_key,
}


def _shell_lines(path: Path) -> list[str]:
    return [line for block in _fenced_blocks(path) if SHOWS_A_COMMAND.search(block) for line in _lines(block)]


@pytest.mark.parametrize(
    "document",
    [path for path in DOCUMENTS if any(COMMAND.match(line) for line in _shell_lines(path))],
    ids=lambda path: path.name,
)
def test_every_command_line_the_document_shows_runs(document: Path, site: Site) -> None:
    ran = 0
    for line in _shell_lines(document):
        for (doc, start), prepare in BEFORE.items():
            if doc == document.name and line.startswith(start):
                prepare(site)
        is_command = COMMAND.match(line)
        assigns = re.match(r"^(?:export\s+)?[A-Z_][A-Z0-9_]*=", line)
        if not (is_command or assigns) or (is_command and _not_run_here(document.name, line)):
            continue
        site.run(document.name, line)
        ran += bool(is_command)
    assert ran > 0
