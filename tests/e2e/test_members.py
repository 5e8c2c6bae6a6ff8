"""Linking a member's accounts across brands, with pairwise ids that brands can't correlate."""

from __future__ import annotations

import re

import pytest
import sqlalchemy

from partner_sdk import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from tests.conftest import RunningHub

PAIRWISE = re.compile(r"pm-[a-z2-7]{32}")


@pytest.fixture
def brands(hub: RunningHub):  # type: ignore[no-untyped-def]
    return [hub.active_partner(name)[0] for name in ("stride", "voltline", "brewhaus")]


def test_a_member_links_three_brands_and_each_sees_its_own_pairwise_id(brands) -> None:  # type: ignore[no-untyped-def]
    stride, voltline, brewhaus = brands
    code = stride.create_link_code("stride-1041")
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code.code)
    at_volt = voltline.redeem_link_code(code.code.lower().replace("-", " "), member_ref="volt-77")
    at_brew = brewhaus.redeem_link_code(stride.create_link_code("stride-1041").code, member_ref="brew-5")
    ids = {code.pairwise_member_id, at_volt.pairwise_member_id, at_brew.pairwise_member_id}
    assert len(ids) == 3
    assert all(PAIRWISE.fullmatch(i) for i in ids)
    assert at_volt.counterparty_id == "stride"
    assert stride.create_link_code("stride-1041").pairwise_member_id == code.pairwise_member_id  # stable
    seen_by_stride = stride.list_links("stride-1041")
    assert {link.counterparty_id for link in seen_by_stride} == {"voltline", "brewhaus"}
    assert {link.pairwise_member_id for link in seen_by_stride} == {code.pairwise_member_id}
    assert [link.counterparty_id for link in voltline.list_links("volt-77")] == ["stride"]  # not brewhaus


def test_a_code_is_single_use_expires_and_cannot_be_redeemed_by_its_issuer(hub: RunningHub, brands) -> None:  # type: ignore[no-untyped-def]
    stride, voltline, brewhaus = brands
    code = stride.create_link_code("stride-1").code
    with pytest.raises(FailedPreconditionError) as refused:
        stride.redeem_link_code(code, member_ref="stride-2")
    assert refused.value.reason == "SAME_PARTNER"
    voltline.redeem_link_code(code, member_ref="volt-1")
    with pytest.raises(FailedPreconditionError) as refused:
        brewhaus.redeem_link_code(code, member_ref="brew-1")
    assert refused.value.reason == "LINK_CODE_INVALID"
    stale = stride.create_link_code("stride-1").code
    hub.clock.advance(10 * 60 * 1000)
    with pytest.raises(FailedPreconditionError) as refused:
        brewhaus.redeem_link_code(stale, member_ref="brew-1")
    assert refused.value.reason == "LINK_CODE_INVALID"


def test_guessing_codes_is_refused_for_a_while_after_five_misses(hub: RunningHub, brands) -> None:  # type: ignore[no-untyped-def]
    stride, voltline, _ = brands
    for guess in ("AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC", "DDDDD-DDDDD", "EEEEE-EEEEE"):
        with pytest.raises(FailedPreconditionError):
            voltline.redeem_link_code(guess, member_ref="volt-1")
    good = stride.create_link_code("stride-1").code
    with pytest.raises(ResourceExhaustedError) as refused:
        voltline.redeem_link_code(good, member_ref="volt-1")
    assert refused.value.reason == "LINK_CODE_ATTEMPTS"
    hub.clock.advance(10 * 60 * 1000 + 1)  # the window passes (and the old code expires with it)
    fresh = stride.create_link_code("stride-1").code
    assert voltline.redeem_link_code(fresh, member_ref="volt-1").counterparty_id == "stride"


def test_an_account_cannot_join_a_second_member_or_link_twice(brands) -> None:  # type: ignore[no-untyped-def]
    stride, voltline, _ = brands
    voltline.redeem_link_code(stride.create_link_code("stride-1").code, member_ref="volt-1")
    with pytest.raises(FailedPreconditionError) as refused:
        voltline.redeem_link_code(stride.create_link_code("stride-2").code, member_ref="volt-1")
    assert refused.value.reason == "ACCOUNT_LINKED_ELSEWHERE"
    with pytest.raises(AlreadyExistsError) as exists:
        voltline.redeem_link_code(stride.create_link_code("stride-1").code, member_ref="volt-1")
    assert exists.value.reason == "LINK_EXISTS"


def test_either_brand_unlinks_and_the_history_stays(brands) -> None:  # type: ignore[no-untyped-def]
    stride, voltline, brewhaus = brands
    link = voltline.redeem_link_code(stride.create_link_code("stride-1").code, member_ref="volt-1")
    with pytest.raises(NotFoundError):
        brewhaus.unlink(link.link_id, reason="not mine")
    ended = stride.unlink(link.link_id, reason="member asked")
    assert (ended.ended_by, ended.end_reason) == ("stride", "member asked")
    assert ended.ended_at is not None
    (kept,) = voltline.list_links("volt-1")
    assert kept.ended_at is not None
    with pytest.raises(FailedPreconditionError) as refused:
        voltline.unlink(link.link_id, reason="again")
    assert refused.value.reason == "LINK_ENDED"
    relinked = voltline.redeem_link_code(stride.create_link_code("stride-1").code, member_ref="volt-1")
    assert relinked.pairwise_member_id == link.pairwise_member_id


@pytest.mark.parametrize(
    ("code", "member_ref", "field"), [("nope", "volt-1", "code"), ("AAAAA-AAAAA", "", "member_ref")]
)
def test_malformed_input_is_invalid_argument(brands, code: str, member_ref: str, field: str) -> None:  # type: ignore[no-untyped-def]
    _, voltline, _ = brands
    with pytest.raises(InvalidArgumentError) as refused:
        voltline.redeem_link_code(code, member_ref=member_ref)
    assert refused.value.field == field


def test_link_codes_are_stored_only_as_digests(hub: RunningHub, brands) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy

    stride, _, _ = brands
    code = stride.create_link_code("stride-1").code
    with hub.database.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT * FROM link_codes")).all()
    assert rows
    assert not any(code.replace("-", "") in str(tuple(row)) or code in str(tuple(row)) for row in rows)


def test_a_conversion_to_a_linked_member_names_them_by_pairwise_id_only(hub: RunningHub) -> None:
    from tests.e2e.money import accepted_pair

    pair = accepted_pair(hub)
    code = pair.source.create_link_code("stride-1041")
    pair.target.redeem_link_code(code.code, member_ref="volt-77")
    quote = pair.source.quote_conversion("voltline", 100)
    conversion = pair.source.convert(
        quote.quote_id, source_member_ref="stride-1041", pairwise_member_id=code.pairwise_member_id
    )
    assert conversion.target_member_ref == ""  # the source never sees the target's reference
    credit = pair.only_instruction(pair.target)
    assert credit.member_ref == "volt-77"
    unlinked = pair.source.quote_conversion("voltline", 100)
    other = pair.source.create_link_code("stride-2").pairwise_member_id
    with pytest.raises(FailedPreconditionError) as refused:
        pair.source.convert(unlinked.quote_id, source_member_ref="stride-2", pairwise_member_id=other)
    assert refused.value.reason == "MEMBER_NOT_LINKED"
    with pytest.raises(InvalidArgumentError) as both:
        pair.source.convert(
            unlinked.quote_id, source_member_ref="s", target_member_ref="v", pairwise_member_id=code.pairwise_member_id
        )
    assert both.value.reason == "TWO_TARGET_MEMBERS"


def test_wrong_guesses_are_remembered_for_the_whole_window_not_with_the_request_nonces(hub: RunningHub, brands) -> None:  # type: ignore[no-untyped-def]
    stride, voltline, _ = brands
    for guess in ("AAAAA-AAAAA", "BBBBB-BBBBB", "CCCCC-CCCCC", "DDDDD-DDDDD", "EEEEE-EEEEE"):
        with pytest.raises(FailedPreconditionError):
            voltline.redeem_link_code(guess, member_ref="volt-1")
    with hub.database.engine.begin() as connection:  # a short --window-s prunes nonces within minutes
        connection.execute(sqlalchemy.text("DELETE FROM request_nonces"))
    hub.clock.advance(9 * 60 * 1000)
    good = stride.create_link_code("stride-1").code
    with pytest.raises(ResourceExhaustedError) as refused:
        voltline.redeem_link_code(good, member_ref="volt-1")
    assert refused.value.reason == "LINK_CODE_ATTEMPTS"
    hub.clock.advance(60 * 1000 + 1)  # the window has passed
    voltline.redeem_link_code(stride.create_link_code("stride-1").code, member_ref="volt-1")


def test_racing_guesses_never_get_past_the_limit(hub: RunningHub, brands) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    from partner_sdk import ExchangeError

    _, voltline, _ = brands
    from exchange.secrets.pairwise import link_code

    guesses = [link_code() for _ in range(24)]  # well-formed, and (almost surely) issued to nobody

    def guess(code: str) -> str:
        try:
            voltline.redeem_link_code(code, member_ref="volt-1")
        except ExchangeError as refused:
            return refused.reason
        return "LINKED"

    with ThreadPoolExecutor(max_workers=12) as pool:
        reasons = list(pool.map(guess, guesses))
    assert reasons.count("LINK_CODE_INVALID") == 5, reasons
    assert reasons.count("LINK_CODE_ATTEMPTS") == len(guesses) - 5
    with hub.database.engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT count(*) FROM link_code_failures")).scalar_one() == 5
