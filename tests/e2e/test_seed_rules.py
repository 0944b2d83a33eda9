"""Seed 000's rules enforced through the gateway: the sharing cycle's dates and the center's calendar,
the 2-working-day answer to out-of-province schools, and pinyin searches."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime

from devmesh.client import Api, ApiError
from tests.e2e.conftest import SchoolWorld, create_account, new_phone
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_sharing import list_dates, new_term


def own_term(center: Api, season: str, starts: str, ends: str) -> str:
    """A term of the center's calendar with the given month-day span, in a year of its own."""
    year = random.randrange(2030, 2099)
    code = f"{year}-{season}"
    try:
        center.post("/terms", {"code": code, "name": code, "starts_on": f"{year}-{starts}",
                               "ends_on": f"{year}-{ends}"})
    except ApiError as error:
        assert error.status == 409
        return own_term(center, season, starts, ends)
    return code


def test_a_sharing_list_is_opened_only_for_a_calendar_term_within_the_seed_cycle(
    api: Api, center: Api, school: SchoolWorld
) -> None:
    term = new_term(center)
    year = int(term.split("-")[0])
    good = {"term_code": term, "title": f"{term} 学期课程共享清单", **list_dates(term)}

    def refused(status: int, reason: str, who: Api = center, **changes: str) -> None:
        expect_problem(status, lambda: who.post("/sharing/lists", {**good, **changes}), reason)

    # The term must be in the center's calendar (the course service's).
    refused(400, "UNKNOWN_TERM", term_code=f"{year}-winter")
    # Notice in April or October only; published before June / December; notice before publish-by.
    notice = date.fromisoformat(good["notice_on"])
    refused(400, "NOTICE_NOT_IN_CYCLE", notice_on=notice.replace(month=notice.month - 1).isoformat())
    refused(400, "PUBLISH_BY_NOT_IN_CYCLE", publish_by=notice.replace(month=notice.month + 2, day=1).isoformat())
    refused(400, "PUBLISH_BEFORE_NOTICE", publish_by=notice.replace(day=1).isoformat())
    refused(400, "BAD_LIST_DATES", notice_on="2026-02-30")
    # Only the center opens lists; a signed-out caller is refused before anything.
    refused(403, "", who=school.admin)
    refused(401, "", who=api)
    # None of the refusals made a list: the good one is the first for the term.
    assert all(x["term_code"] != term for x in center.get("/sharing/lists")["items"])
    opened = center.post("/sharing/lists", good)
    assert (opened["notice_on"], opened["publish_by"], opened["state"]) == (
        good["notice_on"], good["publish_by"], "open")

    # Publish-by before the term starts: a summer term starting 20 May cannot take a list due on 25 May.
    summer = own_term(center, "summer", "05-20", "08-31")
    summer_year = summer.split("-")[0]
    expect_problem(400, lambda: center.post("/sharing/lists", {
        "term_code": summer, "title": "暑期清单", "notice_on": f"{summer_year}-04-08",
        "publish_by": f"{summer_year}-05-25"}), "PUBLISH_BY_AFTER_TERM_START")
    assert center.post("/sharing/lists", {"term_code": summer, "title": "暑期清单", "notice_on": f"{summer_year}-04-08",
                                          "publish_by": f"{summer_year}-05-19"})["term_code"] == summer


def test_publishing_a_list_late_needs_a_recorded_reason_and_shows_late(center: Api, school: SchoolWorld) -> None:
    # On time: publish-by still ahead, no reason asked, not late.
    term = new_term(center)
    on_time = center.post("/sharing/lists", {"term_code": term, "title": "准时清单", **list_dates(term)})
    published = center.post(f"/sharing/lists/{on_time['id']}/publish")
    assert published["state"] == "published" and published["late"] is False and published["late_reason"] == ""

    # Last year's October cycle is over: its publish-by day has passed.
    last_year = datetime.now().year - 1
    term = new_term(center)
    late = center.post("/sharing/lists", {"term_code": term, "title": "迟发清单", "notice_on": f"{last_year}-10-08",
                                          "publish_by": f"{last_year}-11-30"})
    expect_problem(409, lambda: center.post(f"/sharing/lists/{late['id']}/publish"), "LATE_REASON_REQUIRED")
    expect_problem(409, lambda: center.post(f"/sharing/lists/{late['id']}/publish", {"late_reason": "   "}),
                   "LATE_REASON_REQUIRED")
    expect_problem(400, lambda: center.post(f"/sharing/lists/{late['id']}/publish", {"late_reason": "x" * 501}))
    expect_problem(403, lambda: school.admin.post(f"/sharing/lists/{late['id']}/publish",
                                                  {"late_reason": "越权"}))
    still_open = {x["id"]: x for x in center.get("/sharing/lists")["items"]}[late["id"]]
    assert still_open["state"] == "open" and still_open["late_reason"] == ""
    published = center.post(f"/sharing/lists/{late['id']}/publish", {"late_reason": "专家评审顺延一周"})
    assert published["late"] is True and published["late_reason"] == "专家评审顺延一周"
    # Every school sees it published, and late, with the reason.
    seen = {x["id"]: x for x in school.admin.get("/sharing/lists")["items"]}[late["id"]]
    assert seen["late"] is True and seen["late_reason"] == "专家评审顺延一周"
    assert {x["id"]: x for x in school.admin.get("/sharing/lists")["items"]}[on_time["id"]]["late"] is False


def test_an_out_of_province_application_is_due_after_two_of_chinas_working_days(api: Api, platform: Api) -> None:
    from services.identity.domain import rules
    from tests.e2e.test_school_applications import apply

    application = apply(api, school_name=f"河南工作日学院{uuid.uuid4().hex[:6]}")
    submitted = datetime.fromisoformat(application["submitted_at"])
    due = datetime.fromisoformat(application["answer_due_at"])
    # The service counts China's holidays and adjusted working days (the same rule the unit tests state).
    assert due == rules.answer_due(submitted)
    assert platform.get(f"/school-applications/{application['id']}")["answer_due_at"] == application["answer_due_at"]


HANZI = "安白北晨东方飞光海红华金静乐林明南平青秋山水天文西星雪阳云中"


def hanzi(n: int) -> str:
    return "".join(random.choices(HANZI, k=n))


def test_pinyin_and_initials_find_courses_teachers_schools_and_listed_entries(
    api: Api, platform: Api, center: Api, school: SchoolWorld
) -> None:
    from servicekit.pinyin import name_key
    from tests.e2e.conftest import decide, new_code
    from tests.e2e.test_sharing import mooc_run
    from tests.support import wait_until

    # A school found by its name's pinyin and initials.
    code = new_code()
    school_name = f"{hanzi(4)}大学"
    created = platform.post("/schools", {"code": code, "name": school_name, "province_code": "33"})
    full, initials = name_key(school_name).split()
    for query in (full, initials, initials.upper(), full[:6]):
        assert created["id"] in [s["id"] for s in api.get("/schools", params={"query": query})["items"]], query
    assert created["id"] not in [s["id"] for s in api.get("/schools", params={"query": initials + "q"})["items"]]

    # A teacher found by the team search (any school's teachers) with pinyin.
    teacher_name = f"欧阳{hanzi(2)}"
    user, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"PY{code[-4:]}",
                                  name=teacher_name)
    teacher_full, teacher_initials = name_key(teacher_name).split()
    for query in (teacher_full, teacher_initials, "ouyang"):
        found = [t["user_id"] for t in leader.get("/teachers", params={"query": query})["items"]]
        assert user["id"] in found, query
    # The school admin's account list takes pinyin too.
    assert school.admin.get("/users", params={"query": teacher_initials})["total"] >= 1
    # Imported accounts (a bulk insert, then a bulk rename) get their pinyin as well.
    number = f"PI{code[-4:]}"

    def import_teacher(name: str) -> None:
        rows = f"number,name,phone,email,class_name\n{number},{name},{new_phone()},,\n".encode()
        school.admin.post(f"/schools/{school.id}/imports", files={"file": ("t.csv", rows)}, params={"role": "teacher"})

    def users(query: str) -> list[str]:
        return [u["number"] for u in school.admin.get("/users", params={"query": query})["items"]]

    first_name, renamed = f"司徒{hanzi(2)}", f"上官{hanzi(2)}"
    import_teacher(first_name)
    assert users(name_key(first_name).split()[0]) == [number]
    import_teacher(renamed)
    assert users(name_key(renamed).split()[0]) == [number] and users(name_key(first_name).split()[0]) == []
    assert number in [t["username"].split("-")[-1] for t in leader.get("/teachers", params={"query": "shangguan"})[
        "items"] if t["school_id"] == school.id]
    expect_problem(400, lambda: leader.get("/teachers", params={"query": "o"}))
    expect_problem(401, lambda: api.get("/teachers", params={"query": teacher_initials}))

    # The course search: "sjjg" and "shujujiegou" find 数据结构, nothing else does.
    term = new_term(center)
    course_name = f"数据结构{hanzi(2)}"
    run = mooc_run(center, school, leader, teacher_name, course_name, term)
    leader.post("/courses", {"kind": "spoc_independent", "name": f"操作系统{hanzi(2)}", "category": "专业课"})
    for query in ("sjjg", "shujujiegou", "SJJG", "shu ju jie gou", "jiegou", "数据结构"):
        assert [c["course"]["id"] for c in leader.get("/courses", params={"query": query})["items"]] == [
            run["course"]["id"]], query
    assert leader.get("/courses", params={"query": "sjjh"})["total"] == 0
    assert len(leader.get("/courses", params={"query": "czxt"})["items"]) == 1
    expect_problem(401, lambda: api.get("/courses", params={"query": "sjjg"}))

    # The sharing list search: the published entry by the course's, the leader's or the school's pinyin.
    list_id = center.post("/sharing/lists", {"term_code": term, "title": "拼音清单", **list_dates(term)})["id"]
    entry = school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": run["run"]["id"]})
    school.admin.post(f"/sharing/lists/{list_id}/submit")
    # An open list: its school admin searches its own entries by pinyin already.
    assert school.admin.get(f"/sharing/lists/{list_id}/entries", params={"query": "sjjg"})["total"] == 1
    decide(center, "sharing_entry", entry["id"])
    wait_until(lambda: center.get(f"/sharing/entries/{entry['id']}")["state"] == "approved")
    center.post(f"/sharing/lists/{list_id}/publish")
    reader = create_account(school.admin, api, role="student", school_id=school.id, number=f"PS{code[-4:]}",
                            name="学生")[1]
    for query in ("sjjg", "shujujiegou", teacher_initials, "ouyang"):
        items = reader.get(f"/sharing/lists/{list_id}/entries", params={"query": query})["items"]
        assert [e["id"] for e in items] == [entry["id"]], query
    # One letter past the initials finds nothing ("i": no Mandarin syllable starts with it, whatever the suffix).
    for query in ("czxt", "sjjgi", "%"):
        assert reader.get(f"/sharing/lists/{list_id}/entries", params={"query": query})["total"] == 0, query
    expect_problem(401, lambda: api.get(f"/sharing/lists/{list_id}/entries", params={"query": "sjjg"}))
