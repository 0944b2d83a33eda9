"""Seed 002 五(二) end to end: a student takes at most N online courses at once (the school's policy), on every
route that enrols; and the course service's learner reads for the learning service, with who may make them."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from contracts.course.v1 import course_pb2, course_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.clients import bearer
from servicekit.service_keys import service_metadata
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_courses import leader  # noqa: F401  (fixture)
from tests.e2e.test_policies import layer_put
from tests.support import wait_until


def running_run(leader: Api, admin: Api, name: str) -> dict:  # noqa: F811
    """A SPOC of the leader's school running this term, with one chapter; its course name made unique."""
    name = f"{name}{uuid.uuid4().hex[:4]}"
    course = leader.post("/courses", {"kind": "spoc_independent", "name": name, "category": "专业课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(admin, "course_run", run["id"])
    return wait_until(lambda: (r := leader.get(f"/runs/{run['id']}"))["state"] == "running" and r)


def limit_courses(school: SchoolWorld, most: int) -> None:
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {"max_concurrent_online_courses": most})


def test_a_student_at_the_limit_cannot_join_another_course_and_is_told_which(
    api: Api, center: Api, school: SchoolWorld, leader: Api  # noqa: F811
) -> None:
    a, b, c = (running_run(leader, school.admin, name) for name in ("数据结构", "操作系统", "编译原理"))
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="J1", name="甲")
    # No limit under the platform defaults; the school sets 2.
    limit_courses(school, 2)
    student.post(f"/runs/{a['id']}/join")
    student.post(f"/runs/{b['id']}/join")
    refused = expect_problem(409, lambda: student.post(f"/runs/{c['id']}/join"), "TOO_MANY_COURSES")
    assert a["course_name"] in refused["detail"] and b["course_name"] in refused["detail"]
    assert f"max_concurrent_online_courses 2, school {school.id} v1" in refused["detail"]
    assert student.post(f"/runs/{a['id']}/join")["already_joined"] is True  # the same course is no new one
    # A course taken down no longer counts.
    school.admin.post(f"/runs/{a['id']}/take-down", {"reason": "整改"})
    assert student.post(f"/runs/{c['id']}/join")["already_joined"] is False


def test_rosters_add_everyone_else_and_report_the_students_at_their_limit(
    api: Api, center: Api, school: SchoolWorld, leader: Api  # noqa: F811
) -> None:
    a, b, c = (running_run(leader, school.admin, name) for name in ("线性代数", "概率论", "离散数学"))
    limit_courses(school, 2)
    ca, cb, cc = (leader.post(f"/runs/{r['id']}/classes", {"name": "1班"}) for r in (a, b, c))
    # By import: two students in two courses already are not added to a third, and are named with those courses.
    rows = "学号,姓名,手机号\nX1,赵一,13911110001\nX2,赵二,13911110002\n".encode()
    for course_class in (ca, cb):
        assert leader.post(f"/classes/{course_class['id']}/imports", files={"file": ("s.csv", rows)})["added"] == 2
    third = leader.post(f"/classes/{cc['id']}/imports", files={"file": ("s.csv", rows)})
    assert (third["imported"], third["added"]) == (True, 0)
    assert [(o["number"], o["name"], o["courses"]) for o in third["over_limit"]] == [
        ("X1", "赵一", [a["course_name"], b["course_name"]]), ("X2", "赵二", [a["course_name"], b["course_name"]])]
    # By number: everyone else is added.
    _, joiner = create_account(school.admin, api, role="student", school_id=school.id, number="S1", name="钱一")
    create_account(school.admin, api, role="student", school_id=school.id, number="S2", name="钱二")
    joiner.post(f"/runs/{a['id']}/join")
    joiner.post(f"/runs/{b['id']}/join")
    added = leader.post(f"/classes/{cc['id']}/students", {"student_numbers": ["S1", "S2"]})
    assert added["added"] == 1 and [o["number"] for o in added["over_limit"]] == ["S1"]
    # Another class of a course the student takes is not another course.
    ca2 = leader.post(f"/runs/{a['id']}/classes", {"name": "2班"})
    again = leader.post(f"/classes/{ca2['id']}/students", {"student_numbers": ["X1", "S1"]})
    assert (again["added"], again["over_limit"]) == (2, [])
    roster = leader.get(f"/classes/{cc['id']}/students")
    assert roster["class"]["id"] == cc["id"] and roster["class"]["students"] == 1
    assert [(s["number"], s["name"], s["school_id"]) for s in roster["students"]] == [("S2", "钱二", school.id)]


async def _call(mesh: Mesh, method: str, request, metadata: tuple = ()):  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.course}") as channel:
        return await getattr(course_pb2_grpc.CourseServiceStub(channel), method)(request, metadata=metadata,
                                                                                 timeout=10)


def call(mesh: Mesh, method: str, request, who: Api | None = None):  # type: ignore[no-untyped-def]
    return asyncio.run(_call(mesh, method, request, bearer(who.token) if who else ()))


def refused(code: grpc.StatusCode, mesh: Mesh, method: str, request, who: Api | None = None) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        call(mesh, method, request, who)
    assert raised.value.code() == code, raised.value.details()
    return raised.value.details() or ""


def test_learner_reads_are_for_the_student_the_team_and_the_schools_admins_only(
    mesh: Mesh, api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api  # noqa: F811
) -> None:
    run, other_run = running_run(leader, school.admin, "大学物理"), running_run(leader, school.admin, "大学化学")
    own, other = (leader.post(f"/runs/{r['id']}/classes", {"name": "1班"}) for r in (run, other_run))
    learner, student = create_account(school.admin, api, role="student", school_id=school.id, number="SL1",
                                      name="孙一")
    _, elsewhere = create_account(school.admin, api, role="student", school_id=school.id, number="SL2", name="孙二")
    leader.post(f"/classes/{own['id']}/students", {"student_numbers": ["SL1"]})
    leader.post(f"/classes/{other['id']}/students", {"student_numbers": ["SL2"]})
    chapter = leader.get(f"/courses/{run['course_id']}/plan", params={"run_id": run["id"]})["nodes"][0]["id"]
    leader.post(f"/classes/{own['id']}/releases", {"chapter_id": chapter})
    _, stranger = create_account(school.admin, api, role="teacher", school_id=school.id, number="T2", name="周老师")
    tutor_name = f"辅导{uuid.uuid4().hex[:4]}"
    _, tutor = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="TT1",
                              name=tutor_name)
    tutor_id = leader.get("/teachers", params={"query": tutor_name})["items"][0]["user_id"]
    leader.post(f"/runs/{run['id']}/team", {"user_id": tutor_id, "permissions": ["grade"]})

    context = course_pb2.GetLearnerContextRequest(run_id=run["id"])
    mine = call(mesh, "GetLearnerContext", context, student)
    assert (mine.relation, mine.class_id, mine.student_id, mine.student_number) == (
        "student", own["id"], learner["id"], "SL1")
    assert [(n.node.id, n.released, n.chapter_id) for n in mine.nodes] == [(chapter, True, chapter)]
    assert mine.term_starts_on == CURRENT_TERM["starts_on"] and mine.run.id == run["id"]
    team = call(mesh, "GetLearnerContext", context, tutor)
    assert (team.relation, list(team.permissions), team.class_id) == ("team", ["grade"], "")
    assert call(mesh, "GetLearnerContext", context, school.admin).relation == "school_admin"
    assert "not enrolled" in refused(grpc.StatusCode.PERMISSION_DENIED, mesh, "GetLearnerContext", context, elsewhere)
    for outsider in (stranger, other_school.admin):
        refused(grpc.StatusCode.PERMISSION_DENIED, mesh, "GetLearnerContext", context, outsider)
    refused(grpc.StatusCode.UNAUTHENTICATED, mesh, "GetLearnerContext", context)
    refused(grpc.StatusCode.NOT_FOUND, mesh, "GetLearnerContext",
            course_pb2.GetLearnerContextRequest(run_id=str(uuid.uuid4())), leader)

    # A named student: the team and the admins; the student must be in the run.
    theirs = course_pb2.GetLearnerContextRequest(run_id=run["id"], student_id=learner["id"])
    graded = call(mesh, "GetLearnerContext", theirs, tutor)
    assert (graded.relation, graded.student_id, graded.class_id, graded.student_school_id) == (
        "team", learner["id"], own["id"], school.id)
    assert call(mesh, "GetLearnerContext", theirs, school.admin).student_name == "孙一"
    for outsider in (stranger, other_school.admin, elsewhere):
        refused(grpc.StatusCode.PERMISSION_DENIED, mesh, "GetLearnerContext", theirs, outsider)
    refused(grpc.StatusCode.NOT_FOUND, mesh, "GetLearnerContext",
            course_pb2.GetLearnerContextRequest(run_id=run["id"], student_id=str(uuid.uuid4())), leader)

    # Enrolments: the student themself and their school's admins.
    enrolled = call(mesh, "ListEnrolments", course_pb2.ListEnrolmentsRequest(), student).enrolments
    assert [(e.run.id, e.class_id, e.term_ends_on) for e in enrolled] == [(run["id"], own["id"],
                                                                           CURRENT_TERM["ends_on"])]
    theirs_enrolled = course_pb2.ListEnrolmentsRequest(student_id=learner["id"])
    assert len(call(mesh, "ListEnrolments", theirs_enrolled, school.admin).enrolments) == 1
    refused(grpc.StatusCode.PERMISSION_DENIED, mesh, "ListEnrolments", course_pb2.ListEnrolmentsRequest(), leader)
    for outsider in (other_school.admin, elsewhere, leader):
        refused(grpc.StatusCode.PERMISSION_DENIED, mesh, "ListEnrolments", theirs_enrolled, outsider)
    refused(grpc.StatusCode.UNAUTHENTICATED, mesh, "ListEnrolments", course_pb2.ListEnrolmentsRequest())

    # The roster, through the gateway: the team and the admins.
    for reader in (leader, tutor, school.admin):
        roster = reader.get(f"/classes/{own['id']}/students")
        assert [(s["user_id"], s["number"]) for s in roster["students"]] == [(learner["id"], "SL1")]
    for outsider in (stranger, other_school.admin, student, elsewhere):
        expect_problem(403, lambda outsider=outsider: outsider.get(f"/classes/{own['id']}/students"))
    expect_problem(401, lambda: api.get(f"/classes/{own['id']}/students"))
    expect_problem(404, lambda: leader.get(f"/classes/{uuid.uuid4()}/students"))
    assert call(mesh, "GetClassRoster", course_pb2.GetClassRosterRequest(class_id=own["id"]),
                leader).students[0].user_id == learner["id"]


def test_the_learning_service_reads_schools_policies_with_its_own_key_and_nothing_else(
    mesh: Mesh, school: SchoolWorld
) -> None:
    key = (mesh.data_dir / "service-keys" / "learning.key").read_text().strip()
    metadata = service_metadata("learning", key)
    reply = asyncio.run(_call(mesh, "GetEffectivePolicy", course_pb2.GetEffectivePolicyRequest(school_id=school.id),
                              metadata))
    numbers = {n.name: n.value for n in reply.numbers}
    assert (numbers["pass_mark"], numbers["video_complete_slack_seconds"]) == (60, 5)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        asyncio.run(_call(mesh, "ListEnrolments", course_pb2.ListEnrolmentsRequest(), metadata))
    assert raised.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    with pytest.raises(grpc.aio.AioRpcError):
        asyncio.run(_call(mesh, "GetEffectivePolicy", course_pb2.GetEffectivePolicyRequest(school_id=school.id),
                          service_metadata("learning", "x" * 64)))
