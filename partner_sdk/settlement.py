"""Settlement statements: what the hub signs for each brand at the close of a period, checked offline.

The statement document is canonical JSON (sorted keys, no spaces, ASCII only, integers only:
no float anywhere), signed by the hub with Ed25519 over ``SIGNING_PREFIX + document`` and
chained to the brand's previous statement by that statement's SHA-256. A brand holds the
hub's 32-byte public key and needs nothing else to check one statement or its whole history:

    document = verify_statement(statement, hub_public_key)
    documents = verify_chain(statements, hub_public_key)

Errors come from the SDK's one tree (partner_sdk.errors), each with a stable ``reason``:
StatementFormatError (also a ValueError) when a document is not a well-formed
coalition-statement/1, StatementVerificationError (a ResponseVerificationError) when the hash,
signature, envelope, arithmetic or chain is wrong.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, get_args

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from partner_sdk.errors import StatementFormatError, StatementVerificationError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "DOCUMENT_FORMAT",
    "GENESIS_SHA256",
    "INT64_MAX",
    "MOVEMENT_KINDS",
    "SIGNING_PREFIX",
    "MovementKind",
    "PaymentState",
    "CoalitionCheck",
    "ControlTotal",
    "CounterpartyLine",
    "Movement",
    "NetPosition",
    "NettedPayment",
    "OutstandingPayment",
    "PaymentInstructionStatus",
    "PaymentRecord",
    "PeriodInfo",
    "Statement",
    "StatementDocument",
    "StatementFormatError",
    "StatementVerificationError",
    "canonical_json",
    "document_sha256",
    "format_utc_ms",
    "parse_utc_ms",
    "statement_message",
    "verify_chain",
    "verify_statement",
]

SIGNING_PREFIX = b"coalition-statement-v1\n"
GENESIS_SHA256 = "0" * 64
DOCUMENT_FORMAT = "coalition-statement/1"
MovementKind: TypeAlias = Literal[
    "CONVERSION",
    "CAPTURE",
    "REVERSAL",
    "ADJUSTMENT",
    "ACCRUAL",
    "DONATION",
    "MEMBERSHIP_FEE_SHARE",
    "MEMBERSHIP_FEE_REFUND",
    "VOUCHER_REDEMPTION",
    "UNKNOWN",
]
"""What a movement is; UNKNOWN is a kind from a hub newer than this SDK (never valid in a file)."""
MOVEMENT_KINDS: frozenset[str] = frozenset(get_args(MovementKind)) - {"UNKNOWN"}
PaymentState: TypeAlias = Literal["OUTSTANDING", "PART_PAID", "PAID", "UNKNOWN"]
"""How far a payment instruction is paid; UNKNOWN is a state from a hub newer than this SDK."""
INT64_MAX = 2**63 - 1  # amounts travel as protobuf int64; anything wider is a corrupt value
HUB_PUBLIC_KEY_BYTES = 32

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_UTC_MS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def canonical_json(value: object) -> bytes:
    """Return the canonical JSON bytes of value: sorted keys, no spaces, ASCII, integers only.

    Raises:
        TypeError: a float (amounts are integers, always), a non-string key, or a value JSON cannot hold.
    """
    _refuse_floats(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _refuse_floats(value: object, path: str) -> None:
    if isinstance(value, float):
        raise TypeError(f"{path} is a float ({value!r}); amounts and points are integers")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):  # json.dumps would silently turn 1 into "1": not canonical
                raise TypeError(f"{path} has a non-string key {key!r}")
            _refuse_floats(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_floats(item, f"{path}[{index}]")


def document_sha256(document: bytes) -> str:
    """Return the lowercase hex SHA-256 of a statement document."""
    return hashlib.sha256(document).hexdigest()


def statement_message(document: bytes) -> bytes:
    """Return what the hub signs: SIGNING_PREFIX and the document, so the signature is never valid elsewhere."""
    return SIGNING_PREFIX + document


def format_utc_ms(ms: int) -> str:
    """Return epoch milliseconds as ISO 8601 UTC with milliseconds and a Z, e.g. 2026-11-23T10:00:00.123Z."""
    at = _EPOCH + timedelta(milliseconds=ms)  # int arithmetic: exact to the millisecond
    return (
        f"{at.year:04d}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:{at.minute:02d}:{at.second:02d}"
        f".{at.microsecond // 1000:03d}Z"
    )


def parse_utc_ms(text: str) -> int:
    """Return the epoch milliseconds of an ISO 8601 UTC time written exactly as format_utc_ms writes it.

    Raises:
        ValueError: any other shape, or a date or time that does not exist.
    """
    match = _UTC_MS.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTC time like 2026-11-23T10:00:00.123Z")
    year, month, day, hour, minute, second, millis = (int(part) for part in match.groups())
    at = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return (at - _EPOCH) // _ONE_MS + millis


@dataclass(frozen=True, slots=True)
class Movement:
    """One settled movement, as the hub lists it and as a CSV detail line carries it.

    kind is one of MOVEMENT_KINDS (a MovementKind; a plain str here because a CSV line is read
    into a Movement before its kind is checked). source_partner_id owes target_partner_id
    amount_minor (minor units of currency; negative when money flows back, as for a reversal).
    Points are signed too: negative for a reversal, target_points 0 for a capture or adjustment.
    A joint membership's MEMBERSHIP_FEE_SHARE (the seller owes a partner its share of a fee) and
    MEMBERSHIP_FEE_REFUND (that share given back when the fee is refunded: amount_minor negative)
    move money only: both points are 0, as for a VOUCHER_REDEMPTION (a voucher the seller funds,
    redeemed at a partner: the seller owes that partner its value).
    """

    movement_id: str
    kind: str
    period_id: str
    source_partner_id: str
    target_partner_id: str
    source_points: int
    target_points: int
    currency: str
    amount_minor: int
    final_at_ms: int

    def to_json_value(self) -> dict[str, object]:
        """Return the movement as a JSON object, with final_at also written out as UTC for people."""
        value: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        value["final_at"] = format_utc_ms(self.final_at_ms)
        return value


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A payment recorded against a payment instruction; recorded_by is a partner id or "operator"."""

    payment_id: str
    amount_minor: int
    payment_reference: str
    recorded_by: str
    recorded_at_ms: int


@dataclass(frozen=True, slots=True)
class PaymentInstructionStatus:
    """The live state of a payment instruction, returned beside a statement but not signed in it.

    state is OUTSTANDING, PART_PAID or PAID (a PaymentState); outstanding_minor = amount_minor - paid_minor.
    """

    instruction_id: str
    period_id: str
    currency: str
    payer_partner_id: str
    payee_partner_id: str
    amount_minor: int
    paid_minor: int
    outstanding_minor: int
    state: PaymentState
    payments: tuple[PaymentRecord, ...]

    def to_json_value(self) -> dict[str, object]:
        """Return the status as a JSON object, its payments as a list of objects."""
        value: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        value["payments"] = [{f.name: getattr(p, f.name) for f in fields(p)} for p in self.payments]
        return value


@dataclass(frozen=True, slots=True)
class Statement:
    """A signed statement as the hub returns it.

    document is the canonical JSON exactly as signed: hash it, verify it, parse it, never
    re-encode it to check it. payment_instructions is the hub's live view of this period's
    payments, which changes after signing and so is not covered by the signature.
    """

    statement_id: str
    partner_id: str
    period_id: str
    sequence: int
    document: bytes
    document_sha256: str
    previous_statement_sha256: str
    signature: bytes
    hub_key_id: str
    payment_instructions: tuple[PaymentInstructionStatus, ...] = ()


# The parsed document. Every record's fields are named exactly as its JSON keys.


@dataclass(frozen=True, slots=True)
class PeriodInfo:
    """The settlement period: movements final in [opened_at_ms, cutoff_ms) belong to it."""

    period_id: str
    number: int
    opened_at_ms: int
    cutoff_ms: int
    closed_at_ms: int


@dataclass(frozen=True, slots=True)
class CounterpartyLine:
    """What the brand and one counterparty owe each other in one currency for the period.

    Points are the brand's own: retired from its members on the counterparty's behalf (the brand
    was source) or issued to its members on the counterparty's behalf (the brand was target).
    bilateral_net_minor = money_receivable_minor - money_payable_minor.
    """

    counterparty: str
    currency: str
    movements_as_source: int
    movements_as_target: int
    points_retired_for_counterparty: int
    points_issued_for_counterparty: int
    money_payable_minor: int
    money_receivable_minor: int
    bilateral_net_minor: int


@dataclass(frozen=True, slots=True)
class NetPosition:
    """The brand's multilateral net in one currency: positive when it is owed money."""

    currency: str
    net_minor: int


@dataclass(frozen=True, slots=True)
class CoalitionCheck:
    """The sum of every brand's net position in one currency: always 0 for a consistent period."""

    currency: str
    partners: int
    sum_of_net_positions_minor: int


@dataclass(frozen=True, slots=True)
class NettedPayment:
    """One payment of this period's netting that the brand pays or receives."""

    instruction_id: str
    currency: str
    payer: str
    payee: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class OutstandingPayment:
    """A payment instruction of an earlier period still not paid in full at this close."""

    instruction_id: str
    period_id: str
    currency: str
    payer: str
    payee: str
    outstanding_minor: int


@dataclass(frozen=True, slots=True)
class ControlTotal:
    """Sums over the brand's movements in one currency: what the CSV export's trailer must show."""

    currency: str
    movements: int
    source_points: int
    target_points: int
    amount_minor: int


_R = TypeVar("_R", bound="DataclassInstance")
_ListKey = Callable[[Any], tuple[str, ...]]
_TOP_LEVEL_KEYS = frozenset(
    {
        "format", "statement_id", "partner_id", "display_name", "point_currency", "sequence",
        "previous_statement_sha256", "hub_key_id", "period", "counterparties", "net_positions",
        "coalition_check", "payment_instructions", "outstanding_from_earlier_periods", "control_totals",
        "movement_count",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """A parsed coalition-statement/1 document; to_json_value() gives back exactly what was parsed."""

    format: str
    statement_id: str
    partner_id: str
    display_name: str
    point_currency: str
    sequence: int
    previous_statement_sha256: str
    hub_key_id: str
    period: PeriodInfo
    counterparties: tuple[CounterpartyLine, ...]
    net_positions: tuple[NetPosition, ...]
    coalition_check: tuple[CoalitionCheck, ...]
    payment_instructions: tuple[NettedPayment, ...]
    outstanding_from_earlier_periods: tuple[OutstandingPayment, ...]
    control_totals: tuple[ControlTotal, ...]
    movement_count: int

    @classmethod
    def from_json(cls, document: bytes) -> StatementDocument:
        """Parse and check a statement document strictly: every key present, no other, every type exact.

        Raises:
            StatementFormatError: naming the first thing wrong or missing, or an unknown format.
        """
        root = _object(_load(document), "document", None)
        if root.get("format") != DOCUMENT_FORMAT:
            raise StatementFormatError(f"unknown format {root.get('format')!r}; this SDK reads {DOCUMENT_FORMAT!r}")
        root = _object(root, "document", _TOP_LEVEL_KEYS)
        parsed = cls(
            format=DOCUMENT_FORMAT,
            statement_id=_string(root, "statement_id", "document"),
            partner_id=_string(root, "partner_id", "document"),
            display_name=_string(root, "display_name", "document"),
            point_currency=_string(root, "point_currency", "document", may_be_empty=True),  # empty for a charity
            sequence=_integer(root, "sequence", "document"),
            previous_statement_sha256=_string(root, "previous_statement_sha256", "document"),
            hub_key_id=_string(root, "hub_key_id", "document"),
            period=_record(PeriodInfo, root["period"], "period"),
            counterparties=_records(CounterpartyLine, root, "counterparties", lambda c: (c.counterparty, c.currency)),
            net_positions=_records(NetPosition, root, "net_positions", lambda p: (p.currency,)),
            coalition_check=_records(CoalitionCheck, root, "coalition_check", lambda c: (c.currency,)),
            payment_instructions=_records(NettedPayment, root, "payment_instructions", lambda p: (p.instruction_id,)),
            outstanding_from_earlier_periods=_records(OutstandingPayment, root, "outstanding_from_earlier_periods"),
            control_totals=_records(ControlTotal, root, "control_totals", lambda t: (t.currency,)),
            movement_count=_integer(root, "movement_count", "document"),
        )
        _check_ranges(parsed)
        return parsed

    def to_json_value(self) -> dict[str, object]:
        """Return the document as the JSON value it was parsed from (canonical_json of it is the document)."""
        value: dict[str, object] = {}
        for f in fields(self):
            item = getattr(self, f.name)
            if isinstance(item, tuple):
                value[f.name] = [_record_json(record) for record in item]
            elif isinstance(item, PeriodInfo):
                value[f.name] = _record_json(item)
            else:
                value[f.name] = item
        return value


def _load(document: bytes) -> object:
    def duplicate_keys_refused(pairs: list[tuple[str, object]]) -> dict[str, object]:
        value = dict(pairs)
        if len(value) != len(pairs):
            raise StatementFormatError("the document repeats a key")
        return value

    def float_refused(text: str) -> object:
        raise StatementFormatError(f"the document holds a non-integer number {text}; amounts are integers")

    try:
        return json.loads(
            document.decode("utf-8"),
            object_pairs_hook=duplicate_keys_refused,
            parse_float=float_refused,
            parse_constant=float_refused,
        )
    except UnicodeDecodeError as exc:
        raise StatementFormatError("the document is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise StatementFormatError(f"the document is not JSON: {exc}") from exc


def _object(value: object, path: str, keys: frozenset[str] | None) -> dict[str, object]:
    if not isinstance(value, dict):
        raise StatementFormatError(f"{path} must be a JSON object")
    if keys is not None:
        if missing := sorted(keys - value.keys()):
            raise StatementFormatError(f"{path} is missing {', '.join(missing)}")
        if unknown := sorted(value.keys() - keys):
            raise StatementFormatError(f"{path} has unknown key(s) {', '.join(unknown)}")
    return value


def _string(obj: dict[str, object], key: str, path: str, *, may_be_empty: bool = False) -> str:
    value = obj[key]
    if not isinstance(value, str) or not (value or may_be_empty):
        raise StatementFormatError(f"{path}.{key} must be a non-empty string, not {value!r}")
    if key == "currency" and not _CURRENCY.fullmatch(value):
        raise StatementFormatError(f"{path}.{key} {value!r} is not an ISO 4217 currency code")
    return value


def _integer(obj: dict[str, object], key: str, path: str) -> int:
    value = obj[key]
    if type(value) is not int:  # bool is an int subclass: true is not 1 here
        raise StatementFormatError(f"{path}.{key} must be an integer, not {value!r}")
    if abs(value) > INT64_MAX:
        raise StatementFormatError(f"{path}.{key} {value} is out of range")
    return value


def _record(cls: type[_R], value: object, path: str) -> _R:
    names = {f.name: f.type for f in fields(cls)}  # "int" or "str": annotations are strings in this module
    obj = _object(value, path, frozenset(names))
    read = {name: (_integer if kind == "int" else _string)(obj, name, path) for name, kind in names.items()}
    return cls(**read)


def _records(cls: type[_R], root: dict[str, object], key: str, sort_key: _ListKey | None = None) -> tuple[_R, ...]:
    items = root[key]
    if not isinstance(items, list):
        raise StatementFormatError(f"document.{key} must be a list")
    records = tuple(_record(cls, item, f"{key}[{index}]") for index, item in enumerate(items))
    if sort_key is not None:
        keys = [sort_key(record) for record in records]
        for before, after in itertools.pairwise(keys):
            if before >= after:
                raise StatementFormatError(f"document.{key} is not sorted without repeats: {after} after {before}")
    return records


def _record_json(record: DataclassInstance) -> dict[str, object]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _check_ranges(doc: StatementDocument) -> None:
    def require(ok: bool, message: str) -> None:
        if not ok:
            raise StatementFormatError(message)

    require(doc.sequence >= 1, f"document.sequence must be at least 1, not {doc.sequence}")
    require(
        bool(_SHA256_HEX.fullmatch(doc.previous_statement_sha256)), "previous_statement_sha256 is not 64 hex digits"
    )
    require(doc.movement_count >= 0, "document.movement_count must not be negative")
    period = doc.period
    require(period.number >= 1, "period.number must be at least 1")
    require(
        period.opened_at_ms <= period.cutoff_ms <= period.closed_at_ms,
        "the period must open before its cut-off and close at or after it",
    )
    for line in doc.counterparties:
        require(min(line.movements_as_source, line.movements_as_target) >= 0, "movement counts must not be negative")
    require(all(c.partners >= 0 for c in doc.coalition_check), "coalition_check partners must not be negative")
    require(all(t.movements >= 0 for t in doc.control_totals), "control_totals movements must not be negative")
    for payment in doc.payment_instructions:
        require(payment.amount_minor > 0, f"payment instruction {payment.instruction_id!r} must move a positive amount")
        require(payment.payer != payment.payee, f"payment instruction {payment.instruction_id!r} pays its payer")
    for owed in doc.outstanding_from_earlier_periods:
        require(owed.outstanding_minor > 0, f"outstanding payment {owed.instruction_id!r} must be positive")


def verify_statement(statement: Statement, hub_public_key: bytes) -> StatementDocument:
    """Verify a statement offline and return its parsed document.

    Checks, in order: the SHA-256 of the document; the hub's Ed25519 signature over
    statement_message(document); that the document parses and is canonical; that the envelope
    agrees with the signed document; the arithmetic (bilateral nets, net positions, coalition
    check, control totals, and that this period's payment instructions settle the net
    positions); and that the live payment status agrees with the signed instructions.

    Args:
        statement: the statement as the hub returned it.
        hub_public_key: the raw 32-byte public key of the hub key statement.hub_key_id.

    Raises:
        StatementVerificationError: naming the first problem.
    """
    computed = document_sha256(statement.document)
    if computed != statement.document_sha256:
        raise _fail(
            "DOCUMENT_HASH_MISMATCH",
            f"document_sha256 {statement.document_sha256!r} is not the SHA-256 of the document ({computed})",
        )
    if len(hub_public_key) != HUB_PUBLIC_KEY_BYTES:
        raise _fail("BAD_HUB_KEY", f"the hub public key must be 32 bytes, not {len(hub_public_key)}")
    try:
        Ed25519PublicKey.from_public_bytes(hub_public_key).verify(
            statement.signature, statement_message(statement.document)
        )
    except (InvalidSignature, ValueError):
        raise _fail(
            "BAD_SIGNATURE", "the signature does not verify with this hub public key: wrong key, or an altered document"
        ) from None
    try:
        document = StatementDocument.from_json(statement.document)
    except StatementFormatError as exc:
        raise _fail(exc.reason, f"the signed document is malformed: {exc.message}") from exc
    if canonical_json(document.to_json_value()) != statement.document:
        raise _fail("NOT_CANONICAL", "the signed document is not canonical JSON")
    _check_envelope(statement, document)
    _check_arithmetic(document)
    _check_live_status(statement, document)
    return document


def _fail(reason: str, message: str) -> StatementVerificationError:
    return StatementVerificationError(message, reason=reason)


def _check_envelope(statement: Statement, doc: StatementDocument) -> None:
    pairs: tuple[tuple[str, object, object], ...] = (
        ("statement_id", statement.statement_id, doc.statement_id),
        ("partner_id", statement.partner_id, doc.partner_id),
        ("period_id", statement.period_id, doc.period.period_id),
        ("sequence", statement.sequence, doc.sequence),
        ("previous_statement_sha256", statement.previous_statement_sha256, doc.previous_statement_sha256),
        ("hub_key_id", statement.hub_key_id, doc.hub_key_id),
    )
    for name, envelope, signed in pairs:
        if envelope != signed:
            raise _fail(
                "ENVELOPE_MISMATCH", f"the envelope's {name} {envelope!r} is not the signed document's {signed!r}"
            )


def _check_arithmetic(doc: StatementDocument) -> None:
    bilateral: defaultdict[str, int] = defaultdict(int)
    movements: defaultdict[str, int] = defaultdict(int)
    money: defaultdict[str, int] = defaultdict(int)
    for line in doc.counterparties:
        expected = line.money_receivable_minor - line.money_payable_minor
        if line.bilateral_net_minor != expected:
            raise _fail(
                "BILATERAL_NET_WRONG",
                f"counterparty {line.counterparty!r} in {line.currency}: bilateral_net_minor is "
                f"{line.bilateral_net_minor}, but receivable {line.money_receivable_minor} - payable "
                f"{line.money_payable_minor} = {expected}",
            )
        bilateral[line.currency] += expected
        movements[line.currency] += line.movements_as_source + line.movements_as_target
        money[line.currency] += line.money_payable_minor + line.money_receivable_minor
    positions = {p.currency: p.net_minor for p in doc.net_positions}
    for currency in sorted(positions.keys() | bilateral.keys()):
        if positions.get(currency, 0) != bilateral[currency]:
            raise _fail(
                "NET_POSITION_WRONG",
                f"the net position in {currency} is {positions.get(currency, 0)}, "
                f"but the bilateral nets sum to {bilateral[currency]}",
            )
    checked = {c.currency for c in doc.coalition_check}
    for check in doc.coalition_check:
        if check.sum_of_net_positions_minor != 0:
            raise _fail(
                "COALITION_UNBALANCED",
                f"coalition check in {check.currency}: the {check.partners} partners' net positions sum to "
                f"{check.sum_of_net_positions_minor}, not 0",
            )
    if unchecked := sorted(c for c, net in positions.items() if net and c not in checked):
        raise _fail("COALITION_UNBALANCED", f"no coalition check for {', '.join(unchecked)}")
    _check_control_totals(doc, movements, money)
    _check_payments_settle(doc, positions)


def _check_control_totals(doc: StatementDocument, movements: dict[str, int], money: dict[str, int]) -> None:
    counted = sum(t.movements for t in doc.control_totals)
    if counted != doc.movement_count:
        raise _fail(
            "CONTROL_TOTALS_WRONG",
            f"the control totals count {counted} movements, but movement_count is {doc.movement_count}",
        )
    totals = {t.currency: t for t in doc.control_totals}
    for currency in sorted(totals.keys() | movements.keys()):
        total = totals.get(currency, ControlTotal(currency, 0, 0, 0, 0))
        if total.movements != movements.get(currency, 0) or total.amount_minor != money.get(currency, 0):
            raise _fail(
                "CONTROL_TOTALS_WRONG",
                f"the {currency} control total ({total.movements} movements, {total.amount_minor}) is not what the "
                f"counterparty lines add up to ({movements.get(currency, 0)} movements, {money.get(currency, 0)})",
            )


def _check_payments_settle(doc: StatementDocument, positions: dict[str, int]) -> None:
    """Netting settles every position exactly, so this period's payments must bring the brand's to zero."""
    settled: defaultdict[str, int] = defaultdict(int)
    for payment in doc.payment_instructions:
        if doc.partner_id not in (payment.payer, payment.payee):
            raise _fail("FOREIGN_PAYMENT", f"payment instruction {payment.instruction_id!r} is not the brand's")
        settled[payment.currency] += payment.amount_minor if payment.payee == doc.partner_id else -payment.amount_minor
    for currency in sorted(positions.keys() | settled.keys()):
        if settled[currency] != positions.get(currency, 0):
            raise _fail(
                "PAYMENTS_DO_NOT_SETTLE",
                f"the payment instructions in {currency} settle {settled[currency]}, "
                f"but the net position is {positions.get(currency, 0)}",
            )
    for owed in doc.outstanding_from_earlier_periods:
        if doc.partner_id not in (owed.payer, owed.payee):
            raise _fail("FOREIGN_PAYMENT", f"outstanding payment {owed.instruction_id!r} is not the brand's")


def _check_live_status(statement: Statement, doc: StatementDocument) -> None:
    signed = {p.instruction_id: p for p in doc.payment_instructions}
    for live in statement.payment_instructions:
        payment = signed.get(live.instruction_id)
        agrees = payment is not None and (
            (live.period_id, live.currency, live.payer_partner_id, live.payee_partner_id, live.amount_minor)
            == (doc.period.period_id, payment.currency, payment.payer, payment.payee, payment.amount_minor)
        )
        if not agrees or live.paid_minor + live.outstanding_minor != live.amount_minor:
            raise _fail(
                "LIVE_STATUS_MISMATCH",
                f"the live status of payment instruction {live.instruction_id!r} disagrees with the signed document",
            )


def verify_chain(statements: Sequence[Statement], hub_public_key: bytes) -> list[StatementDocument]:
    """Verify a brand's statements and that each is chained to the one before; return their documents.

    The statements are taken in sequence order. Each must verify; the first, if it is sequence 1,
    must point at GENESIS_SHA256; each next one must have the next sequence number and carry the
    previous one's document_sha256. A run may start after 1 (the brand's latest few).

    Raises:
        StatementVerificationError: naming the statement at fault (mixed partners, a gap, an
            altered statement, a broken link).
    """
    ordered = sorted(statements, key=lambda s: s.sequence)
    documents: list[StatementDocument] = []
    previous: Statement | None = None
    for statement in ordered:
        name = f"statement {statement.statement_id!r} (sequence {statement.sequence})"
        if statement.partner_id != ordered[0].partner_id:
            raise _fail(
                "CHAIN_MIXED_PARTNERS", f"{name} is for {statement.partner_id!r}, not {ordered[0].partner_id!r}"
            )
        try:
            documents.append(verify_statement(statement, hub_public_key))
        except StatementVerificationError as exc:
            raise _fail(exc.reason, f"{name}: {exc.message}") from exc
        if previous is None:
            if statement.sequence == 1 and statement.previous_statement_sha256 != GENESIS_SHA256:
                raise _fail("CHAIN_BROKEN", f"{name} is the first statement but does not point at the genesis hash")
        elif statement.sequence != previous.sequence + 1:
            raise _fail("CHAIN_GAP", f"{name} follows sequence {previous.sequence}: the chain has a gap or a repeat")
        elif statement.previous_statement_sha256 != previous.document_sha256:
            raise _fail(
                "CHAIN_BROKEN",
                f"{name} points at {statement.previous_statement_sha256}, not at statement "
                f"{previous.statement_id!r} ({previous.document_sha256})",
            )
        previous = statement
    return documents
