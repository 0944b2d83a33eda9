"""Wires student evaluation of teaching into the learning service's host (learning.v1 EvaluationService): the
servicer, and the sweep that closes runs' evaluations and flags courses below good."""

from __future__ import annotations

from contracts.learning.v1 import evaluation_pb2 as pb
from contracts.learning.v1 import evaluation_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from servicekit.schedule import every
from services.learning.adapters.course import CoursePeer
from services.learning.domain.evaluation import GRADE_NAMES
from services.learning.service_layer.evaluation import (
    CourseResultView,
    EvaluationHandlers,
    Questionnaire,
    RunEvaluationView,
    RunScoreView,
    TeacherResultView,
)
from services.learning.service_layer.evaluation_scores import run_evaluation_scores

SERVICE = "learning.v1.EvaluationService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> list[Subscription]:
    evaluation = EvaluationHandlers(runtime.db, course)
    host.add_servicer(evaluation_pb2_grpc.add_EvaluationServiceServicer_to_server,
                      EvaluationServicer(evaluation), SERVICE)
    host.workers.append(every("LEARNING_SWEEP_SECONDS", 300, evaluation.close_due))
    return []


def questionnaire_message(questionnaire: Questionnaire) -> pb.EvaluationQuestionnaire:
    return pb.EvaluationQuestionnaire(school_id=questionnaire.school_id, version=questionnaire.version,
                            title=questionnaire.title, items=questionnaire.items,
                            created_at=timestamp(questionnaire.created_at), created_by=questionnaire.created_by)


def run_evaluation_message(view: RunEvaluationView) -> pb.RunEvaluation:
    return pb.RunEvaluation(run_id=view.run_id, course_name=view.course_name, term_code=view.term_code,
                            opens_at=timestamp(view.window.opens_at), closes_at=timestamp(view.window.closes_at),
                            open=view.open, submitted=view.submitted,
                            questionnaire=questionnaire_message(view.questionnaire))


def run_score_message(view: RunScoreView) -> pb.RunEvaluationScore:
    row = view.row
    return pb.RunEvaluationScore(
        run_id=row.run_id, run_number=row.run_number, term_code=row.term_code, answers=view.answers,
        scored=view.score is not None, score=view.score or 0.0, grade=view.grade,
        grade_name=GRADE_NAMES.get(view.grade, ""), closed=row.closed_at is not None,
        closes_at=timestamp(row.closes_at), good_score=view.good_score,
        items=[pb.EvaluationItemScore(item=text, mean_rating=mean, answers=n) for text, mean, n in view.items],
        comments=view.comments)


def course_result_message(view: CourseResultView) -> pb.CourseEvaluationResult:
    return pb.CourseEvaluationResult(
        course_id=view.course_id, course_name=view.course_name, runs=[run_score_message(r) for r in view.runs],
        flagged=bool(view.flag_terms), flag_terms=view.flag_terms, stopped=view.stopped,
        stop_reason=view.stop_reason)


def teacher_result_message(view: TeacherResultView) -> pb.TeacherEvaluationResult:
    return pb.TeacherEvaluationResult(
        user_id=view.user_id, name=view.name, role=view.role, course_id=view.run.course_id,
        course_name=view.run.course_name, run_id=view.run.run_id, term_code=view.run.term_code,
        answers=view.answers, scored=view.score is not None, score=view.score or 0.0, grade=view.grade,
        grade_name=GRADE_NAMES.get(view.grade, ""))


class EvaluationServicer(evaluation_pb2_grpc.EvaluationServiceServicer):
    def __init__(self, evaluation: EvaluationHandlers) -> None:
        self.evaluation = evaluation

    async def GetQuestionnaire(self, request, context):  # type: ignore[no-untyped-def]
        return questionnaire_message(await self.evaluation.questionnaire(require_caller()))

    async def PutQuestionnaire(self, request, context):  # type: ignore[no-untyped-def]
        return questionnaire_message(await self.evaluation.put_questionnaire(require_caller(), request.title,
                                                                             list(request.items)))

    async def GetRunEvaluation(self, request, context):  # type: ignore[no-untyped-def]
        return run_evaluation_message(await self.evaluation.run_evaluation(require_caller(), request.run_id))

    async def SubmitEvaluation(self, request, context):  # type: ignore[no-untyped-def]
        return run_evaluation_message(await self.evaluation.submit(
            require_caller(), request.run_id, list(request.ratings), request.comment, request.questionnaire_version))

    async def GetRunEvaluationScores(self, request, context):  # type: ignore[no-untyped-def]
        views = await run_evaluation_scores(self.evaluation.db, self.evaluation.course, require_caller(),
                                            list(request.run_ids))
        return pb.RunEvaluationScores(runs=[run_score_message(v) for v in views])

    async def GetEvaluationResults(self, request, context):  # type: ignore[no-untyped-def]
        courses, teachers = await self.evaluation.results(require_caller(), request.term_code, request.course_id)
        return pb.EvaluationResults(school_id=require_caller().school_id or "",
                                    courses=[course_result_message(c) for c in courses],
                                    teachers=[teacher_result_message(t) for t in teachers])
