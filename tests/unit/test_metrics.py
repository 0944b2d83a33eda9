"""The gateway's HTTP metrics label a request by its route's template, never by its raw path (bounded series)."""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, FastAPI
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from servicekit.metrics import ROUTE_TEMPLATE_KEY, UNMATCHED_ROUTE, HttpMetricsMiddleware, start_metrics_server


def http_samples() -> dict[tuple[str, str, str], float]:
    families = text_string_to_metric_families(generate_latest().decode())
    return {(s.labels["route"], s.labels["method"], s.labels["status"]): s.value
            for family in families if family.name == "mooc_http_requests"
            for s in family.samples if s.name == "mooc_http_requests_total"}


def app_with_routes(prefix: str) -> FastAPI:
    app = FastAPI()
    courses = APIRouter()  # included under a prefix, as the gateway's routers are

    @courses.get("/courses/{course_id}")
    async def course(course_id: str) -> dict:
        return {"id": course_id}

    app.include_router(courses, prefix=prefix)

    @app.post(prefix + "/fast/{thing}")
    async def never_reached(thing: str) -> dict:
        raise AssertionError("the fast path answers")

    async def fast_path(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        # An answer without the router, as the gateway's heartbeat fast path gives: it names its template itself.
        if scope["type"] == "http" and scope["path"].startswith(prefix + "/fast/"):
            scope[ROUTE_TEMPLATE_KEY] = prefix + "/fast/{thing}"
            await send({"type": "http.response.start", "status": 202, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await inner(scope, receive, send)

    inner = app.build_middleware_stack()
    app.build_middleware_stack = lambda: HttpMetricsMiddleware(fast_path)  # type: ignore[method-assign]
    return app


async def test_the_raw_path_never_becomes_a_label_only_the_route_template() -> None:
    prefix = f"/t{uuid.uuid4().hex[:8]}"
    app = app_with_routes(prefix)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for course_id in ids:
            assert (await client.get(f"{prefix}/courses/{course_id}")).status_code == 200
        assert (await client.get(f"{prefix}/nowhere/{ids[0]}")).status_code == 404
        assert (await client.post(f"{prefix}/fast/{ids[1]}")).status_code == 202
        assert (await client.request("BREW", f"{prefix}/courses/{ids[2]}")).status_code == 405

    samples = http_samples()
    assert samples[(prefix + "/courses/{course_id}", "GET", "200")] == 3
    assert samples[(prefix + "/fast/{thing}", "POST", "202")] == 1
    assert samples[(prefix + "/courses/{course_id}", "OTHER", "405")] == 1  # an invented method is not a label
    assert samples[(UNMATCHED_ROUTE, "GET", "404")] >= 1
    exposition = generate_latest().decode()
    assert not any(course_id in exposition for course_id in ids)
    assert f"{prefix}/nowhere" not in exposition


async def test_a_request_that_fails_before_answering_counts_as_a_500() -> None:
    prefix = f"/t{uuid.uuid4().hex[:8]}"
    app = FastAPI()

    @app.get(prefix + "/broken/{item}")
    async def broken(item: str) -> dict:
        raise RuntimeError("boom")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=HttpMetricsMiddleware(app),
                                                               raise_app_exceptions=False),
                                 base_url="http://test") as client:
        assert (await client.get(f"{prefix}/broken/x1")).status_code == 500
    assert http_samples()[(prefix + "/broken/{item}", "GET", "500")] == 1


def test_without_a_metrics_port_nothing_is_served(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert start_metrics_server() is None
    monkeypatch.setenv("METRICS_PORT", "0")
    assert start_metrics_server() is None
