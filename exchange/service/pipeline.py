"""One signed call, end to end, in one fixed order; each command declares beside its code what it needs.

exchange.api hands over the call as it arrived (IncomingCall: the signing headers and the exact
bytes) and the command's declaration (Command, made by the @command decorator on the handler);
this runs it and returns the answer's bytes, or raises ExchangeError. It knows no gRPC: the api
reads the metadata, checks the client certificate, signs the answer and maps errors to status.

The order, and why each step is where it is:

1. Authenticate. The signature is checked over the bytes exactly as they arrived, never over a
   re-encoding, inside the call's transaction (the key is read from the registry). A
   registration is signed by the key it registers: its body is read first, for that key.
2. Authorise: the caller's kind (partner or operator) is one the command allows. Before the
   nonce and before anything of the command runs: a caller refused uses up no nonce.
3. Nonce (exchange.service.calls): exactly once per (caller, nonce). A resend of the same call
   (same nonce, same bytes) gets the recorded answer back without running again; the same nonce
   with other bytes is refused as a replay. The nonce row, the audit event and the call's effects
   commit in the same transaction, so a call either happened and its answer is on record, or it
   did not happen at all. Refusals are recorded too, so a captured request refused once can't be
   replayed later into success.
4. Parse the request, for a caller proven and a nonce fresh: a replay is refused as a replay,
   whatever its bytes (a registration's body, and a long poll's, were parsed already).
5. Idempotency key (exchange.service.idempotency), for the commands that take one: claimed in the
   nonce's transaction, before the work, so the key's record commits with the effect and a retry
   racing the first attempt waits for it and gets its answer.
6. The handler, with the call's connection, caller and time (Invocation).
7. The answer: what of it may be kept for resends (exchange.service.stored_answers), the keyed
   tag of the one member it names, and the subject the audit event names.
8. The audit event, then the answer recorded under the nonce, in the same transaction
   (exchange.service.calls), and the answer's bytes returned.

What a command declares, and where it changes the steps: who may call (step 2); READ COMMITTED,
for the commands that lock the rows their rules read (exchange.store.database); whether its
transaction may be shared, and committed, with concurrent calls (exchange.store.group_commit);
its idempotency key (step 5); whether its answer may be kept (step 7: an answer with attribute
values or a secret never is); a long poll (PullInstructions), which authenticates in a
transaction of its own and then waits outside any transaction, so the steps above run after it
with the clock read again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection

from exchange.domain.errors import PermissionDenied
from exchange.secrets.keyring import Keyring
from exchange.secrets.pairwise import member_tag
from exchange.service.authentication import Authenticator, Caller, IncomingCall
from exchange.service.calls import execute_once
from exchange.service.clock import Clock
from exchange.service.idempotency import run_once
from exchange.service.ports import Transactions, UnitOfWork
from exchange.service.stored_answers import Answer, answer_of

Req = TypeVar("Req")
H = TypeVar("H")

PARTNER = "partner"
OPERATOR_KIND = "operator"
PARTNERS = frozenset({PARTNER})
OPERATOR = frozenset({OPERATOR_KIND})
PARTNERS_AND_OPERATOR = PARTNERS | OPERATOR


class Isolation(enum.Enum):
    """The isolation a command's transaction runs at on PostgreSQL (SQLite is serial whatever is asked)."""

    SERIALIZABLE = "SERIALIZABLE"
    READ_COMMITTED = "READ COMMITTED"  # the command locks what its rules read (exchange.store.database.run)


SERIALIZABLE = Isolation.SERIALIZABLE
READ_COMMITTED = Isolation.READ_COMMITTED


@dataclass(frozen=True, slots=True)
class Invocation(Generic[H]):
    """What a command handler gets besides its request: who called, when, on which hub."""

    connection: Connection
    work: UnitOfWork  # the money path's repositories, on connection (exchange.service.ports)
    caller: Caller
    now_ms: int
    hub: H


@dataclass(frozen=True, slots=True)
class Command(Generic[Req]):
    """One command's handler and what it needs of the pipeline (see the module docstring)."""

    request_type: type[Req]
    run: Callable[[Invocation[Any], Req], object]
    callers: frozenset[str] = frozenset()  # none for a registration, which no registered key signs
    isolation: Isolation = SERIALIZABLE
    groupable: bool = False  # may share a transaction and its commit with concurrent calls
    idempotency_key: Callable[[Req], str] | None = None  # exactly once per (caller, key)
    # False: the answer holds attribute values or a secret and is never kept for resends
    # (exchange.service.stored_answers); answers naming several members are not kept either.
    keep_answer: bool = True
    registrant_key: Callable[[Req], bytes] | None = None  # registration: verify with the key in the body
    wait: Callable[[Any, Caller, Req, float], None] | None = None  # long poll: (hub, caller, request, remaining_s)


def command(
    request_type: type[Req],
    *,
    callers: frozenset[str] = frozenset(),
    isolation: Isolation = SERIALIZABLE,
    groupable: bool = False,
    idempotency_key: Callable[[Req], str] | None = None,
    keep_answer: bool = True,
    registrant_key: Callable[[Req], bytes] | None = None,
    wait: Callable[[Any, Caller, Req, float], None] | None = None,
) -> Callable[[Callable[[Invocation[Any], Req], object]], Command[Req]]:
    """Declare a handler a command: its request type and what it needs of the pipeline."""
    assert (registrant_key is None) == bool(callers), "a registration, and only it, names no callers"

    def declare(run: Callable[[Invocation[Any], Req], object]) -> Command[Req]:
        return Command(
            request_type, run, callers, isolation, groupable, idempotency_key, keep_answer, registrant_key, wait
        )

    return declare


class Wire(Protocol):
    """The protocol's messages as the pipeline needs them; exchange.api supplies it."""

    def parse(self, request_type: type[Req], body: bytes) -> Req:
        """The request of that type in body, or raise InvalidArgument MALFORMED_REQUEST."""
        ...

    def serialize(self, answer: Any) -> bytes:
        """The answer's bytes."""
        ...

    def member_refs(self, answer: Any) -> Collection[str]:
        """The distinct member references the answer names."""
        ...

    def subject(self, answer: Any, request: Any, principal: str) -> str:
        """The id of what the call acted on, for the audit event."""
        ...

    def replay_subject(self, method: str, body: bytes, request: Any, principal: str) -> str:
        """The subject of an answer replayed from an idempotency key's record."""
        ...


class Deadline(Protocol):
    """How long the caller still waits (a gRPC context is one)."""

    def time_remaining(self) -> float | None:
        """Seconds left, or None for no deadline."""
        ...


class Pipeline(Generic[H]):
    """Runs signed calls on one hub: built once, at start; run() is the per-call path."""

    __slots__ = ("authenticator", "clock", "database", "group_commit", "hub", "keyring", "unit_of_work", "wire")

    def __init__(
        self,
        *,
        database: Transactions,
        authenticator: Authenticator,
        clock: Clock,
        hub: H,
        wire: Wire,
        keyring: Keyring | None,
        group_commit: bool,
        unit_of_work: Callable[[Connection], UnitOfWork],
    ) -> None:
        self.database = database
        self.unit_of_work = unit_of_work  # the store's adapter of the port, on the call's connection
        self.authenticator = authenticator
        self.clock = clock
        self.hub = hub  # what handlers get as Invocation.hub
        self.wire = wire
        self.keyring = keyring  # its pairwise secret tags the member an answer kept names
        self.group_commit = group_commit  # the hub's switch; a command's groupable asks for it

    def run(self, call: IncomingCall, command: Command[Any], now_ms: int, deadline: Deadline) -> bytes:
        """Run one signed call exactly once and return its answer's bytes.

        Raises:
            ExchangeError: the call was refused (now, or the first time its nonce was seen).
        """
        request: Any = None  # parsed ahead of the nonce only where an earlier step needs it
        public_key: bytes | None = None
        if command.registrant_key is not None:
            request = self.wire.parse(command.request_type, call.body)
            public_key = command.registrant_key(request)
        elif command.wait is not None:
            caller = self.database.run(lambda connection: self._authenticate(connection, call, command, now_ms))
            request = self.wire.parse(command.request_type, call.body)
            command.wait(self.hub, caller, request, deadline.time_remaining() or 0.0)
            now_ms = self.clock.now_ms()

        def authenticate(connection: Connection) -> Caller:
            if public_key is not None:
                return self.authenticator.authenticate_registrant(call, public_key, now_ms)
            return self._authenticate(connection, call, command, now_ms)

        def handle(connection: Connection, caller: Caller) -> Answer:
            parsed = request if request is not None else self.wire.parse(command.request_type, call.body)
            return self._handle(connection, caller, call, command, parsed, now_ms)

        return execute_once(
            self.database,
            call,
            authenticate,
            handle,
            now_ms,
            read_committed=command.isolation is READ_COMMITTED,
            group=call.principal if command.groupable and self.group_commit else None,
        )

    def _authenticate(self, connection: Connection, call: IncomingCall, command: Command[Any], now_ms: int) -> Caller:
        """Steps 1 and 2: who sent the call, and whether the command allows its kind."""
        caller = self.authenticator.authenticate(connection, call, now_ms)
        kind = OPERATOR_KIND if caller.is_operator else PARTNER
        if kind not in command.callers:
            name = call.method.rsplit("/", 1)[-1]
            raise PermissionDenied("CALLER_NOT_ALLOWED", f"{kind} callers may not call {name}")
        return caller

    def _handle(
        self,
        connection: Connection,
        caller: Caller,
        call: IncomingCall,
        command: Command[Any],
        request: Any,
        now_ms: int,
    ) -> Answer:
        """Steps 5 to 7: the idempotency key, if the command takes one, around the handler and its answer."""
        if command.idempotency_key is None:
            return self._answer(connection, caller, command, request, now_ms)
        answer = run_once(
            connection,
            partner_id=caller.principal,
            key=command.idempotency_key(request),
            method=call.method,
            request_sha256=call.body_sha256,
            now_ms=now_ms,
            produce=lambda: self._answer(connection, caller, command, request, now_ms),
        )
        if answer.subject:
            return answer
        # Answered from the key's record: the handler did not run, so name the subject from the answer kept.
        return replace(answer, subject=self.wire.replay_subject(call.method, answer.body, request, caller.principal))

    def _answer(
        self, connection: Connection, caller: Caller, command: Command[Any], request: Any, now_ms: int
    ) -> Answer:
        """Steps 6 and 7: run the handler, and decide what of its answer is kept and what the audit names."""
        message = command.run(Invocation(connection, self.unit_of_work(connection), caller, now_ms, self.hub), request)
        wire = self.wire
        refs = wire.member_refs(message)
        secret = self.keyring.pairwise_secret if self.keyring is not None else None
        answer = answer_of(
            wire.serialize(message),
            keeps_member_data=command.keep_answer and (secret is not None or not refs),
            member_refs=refs,
            tag=lambda ref: member_tag(secret or b"", partner_id=caller.principal, member_ref=ref),
        )
        return replace(answer, subject=wire.subject(message, request, caller.principal))
