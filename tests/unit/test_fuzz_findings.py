"""One test per bug the RPC fuzzer (tests/fuzz) found: each was an INTERNAL answer, or a refusal mis-coded.

No I/O: the rules and translations alone, and the call runner with a database fake.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
import sqlalchemy.exc
from google.protobuf.timestamp_pb2 import Timestamp

from exchange.api.translate import optional_ms, timestamp_ms
from exchange.domain import disputes, donations
from exchange.domain.accruals import AccrualTerms
from exchange.domain.donations import DonationTerms
from exchange.domain.errors import MAX_MESSAGE_BYTES, InvalidArgument, NotFound, PermissionDenied, bounded_message
from exchange.domain.money import Ratio
from exchange.service import accruals
from exchange.service.authentication import Caller, IncomingCall
from exchange.service.calls import execute_once
from exchange.service.paging import decode_cursor, encode_cursor, encode_key_cursor, token_int
from exchange.service.stored_answers import Answer

NOW = 1_800_000_000_000
DAY_MS = 86_400_000


# --- refusal messages echo the caller's input: bounded so the refusal fits in gRPC trailers


def test_a_message_longer_than_the_limit_is_cut_to_it_with_an_ellipsis() -> None:
    cut = bounded_message("no agreement " + "\U0001f3c3" * 5_000)
    assert len(cut.encode()) <= MAX_MESSAGE_BYTES
    assert cut.startswith("no agreement \U0001f3c3") and cut.endswith("\u2026")
    assert "\ufffd" not in cut  # never half a character


def test_a_message_within_the_limit_is_kept_exactly() -> None:
    message = "x" * MAX_MESSAGE_BYTES
    assert bounded_message(message) == message


def test_every_exchange_error_bounds_its_message() -> None:
    error = NotFound("AGREEMENT_NOT_FOUND", f"no agreement {'a' * 60_000!r}", field="agreement_id")
    assert len(error.message.encode()) <= MAX_MESSAGE_BYTES
    assert str(error) == error.message
    assert (error.reason, error.field) == ("AGREEMENT_NOT_FOUND", "agreement_id")


# --- timestamps protobuf itself refuses to convert (ValueError, was INTERNAL)


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(253_402_300_800, 0), (-62_135_596_801, 0), (2**63 - 1, 0), (0, -1), (0, 1_000_000_000)],
)
def test_a_timestamp_outside_the_calendar_is_invalid_argument_naming_the_field(seconds: int, nanos: int) -> None:
    stamp = Timestamp(seconds=seconds, nanos=nanos)
    with pytest.raises(InvalidArgument) as refused:
        timestamp_ms(stamp, "terms.valid_until")
    assert (refused.value.reason, refused.value.field) == ("INVALID_TIMESTAMP", "terms.valid_until")
    with pytest.raises(InvalidArgument):
        optional_ms(stamp, True, "created_from")


def test_the_first_and_last_valid_timestamps_convert() -> None:
    assert timestamp_ms(Timestamp(seconds=253_402_300_799, nanos=999_999_999), "t") == 253_402_300_799_999
    assert timestamp_ms(Timestamp(seconds=-62_135_596_800), "t") == -62_135_596_800_000
    assert optional_ms(Timestamp(seconds=2**40), False, "t") is None


# --- page tokens shaped like the hub's but holding what none of its pages ends at


@pytest.mark.parametrize(
    "token",
    [
        encode_cursor(2**63, "cnv-1"),  # beyond BIGINT: SQLite raised OverflowError
        encode_cursor(-1, "cnv-1"),
        encode_key_cursor("cnv-1"),  # another kind of token
    ],
)
def test_a_cursor_beyond_a_bigint_or_negative_is_an_invalid_page_token(token: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        decode_cursor(token)
    assert refused.value.reason == "INVALID_PAGE_TOKEN"


def test_a_cursor_with_other_scripts_digits_is_an_invalid_page_token() -> None:
    import base64

    token = base64.urlsafe_b64encode("c1:\u0661\u0662:cnv-1".encode()).decode()  # Arabic-Indic 12
    with pytest.raises(InvalidArgument):
        decode_cursor(token)
    assert decode_cursor(encode_cursor(2**63 - 1, "cnv-1")) == (2**63 - 1, "cnv-1")


# --- evidence may hold lines, never NUL (PostgreSQL text can't; SQLite kept it)


def test_dispute_evidence_with_nul_is_invalid_text_and_lines_are_kept() -> None:
    with pytest.raises(InvalidArgument) as refused:
        disputes.parse_claim(5, "short paid", "see\x00attached")
    assert (refused.value.reason, refused.value.field) == ("INVALID_TEXT", "evidence")
    assert disputes.parse_claim(5, "short paid", "line 1\r\nline 2\t\u202e") == (
        5,
        "short paid",
        "line 1\r\nline 2\t\u202e",
    )


# --- proposing for another brand is authorisation (PERMISSION_DENIED), as for conversion agreements


def test_only_the_brand_proposes_a_donation_agreement() -> None:
    terms = DonationTerms("stride", "oceans", 1, Ratio(1, 3), "GBP", NOW, NOW + DAY_MS)
    with pytest.raises(PermissionDenied) as refused:
        donations.validate_terms(terms, "cadence", None)
    assert (refused.value.reason, refused.value.field) == ("NOT_BRAND", "terms.brand_partner_id")


def test_only_the_awarder_proposes_an_accrual_agreement() -> None:
    terms = AccrualTerms(
        awarder_partner_id="pacer",
        issuer_partner_id="stride",
        version=1,
        activity_types=("run_logged",),
        price_per_point_minor=Ratio(1, 4),
        settlement_currency="EUR",
        monthly_budget_points=1_000,
        monthly_budget_minor=1_000,
        member_daily_cap_points=100,
        valid_from_ms=NOW,
        valid_until_ms=NOW + DAY_MS,
    )
    not_used: Any = None  # refused before the database is touched
    with pytest.raises(PermissionDenied) as refused:
        accruals.propose(not_used, Caller("cadence", "k1"), terms, b"", NOW)
    assert (refused.value.reason, refused.value.field) == ("NOT_AWARDER", "terms.awarder_partner_id")


# --- NUL in any string a call sends: PostgreSQL's driver refuses the parameter (DataError, was INTERNAL)


class _DatabaseRefusingNul:
    """A database whose driver refuses a string parameter holding NUL, as psycopg does."""

    def run(self, work: object, *, read_committed: bool = False, group: str | None = None, **_: bool) -> NoReturn:
        raise sqlalchemy.exc.DataError(
            "SELECT ... WHERE agreement_id = %(id)s",
            {"id": "a\x00b"},
            ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"),
        )


def _call() -> IncomingCall:
    body = b"\n\x03a\x00b"
    return IncomingCall(
        method="/coalition.exchange.v1.AgreementService/GetAgreement",
        principal="stride",
        key_id="k1",
        timestamp_ms=NOW,
        nonce="n" * 22,
        signature=b"\x00" * 64,
        body=body,
    )


def test_a_string_with_nul_the_database_refuses_is_invalid_text() -> None:
    database: Any = _DatabaseRefusingNul()
    with pytest.raises(InvalidArgument) as refused:
        execute_once(database, _call(), lambda c: Caller("stride", "k1"), lambda c, caller: Answer(b""), NOW)
    assert (refused.value.reason, refused.value.field) == ("INVALID_TEXT", None)


def test_other_data_errors_still_surface() -> None:
    class Other:
        def run(self, work: object, *, read_committed: bool = False, group: str | None = None, **_: bool) -> NoReturn:
            raise sqlalchemy.exc.DataError("INSERT ...", {}, ValueError("value too long for type character varying(3)"))

    database: Any = Other()
    with pytest.raises(sqlalchemy.exc.DataError):
        execute_once(database, _call(), lambda c: Caller("stride", "k1"), lambda c, caller: Answer(b""), NOW)


@pytest.mark.parametrize("text", ["\u00b2", "\u0661\u0662", "-1", "", str(2**63), "12a"])
def test_a_position_in_a_key_token_is_ascii_digits_of_a_bigint(text: str) -> None:
    # Statements, periods, movements and reconciliation breaks page by such positions; "²" passed
    # str.isdigit() and then crashed int() (INTERNAL) in the settlement lists.
    with pytest.raises(InvalidArgument) as refused:
        token_int(text)
    assert refused.value.reason == "INVALID_PAGE_TOKEN"
    assert token_int(str(2**63 - 1)) == 2**63 - 1 and token_int("0") == 0
