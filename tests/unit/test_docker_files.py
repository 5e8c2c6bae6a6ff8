"""The container files, checked without a Docker engine, and the image's health check run for real."""

from __future__ import annotations

import itertools
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from sqlalchemy.engine import make_url

from exchange.cli.db_url import PASSWORD_FILE_ENV, database_url

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COALITION = Path(sys.executable).with_name("coalition")
HUBS = ("hub-1", "hub-2")
# The pg_auto_failover formation: a monitor, three data nodes, and the one-shot job that readies it.
CLUSTER = DOCKER / "pg_auto_failover"
NODES = ("node1", "node2", "node3")
MONITOR = "monitor"
FORMATION = "formation"
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


def stages(dockerfile: Path = DOCKER / "Dockerfile") -> list[list[tuple[str, str]]]:
    """Return the Dockerfile's build stages, each starting with its FROM."""
    result: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions(dockerfile.read_text()):
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


def test_compose_has_the_cluster_its_formation_job_the_migration_job_and_two_replicas(compose: dict[str, Any]) -> None:
    assert {MONITOR, *NODES, FORMATION, "migrate", *HUBS} == set(compose["services"])


def test_migrate_upgrades_the_hubs_database_once_the_formation_is_ready(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"][:2] == ["db", "upgrade"]
    db = options(migrate["command"])["--db"]
    assert db.startswith("postgresql+psycopg://")
    # The formation job exits 0 only once a writable primary takes the hub's password (see below).
    assert migrate["depends_on"] == {FORMATION: {"condition": "service_completed_successfully"}}
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


def test_key_files_under_docker_secrets_are_never_committed() -> None:
    patterns = (DOCKER / "secrets" / ".gitignore").read_text().splitlines()
    assert {"*.pem", "*.json", "*.txt"} <= set(patterns)


def test_no_password_is_on_a_command_line_or_in_an_environment_default(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text()
    assert "PASSWORD:" not in text and "PASSWORD}" not in text and "PASSWORD:-" not in text
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if "--db" in command:
            assert make_url(options(command)["--db"]).password is None, name
        for key, value in (service.get("environment") or {}).items():
            assert "PASSWORD" not in key or key.endswith("_FILE"), f"{name} sets {key}={value}"


def test_the_hubs_read_their_password_from_the_secret_as_the_secret_files_owner(compose: dict[str, Any]) -> None:
    for name in ("migrate", *HUBS):
        service = compose["services"][name]
        assert service["environment"] == {PASSWORD_FILE_ENV: "/run/secrets/db_password"}
        assert "db_password" in service["secrets"]
        # Run as the secret file's owner, like the key files.
        assert service["user"] == "${COALITION_UID:-10001}:${COALITION_GID:-10001}"


def test_the_hub_makes_a_working_url_from_the_command_and_the_secret(compose: dict[str, Any], tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text("correct horse:battery@staple\n")
    url = make_url(database_url(options(compose["services"]["hub-1"]["command"])["--db"], str(secret)))
    assert url.password == "correct horse:battery@staple"
    assert url.query["host"] == tuple(f"{node}:5432" for node in NODES)
    # What psycopg is given: libpq's host and port lists, every node in turn.
    _, connect = url.get_dialect()().create_connect_args(url)
    assert (connect["host"], connect["port"]) == (",".join(NODES), "5432,5432,5432")
    assert connect["password"] == "correct horse:battery@staple"
    assert connect["target_session_attrs"] == "read-write"


def test_the_file_has_no_top_level_name_which_compose_v1_refuses(compose: dict[str, Any]) -> None:
    assert "name" not in compose
    assert "version" not in compose
    # The project keeps its name through docker/.env, which both Compose versions read from the file's directory.
    env = dict(line.split("=", 1) for line in (DOCKER / ".env").read_text().splitlines() if "=" in line)
    assert env["COMPOSE_PROJECT_NAME"] == "coalition"
    # and each volume has a name of its own, whatever the project's name.
    assert compose["volumes"] == {f"{owner}-data": {"name": f"coalition_{owner}-data"} for owner in (MONITOR, *NODES)}


# --- the PostgreSQL cluster: pg_auto_failover ---------------------------------------------------


def test_the_monitor_and_each_node_keep_their_data_on_a_volume_of_their_own(compose: dict[str, Any]) -> None:
    mounts = {name: compose["services"][name]["volumes"] for name in (MONITOR, *NODES)}
    assert mounts == {name: [f"{name}-data:/var/lib/postgresql/data"] for name in (MONITOR, *NODES)}
    # On the volume: PGDATA, and pg_autoctl's configuration and state, which a new container must find.
    env = dict(
        pair.split("=", 1)
        for keyword, arguments in instructions((CLUSTER / "Dockerfile").read_text())
        if keyword == "ENV"
        for pair in arguments.split()
    )
    for kept in ("PGDATA", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        assert env[kept].startswith("/var/lib/postgresql/data/"), kept
    # Not on it: pid files, and the password file written from the secrets at every start.
    for fresh in ("XDG_RUNTIME_DIR", "PGPASSFILE"):
        assert not env[fresh].startswith("/var/lib/postgresql/data/"), fresh


def test_the_cluster_runs_one_image_of_postgres_15_with_pg_auto_failover(compose: dict[str, Any]) -> None:
    cluster = [compose["services"][name] for name in (MONITOR, *NODES, FORMATION)]
    assert {service["image"] for service in cluster} == {"coalition-pg-auto-failover:local"}
    assert all(DOCKER.joinpath(service["build"]["context"]).resolve() == CLUSTER for service in cluster)
    (stage,) = stages(CLUSTER / "Dockerfile")
    assert re.fullmatch(r"postgres:15-bookworm(@sha256:[0-9a-f]{64})?", stage[0][1])
    installs = " ".join(arguments for keyword, arguments in stage if keyword == "RUN")
    assert '"postgresql-${PG_MAJOR}-auto-failover"' in installs
    assert json.loads(last(stage, "ENTRYPOINT")) == ["entrypoint.sh"]
    for script in ("entrypoint.sh", "pg_autoctl"):
        assert ("COPY", f"{script} /usr/local/bin/{script}") in stage
        assert os.access(CLUSTER / script, os.X_OK), f"{script} must be executable in the image"


def test_the_monitor_and_the_nodes_are_healthy_when_pg_autoctl_and_postgresql_answer(compose: dict[str, Any]) -> None:
    for name in (MONITOR, *NODES):
        check = compose["services"][name]["healthcheck"]
        assert check["test"] == ["CMD-SHELL", "pg_autoctl status >/dev/null 2>&1 && pg_isready --quiet"]
        assert compose["services"][name]["restart"] == "unless-stopped"


def test_each_node_is_named_as_the_host_the_others_reach_it_by_and_waits_for_the_monitor(
    compose: dict[str, Any],
) -> None:
    for name in NODES:
        node = compose["services"][name]
        assert node["command"] == ["node", name]
        assert node["depends_on"] == {MONITOR: {"condition": "service_healthy"}}
        assert set(node["secrets"]) == {"cluster_password", "db_password"}
    assert compose["services"][MONITOR]["command"] == ["monitor"]


def test_every_hub_and_the_migration_job_reach_all_three_nodes_and_only_a_writable_one(
    compose: dict[str, Any],
) -> None:
    for name in ("migrate", *HUBS):
        url = make_url(options(compose["services"][name]["command"])["--db"])
        assert (url.drivername, url.username, url.host, url.database) == (
            "postgresql+psycopg",
            "coalition",
            None,
            "coalition",
        )
        assert url.query == {"host": tuple(f"{node}:5432" for node in NODES), "target_session_attrs": "read-write"}


def test_the_formation_job_readies_the_nodes_the_hubs_use_then_exits(compose: dict[str, Any]) -> None:
    formation = compose["services"][FORMATION]
    hub_hosts = make_url(options(compose["services"]["hub-1"]["command"])["--db"]).query["host"]
    assert formation["command"] == ["formation", *hub_hosts]
    assert formation["depends_on"] == {
        MONITOR: {"condition": "service_healthy"},
        **{node: {"condition": "service_started"} for node in NODES},
    }
    assert formation["restart"] == "no"
    assert set(formation["secrets"]) == {"cluster_password", "db_password"}


def test_the_hubs_never_get_the_clusters_own_password(compose: dict[str, Any]) -> None:
    assert compose["services"][MONITOR]["secrets"] == ["cluster_password"]
    for name in ("migrate", *HUBS):
        assert "cluster_password" not in compose["services"][name]["secrets"]
    assert compose["secrets"] == {
        "db_password": {"file": "./secrets/db_password.txt"},
        "cluster_password": {"file": "./secrets/cluster_password.txt"},
        "operator_public_key": {"file": "./secrets/operator_public_key.pem"},
        "hub_key": {"file": "./secrets/hub_key.pem"},
        "keyring": {"file": "./secrets/keyring.json"},
    }


# --- the cluster's entrypoint, run without a container --------------------------------------------

ENTRYPOINT = CLUSTER / "entrypoint.sh"


def entrypoint_function(call: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run one of entrypoint.sh's functions, the script sourced (which only defines them)."""
    return subprocess.run(
        ["bash", "-c", f'source "$1" && {call}', "bash", str(ENTRYPOINT)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], "SECRETS_DIR": str(tmp_path)},
        check=False,
    )


@pytest.mark.parametrize(
    ("secret", "read"),
    [(b"s3cret\n", "s3cret"), (b"s3cret\r\n\r\n", "s3cret"), (b"two words: 'a\\b'\n", "two words: 'a\\b'")],
)
def test_the_entrypoint_reads_a_secret_without_its_trailing_newline_as_the_hub_does(
    tmp_path: Path, secret: bytes, read: str
) -> None:
    (tmp_path / "db_password").write_bytes(secret)
    done = entrypoint_function("read_secret db_password", tmp_path)
    assert (done.returncode, done.stdout) == (0, read)
    written = tmp_path / "hub_password"
    written.write_bytes(secret)
    assert make_url(database_url("postgresql+psycopg://coalition@/coalition", str(written))).password == read


@pytest.mark.parametrize(("content", "why"), [(None, "missing"), (b"\n", "empty"), (b"x" * 4097, "over 4096 bytes")])
def test_the_entrypoint_refuses_a_missing_empty_or_oversized_secret(
    tmp_path: Path, content: bytes | None, why: str
) -> None:
    if content is not None:
        (tmp_path / "db_password").write_bytes(content)
    done = entrypoint_function("read_secret db_password", tmp_path)
    assert done.returncode == 1
    assert why in done.stderr


def test_the_entrypoint_quotes_a_password_for_sql_and_for_the_password_file(tmp_path: Path) -> None:
    password = "it's a:b\\c"
    assert entrypoint_function(f"sql_literal {shlex.quote(password)}", tmp_path).stdout == "'it''s a:b\\c'"
    assert entrypoint_function(f"pgpass_field {shlex.quote(password)}", tmp_path).stdout == "it's a\\:b\\\\c"


def test_the_formation_job_sets_number_sync_standbys_1_then_waits_for_the_hubs_way_in(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """pg_autoctl and psql replaced by scripts that log their arguments: what the job asks, in order."""
    fakes, log = tmp_path / "bin", tmp_path / "calls.log"
    fakes.mkdir()
    scripts = {
        # Run as root, the job runs pg_autoctl as postgres with gosu: here as whoever runs the test.
        "gosu": 'shift; exec "$@"',
        # The monitor still has the value pg_auto_failover gives two nodes: 0.
        "pg_autoctl": f'echo "pg_autoctl $*" >> {log}; [ "$1 $2" = "get formation" ] && echo 0; exit 0',
        # One node in state primary; then the hubs' way in answers.
        "psql": f'echo "psql $*" | tr "\\n" " " >> {log}; echo >> {log}; case "$*" in *current_state*) echo 1;; esac',
    }
    for name, body in scripts.items():
        (fakes / name).write_text(f"#!/bin/sh\n{body}\n")
        (fakes / name).chmod(0o755)
    for secret in ("cluster_password", "db_password"):
        (tmp_path / secret).write_text(f"{secret}-value\n")
    done = subprocess.run(
        ["bash", str(ENTRYPOINT), *compose["services"][FORMATION]["command"]],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": f"{fakes}:{os.environ['PATH']}",
            "SECRETS_DIR": str(tmp_path),
            "PGAF_OS_USER": pwd.getpwuid(os.geteuid()).pw_name,
            "PGPASSFILE": str(tmp_path / "pgpass"),
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    monitor = "postgres://autoctl_node@monitor:5432/pg_auto_failover?sslmode=require"
    calls = log.read_text().splitlines()
    assert calls[:2] == [
        f"pg_autoctl get formation number-sync-standbys --monitor {monitor}",
        f"pg_autoctl set formation number-sync-standbys 1 --monitor {monitor}",
    ]
    assert "current_state('default')" in calls[2] and monitor in calls[2]
    hubs_way_in = "host=node1,node2,node3 port=5432,5432,5432 dbname=coalition user=coalition"
    assert f"{hubs_way_in} target_session_attrs=read-write" in calls[3]
    assert calls[4] == f"pg_autoctl show state --monitor {monitor}"
    # The passwords reach libpq through the password file only, escaped as it wants.
    assert (tmp_path / "pgpass").read_text().splitlines() == [
        "*:*:pg_auto_failover:autoctl_node:cluster_password-value",
        "*:*:*:pgautofailover_replicator:cluster_password-value",
        "*:*:coalition:coalition:db_password-value",
    ]
    assert stat.S_IMODE((tmp_path / "pgpass").stat().st_mode) == 0o600
    assert "-value" not in log.read_text()


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
    assert set(rendered["services"]) == {MONITOR, *NODES, FORMATION, "migrate", *HUBS}
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
    assert answer.stdout.split() == [MONITOR, *NODES, FORMATION, "migrate", *HUBS]


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


# --- the cluster's entrypoint builds a real formation (pg_auto_failover on this machine) ------------


def pg_ctl_for_pg_auto_failover() -> Path | None:
    """pg_ctl of the PostgreSQL major version the installed pg_auto_failover extension is built for."""
    controls = sorted(Path("/usr/share/postgresql").glob("*/extension/pgautofailover.control"))
    return Path(f"/usr/lib/postgresql/{controls[-1].parts[-3]}/bin/pg_ctl") if controls else None


def formation_prerequisites() -> str | None:
    """Why the real formation can't be built here, or None."""
    if shutil.which("pg_autoctl") is None or pg_ctl_for_pg_auto_failover() is None:
        return "pg_auto_failover is not installed (apt-get install postgresql-15-auto-failover)"
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return "the entrypoint starts as root and runs PostgreSQL as postgres: run the tests as root"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user to run PostgreSQL as"
    return None


@pytest.mark.postgres
def test_the_entrypoint_builds_a_formation_the_hubs_url_reaches_before_and_after_a_switchover(
    compose: dict[str, Any],
) -> None:
    """monitor, node1..3 and formation as compose runs them, each on 127.0.0.1 with a port of its own.

    Then the hub's --db URL (the compose file's, its hosts moved to those ports) migrates the database
    with the password from the secret, a wrong password is refused, and after `pg_autoctl perform
    switchover` the same URL reaches the new primary.
    """
    if (why := formation_prerequisites()) is not None:
        pytest.skip(why)
    pg_ctl = pg_ctl_for_pg_auto_failover()
    assert pg_ctl is not None
    site = Path(tempfile.mkdtemp(prefix="coalition-pgaf-"))
    site.chmod(0o755)  # PostgreSQL runs as postgres under it
    ports = {name: free_port() for name in (MONITOR, *NODES)}
    secrets = site / "secrets"
    secrets.mkdir(mode=0o700)
    for secret, text in {"cluster_password": "cl:us\\ter'pw\n", "db_password": "db pass'word:x\r\n"}.items():
        (secrets / secret).write_text(text)
        (secrets / secret).chmod(0o600)
    (site / "bin").mkdir()
    gosu = site / "bin" / "gosu"  # the image's gosu: run as the user, with its HOME
    gosu.write_text(
        '#!/bin/sh\nuser=$1; shift\nHOME=$(getent passwd "$user" | cut -d: -f6) '
        'exec setpriv --reuid="$user" --regid="$user" --init-groups "$@"\n'
    )
    gosu.chmod(0o755)

    def environment(name: str) -> dict[str, str]:
        home = site / name  # the container's own file system
        home.mkdir(exist_ok=True)
        return {
            "PATH": f"{site / 'bin'}:{pg_ctl.parent}:/usr/bin:/bin",
            "HOME": pwd.getpwnam("postgres").pw_dir,
            "LANG": "C.UTF-8",  # as the postgres image's: the databases' encoding is UTF8
            "SECRETS_DIR": str(secrets),
            "PG_CTL": str(pg_ctl),
            "PGAF_MONITOR_HOST": "127.0.0.1",
            "PGAF_MONITOR_PORT": str(ports[MONITOR]),
            "PGAF_HOSTNAME": "127.0.0.1",
            "PGAF_FORMATION_TIMEOUT_S": "120",
            "PGPORT": str(ports.get(name, 0)),
            "PGDATA": str(home / "data" / "pgdata"),
            "XDG_CONFIG_HOME": str(home / "data" / "config"),
            "XDG_DATA_HOME": str(home / "data" / "share"),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "PGPASSFILE": str(home / "pgpass"),
        }

    def on_this_machine(arguments: list[str]) -> list[str]:
        return [re.sub(r"^node(\d):5432$", lambda m: f"127.0.0.1:{ports[f'node{m[1]}']}", a) for a in arguments]

    def as_postgres(name: str, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command],
            capture_output=True,
            text=True,
            timeout=120,
            env=environment(name),
            check=False,
        )

    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in (MONITOR, *NODES):
            with (site / f"{name}.log").open("wb") as log:
                running[name] = subprocess.Popen(
                    ["bash", str(ENTRYPOINT), *compose["services"][name]["command"]],
                    env=environment(name),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if name == MONITOR:
                deadline = time.monotonic() + 60
                while as_postgres(MONITOR, "pg_autoctl", "status").returncode != 0:
                    assert running[MONITOR].poll() is None, (site / "monitor.log").read_text()
                    assert time.monotonic() < deadline, (site / "monitor.log").read_text()
                    time.sleep(0.5)
        formation = subprocess.run(
            ["bash", str(ENTRYPOINT), *on_this_machine(compose["services"][FORMATION]["command"])],
            capture_output=True,
            text=True,
            timeout=180,
            env=environment(FORMATION),
            check=False,
        )
        logs = "\n".join(f"--- {name}\n{(site / f'{name}.log').read_text()[-3000:]}" for name in running)
        assert formation.returncode == 0, f"{formation.stdout}{formation.stderr}\n{logs}"

        # What compose sets up, seen from the monitor and the primary.
        monitor_uri = f"postgres://autoctl_node@127.0.0.1:{ports[MONITOR]}/pg_auto_failover?sslmode=require"
        synchronous = as_postgres(
            "node1", "pg_autoctl", "get", "formation", "number-sync-standbys", "--monitor", monitor_uri
        )
        assert synchronous.stdout.strip() == "1", synchronous.stderr
        assert "samenet scram-sha-256" in (site / "node1" / "data" / "pgdata" / "pg_hba.conf").read_text()

        # The hub's URL, and the password from its secret file.
        hub_url = re.sub(
            r"host=node(\d):5432",
            lambda m: f"host=127.0.0.1:{ports[f'node{m[1]}']}",
            options(compose["services"]["hub-1"]["command"])["--db"],
        )
        password_file = site / "hub_password"
        password_file.write_bytes((secrets / "db_password").read_bytes())

        def coalition_db(command: str, password: Path = password_file) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(COALITION), "db", command, "--db", hub_url],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, PASSWORD_FILE_ENV: str(password)},
                check=False,
            )

        upgraded = coalition_db("upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert coalition_db("status").stdout.startswith("CURRENT")
        wrong = site / "wrong_password"
        wrong.write_text("not it\n")
        refused = coalition_db("status", wrong)
        assert refused.returncode == 2 and "password authentication failed" in refused.stderr, refused.stderr

        def primary() -> str:
            deadline = time.monotonic() + 30
            while len(found := re.findall(r"^(node\d) .*\| +primary \| +primary$", state(), re.M)) != 1:
                assert time.monotonic() < deadline, state()
                time.sleep(0.5)
            return str(found[0])

        def state() -> str:
            return as_postgres(MONITOR, "pg_autoctl", "show", "state").stdout

        before = primary()
        switchover = as_postgres(MONITOR, "pg_autoctl", "perform", "switchover")
        assert switchover.returncode == 0, switchover.stderr
        assert primary() != before
        assert coalition_db("status").stdout.startswith("CURRENT")
    finally:
        for process in running.values():
            if process.poll() is None:
                process.terminate()  # pg_autoctl itself: it stops its PostgreSQL
        for process in running.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(site, ignore_errors=True)
