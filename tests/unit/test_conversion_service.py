"""Quote and Convert as the service runs them, on fake repositories: every refusal, no database.

The same commands run against the real store in tests/e2e/test_conversions.py; here each rule of
the money path is one sentence, and a refused conversion leaves the books as they were.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from exchange.domain.agreements import AgreementStatus
from exchange.domain.conversions import ConversionState
from exchange.domain.errors import ExchangeError, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from exchange.domain.instructions import InstructionKind
from exchange.domain.ledger import money_positions, totals_by_currency
from exchange.domain.partners import PartnerStatus
from exchange.service import conversions
from exchange.service.authentication import Caller
from exchange.service.conversions import ConversionPolicy
from tests.unit.fakes import BOOKS_DAY_MS, BOOKS_NOW, FakeBooks, FakeUnitOfWork, brand, stride_to_volt_agreement

NOW = BOOKS_NOW
DAY_MS = BOOKS_DAY_MS
STRIDE = Caller("stride", "k1")
POLICY = ConversionPolicy(quote_ttl_ms=60_000, credit_deadline_ms=900_000, member_conversions_per_hour=10)


@pytest.fixture
def books() -> FakeBooks:
    return FakeBooks(
        partners={"stride": brand("stride", "EUR"), "volt": brand("volt", "GBP")},
        agreements=[stride_to_volt_agreement()],
    )


def _quote(books: FakeBooks, points: int = 1_000, at_ms: int = NOW) -> str:
    return conversions.quote(FakeUnitOfWork(books), STRIDE, "volt", points, at_ms, POLICY).quote_id


def _convert(books: FakeBooks, quote_id: str, member: str = "m-1", at_ms: int = NOW, policy: ConversionPolicy = POLICY):
    return conversions.convert(
        FakeUnitOfWork(books),
        STRIDE,
        quote_id=quote_id,
        source_member_ref=member,
        target_member_ref="v-1",
        now_ms=at_ms,
        policy=policy,
    )


def _refused(books: FakeBooks, quote_id: str, **options: object) -> ExchangeError:
    before = (len(books.conversions), len(books.ledger), len(books.instructions), dict(books.quotes))
    with pytest.raises(ExchangeError) as refusal:
        _convert(books, quote_id, **options)  # type: ignore[arg-type]
    assert (len(books.conversions), len(books.ledger), len(books.instructions), dict(books.quotes)) == before
    return refusal.value


def test_a_conversion_debits_the_member_posts_a_balanced_ledger_and_instructs_the_target_to_credit(
    books: FakeBooks,
) -> None:
    conversion = _convert(books, _quote(books))
    assert conversion.state is ConversionState.PENDING_CREDIT
    assert conversion.credit_deadline_ms == NOW + POLICY.credit_deadline_ms
    (credit,) = books.instructions.values()
    assert (credit.partner_id, credit.kind, credit.member_ref) == ("volt", InstructionKind.CREDIT, "v-1")
    assert credit.points == conversion.amounts.target_points
    postings = [posting for transaction in books.ledger for posting in transaction.postings]
    assert all(total == 0 for total in totals_by_currency(postings).values())
    assert money_positions(postings)[("stride", "GBP")] == -conversion.amounts.settlement_amount_minor


def test_a_quote_converts_once(books: FakeBooks) -> None:
    quote_id = _quote(books)
    _convert(books, quote_id)
    assert _refused(books, quote_id).reason == "QUOTE_ALREADY_USED"


def test_a_quote_past_its_time_to_live_is_refused_for_good(books: FakeBooks) -> None:
    quote_id = _quote(books)
    refusal = _refused(books, quote_id, at_ms=NOW + POLICY.quote_ttl_ms)
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "QUOTE_EXPIRED" and refusal.final


def test_another_brands_quote_is_not_found(books: FakeBooks) -> None:
    quote_id = _quote(books)
    books.quotes[quote_id] = replace(books.quotes[quote_id], source_partner_id="volt")
    assert isinstance(_refused(books, quote_id), NotFound)


def test_an_unknown_quote_is_not_found(books: FakeBooks) -> None:
    assert _refused(books, "quo-nope").reason == "QUOTE_NOT_FOUND"


def test_a_conversion_is_refused_when_the_agreement_was_suspended_after_the_quote(books: FakeBooks) -> None:
    quote_id = _quote(books)
    books.agreements[0] = replace(books.agreements[0], status=AgreementStatus.SUSPENDED)
    assert _refused(books, quote_id).reason == "AGREEMENT_NOT_ACTIVE"


def test_a_conversion_is_refused_when_the_target_brand_was_suspended_after_the_quote(books: FakeBooks) -> None:
    quote_id = _quote(books)
    books.partners["volt"] = replace(books.partners["volt"], status=PartnerStatus.SUSPENDED)
    assert _refused(books, quote_id).reason == "COUNTERPARTY_NOT_ACTIVE"


def test_a_member_reference_that_is_not_one_is_refused_before_anything_is_read(books: FakeBooks) -> None:
    refusal = _refused(books, _quote(books), member="")
    assert isinstance(refusal, InvalidArgument)


def test_the_members_daily_cap_with_the_pair_counts_standing_conversions_of_the_day(books: FakeBooks) -> None:
    for _ in range(5):
        _convert(books, _quote(books, 1_000))  # 5 x 1,000 debited (the fee comes out of them): the cap, exactly
    assert _refused(books, _quote(books, 100)).reason == "MEMBER_DAILY_CAP"
    assert _convert(books, _quote(books, 1_000), member="m-2").state is ConversionState.PENDING_CREDIT


def test_a_failed_conversion_gives_its_points_back_to_the_daily_cap(books: FakeBooks) -> None:
    converted = [_convert(books, _quote(books, 1_000)) for _ in range(5)]
    failed = converted[0]
    books.conversions[failed.conversion_id] = replace(failed, state=ConversionState.REJECTED)
    assert _convert(books, _quote(books, 1_000)).state is ConversionState.PENDING_CREDIT


def test_the_next_utc_day_starts_a_new_daily_cap(books: FakeBooks) -> None:
    for _ in range(5):
        _convert(books, _quote(books, 1_000))
    tomorrow = (NOW // DAY_MS + 1) * DAY_MS
    assert _convert(books, _quote(books, 1_000, tomorrow), at_ms=tomorrow).state is ConversionState.PENDING_CREDIT


def test_a_member_converting_too_often_in_an_hour_is_refused_whatever_became_of_the_earlier_ones(
    books: FakeBooks,
) -> None:
    roomy = replace(POLICY, member_conversions_per_hour=2)
    for _ in range(2):
        _convert(books, _quote(books, 100), policy=roomy)
    for conversion in list(books.conversions.values()):
        books.conversions[conversion.conversion_id] = replace(conversion, state=ConversionState.REJECTED)
    assert _refused(books, _quote(books, 100), policy=roomy).reason == "MEMBER_VELOCITY"


def test_a_source_brand_past_its_exposure_limit_is_refused(books: FakeBooks) -> None:
    tight = replace(POLICY, exposure_limit_minor=1_000)
    _convert(books, _quote(books, 1_000), policy=tight)  # owes 742 minor units
    refusal = _refused(books, _quote(books, 1_000), member="m-2", policy=tight)
    assert isinstance(refusal, ResourceExhausted) and refusal.reason == "EXPOSURE_LIMIT"


def test_a_quote_needs_an_agreement_in_force(books: FakeBooks) -> None:
    books.agreements.clear()
    with pytest.raises(FailedPrecondition, match="no accepted agreement"):
        _quote(books)
    books.agreements.append(
        stride_to_volt_agreement(terms=replace(stride_to_volt_agreement().terms, valid_from_ms=NOW + DAY_MS))
    )
    with pytest.raises(FailedPrecondition) as refusal:
        _quote(books)
    assert refusal.value.reason == "AGREEMENT_NOT_IN_FORCE"


def test_a_quote_outside_the_agreements_amounts_is_refused_and_nothing_is_kept(books: FakeBooks) -> None:
    for points in (10, 10_010, 1_005):  # under the minimum, over the maximum, off the increment
        with pytest.raises(InvalidArgument):
            _quote(books, points)
    assert books.quotes == {}
