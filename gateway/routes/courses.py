"""Courses: the MOOC registry, terms, parent courses, materials, teaching plans, runs, SPOC→MOOC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from contracts.course.v1 import course_pb2 as pb
from gateway.openapi_types import XLSX, downloads, extend, page_of, returns
from gateway.routes.deps import (
    TIMEOUT,
    Backends,
    NoNulCharacters,
    Paging,
    SignedIn,
    as_json,
    json_off_loop,
    page_json,
    sheet_url,
)
from gateway.routing import Router

router = Router(tags=["courses"], dependencies=[NoNulCharacters])
CourseKind = Literal["mooc", "spoc_independent", "spoc_synchronous", "spoc_asynchronous"]
ClassImportAnswer = extend(pb.ClassStudentsReport, "CourseClassStudentsReportWithSheetUrl",
                           credentials_sheet_url=(str, None))


class RegistryEntryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typed leader_name is refused: the leader is picked
    name: str = Field(max_length=100)
    leader_id: str = Field(max_length=36, description="an active teacher account of the school "
                                                      "(GET /api/v1/users?role=teacher)")


class RegistryChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    leader_id: str = Field("", max_length=36, description="the new leader, a teacher of the school; empty: unchanged")
    reason: str = Field(max_length=2000)


class CategoryBody(BaseModel):
    name: str = Field(max_length=50)


class TermBody(BaseModel):
    code: str = Field(max_length=20, description="e.g. 2027-spring")
    name: str = Field(max_length=50)
    starts_on: str = Field(max_length=10, description="YYYY-MM-DD")
    ends_on: str = Field(max_length=10)


class CourseBody(BaseModel):
    kind: CourseKind
    name: str = Field(max_length=100)
    category: str = Field(max_length=50)
    registry_entry_id: str = Field("", max_length=36, description="MOOC: the approved registry entry")
    source_run_id: str = Field("", max_length=36, description="synchronous/asynchronous SPOC: the MOOC run")


class CourseUpdateBody(BaseModel):
    name: str = Field("", max_length=100)
    category: str = Field("", max_length=50)
    cover_asset_id: str = Field("", max_length=36)
    online_credits: float | None = None
    total_credits: float | None = None
    class_hours: float | None = Field(None, description="学时: collected where the school's policy counts them")
    overview: dict[str, str] = Field(default_factory=dict, description="text under the fixed headings")


class MaterialBody(BaseModel):
    asset_id: str = Field(max_length=36)
    title: str = Field("", max_length=255)


class PlanNodeBody(BaseModel):
    kind: Literal["chapter", "section", "unit"]
    title: str = Field(max_length=100)
    parent_id: str = Field("", max_length=36)
    resource_id: str = Field("", max_length=36, description="units: a ready, approved media asset")


class PlanNodeUpdateBody(BaseModel):
    title: str = Field("", max_length=100)
    resource_id: str = Field("", max_length=36)


class MoveBody(BaseModel):
    direction: Literal["up", "down"]
    new_parent_id: str = Field("", max_length=36, description="refused unless empty or the current parent")


class RunBody(BaseModel):
    term_code: str = Field(max_length=20)


class ReasonBody(BaseModel):
    reason: str = Field(max_length=2000)


async def _call(backends, method: str, request, me) -> Any:  # type: ignore[no-untyped-def]
    return await getattr(backends.course, method)(request, metadata=me.metadata, timeout=TIMEOUT)


# ---- the MOOC registry -------------------------------------------------------------------

@router.post("/registry", **returns(pb.RegistryEntry, 201))
async def create_registry_entry(body: RegistryEntryBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A school admin files a course (name + leader, picked among the school's teachers); the provincial center
    reviews it."""
    return as_json(await _call(backends, "CreateRegistryEntry", pb.CreateRegistryEntryRequest(**body.model_dump()), me))


@router.get("/registry", **returns(page_of(pb.RegistryEntry)))
async def list_registry(backends: Backends, me: SignedIn, paging: Paging, status: str = "",
                        query: str = "") -> dict[str, Any]:
    reply = await _call(backends, "ListRegistryEntries", pb.ListRegistryEntriesRequest(
        status=status, query=query, page_size=paging.page_size, page_token=paging.page_token), me)
    return page_json(list(reply.entries), reply.next_page_token, reply.total)


@router.get("/registry/template", **downloads(XLSX))
async def registry_template(backends: Backends, me: SignedIn) -> Response:
    """The XLSX import template."""
    reply = await _call(backends, "GetRegistryTemplate", pb.GetRegistryTemplateRequest(), me)
    return Response(reply.content, media_type=reply.content_type,
                    headers={"Content-Disposition": "attachment; filename*=UTF-8''registry-template.xlsx"})


@router.post("/registry/imports", **returns(pb.RegistryImportReport))
async def import_registry(backends: Backends, me: SignedIn,
                          file: Annotated[UploadFile, File(description="the filled-in template (XLSX or CSV)")]
                          ) -> dict[str, Any]:
    """Every bad row is listed with its line; a file with bad rows files nothing."""
    request = pb.ImportRegistryEntriesRequest(filename=file.filename or "", content=await file.read())
    # 50,000 rows take longer than an ordinary call may: the same time as an account import
    return as_json(await backends.course.ImportRegistryEntries(request, metadata=me.metadata, timeout=120))


@router.get("/registry/{entry_id}", **returns(pb.RegistryEntry))
async def get_registry_entry(entry_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The entry with the history of its change requests."""
    return as_json(await _call(backends, "GetRegistryEntry", pb.GetRegistryEntryRequest(id=entry_id), me))


@router.post("/registry/{entry_id}/change-requests", **returns(pb.RegistryEntry, 201))
async def request_registry_change(entry_id: str, body: RegistryChangeBody, backends: Backends,
                                  me: SignedIn) -> dict[str, Any]:
    """Change a registered course's name or leader; the center reviews it."""
    request = pb.RequestRegistryChangeRequest(entry_id=entry_id, **body.model_dump())
    return as_json(await _call(backends, "RequestRegistryChange", request, me))


# ---- course categories ------------------------------------------------------------------------

@router.get("/categories", **returns(page_of(pb.Category)))
async def list_categories(backends: Backends, me: SignedIn, province_code: str = "",
                          include_retired: bool = False) -> dict[str, Any]:
    """A province's course categories (the caller's by default), which its provincial center maintains;
    courses pick theirs from it."""
    reply = await _call(backends, "ListCategories", pb.ListCategoriesRequest(
        province_code=province_code, include_retired=include_retired), me)
    return {"items": [as_json(c) for c in reply.categories], "next_page_token": "", "total": len(reply.categories)}


@router.post("/categories", **returns(pb.Category, 201))
async def add_category(body: CategoryBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The provincial center adds a category to its province's list."""
    return as_json(await _call(backends, "AddCategory", pb.AddCategoryRequest(name=body.name), me))


@router.patch("/categories/{category_id}", **returns(pb.Category))
async def rename_category(category_id: str, body: CategoryBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The provincial center renames a category; the province's courses that have it follow."""
    return as_json(await _call(backends, "RenameCategory",
                               pb.RenameCategoryRequest(id=category_id, name=body.name), me))


@router.post("/categories/{category_id}/retire", **returns(pb.Category))
async def retire_category(category_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The provincial center retires a category: courses keep it, new courses and edits cannot pick it."""
    return as_json(await _call(backends, "RetireCategory", pb.RetireCategoryRequest(id=category_id), me))


# ---- the term calendar ---------------------------------------------------------------------

@router.post("/terms", **returns(pb.Term, 201))
async def create_term(body: TermBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The provincial center maintains the term calendar."""
    return as_json(await _call(backends, "CreateTerm", pb.CreateTermRequest(**body.model_dump()), me))


class TermUpdateBody(BaseModel):
    name: str = Field(default="", max_length=50, description="empty: unchanged")
    starts_on: str = Field(default="", max_length=10, description="YYYY-MM-DD; empty: unchanged")
    ends_on: str = Field(default="", max_length=10, description="YYYY-MM-DD; empty: unchanged")


@router.patch("/terms/{code}", **returns(pb.Term))
async def update_term(code: str, body: TermUpdateBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The provincial center corrects a term's name or dates. Runs end with their term: approved runs of a
    term that is now over are ended at once (course.run.ended)."""
    return as_json(await _call(backends, "UpdateTerm", pb.UpdateTermRequest(code=code, **body.model_dump()), me))


@router.get("/terms", **returns(page_of(pb.Term)))
async def list_terms(backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListTerms", pb.ListTermsRequest(), me)
    return {"items": [as_json(t) for t in reply.terms], "next_page_token": "", "total": len(reply.terms)}


# ---- parent courses --------------------------------------------------------------------------

@router.post("/courses", **returns(pb.Course, 201))
async def create_course(body: CourseBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A teacher creates a parent course and leads it. A MOOC must match an approved registry entry."""
    return as_json(await _call(backends, "CreateCourse", pb.CreateCourseRequest(**body.model_dump()), me))


@router.get("/courses", **returns(page_of(pb.CourseSummary)))
async def list_courses(backends: Backends, me: SignedIn, paging: Paging, kind: str = "",
                       query: str = "") -> dict[str, Any]:
    """A teacher's courses, or (school admins) the school's, with runs, classes and usage."""
    reply = await _call(backends, "ListCourses", pb.ListCoursesRequest(
        kind=kind, query=query, page_size=paging.page_size, page_token=paging.page_token), me)
    return page_json(list(reply.courses), reply.next_page_token, reply.total)


@router.get("/courses/{course_id}", **returns(pb.Course))
async def get_course(course_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "GetCourse", pb.GetCourseRequest(id=course_id), me))


@router.patch("/courses/{course_id}", **returns(pb.Course))
async def update_course(course_id: str, body: CourseUpdateBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Info, credits and class hours (a run's online credits must be covered by its approved video minutes, and
    class hours where counted, under the school's policy in force: see /schools/{id}/policy) and the overview."""
    set_credits = body.online_credits is not None or body.total_credits is not None
    request = pb.UpdateCourseRequest(
        id=course_id, name=body.name, category=body.category, cover_asset_id=body.cover_asset_id,
        online_credits=body.online_credits or 0.0, total_credits=body.total_credits or 0.0,
        overview=body.overview, set_credits=set_credits, class_hours=body.class_hours or 0.0,
        set_class_hours=body.class_hours is not None)
    return as_json(await _call(backends, "UpdateCourse", request, me))


@router.post("/courses/{course_id}/materials", **returns(pb.Course, 201))
async def add_material(course_id: str, body: MaterialBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    request = pb.AddMaterialRequest(course_id=course_id, asset_id=body.asset_id, title=body.title)
    return as_json(await _call(backends, "AddMaterial", request, me))


@router.delete("/courses/{course_id}/materials/{asset_id}", **returns(pb.Course))
async def remove_material(course_id: str, asset_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "RemoveMaterial",
                               pb.RemoveMaterialRequest(course_id=course_id, asset_id=asset_id), me))


# ---- completion acceptance facts (结项验收, seed 002 annex 2) ---------------------------------

@router.get("/courses/{course_id}/acceptance-facts", **returns(pb.AcceptanceFacts))
async def acceptance_facts(course_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """What the platform measures of a course for the acceptance panel; the course's leader and school admins."""
    return as_json(await _call(backends, "GetAcceptanceFacts", pb.GetAcceptanceFactsRequest(course_id=course_id), me))


# ---- a course stopped after its students' evaluation (seed 002 四(七)) ------------------------

class LiftStopBody(BaseModel):
    note: str = Field("", max_length=2000, description="what was rectified (整改完毕)")


@router.post("/courses/{course_id}/stop", **returns(pb.Course))
async def stop_course(course_id: str, body: ReasonBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The course's school admin stops it from opening new runs (its evaluation was below good), with a reason."""
    return as_json(await _call(backends, "StopCourse", pb.StopCourseRequest(course_id=course_id, reason=body.reason),
                               me))


@router.post("/courses/{course_id}/lift-stop", **returns(pb.Course))
async def lift_course_stop(course_id: str, body: LiftStopBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The course's school admin lifts the stop once the course is rectified."""
    return as_json(await _call(backends, "LiftCourseStop",
                               pb.LiftCourseStopRequest(course_id=course_id, note=body.note), me))


@router.get("/leader-standing", **returns(pb.LeaderStanding))
async def leader_standing(backends: Backends, me: SignedIn,
                          user_id: str = Query("", max_length=36)) -> dict[str, Any]:
    """Whether a course leader may file new course-building applications (not while a course they lead is stopped):
    the caller's own, or a school admin's question about one of their school's teachers."""
    return as_json(await _call(backends, "GetLeaderStanding", pb.GetLeaderStandingRequest(user_id=user_id), me))


@router.post("/courses/{course_id}/mooc-application", **returns(pb.MoocApplication, 201))
async def apply_for_mooc(course_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """An independent SPOC with ≥ 240 approved video minutes and ≥ 1 run applies to become a MOOC."""
    return as_json(await _call(backends, "ApplyForMooc", pb.ApplyForMoocRequest(course_id=course_id), me))


@router.get("/mooc-applications", **returns(page_of(pb.MoocApplication)))
async def list_mooc_applications(backends: Backends, me: SignedIn, paging: Paging, status: str = "") -> dict[str, Any]:
    """A school admin's view of the school's SPOC→MOOC applications."""
    reply = await _call(backends, "ListMoocApplications", pb.ListMoocApplicationsRequest(
        status=status, page_size=paging.page_size, page_token=paging.page_token), me)
    return page_json(list(reply.applications), reply.next_page_token, reply.total)


# ---- teaching plans (the course's, or a run's with ?run_id=) ------------------------------------

@router.get("/courses/{course_id}/plan", **returns(pb.Plan))
async def get_plan(course_id: str, backends: Backends, me: SignedIn, run_id: str = "") -> dict[str, Any]:
    """The plan, depth first, with video minutes per chapter and for the course."""
    return as_json(await _call(backends, "GetPlan", pb.GetPlanRequest(course_id=course_id, run_id=run_id), me))


@router.post("/courses/{course_id}/plan/nodes", **returns(pb.Plan, 201))
async def add_plan_node(course_id: str, body: PlanNodeBody, backends: Backends, me: SignedIn,
                        run_id: str = "") -> dict[str, Any]:
    request = pb.AddPlanNodeRequest(course_id=course_id, run_id=run_id, **body.model_dump())
    return as_json(await _call(backends, "AddPlanNode", request, me))


@router.patch("/courses/{course_id}/plan/nodes/{node_id}", **returns(pb.Plan))
async def update_plan_node(course_id: str, node_id: str, body: PlanNodeUpdateBody, backends: Backends,
                           me: SignedIn, run_id: str = "") -> dict[str, Any]:
    """Rename a node, or re-point a unit to another resource."""
    request = pb.UpdatePlanNodeRequest(course_id=course_id, run_id=run_id, node_id=node_id, **body.model_dump())
    return as_json(await _call(backends, "UpdatePlanNode", request, me))


@router.post("/courses/{course_id}/plan/nodes/{node_id}/move", **returns(pb.Plan))
async def move_plan_node(course_id: str, node_id: str, body: MoveBody, backends: Backends, me: SignedIn,
                         run_id: str = "") -> dict[str, Any]:
    """Up or down among its siblings; moving to another parent is refused."""
    request = pb.MovePlanNodeRequest(course_id=course_id, run_id=run_id, node_id=node_id, **body.model_dump())
    return as_json(await _call(backends, "MovePlanNode", request, me))


@router.delete("/courses/{course_id}/plan/nodes/{node_id}", **returns(pb.Plan))
async def delete_plan_node(course_id: str, node_id: str, backends: Backends, me: SignedIn, run_id: str = "",
                           recursive: bool = False) -> dict[str, Any]:
    """A node with children is deleted only with recursive=true."""
    request = pb.DeletePlanNodeRequest(course_id=course_id, run_id=run_id, node_id=node_id, recursive=recursive)
    return as_json(await _call(backends, "DeletePlanNode", request, me))


# ---- runs ------------------------------------------------------------------------------------------

@router.post("/courses/{course_id}/runs", **returns(pb.Run, 201))
async def open_run(course_id: str, body: RunBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Copies the parent's info, materials and plan (or the previous run's) and makes a public class."""
    return as_json(await _call(backends, "OpenRun", pb.OpenRunRequest(course_id=course_id, term_code=body.term_code),
                               me))


@router.get("/courses/{course_id}/runs", **returns(page_of(pb.Run)))
async def list_runs(course_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListRuns", pb.ListRunsRequest(course_id=course_id), me)
    return {"items": [as_json(r) for r in reply.runs], "next_page_token": "", "total": len(reply.runs)}


@router.get("/runs/{run_id}", **returns(pb.Run))
async def get_run(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "GetRun", pb.GetRunRequest(id=run_id), me))


@router.post("/runs/{run_id}/publish", **returns(pb.Run))
async def publish_run(run_id: str, body: RunBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Asks for the term and sends the run to the school admin for review."""
    return as_json(await _call(backends, "PublishRun", pb.PublishRunRequest(id=run_id, term_code=body.term_code), me))


@router.post("/runs/{run_id}/take-down", **returns(pb.Run))
async def take_down_run(run_id: str, body: ReasonBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A school admin takes a published or running run down, with a reason."""
    return as_json(await _call(backends, "TakeDownRun", pb.TakeDownRunRequest(id=run_id, reason=body.reason), me))


# ---- teams, classes, releases ---------------------------------------------------------------------

class MemberBody(BaseModel):
    user_id: str = Field(max_length=36, description="from GET /teachers?query=")
    permissions: list[Literal["edit_content", "manage_classes", "grade", "view_analytics"]] = Field(
        default_factory=list)


class ClassBody(BaseModel):
    name: str = Field(max_length=100)
    school_id: str = Field("", max_length=36, description="the leader only: a class for an adopting school")


class StudentsBody(BaseModel):
    student_numbers: list[str] = Field(max_length=5000)


class ReleaseBody(BaseModel):
    chapter_id: str = Field(max_length=36)
    release_at: datetime | None = Field(None, description="ISO 8601 with a time zone; empty: now")


@router.get("/teachers", **returns(page_of(pb.TeacherCard)))
async def find_teachers(query: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Teachers of any school by account, phone or name: tutor teachers for a run's team."""
    reply = await _call(backends, "FindTeachers", pb.FindTeachersRequest(query=query), me)
    return {"items": [as_json(t) for t in reply.teachers], "next_page_token": "", "total": len(reply.teachers)}


@router.get("/runs/{run_id}/team", **returns(pb.Team))
async def get_team(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "GetTeam", pb.GetTeamRequest(run_id=run_id), me))


@router.post("/runs/{run_id}/team", **returns(pb.Team, 201))
async def add_team_member(run_id: str, body: MemberBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The leader adds a teacher (of any school) with the permissions they choose; adding again changes them."""
    request = pb.AddTeamMemberRequest(run_id=run_id, user_id=body.user_id, permissions=body.permissions)
    return as_json(await _call(backends, "AddTeamMember", request, me))


@router.delete("/runs/{run_id}/team/{user_id}", **returns(pb.Team))
async def remove_team_member(run_id: str, user_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Their classes stay."""
    return as_json(await _call(backends, "RemoveTeamMember", pb.RemoveTeamMemberRequest(run_id=run_id,
                                                                                         user_id=user_id), me))


@router.get("/runs/{run_id}/classes", **returns(page_of(pb.CourseClass)))
async def list_classes(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListClasses", pb.ListClassesRequest(run_id=run_id), me)
    return {"items": [as_json(c) for c in reply.classes], "next_page_token": "", "total": len(reply.classes)}


@router.post("/runs/{run_id}/classes", **returns(pb.CourseClass, 201))
async def create_class(run_id: str, body: ClassBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A team teacher with manage_classes makes a class for their own school's students."""
    return as_json(await _call(backends, "CreateClass", pb.CreateClassRequest(run_id=run_id, **body.model_dump()),
                               me))


@router.get("/classes/{class_id}/students", **returns(pb.ClassRoster))
async def class_roster(class_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A class and its students (number, name, school): for the run's team and the admins of the run's school and
    of the class's school."""
    reply = await _call(backends, "GetClassRoster", pb.GetClassRosterRequest(class_id=class_id), me)
    return await json_off_loop(lambda: as_json(reply))  # type: ignore[return-value]


@router.post("/classes/{class_id}/students", **returns(pb.ClassStudentsReport))
async def add_class_students(class_id: str, body: StudentsBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Existing accounts by student number; unknown numbers come back, and (`over_limit`) the students not added
    because they already take the most online courses at once their school's policy allows."""
    request = pb.AddClassStudentsRequest(class_id=class_id, student_numbers=body.student_numbers)
    return as_json(await _call(backends, "AddClassStudents", request, me))


@router.post("/classes/{class_id}/imports", **returns(ClassImportAnswer))
async def import_class_students(class_id: str, backends: Backends, me: SignedIn,
                                file: Annotated[UploadFile, File(description="CSV/XLSX: number, name, phone, ...")]
                                ) -> dict[str, Any]:
    """A student list; accounts that do not exist yet are created by identity, their one-time passwords on a
    credentials sheet the importing teacher downloads once from `credentials_sheet_url`. Students already taking
    the most online courses at once their policy allows are not added: `over_limit` lists them with the courses."""
    request = pb.ImportClassStudentsRequest(class_id=class_id, filename=file.filename or "", content=await file.read())
    reply = await _call(backends, "ImportClassStudents", request, me)

    def report() -> dict[str, Any]:
        body = as_json(reply)
        if body["credentials_sheet_id"]:
            body["credentials_sheet_url"] = sheet_url(body["credentials_sheet_id"], body["credentials_sheet_key"])
        return body

    return await json_off_loop(report)  # type: ignore[return-value]


@router.post("/classes/{class_id}/releases", **returns(pb.CourseClass))
async def release_chapter(class_id: str, body: ReleaseBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Opens a chapter of the run's plan to the class, now or on a date."""
    request = pb.ReleaseChapterRequest(class_id=class_id, chapter_id=body.chapter_id)
    if body.release_at is not None:
        if body.release_at.tzinfo is None:
            raise HTTPException(400, "release_at needs a time zone, e.g. 2027-03-01T08:00:00+08:00")
        try:  # 9999-12-31T23:59:59-14:00 is past the last instant a timestamp holds
            request.release_at.FromDatetime(body.release_at.astimezone(UTC))
        except (OverflowError, ValueError) as error:
            raise HTTPException(400, "release_at is out of range: give a date between 0001 and 9999 (UTC)") from error
    return as_json(await _call(backends, "ReleaseChapter", request, me))


@router.post("/runs/{run_id}/join", **returns(pb.JoinRunResponse))
async def join_run(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A student joins a published run without a class and lands in its public class; refused (409,
    TOO_MANY_COURSES) when they already take the most online courses at once their policy allows."""
    return as_json(await _call(backends, "JoinRun", pb.JoinRunRequest(run_id=run_id), me))
