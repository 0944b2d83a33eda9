"""The course service's side of learning, on a real database (SQLite and PostgreSQL): the node map a run's
opening announces, a learner's context on a run, and the limit of courses at once holding under concurrency."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from contracts.course.v1 import course_pb2
from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, NotFound, PermissionDenied
from servicekit.migrations import script_location
from services.course.adapters.orm import PolicyVersion, Run, Term, outbox
from services.course.service_layer.courses import CourseHandlers
from services.course.service_layer.learners import LearnerHandlers
from services.course.service_layer.teams import IdentityClient, TeamHandlers

SCHOOL, OTHER = "school-1", "school-2"
LEADER = Caller(user_id="leader", role="teacher", school_id=SCHOOL, province_code="33", name="王老师")
ADMIN = Caller(user_id="admin", role="school_admin", school_id=SCHOOL, province_code="33", name="教务处")
OTHER_ADMIN = Caller(user_id="admin-2", role="school_admin", school_id=OTHER, province_code="33", name="外校教务处")
TERM = "2026-autumn"


def student(n: int, school: str | None = SCHOOL) -> Caller:
    return Caller(user_id=f"student-{n}", role="student", school_id=school, province_code="33" if school else None,
                  name=f"学生{n}")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeIdentity:
    """Every number is a student of the class's school whose account id is 'student-<number>'."""

    async def resolve(self, school_id: str, numbers: list[str], run_id: str) -> identity_pb2.ResolveStudentsResponse:
        return identity_pb2.ResolveStudentsResponse(students=[
            identity_pb2.ResolvedStudent(number=n, user_id=f"student-{n}", name=f"学生{n}") for n in numbers])


@pytest.fixture
async def world(database_url):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("course"))
    async with db.transaction() as session:
        session.add(Term(province_code="33", code=TERM, name="2026秋", starts_on=date(2026, 9, 1),
                         ends_on=date(2027, 1, 20)))
    clock = Clock()
    courses = CourseHandlers(db, None, clock=clock)  # type: ignore[arg-type]  (no media: no units here)
    teams = TeamHandlers(db, courses, IdentityClient(None, FakeIdentity().resolve, None),  # type: ignore[arg-type]
                         adopted=lambda run_id, school_id: asyncio.sleep(0, True), clock=clock)
    yield courses, teams, LearnerHandlers(db, courses, clock), clock, db
    await db.dispose()


async def approved_run(courses: CourseHandlers, db: Database, name: str = "程序设计",
                       chapters: tuple[str, ...] = ("第一章",)) -> tuple[str, str, str]:
    """(course id, run id, public class id) of a SPOC run the school approved."""
    course = await courses.create_course(LEADER, course_pb2.CreateCourseRequest(
        kind="spoc_independent", name=name, category="专业课"))
    for title in chapters:
        plan = await courses.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(
            course_id=course.id, kind="chapter", title=title))
    first = plan.nodes[0][0].id
    await courses.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(
        course_id=course.id, parent_id=first, kind="section", title="1.1"))
    run, public = await courses.open_run(LEADER, course.id, TERM)
    async with db.transaction() as session:
        (await session.get(Run, run.id)).state = "published"
    return course.id, run.id, public


async def school_limit(db: Database, limit: int, school: str = SCHOOL) -> None:
    async with db.transaction() as session:
        session.add(PolicyVersion(level="school", scope_id=school, province_code="33", version=1,
                                  values_json=json.dumps({"max_concurrent_online_courses": limit}),
                                  effective_from_term=TERM, created_by="admin"))


async def test_opening_a_run_announces_the_map_from_each_copied_node_to_its_copy(world) -> None:  # type: ignore[no-untyped-def]
    courses, _, _, _, db = world
    course_id, run_id, public = await approved_run(courses, db, chapters=("第一章", "第二章"))
    parent = [n.id for n, _ in (await courses.get_plan(LEADER, course_id, "")).nodes]
    copied = [n.id for n, _ in (await courses.get_plan(LEADER, course_id, run_id)).nodes]
    rerun, _ = await courses.open_run(LEADER, course_id, TERM)
    rerun_nodes = [n.id for n, _ in (await courses.get_plan(LEADER, course_id, rerun.id)).nodes]
    async with db.transaction() as session:
        rows = (await session.execute(select(outbox.c.subject, outbox.c.payload).where(
            outbox.c.subject == "course.run.opened").order_by(outbox.c.position))).all()
    events = [course_pb2.RunOpened.FromString(row.payload) for row in rows]
    assert len(events) == 2
    first, second = events
    assert (first.run.id, first.run.public_class_id, first.source_course_id, first.source_run_id) == (
        run_id, public, course_id, "")
    assert [(c.from_id, c.to_id) for c in first.nodes] == list(zip(parent, copied, strict=True))
    assert (second.run.id, second.run.number, second.source_run_id, second.run.copied_from_run_id) == (
        rerun.id, 2, run_id, run_id)
    assert [(c.from_id, c.to_id) for c in second.nodes] == list(zip(copied, rerun_nodes, strict=True))


async def test_a_learner_sees_the_runs_plan_with_their_classs_releases(world) -> None:  # type: ignore[no-untyped-def]
    courses, teams, learners, clock, db = world
    course_id, run_id, public = await approved_run(courses, db, chapters=("第一章", "第二章"))
    nodes = (await courses.get_plan(LEADER, course_id, run_id)).nodes
    first, second = (n.id for n, _ in nodes if n.kind == "chapter")
    own = await teams.create_class(LEADER, run_id, "1班")
    assert (await teams.add_students(LEADER, own.id, ["1"])).added == 1
    await teams.release_chapter(LEADER, own.id, first, None)
    later = clock.now + timedelta(days=7)
    await teams.release_chapter(LEADER, own.id, second, later)
    await teams.join_run(student(2), run_id, "")  # the public class: nothing released to it

    context = await learners.learner_context(student(1), run_id, "")
    assert (context.relation, context.course_class.id, context.student.number) == ("student", own.id, "1")
    assert (context.student_school_id, context.province_code) == (SCHOOL, "33")
    assert [n.node.id for n in context.nodes] == [n.id for n, _ in nodes]  # depth first, as GetPlan
    by_title = {n.node.title: n for n in context.nodes}
    assert by_title["第一章"].released and by_title["1.1"].released and by_title["1.1"].chapter_id == first
    assert not by_title["第二章"].released and by_title["第二章"].release_at == later
    clock.now = later
    assert all(n.released for n in (await learners.learner_context(student(1), run_id, "")).nodes)
    public_view = await learners.learner_context(student(2), run_id, "")
    assert public_view.course_class.id == public and not any(n.released for n in public_view.nodes)

    team = await learners.learner_context(LEADER, run_id, "")
    assert (team.relation, team.course_class, set(team.permissions)) == ("team", None, {
        "edit_content", "manage_classes", "grade", "view_analytics"})
    assert all(n.released for n in team.nodes)
    as_admin = await learners.learner_context(ADMIN, run_id, "student-1")
    assert (as_admin.relation, as_admin.student.user_id, as_admin.course_class.id) == ("school_admin", "student-1",
                                                                                       own.id)
    with pytest.raises(PermissionDenied, match="not enrolled"):
        await learners.learner_context(student(3), run_id, "")
    with pytest.raises(PermissionDenied):
        await learners.learner_context(student(2), run_id, "student-1")
    with pytest.raises(PermissionDenied):
        await learners.learner_context(OTHER_ADMIN, run_id, "student-1")
    with pytest.raises(NotFound):
        await learners.learner_context(LEADER, run_id, "student-404")
    with pytest.raises(NotFound):
        await learners.learner_context(LEADER, "no-such-run", "")

    mine = await learners.enrolments(student(1), "")
    assert [(e.facts.run.id, e.course_class.id) for e in mine] == [(run_id, own.id)]
    assert [e.facts.run.id for e in await learners.enrolments(ADMIN, "student-1")] == [run_id]
    with pytest.raises(PermissionDenied):
        await learners.enrolments(OTHER_ADMIN, "student-1")
    with pytest.raises(PermissionDenied):
        await learners.enrolments(LEADER, "")
    roster = await learners.roster(ADMIN, own.id)
    assert [(row.user_id, school) for row, school in roster.students] == [("student-1", SCHOOL)]
    with pytest.raises(PermissionDenied):
        await learners.roster(OTHER_ADMIN, own.id)


async def test_the_limit_of_courses_at_once_holds_when_a_student_joins_many_at_the_same_time(world) -> None:  # type: ignore[no-untyped-def]
    courses, teams, _, _, db = world
    await school_limit(db, 2)
    runs = [(await approved_run(courses, db, name=f"课程{i}"))[1] for i in range(5)]
    outcomes = await asyncio.gather(*(teams.join_run(student(1), run_id, "") for run_id in runs),
                                    return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, FailedPrecondition)]
    assert len(refused) == 3 and all(o.reason == "TOO_MANY_COURSES" for o in refused)
    assert len([o for o in outcomes if isinstance(o, tuple)]) == 2
    # A roster filled at the same time as joins: still two at most, the others reported by number.
    others = [(await approved_run(courses, db, name=f"班课{i}"))[1] for i in range(3)]
    classes = [await teams.create_class(LEADER, run_id, "1班") for run_id in others]
    joins = [teams.join_run(student(7), run_id, "") for run_id in runs[:2]]
    adds = [teams.add_students(LEADER, c.id, ["7"]) for c in classes]
    results = await asyncio.gather(*joins, *adds, return_exceptions=True)
    taken = sum(1 for r in results[:2] if isinstance(r, tuple)) + sum(r.added for r in results[2:])
    over = [o for r in results[2:] for o in r.over_limit]
    assert taken == 2 and len(over) == 3 - sum(r.added for r in results[2:])
    assert all(o.number == "7" and len(o.courses) == 2 for o in over)
