"""Wires the learning service's course notices into its host and translates learning.v1 NoticeService requests."""

from __future__ import annotations

from contracts.learning.v1 import notices_pb2 as pb
from contracts.learning.v1 import notices_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.adapters.course import CoursePeer
from services.learning.service_layer.notices import NoticeHandlers, NoticeView

SERVICE = "learning.v1.NoticeService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> None:
    host.add_servicer(notices_pb2_grpc.add_NoticeServiceServicer_to_server,
                      NoticeServicer(NoticeHandlers(runtime.db, course)), SERVICE)


def notice_message(view: NoticeView) -> pb.Notice:
    row = view.row
    return pb.Notice(id=row.id, run_id=row.run_id, class_id=row.class_id, title=row.title, body=row.body,
                     posted_by=row.posted_by, poster_name=row.poster_name, posted_at=timestamp(row.posted_at),
                     read=view.read, readers=view.readers)


class NoticeServicer(notices_pb2_grpc.NoticeServiceServicer):
    def __init__(self, notices: NoticeHandlers) -> None:
        self.notices = notices

    async def PostNotice(self, request, context):  # type: ignore[no-untyped-def]
        view = await self.notices.post(require_caller(), request.run_id, request.class_id, request.title,
                                       request.body)
        return notice_message(view)

    async def ListNotices(self, request, context):  # type: ignore[no-untyped-def]
        views, unread = await self.notices.list(require_caller(), request.run_id)
        return pb.ListNoticesResponse(notices=[notice_message(v) for v in views], unread=unread)

    async def MarkNoticeRead(self, request, context):  # type: ignore[no-untyped-def]
        return notice_message(await self.notices.mark_read(require_caller(), request.notice_id))
