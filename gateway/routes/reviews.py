"""Review queues and decisions: each admin sees and decides the items of their own scope; expert panels
score a school's project items against its rubric before the school admin decides."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.review.v1 import review_pb2 as pb
from gateway.openapi_types import page_of, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json, page_json
from gateway.routing import Router

router = Router(tags=["reviews"], dependencies=[NoNulCharacters])


class DecisionBody(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=2000, description="required to reject")


Purpose = Literal["application", "acceptance"]


class RubricItemBody(BaseModel):
    key: str = Field(..., max_length=50, description="lowercase letters and underscores, unique")
    group: str = Field("", max_length=100, description="the first-level indicator (一级指标)")
    name: str = Field(..., max_length=100)
    max_points: int = Field(..., ge=-1000, le=1000)
    description: str = Field("", max_length=2000)


class RubricBody(BaseModel):
    items: list[RubricItemBody] = Field(..., max_length=100, description="points adding up to 100")


class RoundBody(BaseModel):
    title: str = Field(..., max_length=200)
    purpose: Purpose
    expert_usernames: list[str] = Field(..., max_length=30, description="at least 3 teachers, of any school")
    leader_username: str = Field(..., max_length=100, description="one of the experts")
    item_ids: list[str] = Field(..., max_length=200, description="pending items of the purpose's kind")


class ScorePointBody(BaseModel):
    key: str = Field(..., max_length=50)
    points: float


class ScoreBody(BaseModel):
    scores: list[ScorePointBody] = Field(..., max_length=100, description="every rubric item exactly once")
    comment: str = Field("", max_length=4000)


class ConclusionBody(BaseModel):
    conclusion: Literal["pass", "fail"]
    comment: str = Field("", max_length=4000)


@router.get("/reviews/rubrics/{purpose}", **returns(pb.Rubric))
async def get_rubric(purpose: Purpose, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The school's rubric in force for a panel purpose (version 0: the platform default). School admins."""
    reply = await backends.review.GetRubric(pb.GetRubricRequest(purpose=purpose), metadata=me.metadata,
                                            timeout=TIMEOUT)
    return as_json(reply)


@router.put("/reviews/rubrics/{purpose}", **returns(pb.Rubric))
async def save_rubric(purpose: Purpose, body: RubricBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Saves the school's rubric as a new version; rounds already created keep the version they froze."""
    reply = await backends.review.SaveRubric(
        pb.SaveRubricRequest(purpose=purpose, items=[pb.RubricItem(**item.model_dump()) for item in body.items]),
        metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.get("/reviews/rubrics/{purpose}/versions", **returns(pb.ListRubricVersionsResponse))
async def rubric_versions(purpose: Purpose, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Every saved version, newest first, then the platform default (version 0)."""
    reply = await backends.review.ListRubricVersions(pb.GetRubricRequest(purpose=purpose), metadata=me.metadata,
                                                     timeout=TIMEOUT)
    return as_json(reply)


@router.post("/reviews/rounds", **returns(pb.Round, status=201))
async def create_round(body: RoundBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A review round: its experts, its leader, the items it reviews; the rubric in force is frozen."""
    reply = await backends.review.CreateRound(pb.CreateRoundRequest(**body.model_dump()), metadata=me.metadata,
                                              timeout=TIMEOUT)
    return as_json(reply)


@router.get("/reviews/rounds", **returns(page_of(pb.RoundSummary)))
async def list_rounds(backends: Backends, me: SignedIn, paging: Paging, purpose: str = "") -> dict[str, Any]:
    """A school admin: the school's rounds; anyone else: the rounds they sit on. Newest first."""
    reply = await backends.review.ListRounds(
        pb.ListRoundsRequest(purpose=purpose, page_size=paging.page_size, page_token=paging.page_token),
        metadata=me.metadata, timeout=TIMEOUT)
    return page_json(list(reply.rounds), reply.next_page_token, reply.total)


@router.get("/reviews/rounds/{round_id}", **returns(pb.Round))
async def get_round(round_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The rubric, the experts, the items with every expert's scores, the mean and the conclusion."""
    reply = await backends.review.GetRound(pb.GetRoundRequest(id=round_id), metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.put("/reviews/rounds/{round_id}/items/{item_id}/score", **returns(pb.Round))
async def score_item(round_id: str, item_id: str, body: ScoreBody, backends: Backends,
                     me: SignedIn) -> dict[str, Any]:
    """An expert's scores of an item (a revision replaces them until the conclusion)."""
    reply = await backends.review.ScoreItem(
        pb.ScoreItemRequest(round_id=round_id, item_id=item_id, comment=body.comment,
                            scores=[pb.ScorePoint(key=s.key, points=s.points) for s in body.scores]),
        metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.post("/reviews/rounds/{round_id}/items/{item_id}/conclusion", **returns(pb.Round))
async def conclude_item(round_id: str, item_id: str, body: ConclusionBody, backends: Backends,
                        me: SignedIn) -> dict[str, Any]:
    """The panel leader's conclusion, once every expert has scored."""
    reply = await backends.review.ConcludeItem(
        pb.ConcludeItemRequest(round_id=round_id, item_id=item_id, conclusion=body.conclusion,
                               comment=body.comment),
        metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.get("/reviews", **returns(page_of(pb.ReviewItem)))
async def list_reviews(
    backends: Backends, me: SignedIn, paging: Paging, kind: str = "", state: str = "pending"
) -> dict[str, Any]:
    """The caller's queue, oldest first: a school admin's school, a college admin's college, the center's
    province, or the platform."""
    reply = await backends.review.ListItems(
        pb.ListItemsRequest(kind=kind, state=state, page_size=paging.page_size, page_token=paging.page_token),
        metadata=me.metadata,
        timeout=TIMEOUT,
    )
    return page_json(list(reply.items), reply.next_page_token, reply.total)


@router.get("/reviews/{item_id}", **returns(pb.ReviewItem))
async def get_review(item_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """One item with its snapshot and audit trail."""
    reply = await backends.review.GetItem(pb.GetItemRequest(id=item_id), metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.post("/reviews/{item_id}/decision", **returns(pb.ReviewItem))
async def decide(item_id: str, body: DecisionBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await backends.review.Decide(
        pb.DecideRequest(id=item_id, decision=body.decision, reason=body.reason),
        metadata=me.metadata,
        timeout=TIMEOUT,
    )
    return as_json(reply)
