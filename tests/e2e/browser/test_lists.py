"""Lists read as the API pages them, opened by keyboard, and the school admin's own controls: a long forum thread
shows every reply after "more replies", a thread opens from the keyboard; the school admin withdraws a nomination
and resubmits a rejected one, and takes a run down with a reason (refused without one) — which a teacher may not."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Browser, Page, expect

from devmesh.client import Api, ApiError
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, decide
from tests.e2e.test_assignments import class_world
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPLIES_PAGE = 20  # ForumPage.vue asks for this many replies a page


async def test_a_thread_opened_by_keyboard_shows_every_reply_after_more(
    page: Page, api: Api, center: Api, school: SchoolWorld  # center: the province's term calendar
) -> None:
    leader, run_id, _, (student,), _ = class_world(api, school, 1)
    topic = leader.post(f"/learning/runs/{run_id}/forum/topics", {"title": "课后讨论"})
    title = f"长讨论{uuid.uuid4().hex[:4]}"
    thread = student.post(f"/learning/forum/topics/{topic['id']}/threads",
                          {"kind": "discussion", "title": title, "body": "大家说说各自的理解。"})
    replies = REPLIES_PAGE + 5
    for n in range(1, replies + 1):
        (leader if n % 2 else student).post(f"/learning/forum/threads/{thread['id']}/replies",
                                            {"body": f"第{n}条回复：我的看法如下。"})

    await sign_in(page, student.get("/me")["username"], PASSWORD)
    await page.goto(f"/runs/{run_id}/forum")
    link = page.locator("[data-test=threads] [data-test=open-thread]", has_text=title)
    await expect(link).to_be_visible()
    # From the search box, Tab reaches the thread's link; Enter opens it.
    await page.locator("input[name=forum_search]").focus()
    for _ in range(20):
        await page.keyboard.press("Tab")
        if await link.evaluate("(el) => el === document.activeElement"):
            break
    else:
        pytest.fail("the thread's link is not reachable with Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/runs/{run_id}/forum/{thread['id']}")

    posts = page.locator("[data-test=post]")
    await expect(posts).to_have_count(REPLIES_PAGE)
    await expect(page.get_by_text(f"第{replies}条回复")).to_have_count(0)
    await page.locator("[data-test=more-replies]").click()
    await expect(posts).to_have_count(replies)
    await expect(posts.last).to_contain_text(f"第{replies}条回复")
    await expect(page.locator("[data-test=more-replies]")).to_have_count(0)

    # A reply of one's own, after them all, shows at the end of the whole thread.
    await page.locator("textarea[name=reply]").fill("我补充一点。")
    await page.locator("[data-test=send-reply]").click()
    await expect(posts).to_have_count(replies + 1)
    await expect(posts.last).to_contain_text("我补充一点")


async def test_a_school_admin_withdraws_and_resubmits_nominations_and_takes_a_run_down_which_a_teacher_may_not(
    page: Page, browser: Browser, console_url: str, api: Api, center: Api, school: SchoolWorld
) -> None:
    from tests.e2e.test_sharing import list_dates, mooc_run, new_term

    tag = uuid.uuid4().hex[:4]
    term = new_term(center)
    title = f"{term} 清单{tag}"
    sharing_list = center.post("/sharing/lists", {"term_code": term, "title": title, **list_dates(term)})
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                               name="冯老师")
    course_name = f"数字电路{tag}"
    mooc = mooc_run(center, school, leader, "冯老师", course_name, term)
    run_id = mooc["run"]["id"]
    entries_path = f"/sharing/lists/{sharing_list['id']}/entries"
    school.admin.post(entries_path, {"run_id": run_id})

    # Withdrawing a nomination.
    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="课程与共享").click()
    await page.get_by_role("tab", name="共享清单申报").click()
    await page.locator("[data-test=nominate-list]").click()
    await page.get_by_role("option", name=title, exact=False).click()
    nominations = page.locator("[data-test=nominations]")
    row = nominations.locator(".el-table__row", has_text=course_name)
    await expect(row).to_contain_text("草稿")
    await row.locator("[data-test=withdraw-entry]").click()
    await page.locator(".el-message-box").get_by_role("button", name="撤回").click()
    await expect(row).to_have_count(0)
    assert school.admin.get(entries_path)["items"] == []

    # A rejected nomination resubmitted from the page.
    entry = school.admin.post(entries_path, {"run_id": run_id})
    school.admin.post(f"/sharing/lists/{sharing_list['id']}/submit")
    decide(center, "sharing_entry", entry["id"], "reject", "课程简介不完整")
    wait_until(lambda: school.admin.get(f"/sharing/entries/{entry['id']}")["state"] == "rejected")
    await page.get_by_role("tab", name="本校课程").click()
    await page.get_by_role("tab", name="共享清单申报").click()  # opening the tab again reads the entries again
    await expect(row).to_contain_text("课程简介不完整")
    await row.locator("[data-test=resubmit-entry]").click()
    await expect(row).to_contain_text("待审核")
    assert school.admin.get(f"/sharing/entries/{entry['id']}")["state"] == "submitted"

    # The teacher may not take the run down: the API refuses, and the school's page is not theirs.
    with pytest.raises(ApiError) as refused:
        leader.post(f"/runs/{run_id}/take-down", {"reason": "我想下线"})
    assert refused.value.status == 403
    context = await browser.new_context(base_url=console_url, locale="zh-CN")
    try:
        teacher_page = await context.new_page()
        await sign_in(teacher_page, leader.get("/me")["username"], PASSWORD)
        await teacher_page.goto("/admin/courses")
        await expect(teacher_page.get_by_text("当前角色无权访问该页面")).to_be_visible()
        await expect(teacher_page.locator("[data-test=take-down]")).to_have_count(0)
    finally:
        await context.close()
    assert leader.get(f"/runs/{run_id}")["state"] == "published"

    # The school admin takes it down from the school's courses: a reason is needed, then it shows as taken down.
    await page.get_by_role("tab", name="本校课程").click()
    course_row = page.locator(".el-table__row", has_text=course_name).first
    await course_row.locator("[data-test=show-runs]").click()
    runs = page.locator("[data-test=course-runs]")
    run_row = runs.locator(".el-table__row", has_text=term)
    await run_row.locator("[data-test=take-down]").click()
    form = page.locator("[data-test=take-down-form]")
    await form.locator("[data-test=confirm-take-down]").click()
    await expect(form.get_by_role("alert")).to_be_visible()  # the server wants a reason
    assert leader.get(f"/runs/{run_id}")["state"] == "published"
    await form.locator("textarea[name=take_down_reason]").fill("教学内容需要整改")
    await form.locator("[data-test=confirm-take-down]").click()
    await expect(form).to_be_hidden()
    await expect(run_row.locator("[data-test=run-state]")).to_have_text("已下线")
    await expect(run_row).to_contain_text("教学内容需要整改")
    await expect(run_row.locator("[data-test=take-down]")).to_have_count(0)
    run = leader.get(f"/runs/{run_id}")
    assert (run["state"], run["reason"]) == ("taken_down", "教学内容需要整改")
