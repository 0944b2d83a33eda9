"""The semester sharing cycle end to end, and the list following the course service's events."""

from __future__ import annotations

import csv
import io
import random
import uuid

from openpyxl import load_workbook

from devmesh.client import Api, ApiError
from devmesh.mesh import Mesh
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, decide, review_item
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_courses import registered
from tests.e2e.test_school_applications import apply
from tests.support import wait_until


def new_term(center: Api) -> str:
    """A future term of its own, so every test gets its own list."""
    year = random.randrange(2030, 2099)
    code = f"{year}-{random.choice(['spring', 'autumn'])}"
    months = ("03-01", "07-01") if code.endswith("spring") else ("09-01", "12-31")
    try:
        center.post("/terms", {"code": code, "name": code, "starts_on": f"{year}-{months[0]}",
                               "ends_on": f"{year}-{months[1]}"})
    except Exception:
        return new_term(center)  # taken by another test: pick again
    return code


def list_dates(term: str) -> dict[str, str]:
    """The seed's cycle for a term of `new_term`: October's notice, published before December, for the next
    spring; April's notice, published before June, for the autumn."""
    year, season = term.split("-")
    if season == "spring":
        return {"notice_on": f"{int(year) - 1}-10-08", "publish_by": f"{int(year) - 1}-11-30"}
    return {"notice_on": f"{year}-04-08", "publish_by": f"{year}-05-31"}


def mooc_run(center: Api, school: SchoolWorld, leader: Api, leader_name: str, name: str, term: str) -> dict:
    """A MOOC whose run is approved for the term, with a one-chapter plan."""
    entry = registered(center, school, name, leader.get("/me")["id"])
    assert entry["leader_name"] == leader_name
    course = leader.post("/courses", {"kind": "mooc", "name": name, "category": "专业课",
                                      "registry_entry_id": entry["id"]})
    # No online credits: a run claiming some needs approved video covering them (tests/e2e/test_policies.py).
    leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 3})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章 绪论"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": term})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "published")
    return {"course": course, "run": run, "registry": entry}


def out_of_province_school(api: Api, platform: Api) -> tuple[Api, dict]:
    application = apply(api, school_name=f"河南共享学院{uuid.uuid4().hex[:6]}")
    item = review_item(platform, "school_application", application["id"])
    platform.post(f"/reviews/{item['id']}/decision", {"decision": "approve"})
    wait_until(lambda: platform.get(f"/school-applications/{application['id']}")["status"] == "approved")
    credentials = platform.post(f"/school-applications/{application['id']}/admin-credentials")["credentials"]
    admin = api.first_login(credentials["username"], credentials["initial_password"], PASSWORD)
    return admin, admin.get("/me")


def test_the_whole_sharing_cycle(
    mesh: Mesh, api: Api, platform: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    term = new_term(center)
    sharing_list = center.post("/sharing/lists", {"term_code": term, "title": f"{term} 学期课程共享清单",
                                                  **list_dates(term)})
    expect_problem(409, lambda: center.post("/sharing/lists", {"term_code": term, "title": "again",
                                                               **list_dates(term)}))
    list_id = sharing_list["id"]

    lead_a = create_account(school.admin, api, role="teacher", school_id=school.id, number="SA1", name="甲老师")[1]
    phone_b = f"137{random.randrange(10**7, 10**8)}"
    lead_b = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="SB1",
                            name="乙老师", phone=phone_b)[1]
    a = mooc_run(center, school, lead_a, "甲老师", f"人工智能导论{uuid.uuid4().hex[:4]}", term)
    b_name = f"数据库系统原理{uuid.uuid4().hex[:4]}"
    b = mooc_run(center, other_school, lead_b, "乙老师", b_name, term)
    spoc = lead_a.post("/courses", {"kind": "spoc_independent", "name": "校内课", "category": "专业课"})
    spoc_run = lead_a.post(f"/courses/{spoc['id']}/runs", {"term_code": term})

    # Refusals: another school's run, a SPOC, a teacher publishing.
    expect_problem(404, lambda: school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": b["run"]["id"]}))
    expect_problem(409, lambda: school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": spoc_run["id"]}))
    expect_problem(403, lambda: lead_a.post(f"/sharing/lists/{list_id}/publish"))
    expect_problem(403, lambda: lead_a.post(f"/sharing/lists/{list_id}/entries", {"run_id": a["run"]["id"]}))

    entry_a = school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": a["run"]["id"]})
    entry_b = other_school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": b["run"]["id"]})
    expect_problem(409, lambda: school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": a["run"]["id"]}))
    assert entry_b["leader_phone"] == phone_b and entry_b["school_name"] == other_school.name
    assert school.admin.post(f"/sharing/lists/{list_id}/submit")["submitted"] == 1
    assert other_school.admin.post(f"/sharing/lists/{list_id}/submit")["submitted"] == 1
    own = school.admin.get(f"/sharing/lists/{list_id}/entries")["items"]
    assert [e["id"] for e in own] == [entry_a["id"]]  # a school sees its own entries on an open list
    # ...and nobody else of its school does, not even from the page the admin's read left remembered
    expect_problem(404, lambda: lead_a.get(f"/sharing/lists/{list_id}/entries"))
    assert other_school.admin.get(f"/sharing/lists/{list_id}/entries")["items"][0]["id"] == entry_b["id"]
    exported = school.admin.http.get(f"/api/v1/sharing/lists/{list_id}/export", params={"format": "csv"},
                                     headers={"Authorization": f"Bearer {school.admin.token}"})
    assert exported.status_code == 200 and entry_a["course_name"] in exported.content.decode("utf-8-sig")

    decide(center, "sharing_entry", entry_a["id"], "reject", "课程简介不完整")
    decide(center, "sharing_entry", entry_b["id"])
    rejected = wait_until(lambda: (e := school.admin.get(f"/sharing/entries/{entry_a['id']}"))["state"] == "rejected"
                          and e)
    assert rejected["rejection_reason"] == "课程简介不完整"
    wait_until(lambda: center.get(f"/sharing/entries/{entry_b['id']}")["state"] == "approved")
    center.post(f"/sharing/lists/{list_id}/publish")
    expect_problem(409, lambda: school.admin.post(f"/sharing/entries/{entry_a['id']}/resubmit"))  # list closed

    # A school from another province finds the course in Chinese and adopts it.
    admin_c, me_c = out_of_province_school(api, platform)
    created = admin_c.post("/users", {"role": "teacher", "school_id": me_c["school_id"], "number": "CT1",
                                      "name": "丙老师", "phone": f"136{random.randrange(10**7, 10**8)}"})
    tutor = api.first_login(created["credentials"]["username"], created["credentials"]["initial_password"], PASSWORD)
    tutor_id = created["user"]["id"]
    published = {x["id"]: x for x in tutor.get("/sharing/lists")["items"]}
    assert (published[list_id]["state"], published[list_id]["entries"]) == ("published", 1)
    found = tutor.get(f"/sharing/lists/{list_id}/entries", params={"query": "数据库系统"})["items"]
    assert [e["id"] for e in found] == [entry_b["id"]]
    assert tutor.get(f"/sharing/lists/{list_id}/entries", params={"query": "乙老师"})["total"] == 1
    assert tutor.get(f"/sharing/lists/{list_id}/entries", params={"query": "人工智能"})["total"] == 0  # rejected
    assert tutor.get(f"/sharing/lists/{list_id}/entries", params={"min_credits": 3})["total"] == 0
    detail = tutor.get(f"/sharing/entries/{entry_b['id']}")
    assert detail["leader_phone"] == phone_b and [i["title"] for i in detail["plan"]["items"]] == ["第一章 绪论"]
    student_c = create_account(admin_c, api, role="student", school_id=me_c["school_id"], number="CS1",
                               name="丙同学")[1]
    assert student_c.get(f"/sharing/entries/{entry_b['id']}")["leader_phone"] == ""
    expect_problem(403, lambda: student_c.get(f"/sharing/lists/{list_id}/export"))
    expect_problem(403, lambda: student_c.post(f"/sharing/entries/{entry_b['id']}/adoptions",
                                               {"tutor_id": tutor_id, "expected_students": 30}))

    adoption = tutor.post(f"/sharing/entries/{entry_b['id']}/adoptions",
                          {"tutor_id": tutor_id, "expected_students": 30, "note": "秋季学期选课"})
    assert adoption["state"] == "requested" and adoption["adopting_school_id"] == me_c["school_id"]
    expect_problem(404, lambda: lead_a.post(f"/sharing/adoptions/{adoption['id']}/accept", {}))
    incoming = lead_b.get("/sharing/adoptions", params={"side": "providing"})["items"]
    assert [x["id"] for x in incoming] == [adoption["id"]]
    lead_b.post(f"/sharing/adoptions/{adoption['id']}/accept", {"permissions": ["manage_classes"]})

    # The tutor now teaches their own students on the run.
    course_class = tutor.post(f"/runs/{b['run']['id']}/classes", {"name": "河南1班"})
    roster = "学号,姓名,手机号\nH001,赵一,13811110001\nH002,赵二,13811110002\n".encode()
    imported = tutor.post(f"/classes/{course_class['id']}/imports", files={"file": ("s.csv", roster)})
    assert imported["added"] == 2
    mine = admin_c.get("/sharing/adoptions", params={"side": "adopting", "term_code": term})["items"]
    assert [(x["course_name"], x["classes"], x["students"], x["state"]) for x in mine] == [
        (b_name, 1, 2, "accepted")]
    providing = other_school.admin.get("/sharing/adoptions", params={"side": "providing"})["items"]
    assert [x["adopting_school_name"] for x in providing] == [adoption["adopting_school_name"]]
    assert adoption["adopting_school_name"].startswith("河南共享学院")
    export = admin_c.http.get("/api/v1/sharing/adoptions/export", params={"side": "adopting", "format": "xlsx"},
                              headers={"Authorization": f"Bearer {admin_c.token}"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == b_name and rows[1][5:7] == (1, 2)

    # Published lists follow the course service, also for what happened while sharing was down.
    mesh.stop_process("sharing")
    other_school.admin.post(f"/runs/{b['run']['id']}/take-down", {"reason": "课程调整"})
    ding, lead_d = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="SD1",
                                  name="丁老师")
    other_school.admin.post(f"/registry/{b['registry']['id']}/change-requests",
                            {"name": b_name, "leader_id": ding["id"], "reason": "负责人变更"})
    change_id = other_school.admin.get(f"/registry/{b['registry']['id']}")["changes"][0]["id"]
    decide(center, "registry_change", change_id)
    # The registered MOOC passes to the new leader (read by the school's admin: until then 丁老师 cannot see it).
    wait_until(lambda: other_school.admin.get(f"/courses/{b['course']['id']}")["leader_id"] == ding["id"])
    assert lead_d.get(f"/courses/{b['course']['id']}")["leader_name"] == "丁老师"
    mesh.start_service("sharing")
    caught_up = wait_until(lambda: (e := tutor.get(f"/sharing/entries/{entry_b['id']}"))["taken_down"]
                           and e["leader_name"] == "丁老师" and e)
    assert caught_up["run_state"] == "taken_down"
    listed = tutor.get(f"/sharing/lists/{list_id}/entries")["items"]
    assert [(e["id"], e["taken_down"]) for e in listed] == [(entry_b["id"], True)]  # marked, not deleted
    csv_rows = list(csv.reader(io.StringIO(center.http.get(
        f"/api/v1/sharing/lists/{list_id}/export", params={"format": "csv"},
        headers={"Authorization": f"Bearer {center.token}"}).content.decode("utf-8-sig"))))
    assert any("已下线" in row for row in csv_rows)


def test_without_a_tutor_the_providing_leader_teaches_the_adopting_schools_students(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    term = new_term(center)
    list_id = center.post("/sharing/lists", {"term_code": term, "title": "清单", **list_dates(term)})["id"]
    lead_b = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="SB2",
                            name="戊老师")[1]
    b = mooc_run(center, other_school, lead_b, "戊老师", f"编译原理{uuid.uuid4().hex[:4]}", term)
    entry = other_school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": b["run"]["id"]})
    # Removing and adding again, then a rejection fixed and resubmitted while the list is open.
    other_school.admin.request("DELETE", f"/sharing/entries/{entry['id']}")
    entry = other_school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": b["run"]["id"]})
    other_school.admin.post(f"/sharing/lists/{list_id}/submit")
    decide(center, "sharing_entry", entry["id"], "reject", "学分填写有误")
    wait_until(lambda: other_school.admin.get(f"/sharing/entries/{entry['id']}")["state"] == "rejected")
    assert other_school.admin.post(f"/sharing/entries/{entry['id']}/resubmit")["state"] == "submitted"
    decide(center, "sharing_entry", entry["id"])
    wait_until(lambda: center.get(f"/sharing/entries/{entry['id']}")["state"] == "approved")
    center.post(f"/sharing/lists/{list_id}/publish")
    xlsx = school.admin.http.get(f"/api/v1/sharing/lists/{list_id}/export",
                                 headers={"Authorization": f"Bearer {school.admin.token}"})
    assert list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))[1][0] == entry[
        "course_name"]

    create_account(school.admin, api, role="student", school_id=school.id, number="R001", name="钱同学")
    # Before an adoption, the leader makes no class for the school (and so reaches none of its students).
    expect_problem(403, lambda: lead_b.post(f"/runs/{b['run']['id']}/classes",
                                            {"name": "提前", "school_id": school.id}), reason="NOT_ADOPTED")

    teacher_a = create_account(school.admin, api, role="teacher", school_id=school.id, number="SA9", name="己老师")[1]
    expect_problem(403, lambda: teacher_a.post(f"/sharing/entries/{entry['id']}/adoptions",
                                               {"expected_students": 20}))
    adoption = school.admin.post(f"/sharing/entries/{entry['id']}/adoptions", {"expected_students": 20})
    declined_first = school.admin.post(f"/sharing/entries/{entry['id']}/adoptions",
                                       {"tutor_id": school.admin.get("/users", params={"role": "teacher"})[
                                           "items"][0]["id"], "expected_students": 5})
    expect_problem(400, lambda: lead_b.post(f"/sharing/adoptions/{declined_first['id']}/decline", {"reason": " "}))
    declined = lead_b.post(f"/sharing/adoptions/{declined_first['id']}/decline", {"reason": "名额已满"})
    assert (declined["state"], declined["reason"]) == ("declined", "名额已满")
    accepted = lead_b.post(f"/sharing/adoptions/{adoption['id']}/accept", {})
    assert accepted["state"] == "accepted" and accepted["class_id"]
    classes = {c["id"]: c for c in lead_b.get(f"/runs/{b['run']['id']}/classes")["items"]}
    assert classes[accepted["class_id"]]["school_id"] == school.id
    added = wait_until(lambda: _try_add(lead_b, accepted["class_id"], ["R001"]))
    assert added["added"] == 1
    mine = school.admin.get("/sharing/adoptions", params={"side": "adopting", "term_code": term})["items"]
    assert {(x["state"], x["students"]) for x in mine} == {("accepted", 1), ("declined", 0)}


def _try_add(leader: Api, class_id: str, numbers: list[str]) -> dict | None:
    """The grant reaches the identity service by an event: until then, the lookup is refused."""
    try:
        return leader.post(f"/classes/{class_id}/students", {"student_numbers": numbers})
    except ApiError as error:
        assert error.status == 403
        return None
