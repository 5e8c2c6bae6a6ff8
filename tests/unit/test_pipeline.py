"""The signed-call pipeline (exchange.service.pipeline) runs its steps in its fixed order: no gRPC, no database.

Each fake writes what it was asked into one journal; a test reads the journal. The nonce and
idempotency records are in-memory fakes of their repositories, so exchange.service.calls and
exchange.service.idempotency run as they do in the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from exchange.domain.errors import InvalidArgument, PermissionDenied
from exchange.service import audit, calls, idempotency
from exchange.service.authentication import Caller, IncomingCall
from exchange.service.pipeline import (
    OPERATOR,
    PARTNERS,
    PARTNERS_AND_OPERATOR,
    READ_COMMITTED,
    Command,
    Invocation,
    Pipeline,
    command,
)
from exchange.store.idempotency_repo import StoredAnswer
from partner_sdk import signing

NOW = 1_800_000_000_000
LATER = NOW + 5_000
METHOD = "/coalition.exchange.v1.ExampleService/Example"


@dataclass
class Request:
    idempotency_key: str = "key-00000001"
    public_key: bytes = b"k" * 32


@dataclass
class Journal:
    """What the pipeline asked of each fake, in order."""

    events: list[str] = field(default_factory=list)
    nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    keys: dict[tuple[str, str], StoredAnswer] = field(default_factory=dict)

    def __call__(self, event: str) -> None:
        self.events.append(event)


class FakeDatabase:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def run(
        self,
        work: Callable[[object], Any],
        *,
        read_committed: bool = False,
        group: str | None = None,
        hold_writes: bool = False,
    ) -> Any:
        self.journal(
            f"begin read_committed={read_committed} group={group}" + ("" if hold_writes else " writes not held")
        )
        return work(object())


class FakeAuthenticator:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def authenticate(self, connection: object, call: IncomingCall, now_ms: int) -> Caller:
        self.journal(f"authenticate at {now_ms}")
        return Caller(call.principal, call.key_id)

    def authenticate_registrant(self, call: IncomingCall, public_key: bytes, now_ms: int) -> Caller:
        self.journal(f"authenticate with the key in the body {public_key[:1]!r}")
        return Caller(call.principal, call.key_id)


class FakeClock:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def now_ms(self) -> int:
        self.journal("read the clock")
        return LATER


class FakeWire:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def parse(self, request_type: type[Any], body: bytes) -> Any:
        self.journal("parse")
        if body == b"malformed":
            raise InvalidArgument("MALFORMED_REQUEST", "request is not a valid Request")
        return request_type()

    def serialize(self, answer: Any) -> bytes:
        return str(answer).encode()

    def member_refs(self, answer: Any) -> set[str]:
        return set()

    def subject(self, answer: Any, request: Any, principal: str) -> str:
        return "subject-1"

    def replay_subject(self, method: str, body: bytes, request: Any, principal: str) -> str:
        return "subject-1"


class FakeNonces:
    journal: Journal

    def __init__(self, connection: object) -> None:
        pass

    def find(self, principal: str, nonce: str) -> None:
        self.journal("find the nonce")  # never found: a fresh nonce

    def record(self, *, principal: str, nonce: str, **fields: Any) -> None:
        self.journal(f"record the nonce: {fields.get('outcome')}")
        self.journal.nonces[principal, nonce] = fields


class FakeKeys:
    journal: Journal

    def __init__(self, connection: object) -> None:
        pass

    def claim(self, partner_id: str, key: str, *, method: str, request_sha256: str, now_ms: int) -> bool:
        self.journal("claim the idempotency key")
        return (partner_id, key) not in self.journal.keys

    def find(self, partner_id: str, key: str) -> StoredAnswer | None:
        return self.journal.keys.get((partner_id, key))

    def answer(self, partner_id: str, key: str, answer: StoredAnswer) -> None:
        self.journal("store the answer under the key")
        self.journal.keys[partner_id, key] = answer


@pytest.fixture
def journal(monkeypatch: pytest.MonkeyPatch) -> Journal:
    journal = Journal()
    FakeNonces.journal = FakeKeys.journal = journal

    @contextmanager
    def record_call(connection: object, *, actor: str, method: str, subject: str = "", **fields: Any) -> None:
        journal(f"audit {actor} {subject}")

    monkeypatch.setattr(calls, "NonceRepository", FakeNonces)
    monkeypatch.setattr(audit, "record_call", record_call)
    monkeypatch.setattr(idempotency, "IdempotencyRepository", FakeKeys)
    return journal


def pipeline(journal: Journal, *, group_commit: bool = True) -> Pipeline[str]:
    fake: Any = FakeDatabase(journal)
    return Pipeline(
        database=fake,
        authenticator=FakeAuthenticator(journal),  # type: ignore[arg-type]
        clock=FakeClock(journal),
        hub="the hub",
        wire=FakeWire(journal),
        keyring=None,
        group_commit=group_commit,
        unit_of_work=lambda connection: ("work on", connection),
    )


def handler(journal: Journal) -> Callable[[Invocation[Any], Request], str]:
    def run(call: Invocation[Any], request: Request) -> str:
        journal(f"handle for {call.caller.principal} at {call.now_ms} on {call.hub}")
        return "answer"

    return run


def signed_call(principal: str = "stride", body: bytes = b"request", nonce: str = "n" * 22) -> IncomingCall:
    return IncomingCall(
        method=METHOD,
        principal=principal,
        key_id="k1",
        timestamp_ms=NOW,
        nonce=nonce,
        signature=b"\x00" * 64,
        body=body,
    )


class NoDeadline:
    def time_remaining(self) -> float | None:
        return None


def test_a_call_runs_authenticate_nonce_parse_key_handler_answer_audit_then_records_the_nonce(
    journal: Journal,
) -> None:
    convert = command(
        Request,
        callers=PARTNERS,
        isolation=READ_COMMITTED,
        groupable=True,
        idempotency_key=lambda r: r.idempotency_key,
    )(handler(journal))

    body = pipeline(journal).run(signed_call(), convert, NOW, NoDeadline())

    assert body == b"answer"
    assert journal.events == [
        "begin read_committed=True group=stride",
        f"authenticate at {NOW}",
        "parse",
        "claim the idempotency key",
        f"handle for stride at {NOW} on the hub",
        "store the answer under the key",
        "audit stride subject-1",
        "record the nonce: OK",
    ]


def test_a_command_without_a_key_or_group_runs_serializable_alone(journal: Journal) -> None:
    get = command(Request, callers=PARTNERS_AND_OPERATOR)(handler(journal))

    pipeline(journal).run(signed_call(), get, NOW, NoDeadline())

    assert journal.events[0] == "begin read_committed=False group=None"
    assert "claim the idempotency key" not in journal.events


def test_a_groupable_command_runs_alone_when_the_hub_does_not_group(journal: Journal) -> None:
    quote = command(Request, callers=PARTNERS, isolation=READ_COMMITTED, groupable=True)(handler(journal))

    pipeline(journal, group_commit=False).run(signed_call(), quote, NOW, NoDeadline())

    assert journal.events[0] == "begin read_committed=True group=None"


def test_a_caller_of_a_kind_not_allowed_is_refused_before_the_nonce_the_request_and_the_handler(
    journal: Journal,
) -> None:
    close = command(Request, callers=OPERATOR)(handler(journal))

    with pytest.raises(PermissionDenied) as refused:
        pipeline(journal).run(signed_call("stride"), close, NOW, NoDeadline())

    assert (refused.value.reason, refused.value.message) == (
        "CALLER_NOT_ALLOWED",
        "partner callers may not call Example",
    )
    assert journal.events == ["begin read_committed=False group=None", f"authenticate at {NOW}"]
    assert journal.nonces == {}  # the nonce is not used up


def test_the_operator_is_refused_a_partner_command(journal: Journal) -> None:
    convert = command(Request, callers=PARTNERS)(handler(journal))

    with pytest.raises(PermissionDenied, match="operator callers may not call Example"):
        pipeline(journal).run(signed_call(signing.OPERATOR_PRINCIPAL), convert, NOW, NoDeadline())


def test_a_malformed_request_of_a_proven_caller_is_refused_after_the_nonce_and_recorded_under_it(
    journal: Journal,
) -> None:
    get = command(Request, callers=PARTNERS)(handler(journal))

    with pytest.raises(InvalidArgument, match="not a valid Request"):
        pipeline(journal).run(signed_call(body=b"malformed"), get, NOW, NoDeadline())

    assert journal.events == [
        "begin read_committed=False group=None",
        f"authenticate at {NOW}",
        "parse",
        "begin read_committed=False group=None writes not held",  # the refusal, recorded in a transaction of its own
        "find the nonce",
        "record the nonce: InvalidArgument",
    ]


def test_a_registration_reads_its_body_first_and_is_verified_with_the_key_in_it(journal: Journal) -> None:
    register = command(Request, registrant_key=lambda r: r.public_key)(handler(journal))

    pipeline(journal).run(signed_call("newcomer"), register, NOW, NoDeadline())

    assert journal.events == [
        "parse",
        "begin read_committed=False group=None",
        "authenticate with the key in the body b'k'",
        f"handle for newcomer at {NOW} on the hub",
        "audit newcomer subject-1",
        "record the nonce: OK",
    ]


def test_a_long_poll_authenticates_waits_outside_any_transaction_then_runs_with_the_clock_read_again(
    journal: Journal,
) -> None:
    def wait(hub: str, caller: Caller, request: Request, remaining_s: float) -> None:
        journal(f"wait for {caller.principal} on {hub}, {remaining_s}s left")

    pull = command(Request, callers=PARTNERS, wait=wait)(handler(journal))

    class Deadline:
        def time_remaining(self) -> float | None:
            return 7.5

    pipeline(journal).run(signed_call(), pull, NOW, Deadline())

    assert journal.events == [
        "begin read_committed=False group=None writes not held",  # the long poll's authentication
        f"authenticate at {NOW}",
        "parse",
        "wait for stride on the hub, 7.5s left",
        "read the clock",
        "begin read_committed=False group=None",
        f"authenticate at {LATER}",
        f"handle for stride at {LATER} on the hub",
        "audit stride subject-1",
        "record the nonce: OK",
    ]


def test_a_retry_under_a_used_key_is_answered_from_the_key_without_running_the_handler(journal: Journal) -> None:
    donate = command(Request, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)(handler(journal))
    calls_ = pipeline(journal)
    first = calls_.run(signed_call(), donate, NOW, NoDeadline())
    journal.events.clear()

    again = calls_.run(signed_call(nonce="m" * 22), donate, NOW, NoDeadline())  # a new nonce, the same key

    assert again == first
    assert not any(event.startswith("handle") for event in journal.events)
    assert "audit stride subject-1" in journal.events  # the subject named again, from the answer kept


def test_a_registration_and_only_it_names_no_callers() -> None:
    with pytest.raises(AssertionError):
        command(Request)
    with pytest.raises(AssertionError):
        command(Request, callers=PARTNERS, registrant_key=lambda r: r.public_key)
    declared: Command[Request] = command(Request, registrant_key=lambda r: r.public_key)(lambda call, r: "answer")
    assert declared.callers == frozenset()


def test_each_rpc_of_the_hub_is_served_by_a_command_taking_that_rpc_s_request() -> None:
    from google.protobuf import descriptor_pool

    from exchange.api import (
        accrual_service,
        agreement_service,
        conversion_service,
        donation_service,
        member_service,
        redemption_service,
        registry_service,
        settlement_service,
    )

    tables = {
        registry_service.REGISTRY_SERVICE: registry_service.REGISTRY_METHODS,
        registry_service.OPERATOR_SERVICE: registry_service.OPERATOR_METHODS,
        agreement_service.AGREEMENT_SERVICE: agreement_service.AGREEMENT_METHODS,
        conversion_service.CONVERSION_SERVICE: conversion_service.CONVERSION_METHODS,
        conversion_service.INSTRUCTION_SERVICE: conversion_service.INSTRUCTION_METHODS,
        redemption_service.REDEMPTION_SERVICE: redemption_service.REDEMPTION_METHODS,
        member_service.MEMBER_SERVICE: member_service.MEMBER_METHODS,
        settlement_service.SETTLEMENT_SERVICE: settlement_service.SETTLEMENT_METHODS,
        accrual_service.ACCRUAL_SERVICE: accrual_service.ACCRUAL_METHODS,
        donation_service.DONATION_SERVICE: donation_service.DONATION_METHODS,
    }
    for service, methods in tables.items():
        served = descriptor_pool.Default().FindServiceByName(service).methods_by_name
        for name, declared in methods.items():
            assert isinstance(declared, Command), f"{service}/{name} is not declared with @command"
            assert declared.request_type.DESCRIPTOR is served[name].input_type, f"{service}/{name}"
