"""`coalition admin`: the operator's commands, signed with the operator key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from exchange.api.server_settings import DEFAULT_LISTEN
from exchange.cli import tls_files
from exchange.cli.common_options import TARGET_ENV, SharedOption, SharedOptions
from exchange.cli.key_files import (
    DEFAULT_VAR_DIR,
    OPERATOR_KEY_FILE,
    OPERATOR_KEY_PASSPHRASE_ENV,
    KeyFileError,
    public_key_from_hex,
    read_private_key,
)
from exchange.cli.output import stdout_console
from partner_sdk import ExchangeError, OperatorClient, Partner

app = typer.Typer(help="Operator commands: approve, suspend, reinstate, list partners.", no_args_is_help=True)
console = stdout_console()

DEFAULT_KEY = DEFAULT_VAR_DIR / OPERATOR_KEY_FILE


@dataclass(frozen=True, slots=True)
class Connection:
    """Which hub the operator talks to, and with which key: the common options, merged."""

    target: str
    operator_key: Path
    hub_public_key: str | None
    tls_ca: Path | None
    tls_cert: Path | None
    tls_key: Path | None


# The options every command signing as the operator shares (admin here, settlement too).
TARGET = SharedOption("target", str, "--target", "Hub address.", default=DEFAULT_LISTEN, envvar=TARGET_ENV)
OPERATOR_KEY = SharedOption(
    "operator_key",
    Path,
    "--operator-key",
    f"The operator's private key PEM; if encrypted, its passphrase comes from {OPERATOR_KEY_PASSPHRASE_ENV} "
    "or a prompt on a terminal.",
    default=DEFAULT_KEY,
)
HUB_PUBLIC_KEY = SharedOption(
    "hub_public_key", str, "--hub-public-key", "Pin the hub's public key (hex); default: ask the hub."
)
COMMON = SharedOptions(
    TARGET,
    OPERATOR_KEY,
    HUB_PUBLIC_KEY,
    SharedOption(
        "tls_ca",
        Path,
        "--tls-ca",
        "Connect with TLS, trusting this CA PEM for the hub.",
        envvar="COALITION_ADMIN_TLS_CA",
    ),
    SharedOption(
        "tls_cert",
        Path,
        "--tls-cert",
        "Client certificate PEM, for a hub with mutual TLS (with --tls-key).",
        envvar="COALITION_ADMIN_TLS_CERT",
    ),
    SharedOption("tls_key", Path, "--tls-key", "The private key PEM of --tls-cert.", envvar="COALITION_ADMIN_TLS_KEY"),
    build=lambda values: Connection(**values),
)
COMMON.install(
    app,
    help="Operator commands. The hub and key options (--target, --operator-key, --hub-public-key, --tls-ca, "
    "--tls-cert, --tls-key) may be given before the command or after it.",
)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"coalition admin: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _operator(connection: Connection) -> Iterator[OperatorClient]:
    try:
        pinned = public_key_from_hex(connection.hub_public_key) if connection.hub_public_key else None
        private_key = read_private_key(connection.operator_key, OPERATOR_KEY_PASSPHRASE_ENV)
        options = tls_files.client_tls(connection.tls_ca, connection.tls_cert, connection.tls_key)
    except ValueError as error:
        _fail(f"--hub-public-key: {error}")
    except (KeyFileError, tls_files.TlsFileError) as error:
        _fail(str(error))
    try:
        with OperatorClient(connection.target, private_key=private_key, hub_public_key=pinned, tls=options) as client:
            yield client
    except ExchangeError as error:
        _fail(f"{error.code}: {error.message}" + (f" ({error.reason})" if error.reason else ""))


def partners_table(partners: list[Partner] | tuple[Partner, ...], title: str = "Partners") -> Table:
    """Render partners as a table."""
    table = Table(title=title)
    for column in ("partner", "name", "points", "settles in", "1 point =", "status", "keys"):
        table.add_column(column)
    for p in partners:
        keys = ", ".join(f"{k.key_id} ({k.state.lower()}, {k.fingerprint[:23]})" for k in p.keys)
        value = f"{p.point_value_minor} minor {p.settlement_currency}"
        table.add_row(p.partner_id, p.display_name, p.point_currency, p.settlement_currency, value, p.status, keys)
    return table


@app.command("list")
@COMMON.command
def list_partners(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="PENDING, ACTIVE or SUSPENDED.")] = None,
) -> None:
    """List partners."""
    with _operator(ctx.obj) as client:
        console.print(partners_table(list(client.iter_partners(status=status))))


@app.command()
@COMMON.command
def approve(
    ctx: typer.Context,
    partner_id: str,
) -> None:
    """Approve a PENDING partner."""
    with _operator(ctx.obj) as client:
        console.print(partners_table([client.approve(partner_id)], "Approved"))


@app.command()
@COMMON.command
def suspend(
    ctx: typer.Context,
    partner_id: str,
    reason: Annotated[str, typer.Option(help="Why, for the record.")],
) -> None:
    """Suspend an ACTIVE partner: all its calls are refused until reinstated."""
    with _operator(ctx.obj) as client:
        console.print(partners_table([client.suspend(partner_id, reason=reason)], "Suspended"))


@app.command()
@COMMON.command
def reinstate(
    ctx: typer.Context,
    partner_id: str,
) -> None:
    """Reinstate a SUSPENDED partner."""
    with _operator(ctx.obj) as client:
        console.print(partners_table([client.reinstate(partner_id)], "Reinstated"))
