"""Review queues and decisions: each admin sees and decides the items of their own scope."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from contracts.review.v1 import review_pb2 as pb
from gateway.openapi_types import page_of, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json, page_json

router = APIRouter(tags=["reviews"], dependencies=[NoNulCharacters])


class DecisionBody(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=2000, description="required to reject")


@router.get("/reviews", **returns(page_of(pb.ReviewItem)))
async def list_reviews(
    backends: Backends, me: SignedIn, paging: Paging, kind: str = "", state: str = "pending"
) -> dict[str, Any]:
    """The caller's queue, oldest first: a school admin's school, the center's province, or the platform."""
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
