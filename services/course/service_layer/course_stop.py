"""Stopping a course after its student evaluation and lifting the stop (seed 002 四(七)); the leader's standing for
course-building applications (issue 13 asks `standing` before filing one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, NotFound, PermissionDenied
from services.course.adapters.orm import Course
from services.course.domain import course_stop as rules


@dataclass(frozen=True)
class LeaderStanding:
    user_id: str
    may_apply: bool
    stopped_courses: list[Course]


class CourseStopHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def stop(self, caller: Caller, course_id: str, reason: str) -> None:
        async with self.db.transaction() as session:
            course = await self._own(session, caller, course_id)
            if course.stopped_at is not None:
                raise FailedPrecondition("this course is stopped already", reason="COURSE_ALREADY_STOPPED")
            course.stop_reason = rules.check_stop_reason(reason)
            course.stopped_at, course.stopped_by = self.clock(), caller.user_id
            if course.title:  # a titled course that stops running normally loses its title (seed 004 四(二)4)
                course.title, course.title_revoked_reason = "", f"停止开课：{course.stop_reason}"

    async def lift(self, caller: Caller, course_id: str) -> None:
        async with self.db.transaction() as session:
            course = await self._own(session, caller, course_id)
            if course.stopped_at is None:
                raise FailedPrecondition("this course is not stopped", reason="COURSE_NOT_STOPPED")
            course.stopped_at, course.stop_reason, course.stopped_by = None, "", ""

    async def standing(self, caller: Caller, user_id: str = "") -> LeaderStanding:
        """Whether a leader may file new course-building applications: themselves, or a school admin asking of
        their school's leaders (another school's admin learns nothing)."""
        user_id = user_id or caller.user_id
        if user_id != caller.user_id and caller.role != "school_admin":
            raise PermissionDenied("only school admins ask about another teacher's standing")
        async with self.db.read() as session:
            statement = select(Course).where(Course.leader_id == user_id, Course.stopped_at.is_not(None))
            if user_id != caller.user_id:
                statement = statement.where(Course.school_id == caller.school_id)
            stopped = list(await session.scalars(statement.order_by(Course.stopped_at)))
        return LeaderStanding(user_id, rules.leader_may_apply(c.id for c in stopped), stopped)

    @staticmethod
    async def _own(session, caller: Caller, course_id: str) -> Course:  # type: ignore[no-untyped-def]
        course = await session.get(Course, course_id)
        if course is None or (caller.role == "school_admin" and caller.school_id != course.school_id):
            raise NotFound("no such course")
        caller.require_school_admin_of(course.school_id)
        return course
