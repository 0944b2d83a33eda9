"""The student in the console: my courses, the course page (a released and an unreleased chapter), watching a unit
(the video plays and the server records progress), a quiz answered and graded, the exam refused before 100% of the
course hours; and the same pages on a phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import SCREENSHOTS, sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld
from tests.e2e.learning_world import LearningWorld, make_learning_world
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-student-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    world = make_learning_world(api, school, clips, students=1)
    leader, run = world.leader, world.run_id
    bank = f"/learning/runs/{run}/questions"
    single = leader.post(bank, {"kind": "single_choice", "stem": "1+1=?", "chapter_id": world.chapters[0],
                                "options": ["1", "2", "3"], "key": {"correct": [1]}})
    truth = leader.post(bank, {"kind": "true_false", "stem": "天是蓝的", "chapter_id": world.chapters[0],
                               "key": {"truth": True}})
    leader.post(f"/learning/runs/{run}/quizzes", {
        "kind": "unit_test", "title": "第一章单元测验", "chapter_id": world.chapters[0], "attempts_allowed": 2,
        "items": [{"question_id": single["id"], "points": 5}, {"question_id": truth["id"], "points": 5}]})
    now = datetime.now(UTC)
    leader.post(f"/learning/runs/{run}/quizzes", {
        "kind": "exam", "title": "期末考试", "opens_at": (now - timedelta(minutes=1)).isoformat(),
        "closes_at": (now + timedelta(hours=1)).isoformat(), "duration_minutes": 30,
        "items": [{"question_id": single["id"], "points": 100}]})
    return world


def student_login(world: LearningWorld) -> str:
    return world.students[0].get("/me")["username"]


async def test_a_student_watches_a_unit_answers_a_quiz_and_is_refused_the_exam_before_100(
    page: Page, world: LearningWorld
) -> None:
    student = world.students[0]
    await sign_in(page, student_login(world), PASSWORD)
    await expect(page).to_have_url("/student/courses")
    card = page.locator("[data-test=my-course]")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("学习测试课")
    await card.get_by_role("link", name="进入课程").click()

    # The course page: chapter 1 with its two units, chapter 2 by title only.
    chapters = page.locator("[data-test=chapter]")
    await expect(chapters).to_have_count(2)
    await expect(chapters.nth(0).locator("[data-test=unit]")).to_have_count(2)
    await expect(chapters.nth(1)).to_contain_text("第二章 进阶")
    await expect(chapters.nth(1).locator("[data-test=not-released]")).to_be_visible()
    await expect(chapters.nth(1).locator("[data-test=unit]")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the README's picture (`make screenshots`)
    await page.screenshot(path=SCREENSHOTS / "student-course.png", full_page=True)

    # Watching: the video plays (currentTime advances) and the server credits the unit.
    await chapters.nth(0).locator("[data-test=unit]").first.get_by_role("link").click()
    video = page.locator("[data-test=video]")
    await expect(video).to_be_visible()
    await page.wait_for_function(
        "() => { const v = document.querySelector('[data-test=video]'); return v && v.currentTime > 1 }",
        timeout=30_000)
    unit = world.units[0]
    progress = wait_until(lambda: next((u for u in student.get(f"/learning/runs/{world.run_id}/progress")["units"]
                                        if u["unit_id"] == unit and u["credited_seconds"] > 0.5), None), timeout=30)
    assert progress["credited_seconds"] <= progress["duration_seconds"] + 0.01
    # To the end: the unit is complete and the page says so.
    await page.wait_for_function("() => document.querySelector('[data-test=video]').ended", timeout=30_000)
    await expect(page.get_by_text("本单元已完成")).to_be_visible()
    wait_until(lambda: next(u for u in student.get(f"/learning/runs/{world.run_id}/progress")["units"]
                            if u["unit_id"] == unit)["completed"], timeout=15)

    # The quiz: answered, submitted, graded.
    await page.get_by_role("link", name="← 返回课程").click()
    await page.locator("[data-test=quiz]", has_text="第一章单元测验").get_by_role("link").click()
    await page.locator("[data-test=start]").click()
    questions = page.locator("[data-test=question]")
    await expect(questions).to_have_count(2)
    await questions.nth(0).get_by_text("2", exact=True).click()
    await questions.nth(1).get_by_text("正确").click()
    await expect(page.locator("[data-test=autosave]")).to_contain_text("已自动保存")
    await page.locator("[data-test=submit]").click()
    await page.locator(".el-message-box").get_by_role("button", name="交卷").click()
    await expect(page.locator("[data-test=result]")).to_contain_text("得分 100.0")
    quiz_id = page.url.rsplit("/", 1)[1]
    assert student.get(f"/learning/quizzes/{quiz_id}")["my_attempts"][0]["score"] == 100

    # The exam: refused before 100% of the course hours, with the server's reason in the console's language.
    await page.get_by_role("link", name="← 返回课程").click()
    await page.locator("[data-test=quiz]", has_text="期末考试").get_by_role("link").click()
    await page.locator("[data-test=start]").click()
    await expect(page.locator("[data-test=refusal]")).to_contain_text("已完成课程学时的")
    exam_id = page.url.rsplit("/", 1)[1]
    assert student.get(f"/learning/quizzes/{exam_id}")["my_attempts"] == []


async def test_my_courses_and_the_course_page_fit_a_phone(phone: Page, world: LearningWorld) -> None:
    await sign_in(phone, student_login(world), PASSWORD)
    await expect(phone.locator("[data-test=my-course]")).to_have_count(1)
    overflow = "() => document.scrollingElement.scrollWidth <= window.innerWidth"
    assert await phone.evaluate(overflow)
    await phone.locator("[data-test=my-course]").get_by_role("link", name="进入课程").click()
    await expect(phone.locator("[data-test=chapter]")).to_have_count(2)
    assert await phone.evaluate(overflow)
