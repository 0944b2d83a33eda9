"""The inbox (the learning service's InboxService): each user's messages asking them to act, with unread counts."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.learning.v1 import inbox_pb2 as pb
from gateway.openapi_types import returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json
from gateway.routing import Router

router = Router(tags=["inbox"], dependencies=[NoNulCharacters])


class MarkReadBody(BaseModel):
    ids: list[str] = Field(default_factory=list, max_length=500, description="empty: every message")


@router.get("/inbox", **returns(pb.ListInboxResponse))
async def list_inbox(backends: Backends, me: SignedIn, paging: Paging,
                     unread_only: bool = Query(False)) -> dict[str, Any]:
    """The caller's messages, newest first, with the unread count (any signed-in user)."""
    reply = await backends.inbox.ListInbox(pb.ListInboxRequest(unread_only=unread_only, page_size=paging.page_size,
                                                                   page_token=paging.page_token),
                                           metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)


@router.post("/inbox/read", **returns(pb.MarkInboxReadResponse))
async def mark_inbox_read(body: MarkReadBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Marks the caller's messages read (the ids given, or all)."""
    reply = await backends.inbox.MarkInboxRead(pb.MarkInboxReadRequest(ids=body.ids), metadata=me.metadata,
                                               timeout=TIMEOUT)
    return as_json(reply)
