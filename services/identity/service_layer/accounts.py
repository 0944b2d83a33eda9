"""Accounts made by admins, and the directory: list, look up, find teachers for course teams."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_, select, union

from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.grams import folded
from servicekit.pinyin import matches_any as pinyin_matches
from servicekit.pinyin import pinyin_query
from servicekit.search import contains
from services.identity.adapters import credentials
from services.identity.adapters.orm import TEACHER_GRAMS, TEACHERS_SCOPE, College, School, User
from services.identity.adapters.sheets import SheetRow
from services.identity.domain import colleges, rules
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.common import Issued, Page, read_page, refuse_taken
from services.identity.service_layer.handover import SheetTicket, issue_sheet


class AccountHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def ensure_platform_admin(self, username: str, password: str) -> None:
        """The first platform admin, from the deployment's secret; nothing happens if it exists."""
        rules.validate_username(username)
        rules.check_new_password(password, username=username)
        async with self.db.transaction() as session:
            if await session.scalar(select(User.id).where(User.username == username)):
                return
        password_hash = await credentials.hash_password(password)
        async with self.db.transaction() as session:
            session.add(User(username=username, name="Platform administrator", role="platform_admin",
                             password_hash=password_hash))

    async def create_user(
        self, caller: Caller, request: identity_pb2.CreateUserRequest
    ) -> tuple[User, Issued, SheetTicket]:
        role = request.role
        if role not in rules.ROLES:
            raise InvalidArgument(f"unknown role '{role}'")
        self._may_create(caller, role, request.school_id, request.province_code)
        college_id = request.college_id.strip()
        colleges.check_college_of_role(role, college_id)
        name = rules.require_text(request.name, "name")
        phone = request.phone.strip() or None
        if phone:
            rules.validate_phone(phone)
        rules.validate_email(request.email.strip())
        async with self.db.transaction() as session:
            school = None
            if role in rules.ROLES_WITH_A_SCHOOL:
                school = await session.get(School, request.school_id)
                if school is None:
                    raise NotFound("no such school")
                if caller.role == "center_admin" and school.province_code != caller.province_code:
                    raise PermissionDenied("the provincial center manages schools of its own province only")
            if college_id:
                college = await session.get(College, college_id)
                if college is None:
                    raise NotFound("no such college")
                colleges.check_college_of_school(college.school_id, school.id if school else None)
            number = request.number.strip() or None
            if role in rules.IMPORTABLE_ROLES and not number:
                raise InvalidArgument("a student or teacher needs a student or staff number")
            if number and not rules.NUMBER_PATTERN.match(number):
                raise InvalidArgument("a number has 1 to 32 letters, digits, '_' or '-'")
            username = request.username.strip() or (f"{school.code}-{number}" if school and number else "")
            rules.validate_username(username)
            await refuse_taken(session, username=username, phone=phone, school=school, number=number)
            secret = credentials.new_one_time_secret()
            user = User(
                username=username,
                name=name,
                phone=phone,
                email=request.email.strip(),
                role=role,
                school_id=school.id if school else None,
                college_id=college_id or None,
                province_code=school.province_code if school else (request.province_code or None),
                number=number,
                class_name=request.class_name.strip(),
                initial_secret_hash=credentials.digest(secret),
                must_change_password=True,
            )
            session.add(user)
            await session.flush()
            ticket = await issue_sheet(
                session, caller.user_id, [SheetRow(username, name, number or "", secret)], self.clock())
            return user, Issued(user.id, username, secret), ticket

    def _may_create(self, caller: Caller, role: str, school_id: str, province_code: str) -> None:
        if caller.role == "platform_admin":
            if role == "center_admin" and not province_code:
                raise InvalidArgument("a center admin needs a province_code")
            return
        if caller.role == "center_admin" and role == "school_admin":
            return  # the school's province is checked once the school is loaded
        if caller.role == "school_admin" and role in rules.ROLES_A_SCHOOL_ADMIN_CREATES:
            if school_id != caller.school_id:
                raise PermissionDenied("school admins create accounts of their own school only")
            return
        raise PermissionDenied(f"a {caller.role} cannot create {role} accounts")

    async def list_users(
        self, caller: Caller, school_id: str, role: str, query: str, page_size: int, page_token: str
    ) -> Page:
        if caller.role == "school_admin":
            school_id = school_id or caller.school_id or ""
            if school_id != caller.school_id:
                raise PermissionDenied("school admins see the accounts of their own school only")
        elif caller.role != "platform_admin":
            raise PermissionDenied("only admins list accounts")
        statement = select(User)
        if school_id:
            statement = statement.where(User.school_id == school_id)
        if role:
            statement = statement.where(User.role == role)
        if query:
            text = query.strip()
            statement = statement.where(
                or_(contains(User.name, text), contains(User.username, text), contains(User.phone, text),
                    contains(User.number, text), *pinyin_matches(User.name_pinyin, text))
            )
        return await read_page(self.db, statement.order_by(User.username), page_size, page_token)

    async def get_user(self, caller: Caller, user_id: str) -> User:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
        allowed = user is not None and (
            caller.user_id == user.id or caller.role == "platform_admin"
            or (caller.role == "school_admin" and caller.school_id == user.school_id))
        if not allowed:
            raise NotFound("no such user")
        assert user is not None
        return user

    async def resolve_teachers(self, caller: Caller, school_id: str, keys: list[str]) -> tuple[list[tuple[str, User]],
                                                                                            list[str]]:
        """A school's active teachers by staff number (工号) or username, for that school's admins (the course
        service's MOOC registry import): ((key, teacher) found, keys nobody matches)."""
        caller.require_school_admin_of(school_id)
        wanted = list(dict.fromkeys(key.strip() for key in keys if key.strip()))
        if len(wanted) > 5000:
            raise InvalidArgument("look up at most 5000 teachers at once")
        by_number: dict[str, User] = {}
        by_username: dict[str, User] = {}
        async with self.db.read() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                for user in await session.scalars(select(User).where(
                        User.school_id == school_id, User.role == "teacher", User.status == UserStatus.ACTIVE,
                        or_(User.number.in_(chunk), User.username.in_(chunk)))):
                    if user.number:
                        by_number[user.number] = user
                    by_username[user.username] = user
        found = [(key, by_number.get(key) or by_username[key]) for key in wanted
                 if key in by_number or key in by_username]
        return found, [key for key in wanted if key not in by_number and key not in by_username]

    async def find_teachers(self, caller: Caller, query: str) -> list[tuple[User, School]]:
        """Teachers of any school, for course teams: exact id, username or phone, or part of the name or of its
        pinyin ("zs" or "zhangsan" for 张三); the first 20 by name (then id)."""
        caller.require_role("teacher", "school_admin", "center_admin", "platform_admin")
        query = query.strip()
        if len(query) < 2:
            raise InvalidArgument("search with at least 2 characters")
        exact = or_(User.id == query, User.username == query, User.phone == query)
        async with self.db.read() as session:
            # The name and pinyin candidates come from the gram index of active teachers (servicekit.grams), the
            # exact keys from their unique columns; the LIKE as before verifies them.
            candidates = await TEACHER_GRAMS.candidates(session, TEACHERS_SCOPE,
                                                        {0: folded(query), 1: pinyin_query(query)})
            exact_rows = select(User.id.label("owner_id"), User.name.label("rank")).where(exact)
            if candidates.rows is None:
                rows = exact_rows.subquery("found")
            else:
                rows = union(exact_rows, select(candidates.rows.c.owner_id, candidates.rows.c.rank)).subquery("found")
            result = await session.execute(
                select(User, School).join(rows, rows.c.owner_id == User.id)
                .join(School, School.id == User.school_id).where(
                    User.role == "teacher", User.status == UserStatus.ACTIVE,
                    or_(exact, contains(User.name, query), *pinyin_matches(User.name_pinyin, query)),
                ).order_by(rows.c.rank, rows.c.owner_id).limit(20))
            return [(user, school) for user, school in result]
