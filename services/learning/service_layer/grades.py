"""Grading schemes, face-to-face marks and gradebooks: a run's published weights applied to each student's category
scores (video progress, quizzes, assignments, face-to-face sessions, the final exam; the forum is not graded yet).

The course service decides who the caller is to a run or class (learner context, roster); this module decides what
each relation may do with grades.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.pagination import next_page_token, page_window
from servicekit.spreadsheets import read_rows, table_file
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.grade_tables import FaceToFaceMarkRow, FaceToFaceSessionRow, GradingSchemeRow
from services.learning.adapters.orm import UnitProgress
from services.learning.domain import grading as rules
from services.learning.service_layer import assessments, assignments, forum
from services.learning.service_layer.progress import completion, run_seconds

# Headers a face-to-face marks sheet may use (the team's template: 学号, 姓名, 成绩).
NUMBER_HEADERS = ("学号", "number", "student_number", "student number")
MARK_HEADERS = ("成绩", "分数", "mark", "score")

RunScores = Callable[[AsyncSession, str], Awaitable[dict[str, list]]]
SCORED = (rules.QUIZZES, rules.ASSIGNMENTS, rules.FORUM, rules.FINAL_EXAM)  # items the other handlers score


async def all_run_scores(session: AsyncSession, run_id: str) -> dict[str, list]:
    """Every scored item of a run per student: quizzes and the final exam, assignments, the forum."""
    merged: dict[str, list] = defaultdict(list)
    for provider in (assessments.run_scores, assignments.run_scores, forum.run_scores):
        for student, items in (await provider(session, run_id)).items():
            merged[student].extend(items)
    return dict(merged)


@dataclass(frozen=True)
class Student:
    user_id: str
    number: str
    name: str
    school_id: str


@dataclass(frozen=True)
class StudentGrade:
    student: Student
    grade: rules.Grade
    items: list[rules.Item]


@dataclass(frozen=True)
class ClassGrades:
    weights: dict[str, int]           # the published scheme
    effective: dict[str, float]       # the weights applied in this class
    counted: frozenset[str]
    pass_mark: float
    students: list[StudentGrade]


@dataclass(frozen=True)
class Scheme:
    run_id: str
    weights: dict[str, int]
    is_default: bool
    frozen: bool
    pass_mark: float
    set_by: str
    updated_at: datetime | None
    run_state: str


@dataclass(frozen=True)
class ImportReport:
    rows: int
    marked: int
    errors: list[tuple[int, str, str]]
    session_id: str = ""


@dataclass(frozen=True)
class Page:
    context: course_pb2.LearnerContext
    course_class: course_pb2.CourseClass
    grades: ClassGrades
    next_page_token: str
    total: int


def is_leader(caller: Caller, context: course_pb2.LearnerContext) -> bool:
    return context.relation == "team" and caller.user_id == context.leader_id


def require_grader(caller: Caller, context: course_pb2.LearnerContext, action: str) -> None:
    """Team actions on marks: the leader, or a team teacher with the grade permission."""
    if context.relation != "team" or not (is_leader(caller, context) or "grade" in context.permissions):
        raise PermissionDenied(f"{action} is for the run's team with the grade permission")


def require_grade_reader(caller: Caller, context: course_pb2.LearnerContext) -> None:
    """A run's grades are read by its team (grade or view_analytics), its leader and its school's admins."""
    if context.relation == "school_admin":
        return
    if context.relation == "team" and (is_leader(caller, context)
                                       or {"grade", "view_analytics"} & set(context.permissions)):
        return
    raise PermissionDenied("grades are read by the run's team (grade or view_analytics permission), its leader and "
                           "the admins of the run's school; students read their own")


@dataclass
class GradeHandlers:
    db: Database
    course: CoursePeer
    clock: Callable[[], datetime] = utcnow
    run_scores: Callable[[], RunScores | None] = field(default=lambda: all_run_scores)

    # ---- the scheme -------------------------------------------------------------------------------------------

    async def _pass_mark(self, context: course_pb2.LearnerContext) -> float:
        return rules.pass_mark_of(await self.course.policy(context.run.school_id, context.run.term_code))

    @staticmethod
    async def _weights(session: AsyncSession, run_id: str) -> tuple[dict[str, int], GradingSchemeRow | None]:
        row = await session.get(GradingSchemeRow, run_id)
        if row is None:
            return dict(rules.DEFAULT_WEIGHTS), None
        return {c: getattr(row, c) for c in rules.CATEGORIES}, row

    async def _scheme(self, context: course_pb2.LearnerContext) -> Scheme:
        async with self.db.read() as session:
            weights, row = await self._weights(session, context.run.id)
        return Scheme(context.run.id, weights, row is None, context.run.state not in rules.EDITABLE_RUN_STATES,
                      await self._pass_mark(context), row.set_by if row else "", row.updated_at if row else None,
                      context.run.state)

    async def scheme(self, caller: Caller, run_id: str) -> Scheme:
        """The run's students, team and school admins read it from the first day (the course service decides)."""
        return await self._scheme(await self.course.learner_context(run_id))

    async def set_scheme(self, caller: Caller, run_id: str, weights: dict[str, int]) -> Scheme:
        checked = rules.check_weights(weights)
        context = await self.course.learner_context(run_id)
        if not is_leader(caller, context):
            raise PermissionDenied("only the course leader sets the grading scheme")
        rules.check_scheme_editable(context.run.state)
        async with self.db.transaction() as session:
            row = await session.get(GradingSchemeRow, run_id)
            if row is None:
                row = GradingSchemeRow(run_id=run_id, set_by=caller.user_id)
                session.add(row)
            for category, weight in checked.items():
                setattr(row, category, weight)
            row.set_by, row.updated_at = caller.user_id, self.clock()
        return await self._scheme(context)

    # ---- face-to-face marks -----------------------------------------------------------------------------------

    async def import_face_to_face(self, caller: Caller, class_id: str, title: str, weight: float, filename: str,
                                  content: bytes) -> ImportReport:
        """One session's marks for a class: every line checked (a number not in the class is a line error), and
        nothing stored unless all are good. Importing a session of the same title again replaces its marks."""
        title = title.strip()
        if not title or len(title) > rules.MAX_SESSION_TITLE:
            raise InvalidArgument(f"name the session (session_title, 1 to {rules.MAX_SESSION_TITLE} characters)",
                                  reason="BAD_SESSION_TITLE")
        weight = rules.check_item_weight(weight)
        roster = await self.course.roster(class_id)
        course_class = getattr(roster, "class")
        context = await self.course.learner_context(course_class.run_id)
        require_grader(caller, context, "importing face-to-face marks")
        rows = await read_rows(filename, content)
        marks, problems = parse_marks(rows, {s.number: s.user_id for s in roster.students})
        if problems:
            return ImportReport(max(0, len(rows) - 1), 0, problems)
        async with self.db.transaction() as session:
            found = await session.scalar(select(FaceToFaceSessionRow).where(
                FaceToFaceSessionRow.class_id == class_id, FaceToFaceSessionRow.title == title))
            if found is None:
                found = FaceToFaceSessionRow(run_id=course_class.run_id, class_id=class_id, title=title,
                                             weight=weight, imported_by=caller.user_id, imported_at=self.clock())
                session.add(found)
                await session.flush()
            else:
                found.weight, found.imported_by, found.imported_at = weight, caller.user_id, self.clock()
                await session.execute(delete(FaceToFaceMarkRow).where(FaceToFaceMarkRow.session_id == found.id))
            session.add_all(FaceToFaceMarkRow(session_id=found.id, student_id=user_id, number=number, mark=mark)
                            for number, (user_id, mark) in marks.items())
        return ImportReport(max(0, len(rows) - 1), len(marks), [], found.id)

    async def face_to_face_sessions(self, caller: Caller, class_id: str
                                    ) -> list[tuple[FaceToFaceSessionRow, int]]:
        roster = await self.course.roster(class_id)
        context = await self.course.learner_context(getattr(roster, "class").run_id)
        require_grade_reader(caller, context)
        async with self.db.read() as session:
            sessions = list(await session.scalars(select(FaceToFaceSessionRow).where(
                FaceToFaceSessionRow.class_id == class_id).order_by(FaceToFaceSessionRow.imported_at)))
            counts = dict((await session.execute(
                select(FaceToFaceMarkRow.session_id, func.count()).where(
                    FaceToFaceMarkRow.session_id.in_([row.id for row in sessions]))
                .group_by(FaceToFaceMarkRow.session_id))).tuples().all()) if sessions else {}
        return [(row, counts.get(row.id, 0)) for row in sessions]

    # ---- computing grades -------------------------------------------------------------------------------------

    async def compute(self, context: course_pb2.LearnerContext, class_id: str, students: Sequence[Student],
                      pass_mark: float | None = None) -> ClassGrades:
        """The students' grades (all of one class) with the run's scheme, the class's effective weights and the
        pass mark in force for the run's school and term."""
        run_id = context.run.id
        ids = [s.user_id for s in students]
        async with self.db.read() as session:
            weights, _ = await self._weights(session, run_id)
            completed: dict[str, set[str]] = {}
            for start in range(0, len(ids), 500):
                rows = await session.execute(select(UnitProgress.user_id, UnitProgress.unit_id).where(
                    UnitProgress.run_id == run_id, UnitProgress.completed_at.is_not(None),
                    UnitProgress.user_id.in_(ids[start:start + 500])))
                for user_id, unit_id in rows:
                    completed.setdefault(user_id, set()).add(unit_id)
            provider = self.run_scores()
            scored = await provider(session, run_id) if provider else {}
            sessions = list(await session.scalars(select(FaceToFaceSessionRow).where(
                FaceToFaceSessionRow.class_id == class_id).order_by(FaceToFaceSessionRow.imported_at)))
            marks: dict[tuple[str, str], float] = {}
            if sessions:
                for mark in await session.scalars(select(FaceToFaceMarkRow).where(
                        FaceToFaceMarkRow.session_id.in_([s.id for s in sessions]))):
                    marks[(mark.session_id, mark.student_id)] = mark.mark
        if pass_mark is None:
            pass_mark = await self._pass_mark(context)
        # The run's quizzes, assignments and exam: every item any student has (a student without it scores 0).
        run_items: dict[str, rules.Item] = {}
        for items in scored.values():
            for item in items:
                if item.category in SCORED:
                    run_items.setdefault(item.item_id, rules.Item(item.category, item.item_id, item.title,
                                                                  float(item.weight or 0.0), None))
        counted = {c for c in SCORED if any(i.category == c for i in run_items.values())}
        if run_seconds(context) > 0:
            counted.add(rules.VIDEO)
        if sessions:
            counted.add(rules.FACE_TO_FACE)
        effective = rules.effective_weights(weights, counted)
        graded = []
        for student in students:
            done, total = completion(completed.get(student.user_id, set()), context)
            own = {i.item_id: i.score for i in scored.get(student.user_id, [])}
            items = [rules.Item(i.category, i.item_id, i.title, i.weight,
                                None if own.get(i.item_id) is None else float(own[i.item_id]))
                     for i in run_items.values()]
            items += [rules.Item(rules.FACE_TO_FACE, s.id, s.title, s.weight, marks.get((s.id, student.user_id)))
                      for s in sessions]
            scores = {rules.VIDEO: min(1.0, done / total) * 100 if total else 0.0}
            for category in (*SCORED, rules.FACE_TO_FACE):
                scores[category] = rules.category_score(i for i in items if i.category == category)
            graded.append(StudentGrade(student, rules.grade(scores, effective, pass_mark), items))
        return ClassGrades(weights, effective, frozenset(counted), pass_mark, graded)

    # ---- gradebooks -------------------------------------------------------------------------------------------

    async def _class(self, caller: Caller, class_id: str
                     ) -> tuple[course_pb2.LearnerContext, course_pb2.CourseClass, list[Student]]:
        roster = await self.course.roster(class_id)
        course_class = getattr(roster, "class")
        context = await self.course.learner_context(course_class.run_id)
        require_grade_reader(caller, context)
        return context, course_class, [Student(s.user_id, s.number, s.name, s.school_id) for s in roster.students]

    async def class_gradebook(self, caller: Caller, class_id: str, page_size: int, page_token: str) -> Page:
        context, course_class, students = await self._class(caller, class_id)
        limit, offset = page_window(page_size, page_token)
        grades = await self.compute(context, class_id, students[offset:offset + limit])
        return Page(context, course_class, grades, next_page_token(offset, limit, len(students)), len(students))

    async def export_class_gradebook(self, caller: Caller, class_id: str) -> tuple[str, str, bytes]:
        context, course_class, students = await self._class(caller, class_id)
        grades = await self.compute(context, class_id, students)
        headers = ["学号", "姓名", *(f"{rules.CATEGORY_NAMES[c]}({round(grades.effective[c], 2):g}%)"
                                     for c in rules.CATEGORIES), "总评", "是否合格"]
        rows = [[g.student.number, g.student.name, *(g.grade.scores[c] if c in grades.counted else "-"
                                                     for c in rules.CATEGORIES),
                 g.grade.total, "合格" if g.grade.passed else "不合格"] for g in grades.students]
        rows.append([f"及格线 {grades.pass_mark:g}", "", *(f"{grades.weights[c]}%" for c in rules.CATEGORIES), "", ""])
        # Writing 2,000 rows takes ~0.1 s: off the event loop, which also answers the heartbeats.
        return await asyncio.to_thread(table_file, f"成绩册-{course_class.name}", headers, rows, "xlsx")

    async def student_grades(self, caller: Caller, run_id: str, student_id: str
                             ) -> tuple[course_pb2.LearnerContext, ClassGrades]:
        """A student's own grades, or (for the team with grade or view_analytics, the leader, the admins of the run's
        school and of the student's school) one student's."""
        context = await self.course.learner_context(run_id, "" if student_id == caller.user_id else student_id)
        if context.relation != "student":
            if not student_id:
                raise InvalidArgument("name the student (student_id) whose grades to read")
            require_grade_reader(caller, context)
        student = Student(context.student_id or caller.user_id, context.student_number, context.student_name,
                          context.student_school_id)
        return context, await self.compute(context, context.class_id, [student])


def parse_marks(rows: list[list[str]], roster: dict[str, str]
                ) -> tuple[dict[str, tuple[str, float]], list[tuple[int, str, str]]]:
    """(number -> (student id, mark), line errors) of a marks sheet: a header naming 学号 and 成绩 columns, then one
    line per student of the class; blank lines are skipped, a number twice or not in the class is an error."""
    if not rows:
        raise InvalidArgument("the file is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    number_at = next((i for i, h in enumerate(header) if h in NUMBER_HEADERS), None)
    mark_at = next((i for i, h in enumerate(header) if h in MARK_HEADERS), None)
    if number_at is None or mark_at is None:
        raise InvalidArgument("the first line names the columns: 学号 (or number) and 成绩 (or mark)",
                              reason="BAD_HEADER")
    marks: dict[str, tuple[str, float]] = {}
    problems: list[tuple[int, str, str]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        number = row[number_at].strip() if number_at < len(row) else ""
        text = row[mark_at].strip() if mark_at < len(row) else ""
        if not number:
            problems.append((line, "number", "the student number is missing"))
            continue
        if number not in roster:
            problems.append((line, "number", f"{number} is not a student of this class"))
            continue
        if number in marks:
            problems.append((line, "number", f"{number} is listed twice"))
            continue
        try:
            mark = rules.check_mark(text)
        except InvalidArgument as error:
            problems.append((line, "mark", error.message))
            continue
        if math.isfinite(mark):
            marks[number] = (roster[number], mark)
    return marks, problems
