"""Translates learning.v1 GradebookService requests into the grade and result handlers' calls, and wires them into
the learning service's host."""

from __future__ import annotations

from datetime import datetime

from contracts.learning.v1 import grades_pb2 as pb
from contracts.learning.v1 import grades_pb2_grpc
from servicekit.auth import require_caller
from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.grade_tables import CertificateRow, CourseResultRow
from services.learning.domain import grading as rules
from services.learning.service_layer.grades import ClassGrades, GradeHandlers, Scheme, StudentGrade
from services.learning.service_layer.progress import ProgressHandlers
from services.learning.service_layer.results import ResultHandlers
from services.learning.service_layer.studies import StudyHandlers

SERVICE = "learning.v1.GradebookService"


def weights_message(weights: dict[str, int]) -> pb.CategoryWeights:
    return pb.CategoryWeights(**{c: weights[c] for c in rules.CATEGORIES})


def scheme_message(scheme: Scheme) -> pb.GradingScheme:
    message = pb.GradingScheme(run_id=scheme.run_id, weights=weights_message(scheme.weights),
                               is_default=scheme.is_default, frozen=scheme.frozen, pass_mark=scheme.pass_mark,
                               set_by=scheme.set_by, run_state=scheme.run_state)
    _stamp(message.updated_at, scheme.updated_at)
    return message


def effective_message(grades: ClassGrades) -> list[pb.CategoryScore]:
    return [pb.CategoryScore(category=c, counted=c in grades.counted, weight=grades.effective[c])
            for c in rules.CATEGORIES]


def row_message(grades: ClassGrades, graded: StudentGrade) -> pb.GradeRow:
    student, grade = graded.student, graded.grade
    return pb.GradeRow(student_id=student.user_id, number=student.number, name=student.name,
                       school_id=student.school_id, total=grade.total, passed=grade.passed, categories=[
                           pb.CategoryScore(category=c, score=grade.scores[c], counted=c in grades.counted,
                                            weight=grades.effective[c]) for c in rules.CATEGORIES])


def certificate_message(row: CertificateRow) -> pb.Certificate:
    message = pb.Certificate(number=row.number, student_id=row.student_id, student_number=row.student_number,
                             student_name=row.student_name, student_school_id=row.student_school_id,
                             run_id=row.run_id, course_id=row.course_id, course_name=row.course_name,
                             run_school_id=row.run_school_id, term_code=row.term_code, score=row.score)
    _stamp(message.issued_at, row.issued_at)
    return message


def result_message(row: CourseResultRow) -> pb.CourseResult:
    message = pb.CourseResult(run_id=row.run_id, student_id=row.student_id, total=row.total, passed=row.passed,
                              pass_mark=row.pass_mark)
    _stamp(message.finalised_at, row.finalised_at)
    return message


def _stamp(field, when: datetime | None) -> None:  # type: ignore[no-untyped-def]
    if when is not None:
        field.FromDatetime(when)


def _file(made: tuple[str, str, bytes]) -> pb.GradeFile:
    filename, content_type, content = made
    return pb.GradeFile(filename=filename, content_type=content_type, content=content)


class GradebookServicer(grades_pb2_grpc.GradebookServiceServicer):
    def __init__(self, grades: GradeHandlers, results: ResultHandlers) -> None:
        self.grades = grades
        self.results = results

    async def GetGradingScheme(self, request, context):  # type: ignore[no-untyped-def]
        return scheme_message(await self.grades.scheme(require_caller(), request.run_id))

    async def SetGradingScheme(self, request, context):  # type: ignore[no-untyped-def]
        weights = {c: getattr(request.weights, c) for c in rules.CATEGORIES}
        return scheme_message(await self.grades.set_scheme(require_caller(), request.run_id, weights))

    async def ImportFaceToFaceMarks(self, request, context):  # type: ignore[no-untyped-def]
        report = await self.grades.import_face_to_face(require_caller(), request.class_id, request.session_title,
                                                       request.weight, request.filename, request.content)
        return pb.FaceToFaceImportReport(
            rows=report.rows, marked=report.marked, imported=not report.errors, session_id=report.session_id,
            errors=[pb.GradeRowError(line=line, field=f, reason=r) for line, f, r in report.errors])

    async def ListFaceToFaceSessions(self, request, context):  # type: ignore[no-untyped-def]
        reply = pb.ListFaceToFaceSessionsResponse()
        for row, marks in await self.grades.face_to_face_sessions(require_caller(), request.class_id):
            session = reply.sessions.add(id=row.id, class_id=row.class_id, title=row.title, weight=row.weight,
                                         marks=marks)
            _stamp(session.imported_at, row.imported_at)
        return reply

    async def GetClassGradebook(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.grades.class_gradebook(require_caller(), request.class_id, request.page_size,
                                                 request.page_token)
        grades = page.grades
        return pb.ClassGradebook(run_id=page.context.run.id, class_id=page.course_class.id,
                                 class_name=page.course_class.name, weights=weights_message(grades.weights),
                                 effective=effective_message(grades), pass_mark=grades.pass_mark,
                                 rows=[row_message(grades, g) for g in grades.students],
                                 next_page_token=page.next_page_token, total=page.total)

    async def ExportClassGradebook(self, request, context):  # type: ignore[no-untyped-def]
        return _file(await self.grades.export_class_gradebook(require_caller(), request.class_id))

    async def GetStudentGrades(self, request, context):  # type: ignore[no-untyped-def]
        learner, grades = await self.grades.student_grades(require_caller(), request.run_id, request.student_id)
        graded = grades.students[0]
        reply = pb.StudentGrades(run_id=request.run_id, class_id=learner.class_id,
                                 weights=weights_message(grades.weights), pass_mark=grades.pass_mark,
                                 row=row_message(grades, graded))
        for item in graded.items:
            reply.items.add(category=item.category, item_id=item.item_id, title=item.title,
                            weight=item.weight or 1.0, score=item.score or 0.0, scored=item.score is not None)
        result, certificate = await self.results.of_student(request.run_id, graded.student.user_id)
        if result is not None:
            reply.result.CopyFrom(result_message(result))
        if certificate is not None:
            reply.certificate.CopyFrom(certificate_message(certificate))
        return reply

    async def FinaliseResults(self, request, context):  # type: ignore[no-untyped-def]
        done = await self.results.finalise(require_caller(), request.run_id)
        return pb.FinaliseResultsResponse(students=done.students, passed=done.passed,
                                          certificates_issued=done.issued, certificates_withdrawn=done.withdrawn,
                                          pass_mark=done.pass_mark)

    async def ListCertificates(self, request, context):  # type: ignore[no-untyped-def]
        rows, token, total = await self.results.certificates(require_caller(), request.school_id, request.run_id,
                                                             request.page_size, request.page_token)
        return pb.ListCertificatesResponse(certificates=[certificate_message(r) for r in rows],
                                           next_page_token=token, total=total)

    async def ExportCertificates(self, request, context):  # type: ignore[no-untyped-def]
        return _file(await self.results.export_certificates(require_caller(), request.run_id))


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer, progress: ProgressHandlers,
         studies: StudyHandlers) -> list[Subscription]:
    """Adds the gradebook servicer to `host`; grades follow no events (they are computed when read)."""
    grades = GradeHandlers(runtime.db, course)
    results = ResultHandlers(runtime.db, course, grades)
    host.add_servicer(grades_pb2_grpc.add_GradebookServiceServicer_to_server, GradebookServicer(grades, results),
                      SERVICE)
    return []
