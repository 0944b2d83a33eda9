"""Learning: my courses, a run's plan as the student's class sees it, playing units, and video progress."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from contracts.learning.v1 import learning_pb2 as pb
from gateway.heartbeats import STATUS_BY_VALUE
from gateway.openapi_types import items_of, returns
from gateway.problems import HTTP_STATUS, Problem
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json, bearer_scheme
from gateway.routing import Router

router = Router(tags=["learning"], dependencies=[NoNulCharacters])
# The heartbeat, the platform's hottest route: its body holds numbers only and its path an id of a fixed shape, so
# it skips the NUL check (which parses the body a second time).
heartbeats = Router(tags=["learning"])
MAX_SEGMENTS = 500
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
PLAY_ID = Path(pattern=r"^[0-9a-f-]{36}$", description="the play_id from starting a play")


class SegmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=1, description="per play session, from 1; a segment sent again is answered, not counted")
    from_seconds: float = Field(ge=0, le=24 * 3600)
    to_seconds: float = Field(ge=0, le=24 * 3600)
    hidden: bool = Field(False, description="the page was hidden (document.visibilityState) while it played")
    event: Literal["heartbeat", "pause", "seek", "ended"] = "heartbeat"


class ProgressBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segments: list[SegmentBody] = Field(min_length=1, max_length=MAX_SEGMENTS,
                                        description="in order; an offline player sends what it kept, at once")


@router.get("/me/courses", **returns(items_of(pb.MyCourse)))
async def my_courses(backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The student's enrolments: run, term, class, course-hours completion, the next unit and what is due."""
    reply = await backends.learning.ListMyCourses(pb.ListMyCoursesRequest(), metadata=me.metadata, timeout=TIMEOUT)
    return {"items": [as_json(c) for c in reply.courses]}


@router.get("/learning/runs/{run_id}/plan", **returns(pb.StudyPlan))
async def study_plan(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The run's plan for the caller's class: unreleased chapters show their titles and opening time only."""
    return as_json(await backends.learning.GetStudyPlan(pb.GetStudyPlanRequest(run_id=run_id),
                                                        metadata=me.metadata, timeout=TIMEOUT))


@router.post("/learning/runs/{run_id}/units/{unit_id}/plays", **returns(pb.Play, 201))
async def start_play(run_id: str, unit_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A play session for heartbeats and a playback grant for the media service's playback routes."""
    return as_json(await backends.learning.StartPlay(pb.StartPlayRequest(run_id=run_id, unit_id=unit_id),
                                                     metadata=me.metadata, timeout=TIMEOUT))


@heartbeats.post("/learning/plays/{play_id}/progress", **returns(pb.ProgressReceipt))
async def report_progress(play_id: Annotated[str, PLAY_ID], body: ProgressBody, request: Request,
                          credentials: BearerCredentials) -> dict[str, Any]:
    """Watched segments (every 10-15 s while playing, and on pause, seek and end). Each is answered: credited,
    or why not (skipped ahead, too fast, hidden, already received). The token is verified by the learning service
    (heartbeats travel there in batches). Well-formed heartbeats are answered by gateway.heartbeats.HeartbeatFastPath
    before they reach this route, with the same result; this route answers the rest."""
    if credentials is None:
        raise HTTPException(401, "sign in first: send Authorization: Bearer <access token>")
    report = pb.ReportProgressRequest(play_id=play_id, segments=[
        pb.Segment(seq=s.seq, from_seconds=s.from_seconds, to_seconds=s.to_seconds, hidden=s.hidden, event=s.event)
        for s in body.segments])
    result = await request.app.state.heartbeats.report(credentials.credentials, report)
    if result.code:
        raise Problem(HTTP_STATUS.get(STATUS_BY_VALUE.get(result.code), 500), result.message, result.reason)
    return as_json(result.receipt)


@router.get("/learning/runs/{run_id}/progress", **returns(pb.RunProgress))
async def run_progress(run_id: str, backends: Backends, me: SignedIn, student_id: str = "") -> dict[str, Any]:
    """A student's progress per unit: the student's own, or (for the team and admins) the named student's."""
    return as_json(await backends.learning.GetRunProgress(
        pb.GetRunProgressRequest(run_id=run_id, student_id=student_id), metadata=me.metadata, timeout=TIMEOUT))


@router.get("/learning/classes/{class_id}/progress", **returns(pb.ListClassProgressResponse))
async def class_progress(class_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Every student of a class with course-hours completion (the team, the school's admins)."""
    return as_json(await backends.learning.ListClassProgress(pb.ListClassProgressRequest(class_id=class_id),
                                                             metadata=me.metadata, timeout=TIMEOUT))
