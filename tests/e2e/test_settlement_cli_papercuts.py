"""What tripped settlement staff up on the command line, run as they run it: the real console script.

Options go before the subcommand or after it; an encrypted brand key is read with its passphrase
from COALITION_PARTNER_KEY_PASSPHRASE (a wrong one is one line); --partner needs --key-id (no
default that quietly names another key); reconcile exits 1 on breaks, as diff does.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from partner_sdk import save_private_key
from partner_sdk.settlement_csv import read_movements_csv, write_movements_csv
from tests.conftest import RunningHub
from tests.e2e.money import terms
from tests.e2e.test_cli import COALITION

PASSPHRASE = "correct horse battery staple"


@dataclass(frozen=True)
class Desk:
    """A closed period with one conversion, and the files a clerk holds."""

    hub: RunningHub
    folder: Path
    operator_key: Path
    stride_key: Path
    stride_key_encrypted: Path

    def run(self, *args: str, expect: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")} | env
        environment["COLUMNS"] = "200"  # whole ids in the tables
        result = subprocess.run(
            [COALITION, *args],
            cwd=self.folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        said = result.stdout + result.stderr
        assert result.returncode == expect, said
        assert "Traceback" not in said
        return result

    @property
    def as_stride(self) -> list[str]:
        return ["--partner", "stride", "--key", str(self.stride_key), "--key-id", "k1"]

    @property
    def as_operator(self) -> list[str]:
        return ["--operator-key", str(self.operator_key)]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """On SQLite only: these are the command line's behaviours; the hub's are tested on both databases."""
    with RunningHub() as hub:
        yield _closed_period(hub, tmp_path)


def _closed_period(hub: RunningHub, tmp_path: Path) -> Desk:
    stride, stride_key = hub.active_partner("stride", currency="GBP")
    voltline, _ = hub.active_partner("voltline", currency="GBP")
    voltline.accept_agreement(stride.propose_agreement(terms()).agreement_id)
    quote = stride.quote_conversion("voltline", 1000)
    stride.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="v-1")
    for instruction in voltline.pull_instructions(wait_s=0):
        voltline.acknowledge_instruction(instruction.instruction_id, partner_reference="ok")
    hub.operator().close_period("per-000001")
    save_private_key(tmp_path / "operator.pem", hub.operator_key)
    save_private_key(tmp_path / "stride.pem", stride_key)
    save_private_key(tmp_path / "stride-encrypted.pem", stride_key, PASSPHRASE.encode())
    return Desk(hub, tmp_path, tmp_path / "operator.pem", tmp_path / "stride.pem", tmp_path / "stride-encrypted.pem")


def test_the_common_options_go_before_the_subcommand_or_after_it(desk: Desk) -> None:
    target = ["--target", desk.hub.target]
    before = desk.run("settlement", *target, *desk.as_stride, "statements").stdout
    after = desk.run("settlement", "statements", *target, *desk.as_stride).stdout
    split = desk.run("settlement", *target, "statements", *desk.as_stride).stdout
    assert "stm-000001-stride" in before
    assert before == after == split
    assert "stride" in desk.run("admin", *target, *desk.as_operator, "list").stdout
    assert "stride" in desk.run("admin", "list", *target, *desk.as_operator).stdout


def test_an_option_after_the_subcommand_wins_over_the_same_option_before_it(desk: Desk) -> None:
    nowhere = "127.0.0.1:1"
    desk.run("settlement", "--target", nowhere, "periods", "--target", desk.hub.target, *desk.as_operator)
    refused = desk.run(
        "settlement", "--target", desk.hub.target, "periods", "--target", nowhere, *desk.as_operator, expect=2
    )
    assert "UNAVAILABLE" in refused.stderr


def test_offline_verify_takes_its_options_after_the_subcommand_as_the_guide_shows(desk: Desk) -> None:
    desk.run("settlement", "export", "stm-000001-stride", "--out", "out", "--target", desk.hub.target, *desk.as_stride)
    hub_key = desk.hub.hub_public_key.hex()
    verified = desk.run("settlement", "verify", "--file", "out/stm-000001-stride.json", "--hub-public-key", hub_key)
    assert "signature and arithmetic verify" in verified.stdout
    wrong_key = desk.run(
        "settlement", "verify", "--file", "out/stm-000001-stride.json", "--hub-public-key", "ab" * 32, expect=2
    )
    (line,) = wrong_key.stderr.strip().splitlines()
    assert "does not verify" in line


def test_an_encrypted_brand_key_is_read_with_the_passphrase_from_its_variable(desk: Desk) -> None:
    options = ["--target", desk.hub.target, "--partner", "stride", "--key", str(desk.stride_key_encrypted)]
    listed = desk.run(
        "settlement", "statements", *options, "--key-id", "k1", COALITION_PARTNER_KEY_PASSPHRASE=PASSPHRASE
    )
    assert "stm-000001-stride" in listed.stdout
    wrong = desk.run(
        "settlement", "statements", *options, "--key-id", "k1", expect=2, COALITION_PARTNER_KEY_PASSPHRASE="nope"
    )
    (line,) = wrong.stderr.strip().splitlines()
    assert "wrong passphrase" in line
    missing = desk.run("settlement", "statements", *options, "--key-id", "k1", expect=2)
    (line,) = missing.stderr.strip().splitlines()
    assert "COALITION_PARTNER_KEY_PASSPHRASE" in line


def test_the_brand_identity_can_come_from_the_environment(desk: Desk) -> None:
    listed = desk.run(
        "settlement",
        "statements",
        "--target",
        desk.hub.target,
        COALITION_PARTNER="stride",
        COALITION_PARTNER_KEY=str(desk.stride_key),
        COALITION_PARTNER_KEY_ID="k1",
    )
    assert "stm-000001-stride" in listed.stdout


def test_partner_without_a_key_id_is_refused_rather_than_guessed(desk: Desk) -> None:
    refused = desk.run(
        "settlement", "statements", "--target", desk.hub.target, "--partner", "stride", "--key", str(desk.stride_key),
        expect=2,
    )  # fmt: skip
    (line,) = refused.stderr.strip().splitlines()
    assert "--key-id" in line
    wrong_id = desk.run(
        "settlement", "statements", "--target", desk.hub.target, *desk.as_stride[:4], "--key-id", "stride-k9",
        expect=2,
    )  # fmt: skip
    (line,) = wrong_id.stderr.strip().splitlines()
    assert "UNAUTHENTICATED" in line


def test_reconcile_exits_0_when_every_line_matches_and_1_on_breaks(desk: Desk) -> None:
    target = ["--target", desk.hub.target]
    desk.run("settlement", "export", "stm-000001-stride", "--format", "csv", "--out", "out", *target, *desk.as_stride)
    ours = desk.folder / "out" / "stm-000001-stride.csv"
    desk.run("settlement", "reconcile", "per-000001", str(ours), *target, *desk.as_stride)
    (movement,), problems = read_movements_csv(ours)
    assert problems == []
    altered = desk.folder / "ours-altered.csv"
    with altered.open("w", newline="", encoding="utf-8") as lines:  # our books say one minor unit more
        write_movements_csv(
            lines,
            period_id="per-000001",
            partner_id="stride",
            statement_id="",
            movements=[replace(movement, amount_minor=movement.amount_minor + 1)],
        )
    broken = desk.run("settlement", "reconcile", "per-000001", str(altered), *target, *desk.as_stride, expect=1)
    assert "breaks" in broken.stderr.strip().splitlines()[-1]
    assert "AMOUNT" in broken.stdout.upper()


def test_piped_tables_keep_every_id_whole(desk: Desk) -> None:
    (instruction,) = desk.hub.operator().list_payment_instructions(period_id="per-000001").items
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS",) and not k.startswith("COALITION_")}
    piped = subprocess.run(
        [COALITION, "settlement", "--target", desk.hub.target, *desk.as_operator, "payments"],
        cwd=desk.folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert piped.returncode == 0, piped.stderr
    assert instruction.instruction_id in piped.stdout  # not cut to fit 80 columns
    assert "…" not in piped.stdout
