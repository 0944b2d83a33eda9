"""Course categories: each province's list, which its provincial center maintains; courses pick from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.course.adapters.orm import Category, Course
from services.course.domain import courses as rules
from services.course.service_layer.courses import announce_course


class CategoryHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def _seed(self, province_code: str) -> None:
        """Writes the seeds' seven for a province that has no list yet (once; a concurrent writer wins)."""
        try:
            async with self.db.transaction() as session:
                if await session.scalar(select(Category.id).where(Category.province_code == province_code).limit(1)):
                    return
                session.add_all([Category(province_code=province_code, name=name, position=position,
                                          created_at=self.clock())
                                 for position, name in enumerate(rules.SEED_CATEGORIES, start=1)])
        except IntegrityError:
            pass  # another request seeded the same province at the same moment

    async def list_categories(self, caller: Caller, province_code: str, include_retired: bool) -> list[Category]:
        """Any signed-in user reads a province's list (their own by default)."""
        province = (province_code or caller.province_code or "").strip()
        if not (len(province) == 2 and province.isascii() and province.isdigit()):
            raise InvalidArgument("name the province by its two-digit code (province_code), e.g. 33",
                                  reason="BAD_PROVINCE_CODE")
        await self._seed(province)
        async with self.db.read() as session:
            statement = select(Category).where(Category.province_code == province)
            if not include_retired:
                statement = statement.where(Category.retired.is_(False))
            return list(await session.scalars(statement.order_by(Category.position)))

    def _center_of(self, caller: Caller) -> str:
        if caller.role != "center_admin" or not caller.province_code:
            raise PermissionDenied("only the provincial center maintains its course categories")
        return caller.province_code

    async def _own(self, session: AsyncSession, caller: Caller, category_id: str) -> Category:
        province = self._center_of(caller)
        category = await session.get(Category, category_id)
        if category is None or category.province_code != province:
            raise NotFound("no such category in your province's list")
        return category

    @staticmethod
    async def _refuse_taken(session: AsyncSession, province: str, name: str) -> None:
        if await session.scalar(select(Category.id).where(Category.province_code == province,
                                                          Category.name == name)):
            raise AlreadyExists(f"your province's list already has {name}")

    async def add_category(self, caller: Caller, name: str) -> Category:
        province = self._center_of(caller)
        name = rules.check_category_name(name)
        await self._seed(province)
        async with self.db.transaction() as session:
            await self._refuse_taken(session, province, name)
            last = await session.scalar(select(func.max(Category.position)).where(Category.province_code == province))
            category = Category(province_code=province, name=name, position=(last or 0) + 1, created_at=self.clock())
            session.add(category)
            await session.flush()
            return category

    async def rename_category(self, caller: Caller, category_id: str, name: str) -> Category:
        """The province's courses that have the category follow the new name."""
        name = rules.check_category_name(name)
        await self._seed(self._center_of(caller))
        async with self.db.transaction() as session:
            category = await self._own(session, caller, category_id)
            if category.retired:
                raise FailedPrecondition("a retired category is not renamed", reason="CATEGORY_RETIRED")
            if name == category.name:
                raise InvalidArgument("the new name is the current one")
            await self._refuse_taken(session, category.province_code, name)
            for course in await session.scalars(select(Course).where(
                    Course.province_code == category.province_code, Course.category == category.name)):
                course.category = name
                await announce_course(session, course)
            category.name = name
            return category

    async def retire_category(self, caller: Caller, category_id: str) -> Category:
        """A retired category stays on the courses that have it; new courses and edits cannot pick it."""
        await self._seed(self._center_of(caller))
        async with self.db.transaction() as session:
            category = await self._own(session, caller, category_id)
            if category.retired:
                raise FailedPrecondition("the category is retired already", reason="CATEGORY_RETIRED")
            others = await session.scalar(select(func.count()).select_from(Category).where(
                Category.province_code == category.province_code, Category.retired.is_(False),
                Category.id != category.id)) or 0
            if not others:
                raise FailedPrecondition("the list keeps at least one category", reason="LAST_CATEGORY")
            category.retired = True
            return category
