"""Attributes shared only under the member's consent: encrypted at rest, every read logged, erasure final."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy

from partner_sdk import (
    ExchangeClient,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.conftest import RunningHub
from tests.e2e.money import accepted_pair


@dataclass
class Member:
    """One member with accounts at stride (source of attributes), voltline (reader) and brewhaus."""

    hub: RunningHub
    stride: ExchangeClient
    voltline: ExchangeClient
    brewhaus: ExchangeClient
    volt_pairwise: str


@pytest.fixture
def member(hub: RunningHub) -> Member:
    return linked_member(hub)


def linked_member(hub: RunningHub) -> Member:
    """Stride's member s-1, linked at Voltline (v-1) and Brewhaus (b-1), with three Stride attributes."""
    pair = accepted_pair(hub)
    stride, voltline = pair.source, pair.target
    brewhaus, _ = hub.active_partner("brewhaus", currency="USD")
    link = voltline.redeem_link_code(stride.create_link_code("s-1").code, member_ref="v-1")
    brewhaus.redeem_link_code(stride.create_link_code("s-1").code, member_ref="b-1")
    stride.declare_attribute("shoe_size", type="INTEGER", description="EU shoe size")
    stride.declare_attribute("favourite_sport", type="TEXT", description="The sport they buy most for")
    stride.declare_attribute("birthday", type="DATE", description="Date of birth")
    stride.publish_attributes(
        "s-1", {"shoe_size": 43, "favourite_sport": "trail running zebra-secret", "birthday": dt.date(1990, 4, 1)}
    )
    return Member(hub, stride, voltline, brewhaus, link.pairwise_member_id)


def _in_a_day() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def test_a_read_returns_only_what_a_live_consent_covers_and_says_why_the_rest_is_withheld(member: Member) -> None:
    consent = member.stride.grant_consent(
        "s-1",  # the member uses Stride's app to let Voltline see two Stride attributes
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size", "birthday"],
        purpose="PERSONALISED_OFFERS",
        expires_at=_in_a_day(),
    )
    assert consent.verify_receipt(member.hub.hub_public_key) == consent.receipt
    assert b"grantee=voltline" in consent.receipt and b"purpose=PERSONALISED_OFFERS" in consent.receipt
    read = member.voltline.read_attributes(
        member.volt_pairwise,
        source_partner_id="stride",
        purpose="PERSONALISED_OFFERS",
        attribute_keys=["shoe_size", "birthday", "favourite_sport", "income"],
    )
    assert dict(read.values) == {"shoe_size": 43, "birthday": dt.date(1990, 4, 1)}
    assert dict(read.withheld) == {"favourite_sport": "NO_CONSENT", "income": "NOT_DECLARED"}
    other_purpose = member.voltline.read_attributes(
        member.volt_pairwise, source_partner_id="stride", purpose="FRAUD_PREVENTION", attribute_keys=["shoe_size"]
    )
    assert dict(other_purpose.values) == {}
    assert dict(other_purpose.withheld) == {"shoe_size": "NO_CONSENT"}


def test_revocation_is_immediate_and_consents_list_through_any_linked_brand(member: Member) -> None:
    consent = member.stride.grant_consent(
        "s-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size"],
        purpose="SERVICE",
        expires_at=_in_a_day(),
    )
    assert [c.consent_id for c in member.voltline.list_consents("v-1")] == [consent.consent_id]
    revoked = member.brewhaus.revoke_consent("b-1", consent.consent_id)
    assert revoked.revoked_at is not None
    read = member.voltline.read_attributes(
        member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
    )
    assert dict(read.values) == {}


def test_a_consent_lapses_at_its_expiry(member: Member) -> None:
    member.stride.grant_consent(
        "s-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size"],
        purpose="SERVICE",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
    )
    member.hub.clock.advance(5 * 60 * 1000 + 1000)
    read = member.voltline.read_attributes(
        member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
    )
    assert dict(read.withheld) == {"shoe_size": "NO_CONSENT"}


def test_every_read_refused_or_not_is_in_the_members_access_log(member: Member) -> None:
    member.voltline.read_attributes(
        member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
    )
    (entry,) = member.stride.list_access_log("s-1")
    assert (entry.reader_partner_id, entry.source_partner_id, entry.purpose) == ("voltline", "stride", "SERVICE")
    assert (entry.returned_keys, entry.withheld_keys) == ((), ("shoe_size",))


def test_values_are_encrypted_at_rest_and_never_logged(member: Member, caplog: pytest.LogCaptureFixture) -> None:
    with member.hub.database.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT * FROM attribute_values")).all()
        keys = connection.execute(sqlalchemy.text("SELECT * FROM member_keys")).all()
    assert len(rows) == 3 and len(keys) == 1
    raw = b"".join(bytes(r.sealed) for r in rows)
    for plaintext in (b"zebra-secret", b"trail running", b"1990-04-01"):
        assert plaintext not in raw
    assert b"zebra-secret" not in bytes(keys[0].wrapped_key)
    assert "zebra-secret" not in caplog.text


def test_erasure_makes_the_data_unreadable_ends_links_and_consents_and_keeps_settlement_whole(member: Member) -> None:
    from exchange.store.ledger_repo import LedgerRepository

    member.stride.grant_consent(
        "s-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size"],
        purpose="SERVICE",
        expires_at=_in_a_day(),
    )
    quote = member.stride.quote_conversion("voltline", 100)
    member.stride.convert(quote.quote_id, source_member_ref="s-1", target_member_ref="v-1")
    with member.hub.database.engine.connect() as connection:
        before = LedgerRepository(connection).money_positions()
    erased = member.voltline.erase_member("v-1")
    assert (erased.links_ended, erased.consents_revoked) == (2, 1)
    with pytest.raises(NotFoundError):
        member.voltline.read_attributes(
            member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
        )
    with pytest.raises(NotFoundError):
        member.stride.list_consents("s-1")
    with member.hub.database.engine.connect() as connection:
        assert LedgerRepository(connection).money_positions() == before
        key = connection.execute(sqlalchemy.text("SELECT wrapped_key, destroyed_at_ms FROM member_keys")).one()
        assert key.wrapped_key is None and key.destroyed_at_ms is not None
        assert connection.execute(sqlalchemy.text("SELECT count(*) FROM attribute_values")).scalar_one() == 0
        refs = connection.execute(sqlalchemy.text("SELECT source_member_ref, target_member_ref FROM conversions")).one()
        assert refs[0].startswith("erased:pm-") and refs[1].startswith("erased:pm-")  # the movement stays, unnamed
        everything = str(connection.execute(sqlalchemy.text("SELECT * FROM member_accounts")).all())
        assert "'s-1'" not in everything and "'v-1'" not in everything


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"attribute_keys": ["income"]}, FailedPreconditionError, "ATTRIBUTE_NOT_DECLARED"),
        ({"purpose": "MARKETING"}, ValueError, ""),
        ({"expires_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, InvalidArgumentError, "EXPIRY_IN_PAST"),
        ({"grantee_partner_id": "nobody"}, PermissionDeniedError, "MEMBER_NOT_LINKED"),
        ({"grantee_partner_id": "stride"}, InvalidArgumentError, "SAME_PARTNER"),
    ],
)
def test_bad_consents_are_refused_and_nothing_is_granted(
    member: Member, changes: dict[str, object], error: type[Exception], reason: str
) -> None:
    fields: dict[str, object] = {
        "source_partner_id": "stride",
        "grantee_partner_id": "voltline",
        "attribute_keys": ["shoe_size"],
        "purpose": "SERVICE",
        "expires_at": _in_a_day(),
        **changes,
    }
    with pytest.raises(error) as refused:
        member.stride.grant_consent("s-1", **fields)  # type: ignore[arg-type]
    if reason:
        assert getattr(refused.value, "reason", "") == reason
    assert member.stride.list_consents("s-1") == ()


def test_a_brand_not_linked_to_the_member_cannot_read(member: Member) -> None:
    outsider, _ = member.hub.active_partner("outsider", currency="EUR")
    with pytest.raises(NotFoundError):
        outsider.read_attributes(
            member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
        )


@pytest.mark.parametrize(
    ("values", "reason"),
    [({"shoe_size": "big"}, "WRONG_ATTRIBUTE_TYPE"), ({"unknown_key": 1}, "ATTRIBUTE_NOT_DECLARED")],
)
def test_values_must_match_their_declared_type(member: Member, values: dict[str, object], reason: str) -> None:
    with pytest.raises((InvalidArgumentError, FailedPreconditionError)) as refused:
        member.stride.publish_attributes("s-1", values)  # type: ignore[arg-type]
    assert refused.value.reason == reason


def test_rotating_the_master_key_rewraps_data_keys_and_values_stay_readable(member: Member, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from exchange.secrets.envelope import WrappedKey
    from exchange.service.key_rotation import rewrap_all

    keyring = member.hub.server.config.keyring
    assert keyring is not None
    rotated = keyring.with_new_master_key()
    assert rewrap_all(member.hub.database, rotated) == 1
    assert rewrap_all(member.hub.database, rotated) == 0  # already under the current key
    with member.hub.database.engine.connect() as connection:
        blob = connection.execute(sqlalchemy.text("SELECT wrapped_key FROM member_keys")).scalar_one()
    assert WrappedKey.from_bytes(bytes(blob)).master_key_id == rotated.current_master_key_id
    member.hub.server.context.__dict__["keyring"] = rotated  # replicas restart with the rotated keyring
    member.stride.grant_consent(
        "s-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size"],
        purpose="SERVICE",
        expires_at=_in_a_day(),
    )
    read = member.voltline.read_attributes(
        member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
    )
    assert dict(read.values) == {"shoe_size": 43}


def test_the_hub_refuses_an_unknown_purpose_for_grants_and_reads(member: Member) -> None:
    from coalition.exchange.v1 import members_pb2
    from partner_sdk import _convert

    grant = members_pb2.GrantConsentRequest(
        member_ref="s-1",
        source_partner_id="stride",
        grantee_partner_id="voltline",
        attribute_keys=["shoe_size"],
        purpose=members_pb2.Purpose.Value("PURPOSE_UNSPECIFIED"),
        expires_at=_convert.to_timestamp(_in_a_day()),
    )
    with pytest.raises(InvalidArgumentError) as refused:
        member.stride.transport.call(
            "/coalition.exchange.v1.MemberService/GrantConsent", grant, members_pb2.GrantConsentResponse
        )
    assert refused.value.reason == "UNKNOWN_PURPOSE"
    read = members_pb2.ReadAttributesRequest(
        pairwise_member_id=member.volt_pairwise, source_partner_id="stride", purpose=77, attribute_keys=["shoe_size"]
    )
    with pytest.raises(InvalidArgumentError) as refused:
        member.voltline.transport.call(
            "/coalition.exchange.v1.MemberService/ReadAttributes", read, members_pb2.ReadAttributesResponse
        )
    assert refused.value.reason == "UNKNOWN_PURPOSE"
    assert member.stride.list_consents("s-1") == ()
