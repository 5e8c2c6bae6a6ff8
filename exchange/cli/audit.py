"""`coalition audit`: seal the audit log into its signed hash chain, and verify it row by row."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from exchange.api.response_signing import HubSigner
from exchange.cli.key_files import DEFAULT_VAR_DIR, HUB_KEY_FILE, HUB_KEY_PASSPHRASE_ENV, KeyFileError, read_private_key
from exchange.cli.output import stdout_console
from exchange.cli.values import hex_public_key
from exchange.service import audit
from exchange.store.database import Database, default_sqlite_url
from partner_sdk.keys import public_key_bytes

app = typer.Typer(help="The tamper-evident audit log: seal and verify.", no_args_is_help=True)
console = stdout_console()

DbOption = Annotated[
    str | None, typer.Option("--db", envvar="COALITION_DB", help="Database URL; default: var/exchange.sqlite3")
]
VarOption = Annotated[Path, typer.Option("--var-dir", envvar="COALITION_VAR_DIR", help="Where default files live.")]
HubKeyOption = Annotated[Path | None, typer.Option("--hub-key", help="The hub's key PEM; default: var/hub_key.pem.")]


def _signer(hub_key: Path | None, var_dir: Path) -> HubSigner:
    path = hub_key or var_dir / HUB_KEY_FILE
    if not path.exists():
        raise typer.BadParameter(f"no hub key at {path}; pass --hub-key")
    try:
        return HubSigner.from_key(read_private_key(path, HUB_KEY_PASSPHRASE_ENV))
    except KeyFileError as error:
        typer.echo(f"coalition audit: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def seal(
    db: DbOption = None,
    var_dir: VarOption = DEFAULT_VAR_DIR,
    hub_key: HubKeyOption = None,
    all_events: Annotated[bool, typer.Option("--all", help="Also seal events younger than the usual delay.")] = False,
) -> None:
    """Link new events into the chain and sign its head (the hub does this by itself every few seconds)."""
    signer = _signer(hub_key, var_dir)
    database = Database(db or default_sqlite_url(var_dir))
    try:
        sealed = audit.seal(
            database,
            audit.AuditSigner(signer.key_id, signer.private_key.sign),
            time.time_ns() // 1_000_000,
            delay_ms=0 if all_events else audit.SEAL_DELAY_MS,
        )
    finally:
        database.dispose()
    console.print(f"sealed {sealed} events")


@app.command()
def verify(
    db: DbOption = None,
    var_dir: VarOption = DEFAULT_VAR_DIR,
    hub_key: HubKeyOption = None,
    hub_public_key: Annotated[
        str | None,
        typer.Option(
            "--hub-public-key", callback=hex_public_key, help="The hub's public key (hex) instead of its key file."
        ),
    ] = None,
) -> None:
    """Recompute the chain over every row and check every signed checkpoint; say where it breaks."""
    key = bytes.fromhex(hub_public_key) if hub_public_key else public_key_bytes(_signer(hub_key, var_dir).private_key)
    database = Database(db or default_sqlite_url(var_dir))
    try:
        with database.engine.connect() as connection:
            report = audit.verify(connection, key)
    finally:
        database.dispose()
    table = Table(title="Audit log")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in (
        ("events checked against the chain", f"{report.checked:,}"),
        ("signed checkpoints", f"{report.checkpoints:,}"),
        ("events not sealed yet", f"{report.unsealed:,}"),
    ):
        table.add_row(label, value)
    console.print(table)
    if report.broken is not None:
        # One line whatever the terminal's width: it is what an operator greps and pastes.
        console.print(f"[red]the audit log is broken: {report.broken.problem}[/red]", soft_wrap=True)
        raise typer.Exit(1)
    console.print("[green]the audit log is intact[/green]")
