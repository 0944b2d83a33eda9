"""Prometheus metrics of every process (docs/metrics.md): the figures, the /metrics server on METRICS_PORT, the
gRPC server interceptor and the gateway's ASGI middleware. Labels are bounded sets (method names, route templates,
status and reason codes): never a user id, a token, a raw path or free text."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, start_http_server

log = logging.getLogger(__name__)

# A `_created` series beside every counter doubles what is scraped and tells nothing a restart does not.
disable_created_metrics()

METRICS_PORT_ENV = "METRICS_PORT"
METRICS_HOST_ENV = "METRICS_HOST"
UNMATCHED_ROUTE = "unmatched"  # answered before routing (a body limit) or by no route

GRPC_HANDLED = Counter("mooc_grpc_server_handled_total", "gRPC calls handled, by final status code.",
                       ["service", "method", "code"])
GRPC_SECONDS = Histogram("mooc_grpc_server_handling_seconds", "Time from receiving a gRPC call to its answer.",
                         ["service", "method"])
HTTP_REQUESTS = Counter("mooc_http_requests_total", "HTTP requests the gateway answered, by route template.",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("mooc_http_request_duration_seconds", "Time the gateway took to answer, by route template.",
                         ["route", "method"])
OUTBOX_DEPTH = Gauge("mooc_outbox_depth", "Outbox events written but not yet published to JetStream.", ["service"])
OUTBOX_OLDEST_AGE = Gauge("mooc_outbox_oldest_age_seconds",
                          "Age of the oldest unpublished outbox event (0 when none waits).", ["service"])
CONSUMER_LAG = Gauge("mooc_consumer_lag", "Messages of the stream the durable consumer has not been delivered yet.",
                     ["service", "consumer"])
CONSUMER_REDELIVERIES = Counter("mooc_consumer_redeliveries_total",
                                "Messages received again (a delivery after the first).", ["service", "consumer"])
CONSUMER_EVENTS = Counter("mooc_consumer_events_total",
                          "Events a consumer handled: applied, duplicate (applied before) or failed.",
                          ["service", "consumer", "outcome"])
PROGRESS_REPORTS = Counter("mooc_progress_reports_total",
                           "Video progress reports (heartbeats) accepted or refused, with the refusal's reason code.",
                           ["outcome", "reason"])
SIGN_IN_FAILURES = Counter("mooc_sign_in_failures_total", "Refused sign-ins, by reason code.", ["reason"])
ACCOUNT_LOCKOUTS = Counter("mooc_account_lockouts_total", "Sign-in lockouts after too many failed attempts.")
RATE_LIMIT_REFUSALS = Counter("mooc_rate_limit_refusals_total", "Requests refused by a rate or size limit.",
                              ["limit"])

_server_lock = threading.Lock()
_server_port: int | None = None


class Every:
    """True at most once per `interval` seconds (the first call included): how a loop refreshes a gauge that
    costs a query between its own rounds of work, without a task of its own."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._due = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self._due:
            return False
        self._due = now + self.interval
        return True


def start_metrics_server(port: int | None = None, host: str | None = None) -> int | None:
    """Serves the default registry at http://host:port/metrics in a thread, once per process.

    `port` defaults to METRICS_PORT; unset or 0 serves nothing (tests and `make run` unless asked). Returns the
    port served, or None."""
    global _server_port
    if port is None:
        port = int(os.environ.get(METRICS_PORT_ENV, "0") or 0)
    if port <= 0:
        return None
    host = host or os.environ.get(METRICS_HOST_ENV, "0.0.0.0")  # noqa: S104 - a pod is scraped on its own IP
    with _server_lock:
        if _server_port is None:
            try:
                start_http_server(port, addr=host)
            except OSError as error:
                raise RuntimeError(f"cannot serve metrics on {host}:{port} ({METRICS_PORT_ENV}): {error}") from error
            _server_port = port
            log.info("metrics at http://%s:%d/metrics", host, port)
        return _server_port


def progress_report(refusal_reason: str | None) -> None:
    """One heartbeat: accepted (None) or refused with its reason code."""
    if refusal_reason is None:
        PROGRESS_REPORTS.labels(outcome="accepted", reason="").inc()
    else:
        PROGRESS_REPORTS.labels(outcome="refused", reason=refusal_reason).inc()


# ---- gRPC ------------------------------------------------------------------------------------------------------


class GrpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every unary call by service, method and final status code.

    First in the server's interceptor list, so it sees the code the inner interceptors answered with (their
    `abort`), and the time of the whole call."""

    def __init__(self) -> None:
        self._children: dict[str, tuple[Any, dict[str, Any], str, str]] = {}

    def _series(self, full_method: str) -> tuple[Any, dict[str, Any], str, str]:
        series = self._children.get(full_method)
        if series is None:  # one label lookup per method, not per call
            service, _, method = full_method.lstrip("/").partition("/")
            series = (GRPC_SECONDS.labels(service=service, method=method), {}, service, method)
            self._children[full_method] = series
        return series

    def _count(self, full_method: str, code: str, seconds: float) -> None:
        histogram, counters, service, method = self._series(full_method)
        histogram.observe(seconds)
        counter = counters.get(code)
        if counter is None:
            counter = counters[code] = GRPC_HANDLED.labels(service=service, method=method, code=code)
        counter.inc()

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # unknown methods (never a label) and streams (the mesh has none)
        inner = handler.unary_unary
        method = handler_call_details.method
        count = self._count

        async def behavior(request, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            code = "UNKNOWN"
            try:
                response = await inner(request, context)
                code = _code_name(context.code(), "OK")
                return response
            except grpc.aio.AbortError:
                code = _code_name(context.code(), "UNKNOWN")
                raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            finally:
                count(method, code, time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _code_name(code: Any, default: str) -> str:
    if code is None:
        return default
    if isinstance(code, grpc.StatusCode):
        return code.name
    return _CODE_NAMES.get(code, default)  # grpc.aio may give the integer value


_CODE_NAMES = {status.value[0]: status.name for status in grpc.StatusCode}


# ---- the gateway's HTTP middleware ---------------------------------------------------------------------------

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # any other: "OTHER"
ROUTE_TEMPLATE_KEY = "mooc.route"  # set in the scope by a handler that answers without the router (the fast path)


class HttpMetricsMiddleware:
    """Pure ASGI: counts and times each HTTP request by the matched route's template (never the raw path).

    The router puts the matched route in the scope it was given; the template is read from there after the answer.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app
        self._children: dict[tuple[str, str], tuple[Any, dict[int, Any]]] = {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # a failure before any answer is what the server then sends

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self._count(scope, status, time.perf_counter() - started)

    def _count(self, scope: dict, status: int, seconds: float) -> None:
        method = scope["method"]
        key = (route_template(scope), method if method in HTTP_METHODS else "OTHER")
        series = self._children.get(key)
        if series is None:
            series = self._children[key] = (HTTP_SECONDS.labels(route=key[0], method=key[1]), {})
        histogram, counters = series
        histogram.observe(seconds)
        counter = counters.get(status)
        if counter is None:
            counter = counters[status] = HTTP_REQUESTS.labels(route=key[0], method=key[1], status=str(status))
        counter.inc()


def route_template(scope: dict) -> str:
    """The template of the route that answered (`/api/v1/courses/{course_id}`), else `unmatched`."""
    template = scope.get(ROUTE_TEMPLATE_KEY)
    if template:
        return template
    # FastAPI keeps included routers as such: the route in the scope knows its own path, and the effective route
    # it records beside it knows the path with the routers' prefixes (/api/v1...).
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for route in (effective, scope.get("route")):
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if isinstance(path, str) and path:
            return path
    return UNMATCHED_ROUTE
