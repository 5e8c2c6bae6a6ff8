"""Status match end to end through the SDK on both databases.

Voltline (the attester: silver, gold, black diamond) and Brewhaus (the recogniser: bronze, silver,
gold, platinum) agree: Voltline gold is matched to Brewhaus silver and black diamond to gold, for
180 days, at most one match per member a year, from a tier Voltline published within 30 days. With
the challenge, Brewhaus keeps the matched tier beyond 30 days only if the member makes 5 visits.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy

from exchange.store.tables import access_log, instructions, member_tiers, status_matches
from partner_sdk import (
    AlreadyExistsError,
    FailedPreconditionError,
    NotFoundError,
    PermissionDeniedError,
    TierAttestationVerificationError,
    verify_tier_attestation,
)
from partner_sdk.status_match import Tier
from tests.conftest import RunningHub
from tests.e2e.status_match_pair import DAY_MS, GOLD_HELD_DAYS, Pair, match_terms


@pytest.fixture
def pair(hub: RunningHub) -> Pair:
    voltline, _ = hub.active_partner("voltline")
    brewhaus, _ = hub.active_partner("brewhaus")
    voltline.publish_tier_ladder(
        [Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("black_diamond", "Black Diamond")]
    )
    brewhaus.publish_tier_ladder(
        [Tier("bronze", "Bronze"), Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("platinum", "Platinum")]
    )
    proposed = brewhaus.propose_match_agreement(match_terms(hub))
    assert voltline.accept_match_agreement(proposed.agreement_id).status == "ACTIVE"
    return Pair(hub, voltline, brewhaus)


def test_a_consenting_gold_member_is_matched_to_silver_with_an_attestation_the_recogniser_verifies_offline(
    pair: Pair,
) -> None:
    pair.member("v-1")
    match, attestation = pair.brewhaus.request_status_match("b-v-1", counterparty_partner_id="voltline")
    assert (match.state, match.attester_tier, match.matched_tier, match.member_ref) == (
        "ACTIVE",
        "gold",
        "silver",
        "b-v-1",
    )
    assert match.challenge_ends_at == match.started_at + timedelta(days=30) == match.ends_at
    assert attestation is not None
    document = verify_tier_attestation(attestation, pair.hub.hub_public_key, recogniser_partner_id="brewhaus")
    (link,) = pair.brewhaus.list_links("b-v-1")
    assert (document.pairwise_member_id, document.attester_tier, document.matched_tier) == (
        link.pairwise_member_id,
        "gold",
        "silver",
    )
    with pytest.raises(TierAttestationVerificationError):
        verify_tier_attestation(attestation, pair.hub.hub_public_key, recogniser_partner_id="voltline")
    (told,) = pair.brewhaus.pull_instructions(wait_s=0)
    assert (told.kind, told.member_ref, told.match_id, told.attester_tier, told.matched_tier) == (
        "TIER_MATCHED",
        "b-v-1",
        match.match_id,
        "gold",
        "silver",
    )
    pair.brewhaus.acknowledge_instruction(told.instruction_id, partner_reference="tier-1")
    seen = pair.voltline.get_status_match(match.match_id)
    assert (seen.member_ref, seen.matched_tier) == ("v-1", "silver")
    log = [r for r in pair.voltline.list_access_log("v-1") if r.purpose == "STATUS_MATCH"]
    assert [(r.reader_partner_id, r.returned_keys) for r in log] == [("brewhaus", ("status_tier",))]


def test_the_member_may_ask_at_the_attester_too_and_the_attestation_stays_the_recognisers(pair: Pair) -> None:
    pair.member("v-2", tier="black_diamond")
    match, attestation = pair.voltline.request_status_match("v-2", counterparty_partner_id="brewhaus")
    assert (match.matched_tier, attestation) == ("gold", None)
    fresh = pair.brewhaus.get_tier_attestation(match.match_id)
    assert (
        verify_tier_attestation(fresh, pair.hub.hub_public_key, recogniser_partner_id="brewhaus").matched_tier == "gold"
    )
    with pytest.raises(PermissionDeniedError):
        pair.voltline.get_tier_attestation(match.match_id)


def test_each_refusal_of_a_match_is_typed_and_writes_nothing(pair: Pair) -> None:
    pair.member("v-3", consent=False)
    pair.member("v-4", tier="silver")
    outsider, _ = pair.hub.active_partner("pacer")
    cases = [
        (lambda: pair.brewhaus.request_status_match("b-v-3", counterparty_partner_id="voltline"), "NO_CONSENT"),
        (lambda: pair.brewhaus.request_status_match("b-v-4", counterparty_partner_id="voltline"), "TIER_NOT_MAPPED"),
        (lambda: pair.brewhaus.request_status_match("b-v-4", counterparty_partner_id="pacer"), "NO_MATCH_AGREEMENT"),
        (lambda: pair.brewhaus.request_status_match("nobody", counterparty_partner_id="voltline"), "MEMBER_NOT_FOUND"),
    ]
    for ask, reason in cases:
        with pytest.raises((FailedPreconditionError, NotFoundError)) as refused:
            ask()
        assert refused.value.reason == reason
    assert (pair.count(status_matches), pair.count(instructions)) == (0, 0)
    with pytest.raises(NotFoundError):
        outsider.get_match_agreement(
            pair.brewhaus.propose_match_agreement(match_terms(pair.hub, version=2)).agreement_id
        )


def test_a_member_is_matched_once_a_period_and_a_stale_tier_is_refused(pair: Pair) -> None:
    pair.member("v-5")
    first, _ = pair.brewhaus.request_status_match("b-v-5", counterparty_partner_id="voltline")
    with pytest.raises(AlreadyExistsError) as twice:
        pair.brewhaus.request_status_match("b-v-5", counterparty_partner_id="voltline")
    assert twice.value.reason == "ALREADY_MATCHED"
    pair.member("v-6")
    pair.hub.clock.advance(31 * DAY_MS)  # Voltline published v-6's tier 31 days ago
    with pytest.raises(FailedPreconditionError) as stale:
        pair.brewhaus.request_status_match("b-v-6", counterparty_partner_id="voltline")
    assert stale.value.reason == "TIER_STALE"
    assert pair.count(status_matches) == 1 and first.state == "ACTIVE"


def test_a_downgrade_at_the_attester_ends_the_match_once_and_its_attestation_is_refused(pair: Pair) -> None:
    pair.member("v-7")
    match, _ = pair.brewhaus.request_status_match("b-v-7", counterparty_partner_id="voltline")
    pair.brewhaus.pull_instructions(wait_s=0)
    now = pair.hub.clock.now()
    assert (
        pair.voltline.publish_member_tier("v-7", tier_code="gold", reached_at=now, holds_until=now + timedelta(days=9))
        == 0
    )
    ended = pair.voltline.publish_member_tier(
        "v-7", tier_code="silver", reached_at=now, holds_until=now + timedelta(days=300)
    )
    assert ended == 1 and pair.ended() == [("TIER_MATCH_ENDED", "DOWNGRADED")]
    assert (
        pair.voltline.publish_member_tier(
            "v-7", tier_code="silver", reached_at=now, holds_until=now + timedelta(days=300)
        )
        == 0
    )
    assert pair.brewhaus.pull_instructions(wait_s=0) == ()  # exactly once
    with pytest.raises(FailedPreconditionError) as refused:
        pair.brewhaus.get_tier_attestation(match.match_id)
    assert refused.value.reason == "MATCH_ENDED"
    assert pair.brewhaus.get_status_match(match.match_id).end_reason == "DOWNGRADED"


@pytest.mark.parametrize("ending", ["consent revoked", "unlinked", "erased", "lapsed"])
def test_each_ending_reaches_the_recogniser_exactly_once_with_its_reason(pair: Pair, ending: str) -> None:
    link_id = pair.member("v-8")
    match, _ = pair.brewhaus.request_status_match("b-v-8", counterparty_partner_id="voltline")
    pair.brewhaus.report_challenge(match.match_id, met=True)
    assert [kind for kind, _ in pair.ended()] == ["TIER_MATCHED", "TIER_MATCHED"]  # matched, then confirmed
    if ending == "consent revoked":
        (consent,) = [c for c in pair.voltline.list_consents("v-8") if c.purpose == "STATUS_MATCH"]
        pair.voltline.revoke_consent("v-8", consent.consent_id)
        expected = "CONSENT_REVOKED"
    elif ending == "unlinked":
        pair.brewhaus.unlink(link_id, reason="member asked")
        expected = "UNLINKED"
    elif ending == "erased":
        pair.voltline.erase_member("v-8")
        expected = "ERASED"
    else:
        pair.hub.clock.advance((GOLD_HELD_DAYS + 1) * DAY_MS)  # the gold tier stops holding; the sweep sees it
        pair.hub.server.expire_overdue_once()
        expected = "LAPSED"
    assert pair.ended() == [("TIER_MATCH_ENDED", expected)]
    pair.hub.server.expire_overdue_once()
    assert pair.brewhaus.pull_instructions(wait_s=0) == ()


def test_a_challenge_met_confirms_the_match_for_its_days_and_one_missed_ends_it(pair: Pair) -> None:
    pair.member("v-9")
    pair.member("v-10")
    met, _ = pair.brewhaus.request_status_match("b-v-9", counterparty_partner_id="voltline")
    missed, _ = pair.brewhaus.request_status_match("b-v-10", counterparty_partner_id="voltline")
    pair.ended()
    confirmed = pair.brewhaus.report_challenge(met.match_id, met=True)
    assert (confirmed.state, confirmed.ends_at, confirmed.challenge_ends_at) == (
        "CONFIRMED",
        met.started_at + timedelta(days=180),
        None,
    )
    (told,) = pair.brewhaus.pull_instructions(wait_s=0)
    assert (told.kind, told.match_ends_at) == ("TIER_MATCHED", confirmed.ends_at)
    pair.brewhaus.acknowledge_instruction(told.instruction_id, partner_reference="confirmed")
    with pytest.raises(PermissionDeniedError):
        pair.voltline.report_challenge(missed.match_id, met=True)  # the recogniser reports its challenge
    pair.hub.clock.advance(31 * DAY_MS)
    assert pair.hub.server.expire_overdue_once() >= 1
    assert pair.brewhaus.get_status_match(missed.match_id).end_reason == "CHALLENGE_FAILED"
    assert pair.ended() == [("TIER_MATCH_ENDED", "CHALLENGE_FAILED")]
    assert pair.brewhaus.get_status_match(met.match_id).state == "CONFIRMED"


def test_tiers_are_never_in_clear_at_rest(pair: Pair) -> None:
    pair.member("v-11", tier="black_diamond")
    pair.brewhaus.request_status_match("b-v-11", counterparty_partner_id="voltline")
    with pair.hub.database.engine.connect() as connection:
        for table in (member_tiers, status_matches, instructions, access_log):
            for row in connection.execute(sqlalchemy.select(table)).all():
                assert "black_diamond" not in repr(tuple(row)), table.name


def test_a_match_ends_when_its_consent_expires_and_the_recogniser_is_told_once(pair: Pair) -> None:
    pair.member("v-12", consent=False)
    pair.voltline.grant_consent(
        "v-12",
        source_partner_id="voltline",
        grantee_partner_id="brewhaus",
        attribute_keys=["status_tier"],
        purpose="STATUS_MATCH",
        expires_at=pair.hub.clock.now() + timedelta(days=20),
    )
    match, _ = pair.brewhaus.request_status_match("b-v-12", counterparty_partner_id="voltline")
    pair.brewhaus.report_challenge(match.match_id, met=True)
    pair.ended()
    pair.hub.clock.advance(21 * DAY_MS)
    pair.hub.server.expire_overdue_once()
    assert pair.ended() == [("TIER_MATCH_ENDED", "CONSENT_REVOKED")]
    pair.hub.server.expire_overdue_once()
    assert pair.ended() == []


def test_an_erased_members_ending_still_names_the_attester_and_when_but_no_tier(pair: Pair) -> None:
    pair.member("v-13")
    pair.brewhaus.request_status_match("b-v-13", counterparty_partner_id="voltline")
    pair.ended()
    pair.voltline.erase_member("v-13")
    (told,) = pair.brewhaus.pull_instructions(wait_s=0)
    assert (told.kind, told.reason, told.attester_partner_id, told.attester_tier) == (
        "TIER_MATCH_ENDED",
        "ERASED",
        "voltline",
        "",
    )
    assert told.match_ends_at is not None


def test_a_brand_no_longer_linked_with_the_member_may_not_publish_their_tier(pair: Pair) -> None:
    link_id = pair.member("v-14")
    now = pair.hub.clock.now()
    pair.brewhaus.publish_member_tier("b-v-14", tier_code="gold", reached_at=now, holds_until=now + timedelta(days=9))
    pair.brewhaus.unlink(link_id, reason="member asked")
    with pytest.raises(FailedPreconditionError) as refused:
        pair.brewhaus.publish_member_tier(
            "b-v-14", tier_code="silver", reached_at=now, holds_until=now + timedelta(days=9)
        )
    assert refused.value.reason == "MEMBER_NOT_LINKED"
