"""Assignments and notices in the console: the leader sets an assignment and posts a notice on the run's teaching
page; a student reads the notice (unread mark gone), answers a peer-graded assignment with a file, reviews a peer's
work after the deadline (the author not named); the leader settles a grade with the reason the server asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld
from tests.e2e.test_assignments import PDF, RUBRIC, class_world, iso, submit
from tests.e2e.test_policies import layer_put
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_an_assignment_set_answered_reviewed_and_graded_in_the_console(
    page: Page, api: Api, center: Api, school: SchoolWorld
) -> None:
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {
        "peer_reviews_each": 1, "peer_reviews_needed": 1, "peer_relaxed_reviews_needed": 1})
    leader, run_id, _, (s0, s1, s2), ids = class_world(api, school, 3)

    # The leader sets a team-graded assignment through the form.
    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{run_id}/teaching")
    await page.get_by_role("tab", name="作业").click()
    form = page.locator("[data-test=assignment-form]")
    await form.locator("input[name=assignment_title]").fill("课程小论文")
    await form.locator("textarea[name=assignment_brief]").fill("三千字以内")
    await form.get_by_text("教师批改").click()
    await form.locator("input[name=criterion_0]").fill("内容")
    due = (datetime.now(SHANGHAI) + timedelta(days=7)).replace(microsecond=0)  # the browser's time zone
    deadline_input = form.locator("[data-test=assignment-deadline] input")
    await deadline_input.fill(due.strftime("%Y-%m-%d %H:%M:%S"))  # as a person types it, local time
    await deadline_input.press("Enter")
    await form.locator("[data-test=create-assignment]").click()
    await expect(page.locator("[data-test=assignments]")).to_contain_text("课程小论文")
    made = next(a for a in leader.get(f"/learning/runs/{run_id}/assignments")["items"] if a["title"] == "课程小论文")
    assert (made["grading_mode"], made["rubric"][0]["title"]) == ("team", "内容")
    assert abs(datetime.fromisoformat(made["deadline"].replace("Z", "+00:00")) - due.astimezone(UTC)) < \
        timedelta(seconds=2)

    # A notice to the whole run.
    await page.get_by_role("tab", name="课程通知").click()
    notice_form = page.locator("[data-test=notice-form]")
    await notice_form.locator("input[name=notice_title]").fill("作业已布置")
    await notice_form.locator("textarea[name=notice_body]").fill("请按时提交读书笔记")
    await notice_form.locator("[data-test=post-notice]").click()
    await expect(page.locator("[data-test=notices]")).to_contain_text("作业已布置")

    # A peer-graded one, due shortly: a student answers it in the console with a PDF.
    deadline = datetime.now(UTC) + timedelta(seconds=40)
    peer = leader.post(f"/learning/runs/{run_id}/assignments", {
        "title": "读书笔记", "brief": "选一本书", "grading_mode": "peer", "rubric": RUBRIC, "deadline": iso(deadline)})
    submit(s1, peer["id"], "《乡土中国》读后")
    submit(s2, peer["id"], "《边城》读后")
    await sign_in(page, s0.get("/me")["username"], PASSWORD)
    await page.goto(f"/student/runs/{run_id}")
    await expect(page.locator("[data-test=unread-notices]")).to_contain_text("1")
    await page.locator("[data-test=notice]", has_text="作业已布置").click()
    await expect(page.locator("[data-test=notices]")).to_contain_text("请按时提交读书笔记")
    await expect(page.locator("[data-test=unread-notices]")).to_be_hidden()
    assert s0.get(f"/learning/runs/{run_id}/notices")["unread"] == 0
    await page.locator("[data-test=assignment]", has_text="读书笔记").get_by_role("link").click()
    await page.locator("textarea[name=answer]").fill("《围城》读后")
    await page.locator("[data-test=answer-files]").set_input_files(
        files=[{"name": "notes.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await page.locator("[data-test=submit-answer]").click()
    await expect(page.locator("[data-test=my-state]")).to_contain_text("已提交")
    mine = s0.get(f"/learning/assignments/{peer['id']}/submission")
    assert (mine["text"], [f["filename"] for f in mine["attachments"]]) == ("《围城》读后", ["notes.pdf"])

    # After the deadline the page hands out a review: a peer's text, no name; scored on the rubric.
    wait_until(lambda: datetime.now(UTC) > deadline + timedelta(seconds=0.5), timeout=40)
    await page.reload()
    task = page.locator("[data-test=review-task]")
    await expect(task.locator("[data-test=review-text]")).to_contain_text("读后")
    assert "同学1" not in await task.inner_text() and "同学2" not in await task.inner_text()
    await task.locator("[data-test=score-0] input").fill("5")
    await task.locator("[data-test=score-1] input").fill("3")
    await task.locator("textarea[name=review_comment]").fill("书评结构清楚")
    await task.locator("[data-test=send-review]").click()
    await expect(page.locator("[data-test=reviews-owed]")).to_contain_text("已完成 1 / 1")
    reviewed = [s for s in leader.get(f"/learning/assignments/{peer['id']}/submissions")["items"]
                if s["reviews_finished"] == 1]
    assert [r["reviews"][0]["total"] for r in reviewed] == [8]

    # The leader overrides that grade: the server wants a reason, then keeps it.
    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{run_id}/teaching")
    await page.get_by_role("tab", name="作业").click()
    await page.locator("[data-test=assignments] .el-table__row", has_text="读书笔记").click()
    row = page.locator("[data-test=submissions] .el-table__row", has_text=reviewed[0]["text"])
    await row.locator("[data-test=grade]").click()
    dialog = page.get_by_role("dialog")
    await dialog.locator("[data-test=grade-score-0] input").fill("6")
    await dialog.locator("[data-test=grade-score-1] input").fill("4")
    await dialog.locator("[data-test=send-grade]").click()
    await expect(dialog.get_by_role("alert")).to_be_visible()
    await dialog.locator("textarea[name=grade_reason]").fill("复核后给满分")
    await dialog.locator("[data-test=send-grade]").click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_contain_text("10")
    settled = next(s for s in leader.get(f"/learning/assignments/{peer['id']}/submissions")["items"]
                   if s["id"] == reviewed[0]["id"])
    assert (settled["points"], settled["override_reason"], settled["student_id"] in ids) == (10, "复核后给满分", True)
