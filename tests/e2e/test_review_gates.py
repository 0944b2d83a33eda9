"""Review gates hold everywhere (issue 9), through the gateway: only ready and approved files are used by a
course, a deleted file leaves every course, only approved runs take students, and runs end with their term."""

from __future__ import annotations

import os
import random
from datetime import date, timedelta

import pytest

from devmesh.client import Api, ApiError
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.media_support import upload
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until


@pytest.fixture
def leader(api: Api, school: SchoolWorld) -> Api:
    return create_account(school.admin, api, role="teacher", school_id=school.id, number="GL1", name="李老师")[1]


def pdf(teacher: Api, name: str = "讲义.pdf") -> dict:
    """A PDF: ready as soon as it is uploaded, and queued for the school admin's review."""
    asset = upload(teacher, b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n", name, kind="material")
    assert (asset["state"], asset["referenceable"]) == ("ready", False)
    return asset


def approved_pdf(teacher: Api, admin: Api, name: str = "讲义.pdf") -> dict:
    asset = pdf(teacher, name)
    decide(admin, "media_asset", asset["id"])
    return wait_until(lambda: (a := teacher.get(f"/media/assets/{asset['id']}"))["referenceable"] and a)


def units(api: Api, course_id: str, run_id: str = "") -> list[dict]:
    params = {"run_id": run_id} if run_id else {}
    return [n for n in api.get(f"/courses/{course_id}/plan", params=params)["nodes"] if n["kind"] == "unit"]


# ---- files: ready and approved, the same gate for materials, plan units and covers ----------------


def test_only_ready_and_approved_files_are_used_by_a_course(
    api: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "审核门禁", "category": "通识课"})
    path = f"/courses/{course['id']}"
    chapter = leader.post(f"{path}/plan/nodes", {"kind": "chapter", "title": "第一章"})["nodes"][0]["id"]

    def use_everywhere(asset_id: str) -> list:
        return [
            lambda: leader.post(f"{path}/materials", {"asset_id": asset_id, "title": "讲义"}),
            lambda: leader.post(f"{path}/plan/nodes", {"kind": "unit", "title": "讲义", "parent_id": chapter,
                                                       "resource_id": asset_id}),
            lambda: leader.request("PATCH", path, json={"cover_asset_id": asset_id}),
        ]

    # Queued for review, not decided yet: refused everywhere, nothing changes.
    queued = pdf(leader, "待审.pdf")
    for use in use_everywhere(queued["id"]):
        problem = expect_problem(409, use, "ASSET_NOT_REFERENCEABLE")
        assert "not approved" in problem["detail"] and "unreviewed" in problem["detail"]
    # Rejected by the school admin: refused everywhere, with the state.
    rejected = pdf(leader, "驳回.pdf")
    decide(school.admin, "media_asset", rejected["id"], "reject", "内容有误")
    wait_until(lambda: leader.get(f"/media/assets/{rejected['id']}")["review_state"] == "rejected")
    for use in use_everywhere(rejected["id"]):
        assert "rejected" in expect_problem(409, use, "ASSET_NOT_REFERENCEABLE")["detail"]
    # Another school's approved file does not exist for this course.
    _, foreign_teacher = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                        number="GF1", name="外校")
    foreign = approved_pdf(foreign_teacher, other_school.admin, "外校.pdf")
    for use in use_everywhere(foreign["id"]):
        expect_problem(404, use)
    after = leader.get(path)
    assert after["materials"] == [] and after["cover_asset_id"] == "" and units(leader, course["id"]) == []

    # Approved: usable everywhere; and only by the course's leader.
    good = approved_pdf(leader, school.admin, "已审.pdf")
    _, colleague = create_account(school.admin, api, role="teacher", school_id=school.id, number="GC1", name="同事")
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="GS1", name="学生")
    for stranger in (colleague, student, other_school.admin):
        expect_problem(404, lambda stranger=stranger: stranger.post(f"{path}/materials", {"asset_id": good["id"]}))
    expect_problem(401, lambda: api.post(f"{path}/materials", {"asset_id": good["id"]}))
    for use in use_everywhere(good["id"]):
        use()
    after = leader.get(path)
    assert [m["asset_id"] for m in after["materials"]] == [good["id"]] and after["cover_asset_id"] == good["id"]
    assert [u["resource_id"] for u in units(leader, course["id"])] == [good["id"]]


# ---- a deleted file leaves every course ------------------------------------------------------------


def test_a_file_deleted_by_its_owner_disappears_from_every_course_that_used_it(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    asset = approved_pdf(leader, school.admin, "将删除.pdf")
    first = leader.post("/courses", {"kind": "spoc_independent", "name": "删除甲", "category": "通识课"})
    second = leader.post("/courses", {"kind": "spoc_independent", "name": "删除乙", "category": "通识课"})
    chapter = leader.post(f"/courses/{first['id']}/plan/nodes",
                          {"kind": "chapter", "title": "第一章"})["nodes"][0]["id"]
    leader.post(f"/courses/{first['id']}/plan/nodes", {"kind": "unit", "title": "讲义", "parent_id": chapter,
                                                        "resource_id": asset["id"]})
    leader.post(f"/courses/{first['id']}/materials", {"asset_id": asset["id"], "title": "讲义"})
    leader.request("PATCH", f"/courses/{first['id']}", json={"cover_asset_id": asset["id"]})
    leader.post(f"/courses/{second['id']}/materials", {"asset_id": asset["id"], "title": "讲义"})
    run = leader.post(f"/courses/{first['id']}/runs", {"term_code": CURRENT_TERM["code"]})  # a copy of the plan
    assert [u["resource_id"] for u in units(leader, first["id"], run["id"])] == [asset["id"]]

    # Nobody but the owner (and the school's admin) deletes it; refused, nothing changes.
    _, colleague = create_account(school.admin, api, role="teacher", school_id=school.id, number="GD1", name="同事")
    for stranger in (colleague, other_school.admin):
        expect_problem(404, lambda stranger=stranger: stranger.request("DELETE", f"/media/assets/{asset['id']}"))
    expect_problem(401, lambda: api.request("DELETE", f"/media/assets/{asset['id']}"))
    assert [m["asset_id"] for m in leader.get(f"/courses/{second['id']}")["materials"]] == [asset["id"]]

    # Deleting is not refused while courses use it: the answer says the courses drop it.
    answer = leader.request("DELETE", f"/media/assets/{asset['id']}")
    assert (answer["id"], answer["state"], answer["courses"]) == (asset["id"], "deleted", "removed")

    def gone() -> bool:
        one, two = leader.get(f"/courses/{first['id']}"), leader.get(f"/courses/{second['id']}")
        return (one["materials"] == [] and one["cover_asset_id"] == "" and two["materials"] == []
                and [u["resource_id"] for u in units(leader, first["id"])] == [""]
                and [u["resource_id"] for u in units(leader, first["id"], run["id"])] == [""])

    wait_until(gone)
    # The unit stays, without its file, for the leader to point at another approved one.
    replacement = approved_pdf(leader, school.admin, "替换.pdf")
    unit = units(leader, first["id"])[0]
    plan = leader.request("PATCH", f"/courses/{first['id']}/plan/nodes/{unit['id']}",
                          json={"resource_id": replacement["id"]})
    assert [n["resource_id"] for n in plan["nodes"] if n["kind"] == "unit"] == [replacement["id"]]
    refused = expect_problem(409, lambda: leader.post(f"/courses/{second['id']}/materials", {"asset_id": asset["id"]}),
                             "ASSET_NOT_REFERENCEABLE")
    assert "deleted" in refused["detail"]


# ---- only approved runs take students ---------------------------------------------------------------


def test_a_run_that_is_not_approved_takes_no_students_rosters_or_releases(
    api: Api, center: Api, school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "未批准子课", "category": "通识课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    chapter = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})["nodes"][0]["id"]
    own = leader.post(f"/runs/{run['id']}/classes", {"name": "一班"})  # classes can be prepared
    create_account(school.admin, api, role="student", school_id=school.id, number="GR1", name="名单")
    _, joiner = create_account(school.admin, api, role="student", school_id=school.id, number="GR2", name="旁听")
    roster = "学号,姓名,手机号\nGR3,丙,13912349901\n".encode()

    def refused_everything(state: str) -> None:
        for call in (
            lambda: leader.post(f"/classes/{own['id']}/students", {"student_numbers": ["GR1"]}),
            lambda: leader.post(f"/classes/{own['id']}/imports", files={"file": ("s.csv", roster)}),
            lambda: leader.post(f"/classes/{own['id']}/releases", {"chapter_id": chapter}),
            lambda: leader.post(f"/classes/{run['public_class_id']}/releases", {"chapter_id": chapter}),
            lambda: joiner.post(f"/runs/{run['id']}/join"),
        ):
            assert f"the run is {state}" in expect_problem(409, call, "RUN_NOT_APPROVED")["detail"]
        classes = leader.get(f"/runs/{run['id']}/classes")["items"]
        assert all(c["students"] == 0 and c["releases"] == [] for c in classes)

    refused_everything("draft")
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    refused_everything("pending_review")
    decide(school.admin, "course_run", run["id"], "reject", "缺少考核方式")
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "rejected")
    refused_everything("rejected")

    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    assert leader.post(f"/classes/{own['id']}/students", {"student_numbers": ["GR1"]})["added"] == 1
    imported = leader.post(f"/classes/{own['id']}/imports", files={"file": ("s.csv", roster)})
    assert (imported["added"], imported["accounts_created"]) == (1, 1)  # the refused imports created nobody
    assert leader.post(f"/classes/{own['id']}/releases", {"chapter_id": chapter})["releases"][0]["released"]
    assert joiner.post(f"/runs/{run['id']}/join")["class_id"] == run["public_class_id"]

    school.admin.post(f"/runs/{run['id']}/take-down", {"reason": "内容需要整改"})
    refused = expect_problem(409, lambda: leader.post(f"/classes/{own['id']}/students",
                                                      {"student_numbers": ["GR2"]}), "RUN_NOT_APPROVED")
    assert "the run is taken_down" in refused["detail"]
    expect_problem(409, lambda: leader.post(f"/classes/{own['id']}/releases", {"chapter_id": chapter}),
                   "RUN_NOT_APPROVED")


# ---- runs end with their term -----------------------------------------------------------------------


def fresh_term(center: Api) -> dict:
    """A term of the center's calendar running today, under a code no other test uses."""
    today = date.today()
    while True:
        term = {"code": f"{random.randint(2100, 9999)}-summer", "name": "测试学期",
                "starts_on": (today - timedelta(days=60)).isoformat(),
                "ends_on": (today + timedelta(days=60)).isoformat()}
        try:
            return center.post("/terms", term)
        except ApiError as error:
            assert error.status == 409


def registered_mooc(center: Api, school: SchoolWorld, leader: Api, name: str) -> dict:
    entry = school.admin.post("/registry", {"name": name, "leader_id": leader.get("/me")["id"]})
    decide(center, "registry_entry", entry["id"])
    wait_until(lambda: school.admin.get(f"/registry/{entry['id']}")["status"] == "approved")
    return leader.post("/courses", {"kind": "mooc", "name": name, "category": "专业课",
                                    "registry_entry_id": entry["id"]})


def test_a_run_ends_with_its_term_and_an_ended_run_gives_an_asynchronous_spoc(
    api: Api, center: Api, school: SchoolWorld, leader: Api
) -> None:
    term = fresh_term(center)
    mooc = registered_mooc(center, school, leader, f"编译原理{random.randint(1000, 9999)}")
    leader.post(f"/courses/{mooc['id']}/plan/nodes", {"kind": "chapter", "title": "第一章 词法分析"})
    run = leader.post(f"/courses/{mooc['id']}/runs", {"term_code": term["code"]})
    spoc = {"kind": "spoc_asynchronous", "name": "编译原理(异步)", "category": "专业课", "source_run_id": run["id"]}
    assert "ended" in expect_problem(409, lambda: leader.post("/courses", spoc))["detail"]
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term["code"]})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    expect_problem(409, lambda: leader.post("/courses", spoc))  # running, not ended
    own = leader.post(f"/runs/{run['id']}/classes", {"name": "一班"})
    create_account(school.admin, api, role="student", school_id=school.id, number="GE1", name="学生")
    assert leader.post(f"/classes/{own['id']}/students", {"student_numbers": ["GE1"]})["added"] == 1

    # Only the center changes the calendar; bad dates are refused; nothing changes.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    path = f"/terms/{term['code']}"
    expect_problem(403, lambda: leader.request("PATCH", path, json={"ends_on": yesterday}))
    expect_problem(403, lambda: school.admin.request("PATCH", path, json={"ends_on": yesterday}))
    expect_problem(401, lambda: api.request("PATCH", path, json={"ends_on": yesterday}))
    expect_problem(400, lambda: center.request("PATCH", path, json={"ends_on": term["starts_on"]}))
    expect_problem(400, lambda: center.request("PATCH", path, json={"ends_on": "2026-13-01"}))
    expect_problem(404, lambda: center.request("PATCH", "/terms/1999-winter", json={"ends_on": yesterday}))
    assert next(t for t in center.get("/terms")["items"] if t["code"] == term["code"])["ends_on"] == term["ends_on"]
    assert leader.get(f"/runs/{run['id']}")["state"] == "running"

    # The term is over: the run has ended; it takes no more students, and an asynchronous SPOC copies it.
    changed = center.request("PATCH", path, json={"ends_on": yesterday})
    assert (changed["code"], changed["ends_on"]) == (term["code"], yesterday)
    assert leader.get(f"/runs/{run['id']}")["state"] == "ended"
    assert "the run is ended" in expect_problem(
        409, lambda: leader.post(f"/classes/{own['id']}/students", {"student_numbers": ["GE1"]}),
        "RUN_NOT_APPROVED")["detail"]
    expect_problem(409, lambda: leader.post(f"/runs/{run['id']}/publish", {"term_code": term["code"]}))
    copy = leader.post("/courses", spoc)
    assert copy["kind"] == "spoc_asynchronous"
    assert [n["title"] for n in leader.get(f"/courses/{copy['id']}/plan")["nodes"]] == ["第一章 词法分析"]
    # Lengthening the term again does not reopen an ended run.
    center.request("PATCH", path, json={"ends_on": term["ends_on"]})
    assert leader.get(f"/runs/{run['id']}")["state"] == "ended"
