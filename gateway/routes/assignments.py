"""Learning: assignments (the learning service's AssignmentService) — set by the team, answered with text and files,
graded by the team on a rubric or by peers from a review queue — and course notices (NoticeService)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import File, Form, UploadFile
from pydantic import BaseModel, Field

from contracts.learning.v1 import assignments_pb2 as pb
from contracts.learning.v1 import notices_pb2 as notices_pb
from gateway.openapi_types import items_of, page_of, returns
from gateway.problems import Problem
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json, page_json
from gateway.routing import Router
from servicekit.clock import timestamp

router = Router(tags=["assignments"], dependencies=[NoNulCharacters])
SUBMIT_TIMEOUT = 120.0  # files are stored before the answer returns
MAX_FILES = 5


class CriterionBody(BaseModel):
    title: str = Field(max_length=200)
    points: float = Field(gt=0, le=1000)
    description: str = Field("", max_length=5_000)


class AssignmentBody(BaseModel):
    title: str = Field(max_length=200)
    brief: str = Field("", max_length=20_000)
    grading_mode: Literal["team", "peer"]
    pool: Literal["run", "class"] = Field("run", description="peer mode: reviewers from the whole run (across "
                                                             "schools) or from the author's class")
    rubric: list[CriterionBody] = Field(max_length=20)
    opens_at: datetime | None = None
    deadline: datetime
    late_until: datetime | None = Field(None, description="late submissions accepted until then (unset: none)")
    weight: float = Field(0, ge=0, le=1000, description="among the run's assignments; 0 = 1")


class ReviewBody(BaseModel):
    scores: list[float] = Field(max_length=20, description="one per rubric criterion, 0..its points")
    comment: str = Field(max_length=5_000)


class GradeBody(BaseModel):
    scores: list[float] = Field(max_length=20)
    comment: str = Field("", max_length=5_000)
    reason: str = Field("", max_length=1_000, description="required when it overrides or settles a peer grade")


async def _call(backends: Any, method: str, request: Any, me: Any, seconds: float = TIMEOUT) -> Any:
    return await getattr(backends.assignments, method)(request, metadata=me.metadata, timeout=seconds)


@router.post("/learning/runs/{run_id}/assignments", **returns(pb.Assignment, 201))
async def create_assignment(run_id: str, body: AssignmentBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The team (edit_content); a peer-graded assignment keeps the policy's review numbers in force now."""
    request = pb.CreateAssignmentRequest(
        run_id=run_id, title=body.title, brief=body.brief, grading_mode=body.grading_mode, pool=body.pool,
        rubric=[pb.Criterion(**c.model_dump()) for c in body.rubric], opens_at=timestamp(body.opens_at),
        deadline=timestamp(body.deadline), late_until=timestamp(body.late_until), weight=body.weight)
    return as_json(await _call(backends, "CreateAssignment", request, me))


@router.get("/learning/runs/{run_id}/assignments", **returns(items_of(pb.Assignment)))
async def list_assignments(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListAssignments", pb.ListAssignmentsRequest(run_id=run_id), me)
    return {"items": [as_json(a) for a in reply.assignments]}


@router.get("/learning/assignments/{assignment_id}", **returns(pb.Assignment))
async def get_assignment(assignment_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "GetAssignment", pb.GetAssignmentRequest(id=assignment_id), me))


@router.post("/learning/assignments/{assignment_id}/submission", **returns(pb.Submission))
async def submit(
    assignment_id: str, backends: Backends, me: SignedIn,
    text: Annotated[str, Form(max_length=50_000)] = "",
    files: Annotated[list[UploadFile] | None, File(description=f"at most {MAX_FILES} files of 10 MiB")] = None,
    keep: Annotated[list[str] | None, Form(description="ids of the earlier submission's files to keep")] = None,
) -> dict[str, Any]:
    """A student's answer, replaced whole until the deadline (or the late cut-off): text and files (PDF, Office,
    images, ZIP, UTF-8 text), checked by their bytes."""
    uploads = files or []
    if len(uploads) > MAX_FILES:
        raise Problem(400, f"a submission has at most {MAX_FILES} files", "TOO_MANY_FILES")
    request = pb.SubmitRequest(
        assignment_id=assignment_id, text=text, keep_attachment_ids=keep or [],
        attachments=[pb.AttachmentUpload(filename=f.filename or "", content=await f.read()) for f in uploads])
    return as_json(await _call(backends, "Submit", request, me, SUBMIT_TIMEOUT))


@router.get("/learning/assignments/{assignment_id}/submission", **returns(pb.Submission))
async def my_submission(assignment_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The caller's own submission with its grade and the reviews it received (reviewers not named)."""
    request = pb.GetMySubmissionRequest(assignment_id=assignment_id)
    return as_json(await _call(backends, "GetMySubmission", request, me))


@router.post("/learning/assignments/{assignment_id}/reviews/next", **returns(pb.ReviewTask))
async def next_review(assignment_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The caller's review under way, or the next submission from the queue (author not named), with a lease."""
    return as_json(await _call(backends, "NextReview", pb.NextReviewRequest(assignment_id=assignment_id), me))


@router.get("/learning/assignments/{assignment_id}/reviews", **returns(items_of(pb.ReviewTask)))
async def my_reviews(assignment_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListMyReviews", pb.ListMyReviewsRequest(assignment_id=assignment_id), me)
    return {"items": [as_json(r) for r in reply.reviews]}


@router.put("/learning/peer-reviews/{review_id}", **returns(pb.ReviewTask))
async def submit_review(review_id: str, body: ReviewBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Scores per criterion and a comment, before the lease runs out; a finished review does not change."""
    request = pb.SubmitReviewRequest(review_id=review_id, scores=body.scores, comment=body.comment)
    return as_json(await _call(backends, "SubmitReview", request, me))


@router.get("/learning/assignments/{assignment_id}/submissions", **returns(page_of(pb.Submission)))
async def list_submissions(assignment_id: str, backends: Backends, me: SignedIn, paging: Paging, class_id: str = "",
                           state: Literal["", "submitted", "pending", "escalated", "graded"] = "") -> dict[str, Any]:
    """The team reads the whole run's; a class's staff names the class."""
    reply = await _call(backends, "ListSubmissions", pb.ListSubmissionsRequest(
        assignment_id=assignment_id, class_id=class_id, state=state, page_size=paging.page_size,
        page_token=paging.page_token), me)
    return page_json(list(reply.submissions), reply.next_page_token, reply.total)


@router.post("/learning/submissions/{submission_id}/grade", **returns(pb.Submission))
async def grade_submission(submission_id: str, body: GradeBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The team (grade permission): a team-graded assignment's grade, or a peer grade settled or overridden."""
    request = pb.GradeSubmissionRequest(submission_id=submission_id, scores=body.scores, comment=body.comment,
                                        reason=body.reason)
    return as_json(await _call(backends, "GradeSubmission", request, me))


@router.get("/learning/submissions/{submission_id}/attachments/{attachment_id}", **returns(pb.AttachmentLink))
async def attachment_link(submission_id: str, attachment_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A ten-minute link to the file, for the author, the reviewers and the run's staff."""
    request = pb.GetAttachmentLinkRequest(submission_id=submission_id, attachment_id=attachment_id)
    return as_json(await _call(backends, "GetAttachmentLink", request, me))


# ---- course notices (the learning service's NoticeService) ----

class NoticeBody(BaseModel):
    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    class_id: str = Field("", max_length=36, description="one class of the run ('' = the whole run)")


@router.post("/learning/runs/{run_id}/notices", **returns(notices_pb.Notice, 201))
async def post_notice(run_id: str, body: NoticeBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The run's team (any member) posts to the whole run or to one class."""
    request = notices_pb.PostNoticeRequest(run_id=run_id, **body.model_dump())
    return as_json(await backends.notices.PostNotice(request, metadata=me.metadata, timeout=TIMEOUT))


@router.get("/learning/runs/{run_id}/notices", **returns(notices_pb.ListNoticesResponse))
async def list_notices(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A student's (run-wide and their class's, with read marks and the unread count), or all for the staff."""
    request = notices_pb.ListNoticesRequest(run_id=run_id)
    return as_json(await backends.notices.ListNotices(request, metadata=me.metadata, timeout=TIMEOUT))


@router.post("/learning/notices/{notice_id}/read", **returns(notices_pb.Notice))
async def mark_notice_read(notice_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    request = notices_pb.MarkNoticeReadRequest(notice_id=notice_id)
    return as_json(await backends.notices.MarkNoticeRead(request, metadata=me.metadata, timeout=TIMEOUT))
