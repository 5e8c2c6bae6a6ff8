"""Status match terms survive their document, tier changes end matches as they should, and matches follow a model.

Any valid terms read back from their document are the same terms; a lower attester tier always
ends a match (DOWNGRADED) and the same or a higher one never does; and a machine over requests,
challenge reports, tier changes, early ends, sweeps and a clock that moves both ways keeps at most
one match per member per period and ends each match exactly once.
"""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from exchange.domain.errors import AlreadyExists, FailedPrecondition
from exchange.domain.status_match import (
    EndReason,
    Match,
    MatchState,
    end_if_due,
    end_match,
    follows_tier_change,
    is_live,
    report_challenge,
    start_match,
)
from exchange.domain.status_match_terms import (
    CHALLENGE_ACTIVITY_MAX,
    MAX_CHALLENGE_DAYS,
    MAX_CHALLENGE_TARGET,
    MAX_MATCH_DAYS,
    MAX_PERIOD_DAYS,
    MAX_TIER_AGE_DAYS,
    MAX_TIERS,
    Challenge,
    MatchTerms,
    MemberTier,
    Tier,
    TierLadder,
    document_of,
    terms_of_document,
    validate_ladder,
    validate_match_terms,
)

DAY_MS = 86_400_000
NOW = 1_800_000_000_000
ATTESTER = "skyway"
RECOGNISER = "harbour-hotels"

codes = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
text_chars = st.characters(exclude_categories=("C", "Zl", "Zp", "Zs")) | st.just(" ")
activities = st.text(text_chars, min_size=1, max_size=CHALLENGE_ACTIVITY_MAX).filter(lambda t: bool(t.strip()))


@st.composite
def ladders(draw: st.DrawFn, partner_id: str, min_size: int = 1) -> TierLadder:
    tier_codes = draw(st.lists(codes, min_size=min_size, max_size=MAX_TIERS, unique=True))
    return validate_ladder(partner_id, [Tier(code, code.title()) for code in tier_codes])


@st.composite
def match_terms(draw: st.DrawFn) -> MatchTerms:
    attester_ladder = draw(ladders(ATTESTER))
    recogniser_ladder = draw(ladders(RECOGNISER))
    mapped = draw(st.lists(st.sampled_from(attester_ladder.codes), min_size=1, unique=True))
    mapping = [(code, draw(st.sampled_from(recogniser_ladder.codes))) for code in mapped]
    match_days = draw(st.integers(2, MAX_MATCH_DAYS))
    challenge = draw(
        st.none()
        | st.builds(
            Challenge,
            st.integers(1, min(MAX_CHALLENGE_DAYS, match_days - 1)),
            activities,
            st.integers(1, MAX_CHALLENGE_TARGET),
        )
    )
    valid_from = draw(st.integers(0, 4 * 10**12))
    return validate_match_terms(
        recogniser_partner_id=RECOGNISER,
        attester_partner_id=ATTESTER,
        version=draw(st.integers(1, 10**6)),
        mapping=mapping,
        challenge=challenge,
        match_days=match_days,
        period_days=draw(st.integers(1, MAX_PERIOD_DAYS)),
        max_tier_age_days=draw(st.integers(1, MAX_TIER_AGE_DAYS)),
        valid_from_ms=valid_from,
        valid_until_ms=valid_from + draw(st.integers(1, 5 * 366 * DAY_MS)),
        attester_ladder=attester_ladder,
        recogniser_ladder=recogniser_ladder,
    )


@settings(max_examples=100, deadline=None)
@given(match_terms())
def test_terms_read_back_from_their_document_are_the_same_terms(terms: MatchTerms) -> None:
    document = document_of(terms)
    assert document.isascii()
    assert terms_of_document(document) == terms
    assert document_of(terms_of_document(document)) == document


@settings(max_examples=100, deadline=None)
@given(ladders(ATTESTER, min_size=2), st.data())
def test_a_lower_tier_always_ends_a_match_and_the_same_or_a_higher_one_never_does(
    ladder: TierLadder, data: st.DataObject
) -> None:
    matched_rank = data.draw(st.integers(0, len(ladder.codes) - 1))
    new_rank = data.draw(st.integers(0, len(ladder.codes) - 1))
    terms = validate_match_terms(
        recogniser_partner_id=RECOGNISER,
        attester_partner_id=ATTESTER,
        version=1,
        mapping=[(code, "gold") for code in ladder.codes],
        challenge=data.draw(st.none() | st.just(Challenge(30, "Stay", 4))),
        match_days=365,
        period_days=365,
        max_tier_age_days=30,
        valid_from_ms=NOW,
        valid_until_ms=NOW + 365 * DAY_MS,
        attester_ladder=ladder,
        recogniser_ladder=validate_ladder(RECOGNISER, [Tier("gold", "Gold")]),
    )
    match = start_match(
        terms,
        member_tier=MemberTier(ladder.codes[matched_rank], NOW - DAY_MS, NOW + DAY_MS, NOW),
        attester_ladder=ladder,
        now_ms=NOW,
        previous_matches=(),
        match_id="tm_1",
        member_id="mem_1",
    )
    later = NOW + data.draw(st.integers(0, 20 * DAY_MS))
    new_tier = MemberTier(ladder.codes[new_rank], later - DAY_MS, later + DAY_MS, later)
    reason = follows_tier_change(match, ladder, new_tier, later)
    assert reason == (EndReason.DOWNGRADED if new_rank < matched_rank else None)
    if reason is not None:
        ended = end_match(match, reason, later)
        assert ended is not None
        assert ended.end_reason is EndReason.DOWNGRADED
        assert not is_live(ended, later)


# The matches of two members at one pair, against a model.

LADDER = validate_ladder(ATTESTER, [Tier("blue", "Blue"), Tier("silver", "Silver"), Tier("gold", "Gold")])
MEMBERS = ("mem_1", "mem_2")


class MatchModel(RuleBasedStateMachine):
    """Members ask to be matched while the clock moves; each refusal and end is the one the model expects."""

    @initialize(
        challenge_days=st.none() | st.integers(1, 60),
        match_days=st.integers(61, 200),
        period_days=st.integers(1, 300),
    )
    def agree(self, challenge_days: int | None, match_days: int, period_days: int) -> None:
        self.terms = validate_match_terms(
            recogniser_partner_id=RECOGNISER,
            attester_partner_id=ATTESTER,
            version=1,
            mapping=[("silver", "member"), ("gold", "gold")],
            challenge=None if challenge_days is None else Challenge(challenge_days, "Stay 4 nights", 4),
            match_days=match_days,
            period_days=period_days,
            max_tier_age_days=30,
            valid_from_ms=NOW - 100 * DAY_MS,
            valid_until_ms=NOW + (5 * 366 - 100) * DAY_MS,
            attester_ladder=LADDER,
            recogniser_ladder=validate_ladder(RECOGNISER, [Tier("member", "Member"), Tier("gold", "Gold")]),
        )
        self.now = NOW
        self.matches: dict[str, Match] = {}
        self.ends: list[tuple[str, EndReason]] = []

    def _mine(self, member: str) -> list[Match]:
        return [m for m in self.matches.values() if m.member_id == member]

    def _record(self, before: Match, after: Match | None) -> None:
        if after is None:
            assert before.state is MatchState.ENDED or end_if_due(before, self.now) is None
            return
        if after.state is MatchState.ENDED and before.state is not MatchState.ENDED:
            assert after.end_reason is not None
            self.ends.append((after.match_id, after.end_reason))
        self.matches[after.match_id] = after

    @rule(days=st.integers(-2, 10) | st.integers(-30, 120), ms=st.integers(0, DAY_MS))
    def the_clock_moves(self, days: int, ms: int) -> None:
        self.now += days * DAY_MS + ms

    @rule(member=st.sampled_from(MEMBERS), code=st.sampled_from(LADDER.codes), age_days=st.integers(0, 33))
    def a_match_is_requested(self, member: str, code: str, age_days: int) -> None:
        for match in self._mine(member):  # the service ends the member's due matches first
            self._record(match, end_if_due(match, self.now))
        published = self.now - age_days * DAY_MS
        tier = MemberTier(code, published - DAY_MS, self.now + DAY_MS, published)
        period_ms = self.terms.period_days * DAY_MS
        blocked = any(
            self.now < m.started_at_ms + period_ms or m.state is not MatchState.ENDED for m in self._mine(member)
        )
        if not self.terms.in_force_at(self.now):
            expected: str | None = "AGREEMENT_NOT_IN_FORCE"
        elif age_days >= 30:
            expected = "TIER_STALE"
        elif code == "blue":
            expected = "TIER_NOT_MAPPED"
        else:
            expected = "ALREADY_MATCHED" if blocked else None
        try:
            match = start_match(
                self.terms,
                member_tier=tier,
                attester_ladder=LADDER,
                now_ms=self.now,
                previous_matches=list(self.matches.values()),
                match_id=f"tm_{len(self.matches) + 1}",
                member_id=member,
            )
        except (FailedPrecondition, AlreadyExists) as refused:
            assert refused.reason == expected
            return
        assert expected is None
        self.matches[match.match_id] = match

    @precondition(lambda self: bool(self.matches))
    @rule(data=st.data(), met=st.booleans())
    def the_recogniser_reports_the_challenge(self, data: st.DataObject, met: bool) -> None:
        match = data.draw(st.sampled_from(sorted(self.matches.values(), key=lambda m: m.match_id)))
        pending = match.state is MatchState.ACTIVE and match.challenge_pending
        try:
            reported = report_challenge(match, met, self.now)
        except FailedPrecondition as refused:
            assert refused.reason == ("CHALLENGE_NOT_PENDING" if not pending else "CHALLENGE_DEADLINE_PASSED"), (
                refused.reason
            )
            return
        assert pending and self.now < match.ends_at_ms
        assert reported.state is (MatchState.CONFIRMED if met else MatchState.ENDED)
        self._record(match, reported)

    @precondition(lambda self: bool(self.matches))
    @rule(data=st.data(), new_code=st.none() | st.sampled_from(LADDER.codes))
    def the_attester_publishes_a_new_tier(self, data: st.DataObject, new_code: str | None) -> None:
        match = data.draw(st.sampled_from(sorted(self.matches.values(), key=lambda m: m.match_id)))
        new_tier = None if new_code is None else MemberTier(new_code, self.now - 1, self.now + DAY_MS, self.now)
        reason = follows_tier_change(match, LADDER, new_tier, self.now)
        if match.state is MatchState.ENDED:
            assert reason is None
            return
        if new_code is None:
            assert reason is EndReason.LAPSED
        else:
            lower = LADDER.codes.index(new_code) < LADDER.codes.index(match.attester_tier)
            assert reason is (EndReason.DOWNGRADED if lower else None)
        if reason is not None:
            self._record(match, end_match(match, reason, self.now))

    @precondition(lambda self: bool(self.matches))
    @rule(data=st.data(), reason=st.sampled_from(["CONSENT_REVOKED", "UNLINKED", "ERASED"]))
    def the_member_leaves(self, data: st.DataObject, reason: str) -> None:
        match = data.draw(st.sampled_from(sorted(self.matches.values(), key=lambda m: m.match_id)))
        self._record(match, end_match(match, reason, self.now))

    @rule()
    def the_sweep_runs(self) -> None:
        for match in list(self.matches.values()):
            self._record(match, end_if_due(match, self.now))

    @invariant()
    def a_member_is_matched_at_most_once_per_period(self) -> None:
        if not hasattr(self, "terms"):
            return
        period_ms = self.terms.period_days * DAY_MS
        for member in MEMBERS:
            starts = sorted(m.started_at_ms for m in self._mine(member))
            assert all(b - a >= period_ms for a, b in pairwise(starts))
            assert sum(m.state is not MatchState.ENDED for m in self._mine(member)) <= 1
            assert sum(is_live(m, self.now) for m in self._mine(member)) <= 1

    @invariant()
    def each_ended_match_ended_exactly_once_for_the_reason_it_keeps(self) -> None:
        if not hasattr(self, "terms"):
            return
        ended_ids = [match_id for match_id, _ in self.ends]
        assert len(ended_ids) == len(set(ended_ids))
        ended = {m.match_id: m.end_reason for m in self.matches.values() if m.state is MatchState.ENDED}
        assert ended == dict(self.ends)


MatchModel.TestCase.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
TestMatchModel = MatchModel.TestCase
