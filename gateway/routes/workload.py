"""Teaching workload (seed 004 四(三)4): each run's teacher in charge of the online teaching, and the school's
term workload per teacher (class hours × 4.0 / 3.0 / 2.0 by the run's number, beside its students)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from contracts.course.v1 import course_pb2 as pb
from gateway.openapi_types import CSV, XLSX, downloads, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json, download
from gateway.routing import Router

router = Router(tags=["workload"], dependencies=[NoNulCharacters])
TermCode = Annotated[str, Query(max_length=20, description="e.g. 2027-spring")]
SchoolId = Annotated[str, Query(max_length=36, description="empty: your school; another school's is refused")]


class OnlineTeacherBody(BaseModel):
    user_id: str = Field("", max_length=36, description="the leader or a teacher on the run's team; empty: the leader")


@router.put("/runs/{run_id}/online-teacher", **returns(pb.Run))
async def set_online_teacher(run_id: str, body: OnlineTeacherBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The course leader names the run's teacher in charge of the online teaching (负责在线教学的教师), who earns
    the run's workload; by default the leader."""
    return as_json(await backends.course.SetOnlineTeacher(
        pb.SetOnlineTeacherRequest(run_id=run_id, user_id=body.user_id), metadata=me.metadata, timeout=TIMEOUT))


@router.get("/workload", **returns(pb.TermWorkload))
async def term_workload(term_code: TermCode, backends: Backends, me: SignedIn,
                        school_id: SchoolId = "") -> dict[str, Any]:
    """The school admin's term workload of the school's runs that ran (approved, running or ended), per teacher in
    charge: class hours × 4.0 for a course's first run, 3.0 for its second, 2.0 from the third on; with students."""
    return as_json(await backends.course.GetTermWorkload(
        pb.GetTermWorkloadRequest(term_code=term_code, school_id=school_id), metadata=me.metadata, timeout=TIMEOUT))


@router.get("/workload/export", **downloads(XLSX, CSV))
async def export_term_workload(term_code: TermCode, backends: Backends, me: SignedIn, school_id: SchoolId = "",
                               format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    """The term workload as XLSX (or CSV): a row per run under its teacher, then the teacher's total."""
    reply = await backends.course.ExportTermWorkload(
        pb.GetTermWorkloadRequest(term_code=term_code, format=format, school_id=school_id), metadata=me.metadata,
        timeout=TIMEOUT)
    return download(reply.content, reply.content_type, reply.filename)
