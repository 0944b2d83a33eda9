"""The school, course and MOOC registry searches through their gram indexes find exactly what their LIKEs found
over every row, on SQLite and PostgreSQL (each backend with its own LIKE: case-insensitive for A-Z on SQLite)."""

from __future__ import annotations

import random
import uuid

from sqlalchemy import or_, select

from servicekit.db import Database
from servicekit.grams import folded
from servicekit.migrations import script_location
from servicekit.pinyin import matches_any, pinyin_query
from servicekit.search import contains
from services.course.adapters.orm import (
    COURSE_GRAMS,
    COURSES_SCOPE,
    REGISTRY_GRAMS,
    REGISTRY_SCOPE,
    Course,
    RegistryEntry,
)
from services.identity.adapters.orm import School
from services.identity.service_layer.handlers import IdentityConfig
from services.identity.service_layer.schools import SchoolHandlers

NAMES = ["浙江大学", "Zhejiang University", "杭州电子科技大学", "HDU 杭电", "重庆大学", "100%大学", "a_b学院",
         "数据结构", "C语言程序设计", "c++ Primer", "Python数据分析", "大学英语（上）", "DATA science"]
QUERIES = ["大学", "大", "学院", "zhejiang", "ZHEJIANG", "Zhejiang", "hdu", "HDU", "杭电", "%", "100%", "_", "a_b",
           "zjdx", "cqdx", "hangzhou", "数据", "c", "C", "c++", "data", "sjjg", "（上", "不存在", "qq", "Ｃ", " 杭"]


async def _school_rows(db: Database) -> None:
    rng = random.Random(3)
    async with db.transaction() as session:
        for number in range(40):
            session.add(School(code=f"S{number:03d}{rng.choice('abXY')}", name=f"{rng.choice(NAMES)}{number}",
                               province_code=rng.choice(["33", "41"]), host_province=True))


async def test_the_school_search_finds_what_its_like_found(database_url) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))  # provinces 33 and 41 are seeded by the migrations
    await _school_rows(db)
    schools = SchoolHandlers(db, IdentityConfig(host_province="33"))
    async with db.transaction() as session:  # a renamed school's grams follow
        renamed = (await session.scalars(select(School).order_by(School.code).limit(1))).one()
        renamed.name = "量子大学"
    for province in ("", "33"):
        for query in [*QUERIES, "量子", "lzdx"]:
            text = query.strip()
            statement = select(School.id).where(or_(contains(School.name, text), contains(School.code, text),
                                                    *matches_any(School.name_pinyin, text)))
            if province:
                statement = statement.where(School.province_code == province)
            async with db.read() as session:
                expected = list(await session.scalars(statement.order_by(School.code)))
            found, token, totals = [], "", set()
            while True:
                page = await schools.list_schools(province, query, 4, token)
                found += [school.id for school in page.items]
                totals.add(page.total)
                token = page.next_page_token
                if not token:
                    break
            assert (found, totals) == (expected, {len(expected)}), (province, query)
    found = await schools.list_schools("", "量子", 10, "")
    assert [school.id for school in found.items] == [renamed.id]
    await db.dispose()


async def test_the_course_and_registry_candidates_hold_every_like_match(database_url) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("course"))
    rng = random.Random(5)
    async with db.transaction() as session:
        for _ in range(40):
            session.add(Course(school_id="s1", province_code="33", kind="mooc", name=rng.choice(NAMES),
                               category="理工", leader_id=str(uuid.uuid4()), leader_name="王老师",
                               overview_json="{}"))
            session.add(RegistryEntry(school_id="s1", province_code="33", name=rng.choice(NAMES),
                                      leader_name=rng.choice(["王老师", "Li Ming", "欧阳_修", "100%老师"]),
                                      created_by="t"))
    async with db.transaction() as session:  # an edited and a deleted course take their grams along
        first, second = (await session.scalars(select(Course).order_by(Course.id).limit(2))).all()
        first.name = "量子计算"
        await session.delete(second)
    for query in [*QUERIES, "量子", "lzjs", "王老师", "li m", "LI", "欧阳_", "%老"]:
        text = query.strip()
        async with db.read() as session:
            like = or_(contains(Course.name, text), *matches_any(Course.name_pinyin, query))
            expected = set(await session.scalars(select(Course.id).where(like)))
            candidates = await COURSE_GRAMS.matching(session, COURSES_SCOPE,
                                                     {0: folded(text), 1: pinyin_query(query)})
            assert set(await session.scalars(select(Course.id).where(like, Course.id.in_(candidates)))) == expected
            assert expected <= set(await session.scalars(candidates)), query
            like = or_(contains(RegistryEntry.name, text), contains(RegistryEntry.leader_name, text))
            expected = set(await session.scalars(select(RegistryEntry.id).where(like)))
            candidates = await REGISTRY_GRAMS.matching(session, REGISTRY_SCOPE, {0: folded(text), 1: folded(text)})
            assert expected <= set(await session.scalars(candidates)), query
    async with db.read() as session:
        assert set(await session.scalars(await COURSE_GRAMS.matching(session, COURSES_SCOPE, {0: "量子"}))) == {
            first.id}
    await db.dispose()
