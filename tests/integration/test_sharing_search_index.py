"""The sharing search through its gram index returns exactly what the LIKE over every entry returned, on SQLite
and PostgreSQL, page by page with the right total; the grams follow edits and removals; the migration back-fills."""

from __future__ import annotations

import random
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import or_, select

from contracts.course.v1 import course_pb2
from contracts.sharing.v1 import sharing_pb2
from servicekit import pinyin
from servicekit.auth import Caller, bind_caller, unbind_caller
from servicekit.db import Database
from servicekit.migrations import script_location
from servicekit.search import contains
from services.sharing.adapters.orm import ENTRY_GRAMS, Entry, SharingList, entry_grams
from services.sharing.entrypoints.grpc_server import SharingServicer
from services.sharing.service_layer.handlers import SharingHandlers
from tests.support import alembic_upgrade, empty_database

COURSES = ["数据结构", "数据库系统", "操作系统", "C语言程序设计", "Python数据分析", "100%满分英语", "a_b 课程",
           "大学物理（上）", "高等数学A", "重庆历史", "数", "构造", "DATA Science", "Ｃ语言全角"]
LEADERS = ["王老师", "李明", "张三", "Zhang San", "欧阳修", "司马光"]
SCHOOLS = ["浙江大学", "杭州职业技术学院", "重庆大学", "Zhejiang University"]
QUERIES = ["数", "据", "数据", "据结", "数据结构", "数据库系统", "系统", "王", "王老师", "老师", "杭州", "重庆",
           "c", "C", "C语言", "c语言", "python", "PYTHON", "data", "Data Science", "%", "100%", "_", "a_b", "a%b",
           "b 课", " ", "sjjg", "shujujiegou", "SJJG", "jiegou", "shu ju", "zs", "zhangsan", "ouyang", "cqdx",
           "chongqing", "zjdx", "hzzyjsxy", "（上）", "物理（", "不存在", "zzzz", "q", "全角", "Ｃ", "1", "00", "x\\y"]
STUDENT = Caller(user_id="s1", role="student", school_id="other", province_code="33", name="学生")


async def _handlers(database_url) -> tuple[Database, SharingHandlers]:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("sharing"))
    return db, SharingHandlers(db, peers=None)  # type: ignore[arg-type]


def _entry(list_id: str, rng: random.Random, state: str = "approved", number: int = 0) -> Entry:
    entry = Entry(list_id=list_id, run_id=str(uuid.uuid4()), course_id=str(uuid.uuid4()),
                  school_id=f"school-{number % 3}", school_name=rng.choice(SCHOOLS),
                  course_name=rng.choice(COURSES), category=rng.choice(["理工", "人文"]), online_credits=1,
                  total_credits=2, leader_id=str(uuid.uuid4()), leader_name=rng.choice(LEADERS),
                  term_code="2030-spring", state=state, run_state="published", added_by="t")
    entry.refresh_search_text()
    return entry


async def _published_list(db: Database, entries: int, state: str = "published") -> str:
    rng = random.Random(14)
    list_id = str(uuid.uuid4())
    async with db.transaction() as session:
        session.add(SharingList(id=list_id, province_code="33", term_code=f"t-{list_id[:8]}", title="清单",
                                notice_on="2029-10-08", publish_by="2029-11-30", state=state, opened_by="c"))
        await session.flush()
        session.add_all(_entry(list_id, rng, rng.choice(["approved"] * 4 + ["rejected"]), n)
                        for n in range(entries))
    return list_id


async def _like_results(db: Database, list_id: str, query: str, state: str | None = "approved") -> list[str]:
    """What the search answered before the index: the escaped LIKE over every entry of the list."""
    text = query.strip()
    statement = select(Entry.id).where(Entry.list_id == list_id)
    if state:
        statement = statement.where(Entry.state == state)
    if text:
        statement = statement.where(or_(contains(Entry.search_text, text.lower()),
                                        *pinyin.matches_any(Entry.search_pinyin, text)))
    async with db.read() as session:
        return list(await session.scalars(statement.order_by(Entry.course_name, Entry.id)))


async def _searched(handlers: SharingHandlers, list_id: str, query: str, page_size: int = 7,
                    caller: Caller = STUDENT) -> tuple[list[str], set[int]]:
    """Every page of a search: the ids in order, and the totals the pages reported. Rendered pages are remembered
    per list revision as the service's are, so every test here asked twice checks they do not go stale."""
    ids, totals, token = [], set(), ""
    while True:
        page, token, total = await handlers.search_page(caller, sharing_pb2.SearchEntriesRequest(
            list_id=list_id, query=query, page_size=page_size, page_token=token),
            lambda entries, *rest: ([entry.id for entry in entries], *rest))
        ids += page
        totals.add(total)
        if not token:
            return ids, totals


async def _assert_grams_follow_the_entries(db: Database) -> None:
    async with db.read() as session:
        stored = {tuple(row) for row in await session.execute(
            select(entry_grams.c.scope, entry_grams.c.gram, entry_grams.c.rank, entry_grams.c.owner_id))}
        expected = {(e.list_id, gram, e.course_name, e.id) for e in await session.scalars(select(Entry))
                    for gram in ENTRY_GRAMS.grams_of((e.search_text, e.search_pinyin))}
    assert stored == expected


async def test_the_indexed_search_finds_exactly_what_the_like_found(database_url) -> None:  # type: ignore[no-untyped-def]
    db, handlers = await _handlers(database_url)
    list_id = await _published_list(db, 120)
    await _published_list(db, 30)  # another list's grams stay out of this one's results
    await _assert_grams_follow_the_entries(db)
    for query in QUERIES:
        expected = await _like_results(db, list_id, query)
        for attempt in range(2):  # counted, then remembered for the list's revision
            found, totals = await _searched(handlers, list_id, query)
            assert found == expected, (query, attempt)
            assert totals == {len(expected)}, (query, attempt)
    assert len(await _like_results(db, list_id, "数据")) > 7  # the queries above span pages
    await db.dispose()


async def test_the_center_sees_every_state_through_the_index(database_url) -> None:  # type: ignore[no-untyped-def]
    db, handlers = await _handlers(database_url)
    list_id = await _published_list(db, 60)
    center = Caller(user_id="c1", role="center_admin", school_id=None, province_code="33", name="中心")
    for query in ("数据", "王", "sjjg", "%"):
        found, totals = await _searched(handlers, list_id, query, caller=center)
        expected = await _like_results(db, list_id, query, state=None)
        assert (found, totals) == (expected, {len(expected)})
    await db.dispose()


async def test_an_edited_or_removed_entry_takes_its_grams_along(database_url) -> None:  # type: ignore[no-untyped-def]
    db, handlers = await _handlers(database_url)
    list_id = await _published_list(db, 40, state="open")
    admin = Caller(user_id="a1", role="school_admin", school_id="school-1", province_code="33", name="教务处")
    mine = await _like_results(db, list_id, "", state=None)
    async with db.read() as session:
        entry = next(e for e in await session.scalars(select(Entry).where(Entry.id.in_(mine)))
                     if e.school_id == "school-1")
    before, _ = await _searched(handlers, list_id, "量子", caller=admin)
    assert before == []
    # The course service renames the course: the entry's grams (and its rank) follow the event.
    async with db.transaction() as session:
        await handlers.course_changed(session, course_pb2.CourseChanged(
            course_id=entry.course_id, name="量子计算导论", category="理工", leader_id=entry.leader_id,
            leader_name=entry.leader_name, online_credits=1, total_credits=2), None)
    await _assert_grams_follow_the_entries(db)
    assert (await _searched(handlers, list_id, "量子", caller=admin))[0] == [entry.id]
    assert (await _searched(handlers, list_id, "lzjs", caller=admin))[0] == [entry.id]
    if entry.course_name not in ("量子计算导论",):
        old = await _searched(handlers, list_id, entry.course_name, caller=admin)
        assert entry.id not in old[0]
    # The school takes it off the list: its grams go with it and the remembered totals are stale.
    counted = await _searched(handlers, list_id, "计算", caller=admin)
    assert counted == ([entry.id], {1})
    await handlers.remove_entry(admin, entry.id)
    await _assert_grams_follow_the_entries(db)
    assert await _searched(handlers, list_id, "计算", caller=admin) == ([], {0})
    await db.dispose()


async def test_a_state_change_is_counted_afresh(database_url) -> None:  # type: ignore[no-untyped-def]
    """A search's total is remembered per list revision: an entry rejected after it was counted is not shown."""
    db, handlers = await _handlers(database_url)
    list_id = await _published_list(db, 30)
    found, totals = await _searched(handlers, list_id, "王老师")
    assert found and totals == {len(found)}
    listed, totals = await _searched(handlers, list_id, "")  # browsing: its total is remembered the same way
    assert listed == await _like_results(db, list_id, "") and totals == {len(listed)}
    async with db.transaction() as session:
        (await session.get(Entry, found[0])).state = "rejected"  # type: ignore[union-attr]
    again, totals = await _searched(handlers, list_id, "王老师")
    assert again == found[1:] and totals == {len(found) - 1}
    assert await _searched(handlers, list_id, "") == ([e for e in listed if e != found[0]], {len(listed) - 1})
    await db.dispose()


@pytest.mark.parametrize("names", [("数据结构", "张三", "浙江大学"), ("C语言 100%", "Li_Ming", "Zhejiang U")])
async def test_entries_stored_before_the_index_are_back_filled(database_url, names) -> None:  # type: ignore[no-untyped-def]
    db = await empty_database(database_url)

    course, leader, school = names
    text, key = f"{course} {leader} {school}".lower(), pinyin.search_key(course, leader, school)
    async with db.engine.begin() as conn:
        await conn.run_sync(alembic_upgrade, "sharing", "c3a91f0e7b21")  # the revision before the index
        await conn.execute(sa.text(
            "INSERT INTO sharing_lists (id, province_code, term_code, title, notice_on, publish_by, state, opened_by,"
            " created_at, late_reason) VALUES ('L1', '33', '2030-spring', '清单', '2029-10-08', '2029-11-30',"
            " 'published', 'c', '2029-11-01 00:00:00', '')"))
        await conn.execute(sa.text(
            "INSERT INTO entries (id, list_id, run_id, course_id, school_id, school_name, course_name, category,"
            " online_credits, total_credits, leader_id, leader_name, leader_phone, leader_email, term_code, state,"
            " rejection_reason, run_state, taken_down, search_text, search_pinyin, added_by, created_at, updated_at)"
            " VALUES ('E1', 'L1', 'R1', 'C1', 'S1', :school, :course, '理工', 1, 2, 'U1', :leader, '', '',"
            " '2030-spring', 'approved', '', 'published', false, :text, :key, 'a', '2029-11-01 00:00:00',"
            " '2029-11-01 00:00:00')"), {"school": school, "course": course, "leader": leader, "text": text,
                                         "key": key})
    await db.migrate(script_location("sharing"))
    await _assert_grams_follow_the_entries(db)
    handlers = SharingHandlers(db, peers=None)  # type: ignore[arg-type]
    for query in (course[:2], leader, school[-2:], pinyin.name_key(course).split()[-1], course[-1]):
        assert await _searched(handlers, "L1", query) == (["E1"], {1}), query
    await db.dispose()


async def test_a_remembered_page_shows_contacts_only_to_whom_it_did_before(database_url) -> None:  # type: ignore[no-untyped-def]
    """The same page of the same search, rendered once for a teacher (the leaders' phones) and once for a student
    (none), through the servicer: neither gets the other's."""
    db, handlers = await _handlers(database_url)
    list_id = await _published_list(db, 30)
    async with db.transaction() as session:
        for entry in await session.scalars(select(Entry).where(Entry.list_id == list_id)):
            entry.leader_phone = "13800000000"
    servicer = SharingServicer(handlers, statistics=None)  # type: ignore[arg-type]
    teacher = Caller(user_id="t1", role="teacher", school_id="other", province_code="33", name="老师")
    request = sharing_pb2.SearchEntriesRequest(list_id=list_id, query="老师", page_size=5)
    for caller, phone in ((teacher, "13800000000"), (STUDENT, ""), (teacher, "13800000000"), (STUDENT, "")):
        bound = bind_caller(caller)
        try:
            reply = await servicer.SearchEntries(request, None)
        finally:
            unbind_caller(bound)
        assert reply.entries and {entry.leader_phone for entry in reply.entries} == {phone}, caller.role
    await db.dispose()
