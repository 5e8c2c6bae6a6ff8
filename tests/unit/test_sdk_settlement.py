"""The SDK's settlement side, offline: statements verified, chains checked, CSV/JSON/HTML exports."""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
import re
import string
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_sdk.settlement import (
    GENESIS_SHA256,
    INT64_MAX,
    Movement,
    PaymentInstructionStatus,
    PaymentRecord,
    Statement,
    StatementDocument,
    StatementFormatError,
    StatementVerificationError,
    canonical_json,
    document_sha256,
    format_utc_ms,
    parse_utc_ms,
    statement_message,
    verify_chain,
    verify_statement,
)
from partner_sdk.settlement_csv import (
    COLUMNS,
    CurrencyTotals,
    DetailRecord,
    EndRecord,
    Flow,
    HeaderRecord,
    LineProblem,
    MovementCsvReader,
    TrailerRecord,
    check_column_header,
    check_controls,
    parse_record,
    read_movements_csv,
    write_movements_csv,
)
from partner_sdk.settlement_html import format_money, render_statement_html, write_statement_json

HUB_KEY = Ed25519PrivateKey.generate()
HUB_PUBLIC = HUB_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
ME = "sportsbrand"
PERIOD = "per-000003"
T0 = 1_764_000_000_000


# --- building signed statements ---------------------------------------------------------------


def line(
    counterparty: str,
    currency: str = "EUR",
    *,
    as_source: int = 0,
    as_target: int = 0,
    retired: int = 0,
    issued: int = 0,
    payable: int = 0,
    receivable: int = 0,
) -> dict[str, Any]:
    return {
        "counterparty": counterparty,
        "currency": currency,
        "movements_as_source": as_source,
        "movements_as_target": as_target,
        "points_retired_for_counterparty": retired,
        "points_issued_for_counterparty": issued,
        "money_payable_minor": payable,
        "money_receivable_minor": receivable,
        "bilateral_net_minor": receivable - payable,
    }


MUSIC_EUR = line("musicbrand", as_source=3, as_target=1, retired=3000, issued=200, payable=1500, receivable=100)


def document_value(
    *,
    sequence: int = 3,
    previous: str = "ab" * 32,
    partner: str = ME,
    display_name: str = "Sports Brand",
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A consistent statement document: nets, checks, instructions and controls follow from the lines."""
    lines = copy.deepcopy(lines if lines is not None else [MUSIC_EUR])
    lines.sort(key=lambda x: (x["counterparty"], x["currency"]))
    number = sequence
    currencies = sorted({x["currency"] for x in lines})
    nets = {c: sum(x["bilateral_net_minor"] for x in lines if x["currency"] == c) for c in currencies}
    instructions = []
    for currency in currencies:
        if nets[currency]:
            other = next(x["counterparty"] for x in lines if x["currency"] == currency)
            payer, payee = (partner, other) if nets[currency] < 0 else (other, partner)
            amount = abs(nets[currency])
            instructions.append({"currency": currency, "payer": payer, "payee": payee, "amount_minor": amount})
    for index, instruction in enumerate(instructions, start=1):
        instruction["instruction_id"] = f"pay-{number:06d}-{index:02d}"
    controls = []
    for currency in currencies:
        mine = [x for x in lines if x["currency"] == currency]
        controls.append(
            {
                "currency": currency,
                "movements": sum(x["movements_as_source"] + x["movements_as_target"] for x in mine),
                "source_points": sum(x["points_retired_for_counterparty"] for x in mine),
                "target_points": sum(x["points_issued_for_counterparty"] for x in mine),
                "amount_minor": sum(x["money_payable_minor"] + x["money_receivable_minor"] for x in mine),
            }
        )
    return {
        "format": "coalition-statement/1",
        "statement_id": f"stm-{number:06d}-{partner}",
        "partner_id": partner,
        "display_name": display_name,
        "point_currency": "SPT",
        "sequence": sequence,
        "previous_statement_sha256": previous,
        "hub_key_id": "hub-0123456789abcdef",
        "period": {
            "period_id": f"per-{number:06d}",
            "number": number,
            "opened_at_ms": T0 + (number - 1) * 1000,
            "cutoff_ms": T0 + number * 1000,
            "closed_at_ms": T0 + number * 1000 + 500,
        },
        "counterparties": lines,
        "net_positions": [{"currency": c, "net_minor": nets[c]} for c in currencies],
        "coalition_check": [{"currency": c, "partners": 3, "sum_of_net_positions_minor": 0} for c in currencies],
        "payment_instructions": instructions,
        "outstanding_from_earlier_periods": [
            {
                "instruction_id": "pay-000001-01",
                "period_id": "per-000001",
                "currency": "EUR",
                "payer": partner,
                "payee": "bookbrand",
                "outstanding_minor": 50,
            }
        ],
        "control_totals": controls,
        "movement_count": sum(c["movements"] for c in controls),
    }


def sign_bytes(document: bytes, value: dict[str, Any], key: Ed25519PrivateKey = HUB_KEY) -> Statement:
    return Statement(
        statement_id=value["statement_id"],
        partner_id=value["partner_id"],
        period_id=value["period"]["period_id"],
        sequence=value["sequence"],
        document=document,
        document_sha256=document_sha256(document),
        previous_statement_sha256=value["previous_statement_sha256"],
        signature=key.sign(statement_message(document)),
        hub_key_id=value["hub_key_id"],
    )


def sign(value: dict[str, Any], key: Ed25519PrivateKey = HUB_KEY) -> Statement:
    return sign_bytes(canonical_json(value), value, key)


def chain(count: int, partner: str = ME) -> list[Statement]:
    statements: list[Statement] = []
    for sequence in range(1, count + 1):
        previous = statements[-1].document_sha256 if statements else GENESIS_SHA256
        statements.append(sign(document_value(sequence=sequence, previous=previous, partner=partner)))
    return statements


def refusal(statement: Statement, key: bytes = HUB_PUBLIC) -> StatementVerificationError:
    with pytest.raises(StatementVerificationError) as caught:
        verify_statement(statement, key)
    return caught.value


# --- canonical JSON ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reordered(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


@given(json_values)
def test_canonical_json_is_stable_ascii_and_independent_of_key_order(value: Any) -> None:
    encoded = canonical_json(value)
    assert encoded == canonical_json(reordered(value))
    assert encoded == canonical_json(json.loads(encoded))
    assert json.loads(encoded) == value
    encoded.decode("ascii")


@given(json_values, st.floats(allow_nan=True, allow_infinity=True))
def test_canonical_json_refuses_a_float_anywhere_in_the_tree(value: Any, number: float) -> None:
    with pytest.raises(TypeError, match="float"):
        canonical_json({"a": [value, {"amount_minor": number}]})


def test_canonical_json_sorts_keys_and_has_no_spaces() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == b'{"a":[true,null,"\\u00e9"],"b":1}'


def test_canonical_json_refuses_non_string_keys() -> None:
    with pytest.raises(TypeError, match="non-string key"):
        canonical_json({1: 2})


# --- the document model -----------------------------------------------------------------------


def test_a_canonical_document_parses_and_gives_back_the_exact_bytes() -> None:
    document = canonical_json(document_value())
    parsed = StatementDocument.from_json(document)
    assert parsed.period.period_id == PERIOD
    assert parsed.counterparties[0].bilateral_net_minor == -1400
    assert parsed.payment_instructions[0].amount_minor == 1400
    assert canonical_json(parsed.to_json_value()) == document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda v: v.update(format="coalition-statement/2"), "unknown format"),
        (lambda v: v.pop("movement_count"), "missing movement_count"),
        (lambda v: v.update(extra=1), "unknown key"),
        (lambda v: v.update(sequence=True), "sequence must be an integer"),
        (lambda v: v.update(sequence="3"), "sequence must be an integer"),
        (lambda v: v["period"].update(number=2**63), "out of range"),
        (lambda v: v["counterparties"][0].update(currency="euro"), "ISO 4217"),
        (lambda v: v["counterparties"][0].update(counterparty=""), "non-empty string"),
        (lambda v: v.update(counterparties={}), "must be a list"),
        (lambda v: v.update(previous_statement_sha256="xyz"), "previous_statement_sha256"),
        (lambda v: v["payment_instructions"][0].update(amount_minor=0), "positive amount"),
        (lambda v: v.update(net_positions=[{"currency": "USD", "net_minor": 0}, v["net_positions"][0]]), "not sorted"),
    ],
)
def test_a_malformed_document_is_refused_by_name(mutate: Any, message: str) -> None:
    value = document_value()
    mutate(value)
    with pytest.raises(StatementFormatError, match=message):
        StatementDocument.from_json(json.dumps(value).encode())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"format": "coalition-statement/1", "sequence": 1.5}', "non-integer"),
        (b'{"format": "coalition-statement/1", "sequence": NaN}', "non-integer"),
        (b'{"format": "coalition-statement/1", "format": "coalition-statement/1"}', "repeats a key"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff", "not UTF-8"),
        (b"{", "not JSON"),
    ],
)
def test_a_document_that_is_not_integer_json_is_refused(document: bytes, message: str) -> None:
    with pytest.raises(StatementFormatError, match=message):
        StatementDocument.from_json(document)


# --- verifying one statement ------------------------------------------------------------------


def test_a_statement_signed_by_the_hub_verifies() -> None:
    value = document_value()
    document = verify_statement(sign(value), HUB_PUBLIC)
    assert document.to_json_value() == value


def test_a_tampered_document_is_refused_because_its_hash_no_longer_matches() -> None:
    statement = sign(document_value())
    tampered = replace(statement, document=statement.document.replace(b"1500", b"1000"))
    error = refusal(tampered)
    assert error.reason == "DOCUMENT_HASH_MISMATCH"
    assert "is not the SHA-256 of the document" in str(error)


def test_a_tampered_document_with_a_recomputed_hash_is_refused_by_the_signature() -> None:
    statement = sign(document_value())
    document = statement.document.replace(b"1500", b"1000")
    error = refusal(replace(statement, document=document, document_sha256=document_sha256(document)))
    assert error.reason == "BAD_SIGNATURE"


def test_a_statement_checked_with_the_wrong_hub_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    error = refusal(sign(document_value()), other)
    assert error.reason == "BAD_SIGNATURE"
    assert "does not verify with this hub public key" in str(error)


def test_a_hub_key_of_the_wrong_length_is_refused() -> None:
    assert refusal(sign(document_value()), b"short").reason == "BAD_HUB_KEY"


def test_a_wrong_document_sha256_in_the_envelope_is_refused() -> None:
    error = refusal(replace(sign(document_value()), document_sha256="0" * 64))
    assert error.reason == "DOCUMENT_HASH_MISMATCH"
    assert "'" + "0" * 64 + "'" in str(error)


@pytest.mark.parametrize(
    ("field", "wrong"),
    [
        ("statement_id", "stm-000003-musicbrand"),
        ("partner_id", "musicbrand"),
        ("period_id", "per-000002"),
        ("sequence", 4),
        ("previous_statement_sha256", "cd" * 32),
        ("hub_key_id", "hub-other"),
    ],
)
def test_an_envelope_that_disagrees_with_the_signed_document_is_refused(field: str, wrong: Any) -> None:
    error = refusal(replace(sign(document_value()), **{field: wrong}))
    assert error.reason == "ENVELOPE_MISMATCH"
    assert f"the envelope's {field} {wrong!r}" in str(error)


def test_an_unbalanced_coalition_check_is_refused() -> None:
    value = document_value()
    value["coalition_check"][0]["sum_of_net_positions_minor"] = 5
    error = refusal(sign(value))
    assert error.reason == "COALITION_UNBALANCED"
    assert "coalition check in EUR: the 3 partners' net positions sum to 5, not 0" in str(error)


def test_a_net_position_that_is_not_the_sum_of_bilateral_nets_is_refused() -> None:
    value = document_value()
    value["net_positions"][0]["net_minor"] = -1300
    error = refusal(sign(value))
    assert error.reason == "NET_POSITION_WRONG"
    assert "the net position in EUR is -1300, but the bilateral nets sum to -1400" in str(error)


def test_a_bilateral_net_that_is_not_receivable_minus_payable_is_refused() -> None:
    value = document_value()
    value["counterparties"][0]["bilateral_net_minor"] = -1300
    value["net_positions"][0]["net_minor"] = -1300
    error = refusal(sign(value))
    assert error.reason == "BILATERAL_NET_WRONG"
    assert "counterparty 'musicbrand' in EUR" in str(error)


def test_control_totals_that_do_not_count_movement_count_are_refused() -> None:
    value = document_value()
    value["movement_count"] = 5
    error = refusal(sign(value))
    assert error.reason == "CONTROL_TOTALS_WRONG"
    assert "the control totals count 4 movements, but movement_count is 5" in str(error)


def test_payment_instructions_that_do_not_settle_the_net_position_are_refused() -> None:
    value = document_value()
    value["payment_instructions"][0]["amount_minor"] = 1000
    assert refusal(sign(value)).reason == "PAYMENTS_DO_NOT_SETTLE"


def test_a_signed_document_that_is_not_canonical_is_refused() -> None:
    value = document_value()
    error = refusal(sign_bytes(json.dumps(value, indent=1).encode(), value))
    assert error.reason == "NOT_CANONICAL"


def test_a_signed_document_with_a_float_is_refused_as_malformed() -> None:
    value = document_value()
    document = canonical_json(value).replace(b'"movement_count":4', b'"movement_count":4.0')
    error = refusal(sign_bytes(document, value))
    assert error.reason == "MALFORMED_DOCUMENT"
    assert "non-integer number 4.0" in str(error)


def live(amount: int = 1400, paid: int = 400) -> PaymentInstructionStatus:
    return PaymentInstructionStatus(
        instruction_id="pay-000003-01",
        period_id=PERIOD,
        currency="EUR",
        payer_partner_id=ME,
        payee_partner_id="musicbrand",
        amount_minor=amount,
        paid_minor=paid,
        outstanding_minor=amount - paid,
        state="PART_PAID",
        payments=(PaymentRecord("pmt-1", paid, "BANK-REF-1", ME, T0 + 10_000),),
    )


def test_live_payment_status_that_agrees_with_the_document_verifies() -> None:
    verify_statement(replace(sign(document_value()), payment_instructions=(live(),)), HUB_PUBLIC)


def test_live_payment_status_with_another_amount_than_the_signed_one_is_refused() -> None:
    error = refusal(replace(sign(document_value()), payment_instructions=(live(amount=9999),)))
    assert error.reason == "LIVE_STATUS_MISMATCH"


# --- verifying a chain ------------------------------------------------------------------------


def test_a_chain_of_statements_verifies_in_any_order() -> None:
    statements = chain(3)
    documents = verify_chain([statements[2], statements[0], statements[1]], HUB_PUBLIC)
    assert [d.sequence for d in documents] == [1, 2, 3]


def test_a_run_of_statements_may_start_after_the_first() -> None:
    assert len(verify_chain(chain(4)[1:], HUB_PUBLIC)) == 3


def test_no_statements_is_an_empty_chain() -> None:
    assert verify_chain([], HUB_PUBLIC) == []


def test_a_chain_with_a_gap_is_refused_naming_the_statement_after_it() -> None:
    statements = chain(3)
    with pytest.raises(StatementVerificationError, match=r"'stm-000003-sportsbrand' \(sequence 3\) follows sequence 1"):
        verify_chain([statements[0], statements[2]], HUB_PUBLIC)


def test_a_chain_with_an_altered_middle_statement_is_refused_naming_it() -> None:
    statements = chain(3)
    altered = replace(statements[1], document=statements[1].document.replace(b"Sports Brand", b"Sports Brend"))
    with pytest.raises(StatementVerificationError, match="'stm-000002-sportsbrand'") as caught:
        verify_chain([statements[0], altered, statements[2]], HUB_PUBLIC)
    assert caught.value.reason == "DOCUMENT_HASH_MISMATCH"


def test_a_chain_with_a_substituted_middle_statement_is_refused_at_the_next_link() -> None:
    statements = chain(3)
    other = sign(document_value(sequence=2, previous=statements[0].document_sha256, display_name="Sports Brand Ltd"))
    with pytest.raises(StatementVerificationError, match="'stm-000003-sportsbrand'") as caught:
        verify_chain([statements[0], other, statements[2]], HUB_PUBLIC)
    assert caught.value.reason == "CHAIN_BROKEN"


def test_a_first_statement_that_does_not_point_at_genesis_is_refused() -> None:
    first = sign(document_value(sequence=1, previous="11" * 32))
    with pytest.raises(StatementVerificationError, match="genesis"):
        verify_chain([first], HUB_PUBLIC)


def test_a_chain_mixing_two_brands_is_refused() -> None:
    mixed = [*chain(2), chain(3, partner="musicbrand")[2]]
    with pytest.raises(StatementVerificationError, match="is for 'musicbrand', not 'sportsbrand'") as caught:
        verify_chain(mixed, HUB_PUBLIC)
    assert caught.value.reason == "CHAIN_MIXED_PARTNERS"


# --- the CSV layout ---------------------------------------------------------------------------


def movement(
    number: int,
    *,
    currency: str = "EUR",
    amount: int = 1500,
    source: str = ME,
    target: str = "musicbrand",
    kind: str = "CONVERSION",
    period: str = PERIOD,
) -> Movement:
    return Movement(
        movement_id=f"cnv-{number:04d}",
        kind=kind,
        period_id=period,
        source_partner_id=source,
        target_partner_id=target,
        source_points=1000 * number,
        target_points=500 * number if kind != "CAPTURE" else 0,
        currency=currency,
        amount_minor=amount,
        final_at_ms=T0 + number,
    )


MOVEMENTS = [
    movement(1),
    movement(2, currency="USD", amount=-250, kind="REVERSAL"),
    movement(3, source="musicbrand", target=ME, amount=100, kind="CAPTURE"),
]


def csv_text(movements: list[Movement] = MOVEMENTS) -> str:
    out = io.StringIO()
    write_movements_csv(
        out, period_id=PERIOD, partner_id=ME, statement_id="stm-000003-sportsbrand", movements=movements
    )
    return out.getvalue()


def csv_lines(movements: list[Movement] = MOVEMENTS) -> list[str]:
    return csv_text(movements).split("\r\n")[:-1]


def problems_of(lines: list[str], partner: str | None = None, period: str | None = None) -> list[LineProblem]:
    reader = MovementCsvReader(expected_partner_id=partner, expected_period_id=period)
    list(reader.read(lines))
    return reader.problems


def set_field(lines: list[str], line_number: int, column: str, value: str) -> list[str]:
    fields = lines[line_number - 1].split(",")
    fields[COLUMNS.index(column)] = value
    return [*lines[: line_number - 1], ",".join(fields), *lines[line_number:]]


def test_the_csv_layout_is_exactly_as_documented() -> None:
    assert csv_lines() == [
        ",".join(COLUMNS),
        "H,per-000003,sportsbrand,stm-000003-sportsbrand,,,,,,,,,",
        "D,per-000003,sportsbrand,cnv-0001,CONVERSION,2025-11-24T16:00:00.001Z,sportsbrand,musicbrand,1000,500,EUR,1500,",
        "D,per-000003,sportsbrand,cnv-0002,REVERSAL,2025-11-24T16:00:00.002Z,sportsbrand,musicbrand,2000,1000,USD,-250,",
        "D,per-000003,sportsbrand,cnv-0003,CAPTURE,2025-11-24T16:00:00.003Z,musicbrand,sportsbrand,3000,0,EUR,100,",
        "T,per-000003,sportsbrand,,,,musicbrand,sportsbrand,3000,0,EUR,100,1",
        "T,per-000003,sportsbrand,,,,sportsbrand,musicbrand,1000,500,EUR,1500,1",
        "T,per-000003,sportsbrand,,,,sportsbrand,musicbrand,2000,1000,USD,-250,1",
        "E,per-000003,sportsbrand,,,,,,,,,,3",
    ]  # fmt: skip


def test_the_writer_returns_what_it_wrote_in_the_control_records() -> None:
    summary = write_movements_csv(io.StringIO(), period_id=PERIOD, partner_id=ME, statement_id="", movements=MOVEMENTS)
    assert summary.detail_count == 3
    assert summary.by_currency == {
        "EUR": CurrencyTotals(2, 4000, 500, 1600),
        "USD": CurrencyTotals(1, 2000, 1000, -250),
    }
    assert summary.by_flow == {
        Flow("EUR", "musicbrand", ME): CurrencyTotals(1, 3000, 0, 100),
        Flow("EUR", ME, "musicbrand"): CurrencyTotals(1, 1000, 500, 1500),
        Flow("USD", ME, "musicbrand"): CurrencyTotals(1, 2000, 1000, -250),
    }


def test_the_writer_streams_each_line_before_taking_the_next_movement() -> None:
    out = io.StringIO()

    def movements() -> Iterator[Movement]:
        yield movement(1)
        assert "cnv-0001" in out.getvalue()
        yield movement(2)

    write_movements_csv(out, period_id=PERIOD, partner_id=ME, statement_id="", movements=movements())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (movement(1, period="per-000002"), "not of period 'per-000003'"),
        (movement(1, source="bookbrand"), "is not 'sportsbrand''s"),
        (movement(1, kind="GIFT"), "unknown kind 'GIFT'"),
        (replace(movement(1), amount_minor=12.5), "must be ints"),  # type: ignore[arg-type]
    ],
)
def test_the_writer_refuses_a_movement_the_file_cannot_carry(bad: Movement, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_movements_csv(io.StringIO(), period_id=PERIOD, partner_id=ME, statement_id="", movements=[bad])


def test_a_written_file_reads_back_with_no_problems() -> None:
    reader = MovementCsvReader(expected_partner_id=ME, expected_period_id=PERIOD)
    assert list(reader.read(io.StringIO(csv_text()))) == MOVEMENTS
    assert reader.problems == []
    assert reader.header == HeaderRecord(2, PERIOD, ME, "stm-000003-sportsbrand")


def test_read_movements_csv_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "movements.csv"
    path.write_bytes(csv_text().encode("utf-8"))
    assert read_movements_csv(path, expected_partner_id=ME) == (MOVEMENTS, [])


def test_the_reader_streams_yielding_a_movement_before_reading_the_rest() -> None:
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for text in csv_lines():
            consumed.append(text)
            yield text

    assert next(iter(MovementCsvReader().read(lines()))) == MOVEMENTS[0]
    assert len(consumed) == 3


ids = st.text(string.ascii_lowercase + string.digits + "-_.", min_size=0, max_size=60).map(lambda s: "m" + s)
amounts = st.integers(-(10**15), 10**15)


@st.composite
def movement_lists(draw: st.DrawFn) -> list[Movement]:
    found = []
    for movement_id in draw(st.lists(ids, max_size=25, unique=True)):
        other = draw(st.sampled_from(["musicbrand", "bookbrand", "travel-brand"]))
        source, target = (ME, other) if draw(st.booleans()) else (other, ME)
        found.append(
            Movement(
                movement_id=movement_id,
                kind=draw(st.sampled_from(["CONVERSION", "CAPTURE", "REVERSAL", "ADJUSTMENT"])),
                period_id=PERIOD,
                source_partner_id=source,
                target_partner_id=target,
                source_points=draw(amounts),
                target_points=draw(amounts),
                currency=draw(st.sampled_from(["EUR", "USD", "JPY", "KWD"])),
                amount_minor=draw(amounts),
                final_at_ms=draw(st.integers(0, 253_402_300_799_999)),
            )
        )
    return found


@settings(max_examples=150)
@given(movement_lists())
def test_any_movements_written_read_back_the_same_with_the_same_controls(movements: list[Movement]) -> None:
    out = io.StringIO()
    summary = write_movements_csv(out, period_id=PERIOD, partner_id=ME, statement_id="stm-x", movements=movements)
    reader = MovementCsvReader(expected_partner_id=ME, expected_period_id=PERIOD)
    assert list(reader.read(out.getvalue().splitlines())) == movements
    assert reader.problems == []
    assert reader.summary == summary


def test_integers_at_the_edge_of_int64_read_back_and_one_past_it_is_refused() -> None:
    edge = [replace(movement(1), source_points=INT64_MAX, amount_minor=-INT64_MAX)]
    reader = MovementCsvReader()
    assert list(reader.read(csv_lines(edge))) == edge
    assert reader.problems == []
    with pytest.raises(ValueError, match="out of range"):
        csv_text([*edge, replace(movement(2), source_points=1)])  # the trailer's sum outgrows int64


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("record_type", "X", "unknown record type 'X'"),
        ("source_points", "abc", "source_points 'abc' is not a whole number"),
        ("amount_minor", "12.50", "amount_minor '12.50' is not a whole number"),
        ("amount_minor", "1e3", "amount_minor '1e3' is not a whole number"),
        ("amount_minor", "+15", "amount_minor '+15' is not a whole number"),
        ("amount_minor", "", "amount_minor is empty"),
        ("target_points", str(2**63), "out of range"),
        ("target_points", str(-(2**63)), "out of range"),
        ("target_points", "9" * 200, "out of range"),
        ("kind", "GIFT", "unknown kind 'GIFT'"),
        ("final_at", "2025-11-24 16:00:00", "final_at '2025-11-24 16:00:00' is not a UTC time"),
        ("final_at", "2025-02-30T16:00:00.000Z", "is not a UTC time"),
        ("movement_id", "", "movement_id is empty"),
        ("movement_id", "m" * 65, "movement_id is longer than 64 characters"),
        ("movement_id", "=HYPERLINK(x)", "formula"),
        ("source_partner_id", "musicbrand", "the same brand"),
        ("currency", "eur", "currency 'eur' is not an ISO 4217 code"),
        ("record_count", "1", "record_count must be empty in a D record"),
        ("period_id", "per-000002", "the D record is for period 'per-000002', but the file is for 'per-000003'"),
        ("partner_id", "musicbrand", "the D record is for partner 'musicbrand'"),
    ],
)
def test_a_malformed_detail_line_is_named_by_its_line_number(column: str, value: str, message: str) -> None:
    problems = problems_of(set_field(csv_lines(), 3, column, value))
    assert any(p.line_number == 3 and message in p.problem for p in problems), problems


def test_a_line_with_a_missing_column_is_named() -> None:
    lines = csv_lines()
    lines[3] = lines[3].rsplit(",", 1)[0]
    assert LineProblem(4, "expected 13 columns, found 12") in problems_of(lines)


def test_a_wrong_column_header_line_is_line_1() -> None:
    lines = ["record_type,period,partner_id", *csv_lines()[1:]]
    problems = problems_of(lines)
    assert problems[0].line_number == 1
    assert "column header line" in problems[0].problem


def test_a_spreadsheets_byte_order_mark_is_forgiven() -> None:
    assert check_column_header(["\ufeffrecord_type", *COLUMNS[1:]]) is None
    assert problems_of(["\ufeff" + csv_lines()[0], *csv_lines()[1:]]) == []


def test_a_header_record_that_is_not_first_is_named() -> None:
    lines = csv_lines()
    lines[1], lines[2] = lines[2], lines[1]
    problems = problems_of(lines)
    assert LineProblem(2, "the first record must be the header record H, not D") in problems
    assert any(p.line_number == 3 and "must be the first record" in p.problem for p in problems)


def test_another_brands_file_is_refused() -> None:
    problems = problems_of(csv_lines(), partner="musicbrand")
    assert problems == [LineProblem(2, "this file is for partner 'sportsbrand', not 'musicbrand'")]


def test_a_file_of_another_period_is_refused() -> None:
    problems = problems_of(csv_lines(), period="per-000004")
    assert problems == [LineProblem(2, "this file is for period 'per-000003', not 'per-000004'")]


def test_a_truncated_file_without_its_end_record_is_flagged_at_its_last_line() -> None:
    lines = csv_lines()[:-1]
    problems = problems_of(lines)
    assert problems == [LineProblem(8, "the file ends at line 8 without its end record E: truncated?")]


def test_a_file_cut_in_the_detail_lines_misses_trailers_and_end() -> None:
    problems = problems_of(csv_lines()[:4])
    assert LineProblem(4, "no trailer record for EUR sportsbrand -> musicbrand") in problems
    assert LineProblem(4, "no trailer record for USD sportsbrand -> musicbrand") in problems
    assert any("without its end record" in p.problem for p in problems)


def test_a_trailer_that_does_not_match_its_detail_lines_is_named() -> None:
    problems = problems_of(set_field(csv_lines(), 7, "amount_minor", "1700"))
    assert problems == [
        LineProblem(7, "the EUR sportsbrand -> musicbrand trailer's amount_minor is 1700, the D records' 1500")
    ]


def test_an_end_record_that_miscounts_is_named() -> None:
    problems = problems_of(set_field(csv_lines(), 9, "record_count", "4"))
    assert problems == [LineProblem(9, "the end record's record_count is 4, but the file has 3")]


def test_records_after_the_end_record_are_named() -> None:
    lines = csv_lines()
    problems = problems_of([*lines, lines[2]])
    assert problems == [LineProblem(10, "a record after the end record (line 9)")]


def test_a_detail_line_after_the_trailers_and_unsorted_trailers_are_named() -> None:
    lines = csv_lines()
    moved = [*lines[:2], lines[2], lines[4], lines[6], lines[5], lines[3], lines[7], lines[8]]
    problems = problems_of(moved)
    assert any(p.line_number == 6 and "sorted by currency, source, target" in p.problem for p in problems)
    assert any(p.line_number == 7 and "after the trailer records" in p.problem for p in problems)


def test_empty_lines_inside_the_file_are_named_but_trailing_ones_forgiven() -> None:
    lines = csv_lines()
    assert problems_of([*lines, "", ""]) == []
    assert problems_of([*lines[:3], "", *lines[3:]]) == [LineProblem(4, "an empty line")]


def test_an_empty_file_and_a_file_without_a_header_record_are_refused() -> None:
    assert problems_of([]) == [LineProblem(1, "the file is empty: expected the column header line")]
    problems = problems_of(csv_lines()[:1])
    assert LineProblem(1, "the file has no header record H") in problems


def test_a_broken_csv_quote_is_named() -> None:
    lines = csv_lines()
    lines[2] = lines[2].replace("cnv-0001", '"cnv-0001')
    assert any(p.line_number == 3 and "not a valid CSV line" in p.problem for p in problems_of(lines))


def test_parse_record_reads_each_record_type() -> None:
    lines = [next(csv.reader([text])) for text in csv_lines()]
    assert parse_record(lines[1], 2) == HeaderRecord(2, PERIOD, ME, "stm-000003-sportsbrand")
    assert parse_record(lines[2], 3) == DetailRecord(3, MOVEMENTS[0])
    assert parse_record(lines[5], 6) == TrailerRecord(6, PERIOD, ME, "EUR", 3000, 0, 100, 1, "musicbrand", ME)
    assert parse_record(lines[8], 9) == EndRecord(9, PERIOD, ME, 3)


def test_parse_record_lists_every_problem_of_a_line() -> None:
    fields = ["T", PERIOD, ME, "x", "", "", "", "", "1.5", "2", "EUR", "3", "0"]
    problem = parse_record(fields, 9)
    assert isinstance(problem, LineProblem)
    assert problem.line_number == 9
    for part in ("source_points '1.5' is not a whole number", "record_count 0 must be at least 1", "movement_id must"):
        assert part in problem.problem


def test_check_controls_names_the_last_line_when_the_end_record_is_missing() -> None:
    problems = check_controls(detail_totals={}, detail_count=0, trailers=[], end=None, last_line_number=2)
    assert problems == [LineProblem(2, "the file ends at line 2 without its end record E: truncated?")]


def test_utc_times_are_written_and_read_to_the_millisecond() -> None:
    assert format_utc_ms(0) == "1970-01-01T00:00:00.000Z"
    assert format_utc_ms(1_795_428_000_123) == "2026-11-23T10:00:00.123Z"
    assert parse_utc_ms("2026-11-23T10:00:00.123Z") == 1_795_428_000_123


# --- JSON and HTML exports --------------------------------------------------------------------


def test_the_json_export_is_valid_json_with_every_movement() -> None:
    statement = replace(sign(document_value()), payment_instructions=(live(),))
    out = io.StringIO()
    assert write_statement_json(out, statement, iter(MOVEMENTS)) == 3
    exported = json.loads(out.getvalue())
    assert canonical_json(exported["statement"]) == statement.document
    assert exported["document_sha256"] == statement.document_sha256
    assert base64.b64decode(exported["signature_base64"]) == statement.signature
    assert exported["payment_instructions"][0]["payments"][0]["payment_reference"] == "BANK-REF-1"
    assert [m["movement_id"] for m in exported["movements"]] == ["cnv-0001", "cnv-0002", "cnv-0003"]
    assert exported["movements"][1]["amount_minor"] == -250


def test_the_json_export_writes_each_movement_before_taking_the_next() -> None:
    out = io.StringIO()

    def movements() -> Iterator[Movement]:
        yield MOVEMENTS[0]
        assert "cnv-0001" in out.getvalue()
        yield MOVEMENTS[1]

    assert write_statement_json(out, sign(document_value()), movements()) == 2
    assert len(json.loads(out.getvalue())["movements"]) == 2


def test_the_json_export_of_no_movements_is_valid_json() -> None:
    out = io.StringIO()
    assert write_statement_json(out, sign(document_value()), []) == 0
    assert json.loads(out.getvalue())["movements"] == []


def html_page(**live_status: Any) -> str:
    value = document_value(
        display_name="Sports & <b>Brand</b>",
        lines=[
            MUSIC_EUR,
            line("<script>alert(1)</script>", "USD", as_target=2, issued=70, receivable=123_456_789),
            line("bookbrand", "JPY", as_source=1, retired=5, payable=1500),
        ],
    )
    statement = replace(sign(value), **live_status)
    return render_statement_html(statement, verify_statement(statement, HUB_PUBLIC))


def test_the_html_statement_escapes_every_name() -> None:
    page = html_page()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Sports &amp; &lt;b&gt;Brand&lt;/b&gt;" in page
    assert "<script" not in page


def test_the_html_statement_is_standalone_and_shows_the_tables() -> None:
    page = html_page()
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page
    assert "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert '<code class="command">coalition settlement verify --file STATEMENT.json --hub-public-key HEX</code>' in page
    assert "coalition statements" not in page  # no such command
    assert "signature verified" not in page.lower()
    shown = page.replace("<wbr>", "")  # where a number or an id may wrap
    for text in ("musicbrand", "3,000", "-14.00 EUR", "1,234,567.89 USD", "-1,500 JPY", "pay-000001-01", "0.50 EUR"):
        assert text in shown
    assert "2025-11-24 16:00:03.000 UTC" in page  # the cut-off


def test_the_html_statement_renders_no_floats() -> None:
    page = html_page()
    assert not re.search(r"(?<![\w#])\d+(\.\d+)?[eE][+-]\d", page)  # a float's repr: 1e+20, 1.5e-07
    assert not re.search(r"\d\.0(?!\d)", page)  # nor 1400.0
    assert not re.search(r"\b(nan|NaN|inf|Infinity)\b", page)
    for attribute in re.findall(r'\b(?:x|y|x1|x2|y1|y2|width|height)="([^"]*)"', page):
        assert re.fullmatch(r"-?\d+", attribute), attribute


def test_the_html_statement_shows_live_payment_status_when_the_hub_returned_it() -> None:
    value = document_value()
    statement = replace(sign(value), payment_instructions=(live(),))
    page = render_statement_html(statement, verify_statement(statement, HUB_PUBLIC))
    assert "PART_PAID" in page
    assert "10.00 EUR" in page  # outstanding 1400 - 400
    assert "OUTSTANDING" in html_page()  # from the document: nothing paid at close


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (-1400, "EUR", "-14.00 EUR"),
        (0, "EUR", "0.00 EUR"),
        (5, "EUR", "0.05 EUR"),
        (-5, "USD", "-0.05 USD"),
        (123_456_789, "USD", "1,234,567.89 USD"),
        (1500, "JPY", "1,500 JPY"),
        (-7, "KRW", "-7 KRW"),
        (1234, "KWD", "1.234 KWD"),
        (-1, "BHD", "-0.001 BHD"),
        (INT64_MAX, "EUR", "92,233,720,368,547,758.07 EUR"),
    ],
)
def test_format_money_uses_the_currencys_decimals(amount: int, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown
