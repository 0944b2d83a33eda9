"""Trace context through the real pieces, in one process: a gRPC call's metadata, the outbox row written in its
transaction, the relay's NATS headers and the consumer's span (SQLite and PostgreSQL, a real nats-server); and
nothing at all while tracing is off."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent import futures

import grpc
import nats
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
from sqlalchemy import MetaData, select

from contracts.review.v1 import review_pb2, review_pb2_grpc
from servicekit import tracing
from servicekit.clients import channel
from servicekit.consumer import EventConsumer, EventMeta, Subscription
from servicekit.messaging import ensure_stream
from servicekit.outbox import OutboxRelay, emit, messaging_tables
from tests.support import NatsServer, database_with, eventually

metadata = MetaData()
outbox, inbox = messaging_tables(metadata)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test only, into memory (the process's global provider is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    monkeypatch.setattr(tracing, "_enabled", True)
    yield exporter
    provider.shutdown()


class Deciding(review_pb2_grpc.ReviewServiceServicer):
    """A service whose call writes an event in its transaction, as every command handler does."""

    def __init__(self, db, subject: str) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.subject = subject

    async def Decide(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
        async with self.db.transaction() as session:
            await emit(session, outbox, self.subject, review_pb2.ReviewDecided(subject_id=request.id))
        return review_pb2.ReviewItem(id=request.id)


async def test_a_calls_event_is_consumed_in_the_calls_trace(
    database_url, nats_server: NatsServer, spans: InMemorySpanExporter
) -> None:
    db = await database_with(database_url, metadata)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "REVIEW")
    run = uuid.uuid4().hex[:8]
    subject = f"review.item.decided.trace{run}"
    server = grpc.aio.server(interceptors=tracing.server_interceptors())
    review_pb2_grpc.add_ReviewServiceServicer_to_server(Deciding(db, subject), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    seen: list[tuple[str, str]] = []

    async def handler(session, event, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        seen.append((event.subject_id, meta.traceparent))

    consumer = EventConsumer(db, inbox, js, Subscription(
        durable=f"t{run}", stream="REVIEW", filter_subject=subject, handlers={review_pb2.ReviewDecided: handler}))
    consuming = asyncio.create_task(consumer.run())
    try:
        client = channel(f"127.0.0.1:{port}")
        with tracing.tracer().start_as_current_span("request") as request_span:
            await review_pb2_grpc.ReviewServiceStub(client).Decide(review_pb2.DecideRequest(id=run), timeout=5)
        await client.close()
        async with db.sessions() as session:
            stored = await session.scalar(select(outbox.c.traceparent).where(outbox.c.subject == subject))
        assert await OutboxRelay(db, outbox, js).publish_pending() >= 1
        await eventually(lambda: asyncio.sleep(0, result=bool(seen)), within=15)
    finally:
        consuming.cancel()
        await server.stop(None)
        await nc.close()
        await db.dispose()

    trace_id = request_span.get_span_context().trace_id
    finished = {span.kind: span for span in spans.get_finished_spans() if span.kind != SpanKind.INTERNAL}
    client_span, server_span = finished[SpanKind.CLIENT], finished[SpanKind.SERVER]
    consumer_span = finished[SpanKind.CONSUMER]
    assert {span.context.trace_id for span in finished.values()} == {trace_id}
    assert client_span.parent.span_id == request_span.get_span_context().span_id
    assert server_span.parent.span_id == client_span.context.span_id and server_span.parent.is_remote
    assert server_span.name == "review.v1.ReviewService/Decide"
    # The row keeps the context of the call that wrote it; the relay's header carries it to the consumer.
    server_context = f"00-{format_trace_id(trace_id)}-{format_span_id(server_span.context.span_id)}-"
    assert stored and stored.startswith(server_context)
    assert seen == [(run, stored)]
    assert consumer_span.parent.span_id == server_span.context.span_id
    assert consumer_span.name == f"process {subject}"
    assert consumer_span.attributes["messaging.message.id"]


async def test_nothing_is_traced_or_stored_while_tracing_is_off(database_url) -> None:
    assert not tracing.enabled()
    assert tracing.server_interceptors() == [] and tracing.client_interceptors() == []
    db = await database_with(database_url, metadata)
    try:
        async with db.transaction() as session:
            await emit(session, outbox, "review.item.decided.off", review_pb2.ReviewDecided(subject_id="x"))
        async with db.sessions() as session:
            assert await session.scalar(select(outbox.c.traceparent)) is None
    finally:
        await db.dispose()
    with tracing.consuming("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "process x"):
        assert tracing.current_traceparent() is None


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC collector that keeps what it is sent."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


def test_a_process_exports_its_spans_to_the_otlp_collector_it_is_given() -> None:
    collector = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    probe = ("from servicekit import tracing\n"
             "assert tracing.configure_tracing('probe')\n"
             "with tracing.tracer().start_as_current_span('probe-span'):\n"
             "    print(tracing.current_traceparent())\n")
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "PYTHONPATH": os.getcwd()}
    env.pop("OTEL_TRACES_FILE", None)
    try:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.stop(None)
    assert done.returncode == 0, done.stderr
    traceparent = done.stdout.strip()
    exported = [(resource.resource, span) for request in collector.requests for resource in request.resource_spans
                for scope in resource.scope_spans for span in scope.spans]
    assert [span.name for _, span in exported] == ["probe-span"]  # flushed when the process ended
    resource, span = exported[0]
    assert {"key": "service.name", "value": "probe"} in [
        {"key": a.key, "value": a.value.string_value} for a in resource.attributes]
    assert traceparent == f"00-{span.trace_id.hex()}-{span.span_id.hex()}-{traceparent[-2:]}"
