"""Every process of the mesh serves Prometheus metrics on its METRICS_PORT: real calls through the gateway move
the figures docs/metrics.md lists, with exactly their labels, and no label carries an id, a token or a raw path."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from devmesh.client import Api
from devmesh.mesh import METRICS_PROCESSES, Mesh
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account
from tests.e2e.learning_world import make_learning_world
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_public_learners import new_address
from tests.e2e.test_sign_in_guards import attempt, fail_five_times
from tests.support import Samples, metric_value, scrape_metrics, wait_until

LABELS = {  # every family of docs/metrics.md this mesh moves, with its exact label names
    "mooc_grpc_server_handled_total": {"service", "method", "code"},
    "mooc_grpc_server_handling_seconds_count": {"service", "method"},
    "mooc_http_requests_total": {"route", "method", "status"},
    "mooc_http_request_duration_seconds_count": {"route", "method"},
    "mooc_outbox_depth": {"service"},
    "mooc_outbox_oldest_age_seconds": {"service"},
    "mooc_consumer_lag": {"service", "consumer"},
    "mooc_consumer_redeliveries_total": {"service", "consumer"},
    "mooc_consumer_events_total": {"service", "consumer", "outcome"},
    "mooc_progress_reports_total": {"outcome", "reason"},
    "mooc_sign_in_failures_total": {"reason"},
    "mooc_account_lockouts_total": set(),
    "mooc_rate_limit_refusals_total": {"limit"},
}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def scrape(mesh: Mesh, process: str) -> Samples:
    return scrape_metrics(f"http://127.0.0.1:{mesh.metrics_ports[process]}/metrics")


value = metric_value


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def check_labels(samples: Samples, *secrets: str) -> None:
    """The documented label names, exactly; no label value holds an id, a token or one of `secrets`."""
    for name, labels in samples.items():
        if name in LABELS:
            assert {frozenset(found) for found, _ in labels} <= {frozenset(LABELS[name])}, name
        for found, _ in labels:
            for label_value in found.values():
                assert not UUID.search(label_value), (name, found)
                assert not label_value.startswith("eyJ"), (name, found)  # a JWT
                assert not any(secret and secret in label_value for secret in secrets), (name, found)


def test_every_process_serves_its_metrics(mesh: Mesh) -> None:
    assert set(mesh.metrics_ports) == set(METRICS_PROCESSES)
    for process in METRICS_PROCESSES:
        samples = scrape(mesh, process)
        assert "process_cpu_seconds_total" in samples, process  # the client's default collectors
        check_labels(samples)
    for service in ("identity", "review", "media", "course", "sharing", "learning"):
        wait_until(lambda service=service: "mooc_outbox_depth" in scrape(mesh, service), timeout=15)
        samples = scrape(mesh, service)
        assert value(samples, "mooc_outbox_oldest_age_seconds", service=service) >= 0
        consumers = {labels["consumer"] for labels, _ in samples.get("mooc_consumer_lag", [])
                     if labels["service"] == service}
        if service != "identity":  # identity consumes no other service's events yet; the others do
            assert consumers, service


def test_sign_ins_lockouts_rate_limits_and_grpc_codes_are_counted(api: Api, mesh: Mesh, school: SchoolWorld) -> None:
    gateway, identity = scrape(mesh, "gateway"), scrape(mesh, "identity")
    user, student = create_account(school.admin, api, role="student", school_id=school.id,
                                   number=f"M{uuid.uuid4().hex[:6]}", name="指标同学")
    api.login(user["username"], PASSWORD)
    assert attempt(api, user["username"]).status_code == 401  # a wrong password
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    fail_five_times(api, unknown)  # five failures lock even a login nobody has
    assert attempt(api, unknown).json()["reason"] == "ACCOUNT_LOCKED"
    missing = str(uuid.uuid4())
    expect_problem(404, lambda: student.get(f"/courses/{missing}"))
    email = new_address()
    statuses = [api.http.post("/api/v1/auth/password-reset", json={"email": email}).status_code for _ in range(6)]
    assert statuses == [202] * 5 + [429]  # five an hour per address
    api.post("/learners", {"email": new_address(), "name": "指标", "password": PASSWORD})
    learner = new_address()
    api.post("/learners", {"email": learner, "name": "指标", "password": PASSWORD})
    resend = httpx.post(f"{mesh.gateway_url}/api/v1/learners/verification-code", json={"email": learner})
    assert resend.json()["reason"] == "VERIFICATION_CODE_RATE_LIMITED"
    gateway_after, identity_after = scrape(mesh, "gateway"), scrape(mesh, "identity")

    failures = "mooc_sign_in_failures_total"
    assert moved(identity, identity_after, failures, reason="WRONG_CREDENTIALS") == 1 + 5
    assert moved(identity, identity_after, failures, reason="CAPTCHA_REQUIRED") == 2
    assert moved(identity, identity_after, failures, reason="ACCOUNT_LOCKED") == 1
    assert moved(identity, identity_after, "mooc_account_lockouts_total") == 1
    login = {"service": "identity.v1.IdentityService", "method": "Login"}
    assert moved(identity, identity_after, "mooc_grpc_server_handled_total", **login, code="OK") >= 2
    assert moved(identity, identity_after, "mooc_grpc_server_handled_total", **login, code="UNAUTHENTICATED") == 1 + 5
    assert moved(identity, identity_after, "mooc_grpc_server_handled_total", **login,
                 code="FAILED_PRECONDITION") == 2  # the captcha required
    assert moved(identity, identity_after, "mooc_grpc_server_handled_total", **login, code="PERMISSION_DENIED") == 1
    assert moved(identity, identity_after, "mooc_grpc_server_handling_seconds_count", **login) >= 2 + 6 + 2 + 1
    assert moved(identity, identity_after, "mooc_rate_limit_refusals_total", limit="verification_code_resend") == 1
    assert moved(gateway, gateway_after, "mooc_rate_limit_refusals_total", limit="password_reset_per_account") == 1
    course = {"route": "/api/v1/courses/{course_id}", "method": "GET"}
    assert moved(gateway, gateway_after, "mooc_http_requests_total", **course, status="404") == 1
    assert moved(gateway, gateway_after, "mooc_http_request_duration_seconds_count", **course) == 1
    login_route = {"route": "/api/v1/auth/login", "method": "POST"}
    assert moved(gateway, gateway_after, "mooc_http_requests_total", **login_route, status="401") == 6 + 2
    assert moved(gateway, gateway_after, "mooc_http_requests_total", **login_route, status="403") == 1
    assert moved(gateway, gateway_after, "mooc_http_requests_total", route="/api/v1/auth/password-reset",
                 method="POST", status="429") == 1
    for samples in (gateway_after, identity_after):
        check_labels(samples, user["id"], user["username"], email, learner, unknown, student.token)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("metrics-clips")


def test_heartbeats_accepted_and_refused_and_events_through_outbox_and_consumers(
        api: Api, center: Api, school: SchoolWorld, clips: Path, mesh: Mesh) -> None:
    course_before = scrape(mesh, "course")
    world = make_learning_world(api, school, clips, students=1)  # `center`: the term calendar is in place
    student = world.students[0]
    gateway, learning = scrape(mesh, "gateway"), scrape(mesh, "learning")
    play = student.post(f"/learning/runs/{world.run_id}/units/{world.units[0]}/plays")
    time.sleep(1.1)  # a second of video watched at most twice as fast
    receipt = student.post(f"/learning/plays/{play['play_id']}/progress", {"segments": [
        {"seq": 1, "from_seconds": 0, "to_seconds": 2, "event": "heartbeat"}]})
    assert receipt["play_id"] == play["play_id"]
    expect_problem(404, lambda: student.post(f"/learning/plays/{uuid.uuid4()}/progress", {"segments": [
        {"seq": 1, "from_seconds": 0, "to_seconds": 2, "event": "heartbeat"}]}))
    gateway_after, learning_after = scrape(mesh, "gateway"), scrape(mesh, "learning")

    reports = "mooc_progress_reports_total"
    for before, after in ((gateway, gateway_after), (learning, learning_after)):
        assert moved(before, after, reports, outcome="accepted", reason="") == 1
        assert moved(before, after, reports, outcome="refused", reason="NOT_FOUND") == 1
    progress = {"route": "/api/v1/learning/plays/{play_id}/progress", "method": "POST"}
    assert moved(gateway, gateway_after, "mooc_http_requests_total", **progress, status="200") == 1
    assert moved(gateway, gateway_after, "mooc_http_requests_total", **progress, status="404") == 1
    batch = {"service": "learning.v1.LearningService", "method": "ReportProgressBatch"}
    assert moved(learning, learning_after, "mooc_grpc_server_handled_total", **batch, code="OK") >= 1

    # The run's approval went review -> outbox -> NATS -> the course service's consumer, which applied it.
    def course_applied() -> float:
        samples = scrape(mesh, "course")
        return sum(v for labels, v in samples.get("mooc_consumer_events_total", [])
                   if labels["outcome"] == "applied") - sum(
            v for labels, v in course_before.get("mooc_consumer_events_total", []) if labels["outcome"] == "applied")

    wait_until(lambda: course_applied() >= 1)
    review = scrape(mesh, "review")
    assert value(review, "mooc_outbox_depth", service="review") >= 0
    for process in ("gateway", "learning", "course", "review"):
        check_labels(scrape(mesh, process), world.run_id, play["play_id"], world.student_ids[0], student.token)
