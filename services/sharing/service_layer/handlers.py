"""Sharing lists and adoption: the center opens and publishes lists, school admins nominate their MOOC
runs, every school browses and adopts; course facts follow the course service's events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Row, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from contracts.identity.v1 import identity_pb2
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2
from servicekit import pinyin
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.grams import Totals, fetch_counted_page, fetch_search_page
from servicekit.outbox import emit
from servicekit.reviews import ScopeType, request_review, withdraw_review
from servicekit.search import contains
from servicekit.spreadsheets import table_file
from services.sharing.adapters.orm import (
    ENTRY_GRAMS,
    SEARCH_PINYIN,
    SEARCH_TEXT,
    Adoption,
    Entry,
    SharingList,
    entry_gram_scopes,
    outbox,
)
from services.sharing.domain.lists import check_list_dates, late_reason_for, parse_day

OWNER = "sharing"
KIND_SHARING_ENTRY = "sharing_entry"
ADMINS = ("school_admin", "center_admin", "platform_admin")
LISTED_RUN_STATES = ("published", "running")
EXPORT_HEADERS = ["课程名称", "开课学校", "课程负责人", "负责人手机", "负责人邮箱", "类别", "线上学分", "总学分",
                  "学期", "状态"]
ADOPTION_HEADERS = ["课程名称", "供课学校", "选课学校", "辅导教师", "预计人数", "班级数", "学生数", "学期", "状态"]


@dataclass(frozen=True)
class Peers:
    """Other services, called on the caller's behalf (their token goes along)."""

    get_run: Callable[[str], Awaitable[course_pb2.Run]]
    get_course: Callable[[str], Awaitable[course_pb2.Course]]
    get_plan: Callable[[str, str], Awaitable[course_pb2.Plan]]
    add_team_member: Callable[[str, str, list[str]], Awaitable[course_pb2.Team]]
    create_class: Callable[[str, str, str], Awaitable[course_pb2.CourseClass]]
    school_usage: Callable[[str, str], Awaitable[course_pb2.SchoolUsage]]
    get_user: Callable[[str], Awaitable[identity_pb2.User]]
    get_school: Callable[[str], Awaitable[identity_pb2.School]]
    list_terms: Callable[[], Awaitable[course_pb2.ListTermsResponse]]  # the caller's province's calendar


Page = TypeVar("Page")
PAGES_REMEMBERED = 2048  # rendered pages of 20 entries: ~5 kB each


class SharingHandlers:
    def __init__(self, db: Database, peers: Peers, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.peers = peers
        self.clock = clock
        # Search totals, gram plans and rendered pages per list revision (servicekit.grams): a published list is
        # searched again and again between its changes, and none is counted, planned or rendered again until it
        # changes (any write of one of its entries raises the revision, in the writing transaction).
        self.totals, self.plans, self.pages = Totals(), Totals(), Totals(PAGES_REMEMBERED)

    # ---- lists (the provincial center) -----------------------------------------------------

    async def open_list(self, caller: Caller, term_code: str, title: str, notice_on: str,
                        publish_by: str) -> SharingList:
        caller.require_role("center_admin")
        title, term_code = title.strip(), term_code.strip()
        if not term_code or not title or len(title) > 200:
            raise InvalidArgument("a list needs a term and a title (at most 200 characters)")
        notice, deadline = parse_day(notice_on, "notice_on"), parse_day(publish_by, "publish_by")
        term = next((t for t in (await self.peers.list_terms()).terms if t.code == term_code), None)
        if term is None:
            raise InvalidArgument(f"{term_code} is not a term of the center's calendar; add the term first",
                                  reason="UNKNOWN_TERM")
        dates = check_list_dates(notice, deadline, term.code, date.fromisoformat(term.starts_on))
        async with self.db.transaction() as session:
            if await session.scalar(select(SharingList.id).where(
                    SharingList.province_code == caller.province_code, SharingList.term_code == term_code)):
                raise AlreadyExists(f"the province already has a sharing list for {term_code}")
            sharing_list = SharingList(province_code=caller.province_code or "", term_code=term_code,
                                       title=title, notice_on=dates.notice_on.isoformat(),
                                       publish_by=dates.publish_by.isoformat(), state="open",
                                       opened_by=caller.user_id, created_at=self.clock())
            session.add(sharing_list)
            await session.flush()
            return sharing_list

    async def lists(self, caller: Caller, state: str) -> list[tuple[SharingList, int]]:
        """Published lists, to everyone; unpublished ones only in their own province: every state to its
        center, the open ones to its school admins (who nominate into them)."""
        statement = select(SharingList).order_by(SharingList.created_at.desc())
        unpublished = {"center_admin": ("open", "closed"), "school_admin": ("open",)}.get(caller.role, ())
        statement = statement.where(or_(
            SharingList.state == "published",
            and_(SharingList.province_code == (caller.province_code or ""), SharingList.state.in_(unpublished))))
        if state:
            statement = statement.where(SharingList.state == state)
        approved = (select(Entry.list_id, func.count().label("entries")).where(Entry.state == "approved")
                    .group_by(Entry.list_id).subquery())
        async with self.db.read() as session:
            rows = await session.execute(statement.add_columns(func.coalesce(approved.c.entries, 0)).outerjoin(
                approved, approved.c.list_id == SharingList.id))
            return [(sharing_list, count) for sharing_list, count in rows]

    async def _list(self, session: AsyncSession, list_id: str) -> SharingList:
        sharing_list = await session.get(SharingList, list_id)
        if sharing_list is None:
            raise NotFound("no such sharing list")
        return sharing_list

    async def _center_list(self, session: AsyncSession, caller: Caller, list_id: str) -> SharingList:
        caller.require_role("center_admin")
        sharing_list = await self._list(session, list_id)
        if sharing_list.province_code != caller.province_code:
            raise NotFound("no such sharing list")
        return sharing_list

    async def close_list(self, caller: Caller, list_id: str) -> SharingList:
        async with self.db.transaction() as session:
            sharing_list = await self._center_list(session, caller, list_id)
            if sharing_list.state != "open":
                raise FailedPrecondition(f"the list is {sharing_list.state}")
            sharing_list.state = "closed"
            return sharing_list

    async def publish_list(self, caller: Caller, list_id: str, late_reason: str = "") -> SharingList:
        async with self.db.transaction() as session:
            sharing_list = await self._center_list(session, caller, list_id)
            if sharing_list.state == "published":
                raise FailedPrecondition("the list is published already")
            if await session.scalar(select(Entry.id).where(Entry.list_id == list_id, Entry.state == "submitted")):
                raise FailedPrecondition("review every submitted entry before publishing")
            now = self.clock()
            sharing_list.late_reason = late_reason_for(date.fromisoformat(sharing_list.publish_by), now,
                                                       late_reason)
            sharing_list.state, sharing_list.published_at = "published", now
            return sharing_list

    # ---- entries (school admins) --------------------------------------------------------------

    async def add_entry(self, caller: Caller, list_id: str, run_id: str) -> Entry:
        caller.require_role("school_admin")
        async with self.db.transaction() as session:
            sharing_list = await self._list(session, list_id)
            self._open_for(caller, sharing_list)
            if await session.scalar(select(Entry.id).where(Entry.list_id == list_id, Entry.run_id == run_id)):
                raise AlreadyExists("the run is on this list already")
        run = await self.peers.get_run(run_id)  # the course service refuses another school's runs
        if run.school_id != caller.school_id:
            raise PermissionDenied("school admins nominate their own school's runs")
        if run.course_kind != "mooc":
            raise FailedPrecondition("only MOOC runs are shared with other schools; a SPOC stays in its school")
        if run.term_code != sharing_list.term_code or run.state not in LISTED_RUN_STATES:
            raise FailedPrecondition(
                f"the run must be approved for {sharing_list.term_code}; it is {run.state} in {run.term_code}")
        course = await self.peers.get_course(run.course_id)
        leader = await self.peers.get_user(course.leader_id)
        school = await self.peers.get_school(run.school_id)
        async with self.db.transaction() as session:
            entry = Entry(list_id=list_id, run_id=run.id, course_id=course.id, school_id=run.school_id,
                          school_name=school.name, course_name=course.name, category=course.category,
                          online_credits=course.online_credits, total_credits=course.total_credits,
                          leader_id=course.leader_id, leader_name=course.leader_name, leader_phone=leader.phone,
                          leader_email=leader.email, term_code=run.term_code, state="draft", run_state=run.state,
                          added_by=caller.user_id, created_at=self.clock())
            entry.refresh_search_text()
            session.add(entry)
            await session.flush()
            return entry

    @staticmethod
    def _open_for(caller: Caller, sharing_list: SharingList) -> None:
        if sharing_list.province_code != caller.province_code:
            raise NotFound("no such sharing list")
        if sharing_list.state != "open":
            raise FailedPrecondition(f"the list is {sharing_list.state}; entries change only while it is open")

    async def _own_entry(self, session: AsyncSession, caller: Caller, entry_id: str) -> tuple[Entry, SharingList]:
        caller.require_role("school_admin")
        entry = await session.get(Entry, entry_id)
        if entry is None or entry.school_id != caller.school_id:
            raise NotFound("no such entry")
        sharing_list = await self._list(session, entry.list_id)
        self._open_for(caller, sharing_list)
        return entry, sharing_list

    async def remove_entry(self, caller: Caller, entry_id: str) -> None:
        async with self.db.transaction() as session:
            entry, _ = await self._own_entry(session, caller, entry_id)
            if entry.state == "submitted":
                await withdraw_review(session, outbox, owner=OWNER, kind=KIND_SHARING_ENTRY, subject_id=entry.id,
                                      reason="the school removed it from the list")
            await session.execute(delete(Adoption).where(Adoption.entry_id == entry.id))
            await session.delete(entry)

    async def submit(self, caller: Caller, list_id: str) -> int:
        caller.require_role("school_admin")
        async with self.db.transaction() as session:
            sharing_list = await self._list(session, list_id)
            self._open_for(caller, sharing_list)
            drafts = list(await session.scalars(select(Entry).where(
                Entry.list_id == list_id, Entry.school_id == caller.school_id, Entry.state == "draft")))
            if not drafts:
                raise FailedPrecondition("your school has no unsubmitted entries on this list")
            for entry in drafts:
                await self._request_review(session, caller, entry, sharing_list)
            return len(drafts)

    async def resubmit(self, caller: Caller, entry_id: str) -> Entry:
        async with self.db.transaction() as session:
            entry, sharing_list = await self._own_entry(session, caller, entry_id)
            if entry.state != "rejected":
                raise FailedPrecondition(f"only a rejected entry is resubmitted; this one is {entry.state}")
            await self._request_review(session, caller, entry, sharing_list)
            return entry

    async def _request_review(self, session: AsyncSession, caller: Caller, entry: Entry,
                              sharing_list: SharingList) -> None:
        entry.state, entry.rejection_reason = "submitted", ""
        await request_review(
            session, outbox, owner=OWNER, kind=KIND_SHARING_ENTRY, subject_id=entry.id,
            scope_type=ScopeType.CENTER, scope_id=sharing_list.province_code,
            title=f"共享清单 sharing entry: {entry.course_name} ({entry.school_name}, {entry.term_code})",
            snapshot={"course": entry.course_name, "school": entry.school_name, "leader": entry.leader_name,
                      "category": entry.category, "online_credits": entry.online_credits,
                      "total_credits": entry.total_credits, "term": entry.term_code, "list": sharing_list.title},
            requested_by=caller.user_id,
        )

    # ---- reading -------------------------------------------------------------------------

    async def search(self, caller: Caller, request) -> tuple[list[Entry], str, int]:  # type: ignore[no-untyped-def]
        return await self.search_page(caller, request, lambda *page: page, remember=False)

    async def search_page(  # type: ignore[no-untyped-def]
        self, caller: Caller, request, render: Callable[[list[Entry], str, int], Page], remember: bool = True,
    ) -> Page:
        """One page of a list's entries, searched, filtered and rendered by `render(entries, next_page_token,
        total)`. Who sees what is decided on every call; the rendered page is remembered under the list's revision,
        what the caller sees (every entry, the approved ones, a school's own) and whether contacts show."""
        async with self.db.read() as session:
            # The list and the revision of its entries (under which totals and pages are remembered), in one read.
            sharing_list = (await session.execute(
                select(SharingList.id, SharingList.state, SharingList.province_code,
                       func.coalesce(entry_gram_scopes.c.revision, 0).label("revision"))
                .outerjoin(entry_gram_scopes, entry_gram_scopes.c.scope == SharingList.id)
                .where(SharingList.id == request.list_id))).first()
            if sharing_list is None:
                raise NotFound("no such sharing list")
            if self._reviews(caller, sharing_list):
                seen = "all"  # the center sees every entry of its lists
            elif sharing_list.state == "published":
                seen = "approved"
            elif caller.role == "school_admin" and sharing_list.province_code == caller.province_code:
                seen = f"school:{caller.school_id}"
            else:
                raise NotFound("no such sharing list")
            text = request.query.strip()
            key = (sharing_list.id, sharing_list.revision, seen, request.state, request.school_id, request.category,
                   request.term_code, request.min_credits, request.max_credits, text)
            page_key = (key, request.page_size, request.page_token, self.shows_contacts(caller))
            if remember and (page := self.pages.get(page_key)) is not None:
                return page

            statement = select(Entry).where(Entry.list_id == sharing_list.id)
            if seen == "approved":
                statement = statement.where(Entry.state == "approved")
            elif seen != "all":
                statement = statement.where(Entry.school_id == caller.school_id)
            if request.state:
                statement = statement.where(Entry.state == request.state)
            for column, value in ((Entry.school_id, request.school_id), (Entry.category, request.category),
                                  (Entry.term_code, request.term_code)):
                if value:
                    statement = statement.where(column == value)
            if request.min_credits:
                statement = statement.where(Entry.online_credits >= request.min_credits)
            if request.max_credits:
                statement = statement.where(Entry.online_credits <= request.max_credits)
            statement = statement.order_by(Entry.course_name, Entry.id)
            if not text:
                found = await fetch_counted_page(session, statement, request.page_size, request.page_token,
                                                 self.totals, key)
            else:
                # A substring of the lowercased names, or of their pinyin ("sjjg" or "shujujiegou" finds 数据结构):
                # the gram index gives the candidates, the LIKE verifies them.
                statement = statement.where(or_(contains(Entry.search_text, text.lower()),
                                                *pinyin.matches_any(Entry.search_pinyin, text)))
                candidates = await ENTRY_GRAMS.candidates(
                    session, sharing_list.id, {SEARCH_TEXT: text.lower(), SEARCH_PINYIN: pinyin.pinyin_query(text)},
                    self.plans, (sharing_list.id, sharing_list.revision, text))
                found = await fetch_search_page(session, statement, Entry.id, candidates, request.page_size,
                                                request.page_token, self.totals, key)
            page = render(*found)
            if remember:
                self.pages.put(page_key, page)
            return page

    @staticmethod
    def _reviews(caller: Caller, sharing_list: SharingList | Row[Any]) -> bool:
        return caller.role == "center_admin" and caller.province_code == sharing_list.province_code

    async def entry(self, caller: Caller, entry_id: str) -> tuple[Entry, course_pb2.Plan | None]:
        async with self.db.transaction() as session:
            entry = await session.get(Entry, entry_id)
            sharing_list = await session.get(SharingList, entry.list_id) if entry else None
        visible = entry is not None and sharing_list is not None and (
            (sharing_list.state == "published" and entry.state == "approved")
            or self._reviews(caller, sharing_list)
            or (caller.role == "school_admin" and caller.school_id == entry.school_id))
        if not visible:
            raise NotFound("no such entry")
        assert entry is not None
        plan = None
        if not entry.taken_down:
            try:
                plan = await self.peers.get_plan(entry.course_id, entry.run_id)
            except Exception:  # the course service decides who reads a plan; no plan is no crash
                plan = None
        return entry, plan

    @staticmethod
    def shows_contacts(caller: Caller) -> bool:
        """The leader's phone and email: to teachers and admins, never to students."""
        return caller.role in ("teacher", *ADMINS)

    async def export(self, caller: Caller, list_id: str, fmt: str) -> tuple[str, str, bytes]:
        if caller.role not in ADMINS:
            raise PermissionDenied("admins export lists (they carry the leaders' phone numbers)")
        entries: list[Entry] = []
        token = ""
        while True:
            page, token, _ = await self.search(caller, sharing_pb2.SearchEntriesRequest(
                list_id=list_id, page_size=200, page_token=token))
            entries += page
            if not token:
                break
        rows = [[e.course_name, e.school_name, e.leader_name, e.leader_phone, e.leader_email, e.category,
                 e.online_credits, e.total_credits, e.term_code, "已下线" if e.taken_down else e.state]
                for e in entries]
        return table_file(f"sharing-list-{list_id[:8]}", EXPORT_HEADERS, rows, fmt)

    # ---- adoption ------------------------------------------------------------------------

    async def request_adoption(self, caller: Caller, entry_id: str, tutor_id: str, expected: int,
                               note: str) -> Adoption:
        caller.require_role("school_admin", "teacher")
        if not 0 < expected <= 10000:
            raise InvalidArgument("expected_students is between 1 and 10000")
        if len(note) > 500:
            raise InvalidArgument("the note has at most 500 characters")
        async with self.db.transaction() as session:
            entry = await session.get(Entry, entry_id)
            sharing_list = await session.get(SharingList, entry.list_id) if entry else None
            if entry is None or sharing_list is None or sharing_list.state != "published" or entry.state != "approved":
                raise NotFound("no such entry on a published list")
            if entry.taken_down:
                raise FailedPrecondition("the run was taken down")
            if entry.school_id == caller.school_id:
                raise FailedPrecondition("a school adopts other schools' courses")
            if await session.scalar(select(Adoption.id).where(
                    Adoption.entry_id == entry.id, Adoption.adopting_school_id == caller.school_id,
                    Adoption.tutor_id == tutor_id, Adoption.state.in_(("requested", "accepted")))):
                raise AlreadyExists("this tutor already asked to adopt this course")
        if caller.role == "teacher" and tutor_id != caller.user_id:
            raise PermissionDenied("a teacher asks for themselves; the school admin may name any tutor")
        tutor_name = ""
        if tutor_id:
            tutor = await self.peers.get_user(tutor_id)  # identity shows only the caller's own school's users
            if tutor.role != "teacher" or tutor.school_id != caller.school_id:
                raise InvalidArgument("the tutor is a teacher of the adopting school")
            tutor_name = tutor.name
        # Without a tutor (the seeds' second route) the providing leader teaches the school's students.
        school = await self.peers.get_school(caller.school_id or "")
        async with self.db.transaction() as session:
            adoption = Adoption(entry_id=entry_id, adopting_school_id=school.id, adopting_school_name=school.name,
                                tutor_id=tutor_id, tutor_name=tutor_name, expected_students=expected,
                                note=note.strip(), requested_by=caller.user_id, requested_at=self.clock())
            session.add(adoption)
            await session.flush()
            return adoption

    async def _leaders_adoption(
        self, session: AsyncSession, caller: Caller, adoption_id: str
    ) -> tuple[Adoption, Entry]:
        adoption = await session.get(Adoption, adoption_id)
        entry = await session.get(Entry, adoption.entry_id) if adoption else None
        if adoption is None or entry is None or entry.leader_id != caller.user_id:
            raise NotFound("no such adoption request for your courses")
        if adoption.state != "requested":
            raise FailedPrecondition(f"the request is {adoption.state} already")
        return adoption, entry

    async def accept(self, caller: Caller, adoption_id: str, permissions: list[str]) -> Adoption:
        """The leader accepts: the tutor joins the run's team with the permissions the leader picks;
        without a tutor, the leader gets a class for the adopting school's students."""
        async with self.db.transaction() as session:
            adoption, entry = await self._leaders_adoption(session, caller, adoption_id)
            if not adoption.tutor_id:
                # Accepted first: the course service makes a class for another school only on a run
                # that school adopted (it asks CheckAdoption); undone if the class cannot be made.
                adoption.state, adoption.decided_at = "accepted", self.clock()
        class_id = ""
        if adoption.tutor_id:
            await self.peers.add_team_member(entry.run_id, adoption.tutor_id, permissions or ["manage_classes"])
        else:
            try:
                class_id = (await self.peers.create_class(entry.run_id, adoption.adopting_school_name,
                                                          adoption.adopting_school_id)).id
            except BaseException:
                async with self.db.transaction() as session:
                    claimed = await session.get(Adoption, adoption_id)
                    assert claimed is not None
                    claimed.state, claimed.decided_at = "requested", None
                raise
        async with self.db.transaction() as session:
            adoption = await session.get(Adoption, adoption_id)
            assert adoption is not None
            adoption.state, adoption.decided_at, adoption.class_id = "accepted", self.clock(), class_id
            await emit(session, outbox, "sharing.adoption.accepted", sharing_pb2.AdoptionAccepted(
                adoption_id=adoption.id, run_id=entry.run_id, adopting_school_id=adoption.adopting_school_id,
                leader_id=entry.leader_id, tutor_id=adoption.tutor_id, class_id=class_id))
            return adoption

    async def decline(self, caller: Caller, adoption_id: str, reason: str) -> Adoption:
        if not reason.strip():
            raise InvalidArgument("declining needs a reason")
        async with self.db.transaction() as session:
            adoption, _ = await self._leaders_adoption(session, caller, adoption_id)
            adoption.state, adoption.reason, adoption.decided_at = "declined", reason.strip(), self.clock()
            return adoption

    async def adopted(self, caller: Caller, run_id: str, school_id: str) -> bool:
        """Whether the school adopted this run of a course the caller leads, and the caller accepted it."""
        async with self.db.read() as session:
            found = await session.scalar(
                select(Adoption.id).join(Entry, Entry.id == Adoption.entry_id).where(
                    Entry.run_id == run_id, Entry.leader_id == caller.user_id,
                    Adoption.adopting_school_id == school_id, Adoption.state == "accepted").limit(1))
        return found is not None

    async def adoptions(self, caller: Caller, side: str, term_code: str) -> list[tuple[Adoption, Entry, int, int]]:
        """Adopting: the caller's school's adoptions. Providing: who adopted the school's (or leader's) courses."""
        statement = select(Adoption, Entry).join(Entry, Entry.id == Adoption.entry_id)
        if side == "adopting":
            statement = statement.where(Adoption.adopting_school_id == caller.school_id)
        elif side == "providing":
            mine = Entry.school_id == caller.school_id if caller.role == "school_admin" else Entry.leader_id == (
                caller.user_id)
            statement = statement.where(mine)
        else:
            raise InvalidArgument("side is adopting or providing")
        if caller.role not in ("school_admin", "teacher"):
            raise PermissionDenied("schools' admins and teachers see adoptions")
        if caller.role == "teacher" and side == "adopting":
            statement = statement.where(or_(Adoption.tutor_id == caller.user_id,
                                            Adoption.requested_by == caller.user_id))
        if term_code:
            statement = statement.where(Entry.term_code == term_code)
        async with self.db.transaction() as session:
            rows = list(await session.execute(statement.order_by(Adoption.requested_at)))
        result = []
        for adoption, entry in rows:
            classes = students = 0
            if adoption.state == "accepted":
                usage = await self.peers.school_usage(entry.run_id, adoption.adopting_school_id)
                classes, students = usage.classes, usage.students
            result.append((adoption, entry, classes, students))
        return result

    async def export_adoptions(self, caller: Caller, side: str, term_code: str, fmt: str) -> tuple[str, str, bytes]:
        rows = [[entry.course_name, entry.school_name, adoption.adopting_school_name, adoption.tutor_name,
                 adoption.expected_students, classes, students, entry.term_code, adoption.state]
                for adoption, entry, classes, students in await self.adoptions(caller, side, term_code)]
        return table_file(f"adoptions-{side}", ADOPTION_HEADERS, rows, fmt)

    # ---- events --------------------------------------------------------------------------

    async def apply_decision(self, session: AsyncSession, decided: review_pb2.ReviewDecided, meta: object) -> None:
        if decided.kind != KIND_SHARING_ENTRY:
            return
        entry = await session.get(Entry, decided.subject_id)
        if entry is None or entry.state != "submitted":
            return
        approved = decided.decision == "approved"
        entry.state, entry.rejection_reason = ("approved", "") if approved else ("rejected", decided.reason)

    async def run_changed(self, session: AsyncSession, changed: course_pb2.RunChanged, meta: object) -> None:
        """A run taken down stays on published lists, marked; its state follows the course service."""
        for entry in await session.scalars(select(Entry).where(Entry.run_id == changed.run.id)):
            entry.run_state = changed.run.state
            entry.taken_down = changed.run.state == "taken_down"

    async def course_changed(self, session: AsyncSession, changed: course_pb2.CourseChanged, meta: object) -> None:
        for entry in await session.scalars(select(Entry).where(Entry.course_id == changed.course_id)):
            entry.course_name, entry.category = changed.name, changed.category
            entry.online_credits, entry.total_credits = changed.online_credits, changed.total_credits
            entry.leader_id, entry.leader_name = changed.leader_id, changed.leader_name
            entry.refresh_search_text()
