"""A school's colleges (学院/教学单位), and which college its teachers and college admins belong to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from services.identity.adapters.orm import College, School, User
from services.identity.domain import colleges
from services.identity.service_layer.common import load_user
from services.identity.service_layer.sign_in import void_every_sessions_access_tokens


@dataclass(frozen=True)
class CollegeCard:
    college: College
    teacher_count: int


class CollegeHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def create_college(self, caller: Caller, name: str) -> CollegeCard:
        """School admins, for their own school; a name is used once per school."""
        caller.require_role("school_admin")
        name = colleges.college_name(name)
        async with self.db.transaction() as session:
            if not caller.school_id or await session.get(School, caller.school_id) is None:
                raise NotFound("no such school")
            if await session.scalar(select(College.id).where(College.school_id == caller.school_id,
                                                              College.name == name)):
                raise AlreadyExists(f"the school already has a college named {name}")
            college = College(school_id=caller.school_id, name=name)
            session.add(college)
            await session.flush()
            return CollegeCard(college, 0)

    async def list_colleges(self, caller: Caller, school_id: str) -> list[CollegeCard]:
        """The school's colleges by name, with their teachers counted: its members and platform admins."""
        school_id = school_id.strip() or caller.school_id or ""
        if not school_id:
            raise InvalidArgument("name the school (school_id)")
        if not colleges.may_read_colleges(caller.role, caller.school_id, school_id):
            raise PermissionDenied("a school's colleges are for its own members")
        async with self.db.read() as session:
            if await session.get(School, school_id) is None:
                raise NotFound("no such school")
            counts = dict((await session.execute(
                select(User.college_id, func.count()).join(College, College.id == User.college_id)
                .where(College.school_id == school_id, User.role == "teacher").group_by(User.college_id))).all())
            found = await session.scalars(select(College).where(College.school_id == school_id)
                                          .order_by(College.name))
            return [CollegeCard(college, counts.get(college.id, 0)) for college in found]

    async def set_user_college(self, caller: Caller, user_id: str, college_id: str) -> User:
        """The school admin puts a teacher or college admin of the school in one of its colleges; an empty
        college takes a teacher out of theirs (a college admin always has one). A college admin moved to
        another college signs in again: their access tokens name the college they act for."""
        caller.require_role("school_admin")
        college_id = college_id.strip()
        async with self.db.transaction() as session:
            user = await load_user(session, user_id)
            if user.school_id != caller.school_id:
                raise PermissionDenied("school admins place their own school's accounts only")
            colleges.check_college_of_role(user.role, college_id)
            if college_id:
                college = await session.get(College, college_id)
                if college is None:
                    raise NotFound("no such college")
                colleges.check_college_of_school(college.school_id, user.school_id)
            if (user.college_id or "") != college_id:
                user.college_id = college_id or None
                if user.role in colleges.ROLES_ALWAYS_IN_A_COLLEGE:
                    await void_every_sessions_access_tokens(session, user.id, self.clock())
            return user

    async def names(self, college_ids: Iterable[str | None]) -> dict[str, str]:
        """College names by id, for showing accounts."""
        wanted = {college_id for college_id in college_ids if college_id}
        if not wanted:
            return {}
        async with self.db.read() as session:
            rows = await session.execute(select(College.id, College.name).where(College.id.in_(wanted)))
            return dict(rows.all())
