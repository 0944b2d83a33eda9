"""The teaching pages of a run in the console: a roster import with a bad row, a chapter released to the class, a
question and a quiz made from it, the grading scheme (a wrong sum refused), and the gradebook with its export."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import NEXT_TERM, PASSWORD, SchoolWorld
from tests.e2e.learning_world import LearningWorld, make_learning_world
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-teaching-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    return make_learning_world(api, school, clips, students=1)


async def test_a_leader_runs_the_classes_bank_quizzes_scheme_and_gradebook_of_a_run(
    page: Page, world: LearningWorld
) -> None:
    leader, student = world.leader, world.students[0]
    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="班级与成绩").click()
    await page.locator("[data-test=teaching-runs]").get_by_role("link").first.click()

    # Classes: a roster import with a bad row, then chapter 2 released to the class.
    class_name = next(c["name"] for c in leader.get(f"/runs/{world.run_id}/classes")["items"]
                      if c["id"] == world.class_id)
    await page.locator("[data-test=classes] .el-table__row", has_text=class_name).click()
    tag = uuid.uuid4().hex[:5]
    csv = f"学号,姓名,手机号\nR{tag}1,新同学,13912340001\nR{tag}2,坏同学,1\n".encode()
    await page.locator("[data-test=roster-import]").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": csv}])
    report = page.locator("[data-test=roster-report]")
    await expect(report).to_be_visible()
    await expect(page.locator("[data-test=roster-errors] .el-table__row")).to_have_count(1)
    roster = leader.get(f"/classes/{world.class_id}/students")["students"]
    imported = [s["number"] for s in roster if s["number"].startswith(f"R{tag}")]
    assert imported in ([], [f"R{tag}1"])  # a bad file imports nothing, or the good rows: what the page said
    releases = page.locator("[data-test=releases] .el-table__row")
    await releases.nth(1).locator("[data-test=release]").click()
    await expect(releases.nth(1)).to_contain_text("已开放")
    wait_until(lambda: all(n["released"] for n in student.get(f"/learning/runs/{world.run_id}/plan")["nodes"]
                           if n["kind"] == "chapter"))

    # The bank: a single-choice question; a unit test made from it.
    await page.get_by_role("tab", name="题库").click()
    form = page.locator("[data-test=question-form]")
    await form.locator("textarea[name=stem]").fill("二进制 10 等于十进制几？")
    await form.locator("textarea[name=options]").fill("1\n2\n3")
    await form.locator("input[name=correct]").fill("2")
    await form.locator("[data-test=add-question]").click()
    await expect(page.locator("[data-test=questions]")).to_contain_text("二进制 10 等于十进制几？")
    question = next(q for q in leader.get(f"/learning/runs/{world.run_id}/questions")["items"]
                    if q["stem"] == "二进制 10 等于十进制几？")
    assert question["key"]["correct"] == [1]

    await page.get_by_role("tab", name="测验与考试").click()
    quiz_form = page.locator("[data-test=quiz-form]")
    await quiz_form.locator("input[name=quiz_title]").fill("进制小测")
    await quiz_form.locator("[data-test=quiz-chapter]").click()
    await page.get_by_role("option", name="第一章 绪论").click()
    await quiz_form.locator("[data-test=bank-question]", has_text="二进制").locator("input").fill("10")
    await quiz_form.locator("[data-test=create-quiz]").click()
    await expect(page.locator("[data-test=quizzes]")).to_contain_text("进制小测")
    quiz = next(q for q in leader.get(f"/learning/runs/{world.run_id}/quizzes")["items"] if q["title"] == "进制小测")
    assert (quiz["kind"], quiz["total_points"], quiz["chapter_id"]) == ("unit_test", 10, world.chapters[0])

    # The gradebook: the class's students, and its export.
    await page.get_by_role("tab", name="成绩册").click()
    await page.locator("[data-test=gradebook-class]").click()
    await page.get_by_role("option", name=class_name).click()
    await expect(page.locator("[data-test=gradebook] .el-table__row")).to_have_count(1)
    await expect(page.locator("[data-test=gradebook]")).to_contain_text(world.numbers[0])
    async with page.expect_download() as downloaded:
        await page.locator("[data-test=gradebook-export]").click()
    assert (await downloaded.value).suggested_filename.endswith(".xlsx")

    # The grading scheme of the next run (a draft: an approved run's scheme is frozen): a wrong sum is refused
    # with the server's reason, 100 is saved.
    draft = leader.post(f"/courses/{world.course_id}/runs", {"term_code": NEXT_TERM["code"]})
    await page.goto(f"/teacher/runs/{draft['id']}/teaching")
    await page.get_by_role("tab", name="成绩构成").click()
    scheme = page.locator("[data-test=scheme]")
    await expect(scheme).to_contain_text("合计 100%")  # the default scheme, loaded
    for category, weight in (("video", 50), ("quizzes", 0), ("assignments", 0), ("face_to_face", 0), ("forum", 0),
                             ("final_exam", 40)):
        await scheme.locator(f"[data-test=weight-{category}] input").fill(str(weight))
    await scheme.locator("[data-test=save-scheme]").click()
    await expect(scheme.get_by_role("alert")).to_be_visible()
    await scheme.locator("[data-test=weight-final_exam] input").fill("50")
    await scheme.locator("[data-test=save-scheme]").click()
    await expect(page.locator(".el-message--success")).to_contain_text("已保存")
    await expect(scheme.get_by_role("alert")).to_have_count(0)
    weights = leader.get(f"/learning/runs/{draft['id']}/grading-scheme")["weights"]
    assert (weights["video"], weights["final_exam"]) == (50, 50)
