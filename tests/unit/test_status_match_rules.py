"""Status match rules (issue 22): ladders, tiers, terms, versions, matches; one test per refusal, no I/O."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from exchange.domain.errors import (
    AlreadyExists,
    ExchangeError,
    FailedPrecondition,
    InvalidArgument,
    InvariantViolation,
    NotFound,
    PermissionDenied,
)
from exchange.domain.status_match import (
    ATTESTATION_FORMAT,
    EndReason,
    Match,
    MatchAgreement,
    MatchAgreementStatus,
    MatchState,
    accept,
    attestation_fields,
    end_if_due,
    end_match,
    follows_tier_change,
    is_live,
    propose,
    report_challenge,
    require_visible,
    start_match,
)
from exchange.domain.status_match_terms import (
    MATCH_FORMAT,
    MAX_DOCUMENT_BYTES,
    MAX_TIER_HOLD_DAYS,
    MAX_TIERS,
    Challenge,
    MatchTerms,
    MemberTier,
    Tier,
    TierLadder,
    check_member_tier,
    document_of,
    rank_of,
    terms_of_document,
    validate_ladder,
    validate_match_terms,
)

DAY_MS = 86_400_000
NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
ATTESTER = "skyway"
RECOGNISER = "harbour-hotels"
STRANGER = "voltline"

ATTESTER_LADDER = validate_ladder(
    ATTESTER, [Tier("blue", "Blue"), Tier("silver", "Silver"), Tier("gold", "Gold"), Tier("platinum", "Platinum")]
)
RECOGNISER_LADDER = validate_ladder(
    RECOGNISER, [Tier("member", "Member"), Tier("gold", "Gold Elite"), Tier("diamond", "Diamond")]
)

VALID: dict[str, object] = {
    "recogniser_partner_id": RECOGNISER,
    "attester_partner_id": ATTESTER,
    "version": 1,
    "mapping": [("platinum", "diamond"), ("gold", "gold"), ("silver", "member")],
    "challenge": Challenge(90, "Stay 4 nights", 4),
    "match_days": 365,
    "period_days": 730,
    "max_tier_age_days": 30,
    "valid_from_ms": NOW,
    "valid_until_ms": NOW + 3 * 365 * DAY_MS,
    "attester_ladder": ATTESTER_LADDER,
    "recogniser_ladder": RECOGNISER_LADDER,
}


def terms(**changes: object) -> MatchTerms:
    return validate_match_terms(**{**VALID, **changes})  # type: ignore[arg-type]


def refused(error: type[ExchangeError], reason: str, **changes: object) -> ExchangeError:
    with pytest.raises(error) as caught:
        terms(**changes)
    assert caught.value.reason == reason
    return caught.value


def tier(code: str = "gold", *, published: int = NOW, holds_days: int = 365) -> MemberTier:
    return MemberTier(code, published - DAY_MS, published + holds_days * DAY_MS, published)


def started(
    code: str = "gold", *, at: int = NOW, previous: tuple[Match, ...] = (), member: str = "mem_1", **changes: object
) -> Match:
    return start_match(
        terms(**changes),
        member_tier=tier(code, published=at),
        attester_ladder=ATTESTER_LADDER,
        now_ms=at,
        previous_matches=previous,
        match_id=f"tm_{len(previous) + 1}",
        member_id=member,
    )


def refused_start(reason: str, **kwargs: object) -> ExchangeError:
    with pytest.raises(ExchangeError) as caught:
        start_match(
            **{  # type: ignore[arg-type]
                "terms": terms(),
                "member_tier": tier(),
                "attester_ladder": ATTESTER_LADDER,
                "now_ms": NOW,
                "previous_matches": (),
                "match_id": "tm_9",
                "member_id": "mem_1",
                **kwargs,
            }
        )
    assert caught.value.reason == reason
    return caught.value


# Ladders


def test_a_ladder_keeps_its_tiers_lowest_first_and_ranks_them_from_zero() -> None:
    assert ATTESTER_LADDER.codes == ("blue", "silver", "gold", "platinum")
    assert rank_of(ATTESTER_LADDER, "blue") == 0
    assert rank_of(ATTESTER_LADDER, "platinum") == 3


def test_a_ladder_strips_tier_names() -> None:
    assert validate_ladder(ATTESTER, [Tier("gold", "  Gold ")]).tiers == (Tier("gold", "Gold"),)


@pytest.mark.parametrize(
    ("partner_id", "tiers", "reason", "field"),
    [
        ("X", [Tier("gold", "Gold")], "INVALID_PARTNER_ID", "ladder.partner_id"),
        (ATTESTER, [], "INVALID_TIER_COUNT", "ladder.tiers"),
        (ATTESTER, [Tier(f"t{i}", "T") for i in range(MAX_TIERS + 1)], "INVALID_TIER_COUNT", "ladder.tiers"),
        (ATTESTER, [Tier("Gold", "Gold")], "INVALID_TIER_CODE", "ladder.tiers[0].code"),
        (ATTESTER, [Tier("1gold", "Gold")], "INVALID_TIER_CODE", "ladder.tiers[0].code"),
        (ATTESTER, [Tier("gold-plus", "Gold+")], "INVALID_TIER_CODE", "ladder.tiers[0].code"),
        (ATTESTER, [Tier("g" * 33, "Gold")], "INVALID_TIER_CODE", "ladder.tiers[0].code"),
        (ATTESTER, [Tier("gold", "Gold"), Tier("gold", "Gold 2")], "DUPLICATE_TIER", "ladder.tiers[1].code"),
        (ATTESTER, [Tier("gold", " ")], "EMPTY_FIELD", "ladder.tiers[0].name"),
        (ATTESTER, [Tier("gold", "G" * 65)], "FIELD_TOO_LONG", "ladder.tiers[0].name"),
        (ATTESTER, [Tier("gold", "Go\nld")], "INVALID_TEXT", "ladder.tiers[0].name"),
    ],
)
def test_a_bad_ladder_is_refused_naming_the_field(partner_id: str, tiers: list[Tier], reason: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_ladder(partner_id, tiers)
    assert (caught.value.reason, caught.value.field) == (reason, field)


def test_a_ladder_of_twenty_tiers_with_32_character_codes_is_accepted() -> None:
    ladder = validate_ladder(ATTESTER, [Tier(f"t{i:02d}" + "x" * 29, "T") for i in range(MAX_TIERS)])
    assert len(ladder.tiers) == MAX_TIERS


def test_a_code_not_on_the_ladder_has_no_rank() -> None:
    with pytest.raises(InvalidArgument) as caught:
        rank_of(ATTESTER_LADDER, "diamond")
    assert caught.value.reason == "TIER_NOT_ON_LADDER"


# A member's tier


def test_a_published_tier_is_stamped_with_now() -> None:
    published = check_member_tier(ATTESTER_LADDER, "gold", NOW - DAY_MS, NOW + DAY_MS, NOW)
    assert published == MemberTier("gold", NOW - DAY_MS, NOW + DAY_MS, NOW)


def test_a_tier_may_be_held_exactly_three_years_ahead() -> None:
    assert check_member_tier(ATTESTER_LADDER, "gold", NOW, NOW + MAX_TIER_HOLD_DAYS * DAY_MS, NOW).code == "gold"


@pytest.mark.parametrize(
    ("code", "reached", "holds_until", "reason", "field"),
    [
        ("diamond", NOW, NOW + DAY_MS, "TIER_NOT_ON_LADDER", "tier.code"),
        ("gold", NOW + 1, NOW + DAY_MS, "TIER_NOT_REACHED", "tier.reached_at_ms"),
        ("gold", -1, NOW + DAY_MS, "TIER_NOT_REACHED", "tier.reached_at_ms"),
        ("gold", NOW - DAY_MS, NOW, "TIER_NOT_HELD", "tier.holds_until_ms"),
        ("gold", NOW, NOW + MAX_TIER_HOLD_DAYS * DAY_MS + 1, "TIER_HOLD_TOO_LONG", "tier.holds_until_ms"),
        ("gold", float(NOW), NOW + DAY_MS, "NOT_AN_INTEGER", "tier.reached_at_ms"),
        ("gold", NOW, True, "NOT_AN_INTEGER", "tier.holds_until_ms"),
    ],
)
def test_a_bad_member_tier_is_refused_naming_the_field(
    code: str, reached: int, holds_until: int, reason: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_member_tier(ATTESTER_LADDER, code, reached, holds_until, NOW)
    assert (caught.value.reason, caught.value.field) == (reason, field)


# Terms


def test_valid_terms_sort_the_mapping_by_attester_tier_code() -> None:
    agreed = terms()
    assert agreed.mapping == (("gold", "gold"), ("platinum", "diamond"), ("silver", "member"))
    assert agreed.matched_tier_for("platinum") == "diamond"
    assert agreed.matched_tier_for("blue") is None


def test_the_limits_themselves_are_accepted() -> None:
    agreed = terms(challenge=Challenge(365, "x" * 200, 10**9), match_days=730, period_days=1095, max_tier_age_days=90)
    assert (agreed.match_days, agreed.period_days, agreed.max_tier_age_days) == (730, 1095, 90)


def test_a_challenge_activity_is_stripped() -> None:
    assert terms(challenge=Challenge(30, "  Stay 4 nights ", 4)).challenge == Challenge(30, "Stay 4 nights", 4)


def test_terms_need_no_challenge() -> None:
    assert terms(challenge=None).challenge is None


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"recogniser_partner_id": "X"}, "INVALID_PARTNER_ID", "terms.recogniser_partner_id"),
        ({"attester_partner_id": "X"}, "INVALID_PARTNER_ID", "terms.attester_partner_id"),
        ({"attester_partner_id": RECOGNISER}, "SAME_PARTNER", "terms.attester_partner_id"),
        ({"version": 0}, "INVALID_VERSION", "terms.version"),
        ({"version": True}, "NOT_AN_INTEGER", "terms.version"),
        ({"mapping": []}, "INVALID_MAPPING", "terms.mapping"),
        ({"mapping": [(f"t{i}", "gold") for i in range(MAX_TIERS + 1)]}, "INVALID_MAPPING", "terms.mapping"),
        ({"mapping": [("gold", "gold"), ("gold", "diamond")]}, "DUPLICATE_MAPPING", "terms.mapping[1].attester_tier"),
        ({"mapping": [("Gold", "gold")]}, "INVALID_TIER_CODE", "terms.mapping[0].attester_tier"),
        ({"mapping": [("gold", "")]}, "INVALID_TIER_CODE", "terms.mapping[0].recogniser_tier"),
        ({"mapping": [("diamond", "gold")]}, "TIER_NOT_ON_LADDER", "terms.mapping[0].attester_tier"),
        ({"mapping": [("gold", "platinum")]}, "TIER_NOT_ON_LADDER", "terms.mapping[0].recogniser_tier"),
        ({"match_days": 0}, "INVALID_DAYS", "terms.match_days"),
        ({"match_days": 731}, "INVALID_DAYS", "terms.match_days"),
        ({"match_days": 365.0}, "NOT_AN_INTEGER", "terms.match_days"),
        ({"period_days": 0}, "INVALID_DAYS", "terms.period_days"),
        ({"period_days": 1096}, "INVALID_DAYS", "terms.period_days"),
        ({"max_tier_age_days": 0}, "INVALID_DAYS", "terms.max_tier_age_days"),
        ({"max_tier_age_days": 91}, "INVALID_DAYS", "terms.max_tier_age_days"),
        ({"challenge": Challenge(0, "Stay", 4)}, "INVALID_DAYS", "terms.challenge.days"),
        ({"challenge": Challenge(366, "Stay", 4), "match_days": 730}, "INVALID_DAYS", "terms.challenge.days"),
        ({"challenge": "stay 4 nights"}, "INVALID_CHALLENGE", "terms.challenge"),
        ({"challenge": Challenge(90, " ", 4)}, "EMPTY_FIELD", "terms.challenge.activity"),
        ({"challenge": Challenge(90, "x" * 201, 4)}, "FIELD_TOO_LONG", "terms.challenge.activity"),
        ({"challenge": Challenge(90, "Stay", 0)}, "INVALID_TARGET", "terms.challenge.target"),
        ({"challenge": Challenge(90, "Stay", 10**9 + 1)}, "INVALID_TARGET", "terms.challenge.target"),
        ({"challenge": Challenge(90, "Stay", 4.0)}, "NOT_AN_INTEGER", "terms.challenge.target"),  # type: ignore[arg-type]
        ({"valid_until_ms": NOW}, "EMPTY_VALIDITY", "terms.valid_until_ms"),
        ({"valid_until_ms": NOW + 6 * 366 * DAY_MS}, "VALIDITY_TOO_LONG", "terms.valid_until_ms"),
        ({"valid_from_ms": float(NOW)}, "NOT_AN_INTEGER", "terms.valid_from_ms"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(changes: dict[str, object], reason: str, field: str) -> None:
    assert refused(InvalidArgument, reason, **changes).field == field


@pytest.mark.parametrize(("days", "match_days"), [(365, 365), (200, 100)])
def test_a_challenge_as_long_as_the_match_or_longer_is_refused(days: int, match_days: int) -> None:
    error = refused(InvalidArgument, "CHALLENGE_TOO_LONG", challenge=Challenge(days, "Stay", 4), match_days=match_days)
    assert error.field == "terms.challenge.days"


# The document


def test_the_document_is_canonical_json_of_integers_with_the_mapping_sorted_by_attester_code() -> None:
    document = document_of(terms())
    value = json.loads(document)
    assert document == json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert value["format"] == MATCH_FORMAT == "coalition-status-match/1"
    assert [m["attester_tier"] for m in value["mapping"]] == ["gold", "platinum", "silver"]
    assert value["challenge"] == {"days": 90, "activity": "Stay 4 nights", "target": 4}
    assert value["valid_from_ms"] == NOW


def test_terms_without_a_challenge_write_null() -> None:
    assert json.loads(document_of(terms(challenge=None)))["challenge"] is None


def test_the_document_is_ascii_whatever_the_activity_says() -> None:
    document = document_of(terms(challenge=Challenge(90, "Séjour 4 nuits ☕", 4)))
    assert document.isascii()
    assert "\\u00e9" in document.decode()


def test_equal_terms_give_equal_documents_whatever_the_order_of_the_mapping() -> None:
    assert document_of(terms()) == document_of(terms(mapping=list(reversed(VALID["mapping"]))))  # type: ignore[call-overload]


@pytest.mark.parametrize("challenge", [Challenge(90, "Séjour 4 nuits", 4), None])
def test_a_document_reads_back_to_the_same_terms(challenge: Challenge | None) -> None:
    agreed = terms(challenge=challenge)
    assert terms_of_document(document_of(agreed)) == agreed


def _edited(**changes: object) -> bytes:
    value = json.loads(document_of(terms()))
    value.update(changes)
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"not json",
        b"[]",
        b'"terms"',
        json.dumps(json.loads(document_of(terms()))).encode(),  # spaces
        json.dumps(dict(reversed(json.loads(document_of(terms())).items())), separators=(",", ":")).encode(),
        document_of(terms()).replace(b"Stay 4 nights", "S\u00e9jour".encode()),  # raw UTF-8, not escaped
        document_of(terms()).replace(b"Stay", b"\\u0053tay"),  # an escape where none is needed
        _edited(extra=1),
        _edited(format="coalition-status-match/2"),
        _edited(match_days=365.0),
        _edited(match_days=True),
        _edited(version=0),
        _edited(mapping=[{"attester_tier": "Gold", "recogniser_tier": "gold"}]),
        _edited(mapping=[{"attester_tier": "gold"}]),
        _edited(
            mapping=[
                {"attester_tier": "silver", "recogniser_tier": "member"},
                {"attester_tier": "gold", "recogniser_tier": "gold"},
            ]
        ),
        _edited(challenge={"days": 90, "activity": 4, "target": 4}),
        _edited(challenge={"days": 90, "activity": " Stay", "target": 4}),
        _edited(challenge=[90, "Stay", 4]),
        b"[" * 10_000,
        document_of(terms()) + b" " * MAX_DOCUMENT_BYTES,
    ],
)
def test_anything_but_a_canonical_document_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidArgument) as caught:
        terms_of_document(document)
    assert caught.value.reason == "MALFORMED_DOCUMENT"


# Versions and signatures


def proposed(version: int = 1, latest: int | None = None, **changes: object) -> MatchAgreement:
    return propose(
        terms(version=version, **changes),
        agreement_id=f"sma_{version}",
        caller=RECOGNISER,
        key_id="k1",
        signature=b"r" * 64,
        latest_version=latest,
        now_ms=NOW,
    )


def accepted(agreement: MatchAgreement, active: MatchAgreement | None = None, at: int = NOW + 1) -> MatchAgreement:
    return accept(agreement, caller=ATTESTER, key_id="k2", signature=b"a" * 64, now_ms=at, active=active)[0]


def test_the_recogniser_proposes_a_version_with_its_document() -> None:
    agreement = proposed()
    assert agreement.status is MatchAgreementStatus.PROPOSED
    assert agreement.document == document_of(agreement.terms)
    assert (agreement.proposer_key_id, agreement.accepted_at_ms) == ("k1", None)


def test_only_the_recogniser_proposes() -> None:
    with pytest.raises(PermissionDenied) as caught:
        propose(terms(), agreement_id="x", caller=ATTESTER, key_id="k", signature=b"", latest_version=None, now_ms=NOW)
    assert caught.value.reason == "NOT_RECOGNISER"


@pytest.mark.parametrize(("version", "latest"), [(2, None), (1, 1), (3, 1)])
def test_a_proposal_must_carry_the_pairs_next_version(version: int, latest: int | None) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        proposed(version, latest)
    assert (caught.value.reason, caught.value.field) == ("WRONG_VERSION", "terms.version")


def test_the_attester_accepts_and_the_pairs_previous_active_version_is_superseded() -> None:
    first = accepted(proposed())
    second, superseded = accept(
        proposed(2, 1, match_days=180), caller=ATTESTER, key_id="k2", signature=b"a", now_ms=NOW + 5, active=first
    )
    assert second.status is MatchAgreementStatus.ACTIVE
    assert (second.acceptor_key_id, second.accepted_at_ms) == ("k2", NOW + 5)
    assert superseded is not None
    assert (superseded.status, superseded.status_changed_at_ms) == (MatchAgreementStatus.SUPERSEDED, NOW + 5)
    assert superseded.terms == first.terms


def test_the_first_accepted_version_supersedes_nothing() -> None:
    assert accept(proposed(), caller=ATTESTER, key_id="k", signature=b"", now_ms=NOW, active=None)[1] is None


def test_only_the_attester_accepts() -> None:
    with pytest.raises(PermissionDenied) as caught:
        accept(proposed(), caller=RECOGNISER, key_id="k", signature=b"", now_ms=NOW, active=None)
    assert caught.value.reason == "NOT_ATTESTER"


def test_a_version_is_accepted_once() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        accepted(accepted(proposed()))
    assert caught.value.reason == "AGREEMENT_NOT_PROPOSED"


def test_a_version_older_than_the_active_one_is_not_accepted() -> None:
    old = proposed(2, 1)
    newer = accepted(proposed(3, 2))
    with pytest.raises(FailedPrecondition) as caught:
        accepted(old, active=newer)
    assert caught.value.reason == "AGREEMENT_OUTDATED"


def test_a_version_is_visible_only_to_its_two_brands() -> None:
    agreement = proposed()
    assert require_visible(agreement, ATTESTER, "sma_1") is agreement
    for who, found in ((STRANGER, agreement), (RECOGNISER, None)):
        with pytest.raises(NotFound) as caught:
            require_visible(found, who, "sma_1")
        assert caught.value.reason == "MATCH_AGREEMENT_NOT_FOUND"


# Starting a match


def test_a_match_with_a_challenge_lasts_until_the_challenge_deadline_first() -> None:
    match = started("platinum")
    assert (match.state, match.attester_tier, match.matched_tier) == (MatchState.ACTIVE, "platinum", "diamond")
    assert match.challenge_pending
    assert match.ends_at_ms == NOW + 90 * DAY_MS
    assert match.match_ends_at_ms == NOW + 365 * DAY_MS
    assert (match.recogniser_partner_id, match.attester_partner_id, match.agreement_version) == (
        RECOGNISER,
        ATTESTER,
        1,
    )


def test_a_match_without_a_challenge_lasts_match_days() -> None:
    match = started(challenge=None)
    assert not match.challenge_pending
    assert match.ends_at_ms == match.match_ends_at_ms == NOW + 365 * DAY_MS


def test_a_tier_the_terms_do_not_map_is_not_matched() -> None:
    refused_start("TIER_NOT_MAPPED", member_tier=tier("blue"))


def test_a_tier_published_max_tier_age_days_ago_is_stale() -> None:
    refused_start("TIER_STALE", member_tier=tier(published=NOW - 30 * DAY_MS))
    assert isinstance(refused_start("TIER_STALE", member_tier=tier(published=NOW - 31 * DAY_MS)), FailedPrecondition)


def test_a_tier_published_just_within_max_tier_age_days_is_fresh() -> None:
    match = start_match(
        terms(),
        member_tier=tier(published=NOW - 30 * DAY_MS + 1),
        attester_ladder=ATTESTER_LADDER,
        now_ms=NOW,
        previous_matches=(),
        match_id="tm_1",
        member_id="mem_1",
    )
    assert match.matched_tier == "gold"


def test_a_tier_no_longer_held_is_not_matched() -> None:
    error = refused_start("TIER_LAPSED", member_tier=MemberTier("gold", NOW - 9 * DAY_MS, NOW, NOW - DAY_MS))
    assert isinstance(error, FailedPrecondition)


@pytest.mark.parametrize("now", [NOW - 1, NOW + 3 * 365 * DAY_MS])
def test_no_match_starts_outside_the_terms_validity(now: int) -> None:
    error = refused_start("AGREEMENT_NOT_IN_FORCE", now_ms=now, member_tier=tier(published=now))
    assert isinstance(error, FailedPrecondition)


def test_a_tier_the_ladder_no_longer_has_is_not_matched() -> None:
    shorter = TierLadder(ATTESTER, tuple(t for t in ATTESTER_LADDER.tiers if t.code != "gold"))
    assert isinstance(refused_start("TIER_NOT_ON_LADDER", attester_ladder=shorter), FailedPrecondition)


def test_a_member_matched_within_the_period_is_not_matched_again_even_after_the_match_ended() -> None:
    first = end_match(started(), EndReason.UNLINKED, NOW + DAY_MS)
    assert first is not None
    error = refused_start(
        "ALREADY_MATCHED",
        now_ms=NOW + 729 * DAY_MS,
        member_tier=tier(published=NOW + 729 * DAY_MS),
        previous_matches=(first,),
    )
    assert isinstance(error, AlreadyExists)
    assert error.field == "member_ref"


def test_a_member_is_matched_again_once_the_period_is_over() -> None:
    first = end_if_due(started(), NOW + 730 * DAY_MS)
    assert first is not None
    again = started(at=NOW + 730 * DAY_MS, previous=(first,))
    assert again.started_at_ms == NOW + 730 * DAY_MS


def test_a_match_still_open_after_the_period_refuses_another() -> None:
    first = started(challenge=None, period_days=30)
    with pytest.raises(AlreadyExists):
        started(at=NOW + 31 * DAY_MS, previous=(first,), challenge=None, period_days=30)
    expired = end_if_due(first, NOW + 365 * DAY_MS)
    assert expired is not None
    assert (
        started(at=NOW + 365 * DAY_MS, previous=(expired,), challenge=None, period_days=30).state is MatchState.ACTIVE
    )


def test_a_previous_match_whose_time_is_over_must_be_ended_before_another_starts() -> None:
    with pytest.raises(InvariantViolation):
        started(at=NOW + 730 * DAY_MS, previous=(started(),))


def test_a_match_of_another_member_or_another_pair_does_not_count() -> None:
    other_member = started(member="mem_2")
    other_pair = replace(started(), recogniser_partner_id=STRANGER)
    assert started(previous=(other_member, other_pair)).member_id == "mem_1"


def test_a_match_started_later_on_a_clock_that_went_back_still_counts() -> None:
    first = started(at=NOW + 10 * DAY_MS)
    refused_start("ALREADY_MATCHED", previous_matches=(first,))


# The challenge


def test_a_challenge_met_confirms_the_match_until_match_days() -> None:
    confirmed = report_challenge(started(), True, NOW + 10 * DAY_MS)
    assert (confirmed.state, confirmed.challenge_pending) == (MatchState.CONFIRMED, False)
    assert confirmed.ends_at_ms == NOW + 365 * DAY_MS


def test_a_challenge_not_met_ends_the_match_now() -> None:
    failed = report_challenge(started(), False, NOW + 10 * DAY_MS)
    assert (failed.state, failed.end_reason, failed.ended_at_ms) == (
        MatchState.ENDED,
        EndReason.CHALLENGE_FAILED,
        NOW + 10 * DAY_MS,
    )


@pytest.mark.parametrize(
    "match",
    [
        started(challenge=None),
        report_challenge(started(), True, NOW),
        report_challenge(started(), False, NOW),
    ],
)
def test_only_a_pending_challenge_is_reported(match: Match) -> None:
    with pytest.raises(FailedPrecondition) as caught:
        report_challenge(match, True, NOW + DAY_MS)
    assert caught.value.reason == "CHALLENGE_NOT_PENDING"


def test_a_challenge_reported_at_its_deadline_is_refused_for_good() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        report_challenge(started(), True, NOW + 90 * DAY_MS)
    assert (caught.value.reason, caught.value.final) == ("CHALLENGE_DEADLINE_PASSED", True)


# Ending


@pytest.mark.parametrize("reason", ["DOWNGRADED", "LAPSED", "CONSENT_REVOKED", "UNLINKED", "ERASED", EndReason.ERASED])
def test_a_live_match_ends_now_for_a_reason_given(reason: str) -> None:
    ended = end_match(started(), reason, NOW + DAY_MS)
    assert ended is not None
    assert (ended.state, ended.end_reason, ended.ended_at_ms) == (MatchState.ENDED, reason, NOW + DAY_MS)
    assert not ended.challenge_pending


def test_an_ended_match_does_not_end_again() -> None:
    ended = end_match(started(), EndReason.UNLINKED, NOW + DAY_MS)
    assert ended is not None
    assert end_match(ended, EndReason.ERASED, NOW + 2 * DAY_MS) is None
    assert end_if_due(ended, NOW + 1_000 * DAY_MS) is None


@pytest.mark.parametrize("reason", ["EXPIRED", "CHALLENGE_FAILED", "BORED", ""])
def test_a_match_is_not_ended_early_for_a_reason_only_time_gives_or_none_known(reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        end_match(started(), reason, NOW)
    assert (caught.value.reason, caught.value.field) == ("INVALID_END_REASON", "reason")


def test_a_match_whose_time_is_over_ends_as_time_says_even_when_ended_for_another_reason() -> None:
    ended = end_match(started(challenge=None), EndReason.UNLINKED, NOW + 400 * DAY_MS)
    assert ended is not None
    assert (ended.end_reason, ended.ended_at_ms) == (EndReason.EXPIRED, NOW + 365 * DAY_MS)


def test_a_challenge_unreported_by_its_deadline_fails_at_the_deadline() -> None:
    match = started()
    assert end_if_due(match, NOW + 90 * DAY_MS - 1) is None
    failed = end_if_due(match, NOW + 100 * DAY_MS)
    assert failed is not None
    assert (failed.end_reason, failed.ended_at_ms) == (EndReason.CHALLENGE_FAILED, NOW + 90 * DAY_MS)


def test_a_match_expires_when_its_days_are_over() -> None:
    confirmed = report_challenge(started(), True, NOW + DAY_MS)
    assert end_if_due(confirmed, NOW + 365 * DAY_MS - 1) is None
    expired = end_if_due(confirmed, NOW + 365 * DAY_MS)
    assert expired is not None
    assert (expired.state, expired.end_reason, expired.ended_at_ms) == (
        MatchState.ENDED,
        EndReason.EXPIRED,
        NOW + 365 * DAY_MS,
    )


# Following the attester's tier


def test_a_lower_tier_at_the_attester_ends_the_match_as_downgraded() -> None:
    assert follows_tier_change(started(), ATTESTER_LADDER, tier("silver"), NOW) is EndReason.DOWNGRADED


@pytest.mark.parametrize("code", ["gold", "platinum"])
def test_the_same_or_a_higher_tier_keeps_the_match(code: str) -> None:
    assert follows_tier_change(started(), ATTESTER_LADDER, tier(code), NOW) is None


def test_no_tier_at_the_attester_ends_the_match_as_lapsed() -> None:
    assert follows_tier_change(started(), ATTESTER_LADDER, None, NOW) == "LAPSED"


def test_a_tier_no_longer_held_ends_the_match_as_lapsed() -> None:
    held_until_now = MemberTier("platinum", NOW - DAY_MS, NOW, NOW - DAY_MS)
    assert follows_tier_change(started(), ATTESTER_LADDER, held_until_now, NOW) is EndReason.LAPSED


def test_a_tier_change_does_not_touch_an_ended_match() -> None:
    ended = end_match(started(), EndReason.UNLINKED, NOW)
    assert ended is not None
    assert follows_tier_change(ended, ATTESTER_LADDER, None, NOW) is None


def test_when_the_ladder_lost_the_matched_tier_only_that_same_code_keeps_the_match() -> None:
    shorter = TierLadder(ATTESTER, tuple(t for t in ATTESTER_LADDER.tiers if t.code != "gold"))
    assert follows_tier_change(started(), shorter, tier("platinum"), NOW) is EndReason.DOWNGRADED
    assert follows_tier_change(started(), shorter, tier("gold"), NOW) is EndReason.LAPSED  # not on the ladder


# Live, and the attestation


def test_a_match_is_live_from_its_start_until_its_current_end() -> None:
    match = started()
    assert not is_live(match, NOW - 1)
    assert is_live(match, NOW)
    assert is_live(match, NOW + 90 * DAY_MS - 1)
    assert not is_live(match, NOW + 90 * DAY_MS)
    assert is_live(report_challenge(match, True, NOW + DAY_MS), NOW + 90 * DAY_MS)
    ended = end_match(match, EndReason.ERASED, NOW + DAY_MS)
    assert ended is not None
    assert not is_live(ended, NOW + DAY_MS)


def test_the_attestation_names_the_match_and_is_valid_until_its_current_end() -> None:
    match = started("platinum")
    fields = attestation_fields(match, "pw_abc", NOW + DAY_MS)
    assert fields == {
        "format": ATTESTATION_FORMAT,
        "match_id": "tm_1",
        "recogniser_partner_id": RECOGNISER,
        "attester_partner_id": ATTESTER,
        "pairwise_member_id": "pw_abc",
        "attester_tier": "platinum",
        "matched_tier": "diamond",
        "issued_at_ms": NOW + DAY_MS,
        "valid_until_ms": NOW + 90 * DAY_MS,
    }
    assert ATTESTATION_FORMAT == "coalition-tier-attestation/1"
    confirmed = report_challenge(match, True, NOW + DAY_MS)
    assert attestation_fields(confirmed, "pw_abc", NOW + DAY_MS)["valid_until_ms"] == NOW + 365 * DAY_MS


def test_an_ended_or_overdue_match_is_not_attested() -> None:
    ended = end_match(started(), EndReason.CONSENT_REVOKED, NOW)
    assert ended is not None
    for match, now in ((ended, NOW), (started(), NOW + 90 * DAY_MS)):
        with pytest.raises(FailedPrecondition) as caught:
            attestation_fields(match, "pw_abc", now)
        assert caught.value.reason == "MATCH_ENDED"
