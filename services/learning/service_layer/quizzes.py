"""Quizzes of a run: in-video questions, unit tests and the final exam — setting them, showing them (the answer key
only when the policy allows), extra exam time, results, offline exam marks and what is due for a student."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.learning.v1 import learning_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from servicekit.spreadsheets import read_rows
from services.learning.adapters.assessment_tables import (
    AttemptRow,
    ExtraTimeRow,
    QuestionRow,
    QuizQuestionRow,
    QuizRow,
)
from services.learning.adapters.course import CoursePeer
from services.learning.domain import assessments as rules
from services.learning.service_layer.assessments import EDIT_CONTENT, GRADE, Access
from services.learning.service_layer.progress import refuse_unreleased, unit_nodes

MAX_TITLE_CHARS = 200


@dataclass(frozen=True)
class QuizSpec:
    run_id: str
    kind: str
    title: str
    unit_id: str = ""
    chapter_id: str = ""
    at_seconds: float = 0.0
    attempts_allowed: int = 0
    grading_method: str = ""
    show_answers: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    duration_minutes: float = 0.0
    mode: str = ""
    weight: float | None = None
    items: list[tuple[str, float]] = field(default_factory=list)
    open_answers_by: str = ""


@dataclass
class QuizView:
    quiz: QuizRow
    released: bool
    items: list[QuizQuestionRow]  # empty when the caller may not see the questions yet
    answers_visible: bool
    attempts: list[AttemptRow]
    score: float | None
    attempts_left: int


@dataclass(frozen=True)
class ImportResult:
    imported: bool
    count: int
    errors: list[tuple[int, str]]


def released_for(access: Access, quiz: QuizRow) -> bool:
    if not access.student or not quiz.chapter_id:
        return True
    chapter = access.node(quiz.chapter_id)
    return bool(chapter and chapter.released)


def refuse_unreleased_quiz(access: Access, quiz: QuizRow) -> None:
    """A quiz of a chapter not released to the student's class is neither shown nor answered."""
    if access.student and quiz.chapter_id:
        chapter = access.node(quiz.chapter_id)
        if chapter is None:
            raise NotFound("no such quiz")
        refuse_unreleased(chapter, access.context)


class QuizHandlers:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock

    async def access(self, caller: Caller, run_id: str) -> Access:
        return Access(caller, await self.course.learner_context(run_id))

    async def quiz(self, session: AsyncSession, quiz_id: str) -> QuizRow:
        quiz = await session.get(QuizRow, quiz_id)
        if quiz is None:
            raise NotFound("no such quiz")
        return quiz

    async def quiz_with_access(self, caller: Caller, quiz_id: str) -> tuple[QuizRow, Access]:
        async with self.db.read() as session:
            quiz = await self.quiz(session, quiz_id)
        return quiz, await self.access(caller, quiz.run_id)

    # ---- setting quizzes ------------------------------------------------------------------------

    async def create_quiz(self, caller: Caller, spec: QuizSpec) -> QuizRow:
        access = await self.access(caller, spec.run_id)
        access.require_team(EDIT_CONTENT, "set quizzes and exams")
        quiz = self._checked(spec, access)
        async with self.db.transaction() as session:
            if quiz.kind == rules.EXAM and await session.scalar(select(QuizRow.id).where(
                    QuizRow.run_id == spec.run_id, QuizRow.kind == rules.EXAM)):
                raise AlreadyExists("this run already has its final exam", reason="EXAM_EXISTS")
            ids = [question_id for question_id, _ in spec.items]
            questions = {q.id: q for q in await session.scalars(select(QuestionRow).where(
                QuestionRow.id.in_(ids), QuestionRow.run_id == spec.run_id))} if ids else {}
            missing = [qid for qid in ids if qid not in questions]
            if missing:
                raise InvalidArgument(f"not questions of this run's bank: {', '.join(missing[:5])}",
                                      reason="BAD_QUIZ")
            if quiz.open_answers_by == rules.BY_PEERS and not any(q.kind == rules.OPEN for q in questions.values()):
                raise InvalidArgument("peers grade open answers: the exam has no open question", reason="BAD_QUIZ")
            session.add(quiz)
            for position, (question_id, points) in enumerate(spec.items, 1):
                question = questions[question_id]
                session.add(QuizQuestionRow(quiz_id=quiz.id, question_id=question_id, position=position,
                                            points=points, kind=question.kind, stem=question.stem,
                                            options_json=question.options_json, key_json=question.key_json))
        return quiz

    def _checked(self, spec: QuizSpec, access: Access) -> QuizRow:
        def bad(message: str) -> InvalidArgument:
            return InvalidArgument(message, reason="BAD_QUIZ")

        if spec.kind not in rules.QUIZ_KINDS:
            raise bad(f"unknown quiz kind {spec.kind!r}; use one of {', '.join(rules.QUIZ_KINDS)}")
        title = spec.title.strip()
        if not title or len(title) > MAX_TITLE_CHARS:
            raise bad(f"a quiz needs a title of at most {MAX_TITLE_CHARS} characters")
        exam = spec.kind == rules.EXAM
        mode = spec.mode or rules.ONLINE
        if mode not in (rules.ONLINE, rules.OFFLINE) or (mode == rules.OFFLINE and not exam):
            raise bad("mode is online, or offline for an exam the academic office runs on paper")
        method = spec.grading_method or rules.HIGHEST
        if method not in rules.GRADING_METHODS:
            raise bad(f"grading_method is one of {', '.join(rules.GRADING_METHODS)}")
        show = spec.show_answers or (rules.AFTER_CLOSE if exam else rules.AFTER_SUBMIT)
        if show not in rules.SHOW_ANSWERS:
            raise bad(f"show_answers is one of {', '.join(rules.SHOW_ANSWERS)}")
        attempts = spec.attempts_allowed or 1
        if exam and attempts != 1:
            raise bad("an exam allows one attempt")
        if not 1 <= attempts <= rules.MAX_ATTEMPTS:
            raise bad(f"attempts_allowed is 1..{rules.MAX_ATTEMPTS}")
        weight = 1.0 if spec.weight is None else spec.weight
        if not 0 <= weight <= 1000:
            raise bad("weight is 0..1000")
        if spec.opens_at and spec.closes_at and spec.closes_at <= spec.opens_at:
            raise bad("closes_at is after opens_at")
        unit_id, chapter_id, at_seconds = "", "", 0.0
        if spec.kind == rules.IN_VIDEO:
            unit = unit_nodes(access.context).get(spec.unit_id)
            if unit is None:
                raise bad("an in-video quiz names a video unit of the run (unit_id)")
            if not 0 <= spec.at_seconds <= unit.node.minutes * 60:
                raise bad(f"at_seconds is within the unit's video (0..{unit.node.minutes * 60:.0f} s)")
            unit_id, chapter_id, at_seconds = unit.node.id, unit.chapter_id, spec.at_seconds
        elif spec.kind == rules.UNIT_TEST:
            node = access.node(spec.unit_id or spec.chapter_id)
            if node is None or (spec.unit_id and node.node.kind != "unit") or \
                    (not spec.unit_id and node.node.kind != "chapter"):
                raise bad("a unit test follows a unit (unit_id) or a chapter (chapter_id) of the run")
            unit_id, chapter_id = spec.unit_id, node.chapter_id or node.node.id
        else:
            if not (spec.opens_at and spec.closes_at):
                raise bad("an exam opens in a window: give opens_at and closes_at")
            if mode == rules.ONLINE and not 0 < spec.duration_minutes <= rules.MAX_EXAM_MINUTES:
                raise bad(f"an online exam has a duration of 0..{rules.MAX_EXAM_MINUTES} minutes")
        if mode == rules.ONLINE and not spec.items:
            raise bad("choose the questions (items) from the run's bank")
        if len(spec.items) > rules.MAX_QUESTIONS:
            raise bad(f"at most {rules.MAX_QUESTIONS} questions")
        if len({q for q, _ in spec.items}) != len(spec.items):
            raise bad("a question appears twice")
        if any(not 0 < points <= rules.MAX_POINTS for _, points in spec.items):
            raise bad(f"each question's points are more than 0 and at most {rules.MAX_POINTS:.0f}")
        graders = spec.open_answers_by or rules.BY_TEAM
        if graders not in rules.OPEN_GRADERS:
            raise bad(f"open_answers_by is one of {', '.join(rules.OPEN_GRADERS)}")
        if graders == rules.BY_PEERS and not (exam and mode == rules.ONLINE):
            raise bad("peers grade the open answers of an online exam only")
        return QuizRow(id=new_id(), run_id=spec.run_id, kind=spec.kind, title=title, unit_id=unit_id,
                       chapter_id=chapter_id, at_seconds=at_seconds, attempts_allowed=attempts,
                       grading_method=method, show_answers=show, opens_at=spec.opens_at, closes_at=spec.closes_at,
                       duration_minutes=spec.duration_minutes if exam else 0.0, mode=mode, weight=weight,
                       total_points=sum(points for _, points in spec.items) if mode == rules.ONLINE else 100.0,
                       open_answers_by=graders, created_by=access.caller.user_id, created_at=self.clock())

    # ---- reading quizzes ------------------------------------------------------------------------

    async def list_quizzes(self, caller: Caller, run_id: str) -> tuple[Access, list[tuple[QuizRow, int]]]:
        access = await self.access(caller, run_id)
        async with self.db.read() as session:
            quizzes = list(await session.scalars(select(QuizRow).where(QuizRow.run_id == run_id)
                                                 .order_by(QuizRow.created_at, QuizRow.id)))
            counts: dict[str, int] = {}
            for quiz_id in await session.scalars(select(QuizQuestionRow.quiz_id).where(
                    QuizQuestionRow.quiz_id.in_([q.id for q in quizzes]))):
                counts[quiz_id] = counts.get(quiz_id, 0) + 1
        return access, [(q, counts.get(q.id, 0)) for q in quizzes]

    async def view(self, caller: Caller, quiz_id: str, sweep: Callable | None = None) -> QuizView:
        quiz, access = await self.quiz_with_access(caller, quiz_id)
        refuse_unreleased_quiz(access, quiz)
        if sweep is not None and access.student:
            await sweep(quiz_id, caller.user_id)  # an attempt past its deadline is submitted before it is shown
        now = self.clock()
        async with self.db.read() as session:
            items = list(await session.scalars(select(QuizQuestionRow).where(QuizQuestionRow.quiz_id == quiz_id)
                                               .order_by(QuizQuestionRow.position)))
            attempts = list(await session.scalars(select(AttemptRow).where(
                AttemptRow.quiz_id == quiz_id, AttemptRow.student_id == caller.user_id)
                .order_by(AttemptRow.number))) if access.student else []
        submitted = [a for a in attempts if a.submitted_at is not None]
        if not access.student:
            return QuizView(quiz, True, items, True, [], None, 0)
        visible = rules.answers_visible(quiz.show_answers, bool(submitted), now, quiz.closes_at)
        state = rules.quiz_state(now, quiz.opens_at, quiz.closes_at)
        # An exam's questions are seen in an attempt (or after it closed); a quiz's once it opened.
        shown = (bool(attempts) or state == "closed") if quiz.kind == rules.EXAM else state != "upcoming"
        score = rules.combine(quiz.grading_method, [a.score for a in submitted if a.score is not None])
        return QuizView(quiz, True, items if shown else [], visible, attempts, score,
                        max(0, quiz.attempts_allowed - len(submitted)))

    # ---- exams: extra time ----------------------------------------------------------------------

    async def set_extra_time(self, caller: Caller, quiz_id: str, student_id: str, minutes: float) -> ExtraTimeRow:
        quiz, access = await self.quiz_with_access(caller, quiz_id)
        if not (access.team and {EDIT_CONTENT, GRADE} & set(access.context.permissions)):
            access.require_team(GRADE, "give a student extra exam time")
        if quiz.kind != rules.EXAM or quiz.mode != rules.ONLINE:
            raise FailedPrecondition("extra time is for online exams", reason="NOT_AN_ONLINE_EXAM")
        if not 0 <= minutes <= rules.MAX_EXTRA_MINUTES:
            raise InvalidArgument(f"extra_minutes is 0..{rules.MAX_EXTRA_MINUTES:.0f}")
        await self.course.learner_context(quiz.run_id, student_id)  # a student of the run (the course decides)
        async with self.db.transaction() as session:
            if await session.scalar(select(AttemptRow.id).where(AttemptRow.quiz_id == quiz_id,
                                                                 AttemptRow.student_id == student_id)):
                raise FailedPrecondition("the student has started the exam: extra time is set before they start",
                                         reason="EXAM_STARTED")
            row = await session.get(ExtraTimeRow, (quiz_id, student_id))
            if row is None:
                row = ExtraTimeRow(quiz_id=quiz_id, student_id=student_id)
                session.add(row)
            row.extra_minutes, row.set_by, row.set_at = minutes, caller.user_id, self.clock()
        return row

    # ---- results --------------------------------------------------------------------------------

    async def results(self, caller: Caller, quiz_id: str) -> list[tuple[str, float | None, int, int, bool]]:
        """(student, score by the grading method, counted attempts, pending answers, offline) per student."""
        quiz, access = await self.quiz_with_access(caller, quiz_id)
        access.require_staff("read a quiz's results")
        async with self.db.read() as session:
            attempts = list(await session.scalars(select(AttemptRow).where(
                AttemptRow.quiz_id == quiz_id, AttemptRow.submitted_at.is_not(None)).order_by(AttemptRow.number)))
        by_student: dict[str, list[AttemptRow]] = {}
        for attempt in attempts:
            by_student.setdefault(attempt.student_id, []).append(attempt)
        return [(student, rules.combine(quiz.grading_method, [a.score for a in rows if a.score is not None]),
                 len(rows), sum(a.pending_count for a in rows), any(a.offline for a in rows))
                for student, rows in sorted(by_student.items())]

    # ---- offline exams --------------------------------------------------------------------------

    async def import_marks(self, caller: Caller, quiz_id: str, class_id: str, filename: str,
                           content: bytes) -> ImportResult:
        """An offline exam's marks for one class; any bad line stores nothing (importing again replaces)."""
        quiz, access = await self.quiz_with_access(caller, quiz_id)
        if not access.school_admin:
            access.require_team(GRADE, "import exam marks")
        if quiz.kind != rules.EXAM or quiz.mode != rules.OFFLINE:
            raise FailedPrecondition("marks are imported for an exam taken offline (mode offline)",
                                     reason="NOT_AN_OFFLINE_EXAM")
        roster = await self.course.roster(class_id)
        if getattr(roster, "class").run_id != quiz.run_id:
            raise InvalidArgument("the class is not a class of the exam's run")
        rows = await read_rows(filename, content)
        marks, problems = rules.parse_exam_marks(rows, {s.number: s.user_id for s in roster.students})
        if problems:
            return ImportResult(False, 0, problems)
        now = self.clock()
        async with self.db.transaction() as session:
            students = [user_id for user_id, _ in marks.values()]
            await session.execute(delete(AttemptRow).where(AttemptRow.quiz_id == quiz_id,
                                                           AttemptRow.student_id.in_(students)))
            for user_id, score in marks.values():
                session.add(AttemptRow(id=new_id(), quiz_id=quiz_id, run_id=quiz.run_id, student_id=user_id,
                                       number=1, started_at=now, submitted_at=now, offline=True, points=score,
                                       max_points=100.0, score=score, pending_count=0,
                                       answers_json="{}", results_json=json.dumps({})))
        return ImportResult(True, len(marks), [])

    # ---- what is due ----------------------------------------------------------------------------

    async def due(self, user_id: str, run_ids: list[str]) -> dict[str, list[learning_pb2.Due]]:
        """Quizzes and online exams open now that the student has not submitted (in released chapters)."""
        if not run_ids:
            return {}
        now = self.clock()
        async with self.db.read() as session:
            quizzes = [q for q in await session.scalars(select(QuizRow).where(
                QuizRow.run_id.in_(run_ids), QuizRow.mode == rules.ONLINE))
                if rules.quiz_state(now, q.opens_at, q.closes_at) == "open"]
            done = set(await session.scalars(select(AttemptRow.quiz_id).where(
                AttemptRow.student_id == user_id, AttemptRow.submitted_at.is_not(None),
                AttemptRow.quiz_id.in_([q.id for q in quizzes])))) if quizzes else set()
        due: dict[str, list[learning_pb2.Due]] = {}
        released: dict[str, set[str]] = {}
        for quiz in quizzes:
            if quiz.id in done:
                continue
            if quiz.chapter_id:
                if quiz.run_id not in released:
                    context = await self.course.learner_context(quiz.run_id)
                    released[quiz.run_id] = {n.node.id for n in context.nodes if n.released}
                if quiz.chapter_id not in released[quiz.run_id]:
                    continue
            item = learning_pb2.Due(kind=quiz.kind, id=quiz.id, title=quiz.title)
            if quiz.closes_at:
                item.due_at.FromDatetime(quiz.closes_at)
            due.setdefault(quiz.run_id, []).append(item)
        return due
