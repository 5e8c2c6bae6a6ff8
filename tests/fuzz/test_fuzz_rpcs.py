"""Fuzzing every signed RPC with properly signed garbage: the hub refuses cleanly and changes nothing.

For every method of every signed service the hub serves (from ``hub.server.services`` and the
protobuf descriptors; not HubService, health or reflection), hypothesis sends

- random bytes, and
- requests of the method's own type with generated field values: ids of real things in the
  coalition (tests/fuzz/scenario.py), SQL meta-characters, RTL marks, emoji, combining marks,
  NUL, strings up to 100 000 characters, extreme and negative integers, unknown enum numbers,
  repeated fields with up to 600 elements, timestamps far outside any calendar; serialised,
  then sometimes with a byte flipped or the tail cut off.

Each request is signed properly, by an active partner, by the operator for operator methods
(either for methods both may call), and for RegisterPartner by the key in its body, so it
passes authentication and reaches the handler. The properties:

- the answer is OK or a status that is neither INTERNAL nor UNKNOWN (every AwardPoints item too);
- after a refusal every table but the nonce store is exactly as before (``snapshot``);
- the hub still answers GetHubInfo afterwards.

Budget: ``COALITION_FUZZ_EXAMPLES`` examples of generated requests per RPC (default 10, about
a minute for the whole file on SQLite) and a third as many of random bytes; set it higher for a
longer run, e.g. ``COALITION_FUZZ_EXAMPLES=500 pytest tests/fuzz``. One hub and one coalition
serve the whole module; the ledger invariants are checked when it stops.
"""

from __future__ import annotations

import base64
import io
import os
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import sqlalchemy
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coalition.exchange.v1 import accruals_pb2, hub_pb2, registry_pb2
from exchange.api.hub_service import GET_HUB_INFO, HUB_SERVICE
from exchange.service.paging import encode_cursor, encode_key_cursor
from exchange.store.tables import partners
from partner_sdk import generate_private_key, public_key_bytes, signing
from partner_sdk.operator import operator_key_id
from partner_sdk.settlement_csv import write_movements_csv
from tests.conftest import RunningHub
from tests.e2e.test_signed_requests import Signed, snapshot
from tests.fuzz.scenario import (
    CALLERS,
    CHARITY,
    OUTSIDER,
    PARTIES,
    SIGNED_METHOD_TABLES,
    World,
    build_world,
    module_hub,
)

EXAMPLES = max(1, int(os.environ.get("COALITION_FUZZ_EXAMPLES", "10")))
DIALECT = os.environ.get("COALITION_FUZZ_DATABASE", "sqlite")  # or "postgresql", on demand
BAD_CODES = frozenset({"INTERNAL", "UNKNOWN"})
UNKNOWN_OUTCOME = frozenset({"DEADLINE_EXCEEDED", "CANCELLED"})  # the client gave up: the call may have run
LONG_POLL_TIMEOUT_S = 1.5  # PullInstructions waits until 1 s before the deadline: keep its waits short
CALL_TIMEOUT_S = 10.0
MAX_DEPTH = 3
MAX_STRING_CHARS = 100_000
MAX_REPEATED = 600  # above AwardPoints' 500 items


def _rpc_methods(services: tuple[str, ...] | list[str]) -> list[MethodDescriptor]:
    pool = descriptor_pool.Default()
    found = [
        method for service in services if service != HUB_SERVICE for method in pool.FindServiceByName(service).methods
    ]
    # What destroys the coalition's state (ending agreements, links, members) runs last, so the
    # other methods are fuzzed against live things.
    destructive = ("Terminate", "Suspend", "Erase", "Unlink", "Revoke", "Void", "Reject")
    return sorted(found, key=lambda m: (m.name.startswith(destructive), m.containing_service.name, m.name))


# The module's list, from the descriptors of what a hub with a keyring serves (checked against
# the running hub by test_the_fuzzer_covers_every_signed_rpc).
METHODS = [f"/{m.containing_service.full_name}/{m.name}" for m in _rpc_methods(list(SIGNED_METHOD_TABLES))]


def _method(full_name: str) -> MethodDescriptor:
    _, service, name = full_name.split("/")
    return descriptor_pool.Default().FindServiceByName(service).methods_by_name[name]


# ---------------------------------------------------------------- the hub and the coalition


@dataclass
class Fuzzing:
    """The module's hub, its coalition and one channel to send raw calls on."""

    hub: RunningHub
    world: World
    channel: grpc.Channel

    def now(self) -> int:
        return self.hub.clock.now_ms()


@pytest.fixture(scope="module")
def fuzzing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzing]:
    for hub in module_hub(DIALECT, request, tmp_path_factory.mktemp("fuzz")):
        world = build_world(hub)
        with grpc.insecure_channel(hub.target) as channel:
            yield Fuzzing(hub, world, channel)


def call(channel: grpc.Channel, signed: Signed, timeout_s: float = CALL_TIMEOUT_S) -> tuple[str, str, bytes]:
    """Send raw signed bytes on an open channel; return (status code name, reason, response bytes)."""
    try:
        answer = channel.unary_unary(signed.method, None, None)(
            signed.body, metadata=signed.metadata(), timeout=timeout_s
        )
    except grpc.RpcError as error:
        assert isinstance(error, grpc.Call)
        # A refusal whose trailers outgrow what the client reads arrives as RESOURCE_EXHAUSTED
        # instead of its own status (found: huge ids echoed in messages).
        assert "metadata size" not in (error.details() or ""), f"{signed.method}: {error.details()}"
        reason = ""
        status = rpc_status.from_call(error)
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
        return error.code().name, reason, b""
    return "OK", "", answer


def hub_answers(channel: grpc.Channel) -> bool:
    answer = channel.unary_unary(GET_HUB_INFO, None, None)(hub_pb2.GetHubInfoRequest().SerializeToString(), timeout=5)
    return bool(hub_pb2.GetHubInfoResponse.FromString(answer).hub_public_key)


# ---------------------------------------------------------------- what to send

SQL_META = (
    "'; DROP TABLE partners;--",
    "' OR '1'='1",
    '" OR 1=1 --',
    "stride' --",
    "%",
    "_",
    "%_%",
    "\\",
    "\\'",
    "1; SELECT * FROM partners",
    "Robert'); DROP TABLE members;--",
    "$$; TRUNCATE ledger_entries; $$",
    "/* */",
    "NULL",
)
ODD_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202egnp.exe",  # right-to-left override
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\U0001f3c3\u200d\u2640\ufe0f\U0001f389",  # emoji with a zero-width joiner
    "e\u0301\u0302\u0303\u0304\u0305",  # combining marks
    "\ufeffbom",
    "\u200b",
    "\r\n\t",
    "\U0001d518\U0001d52b\U0001d526",
    "\uffff",
    "\uff9f\uff65\u273f\u30fe\u2572(\uff61\u25d5\u203f\u25d5\uff61)\u2571\u273f\uff65\uff9f",  # kaomoji
)
odd_strings = st.one_of(
    st.sampled_from(SQL_META + ODD_TEXT),
    st.text(max_size=40),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-_", max_size=70),
    # very long: a short piece repeated, cut to at most 100 000 characters
    st.builds(
        lambda piece, times: (piece * times)[:MAX_STRING_CHARS],
        st.text(min_size=1, max_size=3),
        st.integers(min_value=50, max_value=MAX_STRING_CHARS),
    ),
)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _ints(bits: tuple[int, int]) -> st.SearchStrategy[int]:
    low, high = bits
    return st.one_of(
        st.integers(min_value=0, max_value=2_000),
        st.sampled_from(
            [n for n in (0, -1, 1, low, high, low + 1, high - 1, 500, 501, 10**12, -(10**12)) if low <= n <= high]
        ),
        st.integers(min_value=low, max_value=high),
    )


@dataclass(frozen=True)
class Known:
    """Real and nearly real values for fields by name, so generated requests reach past the first refusal."""

    strings: dict[str, list[str]]
    content: bytes  # stride's own export of its statement: a reconciliation upload that parses


def _page_tokens() -> list[str]:
    """Tokens shaped as the hub's own, holding what no page of the hub ever ends at."""
    return [
        encode_cursor(2**63, "x"),
        encode_cursor(-(2**70), "x"),
        encode_cursor(1_700_000_000_000, "'; DROP TABLE partners;--"),
        encode_key_cursor("stride"),
        encode_key_cursor("x|\u00b2"),  # a digit to str.isdigit, not to int()
        encode_key_cursor("x|" + "9" * 30),
        encode_key_cursor("x|" + "9" * 5_000),
        encode_key_cursor("%' OR 1=1 --"),
        base64.urlsafe_b64encode(b"c1:" + b"9" * 5_000 + b":x").decode("ascii"),
        base64.urlsafe_b64encode("c1:\u0661\u0662:x".encode()).decode("ascii"),  # Arabic-Indic digits
    ]


def _known(world: World) -> Known:
    ids = world.ids
    partners_ = [*PARTIES, OUTSIDER, CHARITY, "operator"]
    strings = {
        "partner_id": partners_,
        "counterparty": partners_,
        "agreement_id": [
            ids[k] for k in ("agreement", "proposed_agreement", "accrual_agreement", "donation_agreement")
        ],
        "conversion_id": [ids["conversion"], ids["pending_conversion"]],
        "movement_id": [ids["conversion"], ids["pending_conversion"], ids["award"]],
        "quote_id": [ids["quote"]],
        "hold_id": [ids["hold"]],
        "instruction_id": [ids["instruction"], ids["payment_instruction"]],
        "period_id": [ids["period"], "per-000002"],
        "statement_id": [ids["statement"], ids["voltline_statement"]],
        "dispute_id": [ids["dispute"]],
        "reconciliation_id": [ids["reconciliation"], ids["finished_reconciliation"]],
        "link_id": [ids["link"]],
        "consent_id": [ids["consent"]],
        "award_id": [ids["award"]],
        "member_ref": ["s-1", "v-1", "m-1", "m-3"],
        "pairwise_member_id": [ids["voltline_pairwise"], ids["stride_pairwise"]],
        "currency": ["GBP", "EUR", "XXX"],
        "key": ["shoe_size"],
        "attribute_keys": ["shoe_size"],
        "activity_type": ["run_logged"],
        "activity_types": ["run_logged"],
        "key_id": ["k1", "k2"],
        "code": ["ABCDE-FGHIJ"],
        "idempotency_key": ["k-fuzz-1", "k-fuzz-2"],
        "page_token": _page_tokens(),
    }
    stride = world["stride"]
    moved = list(stride.iter_statement_movements(ids["statement"]))
    export = io.StringIO()
    write_movements_csv(
        export, period_id=ids["period"], partner_id="stride", statement_id=ids["statement"], movements=moved
    )
    return Known(strings, export.getvalue().encode())


@st.composite
def _upload(draw: st.DrawFn, content: bytes) -> bytes:
    """The export with one field of one line replaced by odd text or an odd number."""
    lines = content.decode().splitlines()
    row = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    fields = lines[row].split(",")
    column = draw(st.integers(min_value=0, max_value=len(fields) - 1))
    fields[column] = draw(
        st.one_of(
            odd_strings.map(lambda text: text[:2_000]),
            st.sampled_from(("9" * 30, "-1", "1e9", "0x10", " 12", "\u00b2", "\u0661\u0662", "12.50", "-0", "")),
            st.integers().map(str),
        )
    )
    lines[row] = ",".join(fields)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def _known_for(name: str, known: dict[str, list[str]]) -> list[str]:
    if name in known:
        return known[name]
    for suffix in sorted(known, key=len, reverse=True):
        if name.endswith("_" + suffix):
            return known[suffix]
    return []


def _scalar(field: FieldDescriptor, known: Known) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        real = _known_for(field.name, known.strings)
        return st.one_of(st.sampled_from(real), odd_strings) if real else odd_strings
    if kind == FieldDescriptor.TYPE_BYTES and field.name == "content":
        return st.one_of(st.just(known.content), _upload(known.content), st.binary(max_size=200))
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(
            st.binary(max_size=80), st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64)
        )
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-3, 100))
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return _ints(INT32)
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return _ints(INT64)
    raise AssertionError(f"no strategy for {field.full_name} of type {kind}")  # the protos use no others


def _timestamp() -> st.SearchStrategy[dict[str, int]]:
    now_s = 1_750_000_000
    return st.fixed_dictionaries(
        {
            "seconds": st.one_of(
                st.integers(now_s - 86_400 * 400, now_s + 86_400 * 400), _ints(INT64), st.just(253_402_300_800)
            ),
            "nanos": st.one_of(st.just(0), st.sampled_from((1, 999_999_999, 10**9, -1)), _ints(INT32)),
        }
    )


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, known: Known, depth: int = 0) -> Message:
    message: Message = GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if not draw(st.booleans()):
            continue  # left unset
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= MAX_DEPTH:
                continue
            is_time = field.message_type.full_name == "google.protobuf.Timestamp"
            values = _repeated(draw, field, _timestamp() if is_time else _message(field.message_type, known, depth + 1))
            for value in values:
                target = getattr(message, field.name).add() if _is_repeated(field) else getattr(message, field.name)
                if isinstance(value, dict):
                    target.seconds, target.nanos = value["seconds"], value["nanos"]
                else:
                    target.CopyFrom(value)
            continue
        values = _repeated(draw, field, _scalar(field, known))
        if _is_repeated(field):
            getattr(message, field.name).extend(values)
        else:
            setattr(message, field.name, values[0])
    return message


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _repeated(draw: st.DrawFn, field: FieldDescriptor, one: st.SearchStrategy[Any]) -> list[Any]:
    if not _is_repeated(field):
        return [draw(one)]
    if draw(st.booleans()):
        return draw(st.lists(one, max_size=4))
    # many: one element repeated, cheap to generate, up to past every list limit
    return [draw(one)] * draw(st.integers(min_value=0, max_value=MAX_REPEATED))


@st.composite
def _mutated(draw: st.DrawFn, body: bytes) -> bytes:
    """The serialised bytes, sometimes with one byte flipped or the tail cut off."""
    choice = draw(st.sampled_from(("as is", "as is", "flip", "truncate")))
    if not body or choice == "as is":
        return body
    at = draw(st.integers(min_value=0, max_value=len(body) - 1))
    if choice == "flip":
        return body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    return body[:at]


def _signer(draw: Callable[[st.SearchStrategy[Any]], Any], fuzz: Fuzzing, method: str) -> tuple[str, str, Any]:
    """Who signs: (principal, key id, private key), allowed to call the method (a newcomer if nobody is)."""
    callers = CALLERS[method]
    choices = [
        *(("operator",) if "operator" in callers else ()),
        *((*PARTIES, OUTSIDER, CHARITY) if "partner" in callers else ()),
    ]
    if not choices:  # RegisterPartner: signed by a key of its own
        return "fuzz-newco", "k1", generate_private_key()
    principal = draw(st.sampled_from(choices))
    if principal == "operator":
        return principal, operator_key_id(public_key_bytes(fuzz.hub.operator_key)), fuzz.hub.operator_key
    return principal, "k1", fuzz.world.keys[principal]


def _sign_body(fuzz: Fuzzing, method: str, body: bytes, principal: str, key_id: str, key: Any) -> Signed:
    headers = signing.sign_request(
        key, method=method, principal=principal, key_id=key_id, body=body, timestamp_ms=fuzz.now()
    )
    return Signed(method, body, principal, key_id, headers.timestamp_ms, headers.nonce, headers.signature)


def _registration(
    draw: Callable[[st.SearchStrategy[Any]], Any], fuzz: Fuzzing, method: str, generated: Message
) -> Signed:
    """RegisterPartner is signed by the key in its body, as the partner it registers (sometimes with a valid proof)."""
    request = registry_pb2.RegisterPartnerRequest()
    request.CopyFrom(generated)
    key = generate_private_key()
    public = public_key_bytes(key)
    partner_id = request.partner_id if signing.PRINCIPAL_PATTERN.fullmatch(request.partner_id) else "fuzz-newco"
    key_id = request.key.key_id if signing.KEY_ID_PATTERN.fullmatch(request.key.key_id) else "k1"
    if draw(st.booleans()):
        request.partner_id, request.key.key_id = partner_id, key_id
    request.key.public_key = public
    if draw(st.booleans()):
        request.possession_proof = key.sign(
            signing.possession_message(principal=partner_id, key_id=key_id, public_key=public)
        )
    body = draw(_mutated(request.SerializeToString()))
    return _sign_body(fuzz, method, body, partner_id, key_id, key)


# ---------------------------------------------------------------- the property


def _heal(fuzz: Fuzzing) -> None:
    """Reinstate a coalition partner the operator's fuzzing suspended, so later methods reach their handlers."""
    with fuzz.hub.database.engine.connect() as connection:
        suspended = connection.execute(
            sqlalchemy.select(partners.c.partner_id).where(
                partners.c.partner_id.in_([*PARTIES, OUTSIDER, CHARITY]), partners.c.status == "SUSPENDED"
            )
        ).scalars()
        names = list(suspended)
    for name in names:
        fuzz.world.operator.reinstate(name)


def check(fuzz: Fuzzing, signed: Signed) -> None:
    """Send one signed call and assert the properties."""
    before = snapshot(fuzz.hub)
    timeout_s = LONG_POLL_TIMEOUT_S if signed.method.endswith("/PullInstructions") else CALL_TIMEOUT_S
    code, reason, answer = call(fuzz.channel, signed, timeout_s)
    assert code not in BAD_CODES, f"{signed.method} answered {code} ({reason}) to {signed.body[:300]!r}"
    if code == "OK":
        if signed.method.endswith("/AwardPoints"):
            results = accruals_pb2.AwardPointsResponse.FromString(answer).results
            bad = [r.error for r in results if r.HasField("error") and r.error.code in BAD_CODES]
            assert not bad, f"AwardPoints items answered {bad[:3]}"
        if "operator" in CALLERS[signed.method]:
            _heal(fuzz)
    elif code not in UNKNOWN_OUTCOME:
        assert snapshot(fuzz.hub) == before, f"{signed.method} refused ({code} {reason}) but changed the database"
    assert hub_answers(fuzz.channel)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,
        ],
    )


@pytest.fixture(scope="module")
def known(fuzzing: Fuzzing) -> Known:
    return _known(fuzzing.world)


def test_the_fuzzer_covers_every_signed_rpc(fuzzing: Fuzzing) -> None:
    served = [f"/{m.containing_service.full_name}/{m.name}" for m in _rpc_methods(fuzzing.hub.server.services)]
    assert sorted(served) == sorted(METHODS) == sorted(CALLERS)


@pytest.mark.parametrize("method", METHODS)
def test_random_bytes_signed_by_an_allowed_caller_are_answered_or_refused_cleanly(
    fuzzing: Fuzzing, method: str
) -> None:
    @_settings(max(1, EXAMPLES // 3))
    @given(data=st.data(), body=st.binary(max_size=2_000))
    def random_bytes(data: st.DataObject, body: bytes) -> None:
        check(fuzzing, _sign_body(fuzzing, method, body, *_signer(data.draw, fuzzing, method)))

    random_bytes()


@pytest.mark.parametrize("method", METHODS)
def test_generated_requests_signed_by_an_allowed_caller_are_answered_or_refused_cleanly(
    fuzzing: Fuzzing, known: Known, method: str
) -> None:
    descriptor = _method(method).input_type

    @_settings(EXAMPLES)
    @given(data=st.data())
    def generated(data: st.DataObject) -> None:
        request = data.draw(_message(descriptor, known))
        if method.endswith("/RegisterPartner"):
            signed = _registration(data.draw, fuzzing, method, request)
        else:
            body = data.draw(_mutated(request.SerializeToString()))
            signed = _sign_body(fuzzing, method, body, *_signer(data.draw, fuzzing, method))
        check(fuzzing, signed)

    generated()
