"""The database URL with its password read from a file (COALITION_DB_PASSWORD_FILE), not the command line.

A password on the command line shows in `ps` and `docker inspect`; a container secret file does not.
`--db postgresql+psycopg://coalition@postgres:5432/coalition` plus COALITION_DB_PASSWORD_FILE pointing at
the secret gives the hub the full URL, with the password percent-encoded as a URL needs.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PASSWORD_FILE_ENV = "COALITION_DB_PASSWORD_FILE"  # noqa: S105 (the name of a variable, not a password)
# A password file is a secret of a few dozen bytes; anything bigger is the wrong file.
MAX_PASSWORD_FILE_BYTES = 4096


class DatabasePasswordError(typer.BadParameter):
    """The password file can't be used with this URL: the CLI prints one line and exits 2."""

    reason = "DATABASE_PASSWORD_FILE"

    def __init__(self, message: str) -> None:
        super().__init__(message, param_hint=PASSWORD_FILE_ENV)


def database_url(url: str, password_file: str | None) -> str:
    """Return url with the password read from password_file (trailing newline stripped); url as is without one.

    Raises:
        DatabasePasswordError: the file is unreadable, empty or too big, the URL is not a valid database
            URL, is SQLite (no password), or already carries a password (which one would win?).
    """
    if not password_file:
        return url
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise DatabasePasswordError(f"--db is not a database URL: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        raise DatabasePasswordError("a SQLite database has no password: unset it or give a server's --db URL")
    if parsed.password is not None:
        raise DatabasePasswordError("--db already has a password: give it in the URL or in the file, not both")
    path = Path(password_file)
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as error:
        raise DatabasePasswordError(f"can't read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_PASSWORD_FILE_BYTES:
        raise DatabasePasswordError(f"{path} is over {MAX_PASSWORD_FILE_BYTES} bytes: not a password file")
    try:
        password = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise DatabasePasswordError(f"{path} is not UTF-8 text") from None
    if not password:
        raise DatabasePasswordError(f"{path} is empty")
    return parsed.set(password=password).render_as_string(hide_password=False)
