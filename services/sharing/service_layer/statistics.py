"""Read-only statistics of the sharing service: the province's sharing lists across terms, and the adoption
requests between its schools. The center sees its province, a school admin what concerns its school."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.pagination import next_page_token
from servicekit.reports import Reports, Table, cell
from services.sharing.adapters.orm import Adoption, Entry, SharingList

LIST_STATES = ("open", "closed", "published")
ADOPTION_STATES = ("requested", "accepted", "declined")


def _scope(caller: Caller) -> tuple[str, str]:
    """(province, school): the center its province, a school admin its school; nobody else."""
    if caller.role == "center_admin" and caller.province_code:
        return caller.province_code, ""
    if caller.role == "school_admin" and caller.school_id:
        return caller.province_code or "", caller.school_id
    raise PermissionDenied("the provincial center and school admins see statistics")


class SharingStatistics(Reports):
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def _table(self, caller: Caller, name: str, filters: dict[str, str], limit: int, offset: int) -> Table:
        builders = {"lists": (self._lists, {"state"}), "adoption-requests": (self._adoptions, {"state", "term_code"})}
        if name not in builders:
            raise InvalidArgument(f"unknown report {name!r}; the sharing reports are {', '.join(builders)}",
                                  reason="UNKNOWN_REPORT")
        build, allowed = builders[name]
        unknown = sorted(set(filters) - allowed)
        if unknown:
            raise InvalidArgument(f"the {name} report has no filter {unknown[0]!r}; "
                                  f"it takes {', '.join(sorted(allowed))}", reason="BAD_FILTER")
        filters = {key: value.strip() for key, value in filters.items() if value.strip()}
        async with self.db.read() as session:
            return await build(session, caller, filters, limit, offset)

    @staticmethod
    async def _page(session: AsyncSession, statement: Select, limit: int, offset: int) -> tuple[list, str, int]:
        total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        rows = list((await session.execute(statement.limit(limit).offset(offset))).all())
        return rows, next_page_token(offset, limit, total), total

    async def _lists(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                     offset: int) -> Table:
        """The province's lists across terms: entries by state, schools offering, adoptions asked and accepted.
        A school admin sees the same province-wide figures, and how many entries are its own."""
        province, school = _scope(caller)

        def entries(*where: Any) -> Any:
            return select(func.count(Entry.id)).where(Entry.list_id == SharingList.id, *where).scalar_subquery()

        def adoptions(*where: Any) -> Any:
            return (select(func.count(Adoption.id)).join(Entry, Entry.id == Adoption.entry_id)
                    .where(Entry.list_id == SharingList.id, *where).scalar_subquery())

        schools = (select(func.count(func.distinct(Entry.school_id)))
                   .where(Entry.list_id == SharingList.id, Entry.state == "approved").scalar_subquery())
        statement = select(
            SharingList.term_code, SharingList.title, SharingList.state, SharingList.notice_on,
            SharingList.publish_by, SharingList.published_at, SharingList.late_reason != "", entries(),
            entries(Entry.state == "approved"), schools, entries(Entry.school_id == school) if school else entries(),
            adoptions(), adoptions(Adoption.state == "accepted"),
        ).where(SharingList.province_code == province)
        if "state" in filters:
            if filters["state"] not in LIST_STATES:
                raise InvalidArgument(f"state is one of {', '.join(LIST_STATES)}", reason="BAD_FILTER")
            statement = statement.where(SharingList.state == filters["state"])
        rows, token, total = await self._page(
            session, statement.order_by(SharingList.term_code.desc(), SharingList.id), limit, offset)
        return Table("lists", ["term_code", "title", "state", "notice_on", "publish_by", "published_at", "late",
                               "entries", "approved_entries", "offering_schools",
                               "own_entries" if school else "all_entries", "adoption_requests", "adoptions_accepted"],
                     ["学期", "清单名称", "状态", "通知日期", "发布截止", "发布时间", "逾期发布", "条目数",
                      "审核通过条目", "供课学校数", "本校条目" if school else "全部条目", "选课申请数", "已接受选课"],
                     [[cell(v) for v in row] for row in rows], token, total)

    async def _adoptions(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                         offset: int) -> Table:
        """Adoption requests on the province's lists: who asks to adopt whose course, how many students they
        expect, where each stands (the students actually taught are in the course service's adoptions report)."""
        province, school = _scope(caller)
        statement = (select(Entry.term_code, Entry.school_name, Entry.course_name, Entry.leader_name,
                            Adoption.adopting_school_name, Adoption.tutor_name, Adoption.expected_students,
                            Adoption.state, Adoption.requested_at, Adoption.decided_at)
                     .join(Entry, Entry.id == Adoption.entry_id).join(SharingList, SharingList.id == Entry.list_id))
        if school:  # both sides, whichever province provides
            statement = statement.where(or_(Entry.school_id == school, Adoption.adopting_school_id == school))
        else:
            statement = statement.where(SharingList.province_code == province)
        if "term_code" in filters:
            statement = statement.where(Entry.term_code == filters["term_code"])
        if "state" in filters:
            if filters["state"] not in ADOPTION_STATES:
                raise InvalidArgument(f"state is one of {', '.join(ADOPTION_STATES)}", reason="BAD_FILTER")
            statement = statement.where(Adoption.state == filters["state"])
        rows, token, total = await self._page(
            session, statement.order_by(Entry.term_code.desc(), Adoption.requested_at, Adoption.id), limit, offset)
        return Table("adoption-requests", ["term_code", "providing_school", "course_name", "leader_name",
                                           "adopting_school", "tutor_name", "expected_students", "state",
                                           "requested_at", "decided_at"],
                     ["学期", "供课学校", "课程名称", "课程负责人", "选课学校", "辅导教师", "预计人数", "状态",
                      "申请时间", "处理时间"],
                     [[cell(v) for v in row] for row in rows], token, total)
