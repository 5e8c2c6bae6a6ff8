"""OpenTelemetry spans for every call, continuing the caller's trace (W3C ``traceparent``); off by default.

Install the extra (``pip install 'coalition-exchange[hub,tracing]'``) and start the hub with
``--otlp-endpoint http://collector:4317`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT``): each call becomes
one server span named after its method, child of the span the SDK's ``traceparent`` header names,
with the gRPC status, the refusal's reason code and the request id. A span carries no request or
response body, so no member reference or attribute value ever reaches the collector.

Without the extra, or without an endpoint, nothing here is imported by the hub and calls cost
nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc

REQUEST_ID_HEADER = "x-request-id"
SERVICE_NAME = "coalition-hub"


class TracingUnavailable(RuntimeError):
    """Tracing was asked for, but the OpenTelemetry packages are not installed."""


class TracingInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps each unary call in a server span that continues the caller's trace."""

    def __init__(self, tracer: Any, extract: Callable[[Mapping[str, str]], Any]) -> None:
        self._tracer = tracer
        self._extract = extract

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        """Return the method's handler, its behaviour run inside a span."""
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        behaviour = handler.unary_unary

        def traced(request: Any, context: grpc.ServicerContext) -> Any:
            carrier = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
            service, _, name = method.lstrip("/").rpartition("/")
            with self._tracer.start_as_current_span(
                method.lstrip("/"),
                context=self._extract(carrier),
                kind=_server_kind(),
                attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
                record_exception=False,  # an exception's text may quote the request: never exported
                set_status_on_exception=False,
            ) as span:
                try:
                    return behaviour(request, context)
                finally:
                    _finish(span, context)

        return grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _server_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.SERVER


def _finish(span: Any, context: grpc.ServicerContext) -> None:
    """Record the call's status code, reason and request id on its span."""
    from opentelemetry.trace import Status, StatusCode

    code = getattr(context, "code", lambda: None)() or grpc.StatusCode.OK  # ServicerContext.code(): grpc 1.38+
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    trailing = dict(_pairs(context.trailing_metadata()))
    if REQUEST_ID_HEADER in trailing:
        span.set_attribute("coalition.request_id", trailing[REQUEST_ID_HEADER])
    if code is not grpc.StatusCode.OK:
        span.set_attribute("coalition.status", code.name)
        # Server errors only mark the span as failed (OpenTelemetry's gRPC conventions).
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN):
            span.set_status(Status(StatusCode.ERROR, code.name))


def _pairs(metadata: Any) -> list[tuple[str, str]]:
    return [(key, value) for key, value in metadata or () if isinstance(value, str)]


def interceptor(endpoint: str | None, *, exporter: Any = None) -> TracingInterceptor:
    """The interceptor that exports spans to an OTLP/gRPC collector at endpoint (or to exporter, for tests).

    Raises:
        TracingUnavailable: The OpenTelemetry packages are not installed.
    """
    try:
        from opentelemetry.propagate import extract
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as missing:
        raise TracingUnavailable(
            f"tracing needs the [tracing] extra ({missing.name} is missing): pip install 'coalition-exchange[tracing]'"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError as missing:
            raise TracingUnavailable(
                f"tracing needs the [tracing] extra ({missing.name} is missing): "
                "pip install 'coalition-exchange[tracing]'"
            ) from None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return TracingInterceptor(provider.get_tracer("exchange.api"), lambda carrier: extract(carrier))
