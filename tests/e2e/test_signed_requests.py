"""Every signed RPC refuses what it must: a matrix of forged, tampered, stale and replayed calls.

Each refusal is UNAUTHENTICATED or PERMISSION_DENIED with the hub's reason, and changes
nothing: partners, keys and registry events are the same before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import grpc
import pytest
import sqlalchemy
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from coalition.exchange.v1 import common_pb2, operator_pb2, registry_pb2
from exchange.store.tables import metadata, request_nonces
from partner_sdk import generate_private_key, public_key_bytes, signing
from partner_sdk.keys import Ed25519PrivateKey
from tests.conftest import RunningHub, configured_hub

REGISTRY = "/coalition.exchange.v1.RegistryService/"
OPERATOR = "/coalition.exchange.v1.OperatorService/"


@dataclass(frozen=True)
class Signed:
    """A request about to be sent: method, exact bytes and headers."""

    method: str
    body: bytes
    principal: str
    key_id: str
    timestamp_ms: int
    nonce: str
    signature: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return signing.SignedHeaders(
            self.principal, self.key_id, self.timestamp_ms, self.nonce, self.signature
        ).as_metadata()


def sign(
    key: Ed25519PrivateKey, method: str, request: Message, principal: str, key_id: str, now_ms: int, nonce: str = ""
) -> Signed:
    body = request.SerializeToString()
    headers = signing.sign_request(
        key, method=method, principal=principal, key_id=key_id, body=body, timestamp_ms=now_ms, nonce=nonce or None
    )
    return Signed(method, body, principal, key_id, now_ms, headers.nonce, headers.signature)


def send(hub: RunningHub, call: Signed, metadata: tuple[tuple[str, str], ...] | None = None) -> tuple[str, str, bytes]:
    """Send raw bytes; return (status code name, reason, response bytes)."""
    with grpc.insecure_channel(hub.target) as channel:
        try:
            answer = channel.unary_unary(call.method, None, None)(
                call.body, metadata=call.metadata() if metadata is None else metadata, timeout=10
            )
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            status = rpc_status.from_call(error)
            reason = ""
            if status is not None:
                for detail in status.details:
                    if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                        info = error_details_pb2.ErrorInfo()
                        detail.Unpack(info)
                        reason = info.reason
            return error.code().name, reason, b""
    return "OK", "", answer


def snapshot(hub: RunningHub) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows but the nonce store's, which keeps a refusal's answer so a resend gets the same one."""
    with hub.database.engine.connect() as connection:
        return {
            table.name: sorted(tuple(row) for row in connection.execute(sqlalchemy.select(table)).all())
            for table in metadata.sorted_tables
            if table is not request_nonces
        }


@dataclass
class Coalition:
    """Two active partners, one with a revoked key, one pending, one suspended, and the operator."""

    hub: RunningHub
    keys: dict[str, Ed25519PrivateKey]

    def now(self) -> int:
        return self.hub.clock.now_ms()


@pytest.fixture
def coalition(hub: RunningHub) -> Coalition:
    keys: dict[str, Ed25519PrivateKey] = {}
    for partner_id in ("alpha", "bravo", "sleepy"):
        client, keys[partner_id] = hub.active_partner(partner_id)
    hub.operator().suspend("sleepy", reason="testing")
    keys["pending"] = generate_private_key()
    hub.client("pending", keys["pending"]).register(
        display_name="Pending", point_currency="PEND", settlement_currency="EUR", point_value_minor=1
    )
    alpha = hub.client("alpha", keys["alpha"])
    keys["alpha-k2"] = generate_private_key()
    alpha.rotate_key("k2", keys["alpha-k2"], previous_key_valid_until=datetime.now(UTC) + timedelta(days=1))
    alpha.revoke_key("k1", reason="compromised")
    keys["alpha-revoked"] = keys.pop("alpha")
    return Coalition(hub, keys)


# Every signed RPC, with a request alpha (k2) or the operator may legitimately send.
def _rotate_request() -> registry_pb2.RotateKeyRequest:
    new_key = generate_private_key()
    public = public_key_bytes(new_key)
    proof = new_key.sign(signing.possession_message(principal="alpha", key_id="k3", public_key=public))
    return registry_pb2.RotateKeyRequest(
        new_key=common_pb2.PublicKey(key_id="k3", public_key=public), possession_proof=proof
    )


PARTNER_RPCS: dict[str, Callable[[], Message]] = {
    REGISTRY + "GetPartner": lambda: registry_pb2.GetPartnerRequest(partner_id="bravo"),
    REGISTRY + "ListPartners": lambda: registry_pb2.ListPartnersRequest(page_size=10),
    REGISTRY + "RotateKey": _rotate_request,
    REGISTRY + "RevokeKey": lambda: registry_pb2.RevokeKeyRequest(key_id="k2", reason="test"),
}
OPERATOR_RPCS: dict[str, Callable[[], Message]] = {
    OPERATOR + "ApprovePartner": lambda: operator_pb2.ApprovePartnerRequest(partner_id="pending"),
    OPERATOR + "SuspendPartner": lambda: operator_pb2.SuspendPartnerRequest(partner_id="bravo", reason="test"),
    OPERATOR + "ReinstatePartner": lambda: operator_pb2.ReinstatePartnerRequest(partner_id="sleepy"),
}


def _partner_call(c: Coalition, method: str) -> Signed:
    return sign(c.keys["alpha-k2"], method, PARTNER_RPCS[method](), "alpha", "k2", c.now())


def _operator_call(c: Coalition, method: str) -> Signed:
    op = c.hub.operator().transport
    return sign(c.hub.operator_key, method, OPERATOR_RPCS[method](), "operator", op.key_id, c.now())


def _tamper_body(call: Signed) -> Signed:
    return replace(call, body=call.body + b"\x10\x01" if call.body else b"\x0a\x01x")


# Each attack turns a valid call into a forged one; (expected code, expected reason).
ATTACKS: dict[str, tuple[Callable[[Coalition, Signed], tuple[Signed, tuple[tuple[str, str], ...] | None]], str]] = {
    "no signature headers": (lambda c, s: (s, ()), "MISSING_SIGNATURE_HEADER"),
    "no signature": (
        lambda c, s: (s, tuple(h for h in s.metadata() if h[0] != signing.HEADER_SIGNATURE)),
        "MISSING_SIGNATURE_HEADER",
    ),
    "malformed signature": (lambda c, s: (replace(s, signature="AAAA"), None), "MALFORMED_SIGNATURE_HEADER"),
    "malformed timestamp": (
        lambda c, s: (s, tuple((k, "soon") if k == signing.HEADER_TIMESTAMP else (k, v) for k, v in s.metadata())),
        "MALFORMED_SIGNATURE_HEADER",
    ),
    "wrong key": (
        lambda c, s: (sign(generate_private_key(), s.method, _parse(s), s.principal, s.key_id, c.now()), None),
        "BAD_SIGNATURE",
    ),
    "another partner's key": (
        lambda c, s: (sign(c.keys["bravo"], s.method, _parse(s), s.principal, s.key_id, c.now()), None),
        "BAD_SIGNATURE",
    ),
    "unknown key id": (
        lambda c, s: (sign(c.keys["alpha-k2"], s.method, _parse(s), s.principal, "k9", c.now()), None),
        "UNKNOWN_KEY",
    ),
    "unknown partner": (
        lambda c, s: (sign(generate_private_key(), s.method, _parse(s), "nobody", "k1", c.now()), None),
        "UNKNOWN_PARTNER",
    ),
    "tampered body": (lambda c, s: (_tamper_body(s), None), "BAD_SIGNATURE"),
    "tampered principal": (lambda c, s: (replace(s, principal="bravo", key_id="k1"), None), "BAD_SIGNATURE"),
    "tampered timestamp": (lambda c, s: (replace(s, timestamp_ms=s.timestamp_ms + 1), None), "BAD_SIGNATURE"),
    "tampered nonce": (
        lambda c, s: (replace(s, nonce=s.nonce[:-1] + ("A" if s.nonce[-1] != "A" else "B")), None),
        "BAD_SIGNATURE",
    ),
    "tampered method": (
        lambda c, s: (replace(s, method=REGISTRY + ("ListPartners" if "Get" in s.method else "GetPartner")), None),
        "BAD_SIGNATURE",
    ),
    "timestamp too old": (
        lambda c, s: (sign(_key_of(c, s), s.method, _parse(s), s.principal, s.key_id, c.now() - 360_000), None),
        "TIMESTAMP_TOO_OLD",
    ),
    "timestamp too new": (
        lambda c, s: (sign(_key_of(c, s), s.method, _parse(s), s.principal, s.key_id, c.now() + 360_000), None),
        "TIMESTAMP_TOO_NEW",
    ),
}


def _parse(call: Signed) -> Message:
    request_type = {**PARTNER_RPCS, **OPERATOR_RPCS}[call.method]().__class__
    return request_type.FromString(call.body)


def _key_of(c: Coalition, call: Signed) -> Ed25519PrivateKey:
    return c.hub.operator_key if call.principal == "operator" else c.keys["alpha-k2"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("method", sorted({**PARTNER_RPCS, **OPERATOR_RPCS}))
def test_every_forged_call_is_unauthenticated_and_changes_nothing(
    coalition: Coalition, method: str, attack: str
) -> None:
    valid = _partner_call(coalition, method) if method in PARTNER_RPCS else _operator_call(coalition, method)
    forge, reason = ATTACKS[attack]
    forged, metadata = forge(coalition, valid)
    before = snapshot(coalition.hub)
    code, got_reason, _ = send(coalition.hub, forged, metadata)
    assert (code, got_reason) == ("UNAUTHENTICATED", reason)
    assert snapshot(coalition.hub) == before


@pytest.mark.parametrize(
    ("signer", "key_id", "reason"),
    [
        ("alpha-revoked", "k1", "KEY_REVOKED"),
        ("sleepy", "k1", "PARTNER_SUSPENDED"),
        ("pending", "k1", "PARTNER_PENDING"),
    ],
)
@pytest.mark.parametrize("method", sorted(PARTNER_RPCS))
def test_revoked_keys_suspended_and_pending_partners_are_refused(
    coalition: Coalition, method: str, signer: str, key_id: str, reason: str
) -> None:
    principal = signer.split("-")[0]
    call = sign(coalition.keys[signer], method, PARTNER_RPCS[method](), principal, key_id, coalition.now())
    before = snapshot(coalition.hub)
    assert send(coalition.hub, call)[:2] == ("UNAUTHENTICATED", reason)
    assert snapshot(coalition.hub) == before


@pytest.mark.parametrize("method", sorted(OPERATOR_RPCS))
def test_partners_may_not_call_operator_methods(coalition: Coalition, method: str) -> None:
    call = sign(coalition.keys["bravo"], method, OPERATOR_RPCS[method](), "bravo", "k1", coalition.now())
    before = snapshot(coalition.hub)
    assert send(coalition.hub, call)[:2] == ("PERMISSION_DENIED", "CALLER_NOT_ALLOWED")
    assert snapshot(coalition.hub) == before


@pytest.mark.parametrize("method", [REGISTRY + "RotateKey", REGISTRY + "RevokeKey"])
def test_the_operator_may_not_manage_partner_keys(coalition: Coalition, method: str) -> None:
    op = coalition.hub.operator().transport
    call = sign(coalition.hub.operator_key, method, PARTNER_RPCS[method](), "operator", op.key_id, coalition.now())
    assert send(coalition.hub, call)[:2] == ("PERMISSION_DENIED", "CALLER_NOT_ALLOWED")


def test_a_resent_call_gets_the_first_answer_and_happens_once(coalition: Coalition) -> None:
    call = _operator_call(coalition, OPERATOR + "SuspendPartner")
    first = send(coalition.hub, call)
    assert first[0] == "OK"
    after_first = snapshot(coalition.hub)
    coalition.hub.operator().reinstate("bravo")
    again = send(coalition.hub, call)
    assert again == first
    assert coalition.hub.operator().get_partner("bravo").status == "ACTIVE"
    assert (
        len(snapshot(coalition.hub)["registry_events"]) == len(after_first["registry_events"]) + 1
    )  # only the reinstatement was added


def test_a_resend_is_answered_only_after_rewriting_its_nonce_row(coalition: Coalition) -> None:
    """A replay writes, so its commit waits for the synchronous standby as a fresh answer's does.

    Without the write a replay only reads, and a primary restarted by crash recovery could answer
    from a row its standby never got, which the failover then takes away (docs/operations.md).
    """
    call = _operator_call(coalition, OPERATOR + "SuspendPartner")
    first = send(coalition.hub, call)
    statements: list[str] = []

    def capture(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()).upper())

    engines = coalition.hub.database.call_engines
    for engine in engines:
        sqlalchemy.event.listen(engine, "before_cursor_execute", capture)
    try:
        assert send(coalition.hub, call) == first
    finally:
        for engine in engines:
            sqlalchemy.event.remove(engine, "before_cursor_execute", capture)
    assert any(statement.startswith("UPDATE REQUEST_NONCES SET RECEIVED_AT_MS") for statement in statements), statements


def test_a_resent_refusal_is_refused_the_same_way_even_after_the_state_changed(coalition: Coalition) -> None:
    refused = sign(
        coalition.hub.operator_key,
        OPERATOR + "ReinstatePartner",
        operator_pb2.ReinstatePartnerRequest(partner_id="bravo"),
        "operator",
        coalition.hub.operator().transport.key_id,
        coalition.now(),
    )
    assert send(coalition.hub, refused)[:2] == ("FAILED_PRECONDITION", "PARTNER_NOT_SUSPENDED")
    coalition.hub.operator().suspend("bravo", reason="now it is suspended")
    assert send(coalition.hub, refused)[:2] == ("FAILED_PRECONDITION", "PARTNER_NOT_SUSPENDED")
    assert coalition.hub.operator().get_partner("bravo").status == "SUSPENDED"


def test_the_same_nonce_with_another_body_is_refused_as_a_replay(coalition: Coalition) -> None:
    first = _partner_call(coalition, REGISTRY + "GetPartner")
    assert send(coalition.hub, first)[0] == "OK"
    reused = sign(
        coalition.keys["alpha-k2"],
        REGISTRY + "GetPartner",
        registry_pb2.GetPartnerRequest(partner_id="alpha"),
        "alpha",
        "k2",
        coalition.now(),
        nonce=first.nonce,
    )
    assert send(coalition.hub, reused)[:2] == ("UNAUTHENTICATED", "NONCE_REUSED")


def test_a_replay_is_refused_by_another_replica_and_after_a_restart(coalition: Coalition) -> None:
    hub = coalition.hub
    first = _partner_call(coalition, REGISTRY + "GetPartner")
    assert send(hub, first)[0] == "OK"
    other = configured_hub(hub.database, hub.clock, operator_key=hub.operator_key, signer=hub.signer).start()
    try:
        reused = sign(
            coalition.keys["alpha-k2"],
            REGISTRY + "GetPartner",
            registry_pb2.GetPartnerRequest(partner_id="alpha"),
            "alpha",
            "k2",
            coalition.now(),
            nonce=first.nonce,
        )
        assert send(other, reused)[:2] == ("UNAUTHENTICATED", "NONCE_REUSED")
        assert send(other, first) == send(hub, first)  # a resend is the same call on every replica
    finally:
        other.stop(grace_s=0)


def test_nonces_are_kept_for_twice_the_window_then_pruned(coalition: Coalition) -> None:
    hub = coalition.hub
    assert send(hub, _partner_call(coalition, REGISTRY + "GetPartner"))[0] == "OK"
    with hub.database.engine.connect() as connection:
        count = connection.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(request_nonces)).scalar_one()
    assert count > 0
    hub.clock.advance(2 * 300_000)
    assert hub.server.prune_nonces_once() == 0  # still inside 2 windows + margin
    hub.clock.advance(61_000)
    assert hub.server.prune_nonces_once() == count


def test_registration_must_be_signed_by_the_key_it_registers(hub: RunningHub) -> None:
    key, other = generate_private_key(), generate_private_key()
    public = public_key_bytes(key)
    request = registry_pb2.RegisterPartnerRequest(
        partner_id="newco",
        display_name="NewCo",
        point_currency="NEWC",
        settlement_currency="EUR",
        point_value_minor=common_pb2.Ratio(numerator=1, denominator=1),
        key=common_pb2.PublicKey(key_id="k1", public_key=public),
        possession_proof=key.sign(signing.possession_message(principal="newco", key_id="k1", public_key=public)),
    )
    now = hub.clock.now_ms()
    before = snapshot(hub)
    assert send(hub, sign(other, REGISTRY + "RegisterPartner", request, "newco", "k1", now))[:2] == (
        "UNAUTHENTICATED",
        "BAD_SIGNATURE",
    )
    assert send(hub, sign(key, REGISTRY + "RegisterPartner", request, "other", "k1", now))[:2] == (
        "UNAUTHENTICATED",
        "REGISTRANT_MISMATCH",
    )
    bad_proof = registry_pb2.RegisterPartnerRequest()
    bad_proof.CopyFrom(request)
    bad_proof.possession_proof = other.sign(b"something else")
    assert send(hub, sign(key, REGISTRY + "RegisterPartner", bad_proof, "newco", "k1", now))[:2] == (
        "INVALID_ARGUMENT",
        "BAD_POSSESSION_PROOF",
    )
    stale = sign(key, REGISTRY + "RegisterPartner", request, "newco", "k1", now - 400_000)
    assert send(hub, stale)[:2] == ("UNAUTHENTICATED", "TIMESTAMP_TOO_OLD")
    assert snapshot(hub) == before
    assert send(hub, sign(key, REGISTRY + "RegisterPartner", request, "newco", "k1", now))[0] == "OK"


def test_the_sdk_refuses_an_answer_not_signed_by_the_pinned_hub_key(hub: RunningHub) -> None:
    from partner_sdk import ExchangeClient, ResponseVerificationError

    client = ExchangeClient(
        hub.target,
        partner_id="stride",
        key_id="k1",
        private_key=generate_private_key(),
        hub_public_key=public_key_bytes(generate_private_key()),
    )
    with pytest.raises(ResponseVerificationError) as refused:
        client.register(
            display_name="S", point_currency="STRD", settlement_currency="EUR", point_value_minor=Fraction(1)
        )
    assert refused.value.reason == "RESPONSE_BAD_SIGNATURE"
    client.close()


@pytest.mark.parametrize("signer", ["pending", "sleepy", "alpha-revoked"])
def test_an_unproven_caller_learns_nothing_of_a_key_or_partner_state(coalition: Coalition, signer: str) -> None:
    principal = signer.split("-")[0]
    forged = sign(
        generate_private_key(),
        REGISTRY + "GetPartner",
        registry_pb2.GetPartnerRequest(),
        principal,
        "k1",
        coalition.now(),
    )
    assert send(coalition.hub, forged)[:2] == ("UNAUTHENTICATED", "BAD_SIGNATURE")


def test_the_same_bytes_and_nonce_sent_to_another_method_are_a_replay(coalition: Coalition) -> None:
    op = coalition.hub.operator().transport
    request = operator_pb2.ApprovePartnerRequest(partner_id="pending")
    get = registry_pb2.GetPartnerRequest(partner_id="pending")
    assert request.SerializeToString() == get.SerializeToString()
    approve = sign(
        coalition.hub.operator_key, OPERATOR + "ApprovePartner", request, "operator", op.key_id, coalition.now()
    )
    assert send(coalition.hub, approve)[0] == "OK"
    read = sign(
        coalition.hub.operator_key,
        REGISTRY + "GetPartner",
        get,
        "operator",
        op.key_id,
        coalition.now(),
        nonce=approve.nonce,
    )
    assert send(coalition.hub, read)[:2] == ("UNAUTHENTICATED", "NONCE_REUSED")


def test_a_resent_refusal_keeps_the_field_at_fault(coalition: Coalition) -> None:
    call = sign(
        coalition.keys["bravo"],
        REGISTRY + "RevokeKey",
        registry_pb2.RevokeKeyRequest(key_id="k1", reason=""),
        "bravo",
        "k1",
        coalition.now(),
    )
    with grpc.insecure_channel(coalition.hub.target) as channel:
        details = []
        for _ in range(2):
            with pytest.raises(grpc.RpcError) as refused:
                channel.unary_unary(call.method, None, None)(call.body, metadata=call.metadata(), timeout=10)
            error = refused.value
            assert isinstance(error, grpc.Call)
            details.append(dict(error.trailing_metadata() or ())["grpc-status-details-bin"])
    assert details[0] == details[1]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(error_details_pb2.BadRequest.DESCRIPTOR))
    assert bad.field_violations[0].field == "reason"
