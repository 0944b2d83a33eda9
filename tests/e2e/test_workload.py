"""Teaching workload end to end (seed 004 四(三)4, seed 002 四(八)): the leader names each run's teacher in charge of
the online teaching, and the school admin reads and exports the term's workload per teacher — class hours × 4.0 / 3.0
/ 2.0 by the run's number, with the run's students beside them; runs that did not run count nothing."""

from __future__ import annotations

import uuid

from devmesh.client import Api
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, SchoolWorld, create_account, decide
from tests.e2e.sheets import sheet_rows
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_center_statistics import csv_table, download
from tests.e2e.test_policies import layer_put
from tests.support import wait_until


def approved_run(leader: Api, admin: Api, course_id: str, term: dict) -> dict:
    run = leader.post(f"/courses/{course_id}/runs", {"term_code": term["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term["code"]})
    decide(admin, "course_run", run["id"])
    return wait_until(lambda: (r := leader.get(f"/runs/{run['id']}"))["state"] in ("published", "running") and r)


def course(leader: Api, name: str, **numbers: float) -> dict:
    created = leader.post("/courses", {"kind": "spoc_independent", "name": name, "category": "专业课"})
    leader.post(f"/courses/{created['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    if numbers:
        leader.request("PATCH", f"/courses/{created['id']}", json=numbers)
    return created


def test_the_school_reads_and_exports_the_terms_workload_of_the_teachers_in_charge(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    leader_user, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                                         name=f"负责人{tag}")
    colleague_user, colleague = create_account(school.admin, api, role="teacher", school_id=school.id,
                                               number=f"C{tag}", name=f"同事{tag}")
    stranger_user, _ = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"S{tag}",
                                      name=f"局外{tag}")
    tutor_user, _ = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                   number=f"T{tag}", name=f"辅导{tag}")
    _, student = create_account(school.admin, api, role="student", school_id=school.id,
                                           number=f"W{tag}0", name="同学0")
    create_account(school.admin, api, role="student", school_id=school.id, number=f"W{tag}1", name="同学1")

    # Course A (48 class hours): run 1 this term, in the tutor's charge, with two students; run 2 next term.
    a = course(leader, f"数据结构{tag}", class_hours=48)
    a1 = approved_run(leader, school.admin, a["id"], CURRENT_TERM)
    assert a1["online_teacher_id"] == leader_user["id"]  # the leader by default
    for member in (tutor_user, colleague_user):
        leader.post(f"/runs/{a1['id']}/team", {"user_id": member["id"], "permissions": ["manage_classes"]})
    expect_problem(403, lambda: colleague.request("PUT", f"/runs/{a1['id']}/online-teacher",
                                                  json={"user_id": colleague_user["id"]}))
    expect_problem(400, lambda: leader.request("PUT", f"/runs/{a1['id']}/online-teacher",
                                               json={"user_id": stranger_user["id"]}), "NOT_ON_TEAM")
    named = leader.request("PUT", f"/runs/{a1['id']}/online-teacher", json={"user_id": tutor_user["id"]})
    assert named["online_teacher_id"] == tutor_user["id"]
    assert leader.get(f"/runs/{a1['id']}")["online_teacher_id"] == tutor_user["id"]
    a_class = leader.post(f"/runs/{a1['id']}/classes", {"name": f"一班{tag}"})
    added = leader.post(f"/classes/{a_class['id']}/students", {"student_numbers": [f"W{tag}0", f"W{tag}1"]})
    assert added["added"] == 2
    a2 = approved_run(leader, school.admin, a["id"], NEXT_TERM)
    assert a2["number"] == 2

    # Course B (no class hours, 2 credits × the school's 18 per credit = 36): run 1 this term in the colleague's
    # charge, a student who joined its public class.
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {"min_class_hours_per_credit": 18})
    b = course(leader, f"操作系统{tag}", total_credits=2)
    b1 = approved_run(leader, school.admin, b["id"], CURRENT_TERM)
    leader.post(f"/runs/{b1['id']}/team", {"user_id": colleague_user["id"], "permissions": []})
    leader.request("PUT", f"/runs/{b1['id']}/online-teacher", json={"user_id": colleague_user["id"]})
    student.post(f"/runs/{b1['id']}/join")

    # Course C: a run taken down and a draft earn nothing.
    c = course(leader, f"编译原理{tag}", class_hours=32)
    c1 = approved_run(leader, school.admin, c["id"], CURRENT_TERM)
    school.admin.post(f"/runs/{c1['id']}/take-down", {"reason": "内容需要整改"})
    leader.post(f"/courses/{c['id']}/runs", {"term_code": NEXT_TERM["code"]})

    this_term = school.admin.get("/workload", params={"term_code": CURRENT_TERM["code"]})
    assert this_term["school_id"] == school.id and this_term["term_code"] == CURRENT_TERM["code"]
    teachers = {t["user_id"]: t for t in this_term["teachers"]}
    assert set(teachers) == {tutor_user["id"], colleague_user["id"]}
    tutor_row = teachers[tutor_user["id"]]
    # A tutor of another school counts for the school that runs the course, listed with their own school.
    assert (tutor_row["name"], tutor_row["school_id"], tutor_row["school_name"]) == (
        f"辅导{tag}", other_school.id, other_school.name)
    [run_row] = tutor_row["runs"]
    assert (run_row["course_name"], run_row["run_number"], run_row["coefficient"], run_row["class_hours"],
            run_row["workload_hours"], run_row["students"]) == (f"数据结构{tag}", 1, 4.0, 48, 192, 2)
    assert (tutor_row["total_hours"], tutor_row["total_students"]) == (192, 2)
    colleague_row = teachers[colleague_user["id"]]
    [run_row] = colleague_row["runs"]
    assert (run_row["class_hours"], run_row["hours_basis"], run_row["workload_hours"], run_row["students"]) == (
        36, "2学分 × 18学时", 144, 1)
    assert colleague_row["school_name"] == school.name
    assert this_term["total_hours"] == 336

    # Next term: the second run counts three times, for the leader (the default); the draft counts nothing.
    next_term = school.admin.get("/workload", params={"term_code": NEXT_TERM["code"]})
    assert [(t["user_id"], t["school_name"], [(r["run_number"], r["coefficient"], r["workload_hours"])
                                              for r in t["runs"]]) for t in next_term["teachers"]] == [
        (leader_user["id"], school.name, [(2, 3.0, 144)])]

    # Removing the teacher in charge from the team puts the leader back in charge.
    leader.request("DELETE", f"/runs/{b1['id']}/team/{colleague_user['id']}")
    assert leader.get(f"/runs/{b1['id']}")["online_teacher_id"] == leader_user["id"]
    teachers = {t["user_id"]: t for t in school.admin.get(
        "/workload", params={"term_code": CURRENT_TERM["code"]})["teachers"]}
    assert set(teachers) == {tutor_user["id"], leader_user["id"]}

    # The export: a row per run under its teacher, then the teacher's total.
    rows = sheet_rows(download(school.admin, "/workload/export", term_code=CURRENT_TERM["code"]))
    assert rows[0][:4] == ["教师", "学校", "课程", "开课次数"]
    assert [f"辅导{tag}", other_school.name, f"数据结构{tag}", "1", "4", "48", "课程学时", "192", "2"] in [
        r[:9] for r in rows]
    assert [f"辅导{tag}", other_school.name, "合计", "", "", "", "", "192", "2"] in [r[:9] for r in rows]
    table = csv_table(download(school.admin, "/workload/export", term_code=CURRENT_TERM["code"], format="csv"))
    assert table[0][0] == "教师" and len(table) == len(rows)

    # Refusals: another school's admin, a teacher, a student, no token; an unknown term.
    expect_problem(403, lambda: other_school.admin.get("/workload", params={
        "term_code": CURRENT_TERM["code"], "school_id": school.id}))
    expect_problem(403, lambda: other_school.admin.get("/workload/export", params={
        "term_code": CURRENT_TERM["code"], "school_id": school.id}))
    assert other_school.admin.get("/workload", params={"term_code": CURRENT_TERM["code"]})["teachers"] == []
    expect_problem(403, lambda: leader.get("/workload", params={"term_code": CURRENT_TERM["code"]}))
    expect_problem(403, lambda: student.get("/workload", params={"term_code": CURRENT_TERM["code"]}))
    expect_problem(401, lambda: api.get("/workload", params={"term_code": CURRENT_TERM["code"]}))
    expect_problem(400, lambda: school.admin.get("/workload", params={"term_code": "2001-spring"}), "UNKNOWN_TERM")
    expect_problem(404, lambda: student.request("PUT", f"/runs/{a1['id']}/online-teacher", json={"user_id": ""}))
