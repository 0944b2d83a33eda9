"""Assessments shared by banks, quizzes and attempts: who the caller is to a run, how stored rows read as the
domain's values, the scores the gradebook reads (`run_scores`) and what is due for a student.

The handlers are split by aggregate: `banks.py` (questions), `quizzes.py` (quizzes, exams, results, offline
marks) and `attempts.py` (starting, saving, submitting, grading, the deadline sweep)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.errors import PermissionDenied
from services.learning.adapters.assessment_tables import AttemptRow, QuestionRow, QuizQuestionRow, QuizRow
from services.learning.domain import assessments as rules
from services.learning.domain.assessments import ScoredItem

EDIT_CONTENT, GRADE = "edit_content", "grade"


# ---- the caller's relation to a run -------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    caller: Caller
    context: course_pb2.LearnerContext

    @property
    def student(self) -> bool:
        return self.context.relation == "student"

    @property
    def team(self) -> bool:
        return self.context.relation == "team"

    @property
    def school_admin(self) -> bool:
        return self.context.relation == "school_admin"

    def require_team(self, permission: str, what: str) -> None:
        if self.team and permission in self.context.permissions:
            return
        if self.team:
            raise PermissionDenied(f"{what} needs the {permission} permission on this run's team",
                                   reason="TEAM_PERMISSION_MISSING")
        raise PermissionDenied(f"only the run's team (with {permission}) may {what}", reason="TEAM_ONLY")

    def require_student(self, what: str) -> None:
        if not self.student:
            raise PermissionDenied(f"only the run's students {what}", reason="STUDENTS_ONLY")

    def require_staff(self, what: str) -> None:
        """The team (any permission) or the run's school's admins."""
        if not (self.team or self.school_admin):
            raise PermissionDenied(f"only the run's team and its school's admins {what}", reason="STAFF_ONLY")

    def node(self, node_id: str) -> course_pb2.LearnerNode | None:
        return next((n for n in self.context.nodes if n.node.id == node_id), None)


# ---- rows as the domain's values --------------------------------------------------------------------

def key_from_json(text: str) -> rules.Key:
    data = json.loads(text or "{}")
    return rules.Key(correct=tuple(data.get("correct", ())), truth=bool(data.get("truth", False)),
                     accepted=tuple(data.get("accepted", ())), reference=data.get("reference", ""),
                     explanation=data.get("explanation", ""))


def key_to_json(key: rules.Key) -> str:
    return json.dumps(asdict(key), ensure_ascii=False)


def content_of(row: QuestionRow | QuizQuestionRow) -> rules.QuestionContent:
    return rules.QuestionContent(row.kind, row.stem, tuple(json.loads(row.options_json or "[]")),
                                 key_from_json(row.key_json))


def items_of(rows: list[QuizQuestionRow]) -> list[rules.Item]:
    return [rules.Item(r.question_id, r.points, content_of(r)) for r in sorted(rows, key=lambda r: r.position)]


def answers_of(row: AttemptRow) -> dict[str, rules.AnswerGiven]:
    return {qid: rules.AnswerGiven(choices=tuple(a.get("choices", ())), truth=a.get("truth"), text=a.get("text", ""))
            for qid, a in json.loads(row.answers_json or "{}").items()}


def answers_to_json(answers: dict[str, rules.AnswerGiven]) -> str:
    return json.dumps({qid: {"choices": list(a.choices), "truth": a.truth, "text": a.text}
                       for qid, a in answers.items()}, ensure_ascii=False)


def marks_of(row: AttemptRow) -> dict[str, rules.ItemMark]:
    return {qid: rules.ItemMark(m["points"], m["max_points"], m.get("pending", False), m.get("comment", ""))
            for qid, m in json.loads(row.results_json or "{}").items()}


def marks_to_json(marks: dict[str, rules.ItemMark]) -> str:
    return json.dumps({qid: asdict(m) for qid, m in marks.items()}, ensure_ascii=False)


def apply_grade(row: AttemptRow, grade: rules.AttemptGrade) -> None:
    row.points, row.max_points, row.pending_count = grade.points, grade.max_points, grade.pending_count
    row.results_json, row.score = marks_to_json(grade.marks), grade.score


def counted_score(row: AttemptRow, items: list[rules.Item], now: datetime) -> float | None:
    """An attempt's score as it counts: submitted, or past its deadline (graded on what was saved, as the sweep
    will submit it), else None (still being answered)."""
    if row.submitted_at is not None:
        return row.score
    if row.deadline_at is not None and row.deadline_at <= now:
        return rules.grade_attempt(items, answers_of(row), marks_of(row)).score
    return None


# ---- what the gradebook reads -----------------------------------------------------------------------

async def run_scores(session: AsyncSession, run_id: str) -> dict[str, list[ScoredItem]]:
    """Every quiz and exam score of a run, by student user_id (read-only: callable inside a reading session).

    Keys: the students with at least one counted attempt (submitted, past its deadline, or an imported offline
    exam mark) on any quiz or exam of the run; students with none get no entry. Each student's list holds one
    ScoredItem for EVERY quiz and exam of the run (in creation order), `score` 0..100 by the quiz's grading method
    (highest / last / average over counted attempts; open answers still waiting for the team count 0), or None
    for a quiz that student has not taken. Category "quizzes" for in-video quizzes and unit tests, "final_exam"
    for the exam; weight is the quiz's weight among the run's quizzes (default 1)."""
    quizzes = list(await session.scalars(select(QuizRow).where(QuizRow.run_id == run_id)
                                         .order_by(QuizRow.created_at, QuizRow.id)))
    if not quizzes:
        return {}
    attempts = list(await session.scalars(select(AttemptRow).where(AttemptRow.run_id == run_id)
                                          .order_by(AttemptRow.number)))
    if not attempts:
        return {}
    items: dict[str, list[rules.Item]] = defaultdict(list)
    if any(a.submitted_at is None for a in attempts):  # only then are the questions needed (to grade the late)
        rows = await session.scalars(select(QuizQuestionRow).where(
            QuizQuestionRow.quiz_id.in_([q.id for q in quizzes])))
        grouped: dict[str, list[QuizQuestionRow]] = defaultdict(list)
        for row in rows:
            grouped[row.quiz_id].append(row)
        items = defaultdict(list, {quiz_id: items_of(group) for quiz_id, group in grouped.items()})
    now = utcnow()
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for attempt in attempts:
        score = counted_score(attempt, items[attempt.quiz_id], now)
        if score is not None:
            scores[(attempt.student_id, attempt.quiz_id)].append(score)
    students = sorted({student for student, _ in scores})
    return {student: [ScoredItem(item_id=q.id, title=q.title, category=rules.category_of(q.kind), weight=q.weight,
                                 score=rules.combine(q.grading_method, scores.get((student, q.id), [])))
                      for q in quizzes]
            for student in students}
