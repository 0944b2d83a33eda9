"""Learning: At-risk learners (学习预警) and their follow-up (回访) (the learning service's AtRiskService)."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.learning.v1 import at_risk_pb2 as pb
from gateway.openapi_types import returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json
from gateway.routing import Router

router = Router(tags=["at-risk"], dependencies=[NoNulCharacters])


class FollowUpBody(BaseModel):
    contacted_on: str = Field(max_length=10, description="YYYY-MM-DD, not in the future")
    channel: str = Field(max_length=20, description="phone, message, email, in_person or other")
    notes: str = Field(max_length=5_000, description="what was discussed")
    outcome: str = Field(max_length=20, description="reached, no_answer, plan_agreed, resolved or other")


@router.get("/learning/runs/{run_id}/at-risk", **returns(pb.ListAtRiskResponse))
async def list_at_risk(run_id: str, backends: Backends, me: SignedIn,
                       class_id: str = Query("", max_length=36, description="one class only")) -> dict[str, Any]:
    """The run's students flagged by the latest daily sweep, with the reasons (the run's team and its school's
    admins)."""
    reply = await backends.at_risk.ListAtRisk(pb.ListAtRiskRequest(run_id=run_id, class_id=class_id),
                                              metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.get("/learning/runs/{run_id}/at-risk/{student_id}", **returns(pb.AtRiskHistory))
async def at_risk_history(run_id: str, student_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A student's flags and follow-ups on the run, newest first (the run's team and its school's admins)."""
    reply = await backends.at_risk.GetAtRiskHistory(
        pb.GetAtRiskHistoryRequest(run_id=run_id, student_id=student_id), metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.post("/learning/runs/{run_id}/at-risk/{student_id}/follow-ups", **returns(pb.FollowUp, 201))
async def record_follow_up(run_id: str, student_id: str, body: FollowUpBody, backends: Backends,
                           me: SignedIn) -> dict[str, Any]:
    """A follow-up (回访) of one of the run's students, by the teacher of their class or the course leader."""
    reply = await backends.at_risk.RecordFollowUp(
        pb.RecordFollowUpRequest(run_id=run_id, student_id=student_id, **body.model_dump()), metadata=me.metadata,
        timeout=TIMEOUT)
    return as_json(reply)
