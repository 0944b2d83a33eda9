"""Course notices: the run's team posts one to the whole run or to one of its classes; a student reads the run-wide
ones and their own class's, each marked read once opened (and in their inbox, mailed where they have an address);
the staff see every notice with how many have read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import NotFound, PermissionDenied
from servicekit.text import check_text
from services.learning.adapters.assignment_tables import NoticeReadRow, NoticeRow
from services.learning.adapters.course import CoursePeer
from services.learning.domain.peer_review import MAX_TITLE
from services.learning.service_layer.assessments import Access
from services.learning.service_layer.inbox import Message, deliver

MAX_BODY = 20_000


@dataclass
class NoticeView:
    row: NoticeRow
    read: bool = False
    readers: int = 0


class NoticeHandlers:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock

    async def post(self, caller: Caller, run_id: str, class_id: str, title: str, body: str) -> NoticeView:
        access = Access(caller, await self.course.learner_context(run_id))
        if not access.team:  # any member: the teaching assistants post notices too (seed 002 四(二))
            raise PermissionDenied("only the run's team posts notices", reason="TEAM_ONLY")
        if class_id and class_id not in {c.id for c in await self.course.classes(run_id)}:
            raise NotFound("that class is not one of this run's")
        row = NoticeRow(id=new_id(), run_id=run_id, class_id=class_id,
                        title=check_text(title, "the title", MAX_TITLE),
                        body=check_text(body, "the notice", MAX_BODY), posted_by=caller.user_id,
                        poster_name=caller.name, posted_at=self.clock())
        learners = await self.course.run_learners(run_id)
        readers = [s.user_id for s in learners.students if not class_id or s.class_id == class_id]
        async with self.db.transaction() as session:
            session.add(row)
            await deliver(session, [Message(user, "notice", f"notice:{row.id}", f"课程通知：{row.title}",
                                            row.body[:500], link=f"/student/runs/{run_id}", run_id=run_id)
                                    for user in readers], row.posted_at)
        return NoticeView(row)

    async def list(self, caller: Caller, run_id: str) -> tuple[list[NoticeView], int]:
        """(notices newest first, the caller's unread count)."""
        access = Access(caller, await self.course.learner_context(run_id))
        statement = select(NoticeRow).where(NoticeRow.run_id == run_id)
        if access.student:
            statement = statement.where(or_(NoticeRow.class_id == "", NoticeRow.class_id == access.context.class_id))
        else:
            access.require_staff("read a run's notices")
        async with self.db.read() as session:
            rows = list(await session.scalars(statement.order_by(NoticeRow.posted_at.desc(), NoticeRow.id)))
            ids = [r.id for r in rows]
            if access.student:
                read = set(await session.scalars(select(NoticeReadRow.notice_id).where(
                    NoticeReadRow.user_id == caller.user_id, NoticeReadRow.notice_id.in_(ids)))) if ids else set()
                views = [NoticeView(r, r.id in read) for r in rows]
                return views, sum(1 for v in views if not v.read)
            counts = dict((await session.execute(
                select(NoticeReadRow.notice_id, func.count()).where(NoticeReadRow.notice_id.in_(ids))
                .group_by(NoticeReadRow.notice_id))).all()) if ids else {}
        return [NoticeView(r, readers=counts.get(r.id, 0)) for r in rows], 0

    async def mark_read(self, caller: Caller, notice_id: str) -> NoticeView:
        async with self.db.read() as session:
            row = await session.get(NoticeRow, notice_id)
        if row is None:
            raise NotFound("no such notice")
        access = Access(caller, await self.course.learner_context(row.run_id))
        access.require_student("mark notices read")
        if row.class_id and row.class_id != access.context.class_id:
            raise NotFound("no such notice")  # another class's notice is not the student's to see
        async with self.db.transaction() as session:
            if await session.get(NoticeReadRow, (notice_id, caller.user_id)) is None:
                session.add(NoticeReadRow(notice_id=notice_id, user_id=caller.user_id, read_at=self.clock()))
        return NoticeView(row, read=True)
