"""A consent covers a read exactly when reader, source, attribute and purpose match inside its live window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exchange.domain.consent import Consent, Purpose, withhold_reasons

partners = st.sampled_from(["stride", "voltline", "brewhaus"])
keys = st.sampled_from(["shoe_size", "birthday", "favourite_sport"])
purposes = st.sampled_from(list(Purpose))
times = st.integers(0, 10_000)


@st.composite
def consents(draw: st.DrawFn) -> Consent:
    granted = draw(times)
    expires = granted + draw(st.integers(1, 5_000))
    revoked = draw(st.one_of(st.none(), st.integers(granted, granted + 6_000)))
    return Consent(
        consent_id="cst-x",
        member_id="mbr-x",
        source_partner_id=draw(partners),
        grantee_partner_id=draw(partners),
        attribute_keys=tuple(draw(st.sets(keys, min_size=1))),
        purpose=draw(purposes),
        granted_at_ms=granted,
        expires_at_ms=expires,
        granted_via=draw(partners),
        revoked_at_ms=revoked,
    )


@given(consents(), partners, partners, keys, purposes, times)
def test_a_consent_covers_exactly_the_matching_read_inside_its_live_window(
    consent: Consent, reader: str, source: str, key: str, purpose: Purpose, now: int
) -> None:
    # A revoked consent allows nothing from then on (the hub only ever evaluates it after revocation).
    live = consent.revoked_at_ms is None and consent.granted_at_ms <= now < consent.expires_at_ms
    matches = (
        consent.grantee_partner_id == reader
        and consent.source_partner_id == source
        and key in consent.attribute_keys
        and consent.purpose is purpose
    )
    assert consent.covers(reader=reader, source=source, key=key, purpose=purpose, now_ms=now) == (live and matches)


@given(st.lists(consents(), max_size=5), partners, partners, st.sets(keys, min_size=1), purposes, times)
def test_a_key_is_returned_only_if_some_consent_covers_it(
    found: list[Consent], reader: str, source: str, wanted: set[str], purpose: Purpose, now: int
) -> None:
    reasons = withhold_reasons(
        tuple(sorted(wanted)),
        consents=found,
        declared={"shoe_size", "birthday"},
        reader=reader,
        source=source,
        purpose=purpose,
        now_ms=now,
    )
    for key in wanted:
        covered = any(c.covers(reader=reader, source=source, key=key, purpose=purpose, now_ms=now) for c in found)
        if key == "favourite_sport":
            assert reasons[key] == "NOT_DECLARED"
        elif covered:
            assert key not in reasons
        else:
            assert reasons[key] == "NO_CONSENT"
