"""Member data at rest: values never in clear, an erased member's references nowhere, erasure survives a restore."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from coalition.exchange.v1 import conversions_pb2, members_pb2
from exchange.store.database import Database
from exchange.store.tables import metadata
from partner_sdk import ExchangeClient, FailedPreconditionError, NotFoundError
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair

SHOE = 8317  # distinctive enough to find as text
SPORT = "kitesurfing-quokka-secret"
BIRTHDAY = dt.date(1937, 11, 29)
STRIDE_REF = "stride-ref-wombat-4411"
VOLT_REF = "volt-ref-numbat-9902"
VALUES = (SPORT, "1937-11-29", str(SHOE))
REFS = (STRIDE_REF, VOLT_REF)
READ = "/coalition.exchange.v1.MemberService/ReadAttributes"
CONVERT = "/coalition.exchange.v1.ConversionService/Convert"


@dataclass
class Member:
    hub: RunningHub
    stride: ExchangeClient
    voltline: ExchangeClient
    volt_pairwise: str


@pytest.fixture
def member(hub: RunningHub) -> Member:
    pair = accepted_pair(hub)
    stride, voltline = pair.source, pair.target
    link = voltline.redeem_link_code(stride.create_link_code(STRIDE_REF).code, member_ref=VOLT_REF)
    stride.declare_attribute("shoe_size", type="INTEGER", description="EU shoe size")
    stride.declare_attribute("favourite_sport", type="TEXT", description="The sport they buy most for")
    stride.declare_attribute("birthday", type="DATE", description="Date of birth")
    stride.publish_attributes(STRIDE_REF, {"shoe_size": SHOE, "favourite_sport": SPORT, "birthday": BIRTHDAY})
    stride.grant_consent(
        STRIDE_REF,
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size", "favourite_sport", "birthday"],
        purpose="PERSONALISED_OFFERS",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )
    return Member(hub, stride, voltline, link.pairwise_member_id)


def _read_everything(member: Member) -> None:
    read = member.voltline.read_attributes(
        member.volt_pairwise,
        source_partner_id="stride",
        purpose="PERSONALISED_OFFERS",
        attribute_keys=["shoe_size", "favourite_sport", "birthday"],
    )
    assert dict(read.values) == {"shoe_size": SHOE, "favourite_sport": SPORT, "birthday": BIRTHDAY}


def _move_points(member: Member) -> None:
    quote = member.stride.quote_conversion("voltline", 100)
    member.stride.convert(quote.quote_id, source_member_ref=STRIDE_REF, pairwise_member_id=_stride_pairwise(member))
    member.stride.authorize_hold("voltline", 50, source_member_ref=STRIDE_REF)
    member.voltline.pull_instructions(wait_s=0)


def _stride_pairwise(member: Member) -> str:
    (link,) = member.stride.list_links(STRIDE_REF)
    return link.pairwise_member_id


def _every_row(database: Database) -> bytes:
    """Every row of every table, as bytes: text as UTF-8, binary as it is stored."""
    parts: list[bytes] = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sqlalchemy.select(table)).all():
                for value in row:
                    parts.append(bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode())
    return b"\x00".join(parts)


def _dump(database: Database) -> bytes:
    """The database as its engine's own dump tool writes it (SQLite .dump, pg_dump)."""
    url = database.engine.url
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as connection:
            return "\n".join(connection.iterdump()).encode()
    plain = make_url(str(url.render_as_string(hide_password=False))).set(drivername="postgresql")
    return subprocess.run(
        ["pg_dump", "--data-only", plain.render_as_string(hide_password=False)], check=True, capture_output=True
    ).stdout


def _assert_absent(haystack: bytes, needles: tuple[str, ...], where: str) -> None:
    for needle in needles:
        assert needle.encode() not in haystack, f"{needle!r} in clear in {where}"


def test_values_are_never_in_clear_and_an_erased_members_references_are_nowhere(
    member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _read_everything(member)
    _move_points(member)
    database = member.hub.database
    for where, haystack in (("the tables", _every_row(database)), ("the dump", _dump(database))):
        _assert_absent(haystack, (SPORT, "1937-11-29"), where)
        assert STRIDE_REF.encode() in haystack  # the live member's conversion names them, as it must
    member.voltline.erase_member(VOLT_REF)
    for where, haystack in (("the tables", _every_row(database)), ("the dump", _dump(database))):
        _assert_absent(haystack, (SPORT, "1937-11-29", *REFS), where)
    _assert_absent(caplog.text.encode(), (SPORT, "1937-11-29", *REFS), "the log")


def _signed(client: ExchangeClient, method: str, request: object) -> tuple[bytes, list[tuple[str, str]], str]:
    body = request.SerializeToString()  # type: ignore[attr-defined]
    headers = client.transport.sign(method, body)
    return body, list(headers.as_metadata()), headers.nonce


def test_a_resent_read_is_told_its_answer_was_not_kept_and_the_sdk_asks_again(member: Member) -> None:
    request = members_pb2.ReadAttributesRequest(
        pairwise_member_id=member.volt_pairwise,
        source_partner_id="stride",
        purpose=members_pb2.PURPOSE_PERSONALISED_OFFERS,
        attribute_keys=["favourite_sport"],
    )
    body, metadata_, nonce = _signed(member.voltline, READ, request)
    transport = member.voltline.transport
    first = transport.send(READ, body, metadata_, nonce, members_pb2.ReadAttributesResponse)
    assert first.values[0].text == SPORT
    with pytest.raises(FailedPreconditionError) as refused:
        transport.send(READ, body, metadata_, nonce, members_pb2.ReadAttributesResponse)
    assert refused.value.reason == "ANSWER_NOT_KEPT"
    with database_connection(member.hub.database) as connection:
        kept = connection.execute(
            sqlalchemy.text("SELECT outcome, response_body FROM request_nonces WHERE nonce = :n"), {"n": nonce}
        ).one()
    assert (kept.outcome, bytes(kept.response_body)) == ("NOT_KEPT", b"")


def test_a_resent_conversion_gets_its_answer_until_the_member_is_erased(member: Member) -> None:
    quote = member.stride.quote_conversion("voltline", 100)
    request = conversions_pb2.ConvertRequest(
        quote_id=quote.quote_id,
        source_member_ref=STRIDE_REF,
        pairwise_member_id=_stride_pairwise(member),
        idempotency_key="at-rest-convert-1",
    )
    body, metadata_, nonce = _signed(member.stride, CONVERT, request)
    transport = member.stride.transport
    first = transport.send(CONVERT, body, metadata_, nonce, conversions_pb2.ConvertResponse)
    again = transport.send(CONVERT, body, metadata_, nonce, conversions_pb2.ConvertResponse)
    assert again == first and first.conversion.source_member_ref == STRIDE_REF
    member.stride.erase_member(STRIDE_REF)
    with pytest.raises(NotFoundError) as refused:
        transport.send(CONVERT, body, metadata_, nonce, conversions_pb2.ConvertResponse)
    assert refused.value.reason == "MEMBER_ERASED"
    retry = _signed(member.stride, CONVERT, request)  # a new nonce, the same idempotency key
    with pytest.raises(NotFoundError) as refused:
        transport.send(CONVERT, retry[0], retry[1], retry[2], conversions_pb2.ConvertResponse)
    assert refused.value.reason == "MEMBER_ERASED"


def database_connection(database: Database) -> sqlalchemy.Connection:
    return database.engine.connect()


def _backup(database: Database) -> dict[str, list[dict[str, object]]]:
    """A logical backup: every row of every table."""
    with database.engine.connect() as connection:
        return {
            table.name: [dict(row._mapping) for row in connection.execute(sqlalchemy.select(table))]
            for table in metadata.sorted_tables
        }


def _restore(database: Database, backup: dict[str, list[dict[str, object]]]) -> None:
    """Put the backup back in place of everything the database holds now."""
    with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        for table in metadata.sorted_tables:
            if backup[table.name]:
                connection.execute(table.insert(), backup[table.name])


@pytest.fixture
def restarted(member: Member) -> Iterator[list[RunningHub]]:
    started: list[RunningHub] = []
    yield started
    for hub in started:
        hub.server.stop(grace_s=1)


def test_erasure_survives_a_restore_of_a_backup_taken_before_it(member: Member) -> None:
    _read_everything(member)
    _move_points(member)
    database = member.hub.database
    before_erasure = _backup(database)
    member.stride.erase_member(STRIDE_REF)
    _restore(database, before_erasure)
    assert STRIDE_REF.encode() in _every_row(database)  # the restore brought the member back
    hub = member.hub
    hub.take_down(grace_s=1)
    assert hub.server.config.erasures is not None
    hub.bring_back()  # a hub starting on the restored database re-applies the erasure ledger
    rows = _every_row(database)
    _assert_absent(rows, REFS, "the restored tables")
    with database.engine.connect() as connection:
        keys = connection.execute(sqlalchemy.text("SELECT wrapped_key, destroyed_at_ms FROM member_keys")).all()
        values = connection.execute(sqlalchemy.text("SELECT count(*) FROM attribute_values")).scalar_one()
        erased_by = connection.execute(sqlalchemy.text("SELECT erased_by FROM members")).scalar_one()
    assert [(k.wrapped_key, k.destroyed_at_ms is not None) for k in keys] == [(None, True)]
    assert values == 0
    assert erased_by == "hub:erasure-ledger"


def test_the_erasure_ledger_names_the_member_by_hub_id_only_and_the_forwarding_brand(member: Member) -> None:
    member.voltline.erase_member(VOLT_REF)
    ledger = member.hub.server.config.erasures
    assert ledger is not None
    (record,) = ledger.records()
    assert record.member_id.startswith("mbr-") and record.by == "voltline"
    text = ledger.path.read_text()
    _assert_absent(text.encode(), REFS, "the erasure ledger")
    with member.hub.database.engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT erased_by FROM members")).scalar_one() == "voltline"
