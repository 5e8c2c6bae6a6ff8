"""`coalition keys`: make and inspect Ed25519 key files for partners and the operator."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from exchange.cli.key_files import Ask, KeyFileError, ask_on_terminal, passphrase_from_env, read_private_key
from exchange.cli.output import stdout_console
from partner_sdk.keys import fingerprint, generate_private_key, load_private_key, public_key_bytes, save_private_key

app = typer.Typer(help="Ed25519 key files.", no_args_is_help=True)
console = stdout_console()

PassphraseEnvOption = Annotated[
    str | None,
    typer.Option(
        "--passphrase-env",
        help="The environment variable holding the passphrase (e.g. COALITION_HUB_KEY_PASSPHRASE); "
        "default: ask on the terminal.",
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"coalition keys: {message}", err=True)
    raise typer.Exit(2)


def _new_passphrase(path: Path, passphrase_env: str | None, ask: Ask = ask_on_terminal) -> bytes:
    """The passphrase to encrypt path with: from the variable named, else typed twice on the terminal."""
    if passphrase_env:
        passphrase = passphrase_from_env(passphrase_env)
        if passphrase is None:
            _fail(f"{passphrase_env} is unset or empty: it should hold the passphrase for {path}")
        return passphrase
    first = ask(f"new passphrase for {path}: ")
    if first is None:
        _fail("give --passphrase-env VAR, or run on a terminal to be asked for the passphrase")
    if not first:
        _fail("the passphrase is empty")
    if ask("the same passphrase again: ") != first:
        _fail("the two passphrases differ")
    return first.encode()


def _print_public(public: bytes, *, as_json: bool = False) -> None:
    if as_json:
        # One JSON object on one line, for a script or for handing to a brand: the hub key a client
        # pins is public_key_hex; fingerprint is what both sides read aloud to compare.
        typer.echo(json.dumps({"public_key_hex": public.hex(), "fingerprint": fingerprint(public)}))
        return
    console.print(f"public key  {public.hex()}\nfingerprint {fingerprint(public)}")


@app.command("new")
def new_key(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM, mode 0600).")],
    passphrase_env: Annotated[
        str | None, typer.Option(help="Encrypt with the passphrase in this environment variable.")
    ] = None,
) -> None:
    """Generate a private key and print its public key and fingerprint."""
    if path.exists():
        _fail(f"{path} exists; refusing to overwrite a key")
    passphrase = _new_passphrase(path, passphrase_env) if passphrase_env else None
    key = generate_private_key()
    save_private_key(path, key, passphrase)
    _print_public(public_key_bytes(key))


@app.command("show")
def show_key(
    path: Annotated[Path, typer.Argument(help="A private key PEM, plain or encrypted.")],
    passphrase_env: PassphraseEnvOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"public_key_hex": ..., "fingerprint": ...} on one line.')
    ] = False,
) -> None:
    """Print a private key file's public key and fingerprint."""
    try:
        _print_public(public_key_bytes(read_private_key(path, passphrase_env)), as_json=as_json)
    except KeyFileError as error:
        _fail(str(error))


@app.command("protect")
def protect_key(
    path: Annotated[Path, typer.Argument(help="An unencrypted private key PEM, encrypted in place (mode 0600).")],
    passphrase_env: PassphraseEnvOption = None,
) -> None:
    """Encrypt an existing private key file with a passphrase (the key itself is unchanged)."""
    try:
        key = load_private_key(path)
    except TypeError:
        _fail(f"{path} is already encrypted")
    except (OSError, ValueError) as error:
        _fail(f"can't read the key file {path}: {error}")
    passphrase = _new_passphrase(path, passphrase_env)
    # A new file (mode 0600 from mkstemp) renamed over the old one: an interruption leaves either
    # the plain key or the encrypted one, never half a file, and never the old file's mode.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        save_private_key(temporary, key, passphrase)
        Path(temporary).replace(path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    console.print(f"encrypted {path}")
    _print_public(public_key_bytes(key))


@app.command("keyring")
def new_keyring(
    path: Annotated[Path, typer.Argument(help="Where to write the hub's data-protection keyring (JSON, mode 0600).")],
) -> None:
    """Generate the hub's keyring (master keys and the pairwise secret) for replicas to share."""
    from exchange.secrets.keyring import Keyring

    if path.exists():
        _fail(f"{path} exists; refusing to overwrite a keyring")
    keyring = Keyring.generate()
    keyring.save(path)
    console.print(f"keyring written to {path} (current master key {keyring.current_master_key_id})")


@app.command("rotate-master")
def rotate_master(
    keyring_path: Annotated[Path, typer.Option("--keyring", help="The hub's keyring file.")],
    db: Annotated[str, typer.Option("--db", envvar="COALITION_DB", help="The hub's database URL.")],
) -> None:
    """Add a new master key to the keyring and re-wrap every member's data key under it.

    The database is checked before anything is written; the previous keyring is kept beside the
    file as KEYRING.before-rotate-NEW_ID. Running replicas pick the new file up by themselves: at
    once when they meet a data key wrapped under the new master key, and within seconds for the
    data keys they wrap (docs/operations.md, "The keyring").
    """
    from rich.progress import Progress

    from exchange.secrets.keyring import Keyring
    from exchange.service import keyring_binding
    from exchange.service.key_rotation import rewrap_all
    from exchange.store import migrate
    from exchange.store.database import Database, one_line

    try:
        old = Keyring.load(keyring_path)
    except (OSError, ValueError) as error:
        _fail(f"can't read the keyring: {error}")
    try:
        database = Database(db)
        state = migrate.schema_state(database)
    except Exception as error:  # an empty, mistyped or unreachable URL: one line, and the keyring untouched
        _fail(f"can't use the database {db!r}: {one_line(error, max_chars=None)}")
    if state is not migrate.SchemaState.CURRENT:
        _fail(f"the database's schema is {state.value}, not CURRENT: run `coalition db upgrade` first")
    try:
        keyring_binding.bind(database, old)
    except keyring_binding.KeyringMismatch as error:
        _fail(str(error))
    keyring = old.with_new_master_key()
    old.save(keyring_path.with_name(f"{keyring_path.name}.before-rotate-{keyring.current_master_key_id}"))
    keyring.save(keyring_path)
    with Progress(console=console) as progress:
        task = progress.add_task(f"re-wrapping data keys under {keyring.current_master_key_id}", total=None)
        changed = rewrap_all(database, keyring, lambda n: progress.advance(task, n))
    database.dispose()
    console.print(f"master key {keyring.current_master_key_id} is current; {changed} data key(s) re-wrapped")


@app.command("retire-master")
def retire_master(
    key_id: Annotated[str, typer.Argument(help="The old master key to remove for good, e.g. mk-1.")],
    keyring_path: Annotated[Path, typer.Option("--keyring", help="The hub's keyring file.")],
    db: Annotated[str, typer.Option("--db", envvar="COALITION_DB", help="The hub's database URL.")],
) -> None:
    """Remove an old master key from the keyring, once no data key in the database is wrapped under it.

    Every copy of a data key wrapped under it, in backups taken before the rotation that replaced
    it, can't be unwrapped afterwards: run it when the oldest such backup has been deleted
    (docs/privacy.md, "Backups and restores"). The previous keyring is kept beside the file as
    KEYRING.before-retire-KEY_ID; delete that once the new keyring is backed up.
    """
    from exchange.secrets.keyring import Keyring, UnknownMasterKey
    from exchange.service.key_rotation import MasterKeyInUse, retire
    from exchange.store.database import Database, one_line

    try:
        keyring = Keyring.load(keyring_path)
    except (OSError, ValueError) as error:
        _fail(f"can't read the keyring: {error}")
    try:
        database = Database(db)
    except Exception as error:  # a bad URL of any kind is one line, not a traceback
        _fail(f"can't open the database {db!r}: {one_line(error, max_chars=None)}")
    try:
        retired = retire(database, keyring, key_id)
    except (UnknownMasterKey, MasterKeyInUse, ValueError) as error:
        _fail(str(error))
    except Exception as error:  # an unreachable database, a schema it does not know: one line
        _fail(f"can't read the data keys in {db!r}: {one_line(error, max_chars=None)}")
    finally:
        database.dispose()
    backup = keyring_path.with_name(f"{keyring_path.name}.before-retire-{key_id}")
    keyring.save(backup)
    retired.save(keyring_path)
    console.print(
        f"master key {key_id} retired; the keyring holds {', '.join(retired.master_key_ids)}; "
        f"the previous keyring is at {backup}",
        soft_wrap=True,
    )
