"""A joint membership at a partner's checkout (vouchers, the membership pass) as the service runs it, on fakes.

stride sells the "club" programme (tests.unit.fakes.club_terms): volt gives 2 seller-funded vouchers
of 500 a month (valid 30 days), acme 1 voucher of 300 a week it funds itself (valid 7 days). The
member s-1 is v-1 at volt, linked there, and has no account at acme. A seller-funded voucher
redeemed is a VOUCHER_REDEMPTION movement and ledger entry; a partner-funded one, or one that
expires, moves no money. After every command the books keep their invariants, and a refused
command leaves them as they were (except the final refusal of a late redemption, which expires
the voucher as the sweep would).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from exchange.domain.agreements import DAY_MS
from exchange.domain.errors import ExchangeError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.domain.ledger import money_positions
from exchange.domain.membership_terms import TermLength, benefit_value
from exchange.domain.memberships import add_months
from exchange.domain.settlement import Movement, MovementKind
from exchange.domain.vouchers import Voucher, VoucherState, voucher_id_of
from exchange.secrets.pairwise import pairwise_member_id
from exchange.service import membership_benefits, memberships
from exchange.service.authentication import Caller
from exchange.service.membership_benefits import PASS_LIFETIME_MS, SignedPass, VoucherView
from partner_sdk.keys import generate_private_key, public_key_bytes
from partner_sdk.memberships import MembershipPass, MembershipPassVerificationError, verify_membership_pass
from tests.unit.fakes import (
    BOOKS_NOW,
    FakeBooks,
    FakeUnitOfWork,
    active_membership_agreement,
    assert_consistent,
    club_terms,
    keyed_brand,
    member_with_accounts,
)

NOW = BOOKS_NOW
WEEK = 7 * DAY_MS
END = add_months(NOW, 1)  # the monthly term sold now: 31 days
GRACE_END = END + 7 * DAY_MS
STRIDE = Caller("stride", "k1")
VOLT = Caller("volt", "k1")
ACME = Caller("acme", "k1")
ZETA = Caller("zeta", "k1")
SECRET = b"s" * 32
HUB_KEY = generate_private_key()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def books() -> FakeBooks:
    books = FakeBooks(partners={p: keyed_brand(p, "GBP") for p in ("stride", "volt", "acme", "zeta")})
    active_membership_agreement(books, club_terms())
    return books


@pytest.fixture
def member(books: FakeBooks) -> str:
    return member_with_accounts(books, {"stride": "s-1", "volt": "v-1"}, linked=("volt",))


@pytest.fixture
def membership_id(books: FakeBooks, member: str) -> str:
    shown = memberships.enrol(
        FakeUnitOfWork(books),
        STRIDE,
        programme_id="club",
        member_ref="s-1",
        term=TermLength.MONTHLY,
        score=None,
        fee_minor=1_000,
        pairwise_secret=SECRET,
        now_ms=NOW,
    )
    return shown.membership.membership_id


def _refused(books: FakeBooks, command: Callable[[], object]) -> ExchangeError:
    before = copy.deepcopy(books)
    with pytest.raises(ExchangeError) as refusal:
        command()
    assert books == before
    return refusal.value


def _issue(books: FakeBooks, membership_id: str, at_ms: int) -> int:
    return membership_benefits.issue_due_vouchers(FakeUnitOfWork(books), membership_id, at_ms)


def _redeem(books: FakeBooks, voucher_id: str, *, caller: Caller, at_ms: int, reference: str = "till-1") -> VoucherView:
    return membership_benefits.redeem_voucher(FakeUnitOfWork(books), caller, voucher_id, reference, at_ms)


def _pass(books: FakeBooks, membership_id: str, *, caller: Caller = VOLT, at_ms: int) -> SignedPass:
    return membership_benefits.issue_pass(
        FakeUnitOfWork(books),
        caller,
        membership_id,
        pairwise_secret=SECRET,
        key_id="hub-1",
        sign=HUB_KEY.sign,
        now_ms=at_ms,
    )


def _at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _volt_voucher(membership_id: str, number: int = 1) -> str:
    return voucher_id_of(membership_id, "volt", NOW, number)


def _acme_voucher(membership_id: str, start_ms: int = NOW) -> str:
    return voucher_id_of(membership_id, "acme", start_ms, 1)


def _redemptions(books: FakeBooks) -> list[Movement]:
    return [m for _, m in books.movements if m.kind is MovementKind.VOUCHER_REDEMPTION]


# --- issuing --------------------------------------------------------------------------------------------------


def test_the_vouchers_of_every_period_begun_are_issued_and_the_next_period_is_noted(
    books: FakeBooks, member: str, membership_id: str
) -> None:
    assert _issue(books, membership_id, NOW) == 3
    assert sorted(books.vouchers) == sorted(
        [_volt_voucher(membership_id, 1), _volt_voucher(membership_id, 2), _acme_voucher(membership_id)]
    )
    assert books.vouchers[_volt_voucher(membership_id, 2)] == (
        Voucher(
            voucher_id=_volt_voucher(membership_id, 2),
            membership_id=membership_id,
            funder_partner_id="stride",  # seller-funded
            honouring_partner_id="volt",
            member_ref="s-1",
            value_minor=500,
            currency="GBP",
            issued_at_ms=NOW,
            expires_at_ms=NOW + 30 * DAY_MS,
        ),
        member,
    )
    acme = books.voucher(_acme_voucher(membership_id))
    assert (acme.funder_partner_id, acme.value_minor, acme.expires_at_ms) == ("acme", 300, NOW + WEEK)
    assert books.vouchers_due == {membership_id: NOW + WEEK}  # acme's second week
    assert len(books.movements) == 2 and len(books.ledger) == 2  # the fee's shares only: issuing moves no money
    assert_consistent(books)


def test_issuing_again_issues_nothing_twice(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    before = copy.deepcopy(books)
    assert _issue(books, membership_id, NOW + WEEK - 1) == 0
    assert books == before


def test_each_period_is_issued_once_it_begins_and_none_is_due_after_the_last(
    books: FakeBooks, membership_id: str
) -> None:
    _issue(books, membership_id, NOW)
    assert _issue(books, membership_id, NOW + WEEK) == 1
    assert _acme_voucher(membership_id, NOW + WEEK) in books.vouchers
    assert books.vouchers_due[membership_id] == NOW + 2 * WEEK
    assert _issue(books, membership_id, NOW + 4 * WEEK) == 3  # weeks 3, 4 and 5 (the last cut at the term's end)
    assert books.vouchers_due[membership_id] is None
    assert len(books.vouchers) == 2 + 5


def test_a_renewed_term_issues_its_own_periods(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW + 4 * WEEK)
    memberships.renew(
        FakeUnitOfWork(books),
        STRIDE,
        membership_id=membership_id,
        term=TermLength.MONTHLY,
        score=None,
        fee_minor=1_000,
        now_ms=NOW + 4 * WEEK,
    )
    assert _issue(books, membership_id, NOW + 4 * WEEK) == 0
    assert books.vouchers_due[membership_id] == END  # the next term's first period
    assert _issue(books, membership_id, END) == 3
    assert voucher_id_of(membership_id, "volt", END, 2) in books.vouchers


def test_a_cancelled_or_unknown_membership_issues_nothing_more(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, NOW + DAY_MS)
    assert _issue(books, membership_id, NOW + WEEK) == 0
    assert books.vouchers_due[membership_id] is None
    assert len(books.vouchers) == 3  # the vouchers given stay the member's
    assert _issue(books, "mbs-nope", NOW) == 0
    assert "mbs-nope" not in books.vouchers_due


def test_the_seller_lists_every_voucher_and_a_partner_its_own_oldest_first_page_by_page(
    books: FakeBooks, membership_id: str
) -> None:
    _issue(books, membership_id, NOW + WEEK)
    work = FakeUnitOfWork(books)
    everything, token = membership_benefits.list_vouchers(work, STRIDE, membership_id, page_size=10, page_token="")
    assert token == "" and [v.member_ref for v in everything] == ["s-1"] * 4
    assert [(v.voucher.issued_at_ms, v.voucher.honouring_partner_id) for v in everything] == [
        (NOW, "acme"),
        (NOW, "volt"),
        (NOW, "volt"),
        (NOW + WEEK, "acme"),
    ]
    first, token = membership_benefits.list_vouchers(work, ACME, membership_id, page_size=1, page_token="")
    assert [v.voucher.voucher_id for v in first] == [_acme_voucher(membership_id)] and token
    assert first[0].member_ref == ""  # no account at acme
    second, token = membership_benefits.list_vouchers(work, ACME, membership_id, page_size=1, page_token=token)
    assert ([v.voucher.voucher_id for v in second], token) == ([_acme_voucher(membership_id, NOW + WEEK)], "")
    with pytest.raises(NotFound):
        membership_benefits.list_vouchers(work, ZETA, membership_id, page_size=10, page_token="")


# --- redeeming ------------------------------------------------------------------------------------------------


def test_a_seller_funded_voucher_redeemed_is_owed_by_the_seller_to_the_honouring_partner(
    books: FakeBooks, membership_id: str
) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _volt_voucher(membership_id)
    shown = _redeem(books, voucher_id, caller=VOLT, at_ms=NOW + DAY_MS, reference=" till-7 ")
    redeemed = books.voucher(voucher_id)
    assert shown == VoucherView(redeemed, "v-1")
    assert (redeemed.state, redeemed.redeemed_at_ms, redeemed.reference) == (
        VoucherState.REDEEMED,
        NOW + DAY_MS,
        "till-7",
    )
    ((movement),) = _redemptions(books)
    assert movement.movement_id.startswith("vrd-")
    assert (movement.source_partner_id, movement.target_partner_id, movement.amount_minor, movement.currency) == (
        "stride",
        "volt",
        500,
        "GBP",
    )
    assert (movement.source_points, movement.target_points, movement.final_at_ms) == (0, 0, NOW + DAY_MS)
    assert books.movements[-1] == ("per-1", movement)
    (posted,) = [t for t in books.ledger if t.reference == movement.movement_id]
    assert posted.kind == "VOUCHER_REDEMPTION"
    assert money_positions(books.postings())[("volt", "GBP")] == 200 + 500
    assert books.voucher(_volt_voucher(membership_id, 2)).state is VoucherState.ISSUED  # only the one
    assert_consistent(books)


def test_a_partner_funded_voucher_redeemed_moves_no_money(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _acme_voucher(membership_id)
    shown = _redeem(books, voucher_id, caller=ACME, at_ms=NOW + 1)
    assert shown.voucher.state is VoucherState.REDEEMED and shown.member_ref == ""  # no account at acme
    assert _redemptions(books) == [] and len(books.ledger) == 2
    assert_consistent(books)


def test_a_voucher_is_redeemed_once(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _volt_voucher(membership_id)
    _redeem(books, voucher_id, caller=VOLT, at_ms=NOW + 1)
    refusal = _refused(books, lambda: _redeem(books, voucher_id, caller=VOLT, at_ms=NOW + 2, reference="till-2"))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "VOUCHER_ALREADY_REDEEMED"
    assert len(_redemptions(books)) == 1


def test_of_two_redemptions_racing_the_one_that_moves_the_voucher_second_is_refused(
    books: FakeBooks, membership_id: str
) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _volt_voucher(membership_id)
    stale = books.voucher(voucher_id)  # read by the slower redemption while still ISSUED
    _redeem(books, voucher_id, caller=VOLT, at_ms=NOW + 1)
    slower = FakeUnitOfWork(books)
    slower.vouchers.get = lambda _: stale  # type: ignore[method-assign]
    work = slower
    refusal = _refused(books, lambda: membership_benefits.redeem_voucher(work, VOLT, voucher_id, "till-2", NOW + 2))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "VOUCHER_ALREADY_REDEEMED"
    assert books.voucher(voucher_id).reference == "till-1" and len(_redemptions(books)) == 1


def test_a_stranger_finds_no_voucher(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    refusal = _refused(books, lambda: _redeem(books, _volt_voucher(membership_id), caller=ZETA, at_ms=NOW + 1))
    assert isinstance(refusal, NotFound) and refusal.reason == "VOUCHER_NOT_FOUND"
    refusal = _refused(books, lambda: _redeem(books, _volt_voucher(membership_id), caller=ACME, at_ms=NOW + 1))
    assert isinstance(refusal, NotFound)  # another partner of the membership is a stranger to volt's voucher
    assert _refused(books, lambda: _redeem(books, "vch-nope", caller=VOLT, at_ms=NOW)).reason == "VOUCHER_NOT_FOUND"


def test_the_funder_does_not_redeem_a_voucher_it_does_not_honour(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    refusal = _refused(books, lambda: _redeem(books, _volt_voucher(membership_id), caller=STRIDE, at_ms=NOW + 1))
    assert isinstance(refusal, PermissionDenied) and refusal.reason == "NOT_HONOURING_PARTNER"


def test_a_redemption_needs_a_reference(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    refusal = _refused(
        books, lambda: _redeem(books, _volt_voucher(membership_id), caller=VOLT, at_ms=NOW, reference=" ")
    )
    assert isinstance(refusal, InvalidArgument) and refusal.field == "reference"


def test_a_voucher_redeemed_too_late_is_refused_for_good_and_expired(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _volt_voucher(membership_id)
    before = copy.deepcopy(books)
    with pytest.raises(FailedPrecondition) as refusal:
        _redeem(books, voucher_id, caller=VOLT, at_ms=NOW + 30 * DAY_MS)
    assert refusal.value.reason == "VOUCHER_EXPIRED" and refusal.value.final
    assert books.voucher(voucher_id) == replace(before.voucher(voucher_id), state=VoucherState.EXPIRED)
    books.vouchers[voucher_id] = before.vouchers[voucher_id]
    assert books == before  # nothing else was written: no money moved


def test_an_expired_voucher_stays_refused(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _acme_voucher(membership_id)
    assert membership_benefits.expire_voucher(FakeUnitOfWork(books), voucher_id, NOW + WEEK)
    refusal = _refused(books, lambda: _redeem(books, voucher_id, caller=ACME, at_ms=NOW + 1))  # even on a slow clock
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "VOUCHER_EXPIRED" and refusal.final


def test_a_voucher_is_not_redeemed_before_its_period_begins(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW + WEEK)
    voucher_id = _acme_voucher(membership_id, NOW + WEEK)
    refusal = _refused(books, lambda: _redeem(books, voucher_id, caller=ACME, at_ms=NOW + WEEK - 1))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "VOUCHER_NOT_YET_VALID"
    assert _redeem(books, voucher_id, caller=ACME, at_ms=NOW + WEEK).voucher.state is VoucherState.REDEEMED


# --- expiring -------------------------------------------------------------------------------------------------


def test_an_unused_voucher_expires_once_its_time_is_over_and_moves_no_money(
    books: FakeBooks, membership_id: str
) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _volt_voucher(membership_id)
    before = copy.deepcopy(books)
    assert membership_benefits.expire_voucher(FakeUnitOfWork(books), voucher_id, NOW + 30 * DAY_MS - 1) is False
    assert books == before
    assert membership_benefits.expire_voucher(FakeUnitOfWork(books), voucher_id, NOW + 30 * DAY_MS) is True
    assert books.voucher(voucher_id).state is VoucherState.EXPIRED
    assert (books.movements, books.ledger) == (before.movements, before.ledger)
    after = copy.deepcopy(books)
    assert membership_benefits.expire_voucher(FakeUnitOfWork(books), voucher_id, NOW + 31 * DAY_MS) is False
    assert membership_benefits.expire_voucher(FakeUnitOfWork(books), "vch-nope", NOW + 31 * DAY_MS) is False
    assert books == after


def test_a_redeemed_voucher_does_not_expire(books: FakeBooks, membership_id: str) -> None:
    _issue(books, membership_id, NOW)
    voucher_id = _volt_voucher(membership_id)
    _redeem(books, voucher_id, caller=VOLT, at_ms=NOW + 1)
    assert membership_benefits.expire_voucher(FakeUnitOfWork(books), voucher_id, NOW + 30 * DAY_MS) is False
    assert books.voucher(voucher_id).state is VoucherState.REDEEMED


# --- the pass -------------------------------------------------------------------------------------------------


def test_a_partner_honouring_the_membership_gets_a_short_lived_pass_the_sdk_verifies(
    books: FakeBooks, member: str, membership_id: str
) -> None:
    at = NOW + DAY_MS
    before = copy.deepcopy(books)
    signed = _pass(books, membership_id, at_ms=at)
    assert books == before  # a pass writes nothing
    assert signed.hub_key_id == "hub-1"
    issued = MembershipPass(signed.payload, signed.hub_key_id, signed.signature)
    document = verify_membership_pass(issued, public_key_bytes(HUB_KEY), partner_id="volt", now=_at(at + 60_000))
    assert (document.membership_id, document.programme_id, document.programme_name, document.partner_id) == (
        membership_id,
        "club",
        "Stride Club",
        "volt",
    )
    assert document.pairwise_member_id == pairwise_member_id(SECRET, partner_id="volt", member_id=member)
    assert (document.issued_at, document.valid_until) == (_at(at), _at(at + PASS_LIFETIME_MS))
    assert PASS_LIFETIME_MS == 15 * 60_000
    volt = next(p for p in club_terms().partners if p.partner_id == "volt")
    assert [type(b).__name__ for b in document.benefits] == ["Vouchers", "FreeDelivery"]
    assert [benefit_value(b)["kind"] for b in volt.benefits] == ["VOUCHERS", "FREE_DELIVERY"]
    with pytest.raises(MembershipPassVerificationError) as refusal:
        verify_membership_pass(issued, public_key_bytes(HUB_KEY), partner_id="acme", now=_at(at))
    assert refusal.value.reason == "WRONG_PARTNER"
    with pytest.raises(MembershipPassVerificationError) as refusal:
        verify_membership_pass(issued, public_key_bytes(HUB_KEY), partner_id="volt", now=_at(at + PASS_LIFETIME_MS))
    assert refusal.value.reason == "PASS_EXPIRED"


def test_a_pass_is_valid_no_longer_than_the_membership_is_honoured(books: FakeBooks, membership_id: str) -> None:
    signed = _pass(books, membership_id, at_ms=END - 5 * 60_000)
    issued = MembershipPass(signed.payload, signed.hub_key_id, signed.signature)
    document = verify_membership_pass(issued, public_key_bytes(HUB_KEY), partner_id="volt", now=_at(END - 1))
    assert document.valid_until == _at(END)
    memberships.report_renewal_failure(FakeUnitOfWork(books), STRIDE, membership_id, END - DAY_MS)
    signed = _pass(books, membership_id, at_ms=GRACE_END - 60_000)  # honoured into the grace
    issued = MembershipPass(signed.payload, signed.hub_key_id, signed.signature)
    document = verify_membership_pass(issued, public_key_bytes(HUB_KEY), partner_id="volt", now=_at(GRACE_END - 1))
    assert document.valid_until == _at(GRACE_END)


def test_no_pass_where_the_member_is_not_linked_yet(books: FakeBooks, membership_id: str) -> None:
    refusal = _refused(books, lambda: _pass(books, membership_id, caller=ACME, at_ms=NOW + 1))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "MEMBERSHIP_NOT_ACTIVE"


def test_no_pass_for_a_cancelled_membership(books: FakeBooks, membership_id: str) -> None:
    memberships.cancel(FakeUnitOfWork(books), STRIDE, membership_id, NOW + DAY_MS)
    refusal = _refused(books, lambda: _pass(books, membership_id, at_ms=NOW + 2 * DAY_MS))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "MEMBERSHIP_NOT_ACTIVE"


def test_no_pass_once_the_paid_time_is_over_even_before_the_lapse_is_swept(
    books: FakeBooks, membership_id: str
) -> None:
    refusal = _refused(books, lambda: _pass(books, membership_id, at_ms=END))
    assert isinstance(refusal, FailedPrecondition) and refusal.reason == "MEMBERSHIP_NOT_ACTIVE"
    memberships.lapse_overdue(FakeUnitOfWork(books), membership_id, END)
    assert _refused(books, lambda: _pass(books, membership_id, at_ms=END)).reason == "MEMBERSHIP_NOT_ACTIVE"


def test_neither_the_seller_nor_a_stranger_gets_a_pass(books: FakeBooks, membership_id: str) -> None:
    for caller in (STRIDE, ZETA):
        refusal = _refused(books, lambda caller=caller: _pass(books, membership_id, caller=caller, at_ms=NOW + 1))
        assert isinstance(refusal, NotFound) and refusal.reason == "MEMBERSHIP_NOT_FOUND"
