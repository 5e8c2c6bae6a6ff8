"""Signed unary calls: the one path every partner and operator request takes.

The handlers receive the request bytes exactly as they arrived (no deserializer), so the
signature is checked over what the caller signed, never over a re-encoding. Then: under
mutual TLS, check that the client certificate names the principal (exchange.api.peer_identity);
parse, authenticate and authorise, run the command once (exchange.service.calls), sign the answer.
No exception leaves here as UNKNOWN or with a traceback: expected refusals map through
exchange.api.status, anything else is answered INTERNAL with an incident id and logged once, at
ERROR, with the same id.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, NoReturn, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message
from sqlalchemy import Connection

from exchange.api.answer_members import member_refs_in
from exchange.api.answer_subject import subject_of, subject_of_replay
from exchange.api.metrics import HubMetrics
from exchange.api.peer_identity import auth_properties, require_certificate_for
from exchange.api.response_signing import HubSigner
from exchange.api.status import INTERNAL_REASON, internal_message, new_incident_id, rich_status, status_code_of
from exchange.domain.errors import ExchangeError, InvalidArgument, PermissionDenied
from exchange.logs import redact
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring
from exchange.secrets.pairwise import member_tag
from exchange.service.authentication import Authenticator, Caller, IncomingCall, read_call
from exchange.service.calls import execute_once
from exchange.service.clock import Clock
from exchange.service.conversions import ConversionPolicy
from exchange.service.idempotency import run_once
from exchange.service.stored_answers import Answer, answer_of
from exchange.store.database import Database, one_line
from partner_sdk import signing

log = logging.getLogger("exchange.api")

Req = TypeVar("Req", bound=Message)

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
PARTNERS = frozenset({"partner"})
OPERATOR = frozenset({"operator"})
PARTNERS_AND_OPERATOR = PARTNERS | OPERATOR


@dataclass(frozen=True)
class HubContext:
    """What every call needs from the running hub."""

    database: Database
    authenticator: Authenticator
    signer: HubSigner
    clock: Clock
    policy: ConversionPolicy = field(default_factory=ConversionPolicy)
    stopping: threading.Event = field(default_factory=threading.Event)
    metrics: HubMetrics | None = None
    keyring: Keyring | None = None
    # Where erasures are also written, outside the database (exchange.secrets.erasure_ledger).
    erasures: ErasureLedger | None = None
    # Mutual TLS: every signed call's client certificate must name its principal (exchange.api.peer_identity).
    mutual_tls: bool = False
    # Quotes and Converts waiting at one moment commit together (exchange.store.group_commit).
    group_commit: bool = True


@dataclass(frozen=True)
class Invocation:
    """What a command handler gets besides its request: who called, when, on which hub."""

    connection: Connection
    caller: Caller
    now_ms: int
    hub: HubContext


@dataclass(frozen=True)
class SignedMethod(Generic[Req]):
    """One RPC: its request type, who may call it, and the command it runs."""

    name: str
    request_type: type[Req]
    run: Callable[[Invocation, Req], Message]
    callers: frozenset[str]
    registrant_key: Callable[[Req], bytes] | None = None  # registration: verify with the key in the body
    idempotency_key: Callable[[Req], str] | None = None  # exactly once per (caller, key)
    wait: Callable[[HubContext, Caller, Req, float], None] | None = None  # long poll, outside any transaction
    # READ COMMITTED on PostgreSQL: the command locks what its rules read (exchange.store.database.run).
    read_committed: bool = False
    # May share a transaction and its commit with concurrent calls (exchange.store.group_commit).
    grouped: bool = False
    # False: the answer holds attribute values or a secret and is never kept for resends
    # (exchange.service.stored_answers); answers naming several members are not kept either.
    keep_answer: bool = True


def generic_handler(
    service: str, methods: list[SignedMethod[Any]], hub: HubContext
) -> grpc.GenericRpcHandler[Any, Any]:
    """Return the gRPC handler serving these signed methods under the full service name."""
    handlers = {
        method.name: grpc.unary_unary_rpc_method_handler(_unary(f"/{service}/{method.name}", method, hub))
        for method in methods
    }
    return grpc.method_handlers_generic_handler(service, handlers)


def _unary(
    full_method: str, method: SignedMethod[Any], hub: HubContext
) -> Callable[[bytes, grpc.ServicerContext], bytes]:
    def handle(raw: bytes, context: grpc.ServicerContext) -> bytes:
        started = time.perf_counter()
        now_ms = hub.clock.now_ms()
        metadata = _metadata(context)
        request_id = _request_id(metadata.get(signing.HEADER_REQUEST_ID, ""))
        nonce = metadata.get(signing.HEADER_NONCE, "")
        outcome = {"method": full_method, "request_id": request_id, "code": "OK", "reason": "", "principal": ""}
        try:
            call = read_call(full_method, metadata, raw)
            outcome["principal"] = call.principal
            if hub.mutual_tls:
                require_certificate_for(auth_properties(context.auth_context()), call.principal)
            if method.wait is not None:
                authenticate, _ = _steps(method, call, raw, hub, now_ms)
                remaining_s = context.time_remaining()
                method.wait(hub, hub.database.run(authenticate), _parse(method, raw), remaining_s or 0.0)
                now_ms = hub.clock.now_ms()
            body = execute_once(
                hub.database,
                call,
                *_steps(method, call, raw, hub, now_ms),
                now_ms,
                read_committed=method.read_committed,
                group=call.principal if method.grouped and hub.group_commit else None,
            )
        except ExchangeError as exc:
            code = status_code_of(exc)
            outcome.update(code=code.name, reason=exc.reason)
            _finish(hub, outcome, started)
            _abort(context, hub, full_method, nonce, request_id, code, exc.message, exc.reason, exc.field)
        except Exception as exc:
            incident_id = new_incident_id()
            outcome.update(code="INTERNAL", reason=INTERNAL_REASON, incident_id=incident_id)
            _log_internal(exc, incident_id, request_id, full_method)
            _finish(hub, outcome, started)
            message = internal_message(incident_id)
            _abort(context, hub, full_method, nonce, request_id, grpc.StatusCode.INTERNAL, message, INTERNAL_REASON)
        headers = hub.signer.headers(
            method=full_method, request_nonce=nonce, status=signing.STATUS_OK, body=body, now_ms=hub.clock.now_ms()
        )
        context.set_trailing_metadata((*headers, (signing.HEADER_REQUEST_ID, request_id)))
        _finish(hub, outcome, started)
        return body

    return handle


def _log_internal(exc: Exception, incident_id: str, request_id: str, method: str) -> None:
    """Log an unexpected failure once, at ERROR: its incident id, the error in one line, its traceback.

    The error is its type and first line (a database error's, without SQLAlchemy's SQL and link);
    the traceback is formatted by exchange.logs, which cuts the row values PostgreSQL quotes back.
    Database errors never carry their bound parameters (exchange.store.database: hide_parameters).
    """
    driver_error = getattr(exc, "orig", None) or exc
    log.error(
        "internal error",
        exc_info=exc,
        extra={
            "incident_id": incident_id,
            "request_id": request_id,
            "method": method,
            "error": f"{type(driver_error).__name__}: {redact(one_line(exc))}",
        },
    )


def _request_id(sent: str) -> str:
    """Keep the caller's request id if it is a sane token, else mint one (it goes into logs)."""
    return sent if REQUEST_ID_PATTERN.fullmatch(sent) else uuid.uuid4().hex


def _finish(hub: HubContext, outcome: dict[str, str], started: float) -> None:
    """Log one line per call (never a body, a member reference or an attribute) and count it."""
    seconds = time.perf_counter() - started
    log.info("call", extra={**outcome, "duration_ms": round(seconds * 1000, 3)})
    if hub.metrics is not None:
        unauthenticated = outcome["reason"] if outcome["code"] == "UNAUTHENTICATED" else ""
        hub.metrics.observe(outcome["method"], outcome["code"], seconds, unauthenticated)


def _steps(
    method: SignedMethod[Any], call: IncomingCall, raw: bytes, hub: HubContext, now_ms: int
) -> tuple[Callable[[Connection], Caller], Callable[[Connection, Caller], Answer]]:
    """Return the authenticate and run steps of one call, for execute_once."""
    registrant_request: Message | None = None
    if method.registrant_key is not None:
        registrant_request = _parse(method, raw)
        public_key = method.registrant_key(registrant_request)

        def authenticate(connection: Connection) -> Caller:
            return hub.authenticator.authenticate_registrant(call, public_key, now_ms)
    else:

        def authenticate(connection: Connection) -> Caller:
            caller = hub.authenticator.authenticate(connection, call, now_ms)
            kind = "operator" if caller.is_operator else "partner"
            if kind not in method.callers:
                raise PermissionDenied("CALLER_NOT_ALLOWED", f"{kind} callers may not call {method.name}")
            return caller

    def run(connection: Connection, caller: Caller) -> Answer:
        request = registrant_request if registrant_request is not None else _parse(method, raw)

        def produce() -> Answer:
            message = method.run(Invocation(connection, caller, now_ms, hub), request)
            refs = member_refs_in(message)
            secret = hub.keyring.pairwise_secret if hub.keyring is not None else None
            answer = answer_of(
                message.SerializeToString(),
                keeps_member_data=method.keep_answer and (secret is not None or not refs),
                member_refs=refs,
                tag=lambda ref: member_tag(secret or b"", partner_id=caller.principal, member_ref=ref),
            )
            return replace(answer, subject=subject_of(message, request, caller.principal))

        if method.idempotency_key is None:
            return produce()
        answer = run_once(
            connection,
            partner_id=caller.principal,
            key=method.idempotency_key(request),
            method=call.method,
            request_sha256=call.body_sha256,
            now_ms=now_ms,
            produce=produce,
        )
        if answer.subject:
            return answer
        # Answered from the key's record: produce() did not run, so name the subject from the answer kept.
        return replace(answer, subject=subject_of_replay(call.method, answer.body, request, caller.principal))

    return authenticate, run


def _parse(method: SignedMethod[Any], raw: bytes) -> Message:
    try:
        request: Message = method.request_type.FromString(raw)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise InvalidArgument("MALFORMED_REQUEST", f"request is not a valid {method.request_type.__name__}") from exc
    return request


def _metadata(context: grpc.ServicerContext) -> Mapping[str, str]:
    found: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, str):
            found[key] = value
    return found


def _abort(
    context: grpc.ServicerContext,
    hub: HubContext,
    method: str,
    nonce: str,
    request_id: str,
    code: grpc.StatusCode,
    message: str,
    reason: str,
    field: str | None = None,
) -> NoReturn:
    status = rich_status(code, message, reason, field)
    details = status.SerializeToString()
    headers = hub.signer.headers(
        method=method, request_nonce=nonce, status=code.name, body=details, now_ms=hub.clock.now_ms()
    )
    context.set_trailing_metadata(
        (*headers, ("grpc-status-details-bin", details), (signing.HEADER_REQUEST_ID, request_id))
    )
    context.abort(code, message)
    raise AssertionError("context.abort returned")
