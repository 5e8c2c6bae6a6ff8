"""The container files, checked without a Docker engine, and the image's health check run for real."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COALITION = Path(sys.executable).with_name("coalition")
HUBS = ("hub-1", "hub-2")


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    found, pending = [], ""
    for line in dockerfile.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        keyword, _, arguments = (pending + text).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        pending = ""
    return found


def stages() -> list[list[tuple[str, str]]]:
    """Return the Dockerfile's build stages, each starting with its FROM."""
    result: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions((DOCKER / "Dockerfile").read_text()):
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, arguments))
    return result


def last(stage: list[tuple[str, str]], keyword: str) -> str:
    values = [arguments for k, arguments in stage if k == keyword]
    assert values, f"no {keyword} in the stage"
    return values[-1]


def options(command: list[str]) -> dict[str, str]:
    """Return a command's `--name value` pairs."""
    return {name: value for name, value in itertools.pairwise(command) if name.startswith("--")}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


# --- Dockerfile ---------------------------------------------------------------------------------


def test_the_build_stage_makes_a_wheel_of_every_package_the_project_ships() -> None:
    build = stages()[0]
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    wheel = [arguments for keyword, arguments in build if keyword == "RUN" and "pip wheel" in arguments]
    assert wheel
    assert "--no-deps" in wheel[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = " ".join(arguments for keyword, arguments in build if keyword == "COPY").split()
    for package in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert f"{package.rstrip('*')}/" in copied, f"the image would lack the {package} package"
    assert {"pyproject.toml", project["project"]["readme"]} <= set(copied)


def test_the_runtime_installs_the_hub_extra_from_the_wheel() -> None:
    runtime = stages()[-1]
    assert runtime[0][1].startswith("python:3.11-slim")
    assert ("COPY", "--from=build /wheels/ /tmp/wheels/") in runtime
    assert any(keyword == "RUN" and "[hub]" in arguments for keyword, arguments in runtime)


def test_the_runtime_runs_as_a_non_root_user() -> None:
    user = last(stages()[-1], "USER").split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric USER lets Kubernetes' runAsNonRoot verify it"


def test_the_entrypoint_is_coalition_and_the_default_command_serves_on_every_interface() -> None:
    runtime = stages()[-1]
    assert json.loads(last(runtime, "ENTRYPOINT")) == ["coalition"]
    command = json.loads(last(runtime, "CMD"))
    assert command[0] == "serve"
    assert options(command) == {
        "--listen": "0.0.0.0:50051",
        "--metrics-listen": "0.0.0.0:9464",
        "--var-dir": "/var/lib/coalition",
    }
    assert last(runtime, "EXPOSE") == "50051 9464"


def test_the_healthcheck_asks_coalition_health_on_the_served_port() -> None:
    flags, _, exec_form = last(stages()[-1], "HEALTHCHECK").partition(" CMD ")
    assert all(flag.startswith("--") for flag in flags.split())
    command = json.loads(exec_form)
    assert command[:2] == ["coalition", "health"]
    assert options(command)["--target"] == "127.0.0.1:50051"


# --- compose.yaml -------------------------------------------------------------------------------


def test_compose_has_the_database_the_migration_job_and_two_replicas(compose: dict[str, Any]) -> None:
    assert {"postgres", "migrate", *HUBS} <= set(compose["services"])


def test_postgres_has_a_readiness_healthcheck_and_a_named_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_migrate_upgrades_the_hubs_database_once_postgres_is_healthy(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"][:2] == ["db", "upgrade"]
    db = options(migrate["command"])["--db"]
    assert db.startswith("postgresql+psycopg://")
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for hub in HUBS:
        assert options(compose["services"][hub]["command"])["--db"] == db


def test_both_replicas_are_one_definition_on_different_host_ports(compose: dict[str, Any]) -> None:
    one, two = (compose["services"][hub] for hub in HUBS)
    assert {k: v for k, v in one.items() if k != "ports"} == {k: v for k, v in two.items() if k != "ports"}
    assert one["image"] == compose["services"]["migrate"]["image"]
    assert one["build"] == compose["services"]["migrate"]["build"]
    assert (ROOT / "docker").joinpath(one["build"]["context"]).resolve() == ROOT
    assert (ROOT / one["build"]["dockerfile"]).is_file()
    assert [one["ports"], two["ports"]] == [["50051:50051", "9464:9464"], ["50052:50051", "9465:9464"]]


def test_the_replicas_start_after_the_migration_and_share_the_mounted_keys(compose: dict[str, Any]) -> None:
    for hub in HUBS:
        service = compose["services"][hub]
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        command = service["command"]
        assert command[0] == "serve"
        assert options(command)["--listen"] == "0.0.0.0:50051"
        assert options(command)["--operator-key"] == "/run/secrets/operator_public_key"
        assert options(command)["--hub-key"] == "/run/secrets/hub_key"
        assert options(command)["--keyring"] == "/run/secrets/keyring"
        assert set(service["secrets"]) == {"operator_public_key", "hub_key", "keyring"}
    assert compose["secrets"] == {
        "operator_public_key": {"file": "./secrets/operator_public_key.pem"},
        "hub_key": {"file": "./secrets/hub_key.pem"},
        "keyring": {"file": "./secrets/keyring.json"},
    }


def test_key_files_under_docker_secrets_are_never_committed() -> None:
    patterns = (DOCKER / "secrets" / ".gitignore").read_text().splitlines()
    assert {"*.pem", "*.json"} <= set(patterns)


# --- the health check itself --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COALITION), "health", "--target", target, "--timeout-s", "1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_coalition_health_passes_on_a_serving_hub_which_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    assert COALITION.is_file(), f"no coalition console script next to {sys.executable}"
    target = f"127.0.0.1:{free_port()}"
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(COALITION), "serve", "--listen", target, "--var-dir", str(tmp_path)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 20
        answer = health(target)
        while answer.returncode != 0:
            assert server.poll() is None, f"the hub exited with {server.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"never SERVING: {answer.stdout}\n{log.read_text()}"
            time.sleep(0.2)
            answer = health(target)
        assert "SERVING" in answer.stdout
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert "hub stopped" in log.read_text()
    stopped = health(target)
    assert stopped.returncode == 1
    assert "NOT SERVING" in stopped.stdout
