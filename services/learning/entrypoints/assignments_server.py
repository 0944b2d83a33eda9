"""Wires the learning service's assignments and peer reviews into its host, and translates learning.v1
AssignmentService requests into handler calls. Reviewers never see whose work they review, nor authors who
reviewed theirs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from contracts.learning.v1 import assignments_pb2 as pb
from contracts.learning.v1 import assignments_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.errors import InvalidArgument
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from servicekit.schedule import SWEEP_DEFAULT_SECONDS, SWEEP_ENV, every
from services.learning.adapters.assignment_tables import AssignmentRow
from services.learning.adapters.attachments import AttachmentStore, StoredFile
from services.learning.adapters.course import CoursePeer
from services.learning.domain.peer_review import Criterion
from services.learning.service_layer.assignments import (
    AssignmentHandlers,
    AssignmentSpec,
    AssignmentView,
    SubmissionView,
    Upload,
    files_of,
    policy_of,
    rubric_of,
)
from services.learning.service_layer.exam_peer import ExamPeerGrading
from services.learning.service_layer.peer_reviews import PeerReviewHandlers, ReviewTask
from services.learning.service_layer.reminders import AssignmentReminders

SERVICE = "learning.v1.AssignmentService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer, store: AttachmentStore) -> None:
    assignments = AssignmentHandlers(runtime.db, course, store)
    reviews = PeerReviewHandlers(runtime.db, assignments)
    host.add_servicer(assignments_pb2_grpc.add_AssignmentServiceServicer_to_server,
                      AssignmentServicer(assignments, reviews), SERVICE)
    host.workers.append(every(SWEEP_ENV, SWEEP_DEFAULT_SECONDS, AssignmentReminders(runtime.db, course).sweep))
    host.workers.append(every(SWEEP_ENV, SWEEP_DEFAULT_SECONDS, ExamPeerGrading(runtime.db, course).sweep))


# ---- translation --------------------------------------------------------------------------------------

def _when(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def rubric_messages(row: AssignmentRow) -> list[pb.Criterion]:
    return [pb.Criterion(title=c.title, points=c.points, description=c.description) for c in rubric_of(row)]


def assignment_message(view: AssignmentView) -> pb.Assignment:
    row = view.row
    message = pb.Assignment(
        id=row.id, run_id=row.run_id, title=row.title, brief=row.brief, grading_mode=row.grading_mode, pool=row.pool,
        rubric=rubric_messages(row), total_points=row.total_points, opens_at=timestamp(row.opens_at),
        deadline=timestamp(row.deadline), late_until=timestamp(row.late_until), weight=row.weight,
        submissions=view.submissions, escalated=view.escalated, created_at=timestamp(row.created_at))
    if row.grading_mode == "peer":
        policy = policy_of(row)
        message.peer.CopyFrom(pb.PeerSettings(
            reviews_each=policy.reviews_each, reviews_needed=policy.reviews_needed, lease_hours=policy.lease_hours,
            spread_percent=policy.spread_percent, relax_after_hours=policy.relax_after_hours,
            relaxed_needed=policy.relaxed_needed, missed_review_percent=policy.missed_review_percent))
    return message


def attachment_messages(files: list[StoredFile]) -> list[pb.Attachment]:
    return [pb.Attachment(id=f.id, filename=f.filename, content_type=f.content_type, size=f.size) for f in files]


def submission_message(view: SubmissionView) -> pb.Submission:
    row, standing = view.row, view.standing
    message = pb.Submission(
        id=row.id, assignment_id=row.assignment_id, student_id=row.student_id, student_name=row.student_name,
        student_number=row.student_number, class_id=row.class_id, text=row.text,
        attachments=attachment_messages(files_of(row)), submitted_at=timestamp(row.submitted_at), late=row.late,
        state=standing.state, graded=standing.points is not None, reviews_finished=standing.reviews_finished,
        reviews_needed=standing.reviews_needed, reviews_owed=standing.owed, reviews_done=standing.done,
        penalty_percent=standing.penalty_percent, override_reason=row.override_reason,
        team_scores=json.loads(row.team_scores_json or "[]"), team_comment=row.team_comment,
        reviews=[pb.ReceivedReview(scores=json.loads(r.scores_json), total=r.total, comment=r.comment,
                                   finished_at=timestamp(r.finished_at)) for r in standing.reviews])
    if standing.points is not None:
        message.points = standing.points
        message.score = standing.score(view.assignment.total_points) or 0.0
        message.graded_by = row.graded_by if row.team_points is not None else "peers"
    if standing.peer_points is not None:
        message.peer_points = standing.peer_points
    return message


def task_message(task: ReviewTask) -> pb.ReviewTask:
    review = task.review
    return pb.ReviewTask(
        id=review.id, assignment_id=review.assignment_id, submission_text=task.submission.text,
        attachments=attachment_messages(files_of(task.submission)), rubric=rubric_messages(task.assignment),
        lease_expires_at=timestamp(review.lease_expires_at), finished=review.finished_at is not None,
        scores=json.loads(review.scores_json or "[]"), total=review.total, comment=review.comment,
        reviews_owed=task.owed, reviews_done=task.done, submission_id=review.submission_id)


class AssignmentServicer(assignments_pb2_grpc.AssignmentServiceServicer):
    def __init__(self, assignments: AssignmentHandlers, reviews: PeerReviewHandlers) -> None:
        self.assignments = assignments
        self.reviews = reviews

    async def CreateAssignment(self, request, context):  # type: ignore[no-untyped-def]
        deadline = _when(request.deadline, request.HasField("deadline"))
        if deadline is None:
            raise InvalidArgument("an assignment has a deadline")
        spec = AssignmentSpec(
            run_id=request.run_id, title=request.title, brief=request.brief, grading_mode=request.grading_mode,
            pool=request.pool or "run",
            rubric=[Criterion(c.title, c.points, c.description) for c in request.rubric],
            opens_at=_when(request.opens_at, request.HasField("opens_at")), deadline=deadline,
            late_until=_when(request.late_until, request.HasField("late_until")), weight=request.weight)
        return assignment_message(await self.assignments.create(require_caller(), spec))

    async def ListAssignments(self, request, context):  # type: ignore[no-untyped-def]
        views = await self.assignments.list(require_caller(), request.run_id)
        return pb.ListAssignmentsResponse(assignments=[assignment_message(v) for v in views])

    async def GetAssignment(self, request, context):  # type: ignore[no-untyped-def]
        return assignment_message(await self.assignments.get(require_caller(), request.id))

    async def Submit(self, request, context):  # type: ignore[no-untyped-def]
        uploads = [Upload(a.filename, a.content) for a in request.attachments]
        view = await self.assignments.submit(require_caller(), request.assignment_id, request.text, uploads,
                                             list(request.keep_attachment_ids))
        return submission_message(view)

    async def GetMySubmission(self, request, context):  # type: ignore[no-untyped-def]
        return submission_message(await self.assignments.my_submission(require_caller(), request.assignment_id))

    async def NextReview(self, request, context):  # type: ignore[no-untyped-def]
        return task_message(await self.reviews.next_review(require_caller(), request.assignment_id))

    async def SubmitReview(self, request, context):  # type: ignore[no-untyped-def]
        task = await self.reviews.submit_review(require_caller(), request.review_id, list(request.scores),
                                                request.comment)
        return task_message(task)

    async def ListMyReviews(self, request, context):  # type: ignore[no-untyped-def]
        tasks = await self.reviews.my_reviews(require_caller(), request.assignment_id)
        return pb.ListMyReviewsResponse(reviews=[task_message(t) for t in tasks])

    async def ListSubmissions(self, request, context):  # type: ignore[no-untyped-def]
        views, token, total = await self.assignments.submissions(
            require_caller(), request.assignment_id, request.class_id, request.state, request.page_size,
            request.page_token)
        return pb.ListSubmissionsResponse(submissions=[submission_message(v) for v in views],
                                          next_page_token=token, total=total)

    async def GradeSubmission(self, request, context):  # type: ignore[no-untyped-def]
        view = await self.assignments.grade(require_caller(), request.submission_id, list(request.scores),
                                            request.comment, request.reason)
        return submission_message(view)

    async def GetAttachmentLink(self, request, context):  # type: ignore[no-untyped-def]
        url, expires = await self.assignments.attachment_link(require_caller(), request.submission_id,
                                                              request.attachment_id)
        return pb.AttachmentLink(url=url, expires_at=timestamp(expires))
