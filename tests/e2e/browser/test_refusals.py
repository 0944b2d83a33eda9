"""What the API refuses reads in the console's language: the exam refused before the course hours are done, a wrong
password, the captcha (with a fresh one on asking) and the lockout, in Chinese, and in English after the sign-in
page's language switch; a student's written peer reviews with the refusal of one more; the course leader sees their
course's acceptance facts and whether they may apply."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, new_phone
from tests.e2e.learning_world import make_learning_world
from tests.e2e.test_assignments import RUBRIC, class_world, iso, review, submit
from tests.e2e.test_policies import layer_put
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-refusal-clips")


async def test_the_exam_refused_before_the_course_hours_reads_in_chinese_with_its_numbers(
    page: Page, api: Api, center: Api, school: SchoolWorld, clips: Path
) -> None:
    world = make_learning_world(api, school, clips, students=1)
    leader, run = world.leader, world.run_id
    question = leader.post(f"/learning/runs/{run}/questions", {
        "kind": "true_false", "stem": "天是蓝的", "chapter_id": world.chapters[0], "key": {"truth": True}})
    now = datetime.now(UTC)
    exam = leader.post(f"/learning/runs/{run}/quizzes", {
        "kind": "exam", "title": "期末考试", "opens_at": (now - timedelta(minutes=1)).isoformat(),
        "closes_at": (now + timedelta(hours=1)).isoformat(), "duration_minutes": 30,
        "items": [{"question_id": question["id"], "points": 100}]})
    await sign_in(page, world.students[0].get("/me")["username"], PASSWORD)
    await page.goto(f"/student/runs/{run}/quizzes/{exam['id']}")
    await page.locator("[data-test=start]").click()
    refusal = page.locator("[data-test=refusal]")
    # "0% of the course hours done (0.0 of 0.2 minutes) ...": the catalogue's words, the server's numbers
    await expect(refusal).to_contain_text("已完成课程学时的 0%")
    await expect(refusal).to_contain_text("完成全部学时后才能参加期末考试")
    await expect(refusal).to_contain_text("第一章 绪论 视频1")  # what remains, as the server named it
    await expect(refusal).not_to_contain_text("course hours")
    assert world.students[0].get(f"/learning/quizzes/{exam['id']}")["my_attempts"] == []


async def test_sign_in_refusals_read_in_chinese_then_in_english_after_the_switch(
    page: Page, school: SchoolWorld
) -> None:
    created = school.admin.post("/users", {"role": "student", "name": "钱同学", "number": f"S{uuid.uuid4().hex[:6]}",
                                           "phone": new_phone(), "school_id": school.id})
    username = created["user"]["username"]
    alert = page.locator(".el-alert--error")
    await page.goto("/login")
    await page.locator("input[name=login]").fill(username)

    async def try_password(captcha: str = "") -> None:
        await page.locator("input[name=password]").fill("Wrong-pass-1")
        if captcha:
            await page.locator("input[name=captcha]").fill(captcha)
        async with page.expect_response("**/api/v1/auth/login"):
            await page.locator("[data-test=sign-in]").click()

    async def fresh_captcha() -> str:
        """A new captcha from the page's button; the test mesh's captchas carry their answer."""
        shown = await page.locator(".captcha img").get_attribute("src")
        async with page.expect_response("**/api/v1/auth/captcha") as answered:
            await page.locator("[data-test=fresh-captcha]").click()
        answer = (await (await answered.value).json())["answer"]
        await expect(page.locator(".captcha img")).not_to_have_attribute("src", shown or "")
        return answer

    for _ in range(3):  # three wrong passwords in a row: the answer names no reason (nor whether the account exists)
        await try_password()
        await expect(alert).to_contain_text("用户名、手机号、邮箱或密码不正确")
    await try_password()
    await expect(alert).to_contain_text("请输入图片中的字符后再登录")
    await expect(page.locator("input[name=captcha]")).to_be_visible()
    # Two more wrong passwords, each with a fresh captcha solved: the fifth failure locks the account.
    await try_password(await fresh_captcha())
    await expect(alert).to_contain_text("用户名、手机号、邮箱或密码不正确")
    await try_password(await fresh_captcha())
    await try_password(await fresh_captcha())
    await expect(alert).to_contain_text("登录失败次数过多，账号已锁定至")
    await expect(alert).not_to_contain_text("locked")

    # The sign-in page's language switch: the page and the same refusal read in English.
    await page.locator("[data-test=language]").click()
    await expect(alert).to_contain_text("Too many failed sign-ins: the account is locked until")
    await expect(page.locator("[data-test=sign-in]")).not_to_contain_text("登录")
    await expect(page.locator("[data-test=language]")).to_have_text("中文")
    await page.locator("[data-test=language]").click()
    await expect(alert).to_contain_text("账号已锁定至")


async def test_the_leader_sees_the_acceptance_facts_of_their_course_and_whether_they_may_apply(
    page: Page, api: Api, school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    leader_user, leader = create_account(school.admin, api, role="teacher", school_id=school.id,
                                         number=f"T{tag}", name="孙老师")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"验收课{tag}", "category": "专业课"})
    await sign_in(page, leader_user["username"], PASSWORD)
    await page.goto("/teacher/projects")
    facts = page.locator("[data-test=leader-facts]")
    await expect(facts).to_contain_text("我负责课程的验收数据")
    # Their one course is shown at once: no units yet, so not everything is online.
    await expect(facts.locator("[data-test=facts-online]")).to_contain_text("0")
    await expect(facts.locator("[data-test=facts-runs]")).to_be_visible()
    await page.locator("[data-test=apply-project]").click()
    await expect(page.locator("[data-test=leader-standing]")).to_contain_text("你可以申报新的课程建设项目")

    # The school stops the course after its evaluation: the application page says why they may not apply now.
    school.admin.post(f"/courses/{course['id']}/stop", {"reason": "评教结果不合格"})
    await page.reload()
    standing = page.locator("[data-test=leader-standing]")
    await expect(standing).to_contain_text("你暂不能申报新的课程建设项目")
    await expect(standing).to_contain_text(f"验收课{tag}")


async def test_a_student_sees_the_reviews_they_wrote_and_why_no_more_is_handed_out(
    page: Page, api: Api, center: Api, school: SchoolWorld
) -> None:
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {
        "peer_reviews_each": 1, "peer_reviews_needed": 1, "peer_relaxed_reviews_needed": 1})
    leader, run_id, _, (s0, s1), _ = class_world(api, school, 2)
    deadline = datetime.now(UTC) + timedelta(seconds=6)
    peer = leader.post(f"/learning/runs/{run_id}/assignments", {
        "title": "读书笔记", "brief": "选一本书", "grading_mode": "peer", "rubric": RUBRIC, "deadline": iso(deadline)})
    submit(s0, peer["id"], "《围城》读后")
    submit(s1, peer["id"], "《边城》读后")
    wait_until(lambda: datetime.now(UTC) > deadline + timedelta(seconds=0.5), timeout=20)
    review(s0, peer["id"], [5, 3], "书评结构清楚")

    await sign_in(page, s0.get("/me")["username"], PASSWORD)
    await page.goto(f"/student/runs/{run_id}/assignments/{peer['id']}")
    written = page.locator("[data-test=written-review]")
    await expect(written).to_have_count(1)
    await expect(written).to_contain_text("《边城》读后")
    await expect(written).to_contain_text("已完成")
    await expect(written).to_contain_text("论证 5/6")
    await expect(written).to_contain_text("书评结构清楚")
    # The one review owed is done: the next is refused, in the console's words with the server's number.
    await expect(page.get_by_text("你已完成应做的 1 份互评")).to_be_visible()
