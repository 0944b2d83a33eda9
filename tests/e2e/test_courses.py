"""Courses end to end: registry, MOOC and SPOC parents, teaching plans, runs, through the gateway."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook

from devmesh.client import Api
from tests import media_clips
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, PASSWORD, SchoolWorld, create_account, decide
from tests.e2e.media_support import upload_file, wait_for_state
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("course-clips")


@pytest.fixture
def leader(api: Api, school: SchoolWorld) -> Api:
    return create_account(school.admin, api, role="teacher", school_id=school.id, number="L1", name="王老师")[1]


def approved_video(clips: Path, teacher: Api, admin: Api, seconds: float = 3) -> dict:
    asset = upload_file(teacher, media_clips.compliant_720p(clips, seconds=seconds))
    wait_for_state(teacher, asset["id"], "ready")
    decide(admin, "media_asset", asset["id"])
    return wait_until(lambda: (a := teacher.get(f"/media/assets/{asset['id']}"))["referenceable"] and a)


def registered(center: Api, school: SchoolWorld, name: str, leader_id: str) -> dict:
    """An approved registry entry whose leader is the teacher account `leader_id`."""
    entry = school.admin.post("/registry", {"name": name, "leader_id": leader_id})
    assert entry["status"] == "pending"
    decide(center, "registry_entry", entry["id"])
    return wait_until(lambda: (e := school.admin.get(f"/registry/{entry['id']}"))["status"] == "approved" and e)


def test_a_mooc_needs_an_approved_registry_entry_with_the_same_name_and_leader(
    center: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    entry = registered(center, school, "数据结构", leader.get("/me")["id"])
    assert entry["leader_name"] == "王老师"
    expect_problem(404, lambda: other_school.admin.get(f"/registry/{entry['id']}"))
    expect_problem(403, lambda: leader.post("/registry", {"name": "x", "leader_id": leader.get("/me")["id"]}))
    body = {"kind": "mooc", "name": "数据结构", "category": "专业课", "registry_entry_id": entry["id"]}
    wrong_leader = expect_problem(409, lambda: create_account(
        school.admin, Api(leader.base_url), role="teacher", school_id=school.id, number="L2", name="李老师",
    )[1].post("/courses", body), "REGISTRY_MISMATCH")
    assert "leader" in wrong_leader["detail"] and f"/api/v1/registry/{entry['id']}/change-requests" in wrong_leader[
        "detail"]
    wrong_name = expect_problem(409, lambda: leader.post("/courses", {**body, "name": "数据结构与算法"}),
                                "REGISTRY_MISMATCH")
    assert "name" in wrong_name["detail"]
    course = leader.post("/courses", body)
    assert (course["kind"], course["leader_name"], course["registry_entry_id"]) == ("mooc", "王老师", entry["id"])
    assert course["overview_headings"][0] == "课程简介" and set(course["overview"]) == set(course["overview_headings"])


def test_a_registry_change_request_is_reviewed_and_kept_in_the_history(
    api: Api, center: Api, school: SchoolWorld
) -> None:
    zhao = create_account(school.admin, api, role="teacher", school_id=school.id, number="Z1", name="赵老师")[0]
    qian = create_account(school.admin, api, role="teacher", school_id=school.id, number="Q1", name="钱老师")[0]
    entry = registered(center, school, "操作系统", zhao["id"])
    expect_problem(400, lambda: school.admin.post(f"/registry/{entry['id']}/change-requests",
                                                  {"name": "操作系统", "leader_id": zhao["id"], "reason": "无"}))
    changed = school.admin.post(f"/registry/{entry['id']}/change-requests",
                                {"name": "操作系统原理", "leader_id": qian["id"], "reason": "负责人调动"})
    decide(center, "registry_change", changed["changes"][0]["id"])
    after = wait_until(lambda: (e := school.admin.get(f"/registry/{entry['id']}"))["name"] == "操作系统原理" and e)
    assert (after["leader_id"], after["leader_name"]) == (qian["id"], "钱老师")
    assert [(c["status"], c["name"]) for c in after["changes"]] == [("approved", "操作系统原理")]


def test_the_registry_imports_from_its_template_and_reports_bad_lines(api: Api, school: SchoolWorld) -> None:
    for number, name in (("SUN1", "孙老师"), ("ZHOU1", "周老师"), ("WU1", "吴老师")):
        create_account(school.admin, api, role="teacher", school_id=school.id, number=number, name=name)
    template = school.admin.http.get("/api/v1/registry/template",
                                     headers={"Authorization": f"Bearer {school.admin.token}"})
    assert template.status_code == 200
    import io

    assert [c.value for c in next(load_workbook(io.BytesIO(template.content)).active.iter_rows(max_row=1))] == [
        "课程名称", "课程负责人工号或用户名"]
    bad = "课程名称,课程负责人工号或用户名\n编译原理,SUN1\n,ZHOU1\n编译原理,WU1\n".encode()
    report = school.admin.post("/registry/imports", files={"file": ("r.csv", bad)})
    assert report["imported"] is False and report["created"] == 0
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "name"), (4, "name")]
    assert school.admin.get("/registry", params={"query": "编译原理"})["total"] == 0
    good = "课程名称,课程负责人工号或用户名\n编译原理,SUN1\n计算机网络,WU1\n".encode()
    assert school.admin.post("/registry/imports", files={"file": ("r.csv", good)})["created"] == 2
    assert school.admin.get("/registry", params={"status": "pending"})["total"] >= 2


def test_a_teaching_plan_has_three_levels_moves_among_siblings_and_counts_minutes(
    clips: Path, api: Api, school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "高等数学", "category": "公共基础课"})
    video = approved_video(clips, leader, school.admin)
    unapproved = upload_file(leader, media_clips.compliant_720p(clips, seconds=4))
    wait_for_state(leader, unapproved["id"], "ready")
    path = f"/courses/{course['id']}/plan/nodes"

    def add(**body: str) -> dict:
        return leader.post(path, body)

    def node_id(plan: dict, title: str) -> str:
        return next(n["id"] for n in plan["nodes"] if n["title"] == title)

    plan = add(kind="chapter", title="第一章 极限")
    chapter = node_id(plan, "第一章 极限")
    plan = add(kind="section", title="1.1 数列极限", parent_id=chapter)
    section = node_id(plan, "1.1 数列极限")
    plan = add(kind="unit", title="讲解视频", parent_id=section, resource_id=video["id"])
    unit = node_id(plan, "讲解视频")
    expect_problem(400, lambda: add(kind="unit", title="第四层", parent_id=unit, resource_id=video["id"]))
    expect_problem(400, lambda: add(kind="section", title="孤立小节"))
    problem = expect_problem(409, lambda: add(kind="unit", title="未审核", parent_id=section,
                                              resource_id=unapproved["id"]), "ASSET_NOT_REFERENCEABLE")
    assert "not approved" in problem["detail"]
    plan = add(kind="chapter", title="第二章 导数")
    second = node_id(plan, "第二章 导数")
    assert [n["title"] for n in plan["nodes"] if n["kind"] == "chapter"] == ["第一章 极限", "第二章 导数"]
    plan = leader.post(f"{path}/{second}/move", {"direction": "up"})
    assert [n["title"] for n in plan["nodes"] if n["kind"] == "chapter"] == ["第二章 导数", "第一章 极限"]
    expect_problem(409, lambda: leader.post(f"{path}/{second}/move", {"direction": "up"}))
    expect_problem(400, lambda: leader.post(f"{path}/{section}/move", {"direction": "up", "new_parent_id": second}))
    minutes = round(float(video["duration_seconds"]) / 60, 2)
    assert plan["chapter_minutes"][chapter] == pytest.approx(minutes, abs=0.01)
    assert plan["total_minutes"] == pytest.approx(minutes, abs=0.01)
    assert leader.get(f"/courses/{course['id']}")["approved_video_minutes"] == pytest.approx(minutes, abs=0.01)
    # A unit is re-pointed to another approved resource; an unapproved one is refused there too.
    other = approved_video(clips, leader, school.admin, seconds=2)
    repointed = leader.request("PATCH", f"{path}/{unit}", json={"resource_id": other["id"]})
    assert next(n for n in repointed["nodes"] if n["id"] == unit)["resource_id"] == other["id"]
    expect_problem(409, lambda: leader.request("PATCH", f"{path}/{unit}", json={"resource_id": unapproved["id"]}))
    leader.request("PATCH", f"{path}/{unit}", json={"resource_id": video["id"]})
    usage = school.admin.get("/courses", params={"query": "高等数学"})["items"][0]
    assert usage["yearly_update_ratio"] == 1.0 and usage["video_minutes"] == pytest.approx(minutes, abs=0.01)
    renamed = leader.request("PATCH", f"{path}/{chapter}", json={"title": "第一讲 极限"})
    assert node_id(renamed, "第一讲 极限") == chapter
    expect_problem(409, lambda: leader.request("DELETE", f"{path}/{chapter}"))
    plan = leader.request("DELETE", f"{path}/{chapter}", params={"recursive": "true"})
    assert [n["title"] for n in plan["nodes"]] == ["第二章 导数"] and plan["total_minutes"] == 0


def test_credits_follow_approved_video_minutes_and_the_overview_keeps_its_headings(leader: Api) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "线性代数", "category": "公共基础课"})
    updated = leader.request("PATCH", f"/courses/{course['id']}",
                             json={"online_credits": 1, "total_credits": 3, "overview": {"课程简介": "矩阵与向量空间"}})
    assert updated["credit_policy"] == "platform defaults v1" and updated["missing_video_minutes"] == 240
    assert updated["overview"]["课程简介"] == "矩阵与向量空间"
    expect_problem(400, lambda: leader.request("PATCH", f"/courses/{course['id']}",
                                               json={"overview": {"我的标题": "x"}}))
    expect_problem(400, lambda: leader.request("PATCH", f"/courses/{course['id']}",
                                               json={"online_credits": 4, "total_credits": 3}))


def test_runs_copy_the_plan_are_reviewed_by_the_school_and_can_be_taken_down(
    center: Api, api: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "大学物理", "category": "公共基础课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章 力学"})
    expect_problem(400, lambda: leader.post(f"/courses/{course['id']}/runs", {"term_code": "2001-spring"}))
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    assert (run["number"], run["state"]) == (1, "draft") and run["public_class_id"]
    run_plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})
    assert [n["title"] for n in run_plan["nodes"]] == ["第一章 力学"]
    # The run's plan is its own copy: changing the parent leaves it alone.
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第二章 热学"})
    assert len(leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})["nodes"]) == 1
    expect_problem(400, lambda: leader.post(f"/runs/{run['id']}/publish", {"term_code": ""}))
    pending = leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    assert pending["state"] == "pending_review"
    expect_problem(404, lambda: other_school.admin.get(f"/runs/{run['id']}"))
    decide(school.admin, "course_run", run["id"])
    running = wait_until(lambda: (r := leader.get(f"/runs/{run['id']}"))["state"] == "running" and r)
    assert running["term_code"] == CURRENT_TERM["code"]
    # A student of the school joins without a class and lands in the public class; others cannot join a SPOC.
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="J1", name="旁听")
    joined = student.post(f"/runs/{run['id']}/join")
    assert (joined["class_id"], joined["already_joined"]) == (run["public_class_id"], False)
    assert student.post(f"/runs/{run['id']}/join")["already_joined"] is True
    _, outsider = create_account(other_school.admin, api, role="student", school_id=other_school.id, number="J2",
                                 name="外校")
    expect_problem(404, lambda: outsider.post(f"/runs/{run['id']}/join"))
    expect_problem(403, lambda: leader.post(f"/runs/{run['id']}/take-down", {"reason": "x"}))
    expect_problem(404, lambda: other_school.admin.post(f"/runs/{run['id']}/take-down", {"reason": "x"}))
    expect_problem(400, lambda: school.admin.post(f"/runs/{run['id']}/take-down", {"reason": " "}))
    down = school.admin.post(f"/runs/{run['id']}/take-down", {"reason": "内容需要整改"})
    assert (down["state"], down["reason"]) == ("taken_down", "内容需要整改")
    rerun = leader.post(f"/courses/{course['id']}/runs", {"term_code": NEXT_TERM["code"]})
    assert (rerun["number"], rerun["copied_from_run_id"]) == (2, run["id"])
    overview = school.admin.get("/courses", params={"query": "大学物理"})["items"][0]
    assert overview["runs"] == 2 and overview["classes"] == 2 and overview["latest_run_state"] == "draft"
    assert overview["students"] == 1


def test_a_rejected_run_carries_the_reason_and_can_be_resubmitted(school: SchoolWorld, leader: Api) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "概率论", "category": "公共基础课"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": NEXT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": NEXT_TERM["code"]})
    decide(school.admin, "course_run", run["id"], "reject", "缺少考核方式")
    rejected = wait_until(lambda: (r := leader.get(f"/runs/{run['id']}"))["state"] == "rejected" and r)
    assert rejected["reason"] == "缺少考核方式"
    assert leader.post(f"/runs/{run['id']}/publish", {"term_code": NEXT_TERM["code"]})["state"] == "pending_review"


def test_a_synchronous_spoc_follows_a_running_mooc_run_read_only(
    center: Api, api: Api, school: SchoolWorld, leader: Api
) -> None:
    entry = registered(center, school, "软件工程", leader.get("/me")["id"])
    mooc = leader.post("/courses", {"kind": "mooc", "name": "软件工程", "category": "专业课",
                                    "registry_entry_id": entry["id"]})
    leader.post(f"/courses/{mooc['id']}/plan/nodes", {"kind": "chapter", "title": "第一章 需求"})
    run = leader.post(f"/courses/{mooc['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    expect_problem(409, lambda: leader.post("/courses", {"kind": "spoc_synchronous", "name": "软件工程(同步)",
                                                         "category": "专业课", "source_run_id": run["id"]}))
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    spoc = leader.post("/courses", {"kind": "spoc_synchronous", "name": "软件工程(同步)", "category": "专业课",
                                    "source_run_id": run["id"]})
    assert spoc["read_only"] is True
    assert [n["title"] for n in leader.get(f"/courses/{spoc['id']}/plan")["nodes"]] == ["第一章 需求"]
    leader.post(f"/courses/{mooc['id']}/plan/nodes", {"kind": "chapter", "title": "第二章 设计"}, params={
        "run_id": run["id"]})
    assert len(leader.get(f"/courses/{spoc['id']}/plan")["nodes"]) == 2  # it follows the run's changes
    problem = expect_problem(409, lambda: leader.post(f"/courses/{spoc['id']}/plan/nodes",
                                                      {"kind": "chapter", "title": "x"}), "READ_ONLY_SPOC")
    assert "synchronous" in problem["detail"]
    expect_problem(409, lambda: leader.request("PATCH", f"/courses/{spoc['id']}", json={"category": "x"}))
    refused = expect_problem(409, lambda: leader.post(f"/courses/{spoc['id']}/mooc-application"))
    assert "synchronous" in refused["detail"].lower() or "independent" in refused["detail"].lower()


def test_an_independent_spoc_with_too_few_minutes_cannot_apply_for_mooc(school: SchoolWorld, leader: Api) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "离散数学", "category": "公共基础课"})
    problem = expect_problem(409, lambda: leader.post(f"/courses/{course['id']}/mooc-application"))
    assert "240" in problem["detail"]
    assert school.admin.get("/mooc-applications")["total"] == 0


def test_other_schools_and_other_teachers_cannot_touch_a_course(
    api: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "大学英语", "category": "公共基础课"})
    _, outsider = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="O1",
                                 name="外校老师")
    _, colleague = create_account(school.admin, api, role="teacher", school_id=school.id, number="C1", name="同事")
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="S1", name="学生")
    for stranger in (outsider, colleague, other_school.admin, student):
        expect_problem(404, lambda stranger=stranger: stranger.request(
            "PATCH", f"/courses/{course['id']}", json={"category": "x"}))
        expect_problem(404, lambda stranger=stranger: stranger.post(
            f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "x"}))
    expect_problem(403, lambda: student.post("/courses", {"kind": "spoc_independent", "name": "x", "category": "y"}))
    expect_problem(401, lambda: api.get(f"/courses/{course['id']}"))
    assert school.admin.get(f"/courses/{course['id']}")["id"] == course["id"]


def test_a_tutor_teacher_of_another_school_does_what_their_permissions_allow_and_no_more(
    center: Api, api: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "电路原理", "category": "学科基础课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章 电路模型"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])  # only an approved run takes students
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    tutor_name = f"辅导{uuid.uuid4().hex[:4]}"
    _, tutor = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="TT1",
                              name=tutor_name)
    found = leader.get("/teachers", params={"query": tutor_name})["items"]
    assert [(t["name"], t["school_id"]) for t in found] == [(tutor_name, other_school.id)]
    tutor_id = found[0]["user_id"]
    expect_problem(404, lambda: tutor.get(f"/courses/{course['id']}"))
    expect_problem(404, lambda: tutor.post(f"/runs/{run['id']}/team", {"user_id": tutor_id}))
    team = leader.post(f"/runs/{run['id']}/team", {"user_id": tutor_id, "permissions": ["manage_classes"]})
    assert [(m["name"], m["permissions"]) for m in team["members"] if not m["leader"]] == [
        (tutor_name, ["manage_classes"])]
    assert course["id"] in [c["course"]["id"] for c in tutor.get("/courses")["items"]]

    # manage_classes: a class of the tutor's own school, filled by import and by number.
    own = tutor.post(f"/runs/{run['id']}/classes", {"name": "外校1班"})
    expect_problem(403, lambda: tutor.post(f"/runs/{run['id']}/classes", {"name": "越权", "school_id": school.id}))
    assert own["school_id"] == other_school.id and own["students"] == 0
    csv = "学号,姓名,手机号\nW001,甲,13912340001\nW002,乙,13912340002\n".encode()
    imported = tutor.post(f"/classes/{own['id']}/imports", files={"file": ("s.csv", csv)})
    assert (imported["imported"], imported["added"], imported["accounts_created"]) == (True, 2, 2)
    by_number = tutor.post(f"/classes/{own['id']}/students", {"student_numbers": ["W001", "W404"]})
    assert (by_number["added"], by_number["already_in_class"], by_number["unknown_numbers"]) == (0, 1, ["W404"])
    bad = tutor.post(f"/classes/{own['id']}/imports", files={"file": ("s.csv", "学号,姓名,手机号\nW3,丙,1\n".encode())})
    assert bad["imported"] is False and bad["errors"][0]["line"] == 2
    chapter = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})["nodes"][0]["id"]
    released = tutor.post(f"/classes/{own['id']}/releases",
                          {"chapter_id": chapter, "release_at": "2027-03-01T08:00:00+08:00"})
    assert released["releases"][0]["released"] is False and released["students"] == 2
    public = leader.post(f"/classes/{run['public_class_id']}/releases", {"chapter_id": chapter})
    assert public["public"] is True and public["releases"][0]["released"] is True

    # Without edit_content the tutor cannot touch the content; with it, only the run's copy.
    node = {"kind": "chapter", "title": "外校补充"}
    expect_problem(403, lambda: tutor.post(f"/courses/{course['id']}/plan/nodes", node, params={"run_id": run["id"]}))
    leader.post(f"/runs/{run['id']}/team", {"user_id": tutor_id, "permissions": ["manage_classes", "edit_content"]})
    tutor.post(f"/courses/{course['id']}/plan/nodes", node, params={"run_id": run["id"]})
    expect_problem(403, lambda: tutor.post(f"/courses/{course['id']}/plan/nodes", node))
    expect_problem(403, lambda: tutor.request("PATCH", f"/courses/{course['id']}", json={"category": "x"}))

    # Another team teacher with manage_classes cannot run the tutor's class.
    colleague_name = f"同事{uuid.uuid4().hex[:4]}"
    create_account(school.admin, api, role="teacher", school_id=school.id, number="TC1", name=colleague_name)
    colleague_id = leader.get("/teachers", params={"query": colleague_name})["items"][0]["user_id"]
    leader.post(f"/runs/{run['id']}/team", {"user_id": colleague_id, "permissions": ["manage_classes"]})
    colleague = api.login(f"{school.code}-TC1", PASSWORD)
    expect_problem(403, lambda: colleague.post(f"/classes/{own['id']}/students", {"student_numbers": ["W001"]}))
    expect_problem(403, lambda: colleague.post(f"/runs/{run['id']}/team", {"user_id": tutor_id}))  # the leader's

    # Removing the tutor keeps their class.
    leader.request("DELETE", f"/runs/{run['id']}/team/{tutor_id}")
    expect_problem(404, lambda: tutor.get(f"/courses/{course['id']}"))
    classes = leader.get(f"/runs/{run['id']}/classes")["items"]
    assert [c["name"] for c in classes if not c["public"]] == ["外校1班"]
    assert school.admin.get("/courses", params={"query": "电路原理"})["items"][0]["students"] == 2


def test_materials_reference_the_schools_media(
    clips: Path, api: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "工程制图", "category": "学科基础课"})
    pending = upload_file(leader, media_clips.compliant_720p(clips, seconds=2))
    # A material, like a unit and a cover, is a ready asset the school approved.
    expect_problem(409, lambda: leader.post(f"/courses/{course['id']}/materials", {"asset_id": pending["id"]}),
                   "ASSET_NOT_REFERENCEABLE")
    video = approved_video(clips, leader, school.admin)
    with_material = leader.post(f"/courses/{course['id']}/materials", {"asset_id": video["id"], "title": "导学"})
    assert [(m["asset_id"], m["title"]) for m in with_material["materials"]] == [(video["id"], "导学")]
    expect_problem(409, lambda: leader.post(f"/courses/{course['id']}/materials", {"asset_id": video["id"]}))
    _, foreign_teacher = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                        number="FT1", name="外校")
    foreign = upload_file(foreign_teacher, media_clips.compliant_720p(clips, seconds=2))
    expect_problem(404, lambda: leader.post(f"/courses/{course['id']}/materials", {"asset_id": foreign["id"]}))
    # A cover must be an approved asset of the school.
    expect_problem(409, lambda: leader.request("PATCH", f"/courses/{course['id']}",
                                               json={"cover_asset_id": pending["id"]}))
    removed = leader.request("DELETE", f"/courses/{course['id']}/materials/{video['id']}")
    assert removed["materials"] == []
    expect_problem(404, lambda: leader.request("DELETE", f"/courses/{course['id']}/materials/{video['id']}"))
