"""Translates learning.v1 LearningService requests into handler calls."""

from __future__ import annotations

import asyncio

from contracts.learning.v1 import learning_pb2 as pb
from contracts.learning.v1 import learning_pb2_grpc
from servicekit.auth import TokenVerifier, require_caller
from servicekit.errors import DomainError, PermissionDenied
from servicekit.grpc_server import status_for
from services.learning.domain.progress import HEARTBEAT_SECONDS, Report
from services.learning.service_layer.activity_counts import activity_counts
from services.learning.service_layer.progress import ProgressHandlers, Receipt, completion, unit_nodes
from services.learning.service_layer.studies import StudyHandlers

SERVICE = "learning.v1.LearningService"


def receipt_message(receipt: Receipt) -> pb.ProgressReceipt:
    return pb.ProgressReceipt(
        play_id=receipt.play_id, credited_seconds=receipt.credited_seconds,
        duration_seconds=receipt.duration_seconds, unit_completed=receipt.unit_completed,
        run_completion=receipt.run_completion,
        results=[pb.SegmentResult(seq=o.seq, credited=o.credited, credited_seconds=o.added_seconds,
                                  refusal=o.refusal) for o in receipt.outcomes])


class LearningServicer(learning_pb2_grpc.LearningServiceServicer):
    def __init__(self, progress: ProgressHandlers, studies: StudyHandlers, verifier: TokenVerifier) -> None:
        self.progress = progress
        self.studies = studies
        self.verifier = verifier

    async def ListMyCourses(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ListMyCoursesResponse(courses=await self.studies.my_courses(require_caller()))

    async def GetStudyPlan(self, request, context):  # type: ignore[no-untyped-def]
        return await self.studies.study_plan(require_caller(), request.run_id)

    async def StartPlay(self, request, context):  # type: ignore[no-untyped-def]
        started = await self.progress.start_play(require_caller(), request.run_id, request.unit_id)
        play = pb.Play(play_id=started.play.id, asset_id=started.play.asset_id,
                       duration_seconds=started.play.duration_seconds, credited_seconds=started.credited_seconds,
                       grant=started.grant, heartbeat_seconds=HEARTBEAT_SECONDS, max_speed=started.play.max_speed,
                       counts=started.play.counts)
        play.grant_expires_at.FromDatetime(started.grant_expires_at)
        return play

    async def ReportProgress(self, request, context):  # type: ignore[no-untyped-def]
        reports = [Report(s.seq, s.from_seconds, s.to_seconds, s.hidden) for s in request.segments]
        return receipt_message(await self.progress.report(require_caller(), request.play_id, reports))

    async def ReportProgressBatch(self, request, context):  # type: ignore[no-untyped-def]
        """Each item as its own player's call: its token verified here, its refusal its own."""

        async def one(item: pb.BatchedReport) -> pb.BatchItemResult:
            try:
                caller = await self.verifier.verify(item.token)
                if caller.must_change_password:
                    raise PermissionDenied("change your one-time password first", reason="PASSWORD_CHANGE_REQUIRED")
                reports = [Report(s.seq, s.from_seconds, s.to_seconds, s.hidden) for s in item.report.segments]
                receipt = await self.progress.report(caller, item.report.play_id, reports)
            except DomainError as refusal:
                return pb.BatchItemResult(code=status_for(refusal).value[0], message=refusal.message,
                                          reason=refusal.reason)
            return pb.BatchItemResult(receipt=receipt_message(receipt))

        return pb.ReportProgressBatchResponse(results=await asyncio.gather(*(one(i) for i in request.items)))

    async def GetRunProgress(self, request, context):  # type: ignore[no-untyped-def]
        caller = require_caller()
        learner, units, completed_at = await self.progress.run_progress(caller, request.run_id, request.student_id)
        done, total = completion({u for u, row in units.items() if row.completed_at is not None}, learner)
        message = pb.RunProgress(run_id=request.run_id, student_id=learner.student_id or caller.user_id,
                                 completed_minutes=done / 60, total_minutes=total / 60,
                                 completion=done / total if total else 0.0)
        for unit_id, node in unit_nodes(learner).items():
            row = units.get(unit_id)
            message.units.add(unit_id=unit_id, duration_seconds=node.node.minutes * 60,
                              credited_seconds=row.credited_seconds if row else 0.0,
                              completed=bool(row and row.completed_at))
        if completed_at:
            message.completed_at.FromDatetime(completed_at)
        return message

    async def ListClassProgress(self, request, context):  # type: ignore[no-untyped-def]
        roster, total, done = await self.progress.class_progress(require_caller(), request.class_id)
        reply = pb.ListClassProgressResponse(run_id=getattr(roster, "class").run_id, total_minutes=total / 60)
        for student in roster.students:
            seconds = done.get(student.user_id, 0.0)
            reply.students.add(student_id=student.user_id, number=student.number, name=student.name,
                               completed_minutes=seconds / 60, completion=seconds / total if total else 0.0)
        return reply

    async def GetWatchedMinutes(self, request, context):  # type: ignore[no-untyped-def]
        minutes = await self.progress.watched_minutes(require_caller(), list(request.run_ids))
        return pb.WatchedMinutes(minutes_by_run=minutes)

    async def GetRunActivityCounts(self, request, context):  # type: ignore[no-untyped-def]
        return await activity_counts(self.progress.db, require_caller(), list(request.run_ids))
