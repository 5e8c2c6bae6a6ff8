"""`database_url`: the password of --db read from COALITION_DB_PASSWORD_FILE."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import make_url

from exchange.cli.db_url import MAX_PASSWORD_FILE_BYTES, DatabasePasswordError, database_url

URL = "postgresql+psycopg://coalition@postgres:5432/coalition"


def password_file(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "db_password"
    path.write_bytes(content)
    return str(path)


def test_without_a_password_file_the_url_is_left_as_it_is() -> None:
    assert database_url(URL, None) == URL
    assert database_url(URL, "") == URL
    assert database_url("sqlite:////var/lib/coalition/exchange.sqlite3", None).startswith("sqlite:")


def test_the_password_from_the_file_goes_into_the_url_without_its_trailing_newline(tmp_path: Path) -> None:
    url = database_url(URL, password_file(tmp_path, b"s3cret\n"))
    assert url == "postgresql+psycopg://coalition:s3cret@postgres:5432/coalition"


def test_a_windows_line_ending_is_stripped_too(tmp_path: Path) -> None:
    assert make_url(database_url(URL, password_file(tmp_path, b"s3cret\r\n"))).password == "s3cret"


def test_a_password_with_url_characters_is_percent_encoded_and_reads_back_the_same(tmp_path: Path) -> None:
    password = "p@ss:w/rd%?#é "
    url = database_url(URL, password_file(tmp_path, password.encode() + b"\n"))
    parsed = make_url(url)
    assert parsed.password == password
    assert (parsed.username, parsed.host, parsed.port, parsed.database) == ("coalition", "postgres", 5432, "coalition")
    assert "p@ss" not in url


def test_the_query_of_the_url_is_kept(tmp_path: Path) -> None:
    url = database_url(URL + "?sslmode=require", password_file(tmp_path, b"s3cret"))
    assert make_url(url).query == {"sslmode": "require"}


def test_a_missing_password_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    with pytest.raises(DatabasePasswordError, match="absent"):
        database_url(URL, str(missing))


def test_an_empty_password_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabasePasswordError, match="empty"):
        database_url(URL, password_file(tmp_path, b"\n"))


def test_a_file_too_big_to_be_a_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabasePasswordError, match="not a password file"):
        database_url(URL, password_file(tmp_path, b"x" * (MAX_PASSWORD_FILE_BYTES + 1)))


def test_a_password_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabasePasswordError, match="UTF-8"):
        database_url(URL, password_file(tmp_path, b"\xff\xfe"))


def test_a_url_that_already_has_a_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabasePasswordError, match="already has a password"):
        database_url("postgresql+psycopg://coalition:other@postgres/coalition", password_file(tmp_path, b"s3cret"))


def test_a_password_file_with_sqlite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabasePasswordError, match="SQLite"):
        database_url("sqlite:///exchange.sqlite3", password_file(tmp_path, b"s3cret"))


def test_a_url_that_is_not_a_database_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabasePasswordError, match="not a database URL"):
        database_url("not a url", password_file(tmp_path, b"s3cret"))


def test_the_error_is_a_usage_error_so_the_cli_says_one_thing_and_exits_2(tmp_path: Path) -> None:
    with pytest.raises(typer.BadParameter) as raised:
        database_url(URL, str(tmp_path / "absent"))
    assert raised.value.exit_code == 2
    assert "COALITION_DB_PASSWORD_FILE" in raised.value.format_message()
