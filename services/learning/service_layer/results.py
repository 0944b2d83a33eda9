"""Course results and certificates (课程学习考核合格证, seed 002 四(九)): the leader finalises a run's results; the
students who passed get a numbered certificate that their own school's admins list and export for credit
recognition, whichever school's run it was (adoptions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import PermissionDenied
from servicekit.pagination import fetch_page
from servicekit.spreadsheets import table_file
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.grade_tables import CertificateRow, CourseResultRow
from services.learning.domain import grading as rules
from services.learning.service_layer.grades import GradeHandlers, Student, is_leader


@dataclass(frozen=True)
class Finalised:
    students: int
    passed: int
    issued: int
    withdrawn: int
    pass_mark: float


@dataclass
class ResultHandlers:
    db: Database
    course: CoursePeer
    grades: GradeHandlers
    clock: Callable[[], datetime] = utcnow

    async def finalise(self, caller: Caller, run_id: str) -> Finalised:
        """Stores every student's result (each in their own class, the teacher's rather than the public one) and
        issues certificates to those who passed. Again: results are updated, certificate numbers kept; a student
        no longer passing has theirs withdrawn (restored, same number, if they pass again)."""
        context = await self.course.learner_context(run_id)
        if not is_leader(caller, context):
            raise PermissionDenied("only the course leader finalises the run's results")
        rules.check_finalisable(context.run.state)
        placed: dict[str, tuple[str, Student]] = {}
        for course_class in sorted(await self.course.classes(run_id), key=lambda c: c.public):
            roster = await self.course.roster(course_class.id)
            for s in roster.students:
                placed.setdefault(s.user_id, (course_class.id, Student(s.user_id, s.number, s.name, s.school_id)))
        by_class: dict[str, list[Student]] = {}
        for class_id, student in placed.values():
            by_class.setdefault(class_id, []).append(student)
        pass_mark = rules.pass_mark_of(await self.course.policy(context.run.school_id, context.run.term_code))
        computed = []
        for class_id, students in by_class.items():
            grades = await self.grades.compute(context, class_id, students, pass_mark)
            computed += [(class_id, g, grades.effective) for g in grades.students]
        now = self.clock()
        passed = issued = withdrawn = 0
        async with self.db.transaction() as session:
            results = {r.student_id: r for r in await session.scalars(
                select(CourseResultRow).where(CourseResultRow.run_id == run_id))}
            certificates = {c.student_id: c for c in await session.scalars(
                select(CertificateRow).where(CertificateRow.run_id == run_id))}
            for class_id, graded, effective in computed:
                student, grade = graded.student, graded.grade
                row = results.get(student.user_id)
                if row is None:
                    row = CourseResultRow(run_id=run_id, student_id=student.user_id)
                    session.add(row)
                row.class_id, row.student_school_id, row.number, row.name = (
                    class_id, student.school_id, student.number, student.name)
                row.scores_json = json.dumps({"scores": grade.scores, "weights": effective})
                row.total, row.passed, row.pass_mark, row.finalised_at = grade.total, grade.passed, pass_mark, now
                certificate = certificates.get(student.user_id)
                if grade.passed:
                    passed += 1
                    if certificate is None:
                        certificate = CertificateRow(
                            number=rules.certificate_number(now), run_id=run_id, student_id=student.user_id,
                            course_id=context.run.course_id, issued_at=now)
                        session.add(certificate)
                        issued += 1
                    elif certificate.withdrawn_at is not None:
                        certificate.withdrawn_at, certificate.issued_at = None, now
                        issued += 1
                    certificate.student_number, certificate.student_name = student.number, student.name
                    certificate.student_school_id = student.school_id
                    certificate.course_name, certificate.run_school_id = context.run.course_name, context.run.school_id
                    certificate.term_code, certificate.score = context.run.term_code, grade.total
                elif certificate is not None and certificate.withdrawn_at is None:
                    certificate.withdrawn_at = now
                    withdrawn += 1
        return Finalised(len(computed), passed, issued, withdrawn, pass_mark)

    async def of_student(self, run_id: str, student_id: str) -> tuple[CourseResultRow | None, CertificateRow | None]:
        """A student's stored result and valid certificate in a run (the caller was already allowed to see them)."""
        async with self.db.read() as session:
            result = await session.get(CourseResultRow, (run_id, student_id))
            certificate = await session.scalar(select(CertificateRow).where(
                CertificateRow.run_id == run_id, CertificateRow.student_id == student_id,
                CertificateRow.withdrawn_at.is_(None)))
        return result, certificate

    @staticmethod
    def _visible(caller: Caller, school_id: str, run_id: str):  # type: ignore[no-untyped-def]
        """A school admin's own school's students (on any school's run); a student's own; nobody else's."""
        statement = select(CertificateRow).where(CertificateRow.withdrawn_at.is_(None))
        if caller.role == "school_admin":
            if school_id and school_id != caller.school_id:
                raise PermissionDenied("a school admin lists the certificates of their own school's students")
            statement = statement.where(CertificateRow.student_school_id == caller.school_id)
        elif caller.role == "student":
            statement = statement.where(CertificateRow.student_id == caller.user_id)
        else:
            raise PermissionDenied("certificates are listed by students (their own) and by school admins (their "
                                   "school's students)")
        if run_id:
            statement = statement.where(CertificateRow.run_id == run_id)
        return statement.order_by(CertificateRow.issued_at.desc(), CertificateRow.number)

    async def certificates(self, caller: Caller, school_id: str, run_id: str, page_size: int, page_token: str
                           ) -> tuple[list[CertificateRow], str, int]:
        statement = self._visible(caller, school_id, run_id)
        async with self.db.read() as session:
            return await fetch_page(session, statement, page_size, page_token)

    async def export_certificates(self, caller: Caller, run_id: str) -> tuple[str, str, bytes]:
        """For credit recognition: the school's students' certificates as XLSX (school admins)."""
        caller.require_role("school_admin")
        async with self.db.read() as session:
            rows = list(await session.scalars(self._visible(caller, "", run_id)))
        headers = ["证书编号", "学号", "姓名", "课程", "学期", "开课学校", "成绩", "发证时间"]
        return table_file("课程学习考核合格证", headers, [
            [c.number, c.student_number, c.student_name, c.course_name, c.term_code, c.run_school_id, c.score,
             c.issued_at.strftime("%Y-%m-%d %H:%M")] for c in rows], "xlsx")
