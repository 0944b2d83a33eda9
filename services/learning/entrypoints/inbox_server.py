"""Wires the learning service's inbox into its host and translates learning.v1 InboxService requests."""

from __future__ import annotations

from contracts.learning.v1 import inbox_pb2 as pb
from contracts.learning.v1 import inbox_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.service_layer.inbox import InboxHandlers, InboxView

SERVICE = "learning.v1.InboxService"


def wire(host: ServiceHost, runtime: Runtime) -> None:
    host.add_servicer(inbox_pb2_grpc.add_InboxServiceServicer_to_server,
                      InboxServicer(InboxHandlers(runtime.db)), SERVICE)


def item_message(view: InboxView) -> pb.InboxItem:
    row = view.row
    return pb.InboxItem(id=row.id, kind=row.kind, title=row.title, body=row.body, link=row.link, run_id=row.run_id,
                        created_at=timestamp(row.created_at), read=view.read)


class InboxServicer(inbox_pb2_grpc.InboxServiceServicer):
    def __init__(self, inbox: InboxHandlers) -> None:
        self.inbox = inbox

    async def ListInbox(self, request, context):  # type: ignore[no-untyped-def]
        items, token, unread = await self.inbox.list(require_caller(), request.unread_only, request.page_size,
                                                     request.page_token)
        return pb.ListInboxResponse(items=[item_message(r) for r in items], next_page_token=token, unread=unread)

    async def MarkInboxRead(self, request, context):  # type: ignore[no-untyped-def]
        marked, unread = await self.inbox.mark_read(require_caller(), list(request.ids))
        return pb.MarkInboxReadResponse(marked=marked, unread=unread)
