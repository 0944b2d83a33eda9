"""Learning: grades (the learning service's GradebookService): grading schemes, face-to-face marks, gradebooks,
course results and certificates (课程学习考核合格证)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.learning.v1 import grades_pb2 as pb
from gateway.openapi_types import XLSX, downloads, items_of, page_of, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json, download, page_json
from gateway.routing import Router

router = Router(tags=["grades"], dependencies=[NoNulCharacters])
IMPORT_TIMEOUT = 120  # a large class's sheet: the same time as other imports


class WeightsBody(BaseModel):
    """Whole percentages per category, summing to 100 (an unknown category is refused)."""

    model_config = ConfigDict(extra="forbid")
    video: int = Field(description="视频学习进度: course-hours completion x 100")
    quizzes: int = Field(description="章节测试")
    assignments: int = Field(description="平时作业 (not graded yet: left out and the others scaled to 100)")
    face_to_face: int = Field(description="见面课: imported marks per class")
    forum: int = Field(description="论坛讨论 (not graded yet: left out and the others scaled to 100)")
    final_exam: int = Field(description="期末考试")


def _file(reply: pb.GradeFile) -> Response:
    return download(reply.content, reply.content_type, reply.filename, **{"Cache-Control": "no-store"})


@router.get("/learning/runs/{run_id}/grading-scheme", **returns(pb.GradingScheme))
async def get_grading_scheme(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The run's weights (its own, or the default: video 30, quizzes 20, assignments 10, face-to-face 10, forum 0,
    final exam 30), whether they are frozen, and the pass mark in force: for its students from the first day."""
    return as_json(await backends.grades.GetGradingScheme(pb.GetGradingSchemeRequest(run_id=run_id),
                                                          metadata=me.metadata, timeout=TIMEOUT))


@router.put("/learning/runs/{run_id}/grading-scheme", **returns(pb.GradingScheme))
async def set_grading_scheme(run_id: str, body: WeightsBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The course leader, before the run is approved; frozen after (409 SCHEME_FROZEN)."""
    request = pb.SetGradingSchemeRequest(run_id=run_id, weights=pb.CategoryWeights(**body.model_dump()))
    return as_json(await backends.grades.SetGradingScheme(request, metadata=me.metadata, timeout=TIMEOUT))


@router.post("/learning/classes/{class_id}/face-to-face-marks", **returns(pb.FaceToFaceImportReport))
async def import_face_to_face_marks(
    class_id: str, backends: Backends, me: SignedIn,
    session_title: Annotated[str, Form(max_length=100, description="the session; importing it again replaces it")],
    file: Annotated[UploadFile, File(description="CSV/XLSX: a header 学号, 成绩 (姓名 optional), one line per "
                                                 "student of the class, marks 0..100")],
    weight: Annotated[float, Form(ge=0, le=1000, description="its weight among the class's sessions; 0: equal")] = 0,
) -> dict[str, Any]:
    """Every bad line is listed (a number not in the class, a mark outside 0..100); a file with bad lines stores
    nothing (`imported` false)."""
    request = pb.ImportFaceToFaceMarksRequest(class_id=class_id, session_title=session_title, weight=weight,
                                              filename=file.filename or "", content=await file.read())
    return as_json(await backends.grades.ImportFaceToFaceMarks(request, metadata=me.metadata,
                                                               timeout=IMPORT_TIMEOUT))


@router.get("/learning/classes/{class_id}/face-to-face-sessions", **returns(items_of(pb.FaceToFaceSession)))
async def list_face_to_face_sessions(class_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await backends.grades.ListFaceToFaceSessions(pb.ListFaceToFaceSessionsRequest(class_id=class_id),
                                                         metadata=me.metadata, timeout=TIMEOUT)
    return {"items": [as_json(s) for s in reply.sessions]}


@router.get("/learning/classes/{class_id}/gradebook", **returns(pb.ClassGradebook))
async def class_gradebook(class_id: str, backends: Backends, me: SignedIn, paging: Paging) -> dict[str, Any]:
    """Each student's category scores, total and pass, with the published and the applied weights (the team with
    grade or view_analytics, the leader, the run's school's admins)."""
    return as_json(await backends.grades.GetClassGradebook(
        pb.GetClassGradebookRequest(class_id=class_id, page_size=paging.page_size, page_token=paging.page_token),
        metadata=me.metadata, timeout=TIMEOUT))


@router.get("/learning/classes/{class_id}/gradebook/export", **downloads(XLSX))
async def export_class_gradebook(class_id: str, backends: Backends, me: SignedIn) -> Response:
    """The class's gradebook as XLSX."""
    return _file(await backends.grades.ExportClassGradebook(pb.ExportClassGradebookRequest(class_id=class_id),
                                                            metadata=me.metadata, timeout=IMPORT_TIMEOUT))


@router.get("/learning/runs/{run_id}/grades", **returns(pb.StudentGrades))
async def student_grades(run_id: str, backends: Backends, me: SignedIn, student_id: str = "") -> dict[str, Any]:
    """A student's grades with each item: the student's own, or the named student's (team, admins); with the
    finalised result and the certificate once there."""
    return as_json(await backends.grades.GetStudentGrades(
        pb.GetStudentGradesRequest(run_id=run_id, student_id=student_id), metadata=me.metadata, timeout=TIMEOUT))


@router.post("/learning/runs/{run_id}/results", **returns(pb.FinaliseResultsResponse))
async def finalise_results(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The leader stores every student's result and issues certificates to those who passed; again: updated,
    certificate numbers kept."""
    return as_json(await backends.grades.FinaliseResults(pb.FinaliseResultsRequest(run_id=run_id),
                                                         metadata=me.metadata, timeout=IMPORT_TIMEOUT))


@router.get("/certificates", **returns(page_of(pb.Certificate)))
async def list_certificates(backends: Backends, me: SignedIn, paging: Paging, school_id: str = "",
                            run_id: str = "") -> dict[str, Any]:
    """课程学习考核合格证: a school admin's own school's students (on any school's run), a student's own."""
    reply = await backends.grades.ListCertificates(
        pb.ListCertificatesRequest(school_id=school_id, run_id=run_id, page_size=paging.page_size,
                                   page_token=paging.page_token), metadata=me.metadata, timeout=TIMEOUT)
    return page_json(list(reply.certificates), reply.next_page_token, reply.total)


@router.get("/certificates/export", **downloads(XLSX))
async def export_certificates(backends: Backends, me: SignedIn, run_id: str = "") -> Response:
    """The school's students' certificates as XLSX, for credit recognition (school admins)."""
    return _file(await backends.grades.ExportCertificates(pb.ExportCertificatesRequest(run_id=run_id),
                                                          metadata=me.metadata, timeout=IMPORT_TIMEOUT))
