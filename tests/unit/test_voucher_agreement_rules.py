"""The rules of a voucher agreement outside any membership (exchange.domain.voucher_agreements), no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from exchange.domain import voucher_agreements as rules
from exchange.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied, ResourceExhausted
from exchange.domain.voucher_agreements import VoucherAgreementStatus
from exchange.service.voucher_agreements import _month_start_ms

NOW = 1_800_000_000_000
DAY_MS = 86_400_000


def _terms(**changes: object) -> rules.VoucherTerms:
    values: dict[str, object] = {
        "funder_partner_id": "brewhaus",
        "honouring_partner_id": "voltline",
        "version": 1,
        "value_minor": 300,
        "currency": "EUR",
        "validity_days": 14,
        "monthly_limit": 2,
        "valid_from_ms": NOW - DAY_MS,
        "valid_until_ms": NOW + 90 * DAY_MS,
    }
    values.update(changes)
    return rules.validate_terms(**values)  # type: ignore[arg-type]


def _active(**changes: object) -> rules.VoucherAgreement:
    proposed = rules.propose(
        _terms(**changes),
        agreement_id="vag-1",
        caller="brewhaus",
        key_id="k1",
        signature=b"s",
        latest_version=None,
        now_ms=NOW,
    )
    accepted, _ = rules.accept(proposed, caller="voltline", key_id="k1", signature=b"t", now_ms=NOW, active=None)
    return accepted


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"honouring_partner_id": "brewhaus"}, "SAME_PARTNER"),
        ({"value_minor": 0}, "INVALID_VALUE"),
        ({"value_minor": 1.5}, "INVALID_VALUE"),
        ({"validity_days": 367}, "INVALID_VOUCHER_VALIDITY"),
        ({"monthly_limit": 0}, "INVALID_MONTHLY_LIMIT"),
        ({"valid_until_ms": NOW - DAY_MS}, "EMPTY_VALIDITY"),
        ({"version": 0}, "INVALID_VERSION"),
    ],
)
def test_terms_out_of_bounds_are_refused_by_the_field_at_fault(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _terms(**changes)
    assert refused.value.reason == reason


def test_the_document_reads_back_to_the_same_terms_and_only_its_canonical_bytes_do() -> None:
    terms = _terms()
    document = rules.document_of(terms)
    assert rules.terms_of_document(document) == terms
    with pytest.raises(InvalidArgument) as refused:
        rules.terms_of_document(document.replace(b",", b", ", 1))
    assert refused.value.reason == "MALFORMED_DOCUMENT"


def test_only_the_funder_proposes_and_only_the_honouring_brand_accepts() -> None:
    with pytest.raises(PermissionDenied) as proposer:
        rules.propose(
            _terms(), agreement_id="a", caller="voltline", key_id="k", signature=b"", latest_version=None, now_ms=NOW
        )
    assert proposer.value.reason == "NOT_FUNDER"
    proposed = rules.propose(
        _terms(), agreement_id="a", caller="brewhaus", key_id="k", signature=b"", latest_version=None, now_ms=NOW
    )
    with pytest.raises(PermissionDenied) as acceptor:
        rules.accept(proposed, caller="brewhaus", key_id="k", signature=b"", now_ms=NOW, active=None)
    assert acceptor.value.reason == "NOT_HONOURING_PARTNER"


def test_accepting_supersedes_the_pairs_active_version_and_never_brings_an_older_one_back() -> None:
    first = _active()
    second = rules.propose(
        _terms(version=2), agreement_id="b", caller="brewhaus", key_id="k", signature=b"", latest_version=1, now_ms=NOW
    )
    accepted, superseded = rules.accept(second, caller="voltline", key_id="k", signature=b"", now_ms=NOW, active=first)
    assert (accepted.status, superseded) == (
        VoucherAgreementStatus.ACTIVE,
        replace(first, status=VoucherAgreementStatus.SUPERSEDED),
    )
    older = replace(first, status=VoucherAgreementStatus.PROPOSED)
    with pytest.raises(FailedPrecondition) as refused:
        rules.accept(older, caller="voltline", key_id="k", signature=b"", now_ms=NOW, active=accepted)
    assert refused.value.reason == "AGREEMENT_SUPERSEDED"


def test_a_voucher_is_valid_from_its_issue_for_the_agreed_days_until_the_month_is_used_up() -> None:
    voucher = rules.issue(_active(), voucher_id="vch-1", member_ref="b-1", issued_this_month=1, now_ms=NOW)
    assert (voucher.issued_at_ms, voucher.expires_at_ms, voucher.agreement_id, voucher.membership_id) == (
        NOW,
        NOW + 14 * DAY_MS,
        "vag-1",
        "",
    )
    with pytest.raises(ResourceExhausted) as limit:
        rules.issue(_active(), voucher_id="vch-2", member_ref="b-1", issued_this_month=2, now_ms=NOW)
    assert limit.value.reason == "MONTHLY_LIMIT"
    with pytest.raises(FailedPrecondition) as late:
        rules.issue(_active(), voucher_id="vch-3", member_ref="b-1", issued_this_month=0, now_ms=NOW + 91 * DAY_MS)
    assert late.value.reason == "AGREEMENT_NOT_IN_FORCE"


@pytest.mark.parametrize(
    ("moment", "month_start"),
    [
        (datetime(2027, 3, 31, 23, 59, 59, 999_000, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)),
        (datetime(2027, 4, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC)),
        (datetime(2028, 2, 29, 12, tzinfo=UTC), datetime(2028, 2, 1, tzinfo=UTC)),
    ],
)
def test_the_monthly_limit_counts_from_the_start_of_the_utc_calendar_month(
    moment: datetime, month_start: datetime
) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    now_ms = (moment - epoch) // _MS
    assert _month_start_ms(now_ms) == (month_start - epoch) // _MS


_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
