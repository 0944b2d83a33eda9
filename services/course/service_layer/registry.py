"""The MOOC registry (MOOC课程库) and the term calendar: school admins file, the center reviews."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.pagination import fetch_page
from servicekit.reviews import ScopeType, request_review
from servicekit.spreadsheets import read_rows, xlsx_template
from services.course.adapters.orm import Course, RegistryChange, RegistryEntry, Term, outbox
from services.course.domain import runs as run_rules
from services.course.service_layer.courses import announce_course

OWNER = "course"
KIND_REGISTRY_ENTRY = "registry_entry"
KIND_REGISTRY_CHANGE = "registry_change"
TEMPLATE_HEADERS = ["课程名称", "课程负责人"]
HEADER_ALIASES = {"name": ("课程名称", "name", "course_name"), "leader_name": ("课程负责人", "leader", "leader_name")}


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(f"{field} is required")
    if len(value) > 100:
        raise InvalidArgument(f"{field} has at most 100 characters")
    return value


class RegistryHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    # ---- entries ------------------------------------------------------------------------

    async def create_entry(self, caller: Caller, name: str, leader_name: str) -> RegistryEntry:
        caller.require_role("school_admin")
        name, leader_name = _text(name, "the course name"), _text(leader_name, "the leader's name")
        async with self.db.transaction() as session:
            await self._refuse_duplicate(session, caller.school_id or "", name)
            return await self._file(session, caller, name, leader_name)

    @staticmethod
    async def _refuse_duplicate(session: AsyncSession, school_id: str, name: str) -> None:
        if await session.scalar(select(RegistryEntry.id).where(
                RegistryEntry.school_id == school_id, RegistryEntry.name == name,
                RegistryEntry.status != "rejected")):
            raise AlreadyExists(f"the registry already has {name} for your school")

    async def _file(self, session: AsyncSession, caller: Caller, name: str, leader_name: str) -> RegistryEntry:
        entry = RegistryEntry(school_id=caller.school_id or "", province_code=caller.province_code or "", name=name,
                              leader_name=leader_name, created_by=caller.user_id, created_at=self.clock(),
                              changes=[])
        session.add(entry)
        await session.flush()
        await request_review(
            session, outbox, owner=OWNER, kind=KIND_REGISTRY_ENTRY, subject_id=entry.id,
            scope_type=ScopeType.CENTER, scope_id=entry.province_code,
            title=f"MOOC课程库 registry entry: {name} ({leader_name})",
            snapshot={"name": name, "leader_name": leader_name, "school_id": entry.school_id},
            requested_by=caller.user_id,
        )
        return entry

    async def import_entries(self, caller: Caller, filename: str, content: bytes) -> tuple[int, int, list]:
        """(rows, created, problems); a file with any bad row files nothing."""
        caller.require_role("school_admin")
        rows = read_rows(filename, content)
        if not rows:
            raise InvalidArgument("the file has no header row")
        header = [cell.strip().lower() for cell in rows[0]]
        positions = {}
        for field, names in HEADER_ALIASES.items():
            found = [i for i, title in enumerate(header) if title in names]
            if not found:
                raise InvalidArgument(f"the header lacks the column {names[0]}; download the template")
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
                good.append((line, values["name"], values["leader_name"]))
        async with self.db.transaction() as session:
            for line, name, _ in good:
                try:
                    await self._refuse_duplicate(session, caller.school_id or "", name)
                except AlreadyExists as error:
                    problems.append((line, "name", error.message))
            if problems:
                return len(good) + len({p[0] for p in problems}), 0, sorted(problems)
            for _, name, leader_name in good:
                await self._file(session, caller, name, leader_name)
        return len(good), len(good), []

    @staticmethod
    def template() -> bytes:
        return xlsx_template(TEMPLATE_HEADERS, ["数据结构", "王老师"])

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
        if query:
            pattern = f"%{query.strip()}%"
            statement = statement.where(or_(RegistryEntry.name.like(pattern), RegistryEntry.leader_name.like(pattern)))
        async with self.db.transaction() as session:
            return await fetch_page(session, statement.order_by(RegistryEntry.created_at), page_size, page_token)

    async def get_entry(self, caller: Caller, entry_id: str) -> RegistryEntry:
        async with self.db.transaction() as session:
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

    async def request_change(self, caller: Caller, entry_id: str, name: str, leader_name: str,
                             reason: str) -> RegistryEntry:
        caller.require_role("school_admin")
        name, leader_name = _text(name, "the course name"), _text(leader_name, "the leader's name")
        reason = _text(reason, "the reason") if len(reason) <= 100 else reason.strip()
        async with self.db.transaction() as session:
            entry = await self._visible_entry(session, caller, entry_id)
            if entry.status != "approved":
                raise FailedPrecondition(f"only a registered course changes; this entry is {entry.status}")
            if (name, leader_name) == (entry.name, entry.leader_name):
                raise InvalidArgument("the change request changes nothing")
            if any(change.status == "pending" for change in entry.changes):
                raise FailedPrecondition("a change request for this entry is already waiting for the center")
            change = RegistryChange(name=name, leader_name=leader_name, reason=reason, requested_by=caller.user_id,
                                    requested_at=self.clock())
            entry.changes.append(change)
            await session.flush()
            await request_review(
                session, outbox, owner=OWNER, kind=KIND_REGISTRY_CHANGE, subject_id=change.id,
                scope_type=ScopeType.CENTER, scope_id=entry.province_code,
                title=f"MOOC课程库变更 registry change: {entry.name} → {name} ({leader_name})",
                snapshot={"entry_id": entry.id, "from": {"name": entry.name, "leader_name": entry.leader_name},
                          "to": {"name": name, "leader_name": leader_name}, "reason": reason},
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
                entry.name, entry.leader_name = change.name, change.leader_name
                # The registered MOOC shows the new name and leader from now on.
                for course in await session.scalars(select(Course).where(Course.registry_entry_id == entry.id)):
                    course.name, course.leader_name = entry.name, entry.leader_name
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
