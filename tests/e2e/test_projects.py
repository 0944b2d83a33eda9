"""Course-building projects end to end (seed 004 四 and annex 1, seed 002 三 and annex 2), through the gateway with
the real services: an application through its college, a panel of three experts (one of another school), the
school's approval, a failed pre-launch check rectified, two runs, the completion acceptance with the measured facts
beside the scores, the title and the four tranches, the spending caps, the workload; a second project terminated
after two failed checks and its leader refused a new application; and the refusals."""

from __future__ import annotations

import uuid

from devmesh.client import Api
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, SchoolWorld, create_account, decide, review_item
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_workload import approved_run, course
from tests.support import wait_until


def application_form(course_id: str, tag: str, team: list[dict] | None = None) -> dict:
    return {
        "course_id": course_id, "discipline": "计算机科学与技术", "audience": "本科二年级", "class_hours": 32,
        "leader_title": "副教授", "leader_degree": "博士", "leader_phone": "13800000000",
        "leader_email": f"lead{tag}@example.edu.cn",
        "leader_teaching": [{"course_name": "数据结构", "category": "专业课", "audience": "本科", "class_hours": 48,
                             "listeners_per_year": 120}],
        "leader_research": "主持省级教改项目一项，发表教学论文两篇",
        "team": team or [{"name": "王助教", "kind": "assistant", "title": "讲师", "task": "答疑与作业批改"},
                         {"name": "李工", "kind": "technical", "title": "工程师", "task": "视频拍摄与平台维护"}],
        "foundation": "本课程已开设五年，每年授课约两百人", "design": "线上自学与课堂研讨相结合",
        "goals_plan": "半年建成全部视频，两年内开课三次", "expected_results": "建成校级在线开放课程",
    }


def project_state(api: Api, project_id: str, state: str) -> dict:
    return wait_until(lambda: (p := api.get(f"/projects/{project_id}"))["state"] == state and p)


def panel(admin: Api, purpose: str, experts: list[dict], item_ids: list[str]) -> dict:
    return admin.post("/reviews/rounds", {
        "title": f"{purpose} {uuid.uuid4().hex[:4]}", "purpose": purpose,
        "expert_usernames": [e["username"] for e in experts], "leader_username": experts[0]["username"],
        "item_ids": item_ids})


def score_all(round_: dict, experts: list[Api], item_id: str, shares: list[float]) -> list[float]:
    """Each expert scores every rubric item at a share of its points; their totals."""
    totals = []
    for expert, share in zip(experts, shares, strict=True):
        scores = [{"key": item["key"], "points": round(item["max_points"] * share)}
                  for item in round_["rubric"]["items"]]
        expert.request("PUT", f"/reviews/rounds/{round_['id']}/items/{item_id}/score",
                       json={"scores": scores, "comment": f"评分 {share:.0%}"})
        totals.append(sum(s["points"] for s in scores))
    return totals


def test_a_project_from_application_to_title_and_one_terminated(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = school.admin
    informatics = admin.post(f"/schools/{school.id}/colleges", {"name": f"信息学院{tag}"})
    mechanics = admin.post(f"/schools/{school.id}/colleges", {"name": f"机械学院{tag}"})
    leader_user, leader = create_account(admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                                         name=f"负责人{tag}")
    second_user, second = create_account(admin, api, role="teacher", school_id=school.id, number=f"M{tag}",
                                         name=f"二号{tag}")
    assistant_user, assistant = create_account(admin, api, role="teacher", school_id=school.id, number=f"A{tag}",
                                               name=f"助教{tag}")
    for user, college in ((leader_user, informatics), (second_user, mechanics), (assistant_user, informatics)):
        admin.request("PUT", f"/users/{user['id']}/college", json={"college_id": college["id"]})
    _, secretary = create_account(admin, api, role="college_admin", school_id=school.id, college_id=informatics["id"],
                                  number=f"X{tag}", name=f"教学秘书{tag}")
    _, other_secretary = create_account(admin, api, role="college_admin", school_id=school.id,
                                        college_id=mechanics["id"], number=f"Y{tag}", name=f"机械秘书{tag}")
    expert_users, experts = [], []
    for i, world in enumerate((school, school, other_school)):
        user, expert = create_account(world.admin, api, role="teacher", school_id=world.id, number=f"E{tag}{i}",
                                      name=f"专家{i}{tag}")
        expert_users.append(user)
        experts.append(expert)
    outsider_user, outsider = create_account(admin, api, role="teacher", school_id=school.id, number=f"O{tag}",
                                             name=f"旁人{tag}")

    # ---- the application, through the college -----------------------------------------------------------------
    built = course(leader, f"数据结构{tag}", class_hours=32)
    team = [{"user_id": assistant_user["id"], "name": f"助教{tag}", "kind": "assistant", "task": "答疑"},
            {"name": "李工", "kind": "technical", "task": "视频拍摄"}]
    expect_problem(403, lambda: second.post("/projects", application_form(built["id"], tag, team)))  # not the leader
    _, student = create_account(admin, api, role="student", school_id=school.id, number=f"S{tag}", name="学生")
    expect_problem(403, lambda: student.post("/projects", application_form(built["id"], tag, team)))
    expect_problem(400, lambda: leader.post("/projects", {**application_form(built["id"], tag), "team": [
        {"name": "张老师", "kind": "teacher", "task": "主讲"}]}), "PROJECT_TEAM_INCOMPLETE")
    project = leader.post("/projects", application_form(built["id"], tag, team))
    assert (project["state"], project["college_id"], project["college_name"]) == (
        "applied", informatics["id"], f"信息学院{tag}")
    expect_problem(409, lambda: leader.post("/projects", application_form(built["id"], tag, team)),
                   "PROJECT_EXISTS")
    assert assistant.get(f"/projects/{project['id']}")["id"] == project["id"]  # the team reads it
    expect_problem(404, lambda: outsider.get(f"/projects/{project['id']}"))
    expect_problem(404, lambda: other_school.admin.get(f"/projects/{project['id']}"))
    expect_problem(404, lambda: other_secretary.get(f"/projects/{project['id']}"))
    expect_problem(401, lambda: api.get(f"/projects/{project['id']}"))

    # A college admin of another college neither sees nor decides the recommendation.
    item = review_item(secretary, "project_recommendation", project["id"])
    assert item["snapshot"]["form"]["discipline"] == "计算机科学与技术"
    assert [i for i in other_secretary.get("/reviews", params={"kind": "project_recommendation"})["items"]
            if i["subject_id"] == project["id"]] == []
    expect_problem(404, lambda: other_secretary.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    expect_problem(403, lambda: leader.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    secretary.post(f"/reviews/{item['id']}/decision", {"decision": "approve", "reason": "择优推荐"})
    project = project_state(leader, project["id"], "panel")
    assert secretary.get("/projects")["projects"][0]["id"] == project["id"]

    # ---- the expert panel: three experts, one of another school ----------------------------------------------
    application = review_item(admin, "project_application", project["id"])
    # Neither the leader nor a team member sits on their own project's panel.
    expect_problem(400, lambda: panel(admin, "application", [expert_users[0], expert_users[1], assistant_user],
                                      [application["id"]]))
    expect_problem(400, lambda: panel(admin, "application", expert_users[:2], [application["id"]]))
    round_ = panel(admin, "application", expert_users, [application["id"]])
    expect_problem(409, lambda: admin.post(f"/reviews/{application['id']}/decision", {"decision": "approve"}))
    totals = score_all(round_, experts, application["id"], [0.9, 0.8, 0.85])
    # Someone not on the round sees nothing of it.
    expect_problem(404, lambda: outsider.get(f"/reviews/rounds/{round_['id']}"))
    expect_problem(404, lambda: outsider.request(
        "PUT", f"/reviews/rounds/{round_['id']}/items/{application['id']}/score",
        json={"scores": [{"key": i["key"], "points": 1} for i in round_["rubric"]["items"]], "comment": ""}))
    expect_problem(403, lambda: experts[1].post(f"/reviews/rounds/{round_['id']}/items/{application['id']}/conclusion",
                                                {"conclusion": "pass", "comment": "同意"}))
    experts[0].post(f"/reviews/rounds/{round_['id']}/items/{application['id']}/conclusion",
                    {"conclusion": "pass", "comment": "同意立项"})
    admin.post(f"/reviews/{application['id']}/decision", {"decision": "approve", "reason": "主管校长批准"})
    project = project_state(leader, project["id"], "building")
    assert abs(project["application_score"] - sum(totals) / 3) < 0.01
    decided = admin.get(f"/reviews/{application['id']}")
    assert sum(1 for entry in decided["history"] if entry["action"] == "scored") == 3
    assert project["budget"] == 30000 and project["released"] == 10000
    assert [(t["milestone"], t["amount"], t["released"]) for t in project["tranches"]] == [
        ("approval", 10000, True), ("first_run", 10000, False), ("second_run", 5000, False),
        ("acceptance", 5000, False)]
    assert project["approved_at"] < project["build_deadline"] < project["period_end"]
    assert int(project["period_end"][:4]) == int(project["approved_at"][:4]) + 2

    # ---- spending within the caps and the money released -----------------------------------------------------
    leader.post(f"/projects/{project['id']}/spending", {"category": "research_meetings", "amount": 6000,
                                                         "note": "调研"})
    expect_problem(409, lambda: leader.post(f"/projects/{project['id']}/spending",
                                            {"category": "research_meetings", "amount": 1}), "SPENDING_CAP")
    expect_problem(409, lambda: leader.post(f"/projects/{project['id']}/spending",
                                            {"category": "labour", "amount": 3000.5}), "SPENDING_CAP")
    expect_problem(409, lambda: leader.post(f"/projects/{project['id']}/spending",
                                            {"category": "production", "amount": 4000.01}),
                   "SPENDING_OVER_RELEASED")
    expect_problem(403, lambda: assistant.post(f"/projects/{project['id']}/spending",
                                               {"category": "production", "amount": 10}))
    project = leader.post(f"/projects/{project['id']}/spending", {"category": "labour", "amount": 3000})
    assert project["spent"] == 9000
    assert {c["category"]: (c["spent"], c["cap"]) for c in project["spending"]}["labour"] == (3000, 3000)

    # ---- the pre-launch check: failed, rectified, passed -------------------------------------------------------
    expect_problem(409, lambda: leader.post(f"/projects/{project['id']}/acceptance"), "PROJECT_STATE")
    leader.post(f"/projects/{project['id']}/prelaunch-check")
    check = review_item(admin, "project_prelaunch", project["id"])
    assert "units" in check["snapshot"]["facts"] and "norms" in check["snapshot"]["facts"]
    decide(admin, "project_prelaunch", project["id"], "reject", "字幕不全，限期整改")
    project = project_state(leader, project["id"], "rectifying")
    assert project["rectify_by"] and project["prelaunch_failures"] == 1 and not project["rectify_overdue"]
    leader.post(f"/projects/{project['id']}/prelaunch-check")
    decide(admin, "project_prelaunch", project["id"])
    project = project_state(leader, project["id"], "online")

    # ---- runs: each approved run after the check is a milestone --------------------------------------------
    expect_problem(409, lambda: leader.post(f"/projects/{project['id']}/acceptance"), "PROJECT_NOT_RUN")
    approved_run(leader, admin, built["id"], CURRENT_TERM)
    project = wait_until(lambda: (p := leader.get(f"/projects/{project['id']}"))["runs_since_check"] == 1 and p)
    assert project["released"] == 20000
    approved_run(leader, admin, built["id"], NEXT_TERM)
    project = wait_until(lambda: (p := leader.get(f"/projects/{project['id']}"))["runs_since_check"] == 2 and p)
    assert project["released"] == 25000

    # ---- the completion acceptance: the rubric, the facts beside the scores, the title ------------------------
    leader.post(f"/projects/{project['id']}/acceptance")
    acceptance = review_item(admin, "project_acceptance", project["id"])
    acceptance_round = panel(admin, "acceptance", expert_users, [acceptance["id"]])
    assert [(i["key"], i["max_points"]) for i in acceptance_round["rubric"]["items"]] == [
        ("materials_complete", 20), ("technical_norms", 20), ("knowledge_completeness", 15), ("accuracy", 10),
        ("online", 25), ("use", 5), ("effect", 5)]
    seen = experts[2].get(f"/reviews/rounds/{acceptance_round['id']}")  # the expert of another school
    [seen_item] = [i for i in seen["items"] if i["item_id"] == acceptance["id"]]
    assert seen_item["snapshot"]["facts"]["run_count"] == 2
    assert seen_item["snapshot"]["facts"]["evaluation_measured"] is True  # nobody rated yet: measured, no score
    totals = score_all(acceptance_round, experts, acceptance["id"], [0.9, 0.9, 0.8])
    experts[0].post(f"/reviews/rounds/{acceptance_round['id']}/items/{acceptance['id']}/conclusion",
                    {"conclusion": "pass", "comment": "验收合格"})
    admin.post(f"/reviews/{acceptance['id']}/decision", {"decision": "approve", "reason": "验收合格"})
    project = project_state(leader, project["id"], "accepted")
    assert abs(project["acceptance_score"] - sum(totals) / 3) < 0.01
    assert project["course_title"] == "校级在线开放课程"
    assert project["released"] == 30000 and all(t["released"] for t in project["tranches"])
    assert leader.get(f"/courses/{built['id']}")["title"] == "校级在线开放课程"
    actions = [e["action"] for e in project["history"]]
    assert actions[:4] == ["applied", "recommended", "approved", "tranche_released"]
    assert "prelaunch_failed" in actions and "accepted" in actions

    # The workload of the runs: 32 class hours × 4.0 for the first run.
    workload = admin.get("/workload", params={"term_code": CURRENT_TERM["code"]})
    assert [(r["course_name"], r["coefficient"], r["workload_hours"]) for t in workload["teachers"]
            for r in t["runs"] if r["course_id"] == built["id"]] == [(f"数据结构{tag}", 4.0, 128)]

    # The school can take the title away again.
    expect_problem(403, lambda: leader.post(f"/courses/{built['id']}/title/revoke", {"reason": "停开"}))
    revoked = admin.post(f"/courses/{built['id']}/title/revoke", {"reason": "连续两学期未正常开课"})
    assert (revoked["title"], revoked["title_revoked_reason"]) == ("", "连续两学期未正常开课")

    # ---- a second project: not recommended first, then terminated after two failed checks -------------------
    other_course = course(second, f"机械原理{tag}", class_hours=48)
    refused = second.post("/projects", application_form(other_course["id"], tag))
    other_item = review_item(other_secretary, "project_recommendation", refused["id"])
    expect_problem(400, lambda: other_secretary.post(f"/reviews/{other_item['id']}/decision",
                                                     {"decision": "reject"}))
    other_secretary.post(f"/reviews/{other_item['id']}/decision", {"decision": "reject", "reason": "基础不足"})
    refused = project_state(second, refused["id"], "not_recommended")
    assert refused["reason"] == "基础不足" and refused["released"] == 0
    doomed = second.post("/projects", application_form(other_course["id"], tag))  # a new attempt is allowed
    decide(other_secretary, "project_recommendation", doomed["id"])
    second_application = review_item(admin, "project_application", doomed["id"])
    second_round = panel(admin, "application", expert_users, [second_application["id"]])
    score_all(second_round, experts, second_application["id"], [0.7, 0.7, 0.7])
    experts[0].post(f"/reviews/rounds/{second_round['id']}/items/{second_application['id']}/conclusion",
                    {"conclusion": "pass", "comment": "同意"})
    admin.post(f"/reviews/{second_application['id']}/decision", {"decision": "approve"})
    project_state(second, doomed["id"], "building")
    for attempt in range(2):
        second.post(f"/projects/{doomed['id']}/prelaunch-check")
        decide(admin, "project_prelaunch", doomed["id"], "reject", f"资源不合格 {attempt + 1}")
        if attempt == 0:
            project_state(second, doomed["id"], "rectifying")
    doomed = project_state(second, doomed["id"], "terminated")
    assert doomed["released"] == 10000 and doomed["terminated_at"]
    expect_problem(409, lambda: second.post(f"/projects/{doomed['id']}/prelaunch-check"), "PROJECT_STATE")
    # Its leader may not apply again, for any course, for three years.
    third_course = course(second, f"机械设计{tag}", class_hours=32)
    problem = expect_problem(409, lambda: second.post("/projects", application_form(third_course["id"], tag)),
                             "LEADER_BARRED")
    assert str(int(doomed["terminated_at"][:4]) + 3) in problem["detail"]

    # Lists: each role sees its own.
    assert {p["id"] for p in admin.get("/projects")["projects"]} >= {project["id"], doomed["id"], refused["id"]}
    assert {p["id"] for p in second.get("/projects")["projects"]} == {doomed["id"], refused["id"]}
    assert project["id"] not in {p["id"] for p in other_secretary.get("/projects")["projects"]}
    expect_problem(403, lambda: other_school.admin.get("/projects", params={"school_id": school.id}))
