"""`coalition admin`: the operator's commands, signed with the operator key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from exchange.api.server import DEFAULT_LISTEN
from exchange.cli import tls_files
from exchange.cli.key_files import (
    DEFAULT_VAR_DIR,
    OPERATOR_KEY_FILE,
    OPERATOR_KEY_PASSPHRASE_ENV,
    KeyFileError,
    read_private_key,
)
from partner_sdk import ExchangeError, OperatorClient, Partner

app = typer.Typer(help="Operator commands: approve, suspend, reinstate, list partners.", no_args_is_help=True)
console = Console()

TargetOption = Annotated[str, typer.Option("--target", help="Hub address.")]
KeyOption = Annotated[
    Path,
    typer.Option(
        "--operator-key",
        help=f"The operator's private key PEM; if encrypted, its passphrase comes from {OPERATOR_KEY_PASSPHRASE_ENV} "
        "or a prompt on a terminal.",
    ),
]
HubKeyOption = Annotated[
    str | None, typer.Option("--hub-public-key", help="Pin the hub's public key (hex); default: ask the hub.")
]
TlsCaOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca", envvar="COALITION_ADMIN_TLS_CA", help="Connect with TLS, trusting this CA PEM for the hub."
    ),
]
TlsCertOption = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        envvar="COALITION_ADMIN_TLS_CERT",
        help="Client certificate PEM, for a hub with mutual TLS (with --tls-key).",
    ),
]
TlsKeyOption = Annotated[
    Path | None, typer.Option("--tls-key", envvar="COALITION_ADMIN_TLS_KEY", help="The private key PEM of --tls-cert.")
]
DEFAULT_KEY = DEFAULT_VAR_DIR / OPERATOR_KEY_FILE


@contextmanager
def _operator(
    target: str, key: Path, hub_public_key: str | None, tls: tuple[Path | None, Path | None, Path | None]
) -> Iterator[OperatorClient]:
    pinned = bytes.fromhex(hub_public_key) if hub_public_key else None
    try:
        private_key = read_private_key(key, OPERATOR_KEY_PASSPHRASE_ENV)
        options = tls_files.client_tls(*tls)
    except (KeyFileError, tls_files.TlsFileError) as error:
        typer.echo(f"coalition admin: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        with OperatorClient(target, private_key=private_key, hub_public_key=pinned, tls=options) as client:
            yield client
    except ExchangeError as error:
        console.print(f"[red]{error.code}: {error.message}[/red]" + (f" ({error.reason})" if error.reason else ""))
        raise typer.Exit(1) from None


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
def list_partners(
    status: Annotated[str | None, typer.Option(help="PENDING, ACTIVE or SUSPENDED.")] = None,
    target: TargetOption = DEFAULT_LISTEN,
    operator_key: KeyOption = DEFAULT_KEY,
    hub_public_key: HubKeyOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
) -> None:
    """List partners."""
    with _operator(target, operator_key, hub_public_key, (tls_ca, tls_cert, tls_key)) as client:
        console.print(partners_table(list(client.iter_partners(status=status))))


@app.command()
def approve(
    partner_id: str,
    target: TargetOption = DEFAULT_LISTEN,
    operator_key: KeyOption = DEFAULT_KEY,
    hub_public_key: HubKeyOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
) -> None:
    """Approve a PENDING partner."""
    with _operator(target, operator_key, hub_public_key, (tls_ca, tls_cert, tls_key)) as client:
        console.print(partners_table([client.approve(partner_id)], "Approved"))


@app.command()
def suspend(
    partner_id: str,
    reason: Annotated[str, typer.Option(help="Why, for the record.")],
    target: TargetOption = DEFAULT_LISTEN,
    operator_key: KeyOption = DEFAULT_KEY,
    hub_public_key: HubKeyOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
) -> None:
    """Suspend an ACTIVE partner: all its calls are refused until reinstated."""
    with _operator(target, operator_key, hub_public_key, (tls_ca, tls_cert, tls_key)) as client:
        console.print(partners_table([client.suspend(partner_id, reason=reason)], "Suspended"))


@app.command()
def reinstate(
    partner_id: str,
    target: TargetOption = DEFAULT_LISTEN,
    operator_key: KeyOption = DEFAULT_KEY,
    hub_public_key: HubKeyOption = None,
    tls_ca: TlsCaOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
) -> None:
    """Reinstate a SUSPENDED partner."""
    with _operator(target, operator_key, hub_public_key, (tls_ca, tls_cert, tls_key)) as client:
        console.print(partners_table([client.reinstate(partner_id)], "Reinstated"))
