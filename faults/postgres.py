"""A throwaway PostgreSQL cluster in a temporary directory, ours to restart and crash.

initdb and pg_ctl run as the postgres user when we are root (PostgreSQL refuses to run as
root). The server listens on 127.0.0.1 only, on a free port, with no Unix socket outside its
own directory, and is fully durable: fsync, synchronous_commit and full_page_writes on. It is
stopped and its directory removed on close.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import sqlalchemy

SUPERUSER = "postgres"
DATABASE = "bank"
START_TIMEOUT_S = 60
# Two replicas at most hold 2 x (16 + 16) pooled connections; the checker and the drain a few more.
MAX_CONNECTIONS = 200
SEARCH_PATHS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")


class ClusterUnavailable(RuntimeError):
    """No way to run a PostgreSQL cluster of our own here (no initdb, or no user to run it as)."""


def find_bindir() -> Path:
    """Return the directory holding initdb, pg_ctl and postgres.

    Raises:
        ClusterUnavailable: no initdb on PATH, under pg_config's bindir or in the usual places.
    """
    on_path = shutil.which("initdb")
    if on_path and _complete(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            found = subprocess.run(  # noqa: S603 - a fixed command
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            if _complete(Path(found)):
                return Path(found)
    for pattern in SEARCH_PATHS:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if _complete(Path(candidate)):
                return Path(candidate)
    raise ClusterUnavailable("no initdb found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin)")


def _complete(bindir: Path) -> bool:
    return all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))


def _run_as() -> str | None:
    """Return the user to run the server as (postgres when we are root), or None for ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError as exc:
        raise ClusterUnavailable("running as root and there is no postgres user to run PostgreSQL as") from exc
    if shutil.which("runuser") is None:
        raise ClusterUnavailable("running as root and there is no runuser to switch to the postgres user")
    return SUPERUSER


def require_available() -> None:
    """Raise ClusterUnavailable, with the reason, unless a cluster of our own can run here."""
    find_bindir()
    _run_as()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DURABILITY_SETTINGS = ("server_version", "fsync", "synchronous_commit", "full_page_writes")


def durability_settings(url: str, *more: str) -> dict[str, str]:
    """The server's durability settings (and any more named) as a connection on url sees them."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: str(connection.execute(sqlalchemy.text(f"SHOW {name}")).scalar_one())
                for name in (*DURABILITY_SETTINGS, *more)
            }
    finally:
        engine.dispose()


class Cluster:
    """One PostgreSQL server in a temporary directory."""

    def __init__(self, *, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.user = _run_as()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="coalition-faults-pg-"))
        self.datadir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.restarts = 0
        self._started = False

    @property
    def admin_url(self) -> str:
        """The superuser's URL of the maintenance database."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        """The URL of the database the hub uses."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bindir / tool), *args]
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def _run(self, tool: str, *args: str, timeout_s: float = START_TIMEOUT_S) -> None:
        done = subprocess.run(  # noqa: S603 - our own arguments, no shell
            self._command(tool, *args), capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def create(self) -> None:
        """initdb, configure, start, and create the hub's (empty) database."""
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": str(MAX_CONNECTIONS),
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "logging_collector": "off",
        }
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# coalition fault test\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.start()
        engine = sqlalchemy.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text(f'CREATE DATABASE "{DATABASE}"'))
        finally:
            engine.dispose()

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.log_path), "-w", "-t", str(START_TIMEOUT_S), "start"
        )
        self._started = True

    def restart(self, *, mode: str = "immediate") -> float:
        """Restart the server (immediate: no checkpoint, crash recovery at start); return how long it took, s."""
        began = time.monotonic()
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.log_path), "-w", "-t", str(START_TIMEOUT_S),
            "-m", mode, "restart",
        )  # fmt: skip
        self.restarts += 1
        return time.monotonic() - began

    def settings(self) -> dict[str, str]:
        """The durability settings as a connection sees them."""
        return durability_settings(self.url)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the server (fast) and remove its directory."""
        if self._started:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.datadir), "-w", "-m", "fast", "stop")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
