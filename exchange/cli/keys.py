"""`coalition keys`: make and inspect Ed25519 key files for partners and the operator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from partner_sdk.keys import fingerprint, generate_private_key, load_private_key, public_key_bytes, save_private_key

app = typer.Typer(help="Ed25519 key files.", no_args_is_help=True)
console = Console()


@app.command("new")
def new_key(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, mode 0600).")],
    passphrase_env: Annotated[
        str | None, typer.Option(help="Encrypt with the passphrase in this environment variable.")
    ] = None,
) -> None:
    """Generate a private key and print its public key and fingerprint."""
    import os

    if path.exists():
        console.print(f"[red]{path} exists; refusing to overwrite a key[/red]")
        raise typer.Exit(1)
    passphrase = os.environ[passphrase_env].encode() if passphrase_env else None
    key = generate_private_key()
    save_private_key(path, key, passphrase)
    public = public_key_bytes(key)
    console.print(f"public key  {public.hex()}\nfingerprint {fingerprint(public)}")


@app.command("show")
def show_key(path: Annotated[Path, typer.Argument(help="A private key PEM.")]) -> None:
    """Print a private key file's public key and fingerprint."""
    public = public_key_bytes(load_private_key(path))
    console.print(f"public key  {public.hex()}\nfingerprint {fingerprint(public)}")


@app.command("keyring")
def new_keyring(
    path: Annotated[Path, typer.Argument(help="Where to write the hub's data-protection keyring (JSON, mode 0600).")],
) -> None:
    """Generate the hub's keyring (master keys and the pairwise secret) for replicas to share."""
    from exchange.secrets.keyring import Keyring

    if path.exists():
        console.print(f"[red]{path} exists; refusing to overwrite a keyring[/red]")
        raise typer.Exit(1)
    keyring = Keyring.generate()
    keyring.save(path)
    console.print(f"keyring written to {path} (current master key {keyring.current_master_key_id})")


@app.command("rotate-master")
def rotate_master(
    keyring_path: Annotated[Path, typer.Option("--keyring", help="The hub's keyring file.")],
    db: Annotated[str, typer.Option("--db", envvar="COALITION_DB", help="The hub's database URL.")],
) -> None:
    """Add a new master key to the keyring and re-wrap every member's data key under it.

    Run it with the replicas stopped, or restart every replica with the new keyring file right
    after: a replica still holding the old file can't unwrap keys wrapped under the new master key.
    """
    from rich.progress import Progress

    from exchange.secrets.keyring import Keyring
    from exchange.service.key_rotation import rewrap_all
    from exchange.store.database import Database

    keyring = Keyring.load(keyring_path).with_new_master_key()
    keyring.save(keyring_path)
    database = Database(db)
    with Progress(console=console) as progress:
        task = progress.add_task(f"re-wrapping data keys under {keyring.current_master_key_id}", total=None)
        changed = rewrap_all(database, keyring, lambda n: progress.advance(task, n))
    database.dispose()
    console.print(f"master key {keyring.current_master_key_id} is current; {changed} data key(s) re-wrapped")
