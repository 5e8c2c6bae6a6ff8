"""Status match (issue 22), what two brands sign: tier ladders, a member's tier, the match terms and their document.

A member's tier at one brand (the attester) is recognised at another (the recogniser): Gold at
an airline is matched to Gold at a hotel for a while. The rules, in integers only:

- Each brand publishes a tier ladder: 1 to MAX_TIERS tiers, lowest first, each a code
  ``[a-z][a-z0-9_]{0,31}`` and a name. A tier's rank is its place on the ladder (0 the lowest).
- The attester publishes a member's tier: a code on its ladder, reached by now, held until a
  moment after now and at most MAX_TIER_HOLD_DAYS ahead. The hub stamps when it was published.
- The terms, proposed by the recogniser and accepted by the attester, map attester tiers to
  recogniser tiers (each attester tier at most once), may set a challenge (keep the matched tier
  beyond ``days`` only by reaching ``target`` of an activity at the recogniser), and say how long
  a match lasts, how often a member may be matched, how fresh the attester's tier must be, and
  when the terms are in force.

``validate_match_terms`` checks everything against both ladders and returns the terms
normalised (the mapping sorted by attester tier code: the document is then a function of the
terms alone, with no ladder needed to render or read it back). ``document_of`` renders the
canonical document both sign; ``terms_of_document`` reads one back and refuses any other bytes.
The versions and their signatures are in exchange.domain.status_match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS
from exchange.domain.errors import InvalidArgument, require
from exchange.domain.partners import parse_partner_id, parse_text

MATCH_FORMAT = "coalition-status-match/1"
TIER_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_TIERS = 20
TIER_NAME_MAX = 64
MAX_TIER_HOLD_DAYS = 3 * 366  # three years ahead, leap days included
MAX_CHALLENGE_DAYS = 365
CHALLENGE_ACTIVITY_MAX = 200
MAX_CHALLENGE_TARGET = 10**9
MAX_MATCH_DAYS = 730
MAX_PERIOD_DAYS = 1095
MAX_TIER_AGE_DAYS = 90
# The largest canonical document is about 4 KiB (20 mappings, an activity of 200 escaped characters).
MAX_DOCUMENT_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Tier:
    """One rung of a brand's ladder."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TierLadder:
    """A brand's tiers, lowest first."""

    partner_id: str
    tiers: tuple[Tier, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The tier codes, lowest first."""
        return tuple(t.code for t in self.tiers)


def validate_ladder(partner_id: str, tiers: Sequence[Tier]) -> TierLadder:
    """Check a brand's ladder (lowest tier first) and return it, or raise InvalidArgument naming the bad field."""
    partner_id = parse_partner_id(partner_id, field="ladder.partner_id")
    if not 1 <= len(tiers) <= MAX_TIERS:
        raise InvalidArgument("INVALID_TIER_COUNT", f"a ladder has 1 to {MAX_TIERS} tiers", field="ladder.tiers")
    seen: set[str] = set()
    checked = []
    for i, tier in enumerate(tiers):
        code = _tier_code(tier.code, f"ladder.tiers[{i}].code")
        if code in seen:
            raise InvalidArgument("DUPLICATE_TIER", f"tier {code!r} is named twice", field=f"ladder.tiers[{i}].code")
        seen.add(code)
        checked.append(Tier(code, parse_text(tier.name, field=f"ladder.tiers[{i}].name", max_length=TIER_NAME_MAX)))
    return TierLadder(partner_id, tuple(checked))


def rank_of(ladder: TierLadder, code: str, *, field: str = "tier_code") -> int:
    """Return a tier's place on the ladder (0 the lowest), or raise InvalidArgument TIER_NOT_ON_LADDER."""
    if code not in ladder.codes:
        raise InvalidArgument(
            "TIER_NOT_ON_LADDER", f"{str(code)[:40]!r} is not a tier of {ladder.partner_id!r}", field=field
        )
    return ladder.codes.index(code)


@dataclass(frozen=True, slots=True)
class MemberTier:
    """A member's tier at the attester, as published: held from reached_at until holds_until."""

    code: str
    reached_at_ms: int
    holds_until_ms: int
    published_at_ms: int

    def __post_init__(self) -> None:
        require(self.reached_at_ms < self.holds_until_ms, "a tier is held for some time")


def check_member_tier(
    ladder: TierLadder, code: str, reached_at_ms: int, holds_until_ms: int, now_ms: int
) -> MemberTier:
    """Check a tier the attester publishes for a member now, and return it stamped as published now.

    A tier no longer held is not published: the attester publishes the member as having none.
    """
    rank_of(ladder, code, field="tier.code")
    reached = _integer(reached_at_ms, "tier.reached_at_ms")
    holds_until = _integer(holds_until_ms, "tier.holds_until_ms")
    if not 0 <= reached <= now_ms:
        raise InvalidArgument("TIER_NOT_REACHED", "reached_at must be in the past", field="tier.reached_at_ms")
    if holds_until <= now_ms:
        raise InvalidArgument("TIER_NOT_HELD", "holds_until must be after now", field="tier.holds_until_ms")
    if holds_until - now_ms > MAX_TIER_HOLD_DAYS * DAY_MS:
        raise InvalidArgument(
            "TIER_HOLD_TOO_LONG",
            f"holds_until may be at most {MAX_TIER_HOLD_DAYS} days ahead",
            field="tier.holds_until_ms",
        )
    return MemberTier(code, reached, holds_until, now_ms)


@dataclass(frozen=True, slots=True)
class Challenge:
    """Keep the matched tier beyond ``days`` only by reaching ``target`` of ``activity`` at the recogniser."""

    days: int
    activity: str
    target: int


@dataclass(frozen=True, slots=True)
class MatchTerms:
    """What the recogniser proposes and the attester accepts, normalised by validate_match_terms."""

    recogniser_partner_id: str
    attester_partner_id: str
    version: int
    mapping: tuple[tuple[str, str], ...]  # (attester tier, recogniser tier), sorted by attester tier code
    challenge: Challenge | None
    match_days: int
    period_days: int
    max_tier_age_days: int
    valid_from_ms: int
    valid_until_ms: int

    def matched_tier_for(self, attester_tier: str) -> str | None:
        """The recogniser tier an attester tier is matched to, or None if the terms do not map it."""
        return dict(self.mapping).get(attester_tier)

    def in_force_at(self, now_ms: int) -> bool:
        """Whether matches may start under these terms at now_ms."""
        return self.valid_from_ms <= now_ms < self.valid_until_ms


def validate_match_terms(
    *,
    recogniser_partner_id: str,
    attester_partner_id: str,
    version: int,
    mapping: Sequence[tuple[str, str]],
    challenge: Challenge | None,
    match_days: int,
    period_days: int,
    max_tier_age_days: int,
    valid_from_ms: int,
    valid_until_ms: int,
    attester_ladder: TierLadder,
    recogniser_ladder: TierLadder,
) -> MatchTerms:
    """Check every term, each mapped code on its brand's ladder; return them normalised or raise InvalidArgument."""
    terms = _checked_terms(
        recogniser_partner_id=recogniser_partner_id,
        attester_partner_id=attester_partner_id,
        version=version,
        mapping=mapping,
        challenge=challenge,
        match_days=match_days,
        period_days=period_days,
        max_tier_age_days=max_tier_age_days,
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
    )
    require(
        attester_ladder.partner_id == terms.attester_partner_id
        and recogniser_ladder.partner_id == terms.recogniser_partner_id,
        "terms are checked against the ladders of their own two brands",
    )
    for i, (attester_tier, recogniser_tier) in enumerate(terms.mapping):
        rank_of(attester_ladder, attester_tier, field=f"terms.mapping[{i}].attester_tier")
        rank_of(recogniser_ladder, recogniser_tier, field=f"terms.mapping[{i}].recogniser_tier")
    return terms


def _checked_terms(
    *,
    recogniser_partner_id: str,
    attester_partner_id: str,
    version: int,
    mapping: Sequence[tuple[str, str]],
    challenge: Challenge | None,
    match_days: int,
    period_days: int,
    max_tier_age_days: int,
    valid_from_ms: int,
    valid_until_ms: int,
) -> MatchTerms:
    # Everything but the ladders: what a document read back is checked against.
    recogniser = parse_partner_id(recogniser_partner_id, field="terms.recogniser_partner_id")
    attester = parse_partner_id(attester_partner_id, field="terms.attester_partner_id")
    if recogniser == attester:
        raise InvalidArgument("SAME_PARTNER", "a brand does not match its own tiers", field="terms.attester_partner_id")
    if _integer(version, "terms.version") < 1:
        raise InvalidArgument("INVALID_VERSION", "version must be 1 or more", field="terms.version")
    checked_mapping = _check_mapping(mapping)
    match = _days(match_days, MAX_MATCH_DAYS, "terms.match_days")
    checked_challenge = None if challenge is None else _check_challenge(challenge, match)
    period = _days(period_days, MAX_PERIOD_DAYS, "terms.period_days")
    age = _days(max_tier_age_days, MAX_TIER_AGE_DAYS, "terms.max_tier_age_days")
    if _integer(valid_until_ms, "terms.valid_until_ms") <= _integer(valid_from_ms, "terms.valid_from_ms"):
        raise InvalidArgument("EMPTY_VALIDITY", "valid_until must be after valid_from", field="terms.valid_until_ms")
    if valid_until_ms - valid_from_ms > MAX_AGREEMENT_DAYS * DAY_MS:
        raise InvalidArgument(
            "VALIDITY_TOO_LONG",
            f"match terms may last at most {MAX_AGREEMENT_DAYS} days",
            field="terms.valid_until_ms",
        )
    return MatchTerms(
        recogniser_partner_id=recogniser,
        attester_partner_id=attester,
        version=version,
        mapping=checked_mapping,
        challenge=checked_challenge,
        match_days=match,
        period_days=period,
        max_tier_age_days=age,
        valid_from_ms=valid_from_ms,
        valid_until_ms=valid_until_ms,
    )


def _check_mapping(mapping: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    if not 1 <= len(mapping) <= MAX_TIERS:
        raise InvalidArgument("INVALID_MAPPING", f"map 1 to {MAX_TIERS} attester tiers", field="terms.mapping")
    seen: set[str] = set()
    for i, (attester_tier, recogniser_tier) in enumerate(mapping):
        _tier_code(attester_tier, f"terms.mapping[{i}].attester_tier")
        _tier_code(recogniser_tier, f"terms.mapping[{i}].recogniser_tier")
        if attester_tier in seen:
            raise InvalidArgument(
                "DUPLICATE_MAPPING",
                f"attester tier {attester_tier!r} is mapped twice",
                field=f"terms.mapping[{i}].attester_tier",
            )
        seen.add(attester_tier)
    return tuple(sorted((a, r) for a, r in mapping))


def _check_challenge(challenge: Challenge, match_days: int) -> Challenge:
    if not isinstance(challenge, Challenge):
        raise InvalidArgument(
            "INVALID_CHALLENGE", "a challenge has days, an activity and a target", field="terms.challenge"
        )
    days = _days(challenge.days, MAX_CHALLENGE_DAYS, "terms.challenge.days")
    if days >= match_days:
        raise InvalidArgument(
            "CHALLENGE_TOO_LONG",
            f"a challenge must end before the match does ({match_days} days)",
            field="terms.challenge.days",
        )
    activity = parse_text(challenge.activity, field="terms.challenge.activity", max_length=CHALLENGE_ACTIVITY_MAX)
    if not 1 <= _integer(challenge.target, "terms.challenge.target") <= MAX_CHALLENGE_TARGET:
        raise InvalidArgument(
            "INVALID_TARGET", f"target must be 1 to {MAX_CHALLENGE_TARGET}", field="terms.challenge.target"
        )
    return Challenge(days, activity, challenge.target)


def _tier_code(value: object, field: str) -> str:
    if not isinstance(value, str) or not TIER_CODE_PATTERN.fullmatch(value):
        raise InvalidArgument(
            "INVALID_TIER_CODE",
            "a tier code is 1 to 32 of a-z, 0-9 and '_', starting with a letter",
            field=field,
        )
    return value


def _days(value: object, most: int, field: str) -> int:
    days = _integer(value, field)
    if not 1 <= days <= most:
        raise InvalidArgument("INVALID_DAYS", f"{field} must be 1 to {most} days", field=field)
    return days


def _integer(value: object, field: str) -> int:
    # bool is an int to Python; a float is never a count of days or a moment.
    if type(value) is not int:
        raise InvalidArgument("NOT_AN_INTEGER", f"{field} must be an integer", field=field)
    return value


# The document -----------------------------------------------------------------------------------


def document_of(terms: MatchTerms) -> bytes:
    """Return the canonical document the recogniser and the attester sign for these terms.

    Canonical JSON: sorted keys, no spaces, ASCII only, integers only; the mapping is a list of
    {"attester_tier", "recogniser_tier"} sorted by attester tier code (not by rank: the document
    needs no ladder); no challenge is null. Equal terms give equal bytes.
    """
    challenge = terms.challenge
    value: dict[str, Any] = {
        "format": MATCH_FORMAT,
        "recogniser_partner_id": terms.recogniser_partner_id,
        "attester_partner_id": terms.attester_partner_id,
        "version": terms.version,
        "mapping": [{"attester_tier": a, "recogniser_tier": r} for a, r in terms.mapping],
        "challenge": None
        if challenge is None
        else {"days": challenge.days, "activity": challenge.activity, "target": challenge.target},
        "match_days": terms.match_days,
        "period_days": terms.period_days,
        "max_tier_age_days": terms.max_tier_age_days,
        "valid_from_ms": terms.valid_from_ms,
        "valid_until_ms": terms.valid_until_ms,
    }
    _require_no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _require_no_floats(value: object) -> None:
    require(not isinstance(value, float), "a status match document holds integers only")
    if isinstance(value, dict):
        for item in value.values():
            _require_no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _require_no_floats(item)


def terms_of_document(document: bytes) -> MatchTerms:
    """Read the terms back from their canonical document, or raise InvalidArgument MALFORMED_DOCUMENT.

    Any bytes but the ones document_of renders for the terms read are refused (other key order,
    spaces, escapes, floats, unknown keys). The codes are not checked against the ladders: those
    may have changed since; the signed document is what binds.
    """
    if len(document) > MAX_DOCUMENT_BYTES:
        raise InvalidArgument("MALFORMED_DOCUMENT", f"a status match document is at most {MAX_DOCUMENT_BYTES} bytes")
    try:
        value = json.loads(document)
        if value["format"] != MATCH_FORMAT:
            raise ValueError(f"format is not {MATCH_FORMAT}")
        raw = value["challenge"]
        terms = _checked_terms(
            recogniser_partner_id=value["recogniser_partner_id"],
            attester_partner_id=value["attester_partner_id"],
            version=value["version"],
            mapping=[(m["attester_tier"], m["recogniser_tier"]) for m in value["mapping"]],
            challenge=None if raw is None else Challenge(raw["days"], raw["activity"], raw["target"]),
            match_days=value["match_days"],
            period_days=value["period_days"],
            max_tier_age_days=value["max_tier_age_days"],
            valid_from_ms=value["valid_from_ms"],
            valid_until_ms=value["valid_until_ms"],
        )
    except InvalidArgument as exc:
        raise InvalidArgument("MALFORMED_DOCUMENT", f"not valid status match terms: {exc.reason}") from exc
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InvalidArgument("MALFORMED_DOCUMENT", f"not a status match document: {exc}") from exc
    if document_of(terms) != document:
        raise InvalidArgument("MALFORMED_DOCUMENT", "the document is not in canonical form")
    return terms
