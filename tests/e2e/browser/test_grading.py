"""Grading in the console: a run's teacher grades a student's open answer and sees the result in the quiz's results,
is told that peers grade a peer-graded exam (no form), gives a student extra exam time (refused once the student has
started), edits a question of the run's bank and adds one to the course bank; a student cannot open the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld
from tests.e2e.learning_world import LearningWorld, make_learning_world, watch

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-grading-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    return make_learning_world(api, school, clips, students=1)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


async def test_a_team_teacher_grades_an_open_answer_gives_extra_time_and_edits_the_banks(
    page: Page, world: LearningWorld
) -> None:
    leader, student, student_id = world.leader, world.students[0], world.student_ids[0]
    bank = f"/learning/runs/{world.run_id}/questions"
    essay = leader.post(bank, {"kind": "open", "stem": "说说二进制的用处", "chapter_id": world.chapters[0],
                               "key": {"reference": "计算机内部表示"}})
    quiz = leader.post(f"/learning/runs/{world.run_id}/quizzes", {
        "kind": "unit_test", "title": "第一章问答", "chapter_id": world.chapters[0],
        "items": [{"question_id": essay["id"], "points": 10}]})
    attempt = student.post(f"/learning/quizzes/{quiz['id']}/attempts")
    student.post(f"/learning/attempts/{attempt['id']}/submit",
                 {"answers": [{"question_id": essay["id"], "text": "计算机用它存储一切"}]})
    now = datetime.now(UTC)
    exam = leader.post(f"/learning/runs/{world.run_id}/quizzes", {
        "kind": "exam", "title": "期末考试", "opens_at": iso(now - timedelta(minutes=5)),
        "closes_at": iso(now + timedelta(hours=2)), "duration_minutes": 30, "open_answers_by": "peer",
        "items": [{"question_id": essay["id"], "points": 100}]})

    await sign_in(page, leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{world.run_id}/teaching")
    await page.get_by_role("tab", name="测验与考试").click()

    # The unit test's open answer, graded within the question's points; the results table follows.
    await page.locator("[data-test=quizzes] [data-test=open-quiz]", has_text="第一章问答").click()
    panel = page.locator("[data-test=quiz-grading]")
    answer = panel.locator("[data-test=pending-answer]")
    await expect(answer).to_have_count(1)
    await expect(answer).to_contain_text("学生0")
    await expect(answer).to_contain_text("计算机用它存储一切")
    await expect(answer).to_contain_text("满分 10 分")
    await answer.locator("[data-test=grade-points] input").fill("7")
    await answer.locator("textarea[name=grade_comment]").fill("言之有理")
    await answer.locator("[data-test=grade-answer]").click()
    await expect(page.locator(".el-message--success")).to_contain_text("已评分")
    await expect(panel.locator("[data-test=pending-answer]")).to_have_count(0)
    await expect(panel.locator("[data-test=pending-answers]")).to_contain_text("没有待评分的答案")
    await panel.get_by_role("tab", name="成绩").click()
    row = panel.locator("[data-test=quiz-results] .el-table__row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(world.numbers[0])
    await expect(row).to_contain_text("70.0")
    await expect(row.locator("[data-test=result-state]")).to_have_text("已评完")
    graded = student.get(f"/learning/attempts/{attempt['id']}")
    assert graded["state"] == "graded" and graded["score"] == pytest.approx(70)
    assert graded["results"][0]["comment"] == "言之有理"
    results = leader.get(f"/learning/quizzes/{quiz['id']}/results")["items"]
    assert [(r["student_id"], r["pending_count"]) for r in results] == [(student_id, 0)]

    # The peer-graded exam: no grading form, the reason said instead; extra time for the student before they start.
    await panel.locator("[data-test=close-quiz]").click()
    await page.locator("[data-test=quizzes] [data-test=open-quiz]", has_text="期末考试").click()
    panel = page.locator("[data-test=quiz-grading]")
    await expect(panel.locator("[data-test=peer-graded]")).to_contain_text("同学互评")
    await expect(panel.locator("[data-test=grade-answer]")).to_have_count(0)
    await panel.get_by_role("tab", name="考试延时").click()
    extra = panel.locator("[data-test=extra-time]")
    await extra.locator("[data-test=extra-student]").click()
    await page.get_by_role("option", name=re.compile(world.numbers[0])).click()
    await extra.locator("[data-test=extra-minutes] input").fill("15")
    await extra.locator("[data-test=save-extra-time]").click()
    await expect(extra.locator("[data-test=extra-done]")).to_contain_text("延长 15 分钟")

    # Once the student has started, the API refuses and the page says why.
    leader.post(f"/classes/{world.class_id}/releases", {"chapter_id": world.chapters[1]})
    for unit in world.units:
        watch(student, world.run_id, unit)
    started = student.post(f"/learning/quizzes/{exam['id']}/attempts")
    assert started["deadline_at"]
    await extra.locator("[data-test=save-extra-time]").click()
    await expect(extra.get_by_role("alert")).to_contain_text("已开始考试")

    # The run's bank: a question edited (the quiz set from it keeps it as it was).
    await page.get_by_role("tab", name="题库").click()
    questions = page.locator("[data-test=questions]")
    await questions.locator(".el-table__row", has_text="说说二进制的用处").locator("[data-test=edit-question]").click()
    dialog = page.locator("[data-test=question-edit-form]")
    await expect(dialog.locator("textarea[name=reference]")).to_have_value("计算机内部表示")
    await dialog.locator("textarea[name=stem]").fill("说说二进制在计算机中的用处")
    await dialog.locator("[data-test=update-question]").click()
    await expect(questions).to_contain_text("说说二进制在计算机中的用处")
    edited = next(q for q in leader.get(bank)["items"] if q["id"] == essay["id"])
    assert edited["stem"] == "说说二进制在计算机中的用处" and edited["key"]["reference"] == "计算机内部表示"
    view = leader.get(f"/learning/quizzes/{quiz['id']}")
    assert view["questions"][0]["stem"] == "说说二进制的用处"

    # The course bank, in the course editor (its leader's): a fill-in question added.
    await page.goto(f"/teacher/courses/{world.course_id}")
    await page.get_by_role("tab", name="课程题库").click()
    form = page.locator("[data-test=question-form]")
    await form.locator("[data-test=question-kind]").click()
    await page.get_by_role("option", name="填空题").click()
    await form.locator("textarea[name=stem]").fill("八进制 10 等于十进制几？")
    await form.locator("textarea[name=accepted]").fill("8")
    await form.locator("[data-test=add-question]").click()
    await expect(page.locator("[data-test=questions]")).to_contain_text("八进制 10 等于十进制几？")
    course_bank = leader.get(f"/courses/{world.course_id}/questions")["items"]
    assert [(q["kind"], q["key"]["accepted"]) for q in course_bank] == [("fill_blank", ["8"])]


async def test_a_student_cannot_open_the_grading_page(page: Page, world: LearningWorld) -> None:
    student = world.students[0]
    await sign_in(page, student.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{world.run_id}/teaching")
    await expect(page.get_by_text("当前角色无权访问该页面")).to_be_visible()
    await expect(page.locator("[data-test=quiz-grading]")).to_have_count(0)
    await expect(page.locator("[data-test=quizzes]")).to_have_count(0)
