"""Status match: a member's tier at one brand (the attester) recognised at another (the recogniser).

Each brand publishes its tier ladder (publish_tier_ladder) and the attester its members' current
tiers (publish_member_tier). The recogniser proposes a version of the pair's match terms, signing
its document (propose_match_agreement); the attester checks and signs the same bytes
(accept_match_agreement), and the version is ACTIVE. A member who gave a STATUS_MATCH consent
(attester to recogniser, the attribute "status_tier") asks at either brand
(request_status_match): the recogniser receives a TIER_MATCHED instruction (InstructionLoop's
``tier_matched``) and, when the match ends, TIER_MATCH_ENDED (``tier_match_ended``). A match
with a challenge is kept beyond the challenge's days only if the recogniser reports it met
(report_challenge). The calls are ExchangeClient's.

The document is canonical JSON: sorted keys, no spaces, ASCII only (other characters escaped),
integers only, never a float::

    {"attester_partner_id":"skyways","challenge":{"activity":"nights stayed","days":90,"target":10},
     "format":"coalition-status-match/1","mapping":[{"attester_tier":"gold","recogniser_tier":"platinum"},
     {"attester_tier":"silver","recogniser_tier":"gold"}],"match_days":180,"max_tier_age_days":30,
     "period_days":365,"recogniser_partner_id":"harbour-hotels","valid_from_ms":1767225600000,
     "valid_until_ms":1798761600000,"version":1}

(shown wrapped; the document is one line). The mapping is a list of {"attester_tier",
"recogniser_tier"} objects sorted by attester tier code (the document needs no ladder); no
challenge is ``"challenge":null``. Times are whole milliseconds since the epoch (rounded down).
The challenge's activity is rendered stripped of surrounding whitespace, as the hub keeps it.

The recogniser checks a match offline with a tier attestation (request_status_match's answer,
or get_tier_attestation): canonical JSON the hub signs with Ed25519 over
TIER_ATTESTATION_PREFIX followed by it (tier_attestation_message), valid until the match's
ends_at::

    {"attester_partner_id":"skyways","attester_tier":"gold","format":"coalition-tier-attestation/1",
     "issued_at_ms":1772323200000,"match_id":"smt-1","matched_tier":"platinum",
     "pairwise_member_id":"pw-7f3a","recogniser_partner_id":"harbour-hotels","valid_until_ms":1787875200000}

(shown wrapped; one line). pairwise_member_id is the member's id at the recogniser.
verify_tier_attestation checks it and returns what it says; the hub renders it with
render_tier_attestation_payload, so it is written in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from partner_sdk._hub_signed import (
    SignedKind,
    check_recipient,
    check_window,
    open_signed,
    reading,
    render_payload,
    str_of,
    time_of,
)
from partner_sdk.documents import _integer, _text, epoch_ms
from partner_sdk.errors import TierAttestationVerificationError
from partner_sdk.settlement import canonical_json

__all__ = [
    "ATTESTATION_CLOCK_SKEW_MS",
    "MATCH_FORMAT",
    "TIER_ATTESTATION_FORMAT",
    "TIER_ATTESTATION_PREFIX",
    "Challenge",
    "MatchAgreement",
    "MatchAgreementStatus",
    "MatchEndReason",
    "MatchState",
    "MatchTerms",
    "StatusMatch",
    "Tier",
    "TierAttestation",
    "TierAttestationDocument",
    "TierAttestationVerificationError",
    "TierLadder",
    "match_document",
    "render_tier_attestation_payload",
    "tier_attestation_message",
    "verify_tier_attestation",
]

MATCH_FORMAT = "coalition-status-match/1"
TIER_ATTESTATION_FORMAT = "coalition-tier-attestation/1"
TIER_ATTESTATION_PREFIX = b"COALITION-TIER-ATTESTATION-V1\n"
ATTESTATION_CLOCK_SKEW_MS = 5 * 60 * 1000
"""How far ahead of this host's clock an attestation's issued_at may be: the hub's and yours differ."""

MatchAgreementStatus: TypeAlias = Literal["PROPOSED", "ACTIVE", "SUPERSEDED", "UNKNOWN"]
"""Where a version of a pair's match terms stands."""
MatchState: TypeAlias = Literal["ACTIVE", "CONFIRMED", "ENDED", "UNKNOWN"]
"""Where a match stands: ACTIVE (under challenge while challenge_ends_at is set), CONFIRMED, ENDED."""
MatchEndReason: TypeAlias = Literal[
    "", "DOWNGRADED", "LAPSED", "CONSENT_REVOKED", "UNLINKED", "ERASED", "CHALLENGE_FAILED", "EXPIRED", "UNKNOWN"
]
"""Why a match ended; empty while it holds."""


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier of a ladder: code is 1 to 32 of a-z, 0-9 and '_', starting with a letter; name 1 to 64 characters."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TierLadder:
    """A brand's tier ladder: 1 to 20 tiers, lowest first."""

    partner_id: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class Challenge:
    """Keep the matched tier beyond days (1 to 365, fewer than the match's) only by reaching target of activity."""

    days: int
    activity: str
    target: int


@dataclass(frozen=True, slots=True)
class MatchTerms:
    """What the recogniser proposes and the attester accepts: one version of a pair's match terms.

    mapping holds (attester tier, recogniser tier) pairs, each attester tier at most once (the
    hub keeps and returns them sorted by attester tier). version is 1 for the pair's first,
    then the latest plus one. match_days (1 to 730) is how long a match lasts, period_days (1 to
    1095) how often a member may be matched, max_tier_age_days (1 to 90) how recently the
    attester must have published the member's tier. valid_from and valid_until are
    timezone-aware: matches start only between them.
    """

    recogniser_partner_id: str
    attester_partner_id: str
    version: int
    mapping: tuple[tuple[str, str], ...]
    challenge: Challenge | None
    match_days: int
    period_days: int
    max_tier_age_days: int
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class MatchAgreement:
    """One version of a pair's match terms; status is PROPOSED, ACTIVE or SUPERSEDED.

    document is the exact bytes both brands sign (match_document(terms)); the proposer is the
    recogniser, the acceptor the attester (its key id and signature empty until it accepts).
    """

    agreement_id: str
    terms: MatchTerms
    status: MatchAgreementStatus
    document: bytes
    proposer_key_id: str
    proposer_signature: bytes
    acceptor_key_id: str
    acceptor_signature: bytes
    proposed_at: datetime


@dataclass(frozen=True, slots=True)
class StatusMatch:
    """A member's status match: attester_tier at the attester recognised as matched_tier at the recogniser.

    member_ref is the caller's own reference for the member. ends_at is until when it holds (the
    challenge's deadline while one is pending, challenge_ends_at then set); ended_at and
    end_reason are set once ENDED. agreement_version is the terms' version it was made under.
    """

    match_id: str
    recogniser_partner_id: str
    attester_partner_id: str
    member_ref: str
    attester_tier: str
    matched_tier: str
    state: MatchState
    started_at: datetime
    ends_at: datetime
    challenge_ends_at: datetime | None
    ended_at: datetime | None
    end_reason: MatchEndReason
    agreement_version: int


@dataclass(frozen=True, slots=True)
class TierAttestation:
    """An attestation as the hub issued it: the payload, the hub key that signed it, and the signature.

    Check it with verify_tier_attestation before recognising the tier; keep payload as bytes
    (never re-encode it: the signature covers these exact bytes).
    """

    payload: bytes
    hub_key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class TierAttestationDocument:
    """What a verified attestation says: recognise pairwise_member_id at matched_tier until valid_until.

    issued_at and valid_until are aware UTC datetimes, whole milliseconds.
    """

    match_id: str
    recogniser_partner_id: str
    attester_partner_id: str
    pairwise_member_id: str
    attester_tier: str
    matched_tier: str
    issued_at: datetime
    valid_until: datetime


def match_document(terms: MatchTerms) -> bytes:
    """Return the exact bytes the recogniser and the attester sign for these terms.

    Args:
        terms: the terms; the hub checks them against both ladders when they are proposed.

    Returns:
        The canonical JSON document (see this module's docstring), ASCII.

    Raises:
        TypeError: a number is a float or bool, or a text is not a str.
        ValueError: a datetime is naive or a text has control characters.
    """
    mapping = [(_text("attester_tier", a), _text("recogniser_tier", r)) for a, r in terms.mapping]
    challenge = terms.challenge
    value = {
        "format": MATCH_FORMAT,
        "recogniser_partner_id": _text("recogniser_partner_id", terms.recogniser_partner_id),
        "attester_partner_id": _text("attester_partner_id", terms.attester_partner_id),
        "version": _integer("version", terms.version),
        "mapping": [{"attester_tier": a, "recogniser_tier": r} for a, r in sorted(mapping)],
        "challenge": None
        if challenge is None
        else {
            "days": _integer("challenge.days", challenge.days),
            "activity": _text("challenge.activity", challenge.activity).strip(),
            "target": _integer("challenge.target", challenge.target),
        },
        "match_days": _integer("match_days", terms.match_days),
        "period_days": _integer("period_days", terms.period_days),
        "max_tier_age_days": _integer("max_tier_age_days", terms.max_tier_age_days),
        "valid_from_ms": epoch_ms(terms.valid_from),
        "valid_until_ms": epoch_ms(terms.valid_until),
    }
    return canonical_json(value)


# ------------------------------------------------------- the tier attestation

_ATTESTATION = SignedKind(
    noun="attestation",
    format=TIER_ATTESTATION_FORMAT,
    prefix=TIER_ATTESTATION_PREFIX,
    keys=frozenset(
        {
            "format",
            "match_id",
            "recogniser_partner_id",
            "attester_partner_id",
            "pairwise_member_id",
            "attester_tier",
            "matched_tier",
            "issued_at_ms",
            "valid_until_ms",
        }
    ),
    error=TierAttestationVerificationError,
    malformed="MALFORMED_ATTESTATION",
    wrong_recipient="WRONG_RECOGNISER",
    expired="ATTESTATION_EXPIRED",
    not_yet_valid="ATTESTATION_NOT_YET_VALID",
    skew_ms=ATTESTATION_CLOCK_SKEW_MS,
    use="recognise",
    expired_hint="the match ended",
)


def tier_attestation_message(payload: bytes) -> bytes:
    """Return the exact bytes the hub signs for an attestation: TIER_ATTESTATION_PREFIX, then the payload.

    The prefix keeps an attestation's signature from being valid for anything else the hub signs.
    """
    return TIER_ATTESTATION_PREFIX + payload


def render_tier_attestation_payload(
    *,
    match_id: str,
    recogniser_partner_id: str,
    attester_partner_id: str,
    pairwise_member_id: str,
    attester_tier: str,
    matched_tier: str,
    issued_at_ms: int,
    valid_until_ms: int,
) -> bytes:
    """Return an attestation's payload for plain values: the canonical JSON the hub signs (it renders them with this).

    Args:
        match_id: the match.
        recogniser_partner_id: the brand it is issued to (it verifies with recogniser_partner_id=this).
        attester_partner_id: the brand whose tier is recognised.
        pairwise_member_id: the member's id at the recogniser.
        attester_tier: the member's tier at the attester when matched.
        matched_tier: the tier it is matched to at the recogniser.
        issued_at_ms: when it was issued, integer milliseconds since the epoch.
        valid_until_ms: when it stops being valid (the match's ends_at).

    Returns:
        The payload, ASCII (this module's docstring shows one).

    Raises:
        TypeError: a number is a float or bool, or a text is not a str.
        ValueError: a text has control characters.
    """
    texts = {
        "match_id": match_id,
        "recogniser_partner_id": recogniser_partner_id,
        "attester_partner_id": attester_partner_id,
        "pairwise_member_id": pairwise_member_id,
        "attester_tier": attester_tier,
        "matched_tier": matched_tier,
    }
    return render_payload(_ATTESTATION, texts, issued_at_ms=issued_at_ms, valid_until_ms=valid_until_ms)


def verify_tier_attestation(
    attestation: TierAttestation, hub_public_key: bytes, *, recogniser_partner_id: str, now: datetime | None = None
) -> TierAttestationDocument:
    """Check a tier attestation offline and return what it says; recognise the tier only if this returns.

    Checks, in order: the hub's Ed25519 signature over tier_attestation_message(payload); that
    the payload is canonical JSON in the coalition-tier-attestation/1 format with every field;
    that it was issued to recogniser_partner_id; and that now is before valid_until and no
    earlier than issued_at less 5 minutes (ATTESTATION_CLOCK_SKEW_MS, for clocks that differ).

    Args:
        attestation: the attestation, as request_status_match or get_tier_attestation returned it.
        hub_public_key: the raw 32-byte public key of the hub key attestation.hub_key_id.
        recogniser_partner_id: your partner id: an attestation issued to another brand is refused.
        now: the time to check it at, timezone-aware; None: this host's clock.

    Returns:
        The attestation's parsed payload.

    Raises:
        TierAttestationVerificationError: reason BAD_HUB_KEY, BAD_SIGNATURE, MALFORMED_ATTESTATION,
            NOT_CANONICAL, WRONG_FORMAT, WRONG_RECOGNISER, ATTESTATION_EXPIRED or
            ATTESTATION_NOT_YET_VALID.
        ValueError: now is naive.
    """
    now_ms = epoch_ms(now if now is not None else datetime.now(UTC))
    value = open_signed(_ATTESTATION, attestation.payload, attestation.signature, hub_public_key)
    document = _document(value)
    check_recipient(_ATTESTATION, document.recogniser_partner_id, recogniser_partner_id)
    check_window(_ATTESTATION, now_ms, value["issued_at_ms"], value["valid_until_ms"])
    return document


def _document(value: dict[str, Any]) -> TierAttestationDocument:
    with reading(_ATTESTATION):
        return TierAttestationDocument(
            match_id=str_of(value, "match_id"),
            recogniser_partner_id=str_of(value, "recogniser_partner_id"),
            attester_partner_id=str_of(value, "attester_partner_id"),
            pairwise_member_id=str_of(value, "pairwise_member_id"),
            attester_tier=str_of(value, "attester_tier"),
            matched_tier=str_of(value, "matched_tier"),
            issued_at=time_of(value, "issued_at_ms"),
            valid_until=time_of(value, "valid_until_ms"),
        )
