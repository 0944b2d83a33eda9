"""A course's completion acceptance facts (验收数据): read from the course service's own tables in a few queries, the
rules applied in domain/acceptance.py with the numbers of the school's policy in force today."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select

from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import NotFound, Unavailable
from services.course.adapters.orm import ClassStudent, Course, CourseClass, Material, PlanNode, Run
from services.course.domain import acceptance as rules
from services.course.service_layer.courses import CourseHandlers
from services.course.service_layer.policies import Resolved

log = logging.getLogger(__name__)


class ActivityCounts(Protocol):
    """The learning service's counts of quizzes, tests, exams, assignments and topics of runs, and the students'
    evaluation of them (adapters/learning.py)."""

    async def activity_counts(self, run_ids: Sequence[str]) -> dict[str, int]: ...

    async def run_evaluations(self, run_ids: Sequence[str]) -> list[rules.RunEvaluation]: ...


class VideoFactsSource(Protocol):
    """The media service's height, subtitles and uploader of videos, by asset id (adapters/media.py)."""

    async def video_facts(self, asset_ids: Sequence[str]) -> dict[str, rules.VideoFacts]: ...


@dataclass(frozen=True)
class AcceptanceView:
    course: Course
    facts: rules.Facts
    policy: Resolved  # the school's policy the facts were judged by: today's (the term in force, if any)


class AcceptanceHandlers:
    def __init__(self, db: Database, courses: CourseHandlers, learning: ActivityCounts | None = None,
                 media: VideoFactsSource | None = None) -> None:
        self.db = db
        self.courses = courses
        self.learning = learning
        self.media = media

    async def acceptance_facts(self, caller: Caller, course_id: str) -> AcceptanceView:
        async with self.db.read() as session:
            course = await session.get(Course, course_id)
            if course is None:
                raise NotFound("no such course")
            rules.check_may_read(caller.role, caller.user_id, caller.school_id, course.school_id, course.leader_id)
            # The acceptance is now: the school's policy in force today, as the course's credit figures read it.
            resolved = await self.courses.policies.resolve(session, course.school_id, course.province_code)
            owner_course, owner_run = await self.courses._plan_owner(session, course)
            units = [rules.Unit(row.resource_id, row.resource_kind, row.resource_minutes, row.resource_usable)
                     for row in (await session.execute(
                         select(PlanNode.resource_id, PlanNode.resource_kind, PlanNode.resource_minutes,
                                PlanNode.resource_usable).where(
                             PlanNode.course_id == owner_course, PlanNode.run_id == owner_run,
                             PlanNode.kind == "unit"))).all()]
            materials = list(await session.scalars(select(Material.asset_id).where(
                Material.course_id == course.id, Material.run_id == "",
                Material.kind.in_(rules.MATERIAL_KINDS))))
            run_ids = list(await session.scalars(select(Run.id).where(Run.course_id == course.id)))
            terms = list(await session.scalars(
                select(Run.term_code).where(Run.course_id == course.id, Run.state.in_(rules.RAN_STATES))
                .order_by(Run.number)))
            students = await session.scalar(
                select(func.count(func.distinct(ClassStudent.user_id)))
                .join(CourseClass, CourseClass.id == ClassStudent.class_id)
                .join(Run, Run.id == CourseClass.run_id).where(Run.course_id == course.id)) or 0
        activities, note = await self._activities(run_ids)  # asked with no transaction held
        media, media_note = await self._video_facts(list(rules.online_videos(units)))
        evaluations, evaluations_note = await self._evaluations(run_ids)
        return AcceptanceView(course, rules.acceptance_facts(units, materials, course.class_hours, terms, students,
                                                             activities, note, policy=resolved.policy,
                                                             leader_id=course.leader_id, media=media,
                                                             media_note=media_note, evaluations=evaluations,
                                                             evaluations_note=evaluations_note), resolved)

    async def _activities(self, run_ids: list[str]) -> tuple[dict[str, int] | None, str]:
        """The learning service's counts over every run of the course (what a draft run holds counts as built);
        when it does not answer, the facts say so rather than fail."""
        if self.learning is None:
            return None, rules.LEARNING_UNAVAILABLE
        if not run_ids:
            return dict.fromkeys(rules.LEARNING_KINDS, 0), ""
        try:
            return await self.learning.activity_counts(run_ids), ""
        except Unavailable as error:
            log.warning("acceptance facts without the learning service's counts: %s", error)
            return None, f"{rules.LEARNING_UNAVAILABLE} ({error})"

    async def _video_facts(self, video_ids: list[str]) -> tuple[dict[str, rules.VideoFacts] | None, str]:
        """The media service's height, subtitles and uploader of the plan's online videos; when it does not answer,
        those norms say so rather than the request fail."""
        if self.media is None:
            return None, rules.MEDIA_UNAVAILABLE
        if not video_ids:
            return {}, ""
        try:
            return await self.media.video_facts(video_ids), ""
        except Unavailable as error:
            log.warning("acceptance facts without the media service's video facts: %s", error)
            return None, f"{rules.MEDIA_UNAVAILABLE} ({error})"

    async def _evaluations(self, run_ids: list[str]) -> tuple[list[rules.RunEvaluation] | None, str]:
        """The students' evaluation of the course's runs (annex 2, 课程效果); when the learning service does not
        answer, the facts say so rather than fail."""
        if self.learning is None:
            return None, rules.EVALUATION_UNAVAILABLE
        if not run_ids:
            return [], ""
        try:
            return await self.learning.run_evaluations(run_ids), ""
        except Unavailable as error:
            log.warning("acceptance facts without the students' evaluation: %s", error)
            return None, f"{rules.EVALUATION_UNAVAILABLE} ({error})"
