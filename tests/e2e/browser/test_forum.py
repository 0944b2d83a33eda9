"""The forum and the inbox in the console: the leader sets a topic on the run's teaching page; a student asks a
question from the course page; the leader finds it among the unanswered, answers and endorses it; the student's
header shows an unread message, the inbox leads to the answered thread. The province's center keeps the blocked
words, and a student's reply with one is refused on the page with the server's reason. The at-risk tab and the
school's evaluation and workload pages open with their data."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import CURRENT_TERM, PASSWORD, SchoolWorld
from tests.e2e.test_assignments import class_world

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_question_asked_answered_and_found_through_the_inbox(
    page: Page, api: Api, center: Api, school: SchoolWorld
) -> None:
    leader, run_id, _, (asker, other), _ = class_world(api, school, 2)

    # The leader sets a topic on the teaching page's forum tab.
    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{run_id}/teaching")
    await page.get_by_role("tab", name="课程论坛").click()
    form = page.locator("[data-test=topic-form]")
    await form.locator("input[name=topic_title]").fill("第一章答疑")
    await form.locator("[data-test=add-topic]").click()
    await expect(page.locator("[data-test=topics]")).to_contain_text("第一章答疑")
    await expect(page.locator("[data-test=forum-stats]")).to_contain_text("2 个工作日")

    # A student asks from the course page.
    await sign_in(page, asker.get("/me")["username"], PASSWORD)
    await page.goto(f"/student/runs/{run_id}")
    await page.locator("[data-test=open-forum]").click()
    await page.locator("[data-test=new-thread]").click()
    compose = page.locator("[data-test=thread-form]")
    await compose.locator("input[name=thread_title]").fill("惯性和质量有什么关系")
    await compose.locator("textarea[name=thread_body]").fill("书上说质量是惯性的量度，怎么理解？")
    await compose.locator("[data-test=post-thread]").click()
    await expect(page.locator("[data-test=thread]")).to_contain_text("惯性和质量有什么关系")
    await expect(page.locator("[data-test=thread]")).to_contain_text("应在")  # its answer deadline
    question = asker.get(f"/learning/runs/{run_id}/forum/threads")["threads"][0]

    # The leader finds it among the unanswered questions, answers and endorses the answer.
    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/runs/{run_id}/forum")
    await page.locator("[data-test=forum-unanswered]").click()
    await page.locator("[data-test=threads]").get_by_text("惯性和质量有什么关系").click()
    await page.locator("textarea[name=reply]").fill("质量越大，改变运动状态越难。")
    await page.locator("[data-test=send-reply]").click()
    await expect(page.locator("[data-test=post]")).to_contain_text("质量越大")
    await page.locator("[data-test=post]").locator("[data-test=endorse]").click()
    await expect(page.locator("[data-test=post]")).to_contain_text("老师认可的答案")
    assert leader.get(f"/learning/runs/{run_id}/forum/threads?unanswered=true")["threads"] == []

    # The asker sees an unread message in the header; the inbox leads to the answered thread.
    await sign_in(page, asker.get("/me")["username"], PASSWORD)
    bell = page.locator("[data-test=inbox-bell]")
    await expect(page.locator(".bell sup")).to_be_visible()
    await bell.click()
    await page.locator("[data-test=inbox]").get_by_text("你的问题有了老师的回答").click()
    await page.wait_for_url(f"**/runs/{run_id}/forum/{question['id']}")
    await expect(page.locator("[data-test=post]")).to_contain_text("老师认可的答案")

    # The center blocks a word; a reply with it is refused on the page with the reason.
    word = f"广告{uuid.uuid4().hex[:4]}"
    await sign_in(page, center.get("/me")["username"], PASSWORD)
    await page.goto("/center/blocked-words")
    await page.locator("textarea[name=blocked_words]").fill(word)
    await page.locator("[data-test=add-words]").click()
    await expect(page.locator("[data-test=blocked-words]")).to_contain_text(word)
    try:
        await sign_in(page, other.get("/me")["username"], PASSWORD)
        await page.goto(f"/runs/{run_id}/forum/{question['id']}")
        await page.locator("textarea[name=reply]").fill(f"加我看{word}")
        await page.locator("[data-test=send-reply]").click()
        await expect(page.get_by_role("alert")).to_contain_text(word)
        assert other.get(f"/learning/forum/threads/{question['id']}")["thread"]["replies"] == 1
    finally:
        center.request("PATCH", "/learning/provinces/33/blocked-words", json={"remove": [word]})

    # The team's at-risk tab and the school's evaluation page open with their data.
    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{run_id}/teaching")
    await page.get_by_role("tab", name="学习预警").click()
    await expect(page.locator("[data-test=at-risk]")).to_be_visible()
    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await page.goto("/admin/evaluation")
    await expect(page.locator("[data-test=evaluation-courses]")).to_be_visible()
    # and the term's teaching workload, the leader in charge of this run (its first: 4 × the class hours)
    await page.goto("/admin/workload")
    await page.locator("[data-test=workload-term]").click()
    await page.get_by_role("option", name=CURRENT_TERM["name"]).click()
    await expect(page.locator("[data-test=workload-teachers]")).to_contain_text(leader.get("/me")["name"])
