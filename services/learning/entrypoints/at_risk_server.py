"""Wires the learning service's at-risk learners (学习预警) into its host — the AtRiskService and the daily sweep —
and translates learning.v1 AtRiskService requests."""

from __future__ import annotations

from contracts.learning.v1 import at_risk_pb2 as pb
from contracts.learning.v1 import at_risk_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from servicekit.schedule import SWEEP_DEFAULT_SECONDS, SWEEP_ENV, every
from services.learning.adapters import at_risk_tables  # noqa: F401  (its tables on the service's metadata)
from services.learning.adapters.at_risk_tables import AtRiskFlagRow, FollowUpRow
from services.learning.adapters.course import CoursePeer
from services.learning.service_layer.at_risk import AtRiskHandlers, FlagView, FollowUpSpec, reasons_of

SERVICE = "learning.v1.AtRiskService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> list[Subscription]:
    handlers = AtRiskHandlers(runtime.db, course)
    host.add_servicer(at_risk_pb2_grpc.add_AtRiskServiceServicer_to_server, AtRiskServicer(handlers), SERVICE)
    host.workers.append(every(SWEEP_ENV, SWEEP_DEFAULT_SECONDS, handlers.sweep))
    return []


def reason_messages(row: AtRiskFlagRow) -> list[pb.AtRiskReason]:
    return [pb.AtRiskReason(rule=r.rule, detail=r.detail, value=r.value, limit=r.limit) for r in reasons_of(row)]


def student_message(view: FlagView) -> pb.AtRiskStudent:
    row = view.row
    return pb.AtRiskStudent(student_id=row.student_id, number=row.number, name=row.name, class_id=row.class_id,
                            class_name=row.class_name, flagged_on=row.day, reasons=reason_messages(row),
                            completion=row.completion, last_activity_at=timestamp(row.last_activity_at),
                            reminded_at=timestamp(view.reminded_at), follow_ups=view.follow_ups,
                            last_follow_up_at=timestamp(view.last_follow_up_at))


def follow_up_message(row: FollowUpRow) -> pb.FollowUp:
    return pb.FollowUp(id=row.id, run_id=row.run_id, student_id=row.student_id, teacher_id=row.teacher_id,
                       teacher_name=row.teacher_name, contacted_on=row.contacted_on, channel=row.channel,
                       notes=row.notes, outcome=row.outcome, created_at=timestamp(row.created_at))


class AtRiskServicer(at_risk_pb2_grpc.AtRiskServiceServicer):
    def __init__(self, handlers: AtRiskHandlers) -> None:
        self.handlers = handlers

    async def ListAtRisk(self, request, context):  # type: ignore[no-untyped-def]
        day, views = await self.handlers.list(require_caller(), request.run_id, request.class_id)
        return pb.ListAtRiskResponse(run_id=request.run_id, swept_on=day,
                                     students=[student_message(v) for v in views])

    async def RecordFollowUp(self, request, context):  # type: ignore[no-untyped-def]
        row = await self.handlers.record_follow_up(require_caller(), FollowUpSpec(
            request.run_id, request.student_id, request.contacted_on, request.channel, request.notes,
            request.outcome))
        return follow_up_message(row)

    async def GetAtRiskHistory(self, request, context):  # type: ignore[no-untyped-def]
        history = await self.handlers.history(require_caller(), request.run_id, request.student_id)
        student = history.context
        return pb.AtRiskHistory(
            run_id=request.run_id, student_id=student.student_id, number=student.student_number,
            name=student.student_name,
            flags=[pb.AtRiskFlag(flagged_on=f.day, reasons=reason_messages(f), reminded=f.reminded)
                   for f in history.flags],
            follow_ups=[follow_up_message(f) for f in history.follow_ups])
