"""Issue 9, rules enforced: the MOOC registry's leader is a teacher account of the school (picked, not typed),
and course categories come from the list the provincial center maintains; through the gateway, refusals too."""

from __future__ import annotations

import io
import uuid

import httpx
from openpyxl import load_workbook

from devmesh.client import Api
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, decide, new_code
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until

SEEDS = ["公共基础课", "学科基础课", "专业课", "学校特色课", "通识课", "创新创业教育课", "思想政治理论课"]


def teacher(school: SchoolWorld, api: Api, name: str, number: str) -> tuple[dict, Api]:
    return create_account(school.admin, api, role="teacher", school_id=school.id, number=number, name=name)


def approved(center: Api, admin: Api, entry: dict) -> dict:
    decide(center, "registry_entry", entry["id"])
    return wait_until(lambda: (e := admin.get(f"/registry/{entry['id']}"))["status"] == "approved" and e)


def henan_center_and_teacher(api: Api, platform: Api) -> tuple[Api, Api]:
    """A center admin of province 41 and a teacher of a school there."""
    username = f"center41-{uuid.uuid4().hex[:6]}"
    created = platform.post("/users", {"role": "center_admin", "province_code": "41", "username": username,
                                       "name": "河南课程中心"})
    henan_center = api.first_login(username, created["credentials"]["initial_password"], PASSWORD)
    code = new_code()
    henan = platform.post("/schools", {"code": code, "name": f"河南大学{code}", "province_code": "41"})
    _, henan_admin = create_account(platform, api, role="school_admin", school_id=henan["id"],
                                    username=f"{code.lower()}-admin", name="教务处")
    henan_teacher = create_account(henan_admin, api, role="teacher", school_id=henan["id"], number="H1",
                                   name="河南老师")[1]
    return henan_center, henan_teacher


# ---- the registry's leader is a teacher account of the school --------------------------------------------


def test_a_registry_leader_is_picked_among_the_schools_active_teachers(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    zhou, zhou_api = teacher(school, api, "周老师", "RL1")
    namesake, namesake_api = teacher(school, api, "周老师", "RL2")  # another account with the same name
    stranger, _ = teacher(other_school, api, "吴老师", "RL3")
    student, _ = create_account(school.admin, api, role="student", school_id=school.id, number="S1", name="学生甲")
    name = f"机器学习{uuid.uuid4().hex[:4]}"

    typed = expect_problem(400, lambda: school.admin.post("/registry", {"name": name, "leader_name": "周老师"}),
                           "VALIDATION_FAILED")
    assert "leader" in typed["detail"]
    expect_problem(400, lambda: school.admin.post("/registry", {"name": name, "leader_id": ""}), "LEADER_REQUIRED")
    for not_ours in (stranger["id"], student["id"], school.admin.get("/me")["id"], str(uuid.uuid4())):
        problem = expect_problem(400, lambda not_ours=not_ours: school.admin.post(
            "/registry", {"name": name, "leader_id": not_ours}),
                                 "LEADER_NOT_A_TEACHER")
        assert "active teacher account of the school" in problem["detail"]
    expect_problem(403, lambda: zhou_api.post("/registry", {"name": name, "leader_id": zhou["id"]}))
    expect_problem(401, lambda: Api(api.base_url).post("/registry", {"name": name, "leader_id": zhou["id"]}))
    assert school.admin.get("/registry", params={"query": name})["total"] == 0  # nothing was filed

    entry = school.admin.post("/registry", {"name": name, "leader_id": zhou["id"]})
    assert (entry["leader_id"], entry["leader_name"], entry["status"]) == (zhou["id"], "周老师", "pending")
    entry = approved(center, school.admin, entry)

    # The MOOC matches its entry by the leader's account: a namesake does not lead it.
    body = {"kind": "mooc", "name": name, "category": "专业课", "registry_entry_id": entry["id"]}
    mismatch = expect_problem(409, lambda: namesake_api.post("/courses", body), "REGISTRY_MISMATCH")
    assert "leader" in mismatch["detail"] and "change-requests" in mismatch["detail"]
    course = zhou_api.post("/courses", body)
    assert (course["leader_id"], course["leader_name"]) == (zhou["id"], "周老师")

    # A change request picks the new leader the same way.
    path = f"/registry/{entry['id']}/change-requests"
    for not_ours in (stranger["id"], student["id"]):
        expect_problem(400, lambda not_ours=not_ours: school.admin.post(
            path, {"name": name, "leader_id": not_ours, "reason": "调动"}), "LEADER_NOT_A_TEACHER")
    expect_problem(400, lambda: school.admin.post(path, {"name": name, "leader_id": zhou["id"], "reason": "无"}))
    assert school.admin.get(f"/registry/{entry['id']}")["changes"] == []
    changed = school.admin.post(path, {"name": name, "leader_id": namesake["id"], "reason": "负责人调动"})
    assert (changed["changes"][0]["leader_id"], changed["changes"][0]["status"]) == (namesake["id"], "pending")
    decide(center, "registry_change", changed["changes"][0]["id"])
    after = wait_until(lambda: (e := school.admin.get(f"/registry/{entry['id']}"))["leader_id"] == namesake["id"]
                       and e)
    assert after["leader_name"] == "周老师"
    # The registered MOOC now has the new leader's account: they lead it.
    wait_until(lambda: school.admin.get(f"/courses/{course['id']}")["leader_id"] == namesake["id"])
    moved = namesake_api.get(f"/courses/{course['id']}")
    assert (moved["name"], moved["leader_id"]) == (name, namesake["id"])
    expect_problem(404, lambda: zhou_api.request("PATCH", f"/courses/{course['id']}", json={"category": "专业课"}))


def test_the_registry_import_names_leaders_by_staff_number_or_username_and_reports_strangers(
    api: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    template = school.admin.http.get("/api/v1/registry/template",
                                     headers={"Authorization": f"Bearer {school.admin.token}"})
    assert template.status_code == 200
    headers = [c.value for c in next(load_workbook(io.BytesIO(template.content)).active.iter_rows(max_row=1))]
    assert headers == ["课程名称", "课程负责人工号或用户名"]

    by_number, _ = teacher(school, api, "郑老师", "IMP1")
    by_username, _ = teacher(school, api, "冯老师", "IMP2")
    stranger, _ = teacher(other_school, api, "陈老师", "IMP3")
    student, _ = create_account(school.admin, api, role="student", school_id=school.id, number="IMPS",
                                name="学生乙")
    tag = uuid.uuid4().hex[:4]
    bad = (f"课程名称,课程负责人工号或用户名\n编译原理{tag},IMP1\n计算机网络{tag},{by_username['username']}\n"
           f"操作系统{tag},{stranger['username']}\n软件工程{tag},IMPS\n数据库{tag},郑老师\n").encode()
    report = school.admin.post("/registry/imports", files={"file": ("r.csv", bad)})
    assert report["imported"] is False and report["created"] == 0
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(4, "leader"), (5, "leader"), (6, "leader")]
    assert "not an active teacher of your school" in report["errors"][0]["reason"]
    assert school.admin.get("/registry", params={"query": tag})["total"] == 0

    old_header = f"课程名称,课程负责人\n编译原理{tag},郑老师\n".encode()
    problem = expect_problem(400, lambda: school.admin.post("/registry/imports", files={"file": ("r.csv", old_header)}))
    assert "课程负责人工号或用户名" in problem["detail"]

    good = f"课程名称,课程负责人工号或用户名\n编译原理{tag},IMP1\n计算机网络{tag},{by_username['username']}\n".encode()
    assert school.admin.post("/registry/imports", files={"file": ("r.csv", good)})["created"] == 2
    filed = {e["name"]: (e["leader_id"], e["leader_name"])
             for e in school.admin.get("/registry", params={"query": tag})["items"]}
    assert filed == {f"编译原理{tag}": (by_number["id"], "郑老师"), f"计算机网络{tag}": (by_username["id"], "冯老师")}


# ---- course categories come from the center's list ---------------------------------------------------------


def test_course_categories_come_from_the_list_the_provincial_center_maintains(
    api: Api, platform: Api, center: Api, school: SchoolWorld
) -> None:
    leader = teacher(school, api, "秦老师", "CAT1")[1]
    student = create_account(school.admin, api, role="student", school_id=school.id, number="CATS",
                             name="学生丙")[1]
    henan_center, henan_teacher = henan_center_and_teacher(api, platform)

    # Anyone signed in reads the list; it starts from the seeds' seven.
    names = [c["name"] for c in student.get("/categories")["items"]]
    assert names[:7] == SEEDS
    assert [c["name"] for c in henan_teacher.get("/categories")["items"]][:7] == SEEDS
    expect_problem(401, lambda: Api(api.base_url).get("/categories"))
    assert [c["name"] for c in student.get("/categories", params={"province_code": "41"})["items"]][:7] == SEEDS
    expect_problem(400, lambda: student.get("/categories", params={"province_code": "zhejiang"}), "BAD_PROVINCE_CODE")

    # Only the province's center edits it.
    fresh = f"人工智能{uuid.uuid4().hex[:4]}"
    for who in (leader, school.admin, student, platform):
        expect_problem(403, lambda who=who: who.post("/categories", {"name": fresh}))
    expect_problem(401, lambda: Api(api.base_url).post("/categories", {"name": fresh}))
    expect_problem(400, lambda: center.post("/categories", {"name": "  "}), "BAD_COURSE_CATEGORY")
    expect_problem(409, lambda: center.post("/categories", {"name": "专业课"}))
    added = center.post("/categories", {"name": fresh})
    assert (added["name"], added["province_code"], added["retired"]) == (fresh, "33", False)
    assert fresh in [c["name"] for c in student.get("/categories")["items"]]
    assert fresh not in [c["name"] for c in henan_teacher.get("/categories")["items"]]
    expect_problem(404, lambda: henan_center.request("PATCH", f"/categories/{added['id']}", json={"name": "x"}))
    expect_problem(404, lambda: henan_center.post(f"/categories/{added['id']}/retire"))
    expect_problem(403, lambda: leader.request("PATCH", f"/categories/{added['id']}", json={"name": "x"}))
    expect_problem(403, lambda: school.admin.post(f"/categories/{added['id']}/retire"))

    # A course picks from its province's list; the refusal names the list.
    refused = expect_problem(400, lambda: leader.post(
        "/courses", {"kind": "spoc_independent", "name": "程序设计", "category": "计算机"}), "UNKNOWN_COURSE_CATEGORY")
    assert "'计算机' is not in your province's list" in refused["detail"] and "专业课" in refused["detail"]
    expect_problem(400, lambda: henan_teacher.post(
        "/courses", {"kind": "spoc_independent", "name": "程序设计", "category": fresh}), "UNKNOWN_COURSE_CATEGORY")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "程序设计", "category": fresh})
    other = leader.post("/courses", {"kind": "spoc_independent", "name": "算法设计", "category": "专业课"})
    expect_problem(400, lambda: leader.request("PATCH", f"/courses/{other['id']}", json={"category": "计算机"}),
                   "UNKNOWN_COURSE_CATEGORY")
    assert leader.get(f"/courses/{other['id']}")["category"] == "专业课"  # nothing changed

    # Renaming: the courses that have it follow.
    renamed_to = fresh + "导论"
    expect_problem(409, lambda: center.request("PATCH", f"/categories/{added['id']}", json={"name": "专业课"}))
    renamed = center.request("PATCH", f"/categories/{added['id']}", json={"name": renamed_to})
    assert renamed["name"] == renamed_to
    assert leader.get(f"/courses/{course['id']}")["category"] == renamed_to
    expect_problem(400, lambda: leader.post(
        "/courses", {"kind": "spoc_independent", "name": "旧名", "category": fresh}), "UNKNOWN_COURSE_CATEGORY")

    # Retiring: courses keep it, nobody picks it any more.
    retired = center.post(f"/categories/{added['id']}/retire")
    assert retired["retired"] is True
    assert renamed_to not in [c["name"] for c in student.get("/categories")["items"]]
    listed = {c["name"]: c["retired"] for c in student.get("/categories", params={"include_retired": "true"})["items"]}
    assert listed[renamed_to] is True
    expect_problem(400, lambda: leader.post(
        "/courses", {"kind": "spoc_independent", "name": "新课", "category": renamed_to}), "UNKNOWN_COURSE_CATEGORY")
    expect_problem(400, lambda: leader.request("PATCH", f"/courses/{other['id']}", json={"category": renamed_to}),
                   "UNKNOWN_COURSE_CATEGORY")
    kept = leader.request("PATCH", f"/courses/{course['id']}", json={"name": "程序设计基础"})
    assert (kept["name"], kept["category"]) == ("程序设计基础", renamed_to)
    expect_problem(409, lambda: center.post(f"/categories/{added['id']}/retire"), "CATEGORY_RETIRED")


def test_category_routes_refuse_a_missing_or_bad_token(api: Api) -> None:
    anonymous = Api(api.base_url)
    for method, path in (("GET", "/categories"), ("POST", "/categories"), ("PATCH", f"/categories/{uuid.uuid4()}"),
                         ("POST", f"/categories/{uuid.uuid4()}/retire")):
        response = httpx.request(method, f"{api.base_url}/api/v1{path}", json={"name": "x"},
                                 headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401, (method, path, response.text)
        assert anonymous.http.request(method, f"/api/v1{path}", json={"name": "x"}).status_code == 401
