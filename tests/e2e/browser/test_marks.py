"""Marks in the console: a class opened with the keyboard, face-to-face marks imported (a bad row reported, nothing
stored; then the good sheet), the gradebook's every category (assignments and the forum too), one student's
progress per unit opened by the team; a teacher of another school is refused."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from devmesh.client import Api, ApiError
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account
from tests.e2e.learning_world import LearningWorld, make_learning_world, watch

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-marks-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    return make_learning_world(api, school, clips, students=2)


def _sheet(rows: list[tuple[str, str, str]]) -> dict:
    text = "学号,姓名,成绩\n" + "".join(f"{n},{name},{mark}\n" for n, name, mark in rows)
    return {"name": "见面课.csv", "mimeType": "text/csv", "buffer": text.encode()}


async def test_the_team_imports_face_to_face_marks_and_reads_every_category_and_a_students_progress(
    browser: Browser, console_url: str, page: Page, api: Api, world: LearningWorld, other_school: SchoolWorld
) -> None:
    watch(world.students[0], world.run_id, world.units[0])  # one unit completed, to be seen in the progress
    class_name = next(c["name"] for c in world.leader.get(f"/runs/{world.run_id}/classes")["items"]
                      if c["id"] == world.class_id)
    await sign_in(page, world.leader.get("/me")["username"], PASSWORD)
    await page.goto(f"/teacher/runs/{world.run_id}/teaching")

    # A class opens from the keyboard: Tab from the new-class field reaches the class's button, Enter opens it.
    opener = page.locator("[data-test=classes] [data-test=open-class]", has_text=class_name)
    await expect(opener).to_be_visible()
    await page.locator("input[name=class_name]").focus()
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await opener.evaluate("element => element === document.activeElement"):
            break
    await expect(opener).to_be_focused()
    await page.keyboard.press("Enter")
    roster = page.locator("[data-test=roster]")
    await expect(roster).to_contain_text(world.numbers[1])

    # One student's progress from the roster: the unit watched is completed, the others not.
    await roster.locator(".el-table__row", has_text=world.numbers[0]).locator("[data-test=roster-progress]").click()
    dialog = page.locator("[data-test=progress-dialog]")
    units = dialog.locator("[data-test=progress-units] .el-table__row")
    await expect(units).to_have_count(3)
    await expect(units.filter(has_text="第一章 绪论 视频1")).to_contain_text("已完成")
    await expect(units.filter(has_text="第二章 进阶")).to_contain_text("未完成")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # The gradebook shows every category the scheme weighs, assignments and the forum included.
    await page.get_by_role("tab", name="成绩册").click()
    await page.locator("[data-test=gradebook-class]").click()
    await page.get_by_role("option", name=class_name).click()
    gradebook = page.locator("[data-test=gradebook]")
    await expect(gradebook.locator(".el-table__row")).to_have_count(2)
    headers = gradebook.locator(".el-table__header")
    for category in ("视频学习", "章节测验", "作业", "见面课", "讨论", "期末考试"):
        await expect(headers).to_contain_text(category)

    # The template is the class's roster with an empty 成绩 column.
    async with page.expect_download() as downloaded:
        await page.locator("[data-test=f2f-template]").click()
    saved = await (await downloaded.value).path()
    template = (await asyncio.to_thread(saved.read_bytes)).decode("utf-8-sig")
    assert template.splitlines()[0] == "学号,姓名,成绩" and f"{world.numbers[1]},学生1," in template

    # A sheet with one bad row (a number not in the class): the row is reported, nothing is stored.
    f2f = page.locator("[data-test=f2f]")
    session_title = f"见面课{uuid.uuid4().hex[:4]}"
    await f2f.locator("input[name=session_title]").fill(session_title)
    await f2f.locator("[data-test=f2f-file]").set_input_files(
        files=[_sheet([(world.numbers[0], "学生0", "85"), ("X0000000", "外人", "90")])])
    await f2f.locator("[data-test=f2f-import]").click()
    errors = f2f.locator("[data-test=import-errors] .el-table__row")
    await expect(errors).to_have_count(1)
    await expect(errors).to_contain_text("X0000000")
    await expect(f2f.locator("[data-test=f2f-sessions] .el-table__row")).to_have_count(0)
    assert world.leader.get(f"/learning/classes/{world.class_id}/face-to-face-sessions")["items"] == []

    # The corrected sheet: the session is listed and its marks are in the gradebook.
    await f2f.locator("[data-test=f2f-file]").set_input_files(
        files=[_sheet([(world.numbers[0], "学生0", "85"), (world.numbers[1], "学生1", "70")])])
    await f2f.locator("[data-test=f2f-import]").click()
    await expect(f2f.locator("[data-test=import-report]")).to_contain_text("已导入 2 名学生的成绩")
    sessions = f2f.locator("[data-test=f2f-sessions] .el-table__row")
    await expect(sessions).to_have_count(1)
    await expect(sessions).to_contain_text(session_title)
    await expect(gradebook.locator(".el-table__row", has_text=world.numbers[0])).to_contain_text("85.0")
    await expect(gradebook.locator(".el-table__row", has_text=world.numbers[1])).to_contain_text("70.0")
    book = world.leader.get(f"/learning/classes/{world.class_id}/gradebook")
    scores = {r["number"]: next(c["score"] for c in r["categories"] if c["category"] == "face_to_face")
              for r in book["rows"]}
    assert scores == {world.numbers[0]: 85, world.numbers[1]: 70}

    # The student's progress opens from the gradebook too.
    await gradebook.locator(".el-table__row", has_text=world.numbers[0]).locator(
        "[data-test=student-progress-open]").click()
    await expect(dialog.locator("[data-test=progress-summary]")).to_be_visible()
    await expect(units).to_have_count(3)
    # ... and as a page of its own, for the team.
    await dialog.locator("[data-test=progress-page]").click()
    progress_page = f"/teacher/runs/{world.run_id}/students/{world.student_ids[0]}/progress"
    await page.wait_for_url(f"**{progress_page}")
    await expect(page.locator("[data-test=progress-units] .el-table__row")).to_have_count(3)

    # A teacher of another school: the API refuses the run's progress, sessions and gradebook; the console does
    # not show the run's teaching pages, and the student's progress page shows the API's refusal.
    tag = uuid.uuid4().hex[:6]
    user, stranger = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                    number=f"O{tag}", name="外校老师")
    for path, params in ((f"/learning/runs/{world.run_id}/progress", {"student_id": world.student_ids[0]}),
                         (f"/learning/classes/{world.class_id}/face-to-face-sessions", {}),
                         (f"/learning/classes/{world.class_id}/gradebook", {})):
        with pytest.raises(ApiError) as refused:
            stranger.get(path, params=params)
        assert refused.value.status in (403, 404), path
    context = await browser.new_context(base_url=console_url, locale="zh-CN")
    try:
        other = await context.new_page()
        await sign_in(other, user["username"], PASSWORD)
        async with other.expect_response(lambda r: r.url.endswith(f"/api/v1/runs/{world.run_id}")) as answer:
            await other.goto(f"/teacher/runs/{world.run_id}/teaching")
        assert (await answer.value).status in (403, 404)
        await expect(other.get_by_role("tab", name="成绩册")).to_have_count(0)
        await expect(other.locator("[data-test=f2f]")).to_have_count(0)
        await other.goto(progress_page)
        await expect(other.locator("[data-test=progress-refused]")).to_be_visible()
        await expect(other.locator("[data-test=progress-units]")).to_have_count(0)
    finally:
        await context.close()
