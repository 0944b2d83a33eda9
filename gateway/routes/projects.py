"""Course-building projects (在线开放课程立项建设, seed 004 四, seed 002 三): the leader's application through their
college, the expert panel and the school's approval (decided in the review queues), the pre-launch check, the
completion acceptance and the title, the funding tranches and the spending within the caps."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.course.v1 import course_pb2 as pb
from gateway.openapi_types import returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json
from gateway.routing import Router

router = Router(tags=["projects"], dependencies=[NoNulCharacters])
LONG = 5_000


class TeachingRecordBody(BaseModel):
    course_name: str = Field(max_length=100)
    category: str = Field("", max_length=100)
    audience: str = Field("", max_length=100)
    class_hours: float = Field(0, ge=0, le=1000)
    listeners_per_year: int = Field(0, ge=0, le=1_000_000)


class TeamMemberBody(BaseModel):
    user_id: str = Field("", max_length=36, description="their account, when they have one")
    name: str = Field(max_length=100)
    kind: Literal["teacher", "assistant", "technical"] = Field(description="主讲教师, 助教, 技术支持")
    title: str = Field("", max_length=100, description="专业技术职务")
    discipline: str = Field("", max_length=100, description="从事学科")
    task: str = Field(max_length=500, description="承担教学任务")
    birth_month: str = Field("", max_length=7, description="YYYY-MM")


class ProjectFormBody(BaseModel):
    """The application form (申报表, seed 004 annex 1)."""

    course_id: str = Field(max_length=36, description="a parent course you lead")
    discipline: str = Field(max_length=100, description="所属学科")
    audience: str = Field(max_length=100, description="授课对象")
    class_hours: float = Field(gt=0, le=1000, description="学时")
    leader_title: str = Field(max_length=100, description="专业技术职务")
    leader_degree: str = Field("", max_length=100)
    leader_phone: str = Field("", max_length=20)
    leader_email: str = Field("", max_length=254)
    leader_teaching: list[TeachingRecordBody] = Field(max_length=20, description="近三年相关课程主讲情况")
    leader_research: str = Field(max_length=LONG, description="教学研究情况（近三年）")
    team: list[TeamMemberBody] = Field(max_length=30, description="教学团队其他教师、助教、技术支持")
    foundation: str = Field(max_length=LONG, description="课程建设基础")
    design: str = Field(max_length=LONG, description="课程设计")
    goals_plan: str = Field(max_length=LONG, description="建设目标和实施方案")
    expected_results: str = Field(max_length=LONG, description="预期成果和效果")
    attachment_ids: list[str] = Field([], max_length=20, description="your files (实证材料), ready and approved")


class SpendingBody(BaseModel):
    category: Literal["research_meetings", "production", "equipment", "maintenance", "labour", "other"]
    amount: float = Field(gt=0, le=10_000_000, description="yuan")
    note: str = Field("", max_length=500)


class TitleRevocationBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


@router.post("/projects", **returns(pb.Project, 201))
async def apply(body: ProjectFormBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A course's leader applies for its building project with the form; it goes to their college to recommend
    (refused while they are barred after a terminated project, or lead a stopped course)."""
    form = pb.ProjectForm(**body.model_dump(exclude={"leader_teaching", "team"}),
                          leader_teaching=[pb.ProjectTeachingRecord(**r.model_dump()) for r in body.leader_teaching],
                          team=[pb.ProjectTeamMember(**m.model_dump()) for m in body.team])
    return as_json(await backends.course.ApplyProject(pb.ApplyProjectRequest(form=form), metadata=me.metadata,
                                                      timeout=TIMEOUT))


@router.get("/projects", **returns(pb.ListProjectsResponse))
async def list_projects(backends: Backends, me: SignedIn, state: str = Query("", max_length=20),
                        school_id: str = Query("", max_length=36)) -> dict[str, Any]:
    """A teacher's own projects, a college admin's college's, a school admin's school's."""
    return as_json(await backends.course.ListProjects(pb.ListProjectsRequest(state=state, school_id=school_id),
                                                      metadata=me.metadata, timeout=TIMEOUT))


@router.get("/projects/{project_id}", **returns(pb.Project))
async def get_project(project_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The project with its form, deadlines, tranches, spending and history."""
    return as_json(await backends.course.GetProject(pb.GetProjectRequest(project_id=project_id),
                                                    metadata=me.metadata, timeout=TIMEOUT))


@router.post("/projects/{project_id}/prelaunch-check", **returns(pb.Project))
async def request_prelaunch_check(project_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The leader asks for the pre-launch check (上线审核) once the online resources are built; the measured facts
    go with it to the school."""
    return as_json(await backends.course.RequestPrelaunchCheck(pb.ProjectActionRequest(project_id=project_id),
                                                               metadata=me.metadata, timeout=TIMEOUT))


@router.post("/projects/{project_id}/acceptance", **returns(pb.Project))
async def request_acceptance(project_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The leader asks for the completion acceptance (结项验收) once the course has run; the school's panel scores it
    against the school's rubric, the measured facts beside."""
    return as_json(await backends.course.RequestProjectAcceptance(pb.ProjectActionRequest(project_id=project_id),
                                                                  metadata=me.metadata, timeout=TIMEOUT))


@router.post("/projects/{project_id}/spending", **returns(pb.Project, 201))
async def record_spending(project_id: str, body: SpendingBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The leader records money spent from the released funds, by category (research and meetings at most 20% of
    the budget, the team's labour allowances at most 10%: the school's policy)."""
    return as_json(await backends.course.RecordSpending(pb.RecordSpendingRequest(project_id=project_id,
                                                                                 **body.model_dump()),
                                                        metadata=me.metadata, timeout=TIMEOUT))


@router.post("/courses/{course_id}/title/revoke", **returns(pb.Course))
async def revoke_title(course_id: str, body: TitleRevocationBody, backends: Backends,
                       me: SignedIn) -> dict[str, Any]:
    """The school takes the title 校级在线开放课程 from a course that no longer runs normally, with a reason."""
    return as_json(await backends.course.RevokeCourseTitle(
        pb.RevokeCourseTitleRequest(course_id=course_id, reason=body.reason), metadata=me.metadata, timeout=TIMEOUT))
