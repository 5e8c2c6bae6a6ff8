"""docker/README.md's commands: each one is run here, unless it needs a Docker engine or a running hub."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from exchange.cli.db_url import database_url

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docker" / "README.md"
VENV_BIN = Path(sys.executable).parent
# Commands this machine can't run: they need a Docker engine, or replicas that compose started.
NEEDS_ENGINE_OR_HUB = re.compile(
    r"^(docker (build|run|buildx|compose)\b|COALITION_UID=.* docker compose |HUB=\$\("
    r"|\.venv/bin/coalition (health|admin) |  (-v|hub-1) )"
)


def sh_blocks() -> list[list[str]]:
    return [block.splitlines() for block in re.findall(r"^```sh\n(.*?)^```$", README.read_text(), re.M | re.S)]


def block_with(text: str) -> list[str]:
    (found,) = (block for block in sh_blocks() if any(text in line for line in block))
    return found


def ci_tool(name: str, package: str) -> None:
    if shutil.which(name) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing in CI: .ci/run installs it (apt-get install {package})")
        pytest.skip(f"{name} is not installed (apt-get install {package})")


def run(line: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    line = line.replace(".venv/bin/", f"{VENV_BIN}/")
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", line],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_every_command_is_run_below_or_needs_an_engine_or_a_hub() -> None:
    run_here = {
        *block_with("keys keyring"),
        *block_with("docker-compose -f docker/compose.yaml config"),
        *block_with("promtool check rules"),
    }
    for block in sh_blocks():
        for line in block:
            assert line in run_here or NEEDS_ENGINE_OR_HUB.match(line), f"no test runs: {line}"


def test_the_key_files_and_the_database_password_are_made_as_shown(tmp_path: Path) -> None:
    (tmp_path / "docker" / "secrets").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    for line in block_with("keys keyring"):
        done = run(line, tmp_path, {"HOME": str(tmp_path / "home")})
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
    secrets = tmp_path / "docker" / "secrets"
    made = {path.name for path in secrets.iterdir()}
    passwords = {"db_password.txt", "cluster_password.txt"}
    assert made == {"operator_public_key.pem", "hub_key.pem", "keyring.json", *passwords}
    for name in passwords:
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600
    assert (secrets / "db_password.txt").read_text() != (secrets / "cluster_password.txt").read_text()
    # The compose file names each file as a secret, and the hubs' URL takes the hub's password.
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    assert {Path(secret["file"]).name for secret in compose["secrets"].values()} == made
    hub_url = compose["services"]["hub-1"]["command"][compose["services"]["hub-1"]["command"].index("--db") + 1]
    password = (secrets / "db_password.txt").read_text().strip()
    assert make_url(database_url(hub_url, str(secrets / "db_password.txt"))).password == password


def test_docker_compose_config_runs_as_shown() -> None:
    ci_tool("docker-compose", "docker-compose")
    for line in block_with("docker-compose -f docker/compose.yaml config"):
        done = run(line, ROOT)
        assert done.returncode == 0, f"{line}\n{done.stderr}"


def test_the_promtool_commands_run_as_shown() -> None:
    ci_tool("promtool", "prometheus")
    for line in block_with("promtool check rules"):
        done = run(line, ROOT)
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        assert "SUCCESS" in done.stdout
