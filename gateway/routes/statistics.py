"""Statistics: the provincial center's view of its province, a school's of itself, and the school's yearly
report (resource update ratio against the 5–10% target, courses' use), which the school publishes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from contracts.course.v1 import course_pb2
from contracts.sharing.v1 import sharing_pb2
from gateway.openapi_types import CSV, XLSX, Documented, downloads, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json, download
from gateway.routing import Router

router = Router(tags=["statistics"], dependencies=[NoNulCharacters])
SHARING_REPORTS = ("lists", "adoption-requests")
REPORTS = ("courses", "runs", "adoptions", "mooc-applications", "registry", "school-report", *SHARING_REPORTS)
Filter = Annotated[str, Query(max_length=100)]


class ReportAnswer(Documented):
    report: str
    columns: list[str]
    headers: list[str]
    items: list[dict[str, str]] = Field(description="a row per item: its cells by column")
    next_page_token: str
    total: int
    notes: dict[str, str]


class PublishBody(BaseModel):
    school_year: str = Field("", max_length=10, description="e.g. 2026 for 2026-09-01 .. 2027-08-31; "
                                                            "empty: the current school year")


def _filters(**values: str) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


async def _call(backends, report: str, method: str, me, filters: dict[str, str], page_size: int = 0,  # type: ignore[no-untyped-def]
                page_token: str = "", fmt: str = ""):
    if report in SHARING_REPORTS:
        request = sharing_pb2.ReportRequest(report=report, filters=filters, page_size=page_size,
                                            page_token=page_token, format=fmt)
        return await getattr(backends.sharing, method)(request, metadata=me.metadata, timeout=TIMEOUT)
    request = course_pb2.ReportRequest(report=report, filters=filters, page_size=page_size, page_token=page_token,
                                       format=fmt)
    return await getattr(backends.course, method)(request, metadata=me.metadata, timeout=TIMEOUT)


@router.get("/statistics/{report}", **returns(ReportAnswer))
async def get_report(report: str, backends: Backends, me: SignedIn, paging: Paging, school_id: Filter = "",
                     kind: Filter = "", category: Filter = "", state: Filter = "", term_code: Filter = "",
                     status: Filter = "", school_year: Filter = "") -> dict[str, Any]:
    """One page of a report (`courses`, `runs`, `adoptions`, `mooc-applications`, `registry`, `school-report`,
    `lists`, `adoption-requests`). The center sees its province, a school admin its own school; a school's
    report is also read by its teachers and its province's center once the school published it."""
    reply = await _call(backends, report, "GetReport", me, _filters(
        school_id=school_id, kind=kind, category=category, state=state, term_code=term_code, status=status,
        school_year=school_year), paging.page_size, paging.page_token)
    columns = list(reply.columns)
    return {"report": reply.report, "columns": columns, "headers": list(reply.headers),
            "items": [dict(zip(columns, row.cells, strict=True)) for row in reply.rows],
            "next_page_token": reply.next_page_token, "total": reply.total, "notes": dict(reply.notes)}


@router.get("/statistics/{report}/export", **downloads(XLSX, CSV))
async def export_report(report: str, backends: Backends, me: SignedIn, school_id: Filter = "", kind: Filter = "",
                        category: Filter = "", state: Filter = "", term_code: Filter = "", status: Filter = "",
                        school_year: Filter = "", format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    """The whole report (every page) as CSV or XLSX; text that starts like a formula is written inert."""
    reply = await _call(backends, report, "ExportReport", me, _filters(
        school_id=school_id, kind=kind, category=category, state=state, term_code=term_code, status=status,
        school_year=school_year), fmt=format)
    return download(reply.content, reply.content_type, reply.filename)


@router.post("/statistics/school-report/publish", **returns(course_pb2.SchoolReportPublication))
async def publish_school_report(body: PublishBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The school's academic affairs office publishes its report for a school year: from then on the province's
    center and the school's own teachers read it (publishing again renews the timestamp)."""
    return as_json(await backends.course.PublishSchoolReport(
        course_pb2.PublishSchoolReportRequest(school_year=body.school_year), metadata=me.metadata, timeout=TIMEOUT))
