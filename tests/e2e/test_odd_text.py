"""Odd text in what brands write: kept exactly as sent, or refused with INVALID_ARGUMENT; never interpreted.

SQL meta-characters, LIKE wildcards, right-to-left text, emoji, combining marks, NUL and other
control or format characters, and very long values go into a conversion's member reference,
a dispute's reason and evidence, an award's activity reference, a capture's reference, a
payment's reference and a partner's display name, then are read back. The rule they follow
(exchange.domain.partners.parse_text): surrounding whitespace is trimmed; what remains is
kept exactly if it is printable and short enough, else refused naming the field. Nothing a
text says is ever executed: after all of it every partner is still there and the ledger
balances (checked when the module's hub stops).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from exchange.domain.errors import MAX_MESSAGE_BYTES
from partner_sdk import ExchangeError, InvalidArgumentError, NotFoundError, generate_private_key
from partner_sdk.accruals import AwardItem
from tests.fuzz.scenario import PARTIES, World, build_world, module_hub

KEPT = "kept"
TEXTS: dict[str, tuple[str, str]] = {
    # name: (text, KEPT or the reason it is refused)
    "sql comment": ("'; DROP TABLE partners;--", KEPT),
    "sql tautology": ("' OR '1'='1", KEPT),
    "sql union": ("x' UNION SELECT partner_id FROM partners --", KEPT),
    "like wildcards": ("%_%", KEPT),
    "backslash quote": ("\\'\\\"", KEPT),
    "hebrew": ("\u05d7\u05d1\u05e8 \u05de\u05d5\u05e2\u05d3\u05d5\u05df", KEPT),
    "arabic": ("\u0639\u0636\u0648 \u0661\u0662\u0663", KEPT),
    "cjk": ("\u4f1a\u5458\u4e00\u53f7", KEPT),
    "emoji": ("\U0001f3c3\U0001f389\U0001f9e1", KEPT),
    "combining marks": ("e\u0301\u0302\u0303 a\u0308", KEPT),
    "astral letters": ("\U0001d518\U0001d52b\U0001d526", KEPT),
    "right-to-left override": ("abc\u202edef", "INVALID_TEXT"),
    "zero-width joiner emoji": ("\U0001f3c3\u200d\u2640\ufe0f", "INVALID_TEXT"),
    "byte order mark": ("\ufeffm-1", "INVALID_TEXT"),
    "nul": ("a\x00b", "INVALID_TEXT"),
    "newline": ("a\nb", "INVALID_TEXT"),
    "escape": ("a\x1b[31mred", "INVALID_TEXT"),
    "no-break space inside": ("a\u00a0b", "INVALID_TEXT"),
    "only spaces": ("   ", "EMPTY_FIELD"),
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("odd-text")
    for hub in module_hub(request.param, request, tmp):
        w = build_world(hub)
        yield w
        partners = {p.partner_id for p in w.operator.iter_partners()}
        assert set(PARTIES) <= partners  # nothing a text said was run


def _member_ref(w: World, text: str) -> str:
    stride = w["stride"]
    quote = stride.quote_conversion("voltline", 10)
    made = stride.convert(quote.quote_id, source_member_ref=text, target_member_ref="v-1")
    found = stride.get_conversion(made.conversion_id)
    listed = stride.list_conversions(member_ref=found.source_member_ref, page_size=200).items
    assert [c.conversion_id for c in listed] == [made.conversion_id]  # the filter matches the text, nothing else
    return found.source_member_ref


def _dispute_reason(w: World, text: str) -> str:
    opened = w["voltline"].open_dispute(movement_id=w.ids["conversion"], claimed_amount_minor=1, reason=text)
    return w["stride"].get_dispute(opened.dispute_id).reason


def _activity_reference(w: World, text: str) -> str:
    item = AwardItem("stride", w.ids["voltline_pairwise"], "run_logged", text, 1)
    result = w["voltline"].award(item)
    if not result.ok:
        assert result.error_code == "INVALID_ARGUMENT", result
        raise InvalidArgumentError(result.error_message, reason=result.error_reason, field=result.error_field)
    assert result.award is not None
    return w["stride"].get_award(result.award.award_id).activity_reference


def _capture_reference(w: World, text: str) -> str:
    captured = w["voltline"].capture_hold(w.ids["hold"], 1, target_reference=text)
    return captured.captures[-1].target_reference


def _payment_reference(w: World, text: str) -> str:
    paid = w["stride"].record_payment(w.ids["payment_instruction"], 1, payment_reference=text)
    return paid.payments[-1].payment_reference


_registered = iter(range(10_000))


def _display_name(w: World, text: str) -> str:
    n = next(_registered)
    partner_id = f"odd-{n}"
    client = w.hub.client(partner_id, generate_private_key())
    client.register(
        display_name=text, point_currency=f"OD{n}", settlement_currency="GBP", point_value_minor=Fraction(1)
    )
    return w.operator.get_partner(partner_id).display_name


ROUND_TRIPS: dict[str, tuple[Callable[[World, str], str], int]] = {
    # name: (write the text and read it back, the most characters kept)
    "conversion member ref": (_member_ref, 128),
    "dispute reason": (_dispute_reason, 500),
    "award activity reference": (_activity_reference, 128),
    "capture reference": (_capture_reference, 128),
    "payment reference": (_payment_reference, 128),
    "partner display name": (_display_name, 100),
}


def _refusal(error: ExchangeError) -> str:
    assert isinstance(error, InvalidArgumentError), error
    return error.reason


@pytest.mark.parametrize("text_name", sorted(TEXTS))
@pytest.mark.parametrize("field", sorted(ROUND_TRIPS))
def test_odd_text_is_kept_exactly_or_refused_as_invalid_argument(world: World, field: str, text_name: str) -> None:
    text, expected = TEXTS[text_name]
    write_and_read, _ = ROUND_TRIPS[field]
    try:
        got = write_and_read(world, text)
    except ExchangeError as error:
        assert _refusal(error) == expected, error.message
    else:
        assert expected == KEPT, f"{text!r} was kept as {got!r}"
        assert got == text


@pytest.mark.parametrize("field", sorted(ROUND_TRIPS))
def test_surrounding_whitespace_is_trimmed_and_the_rest_kept(world: World, field: str) -> None:
    write_and_read, _ = ROUND_TRIPS[field]
    assert write_and_read(world, "  inner  spaces\u05d0 ") == "inner  spaces\u05d0"


@pytest.mark.parametrize("field", sorted(ROUND_TRIPS))
def test_text_up_to_the_limit_is_kept_and_one_more_character_is_refused(world: World, field: str) -> None:
    write_and_read, most = ROUND_TRIPS[field]
    longest = ("\U0001f3c3" + "'%_" * most)[:most]  # four-byte and meta characters: the limit counts characters
    assert write_and_read(world, longest) == longest
    for too_long in (longest + "x", "y" * 10_000):
        with pytest.raises(InvalidArgumentError) as refused:
            write_and_read(world, too_long)
        assert refused.value.reason == "FIELD_TOO_LONG"


def test_dispute_evidence_keeps_lines_and_odd_text_exactly_but_not_nul(world: World) -> None:
    voltline = world["voltline"]
    evidence = "line 1: '; DROP TABLE disputes;--\r\nline 2: \u202e\u05d0 \U0001f3c3\u200d\u2640\ufe0f\tend"
    opened = voltline.open_dispute(
        movement_id=world.ids["conversion"], claimed_amount_minor=1, reason="see evidence", evidence=evidence
    )
    assert world["stride"].get_dispute(opened.dispute_id).evidence == evidence
    with pytest.raises(InvalidArgumentError) as refused:
        voltline.open_dispute(
            movement_id=world.ids["conversion"], claimed_amount_minor=1, reason="nul", evidence="a\x00b"
        )
    assert (refused.value.reason, refused.value.field) == ("INVALID_TEXT", "evidence")


READS: dict[str, Callable[[World, str], object]] = {
    "agreement": lambda w, i: w["stride"].get_agreement(i),
    "conversion": lambda w, i: w["stride"].get_conversion(i),
    "hold": lambda w, i: w["stride"].get_hold(i),
    "dispute": lambda w, i: w["stride"].get_dispute(i),
    "statement": lambda w, i: w["stride"].get_statement(i),
    "award": lambda w, i: w["stride"].get_award(i),
}


@pytest.mark.parametrize(
    "name", ["sql comment", "like wildcards", "emoji", "right-to-left override", "nul", "very long"]
)
@pytest.mark.parametrize("thing", sorted(READS))
def test_an_odd_or_very_long_id_is_not_found_with_a_bounded_message(world: World, thing: str, name: str) -> None:
    named = "\U0001f3c3" * 12_000 if name == "very long" else TEXTS[name][0]
    try:
        READS[thing](world, named)
    except NotFoundError as error:
        assert len(error.message.encode()) <= MAX_MESSAGE_BYTES
    except InvalidArgumentError as error:
        assert error.reason == "INVALID_TEXT"  # NUL, on PostgreSQL: its text can't hold one
        assert "\x00" in named
    else:
        pytest.fail(f"{thing} {named[:20]!r} was found")


def test_a_like_wildcard_member_ref_matches_only_itself(world: World) -> None:
    stride = world["stride"]
    quote = stride.quote_conversion("voltline", 10)
    stride.convert(quote.quote_id, source_member_ref="wild-a", target_member_ref="v-1")
    for pattern in ("%", "wild-_", "wild%", "%' OR '1'='1"):
        assert stride.list_conversions(member_ref=pattern).items == ()


def test_an_award_item_text_refusal_names_its_field(world: World) -> None:
    item = AwardItem("stride", world.ids["voltline_pairwise"], "run_logged", "ok-ref", 1)
    result = world["voltline"].award(replace(item, activity_reference="a\x00b"))
    assert (result.error_code, result.error_reason, result.error_field) == (
        "INVALID_ARGUMENT",
        "INVALID_TEXT",
        "activity_reference",
    )
