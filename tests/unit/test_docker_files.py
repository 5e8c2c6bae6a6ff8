"""The container files, checked without a Docker engine, and the image's health check run for real."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
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
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from exchange.cli.db_url import PASSWORD_FILE_ENV, database_url

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COALITION = Path(sys.executable).with_name("coalition")
HUBS = ("hub-1", "hub-2")
LOCK = DOCKER / "requirements.lock"
# A full version tag: the Python patch release and the Debian release, not a moving `3.11-slim`.
PINNED_BASE = re.compile(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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


def test_both_stages_start_from_the_same_pinned_base_image() -> None:
    bases = [stage[0][1].split()[0] for stage in stages()]
    assert len(bases) == 2
    assert bases[0] == bases[1]
    assert PINNED_BASE.fullmatch(bases[0]), f"{bases[0]} is not a full version tag"


def test_the_build_stage_makes_a_wheel_of_every_package_the_project_ships() -> None:
    build = stages()[0]
    assert build[0][1].endswith(" AS build")
    wheel = [arguments for keyword, arguments in build if keyword == "RUN" and "pip wheel" in arguments]
    assert wheel
    assert "--no-deps" in wheel[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied = " ".join(arguments for keyword, arguments in build if keyword == "COPY").split()
    for package in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert f"{package.rstrip('*')}/" in copied, f"the image would lack the {package} package"
    assert {"pyproject.toml", project["project"]["readme"]} <= set(copied)


def test_the_runtime_installs_the_locked_dependencies_by_hash_then_the_wheel_without_resolving() -> None:
    runtime = stages()[-1]
    assert ("COPY", "docker/requirements.lock /tmp/requirements.lock") in runtime
    assert ("COPY", "--from=build /wheels/ /tmp/wheels/") in runtime
    runs = [arguments for keyword, arguments in runtime if keyword == "RUN" and "pip install" in arguments]
    assert len(runs) == 2, runs
    locked, wheel = runs
    assert "--require-hashes" in locked
    assert "--only-binary :all:" in locked, "an sdist would run code at build time, unpinned by the hashes"
    assert "-r /tmp/requirements.lock" in locked
    assert "--no-deps" in wheel
    assert "/tmp/wheels/coalition_exchange-" in wheel
    assert "pip check" in wheel
    assert not any("[hub]" in arguments for _, arguments in runtime), "the extra would resolve past the lock"
    # The lock's layer comes first, so a code change does not download the dependencies again.
    assert runtime.index(("COPY", "docker/requirements.lock /tmp/requirements.lock")) < runtime.index(
        ("COPY", "--from=build /wheels/ /tmp/wheels/")
    )


# --- requirements.lock --------------------------------------------------------------------------


def locked() -> dict[str, tuple[Version, list[str]]]:
    """Return the lock's packages: canonical name -> (exact version, sha256 hashes)."""
    found: dict[str, tuple[Version, list[str]]] = {}
    for entry in re.split(r"\n(?=\S)", LOCK.read_text()):
        if entry.startswith("#") or not entry.strip():
            continue
        requirement = Requirement(entry.split("\\", 1)[0].strip())
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{requirement} is not pinned to one version"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", entry)
        found[canonicalize_name(requirement.name)] = (Version(specifier.version), hashes)
    return found


def hub_requirements() -> list[Requirement]:
    """The SDK's dependencies and the [hub] extra's, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in (*project["dependencies"], *project["optional-dependencies"]["hub"])]


def test_the_lock_pins_every_dependency_of_the_hub_extra_within_its_range() -> None:
    lock = locked()
    for requirement in hub_requirements():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement} is not in docker/requirements.lock: run docker/lock.sh"
        assert lock[name][0] in requirement.specifier, f"the lock's {name} {lock[name][0]} is outside {requirement}"
        for extra in requirement.extras:  # psycopg[binary] -> psycopg-binary
            assert canonicalize_name(f"{requirement.name}-{extra}") in lock


def test_every_locked_package_has_hashes_and_its_own_dependencies_are_locked_too() -> None:
    import importlib.metadata as metadata

    lock = locked()
    assert len(lock) >= len(hub_requirements())
    # The image's platform; Marker.evaluate fills in the rest from this interpreter.
    image = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux", "extra": ""}
    for name, (version, hashes) in lock.items():
        assert hashes, f"{name} has no hash: pip --require-hashes would refuse the lock"
        try:
            installed = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is locked but not in the test environment: run docker/lock.sh")
        assert Version(installed.version) == version, (
            f"the tests run {name} {installed.version}, the image would get {version}: run docker/lock.sh"
        )
        for text in installed.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(image):
                assert canonicalize_name(requirement.name) in lock, f"{name} needs {requirement}, not in the lock"


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


def test_the_healthcheck_runs_the_cheap_probe_on_the_served_port() -> None:
    runtime = stages()[-1]
    flags, _, exec_form = last(runtime, "HEALTHCHECK").partition(" CMD ")
    assert all(flag.startswith("--") for flag in flags.split())
    command = json.loads(exec_form)
    assert command == ["python", "-m", "exchange.healthcheck", "127.0.0.1:50051"]
    served_port = options(json.loads(last(runtime, "CMD")))["--listen"].rsplit(":", 1)[1]
    assert command[-1].endswith(f":{served_port}")


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
    assert [one["ports"], two["ports"]] == [
        ["${COALITION_GRPC_HOST_IP:-127.0.0.1}:50051:50051", "${COALITION_METRICS_HOST_IP:-127.0.0.1}:9464:9464"],
        ["${COALITION_GRPC_HOST_IP:-127.0.0.1}:50052:50051", "${COALITION_METRICS_HOST_IP:-127.0.0.1}:9465:9464"],
    ]


def test_every_published_port_binds_a_host_address_that_defaults_to_loopback(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            published = re.fullmatch(r"(\$\{\w+:-[\d.]+\}|[\d.]+):(\d+):(\d+)", port)
            assert published, f"{name} publishes {port} without a host address"
            host_ip, host_port, container_port = published.groups()
            assert host_ip.removesuffix("}").endswith("127.0.0.1"), f"{name} publishes {port} on every interface"
            assert int(host_port) and int(container_port)


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
        assert set(service["secrets"]) == {"db_password", "operator_public_key", "hub_key", "keyring"}
    assert compose["secrets"] == {
        "db_password": {"file": "./secrets/db_password.txt"},
        "operator_public_key": {"file": "./secrets/operator_public_key.pem"},
        "hub_key": {"file": "./secrets/hub_key.pem"},
        "keyring": {"file": "./secrets/keyring.json"},
    }


def test_key_files_under_docker_secrets_are_never_committed() -> None:
    patterns = (DOCKER / "secrets" / ".gitignore").read_text().splitlines()
    assert {"*.pem", "*.json", "*.txt"} <= set(patterns)


def test_no_password_is_on_a_command_line_or_in_an_environment_default(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text()
    assert "POSTGRES_PASSWORD:" not in text
    assert "POSTGRES_PASSWORD}" not in text and "POSTGRES_PASSWORD:-" not in text
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if "--db" in command:
            db = options(command)["--db"]
            assert db == "postgresql+psycopg://coalition@postgres:5432/coalition", f"{name}: {db}"
        for key, value in (service.get("environment") or {}).items():
            assert "PASSWORD" not in key or key.endswith("_FILE"), f"{name} sets {key}={value}"


def test_postgres_and_every_hub_read_the_one_password_secret(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert "db_password" in postgres["secrets"]
    for name in ("migrate", *HUBS):
        service = compose["services"][name]
        assert service["environment"] == {PASSWORD_FILE_ENV: "/run/secrets/db_password"}
        assert "db_password" in service["secrets"]
        # Run as the secret file's owner, like the key files.
        assert service["user"] == "${COALITION_UID:-10001}:${COALITION_GID:-10001}"


def test_the_hub_makes_a_working_url_from_the_command_and_the_secret(compose: dict[str, Any], tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    secret = tmp_path / "db_password"
    secret.write_text("correct horse:battery@staple\n")
    url = database_url(options(compose["services"]["hub-1"]["command"])["--db"], str(secret))
    assert make_url(url).password == "correct horse:battery@staple"
    assert make_url(url).host == "postgres"


def test_the_file_has_no_top_level_name_which_compose_v1_refuses(compose: dict[str, Any]) -> None:
    assert "name" not in compose
    assert "version" not in compose
    # The project keeps its name through docker/.env, which both Compose versions read from the file's directory.
    env = dict(line.split("=", 1) for line in (DOCKER / ".env").read_text().splitlines() if "=" in line)
    assert env["COMPOSE_PROJECT_NAME"] == "coalition"
    # and the database volume keeps the name it had under `name: coalition`, whatever the project's name.
    assert compose["volumes"]["postgres-data"] == {"name": "coalition_postgres-data"}


# --- docker-compose (v1) validates the file ----------------------------------------------------


def docker_compose_config(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        if IN_CI:
            pytest.fail("docker-compose is missing in CI: .ci/run installs it (apt-get install docker-compose)")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    return subprocess.run(
        [binary, "-f", "docker/compose.yaml", "config", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_docker_compose_v1_accepts_the_file_and_publishes_on_loopback() -> None:
    answer = docker_compose_config()
    assert answer.returncode == 0, answer.stderr
    rendered = yaml.safe_load(answer.stdout)
    assert set(rendered["services"]) == {"postgres", "migrate", *HUBS}
    assert rendered["services"]["hub-1"]["ports"] == ["127.0.0.1:50051:50051/tcp", "127.0.0.1:9464:9464/tcp"]
    assert rendered["services"]["hub-2"]["ports"] == ["127.0.0.1:50052:50051/tcp", "127.0.0.1:9465:9464/tcp"]


def test_docker_compose_v1_publishes_where_the_documented_variables_say() -> None:
    answer = docker_compose_config(env={"COALITION_GRPC_HOST_IP": "0.0.0.0", "COALITION_METRICS_HOST_IP": "10.0.0.5"})
    assert answer.returncode == 0, answer.stderr
    ports = yaml.safe_load(answer.stdout)["services"]["hub-1"]["ports"]
    assert ports == ["0.0.0.0:50051:50051/tcp", "10.0.0.5:9464:9464/tcp"]


def test_docker_compose_v1_lists_the_services_in_dependency_order() -> None:
    answer = docker_compose_config("--services")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["postgres", "migrate", *HUBS]


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
