"""Course rules that need time to pass or hours of approved video, on a real database with fakes for
the media service and the clock: SPOC→MOOC approval, asynchronous SPOCs of ended runs, media changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.course.v1 import course_pb2
from contracts.media.v1 import media_pb2
from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import FailedPrecondition
from servicekit.migrations import script_location
from services.course.adapters.orm import Term
from services.course.service_layer.courses import CourseHandlers

SCHOOL = "school-1"
LEADER = Caller(user_id="leader", role="teacher", school_id=SCHOOL, province_code="33", name="王老师")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeMedia:
    """Approved 60-minute videos of the school, as the media service would describe them."""

    def __init__(self) -> None:
        self.assets: dict[str, media_pb2.Referenceability] = {}

    def video(self, minutes: float = 60) -> str:
        asset_id = str(uuid.uuid4())
        self.assets[asset_id] = media_pb2.Referenceability(
            asset_id=asset_id, referenceable=True, kind="course_video", school_id=SCHOOL,
            duration_seconds=minutes * 60)
        return asset_id

    async def __call__(self, asset_id: str) -> media_pb2.Referenceability:
        return self.assets[asset_id]


@pytest.fixture
async def world(database_url):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("course"))
    async with db.transaction() as session:
        session.add(Term(province_code="33", code="2026-autumn", name="2026秋", starts_on=datetime(2026, 9, 1).date(),
                         ends_on=datetime(2027, 1, 20).date()))
    media, clock = FakeMedia(), Clock()
    yield CourseHandlers(db, media, clock=clock), media, clock, db
    await db.dispose()


async def course_with_videos(handlers: CourseHandlers, media: FakeMedia, hours: int) -> str:
    course = await handlers.create_course(LEADER, course_pb2.CreateCourseRequest(
        kind="spoc_independent", name="程序设计", category="专业课"))
    plan = await handlers.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(
        course_id=course.id, kind="chapter", title="第一章"))
    chapter = plan.nodes[0][0].id
    for i in range(hours):
        await handlers.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(
            course_id=course.id, parent_id=chapter, kind="unit", title=f"视频{i}", resource_id=media.video()))
    return course.id


def decided(kind: str, subject_id: str, decision: str = "approved") -> review_pb2.ReviewDecided:
    return review_pb2.ReviewDecided(kind=kind, subject_id=subject_id, decision=decision, decided_by="center-1")


async def test_an_approved_spoc_application_makes_the_course_a_mooc_with_a_registry_entry(world) -> None:  # type: ignore[no-untyped-def]
    handlers, media, _, db = world
    course_id = await course_with_videos(handlers, media, hours=4)  # 240 minutes
    with pytest.raises(FailedPrecondition, match="run"):
        await handlers.apply_for_mooc(LEADER, course_id)  # no run yet
    await handlers.open_run(LEADER, course_id, "2026-autumn")
    application = await handlers.apply_for_mooc(LEADER, course_id)
    assert (application.approved_video_minutes, application.run_count) == (240, 1)
    async with db.transaction() as session:
        await handlers.apply_decision(session, decided("mooc_application", application.id))
    course, _ = await handlers.get_course(LEADER, course_id)
    assert course.kind == "mooc" and course.registry_entry_id
    from services.course.adapters.orm import RegistryEntry

    async with db.transaction() as session:
        entry = await session.get(RegistryEntry, course.registry_entry_id)
    assert (entry.name, entry.leader_id, entry.leader_name, entry.status) == (
        "程序设计", "leader", "王老师", "approved")


async def test_an_asynchronous_spoc_copies_an_ended_mooc_run_and_is_its_own(world) -> None:  # type: ignore[no-untyped-def]
    handlers, media, clock, db = world
    source = await course_with_videos(handlers, media, hours=1)
    async with db.transaction() as session:  # make it a MOOC run, published in its term
        from services.course.adapters.orm import Course

        (await session.get(Course, source)).kind = "mooc"
    run, _ = await handlers.open_run(LEADER, source, "2026-autumn")
    await handlers.publish_run(LEADER, run.id, "2026-autumn")
    async with db.transaction() as session:
        await handlers.apply_decision(session, decided("course_run", run.id))
    request = course_pb2.CreateCourseRequest(kind="spoc_asynchronous", name="程序设计(异步)", category="专业课",
                                             source_run_id=run.id)
    with pytest.raises(FailedPrecondition, match="ended"):
        await handlers.create_course(LEADER, request)  # still running
    clock.now += timedelta(days=80)  # the term is over
    copy = await handlers.create_course(LEADER, request)
    plan = await handlers.get_plan(LEADER, copy.id, "")
    assert [n.title for n, _ in plan.nodes] == ["第一章", "视频0"] and plan.total_minutes == 60
    await handlers.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(course_id=copy.id, kind="chapter",
                                                                       title="第二章"))
    assert len((await handlers.get_plan(LEADER, source, "")).nodes) == 2  # the source is untouched


async def test_a_video_the_school_withdraws_stops_counting(world) -> None:  # type: ignore[no-untyped-def]
    handlers, media, _, db = world
    course_id = await course_with_videos(handlers, media, hours=2)
    asset_id = next(iter(media.assets))
    async with db.transaction() as session:
        await handlers.asset_changed(session, media_pb2.ReferenceabilityChanged(
            referenceability=media_pb2.Referenceability(asset_id=asset_id, referenceable=False)))
    course, figures = await handlers.get_course(LEADER, course_id)
    assert figures["approved_video_minutes"] == 60


async def test_the_sweep_ends_approved_runs_once_their_term_is_over_and_says_so(world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from services.course.adapters.orm import Run, outbox

    handlers, media, clock, db = world
    course_id = await course_with_videos(handlers, media, hours=1)
    approved, _ = await handlers.open_run(LEADER, course_id, "2026-autumn")
    await handlers.publish_run(LEADER, approved.id, "2026-autumn")
    async with db.transaction() as session:
        await handlers.apply_decision(session, decided("course_run", approved.id))
    draft, _ = await handlers.open_run(LEADER, course_id, "2026-autumn")  # never approved: it does not "end"
    assert await handlers.end_runs() == 0  # the term is not over
    clock.now = datetime(2027, 1, 20, 23, 0, tzinfo=UTC)
    assert await handlers.end_runs() == 0  # its last day
    clock.now = datetime(2027, 1, 21, 0, 1, tzinfo=UTC)
    assert await handlers.end_runs() == 1
    assert await handlers.end_runs() == 0  # once
    async with db.transaction() as session:
        assert (await session.get(Run, approved.id)).state == "ended"
        assert (await session.get(Run, draft.id)).state == "draft"
        ended = [course_pb2.RunChanged.FromString(row.payload) for row in (await session.execute(
            select(outbox).where(outbox.c.subject == "course.run.ended"))).all()]
    assert [(e.run.id, e.run.state) for e in ended] == [(approved.id, "ended")]
