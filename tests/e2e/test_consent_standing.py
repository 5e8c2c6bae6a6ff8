"""A brand acts for a member only while it stands with them: an ended link takes its access away at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from partner_sdk import Consent, InvalidArgumentError, PermissionDeniedError
from tests.conftest import RunningHub
from tests.e2e.test_consent import Member, linked_member


@pytest.fixture
def member(hub: RunningHub) -> Member:
    return linked_member(hub)


def _in_a_day() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def _grant(member: Member, grantee: str = "voltline", keys: tuple[str, ...] = ("shoe_size",)) -> Consent:
    return member.stride.grant_consent(
        "s-1",
        source_partner_id="stride",
        grantee_partner_id=grantee,
        attribute_keys=list(keys),
        purpose="SERVICE",
        expires_at=_in_a_day(),
    )


def _unlink_voltline(member: Member) -> None:
    (link,) = member.voltline.list_links("v-1")
    member.voltline.unlink(link.link_id, reason="member asked")


def test_an_ended_link_ends_the_brands_consents_with_a_reason_the_member_can_see(member: Member) -> None:
    consent = _grant(member)
    kept = _grant(member, grantee="brewhaus")
    _unlink_voltline(member)
    found = {c.consent_id: c for c in member.stride.list_consents("s-1")}
    assert (found[consent.consent_id].end_reason, found[consent.consent_id].revoked_at is not None) == (
        "UNLINKED",
        True,
    )
    assert (found[kept.consent_id].end_reason, found[kept.consent_id].revoked_at) == ("", None)
    (ending,) = [e for e in member.stride.list_access_log("s-1") if e.event == "CONSENT_ENDED"]
    assert (ending.reader_partner_id, ending.reason, ending.consent_id) == ("voltline", "UNLINKED", consent.consent_id)


def test_a_brand_whose_link_ended_cannot_read_and_the_refusal_is_in_the_access_log(member: Member) -> None:
    _grant(member)
    _unlink_voltline(member)
    with pytest.raises(PermissionDeniedError) as refused:
        member.voltline.read_attributes(
            member.volt_pairwise, source_partner_id="stride", purpose="SERVICE", attribute_keys=["shoe_size"]
        )
    assert refused.value.reason == "MEMBER_NOT_LINKED"
    refusals = [e for e in member.stride.list_access_log("s-1") if e.event == "READ_REFUSED"]
    assert [(e.reader_partner_id, e.source_partner_id, e.reason) for e in refusals] == [
        ("voltline", "stride", "MEMBER_NOT_LINKED")
    ]


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(lambda m: m.voltline.list_consents("v-1"), id="list consents"),
        pytest.param(lambda m: m.voltline.list_access_log("v-1"), id="read the access log"),
        pytest.param(lambda m: m.voltline.revoke_consent("v-1", m.consent_id), id="revoke"),
        pytest.param(
            lambda m: m.voltline.grant_consent(
                "v-1",
                source_partner_id="voltline",
                grantee_partner_id="stride",
                attribute_keys=["tier"],
                purpose="SERVICE",
                expires_at=_in_a_day(),
            ),
            id="grant its own attributes",
        ),
        pytest.param(lambda m: m.voltline.publish_attributes("v-1", {"tier": "gold"}), id="publish"),
        pytest.param(lambda m: m.voltline.erase_member("v-1"), id="forward an erasure"),
    ],
)
def test_a_brand_whose_link_ended_no_longer_acts_for_the_member(member: Member, act: Callable[..., object]) -> None:
    member.voltline.declare_attribute("tier", type="TEXT", description="Voltline tier")
    consent = _grant(member)
    _unlink_voltline(member)

    class Acting:
        voltline = member.voltline
        consent_id = consent.consent_id

    with pytest.raises(PermissionDeniedError) as refused:
        act(Acting)
    assert refused.value.reason == "MEMBER_NOT_LINKED"
    assert member.stride.list_consents("s-1")[0].end_reason == "UNLINKED"  # and nothing else changed


def test_the_brand_where_the_member_started_still_acts_after_every_link_ended(member: Member) -> None:
    _unlink_voltline(member)
    (link,) = member.brewhaus.list_links("b-1")
    member.brewhaus.unlink(link.link_id, reason="member asked")
    assert member.stride.list_consents("s-1") == ()
    member.stride.publish_attributes("s-1", {"shoe_size": 44})


@pytest.mark.parametrize("granting", ["voltline", "brewhaus"])
def test_no_brand_grants_access_to_another_brands_attributes(member: Member, granting: str) -> None:
    client = member.voltline if granting == "voltline" else member.brewhaus
    ref = "v-1" if granting == "voltline" else "b-1"
    with pytest.raises(PermissionDeniedError) as refused:
        client.grant_consent(
            ref,
            source_partner_id="stride",
            grantee_partner_id="voltline",  # brewhaus for voltline, or voltline for itself
            attribute_keys=["shoe_size"],
            purpose="SERVICE",
            expires_at=_in_a_day(),
        )
    assert refused.value.reason == "GRANT_NOT_BY_SOURCE"
    assert member.stride.list_consents("s-1") == ()


def test_a_brand_cannot_grant_itself_its_own_attributes(member: Member) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        _grant(member, grantee="stride")
    assert refused.value.reason == "SAME_PARTNER"
