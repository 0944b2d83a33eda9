"""Reminders of due work, sent to the inbox by a periodic sweep, each once per assignment: a day before the deadline
to each student of the run who has not handed it in, and once a peer-graded assignment's deadline has passed, its
reviews to each student who submitted (an exam's open questions announce their own: exam_peer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from servicekit.clock import utcnow
from servicekit.db import Database
from services.learning.adapters.assignment_tables import AssignmentRow, SubmissionRow
from services.learning.adapters.course import CoursePeer
from services.learning.domain import peer_review as rules
from services.learning.service_layer.inbox import Message, deliver

DUE_SOON = timedelta(days=1)        # "due tomorrow"
REVIEWS_WINDOW = timedelta(days=7)  # reviews are announced within a week of the deadline (a sweep that was down)


class AssignmentReminders:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock

    async def sweep(self) -> int:
        now = self.clock()
        due_soon = and_(AssignmentRow.due_reminded_at.is_(None), AssignmentRow.deadline > now,
                        AssignmentRow.deadline <= now + DUE_SOON,
                        or_(AssignmentRow.opens_at.is_(None), AssignmentRow.opens_at <= now))
        reviewing = and_(AssignmentRow.reviews_announced_at.is_(None), AssignmentRow.grading_mode == rules.PEER,
                         AssignmentRow.deadline <= now, AssignmentRow.deadline > now - REVIEWS_WINDOW)
        async with self.db.read() as session:
            assignments = list(await session.scalars(select(AssignmentRow).where(or_(due_soon, reviewing))))
        sent = 0
        for assignment in assignments:
            link = f"/student/runs/{assignment.run_id}/assignments/{assignment.id}"
            async with self.db.read() as session:
                submitters = set(await session.scalars(select(SubmissionRow.student_id).where(
                    SubmissionRow.assignment_id == assignment.id)))
            due = assignment.deadline > now
            if due:
                learners = await self.course.run_learners(assignment.run_id)
                messages = [Message(s.user_id, "assignment_due", f"assignment-due:{assignment.id}",
                                    f"作业即将截止：{assignment.title}", link=link, run_id=assignment.run_id)
                            for s in learners.students if s.user_id not in submitters]
            else:
                messages = [Message(student, "reviews_due", f"reviews-due:{assignment.id}",
                                    f"互评开始了：{assignment.title}", "请完成分配给你的同伴互评。", link=link,
                                    run_id=assignment.run_id) for student in submitters]
            async with self.db.transaction() as session:
                sent += await deliver(session, messages, now)
                row = await session.get(AssignmentRow, assignment.id, with_for_update=True)
                assert row is not None
                if due:
                    row.due_reminded_at = now
                else:
                    row.reviews_announced_at = now
        return sent
