"""Learning: student evaluation of teaching (网上评教, the learning service's EvaluationService) — each school's
questionnaire, a student's one anonymous rating of a run at its end, the school admin's results and flags."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.learning.v1 import evaluation_pb2 as pb
from gateway.openapi_types import returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json
from gateway.routing import Router

router = Router(tags=["evaluation"], dependencies=[NoNulCharacters])


class QuestionnaireBody(BaseModel):
    title: str = Field("", max_length=100)
    items: list[str] = Field(max_length=30, description="statements each rated 1 (poor) to 5 (excellent)")


class EvaluationBody(BaseModel):
    ratings: list[int] = Field(max_length=30, description="one per item of the questionnaire, 1..5")
    comment: str = Field("", max_length=2000)
    questionnaire_version: int = Field(0, ge=0, description="the version answered (0: the one in force)")


async def _call(backends: Any, method: str, request: Any, me: Any) -> Any:
    return await getattr(backends.evaluation, method)(request, metadata=me.metadata, timeout=TIMEOUT)


@router.get("/evaluation/questionnaire", **returns(pb.EvaluationQuestionnaire))
async def get_questionnaire(backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A school admin: their school's questionnaire in force (version 0: the platform's default)."""
    return as_json(await _call(backends, "GetQuestionnaire", pb.GetQuestionnaireRequest(), me))


@router.put("/evaluation/questionnaire", **returns(pb.EvaluationQuestionnaire))
async def put_questionnaire(body: QuestionnaireBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A school admin sets their school's questionnaire: a new version (answers given keep theirs)."""
    return as_json(await _call(backends, "PutQuestionnaire",
                               pb.PutQuestionnaireRequest(title=body.title, items=body.items), me))


@router.get("/learning/runs/{run_id}/evaluation", **returns(pb.RunEvaluation))
async def get_run_evaluation(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A student of the run: its window, their school's questionnaire, and whether they have rated it."""
    return as_json(await _call(backends, "GetRunEvaluation", pb.GetRunEvaluationRequest(run_id=run_id), me))


@router.post("/learning/runs/{run_id}/evaluation", **returns(pb.RunEvaluation, 201))
async def submit_evaluation(run_id: str, body: EvaluationBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A student of the run rates it once, anonymously, from its term's last 14 days to 14 days after."""
    return as_json(await _call(backends, "SubmitEvaluation", pb.SubmitEvaluationRequest(
        run_id=run_id, ratings=body.ratings, comment=body.comment,
        questionnaire_version=body.questionnaire_version), me))


@router.get("/evaluation/results", **returns(pb.EvaluationResults))
async def evaluation_results(backends: Backends, me: SignedIn, term_code: str = Query("", max_length=20),
                             course_id: str = Query("", max_length=36)) -> dict[str, Any]:
    """A school admin: their school's courses rated per term and run, per teacher, and the courses flagged below
    good for the policy's terms in a row (with whether each is stopped)."""
    return as_json(await _call(backends, "GetEvaluationResults",
                               pb.GetEvaluationResultsRequest(term_code=term_code, course_id=course_id), me))
