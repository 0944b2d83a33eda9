"""The teacher search (FindTeachers) through its gram index finds exactly what its LIKE over every account found, on
SQLite and PostgreSQL; spreadsheet imports, renames, approvals, rejections and removals keep it in step; the
migration back-fills the teachers there were."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import or_, select

from servicekit.auth import Caller
from servicekit.db import Database, new_id
from servicekit.errors import InvalidArgument
from servicekit.migrations import script_location
from servicekit.pinyin import matches_any, name_key
from servicekit.search import contains
from services.identity.adapters.orm import TEACHER_GRAMS, TEACHERS_SCOPE, School, User, user_grams
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.accounts import AccountHandlers
from services.identity.service_layer.imports import ImportHandlers
from tests.support import alembic_upgrade, empty_database

NAMES = ["张三", "张三丰", "张 三", "李明", "Li Ming", "LI MING", "li_ming", "100%老师", "a_b老师", "欧阳修",
         "Ouyang Xiu", "王老师", "O'Brien", "数据结构老师", "重庆人", "Zhang San"]
QUERIES = ["张三", "三丰", "张三丰", "张 三", "李明", "li", "LI", "Li", "ming", "MING", "zs", "zhangsan", "zsf", "%老",
           "100%", "a_b", "_b", "a_", "老师", "王老师", "王老师1", "不存在", "ouyang", "ou'yang", "oy", "brien", "'B",
           "chongqing", "cq", "  张三 ", "g Z", "Ｌｉ", "13900000007", "teacher-li", "ab"]
PLATFORM = Caller(user_id="p1", role="platform_admin", school_id=None, province_code=None, name="平台")


async def _database(database_url) -> Database:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))  # province 33 is seeded by the migrations
    return db


async def _school(db: Database, code: str) -> str:
    async with db.transaction() as session:
        school = School(code=code, name=f"{code}大学", province_code="33", host_province=True)
        session.add(school)
        await session.flush()
        return school.id


async def _accounts(db: Database, school_ids: list[str], count: int = 80) -> None:
    """Teachers (most active, some waiting or rejected), students and a teacher without a school, named alike."""
    rng = random.Random(7)
    async with db.transaction() as session:
        for number in range(count):
            role = rng.choice(["teacher", "teacher", "teacher", "student"])
            status = rng.choice([UserStatus.ACTIVE] * 5 + [UserStatus.PENDING, UserStatus.REJECTED])
            session.add(User(username=f"u{number:03d}", name=f"{rng.choice(NAMES)}{rng.choice(['', number])}",
                             role=role, status=status, school_id=rng.choice(school_ids),
                             phone=f"139{number:08d}", number=f"N{number}"))
        for number in range(25):  # more matches than a page of 20: the first 20 by name
            session.add(User(username=f"w{number:03d}", name=f"王老师{number}", role="teacher",
                             school_id=school_ids[0]))
        session.add(User(username="teacher-li", name="Li", role="teacher", school_id=school_ids[0]))
        session.add(User(username="no-school", name="张三", role="teacher"))


async def _like_results(db: Database, query: str) -> list[str]:
    """FindTeachers' query as it was before the index, ties broken by id."""
    query = query.strip()
    async with db.read() as session:
        return list(await session.scalars(
            select(User.id).join(School, School.id == User.school_id).where(
                User.role == "teacher", User.status == UserStatus.ACTIVE,
                or_(User.id == query, User.username == query, User.phone == query,
                    contains(User.name, query), *matches_any(User.name_pinyin, query)),
            ).order_by(User.name, User.id).limit(20)))


async def _found(accounts: AccountHandlers, query: str) -> list[str]:
    return [user.id for user, _school in await accounts.find_teachers(PLATFORM, query)]


async def _assert_the_search_finds_what_the_like_found(db: Database, queries: list[str]) -> None:
    accounts = AccountHandlers(db)
    for query in queries:
        assert await _found(accounts, query) == await _like_results(db, query), query


async def _assert_grams_follow_the_teachers(db: Database) -> None:
    """The index holds exactly the grams of the active teachers' names and pinyin, ranked by name."""
    async with db.read() as session:
        stored = {tuple(row) for row in await session.execute(
            select(user_grams.c.scope, user_grams.c.gram, user_grams.c.rank, user_grams.c.owner_id))}
        expected = {(TEACHERS_SCOPE, gram, user.name, user.id)
                    for user in await session.scalars(select(User).where(User.role == "teacher",
                                                                        User.status == UserStatus.ACTIVE))
                    for gram in TEACHER_GRAMS.grams_of((_folded(user.name), user.name_pinyin))}
    assert stored == expected


def _folded(text: str) -> str:
    return "".join(char.lower() if "A" <= char <= "Z" else char for char in text)


async def test_the_teacher_search_finds_what_its_like_found(database_url) -> None:  # type: ignore[no-untyped-def]
    db = await _database(database_url)
    school_ids = [await _school(db, "ZJU"), await _school(db, "HDU")]
    await _accounts(db, school_ids)
    await _assert_grams_follow_the_teachers(db)
    async with db.read() as session:
        some_teacher = await session.scalar(select(User.id).where(
            User.username.like("u%"), User.role == "teacher", User.status == UserStatus.ACTIVE).limit(1))
    await _assert_the_search_finds_what_the_like_found(db, [*QUERIES, some_teacher])
    assert len(await _like_results(db, "老师")) == 20  # the page limit is reached, its order decides
    assert len(await _like_results(db, "张三")) > 1 and await _like_results(db, some_teacher) == [some_teacher]
    with pytest.raises(InvalidArgument):
        await AccountHandlers(db).find_teachers(PLATFORM, " 张 ")
    await db.dispose()


async def test_renamed_approved_rejected_and_removed_teachers_follow(database_url) -> None:  # type: ignore[no-untyped-def]
    db = await _database(database_url)
    school_id = await _school(db, "ZJU")
    accounts = AccountHandlers(db)
    async with db.transaction() as session:
        renamed = User(username="r1", name="张三", role="teacher", school_id=school_id)
        waiting = User(username="r2", name="李明", role="teacher", school_id=school_id, status=UserStatus.PENDING)
        rejected = User(username="r3", name="欧阳修", role="teacher", school_id=school_id)
        removed = User(username="r4", name="王老师", role="teacher", school_id=school_id)
        session.add_all([renamed, waiting, rejected, removed])
    assert await _found(accounts, "李明") == []
    async with db.transaction() as session:
        (await session.get(User, renamed.id)).name = "量子力学"  # type: ignore[union-attr]
        (await session.get(User, waiting.id)).status = UserStatus.ACTIVE  # type: ignore[union-attr]
        (await session.get(User, rejected.id)).status = UserStatus.REJECTED  # type: ignore[union-attr]
        await session.delete(await session.get(User, removed.id))
    await _assert_grams_follow_the_teachers(db)
    assert await _found(accounts, "张三") == []
    assert await _found(accounts, "量子") == await _found(accounts, "lzlx") == [renamed.id]
    assert await _found(accounts, "李明") == [waiting.id]
    assert await _found(accounts, "欧阳") == await _found(accounts, "王老") == []
    await db.dispose()


def _roster(rows: list[tuple[str, str, str]]) -> bytes:
    return ("工号,姓名,手机号\n" + "".join(f"{number},{name},{phone}\n" for number, name, phone in rows)).encode()


async def test_teachers_of_a_spreadsheet_import_are_found(database_url) -> None:  # type: ignore[no-untyped-def]
    db = await _database(database_url)
    school_id = await _school(db, "ZJU")
    admin = Caller(user_id="a1", role="school_admin", school_id=school_id, province_code="33", name="教务处")
    imports, accounts = ImportHandlers(db), AccountHandlers(db)
    rng = random.Random(11)
    roster = [(f"T{n:04d}", f"{rng.choice(NAMES)}{n}", f"137{n:08d}") for n in range(60)]
    outcome = await imports.import_accounts(admin, school_id, "teacher", "teachers.csv", _roster(roster), False)
    assert (outcome.imported, outcome.created) == (True, 60)
    students = [(f"S{n:04d}", f"张三学生{n}", f"136{n:08d}") for n in range(10)]
    await imports.import_accounts(admin, school_id, "student", "students.csv", _roster(students), False)
    await _assert_grams_follow_the_teachers(db)  # students stay out of the teachers' index
    await _assert_the_search_finds_what_the_like_found(db, QUERIES)
    assert len(await _found(accounts, "张三")) > 0
    # The office re-imports the roster with some names corrected: the renamed teachers' grams follow.
    corrected = [(number, f"量子{name}" if index % 3 == 0 else name, phone)
                 for index, (number, name, phone) in enumerate(roster)]
    outcome = await imports.import_accounts(admin, school_id, "teacher", "teachers.csv", _roster(corrected), False)
    assert (outcome.updated, outcome.unchanged) == (20, 40)
    await _assert_grams_follow_the_teachers(db)
    await _assert_the_search_finds_what_the_like_found(db, [*QUERIES, "量子", "lz"])
    assert len(await _found(accounts, "量子")) == 20
    await db.dispose()


async def test_teachers_stored_before_the_index_are_back_filled(database_url) -> None:  # type: ignore[no-untyped-def]
    db = await empty_database(database_url)

    school_id = new_id()
    rows = [("张三", "teacher", UserStatus.ACTIVE), ("Li_Ming 100%", "teacher", UserStatus.ACTIVE),
            ("张三", "teacher", UserStatus.PENDING), ("张三", "student", UserStatus.ACTIVE)]
    async with db.engine.begin() as conn:
        await conn.run_sync(alembic_upgrade, "identity", "e5b7d2a4c912")  # the revision before the index
        await conn.execute(School.__table__.insert().values(  # type: ignore[attr-defined]
            id=school_id, code="ZJU", name="浙江大学", name_pinyin=name_key("浙江大学"), province_code="33",
            host_province=True))
        await conn.execute(User.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": new_id(), "username": f"b{n}", "name": name, "name_pinyin": name_key(name), "role": role,
             "status": status, "school_id": school_id, "email": "", "class_name": "", "rejection_reason": "",
             "must_change_password": False}
            for n, (name, role, status) in enumerate(rows)])
    await db.migrate(script_location("identity"))
    await _assert_grams_follow_the_teachers(db)
    async with db.read() as session:
        assert len(set(await session.scalars(select(user_grams.c.owner_id)))) == 2
    await _assert_the_search_finds_what_the_like_found(db, ["张三", "zs", "li", "_m", "100%", "ng 1"])
    assert len(await _found(AccountHandlers(db), "张三")) == 1
    await db.dispose()
