"""One request's spans, read back from the processes' span files: the gateway's, the service's it called, the
consumer's that applied its event and the worker's that transcoded its upload share one trace, linked parent to
child across HTTP, gRPC metadata and NATS headers."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

import httpx

from devmesh.client import Api
from devmesh.mesh import Mesh
from tests import media_clips
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, new_phone, review_item
from tests.e2e.media_support import wait_for_state
from tests.e2e.observability.conftest import spans
from tests.support import wait_until


def client_context() -> tuple[str, str, dict[str, str]]:
    """A trace the test starts itself, as a browser with tracing would: its id and the client's span id."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, {"traceparent": f"00-{trace_id}-{span_id}-01"}


def trace_of(mesh: Mesh, trace_id: str) -> list[dict[str, Any]]:
    return [span for span in spans(mesh) if span["trace_id"] == trace_id]


def one(found: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    hits = [span for span in found if all(span.get(key) == value for key, value in match.items())]
    assert len(hits) == 1, f"{match}: {len(hits)} spans among {[(s['service'], s['name']) for s in found]}"
    return hits[0]


def child_of(span: dict[str, Any], parent: dict[str, Any]) -> bool:
    return span["parent_span_id"] == parent["span_id"] and span["trace_id"] == parent["trace_id"]


def gateway_to_service(found: list[dict[str, Any]], client_span: str, route: str, service: str,
                       method: str) -> dict[str, Any]:
    """Asserts the HTTP span -> gRPC client span -> service span chain; returns the service's span."""
    http = one(found, service="gateway", kind="SERVER", name=route)
    assert http["parent_span_id"] == client_span  # the caller's traceparent header was honoured
    call = one(found, service="gateway", kind="CLIENT", name=method)
    assert child_of(call, http)
    served = one(found, service=service, kind="SERVER", name=method)
    assert child_of(served, call)  # the context travelled in the gRPC metadata
    return served


def test_a_registration_its_review_item_and_the_decision_share_traces_end_to_end(
    traced_api: Api, traced_mesh: Mesh, traced_school: SchoolWorld
) -> None:
    # A public request: the gateway -> identity (writes identity's review_requested event) -> the review
    # service's consumer, which queues the item.
    trace_id, client_span, headers = client_context()
    body = {"school_id": traced_school.id, "username": f"t{uuid.uuid4().hex[:8]}", "password": PASSWORD,
            "name": "新老师", "phone": new_phone(), "staff_number": f"N{uuid.uuid4().hex[:6]}"}
    registration = traced_api.post("/registrations/teachers", body, headers=headers)

    def registration_trace() -> list[dict[str, Any]] | None:
        found = trace_of(traced_mesh, trace_id)
        return found if any(s["service"] == "review" and s["kind"] == "CONSUMER" for s in found) else None

    found = wait_until(registration_trace)
    served = gateway_to_service(found, client_span, "POST /api/v1/registrations/teachers", "identity",
                                "identity.v1.IdentityService/RegisterTeacher")
    consumed = one(found, service="review", kind="CONSUMER")
    assert child_of(consumed, served), "the event carries the context of the transaction that wrote it"
    assert consumed["attributes"]["messaging.system"] == "nats"
    assert consumed["name"] == f"process {consumed['attributes']['messaging.destination.name']}"
    assert consumed["status"] != "ERROR"

    # A signed-in request: the school admin's decision -> the review service -> review.decided -> identity's
    # consumer, which activates the account.
    item = review_item(traced_school.admin, "teacher_registration", registration["user_id"])
    trace_id, client_span, headers = client_context()
    traced_school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}, headers=headers)

    def decision_trace() -> list[dict[str, Any]] | None:
        found = trace_of(traced_mesh, trace_id)
        return found if any(s["service"] == "identity" and s["kind"] == "CONSUMER" for s in found) else None

    found = wait_until(decision_trace)
    served = gateway_to_service(found, client_span, "POST /api/v1/reviews/{item_id}/decision", "review",
                                "review.v1.ReviewService/Decide")
    consumed = one(found, service="identity", kind="CONSUMER")
    assert child_of(consumed, served)
    assert {s["trace_id"] for s in found} == {trace_id}
    # Traces do not leak into each other: the registration's spans are not in the decision's trace.
    assert not any(s["name"].endswith("RegisterTeacher") for s in found)


def test_an_upload_is_traced_from_the_gateway_to_the_worker_that_transcoded_it(
    traced_api: Api, traced_mesh: Mesh, traced_school: SchoolWorld, tmp_path: Path
) -> None:
    _, teacher = create_account(traced_school.admin, traced_api, role="teacher", school_id=traced_school.id,
                                number="TR1", name="追踪老师")
    data = media_clips.compliant_720p(tmp_path, seconds=3).read_bytes()
    trace_id, client_span, headers = client_context()
    answer = httpx.put(f"{traced_mesh.gateway_url}/api/v1/media/stream", params={"filename": "traced.mp4"},
                       content=data, headers={"Authorization": f"Bearer {teacher.token}", **headers}, timeout=120)
    assert answer.status_code == 201, answer.text
    assert wait_for_state(teacher, answer.json()["id"], "ready", "failed")["state"] == "ready"

    def upload_trace() -> list[dict[str, Any]] | None:
        found = trace_of(traced_mesh, trace_id)
        return found if any(s["service"] == "media-worker" and s["kind"] == "CONSUMER" for s in found) else None

    found = wait_until(upload_trace)
    http = one(found, service="gateway", kind="SERVER", name="PUT /api/v1/media/stream")
    assert http["parent_span_id"] == client_span
    served = [s for s in found if s["service"] == "media" and s["kind"] == "SERVER"]
    assert served and all(any(child_of(s, c) for c in found if c["kind"] == "CLIENT") for s in served)
    job = one(found, service="media-worker", kind="CONSUMER")
    assert job["attributes"]["messaging.destination.name"] == "media.asset.uploaded"
    assert any(child_of(job, s) for s in served), "the job's span is a child of the upload's service span"
    assert job["status"] != "ERROR" and job["end_ns"] > job["start_ns"]
