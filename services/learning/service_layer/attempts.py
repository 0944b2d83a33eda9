"""Attempts: a student starts a quiz (the exam only at 100% course hours), saves answers as they go, submits
(objective questions graded at once); the team grades open answers; an attempt past its server deadline is
submitted with what was saved (by a background sweep, and whenever it is read)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound
from services.learning.adapters.assessment_tables import AttemptRow, ExtraTimeRow, QuizQuestionRow, QuizRow
from services.learning.domain import assessments as rules
from services.learning.service_layer.assessments import (
    GRADE,
    Access,
    answers_of,
    answers_to_json,
    apply_grade,
    items_of,
    marks_of,
)
from services.learning.service_layer.progress import ProgressHandlers, unit_nodes
from services.learning.service_layer.quizzes import QuizHandlers, refuse_unreleased_quiz

SWEEP_SECONDS_ENV = "LEARNING_EXAM_SWEEP_SECONDS"
DEFAULT_SWEEP_SECONDS = 15.0


@dataclass(frozen=True)
class AttemptView:
    attempt: AttemptRow
    quiz: QuizRow
    results_visible: bool
    now: datetime


@dataclass(frozen=True)
class Pending:
    attempt: AttemptRow
    item: QuizQuestionRow
    text: str


class AttemptHandlers:
    def __init__(self, db: Database, quizzes: QuizHandlers, progress: ProgressHandlers,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.quizzes = quizzes
        self.progress = progress
        self.clock = clock

    @staticmethod
    async def _items(session: AsyncSession, quiz_id: str) -> list[QuizQuestionRow]:
        return list(await session.scalars(select(QuizQuestionRow).where(QuizQuestionRow.quiz_id == quiz_id)
                                          .order_by(QuizQuestionRow.position)))

    def _view(self, attempt: AttemptRow, quiz: QuizRow, staff: bool) -> AttemptView:
        now = self.clock()
        visible = staff or rules.answers_visible(quiz.show_answers, attempt.submitted_at is not None, now,
                                                 quiz.closes_at)
        return AttemptView(attempt, quiz, visible, now)

    # ---- starting -------------------------------------------------------------------------------

    async def start(self, caller: Caller, quiz_id: str) -> AttemptView:
        quiz, access = await self.quizzes.quiz_with_access(caller, quiz_id)
        access.require_student("take quizzes and exams")
        refuse_unreleased_quiz(access, quiz)
        if quiz.mode == rules.OFFLINE:
            raise FailedPrecondition("this exam is taken offline; its marks are imported by the team",
                                     reason="OFFLINE_EXAM")
        now = self.clock()
        state = rules.quiz_state(now, quiz.opens_at, quiz.closes_at)
        if state == "upcoming":
            raise FailedPrecondition(f"it opens at {quiz.opens_at:%Y-%m-%d %H:%M} UTC", reason="QUIZ_NOT_OPEN")
        await self.expire(quiz_id=quiz_id, student_id=caller.user_id)
        async with self.db.read() as session:
            attempts = list(await session.scalars(select(AttemptRow).where(
                AttemptRow.quiz_id == quiz_id, AttemptRow.student_id == caller.user_id)))
            extra = await session.get(ExtraTimeRow, (quiz_id, caller.user_id))
        ongoing = next((a for a in attempts if a.submitted_at is None), None)
        if ongoing is not None:  # starting again resumes (a reload, a second tab)
            return self._view(ongoing, quiz, False)
        if state == "closed":
            raise FailedPrecondition(f"it closed at {quiz.closes_at:%Y-%m-%d %H:%M} UTC", reason="QUIZ_CLOSED")
        if len(attempts) >= quiz.attempts_allowed:
            raise FailedPrecondition(f"no attempts left ({quiz.attempts_allowed} allowed)",
                                     reason="NO_ATTEMPTS_LEFT")
        deadline = quiz.closes_at
        if quiz.kind == rules.EXAM:
            await self._course_hours_gate(caller, access)
            deadline = rules.exam_deadline(now, quiz.duration_minutes, extra.extra_minutes if extra else 0.0,
                                           quiz.closes_at)
        async with self.db.transaction() as session:
            attempt = AttemptRow(id=new_id(), quiz_id=quiz_id, run_id=quiz.run_id, student_id=caller.user_id,
                                 number=len(attempts) + 1, started_at=now, deadline_at=deadline,
                                 answers_json="{}", results_json="{}", points=0.0,
                                 max_points=quiz.total_points, pending_count=0)
            session.add(attempt)
        return self._view(attempt, quiz, False)

    async def _course_hours_gate(self, caller: Caller, access: Access) -> None:
        """Seed 002 五(三): no exam before 100% of the course hours; the refusal says how far and what remains."""
        done, total = await self.progress.completion_of(caller.user_id, access.context)
        completed = await self.progress.completed_units(caller.user_id, access.context.run.id)
        remaining = [n.node.title for unit_id, n in unit_nodes(access.context).items()
                     if unit_id not in completed or completed[unit_id].completed_at is None]
        refusal = rules.course_hours_refusal(done, total, remaining)
        if refusal:
            raise FailedPrecondition(refusal, reason="COURSE_HOURS_INCOMPLETE")

    # ---- answering ------------------------------------------------------------------------------

    async def save(self, caller: Caller, attempt_id: str, answers: dict[str, rules.AnswerGiven],
                   submit: bool = False) -> AttemptView:
        """Autosave (and, with `submit`, hand in). Past the deadline the attempt is submitted with what was saved
        before it: a save is then refused, a submit answers with the submitted attempt."""
        late = False
        async with self.db.transaction() as session:
            attempt = await session.get(AttemptRow, attempt_id, with_for_update=True)
            if attempt is None or attempt.student_id != caller.user_id:
                raise NotFound("no such attempt")
            quiz = await self.quizzes.quiz(session, attempt.quiz_id)
            if attempt.submitted_at is not None:
                raise FailedPrecondition("this attempt is submitted already", reason="ALREADY_SUBMITTED")
            items = await self._items(session, quiz.id)
            now = self.clock()
            if attempt.deadline_at is not None and now >= attempt.deadline_at:
                self._submit(attempt, items, attempt.deadline_at, automatic=True)
                late = True
            else:
                by_id = {item.question_id: item for item in items_of(items)}
                for question_id, given in answers.items():
                    if question_id not in by_id:
                        raise InvalidArgument(f"{question_id} is not a question of this quiz", reason="BAD_ANSWER")
                    rules.check_answer(by_id[question_id].content, given)
                attempt.answers_json = answers_to_json({**answers_of(attempt), **answers})
                attempt.saved_at = now
                if submit:
                    self._submit(attempt, items, now, automatic=False)
        if late and not submit:
            raise FailedPrecondition("time is up: the attempt was submitted automatically with the answers saved "
                                     "before the deadline", reason="DEADLINE_PASSED")
        return self._view(attempt, quiz, False)

    @staticmethod
    def _submit(attempt: AttemptRow, items: list[QuizQuestionRow], at: datetime, automatic: bool) -> None:
        apply_grade(attempt, rules.grade_attempt(items_of(items), answers_of(attempt), marks_of(attempt)))
        attempt.submitted_at, attempt.auto_submitted = at, automatic

    async def get(self, caller: Caller, attempt_id: str) -> AttemptView:
        async with self.db.read() as session:
            attempt = await session.get(AttemptRow, attempt_id)
            if attempt is None:
                raise NotFound("no such attempt")
            quiz = await self.quizzes.quiz(session, attempt.quiz_id)
        staff = attempt.student_id != caller.user_id
        if staff:
            access = await self.quizzes.access(caller, quiz.run_id)
            if access.student:  # a classmate's attempt is not theirs to know of
                raise NotFound("no such attempt")
            access.require_staff("read other students' attempts")
        if attempt.submitted_at is None and attempt.deadline_at is not None and self.clock() >= attempt.deadline_at:
            await self.expire(quiz_id=quiz.id, student_id=attempt.student_id)
            async with self.db.read() as session:
                attempt = await session.get(AttemptRow, attempt_id) or attempt
        return self._view(attempt, quiz, staff)

    # ---- the team grades open answers -------------------------------------------------------------

    async def pending(self, caller: Caller, quiz_id: str) -> list[Pending]:
        quiz, access = await self.quizzes.quiz_with_access(caller, quiz_id)
        access.require_team(GRADE, "grade open answers")
        if quiz.open_answers_by == rules.BY_PEERS:
            return []  # graded by peers (exam_peer), settled by the team on the review assignments
        async with self.db.read() as session:
            items = {i.question_id: i for i in await self._items(session, quiz_id)}
            attempts = list(await session.scalars(select(AttemptRow).where(
                AttemptRow.quiz_id == quiz_id, AttemptRow.pending_count > 0,
                AttemptRow.submitted_at.is_not(None)).order_by(AttemptRow.submitted_at)))
        found = []
        for attempt in attempts:
            answers = answers_of(attempt)
            for question_id, mark in marks_of(attempt).items():
                if mark.pending and question_id in items:
                    found.append(Pending(attempt, items[question_id], answers[question_id].text))
        return found

    async def grade(self, caller: Caller, attempt_id: str, question_id: str, points: float,
                    comment: str) -> AttemptView:
        async with self.db.read() as session:
            attempt = await session.get(AttemptRow, attempt_id)
            if attempt is None:
                raise NotFound("no such attempt")
            quiz = await self.quizzes.quiz(session, attempt.quiz_id)
        access = await self.quizzes.access(caller, quiz.run_id)
        access.require_team(GRADE, "grade open answers")
        if len(comment) > 2000:
            raise InvalidArgument("a comment has at most 2000 characters")
        async with self.db.transaction() as session:
            attempt = await session.get(AttemptRow, attempt_id, with_for_update=True)
            if attempt is None:
                raise NotFound("no such attempt")
            if attempt.submitted_at is None:
                raise FailedPrecondition("the attempt is not submitted yet", reason="NOT_SUBMITTED")
            items = await self._items(session, quiz.id)
            item = next((i for i in items if i.question_id == question_id), None)
            if item is None:
                raise NotFound("no such question in this quiz")
            if item.kind != rules.OPEN:
                raise InvalidArgument("only open answers are graded by the team; the others are graded on "
                                      "submission", reason="NOT_AN_OPEN_QUESTION")
            if quiz.open_answers_by == rules.BY_PEERS:
                raise FailedPrecondition("peers grade this exam's open answers; the team overrides a grade, with "
                                         "its reason, on the question's review assignment", reason="PEER_GRADED")
            if not 0 <= points <= item.points:
                raise InvalidArgument(f"points are 0..{item.points:g} for this question")
            marks = marks_of(attempt)
            marks[question_id] = rules.ItemMark(points, item.points, False, comment.strip())
            apply_grade(attempt, rules.grade_attempt(items_of(items), answers_of(attempt), marks))
        return self._view(attempt, quiz, True)

    # ---- the deadline ---------------------------------------------------------------------------

    async def expire(self, quiz_id: str = "", student_id: str = "") -> int:
        """Submits every attempt past its deadline with what was saved (at the deadline). Returns how many."""
        now = self.clock()
        async with self.db.read() as session:
            query = select(AttemptRow.id).where(AttemptRow.submitted_at.is_(None), AttemptRow.deadline_at <= now)
            if quiz_id:
                query = query.where(AttemptRow.quiz_id == quiz_id)
            if student_id:
                query = query.where(AttemptRow.student_id == student_id)
            ids = list(await session.scalars(query.limit(500)))
        for attempt_id in ids:
            async with self.db.transaction() as session:
                attempt = await session.get(AttemptRow, attempt_id, with_for_update=True)
                if attempt is None or attempt.submitted_at is not None or attempt.deadline_at is None:
                    continue
                self._submit(attempt, await self._items(session, attempt.quiz_id), attempt.deadline_at,
                             automatic=True)
        return len(ids)

    async def sweep_forever(self) -> None:
        """The background worker: attempts nobody reads are submitted at their deadline too."""
        period = float(os.environ.get(SWEEP_SECONDS_ENV, "") or DEFAULT_SWEEP_SECONDS)
        while True:
            await self.expire()
            await asyncio.sleep(period)
