"""The MOOC registry (MOOC课程库) and the term calendar: school admins file, the center reviews."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.grams import folded
from servicekit.outbox import emit_many
from servicekit.pagination import fetch_page
from servicekit.reviews import ScopeType, request_review, requested_subject, review_requested
from servicekit.search import contains
from servicekit.spreadsheets import read_rows, xlsx_template
from servicekit.text import check_text
from services.course.adapters.orm import (
    REGISTRY_GRAMS,
    REGISTRY_SCOPE,
    Course,
    RegistryChange,
    RegistryEntry,
    Term,
    outbox,
)
from services.course.domain import courses as rules
from services.course.domain import runs as run_rules
from services.course.service_layer.courses import announce_course

OWNER = "course"
KIND_REGISTRY_ENTRY = "registry_entry"
KIND_REGISTRY_CHANGE = "registry_change"
LEADER_COLUMN = "课程负责人工号或用户名"
TEMPLATE_HEADERS = ["课程名称", LEADER_COLUMN]
IMPORT_CHUNK = 500  # rows filed per flush: the event loop keeps serving between chunks
RESOLVE_CHUNK = 5000  # leaders looked up per identity call
# The leader is a teacher account of the school, named by staff number (工号) or username, not by a typed name.
HEADER_ALIASES = {"name": ("课程名称", "name", "course_name"),
                  "leader": (LEADER_COLUMN.lower(), "课程负责人工号", "课程负责人用户名", "leader", "leader_number",
                             "leader_username")}


@dataclass(frozen=True)
class Teachers:
    """The identity service, asked on the caller's behalf who a registry entry's leader is."""

    get_user: Callable[[str], Awaitable[identity_pb2.User | None]]  # None: no such account visible to the caller
    resolve: Callable[[str, list[str]], Awaitable[identity_pb2.ResolveTeachersResponse]]  # (school, numbers/names)


def _text(value: str, field: str) -> str:
    return check_text(value, field, 100)


def check_import_rows(rows: list[list[str]]) -> tuple[list[tuple[int, str, str]], list[tuple[int, str, str]]]:
    """(good rows as (line, name, leader's staff number or username), problems as (line, field, reason)) of an
    import file, header first."""
    if not rows:
        raise InvalidArgument("the file has no header row")
    header = [cell.strip().lower() for cell in rows[0]]
    positions = {}
    for field, names in HEADER_ALIASES.items():
        found = [i for i, title in enumerate(header) if title in names]
        if not found:
            raise InvalidArgument(f"the header lacks the column {TEMPLATE_HEADERS[list(HEADER_ALIASES).index(field)]}"
                                  "; download the template")
        positions[field] = found[0]
    problems: list[tuple[int, str, str]] = []
    good: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cells):
            continue
        values = {f: (cells[i].strip() if i < len(cells) else "") for f, i in positions.items()}
        row_problems = [(line, f, "is required") for f, v in values.items() if not v]
        row_problems += [(line, f, "has at most 100 characters") for f, v in values.items() if len(v) > 100]
        if not row_problems and values["name"] in seen:
            row_problems.append((line, "name", f"duplicates line {seen[values['name']]}"))
        if row_problems:
            problems += row_problems
        else:
            seen[values["name"]] = line
            good.append((line, values["name"], values["leader"]))
    return good, problems


def _entry_review(caller: Caller, entry: RegistryEntry) -> dict:
    """The center's review of a filed registry entry."""
    return dict(owner=OWNER, kind=KIND_REGISTRY_ENTRY, subject_id=entry.id, scope_type=ScopeType.CENTER,
                scope_id=entry.province_code, title=f"MOOC课程库 registry entry: {entry.name} ({entry.leader_name})",
                snapshot={"name": entry.name, "leader_id": entry.leader_id, "leader_name": entry.leader_name,
                          "school_id": entry.school_id},
                requested_by=caller.user_id)


class RegistryHandlers:
    def __init__(self, db: Database, teachers: Teachers, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.teachers = teachers
        self.clock = clock

    async def _leader(self, school_id: str, leader_id: str) -> tuple[str, str]:
        """(id, name) of the picked leader: an active teacher account of the school (identity's word)."""
        leader_id = leader_id.strip()
        if not leader_id:
            raise InvalidArgument("pick the course leader (leader_id): a teacher account of your school",
                                  reason="LEADER_REQUIRED")
        user = await self.teachers.get_user(leader_id) if len(leader_id) <= 36 else None
        rules.check_registry_leader(school_id, user.role if user else "", user.status if user else "",
                                    user.school_id if user else "")
        assert user is not None
        return user.id, user.name

    # ---- entries ------------------------------------------------------------------------

    async def create_entry(self, caller: Caller, name: str, leader_id: str) -> RegistryEntry:
        caller.require_role("school_admin")
        name = _text(name, "the course name")
        leader_id, leader_name = await self._leader(caller.school_id or "", leader_id)
        async with self.db.transaction() as session:
            await self._refuse_duplicate(session, caller.school_id or "", name)
            return await self._file(session, caller, name, leader_id, leader_name)

    @staticmethod
    async def _refuse_duplicate(session: AsyncSession, school_id: str, name: str) -> None:
        if await session.scalar(select(RegistryEntry.id).where(
                RegistryEntry.school_id == school_id, RegistryEntry.name == name,
                RegistryEntry.status != "rejected")):
            raise AlreadyExists(f"the registry already has {name} for your school")

    async def _file(self, session: AsyncSession, caller: Caller, name: str, leader_id: str,
                    leader_name: str) -> RegistryEntry:
        entry = RegistryEntry(school_id=caller.school_id or "", province_code=caller.province_code or "", name=name,
                              leader_id=leader_id, leader_name=leader_name, created_by=caller.user_id,
                              created_at=self.clock(), changes=[])
        session.add(entry)
        await session.flush()
        await self._request_entry_review(session, caller, entry)
        return entry

    @staticmethod
    async def _request_entry_review(session: AsyncSession, caller: Caller, entry: RegistryEntry) -> None:
        await request_review(session, outbox, **_entry_review(caller, entry))

    async def import_entries(self, caller: Caller, filename: str, content: bytes) -> tuple[int, int, list]:
        """(rows, created, problems); a file with any bad row files nothing."""
        caller.require_role("school_admin")
        # Parsing and checking the rows is CPU work: in a parser process, so the service keeps serving.
        good, problems = await read_rows(filename, content, then=check_import_rows)
        school_id = caller.school_id or ""
        leaders = await self._resolve_leaders(school_id, [key for _, _, key in good])
        problems += [(line, "leader", f"{key} is not an active teacher of your school: name the leader by staff "
                                      "number (工号) or username")
                     for line, _, key in good if key not in leaders]
        async with self.db.transaction() as session:
            filed = await self._filed_names(session, school_id, [name for _, name, _ in good])
            problems += [(line, "name", f"the registry already has {name} for your school")
                         for line, name, _ in good if name in filed]
            if problems:
                return len({line for line, _, _ in good} | {p[0] for p in problems}), 0, sorted(problems)
            for start in range(0, len(good), IMPORT_CHUNK):  # one flush per chunk, not one per row nor one huge one
                entries = [RegistryEntry(school_id=school_id, province_code=caller.province_code or "", name=name,
                                         leader_id=leaders[key][0], leader_name=leaders[key][1],
                                         created_by=caller.user_id, created_at=self.clock(), changes=[])
                           for _, name, key in good[start:start + IMPORT_CHUNK]]
                session.add_all(entries)
                await session.flush()
                await emit_many(session, outbox, requested_subject(OWNER),
                                [review_requested(**_entry_review(caller, entry)) for entry in entries])
        return len(good), len(good), []

    async def _resolve_leaders(self, school_id: str, keys: list[str]) -> dict[str, tuple[str, str]]:
        """{staff number or username: (id, name)} of the school's active teachers among `keys`."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(wanted), RESOLVE_CHUNK):
            reply = await self.teachers.resolve(school_id, wanted[start:start + RESOLVE_CHUNK])
            found.update({teacher.key: (teacher.user_id, teacher.name) for teacher in reply.teachers})
        return found

    @staticmethod
    async def _filed_names(session: AsyncSession, school_id: str, names: list[str]) -> set[str]:
        """The names among `names` that the school's registry already holds (not rejected), 500 per query."""
        filed: set[str] = set()
        for start in range(0, len(names), 500):
            filed.update(await session.scalars(select(RegistryEntry.name).where(
                RegistryEntry.school_id == school_id, RegistryEntry.name.in_(names[start:start + 500]),
                RegistryEntry.status != "rejected")))
        return filed

    @staticmethod
    def template() -> bytes:
        return xlsx_template(TEMPLATE_HEADERS, ["数据结构", "T2024001"])

    async def list_entries(self, caller: Caller, status: str, query: str, page_size: int, page_token: str):  # type: ignore[no-untyped-def]
        statement = select(RegistryEntry)
        if caller.role == "school_admin":
            statement = statement.where(RegistryEntry.school_id == caller.school_id)
        elif caller.role == "center_admin":
            statement = statement.where(RegistryEntry.province_code == caller.province_code)
        elif caller.role == "teacher":
            statement = statement.where(RegistryEntry.school_id == caller.school_id,
                                        RegistryEntry.status == "approved")
        else:
            raise PermissionDenied("school admins, teachers and the provincial center read the registry")
        if status:
            statement = statement.where(RegistryEntry.status == status)
        text = query.strip()
        if query:
            statement = statement.where(or_(contains(RegistryEntry.name, text),
                                            contains(RegistryEntry.leader_name, text)))
        async with self.db.read() as session:  # reads wait for no writer (a big import filing meanwhile)
            if text:  # candidates off the gram index (servicekit.grams), verified by the LIKE above
                statement = statement.where(RegistryEntry.id.in_(await REGISTRY_GRAMS.matching(
                    session, REGISTRY_SCOPE, {0: folded(text), 1: folded(text)})))
            return await fetch_page(session, statement.order_by(RegistryEntry.created_at), page_size, page_token)

    async def get_entry(self, caller: Caller, entry_id: str) -> RegistryEntry:
        async with self.db.read() as session:
            return await self._visible_entry(session, caller, entry_id)

    @staticmethod
    async def _visible_entry(session: AsyncSession, caller: Caller, entry_id: str) -> RegistryEntry:
        entry = await session.get(RegistryEntry, entry_id)
        visible = entry is not None and (
            (caller.role in ("school_admin", "teacher") and entry.school_id == caller.school_id)
            or (caller.role == "center_admin" and entry.province_code == caller.province_code)
        )
        if not visible:
            raise NotFound("no such registry entry")
        assert entry is not None
        return entry

    async def request_change(self, caller: Caller, entry_id: str, name: str, leader_id: str,
                             reason: str) -> RegistryEntry:
        """A new name, a new leader (picked: leader_id; empty keeps the current one), or both."""
        caller.require_role("school_admin")
        name = _text(name, "the course name")
        reason = _text(reason, "the reason") if len(reason) <= 100 else reason.strip()
        async with self.db.read() as session:
            current = await self._visible_entry(session, caller, entry_id)
        if leader_id.strip():
            leader_id, leader_name = await self._leader(current.school_id, leader_id)
        else:
            leader_id, leader_name = current.leader_id, current.leader_name
        async with self.db.transaction() as session:
            entry = await self._visible_entry(session, caller, entry_id)
            if entry.status != "approved":
                raise FailedPrecondition(f"only a registered course changes; this entry is {entry.status}")
            if name == entry.name and leader_id == entry.leader_id and leader_name == entry.leader_name:
                raise InvalidArgument("the change request changes nothing")
            if any(change.status == "pending" for change in entry.changes):
                raise FailedPrecondition("a change request for this entry is already waiting for the center")
            change = RegistryChange(name=name, leader_id=leader_id, leader_name=leader_name, reason=reason,
                                    requested_by=caller.user_id, requested_at=self.clock())
            entry.changes.append(change)
            await session.flush()
            await request_review(
                session, outbox, owner=OWNER, kind=KIND_REGISTRY_CHANGE, subject_id=change.id,
                scope_type=ScopeType.CENTER, scope_id=entry.province_code,
                title=f"MOOC课程库变更 registry change: {entry.name} → {name} ({leader_name})",
                snapshot={"entry_id": entry.id,
                          "from": {"name": entry.name, "leader_id": entry.leader_id, "leader_name": entry.leader_name},
                          "to": {"name": name, "leader_id": leader_id, "leader_name": leader_name},
                          "reason": reason},
                requested_by=caller.user_id,
            )
            return entry

    async def apply_decision(self, session: AsyncSession, decided: review_pb2.ReviewDecided) -> None:
        approved = decided.decision == "approved"
        if decided.kind == KIND_REGISTRY_ENTRY:
            entry = await session.get(RegistryEntry, decided.subject_id)
            if entry is not None and entry.status == "pending":
                entry.status = "approved" if approved else "rejected"
                entry.rejection_reason = "" if approved else decided.reason
        elif decided.kind == KIND_REGISTRY_CHANGE:
            change = await session.get(RegistryChange, decided.subject_id)
            if change is None or change.status != "pending":
                return
            change.status = "approved" if approved else "rejected"
            change.decision_reason = decided.reason
            change.decided_at = self.clock()
            if approved:
                entry = await session.get(RegistryEntry, change.entry_id)
                assert entry is not None
                entry.name, entry.leader_id, entry.leader_name = change.name, change.leader_id, change.leader_name
                # The registered MOOC has the new name and leader from now on: a picked leader leads it.
                for course in await session.scalars(select(Course).where(Course.registry_entry_id == entry.id)):
                    course.name, course.leader_name = entry.name, entry.leader_name
                    if entry.leader_id:
                        course.leader_id = entry.leader_id
                    await announce_course(session, course)

    # ---- the term calendar --------------------------------------------------------------

    async def create_term(self, caller: Caller, code: str, name: str, starts_on: str, ends_on: str) -> Term:
        caller.require_role("center_admin")
        try:
            start, end = date.fromisoformat(starts_on), date.fromisoformat(ends_on)
        except ValueError as error:
            raise InvalidArgument("dates are YYYY-MM-DD") from error
        run_rules.check_term(code, name, start, end)
        async with self.db.transaction() as session:
            if await session.get(Term, (caller.province_code, code)):
                raise AlreadyExists(f"the term {code} exists")
            term = Term(province_code=caller.province_code or "", code=code, name=name.strip(), starts_on=start,
                        ends_on=end)
            session.add(term)
            return term

    async def list_terms(self, caller: Caller) -> list[Term]:
        async with self.db.transaction() as session:
            return list(await session.scalars(
                select(Term).where(Term.province_code == (caller.province_code or "")).order_by(Term.starts_on)))
