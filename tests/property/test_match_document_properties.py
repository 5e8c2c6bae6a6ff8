"""The SDK signs the very bytes the hub renders: match_document agrees with the domain's document_of.

For any valid terms, drawn once and built both as the SDK's dataclasses (the mapping in any
order, the activity padded with spaces, datetimes in any zone and below the millisecond) and as
the domain's (validated against ladders holding the mapped tiers, so normalised as the hub keeps
them), the two documents are byte-identical; and terms sent through protobuf and read back give
the same document.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exchange.domain
from exchange.domain.agreements import DAY_MS, MAX_AGREEMENT_DAYS
from partner_sdk import status_match as sdk
from partner_sdk._client import status_match as convert


def _hub_module() -> ModuleType | None:
    """The domain module defining the status match document_of (exchange/domain/status_match*.py), if written yet."""
    for info in sorted(pkgutil.iter_modules(exchange.domain.__path__), key=lambda i: i.name):
        if info.name.startswith("status_match"):
            module = importlib.import_module(f"exchange.domain.{info.name}")
            document_of = getattr(module, "document_of", None)
            if document_of is not None and document_of.__module__ == module.__name__:
                return module
    return None


_HUB = _hub_module()
hub_only = pytest.mark.skipif(
    _HUB is None, reason="exchange/domain/status_match*.py with document_of is not written yet: nothing to compare with"
)
domain: Any = _HUB

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ids = st.from_regex(r"[a-z][a-z0-9-]{2,31}", fullmatch=True)
tier_codes = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
# Printable text, sometimes padded with spaces: both sides sign it stripped.
text_chars = st.characters(exclude_categories=("C", "Zl", "Zp", "Zs")) | st.just(" ")
activities = st.text(text_chars, min_size=1, max_size=200).filter(lambda t: bool(t.strip()))


@st.composite
def drawn_terms(draw: st.DrawFn) -> dict[str, Any]:
    """Plain values of valid terms (limits as the contract states them)."""
    recogniser = draw(ids)
    attester = draw(ids.filter(lambda p: p != recogniser))
    attester_tiers = draw(st.lists(tier_codes, min_size=1, max_size=20, unique=True))
    mapping = [(a, draw(tier_codes)) for a in attester_tiers]
    match_days = draw(st.integers(1, 730))
    challenge = None
    if match_days > 1 and draw(st.booleans()):
        challenge = (draw(st.integers(1, min(365, match_days - 1))), draw(activities), draw(st.integers(1, 10**9)))
    valid_from_ms = draw(st.integers(0, 4_102_444_800_000))
    return {
        "recogniser_partner_id": recogniser,
        "attester_partner_id": attester,
        "version": draw(st.integers(1, 10**6)),
        "mapping": mapping,
        "challenge": challenge,
        "match_days": match_days,
        "period_days": draw(st.integers(1, 1095)),
        "max_tier_age_days": draw(st.integers(1, 90)),
        "valid_from_ms": valid_from_ms,
        "valid_until_ms": valid_from_ms + draw(st.integers(1, MAX_AGREEMENT_DAYS * DAY_MS)),
        # how the SDK's terms say the same: the mapping in any order, times in any zone and below the millisecond
        "order": draw(st.permutations(range(len(mapping)))),
        "zone": timezone(timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60)))),
        "micros": (draw(st.integers(0, 999)), draw(st.integers(0, 999))),
    }


def sdk_terms(v: dict[str, Any]) -> sdk.MatchTerms:
    def moment(ms: int, micros: int) -> datetime:
        return (EPOCH + timedelta(milliseconds=ms, microseconds=micros)).astimezone(v["zone"])

    return sdk.MatchTerms(
        recogniser_partner_id=v["recogniser_partner_id"],
        attester_partner_id=v["attester_partner_id"],
        version=v["version"],
        mapping=tuple(v["mapping"][i] for i in v["order"]),
        challenge=None if v["challenge"] is None else sdk.Challenge(*v["challenge"]),
        match_days=v["match_days"],
        period_days=v["period_days"],
        max_tier_age_days=v["max_tier_age_days"],
        valid_from=moment(v["valid_from_ms"], v["micros"][0]),
        valid_until=moment(v["valid_until_ms"], v["micros"][1]),
    )


def domain_terms(v: dict[str, Any]) -> Any:
    attester_codes = [a for a, _ in v["mapping"]]
    recogniser_codes = sorted({r for _, r in v["mapping"]})
    return domain.validate_match_terms(
        recogniser_partner_id=v["recogniser_partner_id"],
        attester_partner_id=v["attester_partner_id"],
        version=v["version"],
        mapping=v["mapping"],
        challenge=None if v["challenge"] is None else domain.Challenge(*v["challenge"]),
        match_days=v["match_days"],
        period_days=v["period_days"],
        max_tier_age_days=v["max_tier_age_days"],
        valid_from_ms=v["valid_from_ms"],
        valid_until_ms=v["valid_until_ms"],
        attester_ladder=domain.validate_ladder(v["attester_partner_id"], [domain.Tier(c, c) for c in attester_codes]),
        recogniser_ladder=domain.validate_ladder(
            v["recogniser_partner_id"], [domain.Tier(c, c) for c in recogniser_codes]
        ),
    )


@hub_only
@settings(max_examples=300, deadline=None)
@given(drawn_terms())
def test_the_sdks_document_is_byte_identical_to_the_hubs_for_any_valid_terms(values: dict[str, Any]) -> None:
    assert sdk.match_document(sdk_terms(values)) == domain.document_of(domain_terms(values))


@pytest.mark.skipif(
    not hasattr(_HUB, "terms_of_document"), reason="the hub's status match domain has no terms_of_document yet"
)
@settings(max_examples=100, deadline=None)
@given(drawn_terms())
def test_the_hub_reads_the_sdks_document_back_as_the_terms_it_keeps(values: dict[str, Any]) -> None:
    assert domain.terms_of_document(sdk.match_document(sdk_terms(values))) == domain_terms(values)


@settings(max_examples=100, deadline=None)
@given(drawn_terms())
def test_terms_sent_through_protobuf_and_read_back_sign_the_same_document(values: dict[str, Any]) -> None:
    terms = sdk_terms(values)
    message = convert.terms_to_proto(terms)
    again = type(message)()
    again.ParseFromString(message.SerializeToString())
    assert sdk.match_document(convert.terms(again)) == sdk.match_document(terms)
