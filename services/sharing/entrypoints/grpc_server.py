"""Translates sharing.v1 requests into handler calls."""

from __future__ import annotations

from datetime import date

from contracts.sharing.v1 import sharing_pb2 as pb
from contracts.sharing.v1 import sharing_pb2_grpc
from servicekit.auth import Caller, require_caller
from servicekit.spreadsheets import table_file
from services.sharing.adapters.orm import Adoption, Entry, SharingList
from services.sharing.domain.lists import is_late
from services.sharing.service_layer.handlers import SharingHandlers
from services.sharing.service_layer.statistics import SharingStatistics, Table

SERVICE = "sharing.v1.SharingService"


def list_message(sharing_list: SharingList, entries: int = 0) -> pb.SharingList:
    message = pb.SharingList(id=sharing_list.id, province_code=sharing_list.province_code,
                             term_code=sharing_list.term_code, title=sharing_list.title,
                             notice_on=sharing_list.notice_on, publish_by=sharing_list.publish_by,
                             state=sharing_list.state, entries=entries, late_reason=sharing_list.late_reason)
    if sharing_list.published_at:
        message.published_at.FromDatetime(sharing_list.published_at)
        message.late = is_late(date.fromisoformat(sharing_list.publish_by), sharing_list.published_at)
    return message


def entry_message(entry: Entry, caller: Caller, handlers: SharingHandlers, plan=None) -> pb.Entry:  # type: ignore[no-untyped-def]
    contacts = handlers.shows_contacts(caller)
    message = pb.Entry(
        id=entry.id, list_id=entry.list_id, run_id=entry.run_id, course_id=entry.course_id,
        school_id=entry.school_id, school_name=entry.school_name, course_name=entry.course_name,
        category=entry.category, online_credits=entry.online_credits, total_credits=entry.total_credits,
        leader_id=entry.leader_id, leader_name=entry.leader_name,
        leader_phone=entry.leader_phone if contacts else "", leader_email=entry.leader_email if contacts else "",
        term_code=entry.term_code, state=entry.state, rejection_reason=entry.rejection_reason,
        taken_down=entry.taken_down, run_state=entry.run_state)
    if plan is not None:
        message.plan.total_minutes = plan.total_minutes
        for node in plan.nodes:
            message.plan.items.add(kind=node.kind, title=node.title, depth=node.depth, minutes=node.minutes)
    return message


def adoption_message(adoption: Adoption, entry: Entry, classes: int = 0, students: int = 0) -> pb.Adoption:
    message = pb.Adoption(
        id=adoption.id, entry_id=entry.id, run_id=entry.run_id, course_name=entry.course_name,
        providing_school_id=entry.school_id, providing_school_name=entry.school_name,
        adopting_school_id=adoption.adopting_school_id, adopting_school_name=adoption.adopting_school_name,
        tutor_id=adoption.tutor_id, tutor_name=adoption.tutor_name, expected_students=adoption.expected_students,
        note=adoption.note, state=adoption.state, reason=adoption.reason, term_code=entry.term_code,
        class_id=adoption.class_id, classes=classes, students=students)
    message.requested_at.FromDatetime(adoption.requested_at)
    return message


class SharingServicer(sharing_pb2_grpc.SharingServiceServicer):
    def __init__(self, handlers: SharingHandlers, statistics: SharingStatistics) -> None:
        self.handlers = handlers
        self.statistics = statistics

    async def OpenList(self, request, context):  # type: ignore[no-untyped-def]
        return list_message(await self.handlers.open_list(require_caller(), request.term_code, request.title,
                                                          request.notice_on, request.publish_by))

    async def ListLists(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.handlers.lists(require_caller(), request.state)
        return pb.ListListsResponse(lists=[list_message(sharing_list, n) for sharing_list, n in found])

    async def CloseList(self, request, context):  # type: ignore[no-untyped-def]
        return list_message(await self.handlers.close_list(require_caller(), request.list_id))

    async def PublishList(self, request, context):  # type: ignore[no-untyped-def]
        return list_message(await self.handlers.publish_list(require_caller(), request.list_id, request.late_reason))

    async def AddEntry(self, request, context):  # type: ignore[no-untyped-def]
        caller = require_caller()
        return entry_message(await self.handlers.add_entry(caller, request.list_id, request.run_id), caller,
                             self.handlers)

    async def RemoveEntry(self, request, context):  # type: ignore[no-untyped-def]
        await self.handlers.remove_entry(require_caller(), request.entry_id)
        return pb.RemoveEntryResponse()

    async def SubmitEntries(self, request, context):  # type: ignore[no-untyped-def]
        return pb.SubmitEntriesResponse(submitted=await self.handlers.submit(require_caller(), request.list_id))

    async def ResubmitEntry(self, request, context):  # type: ignore[no-untyped-def]
        caller = require_caller()
        return entry_message(await self.handlers.resubmit(caller, request.entry_id), caller, self.handlers)

    async def SearchEntries(self, request, context):  # type: ignore[no-untyped-def]
        caller = require_caller()

        def render(entries: list[Entry], token: str, total: int) -> pb.SearchEntriesResponse:
            return pb.SearchEntriesResponse(entries=[entry_message(e, caller, self.handlers) for e in entries],
                                            next_page_token=token, total=total)

        return await self.handlers.search_page(caller, request, render)

    async def GetEntry(self, request, context):  # type: ignore[no-untyped-def]
        caller = require_caller()
        entry, plan = await self.handlers.entry(caller, request.entry_id)
        return entry_message(entry, caller, self.handlers, plan)

    async def ExportEntries(self, request, context):  # type: ignore[no-untyped-def]
        name, content_type, content = await self.handlers.export(require_caller(), request.list_id, request.format)
        return pb.File(filename=name, content_type=content_type, content=content)

    async def RequestAdoption(self, request, context):  # type: ignore[no-untyped-def]
        adoption = await self.handlers.request_adoption(require_caller(), request.entry_id, request.tutor_id,
                                                        request.expected_students, request.note)
        return await self._adoption(adoption.id)

    async def AcceptAdoption(self, request, context):  # type: ignore[no-untyped-def]
        adoption = await self.handlers.accept(require_caller(), request.adoption_id, list(request.permissions))
        return await self._adoption(adoption.id)

    async def DeclineAdoption(self, request, context):  # type: ignore[no-untyped-def]
        adoption = await self.handlers.decline(require_caller(), request.adoption_id, request.reason)
        return await self._adoption(adoption.id)

    async def _adoption(self, adoption_id: str) -> pb.Adoption:
        async with self.handlers.db.transaction() as session:
            adoption = await session.get(Adoption, adoption_id)
            entry = await session.get(Entry, adoption.entry_id)
        return adoption_message(adoption, entry)

    async def ListAdoptions(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.handlers.adoptions(require_caller(), request.side, request.term_code)
        return pb.ListAdoptionsResponse(adoptions=[adoption_message(*row) for row in found])

    async def CheckAdoption(self, request, context):  # type: ignore[no-untyped-def]
        return pb.AdoptionCheck(accepted=await self.handlers.adopted(require_caller(), request.run_id,
                                                                     request.school_id))

    async def ExportAdoptions(self, request, context):  # type: ignore[no-untyped-def]
        name, content_type, content = await self.handlers.export_adoptions(
            require_caller(), request.side, request.term_code, request.format)
        return pb.File(filename=name, content_type=content_type, content=content)

    # statistics (read-only)
    @staticmethod
    def _table(table: Table) -> pb.ReportTable:
        return pb.ReportTable(report=table.report, columns=table.columns, headers=table.headers,
                              rows=[pb.ReportRow(cells=row) for row in table.rows],
                              next_page_token=table.next_page_token, total=table.total)

    async def GetReport(self, request, context):  # type: ignore[no-untyped-def]
        return self._table(await self.statistics.report(require_caller(), request.report, dict(request.filters),
                                                        request.page_size, request.page_token))

    async def ExportReport(self, request, context):  # type: ignore[no-untyped-def]
        table = await self.statistics.export(require_caller(), request.report, dict(request.filters))
        filename, content_type, content = table_file(table.report, table.headers, table.rows, request.format or "xlsx")
        return pb.File(filename=filename, content_type=content_type, content=content)
