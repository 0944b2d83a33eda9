"""Course-building projects in the console (在线开放课程立项建设): a teacher of a college fills the application form
(a course they lead, what they taught, the team with an assistant found by name, the four long parts), is told
what the server refuses, sends it and finds it at the college; the school admin and the college admin see it
among theirs, read-only. An approved project's leader records spending within the caps and asks for the
pre-launch check; once accepted, the school takes the course's title away with a reason."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Locator, Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, PASSWORD, SchoolWorld, create_account, decide, review_item
from tests.e2e.test_projects import application_form, panel, project_state, score_all
from tests.e2e.test_workload import approved_run, course
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def choose(page: Page, select: Locator, option: str) -> None:
    await select.click()
    await page.locator(".el-select-dropdown:visible .el-select-dropdown__item", has_text=option).first.click()


async def test_a_teacher_applies_for_a_building_project_and_the_admins_see_it(
    page: Page, api: Api, school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = school.admin
    college = admin.post(f"/schools/{school.id}/colleges", {"name": f"信息学院{tag}"})
    leader_user, leader = create_account(admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                                         name=f"负责人{tag}")
    assistant_user, _ = create_account(admin, api, role="teacher", school_id=school.id, number=f"A{tag}",
                                       name=f"助教{tag}")
    for user in (leader_user, assistant_user):
        admin.request("PUT", f"/users/{user['id']}/college", json={"college_id": college["id"]})
    _, secretary = create_account(admin, api, role="college_admin", school_id=school.id,
                                  college_id=college["id"], number=f"X{tag}", name=f"教学秘书{tag}")
    name = f"数据结构{tag}"
    built = course(leader, name, class_hours=32)

    # ---- the leader fills the application form --------------------------------------------------------------
    await sign_in(page, leader_user["username"], PASSWORD)
    await page.get_by_role("menuitem", name="建设项目").click()
    await expect(page).to_have_url("/teacher/projects")
    await page.locator("[data-test=apply-project]").click()
    await expect(page).to_have_url("/teacher/projects/new")
    await choose(page, page.locator("[data-test=project-course]"), name)
    await expect(page.locator("input[name=class_hours]")).to_have_value("32")  # from the course
    await page.locator("input[name=discipline]").fill("计算机科学与技术")
    await page.locator("input[name=audience]").fill("本科二年级")
    await page.locator("input[name=leader_title]").fill("副教授")
    await page.locator("input[name=leader_degree]").fill("博士")
    await page.locator("input[name=leader_phone]").fill("13800000000")
    teaching = page.locator("[data-test=teaching] .el-table__body tr")
    await teaching.nth(0).locator("input[name=teaching_course]").fill("数据结构")
    await teaching.nth(0).locator("input[name=teaching_category]").fill("专业课")
    await teaching.nth(0).locator("input[name=teaching_hours]").fill("48")
    await page.locator("[data-test=add-teaching]").click()
    await expect(teaching).to_have_count(2)
    await teaching.nth(1).locator("input[name=teaching_course]").fill("算法设计")
    await page.locator("textarea[name=leader_research]").fill("主持省级教改项目一项")

    # the team starts with an assistant and a technical support row; the assistant's account is found by name
    team = page.locator("[data-test=team] .el-table__body tr")
    await expect(team).to_have_count(2)
    account = team.nth(0).locator("[data-test=team-account]")
    await account.click()
    await account.locator("input").press_sequentially(f"助教{tag}")
    await page.locator(".el-select-dropdown:visible .el-select-dropdown__item", has_text=f"助教{tag}").click()
    await expect(team.nth(0).locator("input[name=team_name]")).to_have_value(f"助教{tag}")
    await team.nth(0).locator("input[name=team_task]").fill("答疑与作业批改")
    await team.nth(1).locator("input[name=team_name]").fill("李工")
    await team.nth(1).locator("input[name=team_task]").fill("视频拍摄与平台维护")
    await page.locator("textarea[name=design]").fill("线上自学与课堂研讨相结合")
    await page.locator("textarea[name=goals_plan]").fill("半年建成全部视频，两年内开课三次")
    await page.locator("textarea[name=expected_results]").fill("建成校级在线开放课程")

    # the server refuses a form without its foundation, and says why
    await page.locator("[data-test=submit-project]").click()
    await expect(page.locator(".el-message--error")).to_contain_text("课程建设基础")
    await expect(page).to_have_url("/teacher/projects/new")
    await page.locator("textarea[name=foundation]").fill("本课程已开设五年，每年授课约两百人")
    await page.locator("[data-test=submit-project]").click()
    await expect(page).to_have_url("/teacher/projects")
    row = page.locator("[data-test=projects] .el-table__row", has_text=name)
    await expect(row.locator("[data-test=project-state]")).to_have_text("学院推荐中")
    await expect(row).to_contain_text(f"信息学院{tag}")

    (project,) = [p for p in leader.get("/projects")["projects"] if p["course_id"] == built["id"]]
    assert project["state"] == "applied"
    form = project["form"]
    assert [m["user_id"] for m in form["team"]] == [assistant_user["id"], ""]
    assert [(m["kind"], m["name"]) for m in form["team"]] == [("assistant", f"助教{tag}"), ("technical", "李工")]
    assert [(r["course_name"], r["class_hours"]) for r in form["leader_teaching"]] == [
        ("数据结构", 48), ("算法设计", 0)]
    assert (form["class_hours"], form["leader_title"], form["foundation"]) == (
        32, "副教授", "本课程已开设五年，每年授课约两百人")

    # ---- the project's page: the form, the deadlines and funds to come, the history --------------------------
    await row.locator("[data-test=open-project]").click()
    await expect(page).to_have_url(f"/teacher/projects/{project['id']}")
    await expect(page.locator(".page-title")).to_contain_text(name)
    await expect(page.locator(".page-title [data-test=project-state]")).to_have_text("学院推荐中")
    await expect(page.locator("[data-test=funding]")).to_have_count(0)  # no funds before the approval
    await expect(page.locator("[data-test=project-form]")).to_contain_text("计算机科学与技术")
    await expect(page.locator("[data-test=form-team]")).to_contain_text(f"助教{tag}")
    await expect(page.locator("[data-test=form-team]")).to_contain_text("技术支持")
    await expect(page.locator("[data-test=form-design]")).to_have_text("线上自学与课堂研讨相结合")
    await expect(page.locator("[data-test=history]")).to_contain_text("提交申报")
    await expect(page.locator("[data-test=scores]")).to_contain_text("尚未评分")
    await expect(page.locator("[data-test=leader-actions]")).to_have_count(0)  # nothing to do before the approval

    # ---- the school admin: the school's projects, filtered by state, read-only ------------------------------
    await sign_in(page, admin.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="建设项目").click()
    await expect(page).to_have_url("/admin/projects")
    row = page.locator("[data-test=projects] .el-table__row", has_text=name)
    await expect(row.locator("[data-test=project-state]")).to_have_text("学院推荐中")
    await expect(row).to_contain_text(f"负责人{tag}")
    await choose(page, page.locator("[data-test=project-state-filter]"), "建设中")
    await expect(row).to_have_count(0)
    await choose(page, page.locator("[data-test=project-state-filter]"), "学院推荐中")
    await expect(row).to_have_count(1)
    await expect(page.locator("[data-test=to-reviews]")).to_be_visible()
    await row.locator("[data-test=open-project]").click()
    await expect(page).to_have_url(f"/admin/projects/{project['id']}")
    await expect(page.locator("[data-test=project-form]")).to_contain_text("副教授")
    await expect(page.locator("[data-test=history]")).to_contain_text("提交申报")
    await expect(page.locator("[data-test=leader-actions]")).to_have_count(0)

    # ---- the college admin: the college's projects ----------------------------------------------------------
    await sign_in(page, secretary.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="建设项目").click()
    await expect(page).to_have_url("/college/projects")
    row = page.locator("[data-test=projects] .el-table__row", has_text=name)
    await expect(row.locator("[data-test=project-state]")).to_have_text("学院推荐中")
    await row.locator("[data-test=open-project]").click()
    await expect(page).to_have_url(f"/college/projects/{project['id']}")
    await expect(page.locator("[data-test=project-form]")).to_contain_text("本科二年级")


def open_panel(admin: Api, kind: str, purpose: str, project_id: str, expert_users: list[dict]) -> tuple[dict, dict]:
    """The school puts the project's review item before an expert panel: the round and the item."""
    item = review_item(admin, kind, project_id)
    return panel(admin, purpose, expert_users, [item["id"]]), item


def conclude_panel(admin: Api, round_: dict, item: dict, experts: list[Api]) -> None:
    """The panel scores the item and its leader concludes; the school approves."""
    score_all(round_, experts, item["id"], [0.9, 0.8, 0.85])
    experts[0].post(f"/reviews/rounds/{round_['id']}/items/{item['id']}/conclusion",
                    {"conclusion": "pass", "comment": "同意"})
    admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve", "reason": "同意"})


def through_panel(admin: Api, kind: str, purpose: str, project_id: str, expert_users: list[dict],
                  experts: list[Api]) -> None:
    """The school's expert panel scores the project's review item and its leader concludes; the school approves."""
    round_, item = open_panel(admin, kind, purpose, project_id, expert_users)
    conclude_panel(admin, round_, item, experts)


async def test_the_leader_spends_and_asks_for_the_checks_and_the_school_revokes_the_title(
    page: Page, api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = school.admin
    college = admin.post(f"/schools/{school.id}/colleges", {"name": f"建设学院{tag}"})
    leader_user, leader = create_account(admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                                         name=f"负责人{tag}")
    admin.request("PUT", f"/users/{leader_user['id']}/college", json={"college_id": college["id"]})
    _, secretary = create_account(admin, api, role="college_admin", school_id=school.id,
                                  college_id=college["id"], number=f"X{tag}", name=f"教学秘书{tag}")
    expert_users, experts = [], []
    for i, world in enumerate((school, school, other_school)):
        user, expert = create_account(world.admin, api, role="teacher", school_id=world.id, number=f"E{tag}{i}",
                                      name=f"专家{i}{tag}")
        expert_users.append(user)
        experts.append(expert)
    name = f"操作系统{tag}"
    built = course(leader, name, class_hours=32)
    project = leader.post("/projects", application_form(built["id"], tag))
    decide(secretary, "project_recommendation", project["id"], reason="择优推荐")
    project_state(leader, project["id"], "panel")
    through_panel(admin, "project_application", "application", project["id"], expert_users, experts)
    project = project_state(leader, project["id"], "building")

    # ---- the leader's page of a project being built --------------------------------------------------------
    await sign_in(page, leader_user["username"], PASSWORD)
    await page.goto(f"/teacher/projects/{project['id']}")
    await expect(page.locator(".page-title [data-test=project-state]")).to_have_text("建设中")
    await expect(page.locator("[data-test=scores]")).to_contain_text(f"{project['application_score']:.1f}")
    await expect(page.locator("[data-test=deadlines]")).not_to_contain_text("—")  # both deadlines set
    tranches = page.locator("[data-test=tranches] .el-table__row")
    await expect(tranches).to_have_count(4)
    await expect(tranches.nth(0)).to_contain_text("已拨付")
    await expect(tranches.nth(1)).to_contain_text("未拨付")
    await expect(page.locator("[data-test=history]")).to_contain_text("学院推荐")
    await expect(page.locator("[data-test=history]")).to_contain_text("择优推荐")
    await expect(page.locator("[data-test=history]")).to_contain_text("专家均分")

    # spending over the research and meetings cap (20% of 30,000) is refused with the server's reason
    await page.locator("[data-test=record-spending]").click()
    dialog = page.locator(".el-dialog", has_text="登记支出")
    await choose(page, dialog.locator("[data-test=spending-category-select]"), "调研及会议交流")
    await dialog.locator("input[name=amount]").fill("7000")
    await dialog.locator("input[name=note]").fill("调研")
    await dialog.locator("[data-test=save-spending]").click()
    await expect(page.locator(".el-message--error")).to_be_visible()
    await dialog.locator("input[name=amount]").fill("2000")
    await dialog.locator("[data-test=save-spending]").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("[data-test=spendings] .el-table__row")).to_contain_text("2,000")
    research = page.locator("[data-test=spending-category]", has_text="调研及会议交流")
    await expect(research).to_contain_text("上限 6,000 元")
    await expect(research.locator(".el-progress")).to_have_attribute("aria-valuenow", "33")
    assert leader.get(f"/projects/{project['id']}")["spent"] == 2000

    await page.locator("[data-test=ask-prelaunch]").click()
    await expect(page.locator(".page-title [data-test=project-state]")).to_have_text("上线审核中")
    await expect(page.locator("[data-test=ask-prelaunch]")).to_have_count(0)
    decide(admin, "project_prelaunch", project["id"], "reject", "字幕不全，限期整改")
    project_state(leader, project["id"], "rectifying")
    await page.reload()
    await expect(page.locator(".page-title [data-test=project-state]")).to_have_text("限期整改")
    await expect(page.locator("[data-test=deadlines]")).to_contain_text("整改期限")
    await expect(page.locator("[data-test=deadlines]")).to_contain_text("上线审核未通过 1 次")
    await expect(page.locator("[data-test=history]")).to_contain_text("字幕不全，限期整改")

    # ---- passed, run twice, accepted: the title, then taken away by the school --------------------------------
    leader.post(f"/projects/{project['id']}/prelaunch-check")
    decide(admin, "project_prelaunch", project["id"])
    project_state(leader, project["id"], "online")
    approved_run(leader, admin, built["id"], CURRENT_TERM)
    approved_run(leader, admin, built["id"], NEXT_TERM)
    wait_until(lambda: leader.get(f"/projects/{project['id']}")["runs_since_check"] == 2)
    await page.reload()
    await page.locator("[data-test=ask-acceptance]").click()
    await expect(page.locator(".page-title [data-test=project-state]")).to_have_text("结项验收中")
    round_, item = open_panel(admin, "project_acceptance", "acceptance", project["id"], expert_users)

    # an expert scores the acceptance beside the course's measured facts, grouped as annex 2 groups them
    await sign_in(page, expert_users[1]["username"], PASSWORD)
    await page.get_by_role("menuitem", name="评审任务").click()
    await expect(page).to_have_url("/teacher/review-tasks")
    task = page.locator("[data-test=review-tasks] .el-table__row", has_text=round_["title"])
    await task.locator("[data-test=open-round]").click()
    facts = page.locator("[data-test=round-facts]")
    for group in ("课程规范", "教学内容", "课程上线", "课程使用", "课程效果"):
        await expect(facts).to_contain_text(group)
    await expect(facts).to_contain_text("分辨率")
    await expect(facts).to_contain_text("字幕")
    await expect(facts.locator("[data-test=facts-norm-resolution]")).to_contain_text("720p")
    await expect(facts.locator("[data-test=facts-norm-subtitles]")).to_contain_text(re.compile("达标|未测量"))
    await expect(facts.locator("[data-test=facts-material-videos]")).to_contain_text("视频")
    await expect(facts.locator("[data-test=facts-runs]")).to_contain_text(CURRENT_TERM["code"])
    await expect(facts.locator("[data-test=facts-runs]")).to_contain_text(NEXT_TERM["code"])
    await expect(facts.locator("[data-test=facts-evaluation]")).to_contain_text("暂无评教")  # nobody rated
    await expect(facts).not_to_contain_text("{")  # no raw JSON

    conclude_panel(admin, round_, item, experts)
    project_state(leader, project["id"], "accepted")

    await sign_in(page, admin.get("/me")["username"], PASSWORD)
    await page.goto(f"/admin/projects/{project['id']}")
    await expect(page.locator("[data-test=course-title]")).to_have_text("校级在线开放课程")
    await page.locator("[data-test=revoke-title]").click()
    dialog = page.locator(".el-dialog", has_text="撤销理由")
    await dialog.locator("[data-test=confirm-revoke]").click()
    await expect(page.locator(".el-message--error")).to_be_visible()  # a reason is required
    await dialog.locator("textarea[name=revoke_reason]").fill("连续两学期未正常开课")
    await dialog.locator("[data-test=confirm-revoke]").click()
    await expect(page.locator("[data-test=course-title]")).to_have_count(0)
    assert leader.get(f"/courses/{built['id']}")["title_revoked_reason"] == "连续两学期未正常开课"
