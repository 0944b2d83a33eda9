"""Issue 8's smaller holes, through the gateway: revoked sessions, rate limits shared by gateway
replicas, 500s that were the client's fault, and reads that reached past their scope."""

from __future__ import annotations

import base64
import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import grpc
import httpx
import pytest

from contracts.course.v1 import course_pb2, course_pb2_grpc
from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import REPO_ROOT, Mesh
from tests.e2e.conftest import (
    CURRENT_TERM,
    NEXT_TERM,
    PASSWORD,
    SchoolWorld,
    create_account,
    decide,
    new_code,
    new_phone,
)
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until

# ---- access tokens die with their session -------------------------------------------------------


def _gateway_status(mesh: Mesh, token: str) -> int:
    return httpx.get(f"{mesh.gateway_url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _service_code(mesh: Mesh, token: str) -> grpc.StatusCode:
    """A teacher's course list, asked of the course service itself (not through the gateway)."""
    with grpc.insecure_channel(f"127.0.0.1:{mesh.ports.course}") as channel:
        try:
            course_pb2_grpc.CourseServiceStub(channel).ListCourses(
                course_pb2.ListCoursesRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()


def _identity_code(mesh: Mesh, token: str) -> grpc.StatusCode:
    with grpc.insecure_channel(f"127.0.0.1:{mesh.ports.identity}") as channel:
        try:
            identity_pb2_grpc.IdentityServiceStub(channel).GetMe(
                identity_pb2.GetMeRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as error:
            return error.code()


def test_an_access_token_is_refused_after_logout_and_after_a_password_change(
    mesh: Mesh, api: Api, school: SchoolWorld
) -> None:
    user, _ = create_account(school.admin, api, role="teacher", school_id=school.id, number="RV1", name="撤销老师")
    first = api.post("/auth/login", {"login": user["username"], "password": PASSWORD})
    second = api.post("/auth/login", {"login": user["username"], "password": PASSWORD})
    for tokens in (first, second):
        assert _gateway_status(mesh, tokens["access_token"]) == 200
        assert _service_code(mesh, tokens["access_token"]) == grpc.StatusCode.OK

    # Logout ends that session's access token (not only its refresh token), everywhere.
    api.as_user(first["access_token"]).post("/auth/logout", {"refresh_token": first["refresh_token"]})
    wait_until(lambda: _gateway_status(mesh, first["access_token"]) == 401, timeout=10)
    wait_until(lambda: _service_code(mesh, first["access_token"]) == grpc.StatusCode.UNAUTHENTICATED, timeout=10)
    # Each process follows the revocations on its own: the identity service too, within the same short wait.
    wait_until(lambda: _identity_code(mesh, first["access_token"]) == grpc.StatusCode.UNAUTHENTICATED, timeout=10)
    # The other session goes on.
    assert _gateway_status(mesh, second["access_token"]) == 200
    assert _service_code(mesh, second["access_token"]) == grpc.StatusCode.OK

    # A password change ends every session, the old token it was made with too; its new token works.
    changed = api.as_user(second["access_token"]).post(
        "/auth/password",
        {"old_password": PASSWORD, "new_password": "Newer-pass-2026", "refresh_token": second["refresh_token"]})
    wait_until(lambda: _gateway_status(mesh, second["access_token"]) == 401, timeout=10)
    wait_until(lambda: _service_code(mesh, second["access_token"]) == grpc.StatusCode.UNAUTHENTICATED, timeout=10)
    time.sleep(1.0)  # the event has been applied everywhere by now: the new session is not caught by it
    assert _gateway_status(mesh, changed["access_token"]) == 200
    assert _service_code(mesh, changed["access_token"]) == grpc.StatusCode.OK
    problem = httpx.get(f"{mesh.gateway_url}/api/v1/me",
                        headers={"Authorization": f"Bearer {second['access_token']}"}).json()
    assert "session has ended" in problem["detail"] and problem["reason"] == "TOKEN_REVOKED"

    # An admin's password reset ends the sessions as well.
    school.admin.post(f"/users/{user['id']}/password-reset")
    wait_until(lambda: _gateway_status(mesh, changed["access_token"]) == 401, timeout=10)
    wait_until(lambda: _service_code(mesh, changed["access_token"]) == grpc.StatusCode.UNAUTHENTICATED, timeout=10)


# ---- more gateway replicas: shared rate limits; 5xx closes the connection ---------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def extra_gateway(mesh: Mesh, **env: str) -> Iterator[str]:
    """One more gateway process on a free port against the same mesh (NATS and services)."""
    port = _free_port()
    name = f"gateway-{port}"
    log_path = mesh.data_dir / "logs" / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**mesh.env(), **mesh.processes_env.get("gateway", {}), "GATEWAY_PORT": str(port),
                 "METRICS_PORT": "0", **env})  # the mesh's gateway holds its metrics port
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{url}/healthz", timeout=2)
                break
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


LIMITS = {
    "GATEWAY_RATE_LIMIT_LOGIN": "7/minute",
    "GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT": "3/minute",
    "GATEWAY_RATE_LIMIT_TEACHER_REGISTRATION": "2/minute",
    "GATEWAY_RATE_LIMIT_SCHOOL_APPLICATION_ACCOUNT": "1/minute",
}


@pytest.fixture
def two_gateways(mesh: Mesh) -> Iterator[tuple[str, str]]:
    """Two more replicas with low limits; the second cannot reach the course service."""
    unreachable = f"127.0.0.1:{_free_port()}"
    with extra_gateway(mesh, **LIMITS) as first, extra_gateway(mesh, **LIMITS, COURSE_ADDR=unreachable) as second:
        yield first, second


def test_rate_limits_hold_across_gateway_replicas(two_gateways: tuple[str, str]) -> None:
    a, b = two_gateways
    account = f"nobody-{uuid.uuid4().hex[:8]}"

    def login(url: str, who: str) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/auth/login", json={"login": who, "password": "Wrong-pass-2026"})

    # Per account: 3 a minute, counted over both replicas together.
    assert [login(url, account).status_code for url in (a, b, a)] == [401, 401, 401]
    refused = login(b, account.upper())  # the same account, however it is spelled
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["content-type"] == "application/problem+json"
    assert "account" in refused.json()["detail"]
    # Per client address: 7 a minute, whatever the account (4 counted above).
    others = [login((a, b)[i % 2], f"other-{uuid.uuid4().hex[:8]}").status_code for i in range(4)]
    assert others == [401, 401, 401, 429]

    # Teacher registrations: per address, bad requests count too.
    assert [httpx.post(f"{url}/api/v1/registrations/teachers", json={}).status_code for url in (a, b, a)] == [
        400, 400, 429]
    # School applications: per account (the school applying).
    body = {"school_name": f"限流学院{new_code()}", "province_code": "41", "contact_name": "张三",
            "phone": "13912345678", "email": f"{account}@example.edu.cn", "reason": "申请加入平台"}
    assert httpx.post(f"{a}/api/v1/school-applications", json=body).status_code == 201
    assert httpx.post(f"{b}/api/v1/school-applications", json=body).status_code == 429


# Other numbers than LIMITS (and than the defaults): `limits` keys a counter by its limit too, so these counters
# start at zero whatever the other tests of the session counted from 127.0.0.1.
MORE_LIMITS = {
    "GATEWAY_RATE_LIMIT_PASSWORD_RESET": "5/minute",
    "GATEWAY_RATE_LIMIT_PASSWORD_RESET_ACCOUNT": "2/minute",
    "GATEWAY_RATE_LIMIT_TEACHER_REGISTRATION": "20/minute",
    "GATEWAY_RATE_LIMIT_TEACHER_REGISTRATION_ACCOUNT": "2/minute",
    "GATEWAY_RATE_LIMIT_SCHOOL_APPLICATION": "3/minute",
}


def _refused(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert f"for this {scope}" in response.json()["detail"]


def test_password_resets_registrations_and_school_applications_are_limited_per_address_and_per_account(
    mesh: Mesh,
) -> None:
    with extra_gateway(mesh, **MORE_LIMITS) as a, extra_gateway(mesh, **MORE_LIMITS) as b:
        def reset(url: str, email: str) -> httpx.Response:
            return httpx.post(f"{url}/api/v1/auth/password-reset", json={"email": email})

        # Password resets, per account (the e-mail address, however it is spelled): 2 a minute over both replicas.
        email = f"reset-{uuid.uuid4().hex[:8]}@example.edu.cn"
        assert [reset(url, email).status_code for url in (a, b)] == [202, 202]
        _refused(reset(a, email.upper()), "account")
        # Per client address: 5 a minute, whatever the address asked for (3 counted above).
        others = [reset((b, a)[i % 2], f"other-{uuid.uuid4().hex[:8]}@example.edu.cn") for i in range(3)]
        assert [r.status_code for r in others[:2]] == [202, 202]
        _refused(others[2], "address")

        # Teacher registrations, per account (the phone number): the third attempt with one phone is refused,
        # bad requests counted too; another phone from the same address still gets through to the service.
        phone = new_phone()
        attempts = [httpx.post(f"{url}/api/v1/registrations/teachers",
                               json={"phone": phone, "username": f"reg-{i}-{uuid.uuid4().hex[:6]}"})
                    for i, url in enumerate((a, b, a))]
        assert [r.status_code for r in attempts[:2]] == [400, 400]
        _refused(attempts[2], "account")
        other_phone = httpx.post(f"{b}/api/v1/registrations/teachers", json={"phone": new_phone()})
        assert other_phone.status_code == 400

        # School applications, per client address: 3 a minute, whichever school applies.
        def apply(url: str, valid: bool) -> httpx.Response:
            body = {"school_name": f"限流学院{new_code()}"}
            if valid:
                body.update(province_code="41", contact_name="李四", phone="13912345678",
                            email=f"apply-{uuid.uuid4().hex[:8]}@example.edu.cn", reason="申请加入平台")
            return httpx.post(f"{url}/api/v1/school-applications", json=body)

        assert [apply(url, valid).status_code for url, valid in ((a, True), (b, False), (a, False))] == [
            201, 400, 400]
        _refused(apply(b, True), "address")


def test_a_server_error_closes_the_connection(api: Api, school: SchoolWorld, two_gateways: tuple[str, str]) -> None:
    _, broken = two_gateways  # its course service is unreachable: 503
    token = school.admin.token
    with httpx.Client(base_url=broken, headers={"Authorization": f"Bearer {token}"}) as http:
        fine = http.get("/api/v1/me")
        assert fine.status_code == 200 and fine.headers.get("connection", "") != "close"
        failed = http.get("/api/v1/courses")
        assert failed.status_code == 503 and failed.headers["connection"] == "close"
        assert failed.json()["status"] == 503


# ---- 500s that were the client's fault -------------------------------------------------------------


def _forged_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def test_out_of_range_inputs_get_400_not_500(mesh: Mesh, api: Api, school: SchoolWorld, center: Api) -> None:
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="OR1", name="范老师")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "范围测试", "category": "专业课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    own = leader.post(f"/runs/{run['id']}/classes", {"name": "1班"})
    chapter = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})["nodes"][0]["id"]

    problem = expect_problem(400, lambda: leader.post(
        f"/classes/{own['id']}/releases", {"chapter_id": chapter, "release_at": "9999-12-31T23:59:59-14:00"}))
    assert "release_at" in problem["detail"]
    # The course service refuses such a time itself too.
    request = course_pb2.ReleaseChapterRequest(class_id=own["id"], chapter_id="x")
    request.release_at.seconds = 253402300799 + 50400
    with grpc.insecure_channel(f"127.0.0.1:{mesh.ports.course}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            course_pb2_grpc.CourseServiceStub(channel).ReleaseChapter(
                request, metadata=(("authorization", f"Bearer {leader.token}"),), timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Credits of 1e308 (their tenths overflowed), a NUL character (PostgreSQL cannot store it).
    expect_problem(400, lambda: leader.request("PATCH", f"/courses/{course['id']}",
                                               json={"online_credits": 1e308, "total_credits": 3}))
    expect_problem(400, lambda: leader.post("/courses", {"kind": "spoc_independent", "name": "空\x00字符",
                                                         "category": "专业课"}))
    expect_problem(400, lambda: leader.get("/courses", params={"query": "a\x00"}))

    # A term at the calendar's end (its eight-month bound fell in year 10000).
    assert center.post("/terms", {"code": "9999-autumn", "name": "9999秋", "starts_on": "9999-09-01",
                                  "ends_on": "9999-12-31"})["code"] == "9999-autumn"

    # A page token decoding to an offset of 10^20 is not one the service issued.
    forged = _forged_token(10**20)
    for who, path in ((leader, "/courses"), (school.admin, "/registry"), (school.admin, "/reviews"),
                      (school.admin, "/mooc-applications")):
        expect_problem(400, lambda who=who, path=path: who.get(path, params={"page_token": forged}))
    from tests.e2e.test_sharing import list_dates, new_term

    term = new_term(center)
    list_id = center.post("/sharing/lists", {"term_code": term, "title": "范围", **list_dates(term)})["id"]
    expect_problem(400, lambda: center.get(f"/sharing/lists/{list_id}/entries", params={"page_token": forged}))
    # The largest offset a real token can hold still answers (an empty page).
    assert leader.get("/courses", params={"page_token": _forged_token(2**31 - 1)})["items"] == []


# ---- reads and grants that reached past their scope --------------------------------------------------


def test_a_tutor_of_one_run_sees_nothing_of_the_courses_other_runs(
    api: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="TR1", name="甲老师")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "信号与系统", "category": "学科基础课"})
    first = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    second = leader.post(f"/courses/{course['id']}/runs", {"term_code": NEXT_TERM["code"]})
    leader.post(f"/runs/{first['id']}/classes", {"name": "一期1班"})
    tutor_name = f"辅导{uuid.uuid4().hex[:4]}"
    _, tutor = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="TR2",
                              name=tutor_name)
    tutor_id = leader.get("/teachers", params={"query": tutor_name})["items"][0]["user_id"]
    leader.post(f"/runs/{second['id']}/team", {"user_id": tutor_id, "permissions": ["manage_classes"]})

    assert tutor_name in [m["name"] for m in tutor.get(f"/runs/{second['id']}/team")["members"]]
    tutor.get(f"/runs/{second['id']}/classes")
    expect_problem(404, lambda: tutor.get(f"/runs/{first['id']}/team"))
    expect_problem(404, lambda: tutor.get(f"/runs/{first['id']}/classes"))
    expect_problem(404, lambda: tutor.post(f"/runs/{first['id']}/classes", {"name": "越界"}))
    expect_problem(404, lambda: tutor.get(f"/runs/{first['id']}"))
    expect_problem(404, lambda: tutor.get(f"/courses/{course['id']}/plan", params={"run_id": first["id"]}))
    assert [r["id"] for r in tutor.get(f"/courses/{course['id']}/runs")["items"]] == [second["id"]]
    # The leader and the school's admin see both runs.
    for who in (leader, school.admin):
        assert who.get(f"/runs/{first['id']}/classes")["total"] == 2  # the public class and 一期1班


def test_an_adoption_without_a_tutor_grants_the_adopted_run_only(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, mesh: Mesh
) -> None:
    from tests.e2e.test_bus_trust import resolve_students
    from tests.e2e.test_sharing import list_dates, mooc_run, new_term

    term = new_term(center)
    list_id = center.post("/sharing/lists", {"term_code": term, "title": "清单", **list_dates(term)})["id"]
    _, lead_b = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="GB1",
                               name="庚老师")
    adopted = mooc_run(center, other_school, lead_b, "庚老师", f"操作系统{uuid.uuid4().hex[:4]}", term)
    entry = other_school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": adopted["run"]["id"]})
    other_school.admin.post(f"/sharing/lists/{list_id}/submit")
    decide(center, "sharing_entry", entry["id"])
    wait_until(lambda: center.get(f"/sharing/entries/{entry['id']}")["state"] == "approved")
    center.post(f"/sharing/lists/{list_id}/publish")
    other_course = lead_b.post("/courses", {"kind": "spoc_independent", "name": "另一门课", "category": "专业课"})
    other_run = lead_b.post(f"/courses/{other_course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    create_account(school.admin, api, role="student", school_id=school.id, number="G001", name="辛同学")

    adoption = school.admin.post(f"/sharing/entries/{entry['id']}/adoptions", {"expected_students": 10})
    accepted = lead_b.post(f"/sharing/adoptions/{adoption['id']}/accept", {})
    assert accepted["state"] == "accepted" and accepted["class_id"]

    # On the adopted run the leader makes more classes for the school and fills them...
    more = lead_b.post(f"/runs/{adopted['run']['id']}/classes", {"name": "第二班", "school_id": school.id})
    added = wait_until(lambda: _try_add(lead_b, more["id"], ["G001"]))
    assert added["added"] == 1
    # ...on any other run of theirs, none.
    expect_problem(403, lambda: lead_b.post(f"/runs/{other_run['id']}/classes",
                                            {"name": "越界", "school_id": school.id}), reason="NOT_ADOPTED")
    # The identity service checks the run itself: asked directly, it lists the school's students for the
    # adopted run only.
    assert resolve_students(mesh, lead_b.token, school.id, "G001", adopted["run"]["id"]) == grpc.StatusCode.OK
    for run_id in (other_run["id"], ""):
        assert resolve_students(mesh, lead_b.token, school.id, "G001", run_id) == grpc.StatusCode.PERMISSION_DENIED


def _try_add(leader: Api, class_id: str, numbers: list[str]) -> dict | None:
    from tests.e2e.test_sharing import _try_add as attempt

    return attempt(leader, class_id, numbers)


def test_a_provinces_unpublished_lists_stay_in_the_province(
    api: Api, platform: Api, center: Api, school: SchoolWorld
) -> None:
    from tests.e2e.test_sharing import list_dates, new_term

    username = f"center41-{uuid.uuid4().hex[:6]}"
    created = platform.post("/users", {"role": "center_admin", "province_code": "41", "username": username,
                                       "name": "河南课程中心"})
    center41 = api.first_login(username, created["credentials"]["initial_password"], PASSWORD)
    code = new_code()
    henan = platform.post("/schools", {"code": code, "name": f"河南大学{code}", "province_code": "41"})
    _, admin41 = create_account(platform, api, role="school_admin", school_id=henan["id"],
                                username=f"{code.lower()}-admin", name="教务处")
    term = new_term(center)
    list_id = center.post("/sharing/lists", {"term_code": term, "title": "浙江清单", **list_dates(term)})["id"]

    def ids(who: Api) -> set[str]:
        return {x["id"] for x in who.get("/sharing/lists")["items"]}

    assert list_id in ids(center) and list_id in ids(school.admin)
    assert list_id not in ids(center41)
    assert list_id not in ids(admin41)
    expect_problem(404, lambda: center41.get(f"/sharing/lists/{list_id}/entries"))
    center.post(f"/sharing/lists/{list_id}/publish")
    assert list_id in ids(center41) and list_id in ids(admin41)


def test_percent_and_underscore_are_letters_in_searches(api: Api, center: Api, school: SchoolWorld) -> None:
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="PS1", name="壬老师")
    tag = uuid.uuid4().hex[:6]
    for name in (f"{tag}100%通过", f"{tag}1000通过", f"{tag}a_b", f"{tag}axb"):
        teacher.post("/courses", {"kind": "spoc_independent", "name": name, "category": "专业课"})

    def courses(query: str) -> list[str]:
        return sorted(c["course"]["name"] for c in teacher.get("/courses", params={"query": query})["items"])

    assert courses(f"{tag}100%") == [f"{tag}100%通过"]
    assert courses(f"{tag}a_b") == [f"{tag}a_b"]
    assert courses(f"{tag}") == sorted([f"{tag}100%通过", f"{tag}1000通过", f"{tag}a_b", f"{tag}axb"])
    teacher_id = teacher.get("/me")["id"]
    for name in (f"数据{tag}_结构", f"数据{tag}X结构", f"算法{tag}%"):
        school.admin.post("/registry", {"name": name, "leader_id": teacher_id})

    def registry(query: str) -> list[str]:
        return sorted(e["name"] for e in school.admin.get("/registry", params={"query": query})["items"])

    assert registry(f"{tag}_结") == [f"数据{tag}_结构"]
    assert registry(f"{tag}%") == [f"算法{tag}%"]
    assert registry("\\") == []
