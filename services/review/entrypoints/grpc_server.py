"""Translates review.v1 requests into handler calls."""

from __future__ import annotations

import json

from contracts.review.v1 import review_pb2 as pb
from contracts.review.v1 import review_pb2_grpc
from servicekit.auth import require_caller
from services.review.adapters.orm import ReviewItem
from services.review.service_layer.handlers import ReviewHandlers

SERVICE = "review.v1.ReviewService"


def item_message(item: ReviewItem) -> pb.ReviewItem:
    message = pb.ReviewItem(
        id=item.id,
        kind=item.kind,
        owner=item.owner,
        subject_id=item.subject_id,
        scope=pb.Scope(type=item.scope_type, id=item.scope_id),
        title=item.title,
        state=item.state,
        reason=item.reason,
        requested_by=item.requested_by,
        decided_by=item.decided_by,
    )
    message.snapshot.update(json.loads(item.snapshot_json))
    message.requested_at.FromDatetime(item.requested_at)
    if item.decided_at:
        message.decided_at.FromDatetime(item.decided_at)
    for entry in item.history:
        audit = message.history.add(
            action=entry.action, actor_id=entry.actor_id, actor_role=entry.actor_role, reason=entry.reason
        )
        audit.at.FromDatetime(entry.at)
    return message


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    def __init__(self, handlers: ReviewHandlers) -> None:
        self.handlers = handlers

    async def ListItems(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.handlers.list_items(
            require_caller(), request.kind, request.state, request.page_size, request.page_token
        )
        return pb.ListItemsResponse(
            items=[item_message(i) for i in page.items], next_page_token=page.next_page_token, total=page.total
        )

    async def GetItem(self, request, context):  # type: ignore[no-untyped-def]
        return item_message(await self.handlers.get_item(require_caller(), request.id))

    async def Decide(self, request, context):  # type: ignore[no-untyped-def]
        item = await self.handlers.decide(require_caller(), request.id, request.decision, request.reason)
        return item_message(item)
