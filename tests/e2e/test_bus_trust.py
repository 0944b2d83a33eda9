"""The trusted bus and a mesh that heals, through the real mesh: forged events change nothing,
a killed service comes back and the gateway serves it again within seconds, /healthz tells
when NATS is down."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import grpc
import httpx
import pytest

from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2
from devmesh.client import Api
from devmesh.mesh import Mesh, _grpc_serving
from servicekit.messaging import EVENT_ID_HEADER, EVENT_TYPE_HEADER, NATS_USERS, NatsAuthRefused
from tests.e2e.conftest import SchoolWorld, create_account, new_phone, review_item
from tests.e2e.test_registration_and_reviews import login_problem, register
from tests.support import nats_as, wait_until


async def forge(mesh: Mesh, subject: str, event, senders: list[str | None]) -> list[str]:  # type: ignore[no-untyped-def]
    """Tries to publish `event` on `subject` as each sender (None: without credentials).
    Returns the senders whose event the bus stored."""
    stored = []
    headers = {EVENT_TYPE_HEADER: event.DESCRIPTOR.full_name}
    for sender in senders:
        try:
            nc, js = await nats_as(mesh.nats_url, sender, mesh.nats_credentials()[sender] if sender else "")
        except NatsAuthRefused:
            continue
        try:
            await js.publish(subject, event.SerializeToString(), timeout=0.5,
                             headers={**headers, EVENT_ID_HEADER: str(uuid.uuid4())})
            stored.append(str(sender))
        except Exception:  # noqa: BLE001, S110 - refused: the server answers a violation with silence
            pass
        finally:
            await nc.close()
    return stored


def everyone_but(owner: str) -> list[str | None]:
    return [None, *(user for user in NATS_USERS if user != owner)]


def test_the_mesh_bus_refuses_clients_without_credentials(mesh: Mesh) -> None:
    with pytest.raises(NatsAuthRefused):
        asyncio.run(nats_as(mesh.nats_url, None))


def test_a_forged_decision_does_not_approve_a_pending_teacher_registration(
    api: Api, school: SchoolWorld, mesh: Mesh
) -> None:
    username, registration = register(api, school)
    assert login_problem(api, username)["reason"] == "REGISTRATION_PENDING"
    decided = review_pb2.ReviewDecided(item_id=str(uuid.uuid4()), kind="teacher_registration", owner="identity",
                                       subject_id=registration["user_id"], decision="approved", decided_by="forger")
    assert asyncio.run(forge(mesh, "review.item.decided.identity", decided, everyone_but("review"))) == []
    time.sleep(2)  # what got through would be applied by now
    assert login_problem(api, username)["reason"] == "REGISTRATION_PENDING"
    # The real review still decides it.
    item = review_item(school.admin, "teacher_registration", registration["user_id"])
    school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"})
    wait_until(lambda: not login_problem(api, username))


def test_a_service_cannot_ask_for_a_review_of_another_services_thing(
    api: Api, school: SchoolWorld, mesh: Mesh
) -> None:
    # Course may publish course.review.requested, but not on identity's behalf: an approval of that
    # item would go back to identity as review.item.decided.identity.
    username, registration = register(api, school)
    real = review_item(school.admin, "teacher_registration", registration["user_id"])
    requested = review_pb2.ReviewRequested(kind="teacher_registration", owner="identity",
                                           subject_id=registration["user_id"], title="forged",
                                           scope=review_pb2.Scope(type="school", id=school.id))
    assert asyncio.run(forge(mesh, "course.review.requested", requested, ["course"])) == ["course"]
    wait_until(lambda: "course cannot ask for reviews of 'identity'" in mesh.log_tail("review", 400))
    items = school.admin.get("/reviews", params={"kind": "teacher_registration", "page_size": 200})["items"]
    assert [i["id"] for i in items if i["subject_id"] == registration["user_id"]] == [real["id"]]
    assert login_problem(api, username)["reason"] == "REGISTRATION_PENDING"


def resolve_students(mesh: Mesh, token: str, school_id: str, number: str, run_id: str = "") -> grpc.StatusCode:
    with grpc.insecure_channel(f"127.0.0.1:{mesh.ports.identity}") as channel:
        try:
            identity_pb2_grpc.IdentityServiceStub(channel).ResolveStudents(
                identity_pb2.ResolveStudentsRequest(school_id=school_id, numbers=[number], run_id=run_id),
                metadata=(("authorization", f"Bearer {token}"),), timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()


def test_a_forged_adoption_acceptance_grants_nothing(
    api: Api, school: SchoolWorld, other_school: SchoolWorld, mesh: Mesh
) -> None:
    leader, leader_api = create_account(school.admin, api, role="teacher", school_id=school.id,
                                        number=f"L{uuid.uuid4().hex[:6]}", name="课程负责人")
    number = f"S{uuid.uuid4().hex[:8]}"
    other_school.admin.post("/users", {"role": "student", "school_id": other_school.id, "number": number,
                                       "name": "学生", "phone": new_phone()})
    assert resolve_students(mesh, leader_api.token, other_school.id, number) == grpc.StatusCode.PERMISSION_DENIED
    accepted = sharing_pb2.AdoptionAccepted(adoption_id=str(uuid.uuid4()), run_id=str(uuid.uuid4()),
                                            adopting_school_id=other_school.id, leader_id=leader["id"])
    assert asyncio.run(forge(mesh, "sharing.adoption.accepted", accepted, everyone_but("sharing"))) == []
    time.sleep(2)
    assert resolve_students(mesh, leader_api.token, other_school.id, number,
                            accepted.run_id) == grpc.StatusCode.PERMISSION_DENIED


def test_a_killed_service_is_restarted_and_the_gateway_serves_it_within_seconds(
    api: Api, school: SchoolWorld, mesh: Mesh
) -> None:
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"K{uuid.uuid4().hex[:6]}", name="老师")
    teacher.get("/courses")
    restarts = mesh.restarts.get("course", 0)
    os.kill(mesh.processes["course"].pid, signal.SIGKILL)
    wait_until(lambda: not _serves(teacher), timeout=5)  # the gateway calls it meanwhile: its channel retries
    wait_until(lambda: mesh.restarts.get("course", 0) > restarts, timeout=15)
    wait_until(lambda: _grpc_serving(mesh.ports.course), timeout=60, interval=0.05)
    back = time.monotonic()
    wait_until(lambda: _serves(teacher), timeout=5, interval=0.1)
    assert time.monotonic() - back < 3
    assert "devmesh: course exited with -9; restarting in" in mesh.log_tail("course", 400)


def _serves(api: Api) -> bool:
    try:
        api.get("/courses")
        return True
    except Exception:  # noqa: BLE001 - 503 while the channel reconnects
        return False


def test_the_gateway_reconnects_within_a_second_after_a_long_outage(
    api: Api, school: SchoolWorld, mesh: Mesh
) -> None:
    # Calls during an outage make the gateway's channel retry, each retry waiting longer: with
    # gRPC's default backoff (1 s x 1.6 per attempt, up to 2 min) the next retry after 16 s of
    # outage comes ~10 s after the service is back.
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"R{uuid.uuid4().hex[:6]}", name="老师")
    teacher.get("/courses")
    mesh.stop_process("course")
    try:
        outage = time.monotonic() + 16
        while time.monotonic() < outage:
            assert not _serves(teacher)
            time.sleep(0.2)
    finally:
        mesh.start_service("course")
    back = time.monotonic()
    wait_until(lambda: _serves(teacher), timeout=15, interval=0.05)
    assert time.monotonic() - back < 2


def test_healthz_names_nats_when_it_is_down(mesh: Mesh) -> None:
    assert httpx.get(f"{mesh.gateway_url}/healthz").json()["nats"] == "CONNECTED"
    mesh.stop_process("nats")
    try:
        def down() -> dict | None:
            reply = httpx.get(f"{mesh.gateway_url}/healthz", timeout=10)
            return reply.json() if reply.status_code == 503 else None

        health = wait_until(down, timeout=10)
        assert health["status"] == "unavailable" and health["down"] == ["nats"]
        assert health["nats"] != "CONNECTED" and set(health["services"].values()) == {"SERVING"}
    finally:
        mesh.start_nats()
    wait_until(lambda: httpx.get(f"{mesh.gateway_url}/healthz", timeout=10).status_code == 200, timeout=30)

