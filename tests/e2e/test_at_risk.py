"""At-risk learners (学习预警) end to end through the gateway, with the learning service's clock moved forward: the
daily sweep flags the students who fall behind with the reasons (quiet, behind the class's releases, missed graded
items, a pace that misses full course hours before the exam), leaves the diligent one alone, reminds a flagged
student at most once a week, and a teacher records the follow-up (回访); and who may do what."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from contracts.course.v1 import course_pb2, course_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.clients import bearer
from servicekit.service_keys import service_metadata
from tests.e2e.conftest import SchoolWorld, create_account
from tests.e2e.learning_world import LearningWorld, make_learning_world, watch
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until

RUBRIC = [{"title": "内容", "points": 10}]
ALL_RULES = ["inactive", "behind_pace", "missed_items", "cannot_finish"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("at-risk-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    return make_learning_world(api, school, clips, students=3)  # `center`: the term calendar is in place


def day_after(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def swept(reader: Api, run_id: str, days: int) -> dict:
    """The run's list once the sweep of the day `days` ahead has run."""
    return wait_until(lambda: (found := reader.get(f"/learning/runs/{run_id}/at-risk"))["swept_on"] == day_after(days)
                      and found, timeout=30)


def reminders(student: Api, run_id: str) -> list[str]:
    """The days on which the student was reminded about this run."""
    items = student.get("/inbox", params={"page_size": 100})["items"]
    return sorted(i["created_at"][:10] for i in items if i["kind"] == "at_risk" and i["run_id"] == run_id)


def test_the_daily_sweep_flags_who_falls_behind_reminds_weekly_and_teachers_follow_up(
    api: Api, world: LearningWorld, other_school: SchoolWorld, time_travel: Callable[..., None]
) -> None:
    run = world.run_id
    leader, admin = world.leader, world.school.admin
    diligent, idle, partial = world.students
    diligent_id, idle_id, partial_id = world.student_ids
    # Two graded assignments due within the hour: the diligent student hands in both, the partial one one.
    deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assignments = [leader.post(f"/learning/runs/{run}/assignments", {
        "title": f"作业{n}", "brief": "写一段话", "grading_mode": "team", "rubric": RUBRIC, "deadline": deadline})
        for n in (1, 2)]
    for student, handed in ((diligent, assignments), (partial, assignments[:1])):
        for assignment in handed:
            student.post(f"/learning/assignments/{assignment['id']}/submission", data={"text": "我的作业"})

    # Fifteen days on, the diligent student watches chapter 1 (everything released to the class).
    time_travel(days=15)
    swept(leader, run, 15)
    for unit in world.units[:2]:
        assert watch(diligent, run, unit)["unit_completed"]
    assert day_after(15) in reminders(idle, run)

    # The next day: the idle student meets all four rules, the partial one all but missed items; the diligent one
    # none (active yesterday, caught up with the releases, at a pace that finishes before the term's end).
    time_travel(days=16)
    listed = swept(leader, run, 16)
    flagged = {s["student_id"]: s for s in listed["students"]}
    assert set(flagged) == {idle_id, partial_id}, listed
    assert [r["rule"] for r in flagged[idle_id]["reasons"]] == ALL_RULES
    assert [r["rule"] for r in flagged[partial_id]["reasons"]] == ["inactive", "behind_pace", "cannot_finish"]
    idle_flag = flagged[idle_id]
    assert idle_flag["number"] == world.numbers[1] and idle_flag["class_id"] == world.class_id
    assert idle_flag["flagged_on"] == day_after(16) and idle_flag["completion"] == 0
    reasons = {r["rule"]: r for r in idle_flag["reasons"]}
    assert reasons["inactive"]["value"] >= 16 and reasons["inactive"]["limit"] == 7
    assert reasons["missed_items"]["value"] == 2 and reasons["behind_pace"]["value"] > 20
    assert "policy" in reasons["behind_pace"]["detail"]
    # Reminded at most once in seven days: the day-15 reminder stands, none today; re-sweeping changes nothing.
    assert day_after(16) not in reminders(idle, run) and day_after(15) in reminders(idle, run)
    assert idle_flag["reminded_at"][:10] == day_after(15)
    assert day_after(16) not in reminders(diligent, run)
    time.sleep(2)  # the sweep runs every second: the day's flags stay as they are
    assert leader.get(f"/learning/runs/{run}/at-risk") == listed
    # The run's school's admins read the list too, one class at a time if they like.
    assert {s["student_id"] for s in admin.get(f"/learning/runs/{run}/at-risk",
                                               params={"class_id": world.class_id})["students"]} == set(flagged)

    # The leader follows up (回访); the history shows it with the flags.
    today = day_after(16)
    body = {"contacted_on": today, "channel": "phone", "notes": "学生生病住院，约定下周补看视频",
            "outcome": "plan_agreed"}
    follow_up = leader.post(f"/learning/runs/{run}/at-risk/{idle_id}/follow-ups", body)
    assert follow_up["teacher_id"] == world.leader_id and follow_up["contacted_on"] == today
    history = leader.get(f"/learning/runs/{run}/at-risk/{idle_id}")
    assert [f["id"] for f in history["follow_ups"]] == [follow_up["id"]]
    assert history["flags"][0]["flagged_on"] == today and history["name"] == "学生1"
    assert admin.get(f"/learning/runs/{run}/at-risk/{idle_id}")["follow_ups"][0]["notes"] == body["notes"]
    again = {s["student_id"]: s for s in leader.get(f"/learning/runs/{run}/at-risk")["students"]}
    assert again[idle_id]["follow_ups"] == 1 and again[partial_id]["follow_ups"] == 0
    # Bad input changes nothing: a date in the future, an unknown channel or outcome, empty notes.
    tomorrow = day_after(17)
    for bad, reason in (({"contacted_on": tomorrow}, "BAD_FOLLOW_UP"), ({"channel": "pigeon"}, "BAD_FOLLOW_UP"),
                        ({"outcome": "fine"}, "BAD_FOLLOW_UP"), ({"notes": " "}, "BAD_FOLLOW_UP"),
                        ({"contacted_on": "yesterday"}, "BAD_FOLLOW_UP")):
        expect_problem(400, lambda bad=bad: leader.post(f"/learning/runs/{run}/at-risk/{idle_id}/follow-ups",
                                                        {**body, **bad}), reason)
    assert len(leader.get(f"/learning/runs/{run}/at-risk/{idle_id}")["follow_ups"]) == 1

    # A week after the last reminder the idle student is reminded again.
    time_travel(days=22)
    swept(leader, run, 22)
    wait_until(lambda: day_after(22) in reminders(idle, run))
    assert reminders(idle, run).count(day_after(16)) == 0


def test_the_wrong_role_school_class_run_or_no_token_is_refused(
    api: Api, world: LearningWorld, other_school: SchoolWorld
) -> None:
    run, idle_id = world.run_id, world.student_ids[1]
    leader, student = world.leader, world.students[0]
    outsider_teacher = create_account(world.school.admin, api, role="teacher", school_id=world.school.id,
                                      number=f"X{run[:6]}", name="别的老师")
    tutor_user, tutor = create_account(world.school.admin, api, role="teacher", school_id=world.school.id,
                                       number=f"Y{run[:6]}", name="助教老师")
    leader.post(f"/runs/{run}/team", {"user_id": tutor_user["id"], "permissions": ["manage_classes"]})
    stranger_user, _ = create_account(other_school.admin, api, role="student", school_id=other_school.id,
                                      number=f"Z{run[:6]}", name="外校学生")
    list_url, history_url = f"/learning/runs/{run}/at-risk", f"/learning/runs/{run}/at-risk/{idle_id}"
    follow_url = f"{history_url}/follow-ups"
    body = {"contacted_on": datetime.now(UTC).date().isoformat(), "channel": "message", "notes": "提醒按时学习",
            "outcome": "reached"}
    # No token.
    for call in (lambda: api.get(list_url), lambda: api.get(history_url), lambda: api.post(follow_url, body)):
        expect_problem(401, call)
    # A student (even of the run), a teacher not on the team, another school's admin.
    for outsider in (student, outsider_teacher[1], other_school.admin):
        for call in (lambda o=outsider: o.get(list_url), lambda o=outsider: o.get(history_url),
                     lambda o=outsider: o.post(follow_url, body)):
            expect_problem(403, call)
    # A team teacher reads the list but follows up only the students of a class they teach.
    assert tutor.get(list_url)["run_id"] == run
    expect_problem(403, lambda: tutor.post(follow_url, body), "NOT_YOUR_CLASS")
    # The run's school's admin reads, but a follow-up is a teacher's.
    expect_problem(403, lambda: world.school.admin.post(follow_url, body), "TEAM_ONLY")
    # A student of no class of this run.
    expect_problem(404, lambda: leader.post(f"/learning/runs/{run}/at-risk/{stranger_user['id']}/follow-ups", body))
    expect_problem(404, lambda: leader.get(f"/learning/runs/{run}/at-risk/{stranger_user['id']}"))
    # An unknown run.
    expect_problem(404, lambda: leader.get("/learning/runs/00000000-0000-0000-0000-000000000000/at-risk"))
    assert leader.get(history_url)["follow_ups"] == []
    assert leader.post(follow_url, body)["outcome"] == "reached"


async def _learners_read(mesh: Mesh, run_id: str, metadata: tuple, method: str):  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.course}") as channel:
        stub = course_pb2_grpc.CourseServiceStub(channel)
        if method == "ListRunningRuns":
            return await stub.ListRunningRuns(course_pb2.ListRunningRunsRequest(), metadata=metadata, timeout=10)
        return await stub.GetRunLearners(course_pb2.GetRunLearnersRequest(run_id=run_id), metadata=metadata,
                                         timeout=10)


def test_only_the_learning_services_key_lists_runs_learners(mesh: Mesh, world: LearningWorld) -> None:
    """The sweep has no user behind it: the course service opens these two reads to the learning service's key and
    to nobody else (not a user of the run, not another service's key)."""
    key = (mesh.data_dir / "service-keys" / "learning.key").read_text().strip()
    running = asyncio.run(_learners_read(mesh, "", service_metadata("learning", key), "ListRunningRuns"))
    assert world.run_id in {r.id for r in running.runs}
    learners = asyncio.run(_learners_read(mesh, world.run_id, service_metadata("learning", key), "GetRunLearners"))
    assert {s.user_id for s in learners.students} == set(world.student_ids)
    assert [c.id for c in learners.classes if not c.public] == [world.class_id]
    media_key = (mesh.data_dir / "service-keys" / "media.key").read_text().strip()
    for method in ("ListRunningRuns", "GetRunLearners"):
        for metadata, code in ((service_metadata("learning", "0" * 64), grpc.StatusCode.UNAUTHENTICATED),
                               (service_metadata("media", media_key), grpc.StatusCode.UNAUTHENTICATED),
                               ((), grpc.StatusCode.UNAUTHENTICATED),
                               (bearer(world.leader.token), grpc.StatusCode.PERMISSION_DENIED)):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                asyncio.run(_learners_read(mesh, world.run_id, metadata, method))
            assert error.value.code() == code, (method, error.value.details())
