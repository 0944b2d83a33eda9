"""An exam's open answers graded by peers (同伴互评) the way a peer-graded assignment is: once the exam has closed and
every attempt is in, each open question becomes a peer-graded assignment of the run (its rubric the question's
points, its submissions the students' answers, its deadline the exam's close), reviewed from the same queue with
the same rules; each answer's grade, as it stands, goes back to the exam attempt (escalated ones once the team has
settled them with a reason on the assignment)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from services.learning.adapters.assessment_tables import AttemptRow, QuizQuestionRow, QuizRow
from services.learning.adapters.assignment_tables import AssignmentRow, SubmissionRow
from services.learning.adapters.course import CoursePeer
from services.learning.domain import assessments as exam_rules
from services.learning.domain import peer_review as rules
from services.learning.service_layer.assessments import answers_of, apply_grade, items_of, marks_of
from services.learning.service_layer.assignments import standings
from services.learning.service_layer.inbox import Message, deliver

GRADED_BY_PEERS = "同伴互评"
GRADES_FOLLOWED = timedelta(days=120)  # a term and then some: peer grades settle (and the team settles) within it


class ExamPeerGrading:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock

    async def sweep(self) -> int:
        return await self.open_reviews() + await self.carry_grades()

    async def open_reviews(self) -> int:
        """Closed peer-graded exams without their review assignments yet, every attempt submitted: opened."""
        now = self.clock()
        async with self.db.read() as session:
            quizzes = list(await session.scalars(select(QuizRow).where(
                QuizRow.open_answers_by == exam_rules.BY_PEERS, QuizRow.closes_at <= now,
                ~exists().where(AssignmentRow.quiz_id == QuizRow.id),
                ~exists().where(AttemptRow.quiz_id == QuizRow.id, AttemptRow.submitted_at.is_(None)))))
        for quiz in quizzes:
            learners = await self.course.run_learners(quiz.run_id)
            run = learners.context.run
            policy = rules.PeerPolicy.from_policy(await self.course.policy(run.school_id, run.term_code))
            students = {s.user_id: s for s in learners.students}
            async with self.db.transaction() as session:
                if await session.scalar(select(AssignmentRow.id).where(AssignmentRow.quiz_id == quiz.id)):
                    continue  # another replica opened them
                items = [i for i in await session.scalars(select(QuizQuestionRow).where(
                    QuizQuestionRow.quiz_id == quiz.id).order_by(QuizQuestionRow.position))
                    if i.kind == exam_rules.OPEN]
                attempts = list(await session.scalars(select(AttemptRow).where(
                    AttemptRow.quiz_id == quiz.id, AttemptRow.submitted_at.is_not(None))))
                for item in items:
                    assignment = AssignmentRow(
                        id=new_id(), run_id=quiz.run_id, title=f"{quiz.title} · 第{item.position}题（同伴互评）",
                        brief=item.stem, grading_mode=rules.PEER, pool=rules.RUN,
                        rubric_json=json.dumps([{"title": "得分", "points": item.points, "description": ""}],
                                               ensure_ascii=False),
                        total_points=item.points, opens_at=quiz.opens_at, deadline=quiz.closes_at, late_until=None,
                        weight=0.0, peer_json=json.dumps(asdict(policy)), quiz_id=quiz.id,
                        question_id=item.question_id, reviews_announced_at=now, created_by=quiz.created_by,
                        created_at=now)
                    session.add(assignment)
                    for attempt in attempts:
                        student = students.get(attempt.student_id)
                        session.add(SubmissionRow(
                            id=new_id(), assignment_id=assignment.id, run_id=quiz.run_id,
                            student_id=attempt.student_id, student_name=student.name if student else "",
                            student_number=student.number if student else "",
                            class_id=student.class_id if student else "",
                            text=answers_of(attempt).get(item.question_id, exam_rules.AnswerGiven()).text,
                            submitted_at=attempt.submitted_at or now))
                    await deliver(session, [
                        Message(a.student_id, "reviews_due", f"reviews-due:{assignment.id}",
                                f"互评开始了：{assignment.title}", "请完成分配给你的同伴互评。",
                                link=f"/student/runs/{quiz.run_id}/assignments/{assignment.id}", run_id=quiz.run_id)
                        for a in attempts], now)
        return len(quizzes)

    async def carry_grades(self) -> int:
        """Each peer-graded answer's grade as it stands now, written into its exam attempt where it changed."""
        now = self.clock()
        async with self.db.read() as session:
            assignments = list(await session.scalars(select(AssignmentRow).where(
                AssignmentRow.quiz_id != "", AssignmentRow.deadline <= now,
                AssignmentRow.deadline > now - GRADES_FOLLOWED)))
        changed = 0
        for assignment in assignments:
            async with self.db.transaction() as session:
                submissions = list(await session.scalars(select(SubmissionRow).where(
                    SubmissionRow.assignment_id == assignment.id)))
                grades = await standings(session, assignment, submissions, now)
                items = list(await session.scalars(select(QuizQuestionRow).where(
                    QuizQuestionRow.quiz_id == assignment.quiz_id)))
                attempts = {a.student_id: a for a in await session.scalars(select(AttemptRow).where(
                    AttemptRow.quiz_id == assignment.quiz_id, AttemptRow.submitted_at.is_not(None)))}
                for submission in submissions:
                    standing, attempt = grades[submission.id], attempts.get(submission.student_id)
                    if attempt is None or standing.state != rules.GRADED or standing.points is None:
                        continue
                    marks = marks_of(attempt)
                    mark = exam_rules.ItemMark(round(standing.points, 2), assignment.total_points, False,
                                               submission.team_comment or GRADED_BY_PEERS)
                    if marks.get(assignment.question_id) == mark:
                        continue
                    marks[assignment.question_id] = mark
                    apply_grade(attempt, exam_rules.grade_attempt(items_of(items), answers_of(attempt), marks))
                    changed += 1
        return changed
