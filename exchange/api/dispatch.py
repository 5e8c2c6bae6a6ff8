"""Signed unary calls on gRPC: the one door every partner and operator request comes in by.

The handlers receive the request bytes exactly as they arrived (no deserializer), so the
signature is checked over what the caller signed, never over a re-encoding. Here: read the
metadata, under mutual TLS check that the client certificate names the principal
(exchange.api.peer_identity), run the call through exchange.service.pipeline (authentication,
authorisation, nonce, idempotency key, the command, audit, answer: the order and why are there),
sign the answer, log and count the call. No exception leaves here as UNKNOWN or with a traceback:
expected refusals map through exchange.api.status, anything else is answered INTERNAL with an
incident id and logged once, at ERROR, with the same id.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NoReturn, TypeAlias, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from exchange.api.answer_members import member_refs_in
from exchange.api.answer_subject import subject_of, subject_of_replay
from exchange.api.metrics import HubMetrics
from exchange.api.peer_identity import auth_properties, require_certificate_for
from exchange.api.response_signing import HubSigner
from exchange.api.status import INTERNAL_REASON, internal_message, new_incident_id, rich_status, status_code_of
from exchange.domain.errors import ExchangeError, InvalidArgument
from exchange.logs import redact
from exchange.secrets.erasure_ledger import ErasureLedger
from exchange.secrets.keyring import Keyring
from exchange.service import pipeline
from exchange.service.authentication import Authenticator, read_call
from exchange.service.clock import Clock
from exchange.service.conversions import ConversionPolicy
from exchange.service.pipeline import Command, Pipeline
from exchange.store.database import Database, one_line
from exchange.store.unit_of_work import SqlUnitOfWork
from partner_sdk import signing

log = logging.getLogger("exchange.api")

Req = TypeVar("Req")

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


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


# What a handler of this hub gets (exchange.service.pipeline.Invocation).
Invocation: TypeAlias = pipeline.Invocation[HubContext]
# One service's RPCs: each method's name and its command (the handler, with its declaration).
SignedMethods: TypeAlias = Mapping[str, Command[Any]]


class _ProtobufWire:
    """The pipeline's view of protobuf messages (exchange.service.pipeline.Wire)."""

    def parse(self, request_type: type[Req], body: bytes) -> Req:
        try:
            request: Req = request_type.FromString(body)  # type: ignore[attr-defined]  # a protobuf message type
        except (DecodeError, RuntimeWarning, ValueError) as exc:
            raise InvalidArgument("MALFORMED_REQUEST", f"request is not a valid {request_type.__name__}") from exc
        return request

    def serialize(self, answer: Message) -> bytes:
        return answer.SerializeToString()

    def member_refs(self, answer: Message) -> set[str]:
        return member_refs_in(answer)

    def subject(self, answer: Message, request: Message, principal: str) -> str:
        return subject_of(answer, request, principal)

    def replay_subject(self, method: str, body: bytes, request: Message, principal: str) -> str:
        return subject_of_replay(method, body, request, principal)


WIRE = _ProtobufWire()


def generic_handler(service: str, methods: SignedMethods, hub: HubContext) -> grpc.GenericRpcHandler[Any, Any]:
    """Return the gRPC handler serving these signed methods under the full service name."""
    signed_calls = Pipeline(
        database=hub.database,
        authenticator=hub.authenticator,
        clock=hub.clock,
        hub=hub,
        wire=WIRE,
        keyring=hub.keyring,
        group_commit=hub.group_commit,
        unit_of_work=partial(SqlUnitOfWork, keyring=hub.keyring),
    )
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(_unary(f"/{service}/{name}", command, signed_calls, hub))
        for name, command in methods.items()
    }
    return grpc.method_handlers_generic_handler(service, handlers)


def _unary(
    full_method: str, command: Command[Any], signed_calls: Pipeline[HubContext], hub: HubContext
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
            body = signed_calls.run(call, command, now_ms, context)
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
