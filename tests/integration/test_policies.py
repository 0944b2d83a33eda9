"""Credits under the policy in force, on a real database (SQLite and PostgreSQL) with hours of approved video
from a fake media service: Zhejiang's 240 minutes per credit in full, a school's Changsha policy, terms."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.errors import FailedPrecondition, PermissionDenied
from services.course.adapters.orm import Term
from services.course.domain.policy import CHANGSHA_SCHOOL_POLICY
from tests.integration.test_course_handlers import LEADER, SCHOOL, course_with_videos, world  # noqa: F401

ADMIN = Caller(user_id="admin", role="school_admin", school_id=SCHOOL, province_code="33", name="教务处")
CENTER = Caller(user_id="center", role="center_admin", school_id=None, province_code="33", name="中心")


async def credits(handlers, course_id: str, online: float, class_hours: float | None = None) -> None:  # type: ignore[no-untyped-def]
    await handlers.update_course(LEADER, course_pb2.UpdateCourseRequest(
        id=course_id, set_credits=True, online_credits=online, total_credits=3,
        set_class_hours=class_hours is not None, class_hours=class_hours or 0))


async def test_two_credits_need_480_approved_minutes_under_the_platform_defaults(world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    handlers, media, _, _ = world
    course_id = await course_with_videos(handlers, media, hours=7)  # 420 minutes
    await credits(handlers, course_id, 2)
    run, _ = await handlers.open_run(LEADER, course_id, "2026-autumn")
    with pytest.raises(FailedPrecondition, match="need 480 minutes of approved video and run 1 has 420 "
                                                 r"\(60.00 missing; minutes_per_credit 240 \(platform defaults v1\)"):
        await handlers.publish_run(LEADER, run.id, "2026-autumn")
    plan = await handlers.get_plan(LEADER, course_id, run.id)
    chapter = plan.nodes[0][0].id
    await handlers.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(  # one more hour, in the run's own plan
        course_id=course_id, run_id=run.id, parent_id=chapter, kind="unit", title="第八讲", resource_id=media.video()))
    await handlers.publish_run(LEADER, run.id, "2026-autumn")


async def test_a_school_on_seed_002_needs_120_minutes_and_16_class_hours_per_credit(world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    handlers, media, _, _ = world
    version = await handlers.policies.put_layer(ADMIN, "school", SCHOOL, dict(CHANGSHA_SCHOOL_POLICY),
                                                "2026-autumn", "seed 002")
    assert version.version == 1
    course_id = await course_with_videos(handlers, media, hours=4)  # 240 minutes: 2 credits' worth
    await credits(handlers, course_id, 2, class_hours=30)
    course, figures = await handlers.get_course(LEADER, course_id)
    assert (figures["missing_video_minutes"], figures["missing_class_hours"]) == (0, 2)
    assert figures["credit_policy"] == "school school-1 v1, from 2026-autumn"
    run, _ = await handlers.open_run(LEADER, course_id, "2026-autumn")
    with pytest.raises(FailedPrecondition, match="2 online credits need 32 class hours and run 1 has 30"):
        await handlers.publish_run(LEADER, run.id, "2026-autumn")
    await credits(handlers, course_id, 2, class_hours=32)
    second, _ = await handlers.open_run(LEADER, course_id, "2026-autumn")  # a re-run copies run 1: 30 hours
    with pytest.raises(FailedPrecondition, match="run 2 has 30"):
        await handlers.publish_run(LEADER, second.id, "2026-autumn")


async def test_policies_are_filed_only_from_a_term_that_is_not_over_by_the_right_admin(world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    handlers, _, clock, db = world
    async with db.transaction() as session:
        session.add(Term(province_code="33", code="2026-spring", name="2026春", starts_on=date(2026, 2, 20),
                         ends_on=date(2026, 7, 10)))
    with pytest.raises(FailedPrecondition, match="over"):
        await handlers.policies.put_layer(CENTER, "province", "33", {"minutes_per_credit": 200}, "2026-spring", "")
    with pytest.raises(PermissionDenied):
        await handlers.policies.put_layer(ADMIN, "province", "33", {"minutes_per_credit": 200}, "2026-autumn", "")
    with pytest.raises(PermissionDenied):
        await handlers.policies.put_layer(CENTER, "school", SCHOOL, {"minutes_per_credit": 200}, "2026-autumn", "")
    await handlers.policies.put_layer(CENTER, "province", "33", {"minutes_per_credit": 200}, "2026-autumn", "")
    # A term that begins later (the center moves the spring term's start) moves its versions with it.
    async with db.transaction() as session:
        session.add(Term(province_code="33", code="2027-spring", name="2027春", starts_on=date(2027, 2, 20),
                         ends_on=date(2027, 7, 10)))
    await handlers.policies.put_layer(ADMIN, "school", SCHOOL, {"minutes_per_credit": 100}, "2027-spring", "")
    now = await handlers.policies.effective(ADMIN, SCHOOL, "")
    assert now.term_code == "2026-autumn" and now.policy["minutes_per_credit"] == 200
    clock.now += timedelta(days=100)  # 2027-03-02: the spring term has begun
    assert (await handlers.policies.effective(ADMIN, SCHOOL, "")).policy["minutes_per_credit"] == 100
    await handlers.update_term(CENTER, "2027-spring", "", "2027-03-10", "")
    assert (await handlers.policies.effective(ADMIN, SCHOOL, "")).policy["minutes_per_credit"] == 200


async def test_class_hours_need_their_videos_of_a_class_hours_length_where_the_policy_counts_them(world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Seed 002: at least 4 videos of 3-15 minutes per class hour. Here a school asks 2 per class hour, one class
    hour per credit: a 60-minute lecture covers the minutes but not the videos, and a video used twice counts once."""
    handlers, media, _, _ = world
    await handlers.policies.put_layer(ADMIN, "school", SCHOOL, {
        "minutes_per_credit": 20, "min_class_hours_per_credit": 1, "videos_per_class_hour_min": 2,
        "video_per_class_hour_min_minutes": 3, "video_per_class_hour_max_minutes": 15}, "2026-autumn", "")
    course_id = await course_with_videos(handlers, media, hours=1)
    await credits(handlers, course_id, 1, class_hours=1)
    run, _ = await handlers.open_run(LEADER, course_id, "2026-autumn")
    chapter = (await handlers.get_plan(LEADER, course_id, run.id)).nodes[0][0].id
    short = media.video(minutes=10)
    for title in ("第二讲", "第二讲（重放）"):
        await handlers.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(
            course_id=course_id, run_id=run.id, parent_id=chapter, kind="unit", title=title, resource_id=short))
    with pytest.raises(FailedPrecondition, match="1 class hours need 2 approved videos of 3-15 minutes and run 1 has 1 "
                                                 r"\(videos_per_class_hour_min 2 \(school school-1 v1"):
        await handlers.publish_run(LEADER, run.id, "2026-autumn")
    await handlers.add_plan_node(LEADER, course_pb2.AddPlanNodeRequest(
        course_id=course_id, run_id=run.id, parent_id=chapter, kind="unit", title="第三讲",
        resource_id=media.video(minutes=15)))
    await handlers.publish_run(LEADER, run.id, "2026-autumn")
