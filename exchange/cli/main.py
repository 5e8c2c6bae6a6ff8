"""`coalition`: the one command-line entry point of the exchange."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from exchange import __version__, logs
from exchange.api import tracing
from exchange.api.server_settings import (
    DEFAULT_GRACE_S,
    DEFAULT_LISTEN,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_METRICS_LISTEN,
    DEFAULT_WINDOW_S,
    DEFAULT_WORKERS,
    ServerTls,
)
from exchange.cli import admin, audit, keys, settlement, tls_files
from exchange.cli.common_options import TARGET_ENV
from exchange.cli.db_url import PASSWORD_FILE_ENV, DatabasePasswordError, database_url
from exchange.cli.key_files import (
    DEFAULT_VAR_DIR,
    HUB_KEY_FILE,
    KEYRING_FILE,
    OPERATOR_KEY_FILE,
    OPERATOR_KEY_PASSPHRASE_ENV,
    KeyFileError,
    create_private_key_if_absent,
    hub_signer,
    operator_key_from_file,
)
from exchange.cli.output import stdout_console
from exchange.cli.values import listen_address
from exchange.domain.conversions import DEFAULT_CREDIT_DEADLINE_MS
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring, ReloadingKeyring
from exchange.service import erasure, keyring_binding
from exchange.service.conversions import (
    DEFAULT_EXPOSURE_LIMIT_MINOR,
    DEFAULT_MEMBER_CONVERSIONS_PER_HOUR,
    ConversionPolicy,
)
from exchange.store.database import (
    DEFAULT_LOCK_TIMEOUT_S,
    DEFAULT_STATEMENT_TIMEOUT_S,
    Database,
    default_sqlite_url,
    one_line,
    sqlite_file,
)
from partner_sdk.keys import fingerprint

app = typer.Typer(help="The coalition loyalty exchange.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(keys.app, name="keys")
app.add_typer(settlement.app, name="settlement")
app.add_typer(audit.app, name="audit")
console = stdout_console()

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="COALITION_DB",
        help="Database URL (sqlite:///path or postgresql+psycopg://...); default: var/exchange.sqlite3",
    ),
]
VarOption = Annotated[
    Path, typer.Option("--var-dir", envvar="COALITION_VAR_DIR", help="Where default files (database, keys) live.")
]
CreateOption = Annotated[
    bool,
    typer.Option(
        "--create",
        help="Make a new SQLite database if the --db file does not exist; without it only the default file "
        "under --var-dir is made, so a mistyped path is refused.",
    ),
]


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"coalition {__version__}")
        raise typer.Exit()


@app.callback()
def _coalition(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The coalition loyalty exchange."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _tracing(endpoint: str | None) -> tracing.TracingInterceptor | None:
    """The tracing interceptor for an OTLP endpoint, or None; one line and exit 2 without the extra."""
    if not endpoint:
        return None
    try:
        return tracing.interceptor(endpoint)
    except tracing.TracingUnavailable as error:
        typer.echo(f"coalition serve: {error}", err=True)
        raise typer.Exit(2) from None


def _bound_keyring(database: Database, path: Path) -> Keyring:
    """The keyring at path (generated only for a database that has none), checked against the database's."""
    if not path.exists():
        taken = keyring_binding.may_generate_keyring(database)
        if taken is not None:
            typer.echo(f"coalition serve: no keyring at {path}, and {taken}: start with that --keyring", err=True)
            raise typer.Exit(2)
    loaded, created = Keyring.load_or_create(path)
    if created:
        console.print(f"generated the keyring at {path}")
    try:
        keyring_binding.bind(database, loaded)
    except keyring_binding.KeyringMismatch as error:
        typer.echo(f"coalition serve: keyring {path}: {error}", err=True)
        raise typer.Exit(2) from None
    return ReloadingKeyring(path, loaded)  # follows rotate-master and retire-master without a restart


def _refuse(command: str, message: str) -> NoReturn:
    typer.echo(f"coalition {command}: {message}", err=True)
    raise typer.Exit(2)


def _database(url: str | None, var_dir: Path, *, command: str, create: bool = False) -> Database:
    """The database of --db, refused in one line if it can't be used.

    A SQLite file that does not exist is made only when it is the default one under --var-dir
    (a first start) or with --create: a mistyped path must not become an empty hub.
    """
    default = default_sqlite_url(var_dir)
    try:
        url = database_url(url or default, os.environ.get(PASSWORD_FILE_ENV))  # the password from a secret file
        file = sqlite_file(url)
        if file is not None and not file.exists():
            if command == "db status":
                _refuse(command, f"no database at {file}: check --db (nothing was created)")
            if not create and file.resolve() != sqlite_file(default).resolve():  # type: ignore[union-attr]
                _refuse(command, f"no database at {file}: check --db, or give --create to make a new one there")
        return Database(url)
    except DatabasePasswordError as error:
        _refuse(command, str(error))
    except (SQLAlchemyError, ValueError, ImportError) as error:  # a mistyped URL, an unknown scheme or driver
        _refuse(command, f"--db is not a database this hub can use: {one_line(error, max_chars=None)}")


@contextmanager
def _reaching(database: Database, command: str) -> Iterator[None]:
    """Turn an unreachable database, or one migrated by something unknown, into one line and exit 2."""
    from alembic.util import CommandError

    try:
        yield
    except (SQLAlchemyError, CommandError, OSError) as error:
        _refuse(command, f"can't use the database {database.url.render_as_string()}: {one_line(error, max_chars=None)}")


@app.command()
def serve(
    listen: Annotated[
        str, typer.Option(envvar="COALITION_LISTEN", callback=listen_address, help="HOST:PORT to listen on.")
    ] = DEFAULT_LISTEN,
    db: DbOption = None,
    operator_key: Annotated[
        list[Path] | None,
        typer.Option(
            envvar="COALITION_OPERATOR_KEY",
            help="Operator key PEM (public or private); give it again to accept several while rotating; "
            "default: var/operator_key.pem, created if absent. An encrypted private key's passphrase comes from "
            "COALITION_OPERATOR_KEY_PASSPHRASE (or a prompt on a terminal), which also encrypts a created one.",
        ),
    ] = None,
    hub_key: Annotated[
        Path | None,
        typer.Option(
            envvar="COALITION_HUB_KEY",
            help="Hub response-signing key PEM; default: var/hub_key.pem, created if absent. An encrypted key's "
            "passphrase comes from COALITION_HUB_KEY_PASSPHRASE (or a prompt on a terminal), which also encrypts "
            "a created one.",
        ),
    ] = None,
    window_s: Annotated[
        int, typer.Option(help="Accepted request timestamp skew, seconds, either way.")
    ] = DEFAULT_WINDOW_S,
    max_request_bytes: Annotated[int, typer.Option(help="Largest request accepted.")] = DEFAULT_MAX_REQUEST_BYTES,
    workers: Annotated[int, typer.Option(help="Server threads.")] = DEFAULT_WORKERS,
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            show_default=False,
            help="Hub processes sharing --listen (Linux, SO_REUSEPORT), each with --workers threads and its own "
            "database pool; the parent supervises them and serves their metrics. Default: one per core (at most "
            "4) on PostgreSQL, one on SQLite.",
        ),
    ] = None,
    grace_s: Annotated[float, typer.Option(help="How long in-flight calls may finish on shutdown.")] = DEFAULT_GRACE_S,
    group_commit: Annotated[
        bool,
        typer.Option(
            help="Quotes and conversions arriving together share one transaction and its commit (a refused call "
            "still fails alone); --no-group-commit runs each in a transaction of its own (README, Performance).",
        ),
    ] = True,
    otlp_endpoint: Annotated[
        str | None,
        typer.Option(
            envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
            help="Send one OpenTelemetry span per call to this OTLP/gRPC collector (needs the [tracing] extra); "
            "default: no tracing.",
        ),
    ] = None,
    credit_deadline_s: Annotated[
        int, typer.Option(help="How long a target partner has to acknowledge a credit before it expires.")
    ] = DEFAULT_CREDIT_DEADLINE_MS // 1000,
    member_conversions_per_hour: Annotated[
        int, typer.Option(help="Risk control: conversions one member may make per hour.")
    ] = DEFAULT_MEMBER_CONVERSIONS_PER_HOUR,
    exposure_limit_minor: Annotated[
        int, typer.Option(help="Risk control: net unsettled money a partner may owe, in minor units per currency.")
    ] = DEFAULT_EXPOSURE_LIMIT_MINOR,
    metrics_listen: Annotated[
        str,
        typer.Option(
            envvar="COALITION_METRICS_LISTEN",
            callback=listen_address,
            help="HOST:PORT for Prometheus /metrics; '' for none.",
        ),
    ] = DEFAULT_METRICS_LISTEN,
    log_format: Annotated[
        logs.LogFormat, typer.Option(case_sensitive=False, help="json (one object a line) or text.")
    ] = logs.LogFormat.JSON,
    log_level: Annotated[
        logs.LogLevel,
        typer.Option(
            envvar="COALITION_LOG_LEVEL",
            case_sensitive=False,
            help="The least severe log line written, the hub's and gRPC core's alike.",
        ),
    ] = logs.LogLevel.INFO,
    create: CreateOption = False,
    keyring: Annotated[
        Path | None,
        typer.Option(
            envvar="COALITION_KEYRING",
            help="The hub's data-protection keyring (JSON, 0600); default: var/keyring.json, created if absent. "
            "Replicas share it.",
        ),
    ] = None,
    var_dir: VarOption = DEFAULT_VAR_DIR,
    tls_cert: Annotated[
        Path | None,
        typer.Option(envvar="COALITION_TLS_CERT", help="Serve TLS with this certificate chain PEM (with --tls-key)."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(envvar="COALITION_TLS_KEY", help="The private key PEM of --tls-cert.")
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            envvar="COALITION_TLS_CLIENT_CA",
            help="Mutual TLS: require client certificates from this CA PEM; a certificate's CN or DNS name "
            "must equal the principal that signs the request.",
        ),
    ] = None,
    db_statement_timeout_s: Annotated[
        float, typer.Option(min=0, help="PostgreSQL: longest statement of a call's transaction; 0: no limit.")
    ] = DEFAULT_STATEMENT_TIMEOUT_S,
    db_lock_timeout_s: Annotated[
        float, typer.Option(min=0, help="Longest wait for a lock (SQLite: the busy timeout); 0: no limit.")
    ] = DEFAULT_LOCK_TIMEOUT_S,
) -> None:
    """Start the hub and serve until Ctrl-C or SIGTERM (in-flight calls finish first)."""
    # Imported here, not at the top: every other command starts without loading the hub's services.
    from exchange.api.server import HubConfig, HubServer
    from exchange.cli import processes as hub_processes
    from exchange.store import migrate

    logs.configure(log_format, log_level.value)
    if processes is not None and processes > 1 and (reason := hub_processes.unsupported(listen)):
        _refuse("serve", reason)
    try:
        tls = tls_files.server_tls(tls_cert, tls_key, tls_client_ca)
    except tls_files.TlsFileError as error:
        _refuse("serve", str(error))
    for given in (*(operator_key or ()), hub_key, keyring):
        # Before the database is touched: a mistyped key path changes nothing.
        if given is not None and not given.is_file():
            _refuse("serve", f"key file {given} does not exist (only the defaults under --var-dir are created)")
    database = _database(db, var_dir, command="serve", create=create)
    database = database.with_time_limits(statement_timeout_s=db_statement_timeout_s, lock_timeout_s=db_lock_timeout_s)
    processes = processes or hub_processes.default_count(listen, database.dialect)
    with _reaching(database, "serve"):
        state = migrate.schema_state(database)
        if state is migrate.SchemaState.EMPTY:
            migrate.upgrade(database)
            console.print(f"database was empty: migrated to {migrate.head_revision()}")
    if state is migrate.SchemaState.OUTDATED:
        _refuse(
            "serve",
            f"database schema is outdated (at {migrate.current_revision(database)}, this hub needs "
            f"{migrate.head_revision()}): run `coalition db upgrade --db ...` first",
        )
    if state is migrate.SchemaState.UNKNOWN:
        _refuse(
            "serve",
            f"database schema is at {migrate.current_revision(database) or 'no recorded revision'}, which this "
            f"hub (head {migrate.head_revision()}) does not know: it was migrated by a newer hub or holds other "
            "tables; run a matching hub, or `coalition db upgrade` only if it is an older revision",
        )
    operator_paths = operator_key or [var_dir / OPERATOR_KEY_FILE]
    if not operator_key and create_private_key_if_absent(operator_paths[0], OPERATOR_KEY_PASSPHRASE_ENV):
        console.print(f"generated the operator key at {operator_paths[0]}")
    try:
        signer, created = hub_signer(hub_key or var_dir / HUB_KEY_FILE)
        operators = [operator_key_from_file(path) for path in operator_paths]
    except KeyFileError as error:
        typer.echo(f"coalition serve: {error}", err=True)
        raise typer.Exit(2) from None
    if created:
        console.print(f"generated the hub key at {hub_key or var_dir / HUB_KEY_FILE}")
    secrets_keyring = _bound_keyring(database, keyring or var_dir / KEYRING_FILE)
    config = HubConfig(
        database=database,
        operator_keys=operators,
        metrics_listen=metrics_listen or None,
        keyring=secrets_keyring,
        erasures=ErasureLedger.beside(keyring or var_dir / KEYRING_FILE),
        signer=signer,
        listen=listen,
        window_s=window_s,
        max_request_bytes=max_request_bytes,
        workers=workers,
        group_commit=group_commit,
        tls=tls,
        tracing=_tracing(otlp_endpoint),
        policy=ConversionPolicy(
            credit_deadline_ms=credit_deadline_s * 1000,
            member_conversions_per_hour=member_conversions_per_hour,
            exposure_limit_minor=exposure_limit_minor,
        ),
    )
    details = [
        f"version      coalition {__version__}",
        _transport_line(tls),
        f"hub key      {signer.key_id}  {fingerprint(signer.public_key)}",
        f"keyring      {secrets_keyring.fingerprint}",
        *(f"operator key {operator.key_id}  {fingerprint(operator.public_key)}" for operator in operators),
    ]
    logs.route_native_stderr()  # gRPC core's own lines, in this log's format: before any fork or gRPC thread
    if processes > 1:
        # Forks before any gRPC object exists in this process: see exchange.cli.processes.
        raise typer.Exit(
            hub_processes.serve(config, processes=processes, grace_s=grace_s, console=console, details=details)
        )
    server = HubServer(config)
    try:
        port = server.start()
    except OSError as error:  # the address is taken (by another hub, or anything) or not this host's
        typer.echo(f"coalition serve: {error}: in use by another process, or not an address of this host", err=True)
        raise typer.Exit(2) from None
    console.print(f"hub listening on {listen.rsplit(':', 1)[0]}:{port}  database {database.url.render_as_string()}")
    for line in details:
        console.print(line, soft_wrap=True)
    if server.metrics_port:
        console.print(f"metrics on http://{metrics_listen.rsplit(':', 1)[0]}:{server.metrics_port}/metrics")
    stopping = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            console.print(f"{signal.Signals(signum).name}: finishing in-flight calls (up to {grace_s:g} s)")
            threading.Thread(target=server.stop, args=(grace_s,), daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.wait()
    console.print("hub stopped")


def _transport_line(tls: ServerTls | None) -> str:
    if tls is None:
        return "transport    plaintext gRPC (no --tls-cert)"
    if tls.mutual:
        return "transport    mutual TLS: client certificates required, each naming the principal that signs"
    return "transport    TLS"


@db_app.command("upgrade")
def db_upgrade(
    db: DbOption = None,
    var_dir: VarOption = DEFAULT_VAR_DIR,
    keyring: Annotated[
        Path | None,
        typer.Option(
            envvar="COALITION_KEYRING",
            help="The hub's keyring; its erasure ledger is re-applied after the upgrade "
            "(default: var/keyring.json, if it exists).",
        ),
    ] = None,
    create: CreateOption = False,
) -> None:
    """Apply every migration the database lacks, then re-apply erasures a restore rolled back."""
    from exchange.store import migrate

    if keyring is not None and not keyring.is_file():  # before the database: a mistyped path changes nothing
        _refuse("db upgrade", f"keyring file {keyring} does not exist")
    database = _database(db, var_dir, command="db upgrade", create=create)
    with _reaching(database, "db upgrade"):
        before = migrate.current_revision(database)
        migrate.upgrade(database)
    console.print(f"database at {migrate.current_revision(database)} (was {before or 'empty'})")
    keyring_path = keyring or var_dir / KEYRING_FILE
    if keyring_path.is_file():
        loaded = Keyring.load(keyring_path)
        try:
            keyring_binding.bind(database, loaded)
        except keyring_binding.KeyringMismatch as error:
            typer.echo(f"coalition db upgrade: keyring {keyring_path}: {error}", err=True)
            raise typer.Exit(2) from None
        again = erasure.reapply(database, ErasureLedger.beside(keyring_path), loaded.pairwise_secret, _now_ms())
        console.print(f"erasure ledger re-applied: {again} member(s) erased again")


@db_app.command("status")
def db_status(db: DbOption = None, var_dir: VarOption = DEFAULT_VAR_DIR) -> None:
    """Say whether the database schema matches this hub (a SQLite file that does not exist is refused)."""
    from exchange.store import migrate

    database = _database(db, var_dir, command="db status")
    with _reaching(database, "db status"):
        state = migrate.schema_state(database)
        current = migrate.current_revision(database)
    console.print(f"{state.value}: at {current or 'nothing'}, head {migrate.head_revision()}")
    if state is not migrate.SchemaState.CURRENT:
        raise typer.Exit(1)


@app.command()
def health(
    target: Annotated[str, typer.Option(envvar=TARGET_ENV, help="Hub address.")] = DEFAULT_LISTEN,
    timeout_s: Annotated[float, typer.Option(help="Give up after this long.")] = 3.0,
    tls_ca: Annotated[Path | None, typer.Option(help="Connect with TLS, trusting this CA PEM for the hub.")] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Client certificate PEM, for a hub with mutual TLS (with --tls-key).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The private key PEM of --tls-cert.")] = None,
    service: Annotated[
        str,
        typer.Option(
            help="A service's readiness (e.g. coalition.exchange.v1.ConversionService: the database answers) "
            'instead of the process\'s liveness ("").'
        ),
    ] = "",
) -> None:
    """Ask the hub's grpc.health.v1 service; exit 0 only if it is SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    try:
        tls = tls_files.client_tls(tls_ca, tls_cert, tls_key)
    except tls_files.TlsFileError as error:
        _refuse("health", str(error))
    with grpc.insecure_channel(target) if tls is None else grpc.secure_channel(target, tls.credentials()) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError as error:
            console.print(f"NOT SERVING: {error.code().name if isinstance(error, grpc.Call) else error}")
            raise typer.Exit(1) from None
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    console.print(status)
    if answer.status != health_pb2.HealthCheckResponse.SERVING:
        raise typer.Exit(1)


@app.command()
def demo(
    var_dir: Annotated[Path, typer.Option(help="Where the demonstration's database and keys go.")] = DEFAULT_VAR_DIR
    / "demo",
) -> None:
    """Run the demonstration of the whole exchange on an embedded SQLite hub."""
    from exchange.cli.demo import run_demo

    try:
        var_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _refuse("demo", f"can't use --var-dir {var_dir}: {error.strerror or error}")
    run_demo(var_dir, console)


def main() -> None:
    """Run the CLI as the `coalition` console script does (every error one line)."""
    from exchange.cli.entry import main as run

    run()


if __name__ == "__main__":
    main()
