"""Each call is one server span in the caller's trace, carrying no member data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from exchange.api import tracing
from exchange.api.server import HubServer
from exchange.store.database import Database
from partner_sdk import FailedPreconditionError
from tests.conftest import RunningHub, _running_hub
from tests.e2e.money import accepted_pair

SECRET_REF = "member-ref-in-no-span-7781"


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced_hub(
    database: Database, exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningHub]:
    original = HubServer.__init__

    def with_tracing(self: HubServer, config, clock=None) -> None:  # type: ignore[no-untyped-def]
        from dataclasses import replace

        original(self, replace(config, tracing=tracing.interceptor(None, exporter=exported)), clock)

    monkeypatch.setattr(HubServer, "__init__", with_tracing)
    yield from _running_hub(database)


@pytest.fixture(scope="module")
def brand_tracer() -> trace.Tracer:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return provider.get_tracer("a-brand")


def test_a_call_continues_the_brands_trace_and_carries_no_member_data(
    traced_hub: RunningHub, exported: InMemorySpanExporter, brand_tracer: trace.Tracer
) -> None:
    pair = accepted_pair(traced_hub)
    quote = pair.source.quote_conversion("voltline", 100)
    with brand_tracer.start_as_current_span("checkout") as parent:
        pair.source.convert(quote.quote_id, source_member_ref=SECRET_REF, target_member_ref="v-1")
    (span,) = [s for s in exported.get_finished_spans() if s.name.endswith("/Convert")]
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert span.kind is trace.SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["rpc.method"] == "Convert" and span.attributes["rpc.grpc.status_code"] == 0
    assert span.attributes["coalition.request_id"]
    everything = repr([(s.name, dict(s.attributes or {}), s.events) for s in exported.get_finished_spans()])
    assert SECRET_REF not in everything


def test_a_refusal_is_recorded_on_its_span(traced_hub: RunningHub, exported: InMemorySpanExporter) -> None:
    pair = accepted_pair(traced_hub)
    quote = pair.source.quote_conversion("voltline", 100)
    pair.source.convert(quote.quote_id, source_member_ref="m-1", target_member_ref="v-1")
    with pytest.raises(FailedPreconditionError):
        pair.source.convert(quote.quote_id, source_member_ref="m-2", target_member_ref="v-2")  # the quote is used
    refused = [s for s in exported.get_finished_spans() if s.name.endswith("/Convert")][-1]
    assert refused.attributes is not None and refused.attributes["coalition.status"] == "FAILED_PRECONDITION"


class _Collector:
    """A fake OTLP/gRPC collector that keeps the span names it receives."""

    def __init__(self) -> None:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        self.names: list[str] = []
        collector = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request, context):  # type: ignore[no-untyped-def]
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.names.extend(span.name for span in scope.spans)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()


def test_serve_sends_spans_to_the_otlp_collector_it_is_given(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import time

    from partner_sdk import ExchangeClient, generate_private_key
    from tests.e2e.test_cli import COALITION, _free_port, _wait_healthy

    collector = _Collector()
    target = f"127.0.0.1:{_free_port()}"
    process = subprocess.Popen(
        [COALITION, "serve", "--listen", target, "--var-dir", str(tmp_path), "--metrics-listen", "",
         "--otlp-endpoint", f"http://127.0.0.1:{collector.port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        _wait_healthy(target, process)
        with ExchangeClient(target, partner_id="stride", key_id="k1", private_key=generate_private_key()) as client:
            client.hub_info()
            client.register(
                display_name="Stride", point_currency="STRD", settlement_currency="EUR", point_value_minor=1
            )
    finally:
        process.terminate()  # the hub flushes its spans as it stops
        process.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while "coalition.exchange.v1.RegistryService/RegisterPartner" not in collector.names:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        collector.server.stop(0)
    assert "coalition.exchange.v1.RegistryService/RegisterPartner" in collector.names
