"""OpenTelemetry traces: a provider from the standard environment, and the W3C trace context carried through
gRPC metadata and event headers so one request's spans (gateway, services, consumers, workers) share a trace."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from servicekit.metrics import UNMATCHED_ROUTE, route_template

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"  # the W3C header, in gRPC metadata and NATS headers alike
TRACES_FILE_ENV = "OTEL_TRACES_FILE"  # spans as JSON lines; "{service}" in it is replaced by the service name

_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer = trace.NoOpTracer()
_enabled = False  # read on hot paths: when False, nothing here costs more than this test


def enabled() -> bool:
    return _enabled


def process_service_name() -> str:
    """The service a process runs, from how it was started: `python -m services.media.worker` is media-worker."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    module = (spec.name if spec else "").removesuffix(".__main__")
    parts = module.split(".")
    if parts[0] == "services" and len(parts) > 1:
        return "-".join(parts[1:])
    return module or Path(sys.argv[0] or "python").stem


class JsonLinesSpanExporter:
    """Writes finished spans to a file, one JSON object a line: what tests read back, and an operator can
    follow without a collector. Each batch is one append (O_APPEND): processes sharing a file do not interleave."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = "".join(json.dumps(span_record(span), ensure_ascii=False) + "\n" for span in spans).encode()
        with self._lock:
            if self._fd is None:
                return SpanExportResult.FAILURE
            os.write(self._fd, lines)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is written through

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def span_record(span: Any) -> dict[str, Any]:
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name", ""),
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
        "parent_span_id": trace.format_span_id(parent.span_id) if parent else None,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


def configure_tracing(service: str | None = None) -> bool:
    """Sets up the process's tracer provider when OTEL_EXPORTER_OTLP_ENDPOINT (an OTLP/gRPC collector) or
    OTEL_TRACES_FILE is set; otherwise tracing stays off and costs nothing. OTEL_SERVICE_NAME overrides the name
    taken from the process. Returns whether spans are now exported."""
    global _tracer, _enabled
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    traces_file = os.environ.get(TRACES_FILE_ENV, "")
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true" or not (endpoint or traces_file):
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service or process_service_name()
    provider = TracerProvider(resource=Resource.create({"service.name": name}))  # flushed at exit
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint, headers... from the env
    if traces_file:
        exporter = JsonLinesSpanExporter(Path(traces_file.replace("{service}", name)))
        provider.add_span_processor(BatchSpanProcessor(exporter))  # type: ignore[arg-type]
    trace.set_tracer_provider(provider)
    _tracer = provider.get_tracer("servicekit")
    _enabled = True
    log.info("tracing on: service %s, exported to %s", name, " and ".join(filter(None, [endpoint, traces_file])))
    return True


def tracer() -> trace.Tracer:
    return _tracer


# ---- carrying the context ------------------------------------------------------------------------------------


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (what an outbox row keeps), None outside a recorded span."""
    if not _enabled:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_from(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The remote parent a traceparent in headers or metadata names (None without one)."""
    if not carrier or TRACEPARENT not in carrier:
        return None
    return _propagator.extract({TRACEPARENT: carrier[TRACEPARENT]})


@contextlib.contextmanager
def consuming(traceparent: str | None, name: str, **attributes: Any) -> Iterator[None]:
    """A CONSUMER span for applying one event or job, child of the transaction that wrote the event."""
    if not _enabled:
        yield
        return
    parent = context_from({TRACEPARENT: traceparent} if traceparent else None)
    with _tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes):
        yield


# ---- gRPC ----------------------------------------------------------------------------------------------------


def _metadata_dict(metadata: Any) -> dict[str, str]:
    return {key: value for key, value in metadata or () if isinstance(value, str)}


class ServerTracingInterceptor(grpc.aio.ServerInterceptor):
    """A SERVER span around each unary call (and streamed upload), child of the caller's traceparent metadata."""

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith("/grpc.health.v1.Health/"):
            return handler
        service, _, rpc = method.lstrip("/").partition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc}

        def traced(inner):  # type: ignore[no-untyped-def]
            async def behavior(request_or_iterator, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
                parent = context_from(_metadata_dict(context.invocation_metadata()))
                with _tracer.start_as_current_span(
                    method.lstrip("/"), context=parent, kind=SpanKind.SERVER, attributes=attributes,
                    record_exception=False, set_status_on_exception=False,
                ) as span:
                    try:
                        return await inner(request_or_iterator, context)
                    except grpc.aio.AbortError:  # a refusal or a domain error, already mapped to its status
                        code = context.code()
                        span.set_attribute("rpc.grpc.status_code", code.value[0] if code else 2)
                        span.set_status(Status(StatusCode.ERROR, code.name if code else "ABORTED"))
                        raise
                    except BaseException as error:
                        span.record_exception(error)
                        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                        raise

            return behavior

        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                traced(handler.unary_unary), request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                traced(handler.stream_unary), request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """What ServiceHost puts first (outermost) in its interceptors: nothing while tracing is off."""
    return [ServerTracingInterceptor()] if _enabled else []


def _with_traceparent(details: grpc.aio.ClientCallDetails, traceparent: str) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata[TRACEPARENT] = traceparent
    return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials,
                                      details.wait_for_ready)


class _ClientTracing:
    async def _call(self, continuation, details, request):  # type: ignore[no-untyped-def]
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        span = _tracer.start_span(method.lstrip("/"), kind=SpanKind.CLIENT, attributes={"rpc.system": "grpc"})
        with trace.use_span(span, end_on_exit=False):
            traceparent = current_traceparent()
        if traceparent:
            details = _with_traceparent(details, traceparent)
        try:
            call = await continuation(details, request)
        except BaseException:
            span.end()
            raise
        # The CLIENT span ends with the call's answer; the call object itself goes back untouched (its
        # metadata, trailers and errors are the caller's as before).
        call.add_done_callback(lambda _: span.end())
        return call


class UnaryUnaryClientTracing(_ClientTracing, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await self._call(continuation, client_call_details, request)


class StreamUnaryClientTracing(_ClientTracing, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await self._call(continuation, client_call_details, request_iterator)


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """What channels get: the current span's traceparent in each call's metadata; nothing while tracing is off."""
    return [UnaryUnaryClientTracing(), StreamUnaryClientTracing()] if _enabled else []


# ---- HTTP (the gateway) --------------------------------------------------------------------------------------


class AsgiTracingMiddleware:
    """A SERVER span per HTTP request, child of the client's traceparent header if it sent one; named by the
    route's template (`GET /api/v1/courses/{course_id}`): ids do not make every name unique, secrets stay out."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", ())
                   if key == b"traceparent"}
        method = scope.get("method", "")
        # Named and described by the route's template once routed, never by the raw path or query: those may
        # hold playback grants (/media/play/{grant}/...) or one-time keys.
        with _tracer.start_as_current_span(
            method, context=context_from(headers), kind=SpanKind.SERVER, attributes={"http.request.method": method},
        ) as span:

            async def traced_send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, traced_send)
            finally:
                template = route_template(scope)
                if template != UNMATCHED_ROUTE:
                    span.update_name(f"{method} {template}")
                    span.set_attribute("http.route", template)
