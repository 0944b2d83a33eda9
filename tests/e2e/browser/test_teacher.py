"""The teacher in the console: a course built from nothing (a plan of a chapter and units), a generated clip
uploaded with the progress bar reaching 100% and the spec-check report shown, attached once approved, a unit moved,
a run opened and sent for review; and an upload broken after its first part that resumes with the rest only."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Page, Route, expect

from devmesh.client import Api
from tests import media_clips
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import CURRENT_TERM, PASSWORD, SchoolWorld, create_account, decide
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-teacher-clips")


def new_teacher(api: Api, school: SchoolWorld) -> tuple[str, Api]:
    user, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                   number=f"T{uuid.uuid4().hex[:6]}", name="林老师")
    return user["username"], teacher


async def prompt(page: Page, text: str) -> None:
    box = page.locator(".el-message-box")
    await box.locator("input").fill(text)
    await box.get_by_role("button", name="确定").click()
    await expect(box).to_be_hidden()


async def test_a_teacher_builds_a_course_uploads_a_video_and_sends_a_run_for_review(
    page: Page, api: Api, center: Api, school: SchoolWorld, clips: Path
) -> None:
    username, teacher = new_teacher(api, school)
    name = f"浏览器课程{uuid.uuid4().hex[:6]}"
    await sign_in(page, username, PASSWORD)
    await expect(page).to_have_url("/teacher/courses")

    # The upload: a generated clip, the progress bar to 100%, then the spec-check report.
    await page.get_by_role("menuitem", name="我的文件").click()
    clip = media_clips.compliant_720p(clips, seconds=3)
    await page.locator("[data-test=upload-input]").set_input_files(clip)
    await expect(page.locator("[data-test=upload-progress]")).to_contain_text("100%")
    await expect(page.locator("[data-test=latest-asset]")).to_contain_text("就绪", timeout=60_000)
    report = page.locator("[data-test=latest-asset] [data-test=spec-report]")
    await expect(report).to_be_visible()
    await expect(report.locator(".el-tag").first).to_be_visible()
    asset = next(a for a in teacher.get("/media/assets")["items"] if a["filename"] == clip.name)
    assert asset["state"] == "ready" and asset["spec_report"]
    decide(school.admin, "media_asset", asset["id"])
    wait_until(lambda: teacher.get(f"/media/assets/{asset['id']}")["referenceable"])

    # A new course, its plan: a chapter with two units of the approved video; the second moved up.
    await page.get_by_role("menuitem", name="我的课程").click()
    await page.locator("[data-test=new-course]").click()
    dialog = page.locator(".el-dialog")
    await dialog.locator("input[name=name]").fill(name)
    await dialog.locator("[data-test=category]").click()
    await page.get_by_role("option", name="专业课").click()
    await dialog.locator("[data-test=create-course]").click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    course = next(c["course"] for c in teacher.get("/courses")["items"] if c["course"]["name"] == name)
    await page.get_by_role("tab", name="教学计划").click()
    await page.locator("[data-test=add-chapter]").click()
    await prompt(page, "第一章 导论")
    for title in ("1.1 课程介绍", "1.2 学习方法"):
        await page.locator("[data-test=node-chapter] [data-test=add-unit]").click()
        unit_dialog = page.locator(".el-dialog", has=page.locator("[data-test=save-unit]"))
        await unit_dialog.locator("input[name=unit_title]").fill(title)
        await unit_dialog.locator("[data-test=unit-video]").click()
        await page.get_by_role("option", name=clip.name).click()
        await unit_dialog.locator("[data-test=save-unit]").click()
        await expect(unit_dialog).to_be_hidden()
    units = page.locator("[data-test=node-unit]")
    await expect(units).to_have_count(2)
    await units.nth(1).locator("[data-test=move-up]").click()
    await expect(units.nth(0)).to_contain_text("1.2 学习方法")
    plan = teacher.get(f"/courses/{course['id']}/plan")["nodes"]
    assert [n["title"] for n in plan if n["kind"] == "unit"] == ["1.2 学习方法", "1.1 课程介绍"]
    assert {n["resource_id"] for n in plan if n["kind"] == "unit"} == {asset["id"]}
    await page.get_by_role("tab", name="基本信息").click()
    await expect(page.locator("[data-test=credits-check]")).to_contain_text("已审核视频")

    # A run for the current term, sent for review.
    await page.get_by_role("tab", name="开课").click()
    await page.locator("[data-test=run-term]").click()
    await page.get_by_role("option", name=CURRENT_TERM["name"]).click()
    await page.locator("[data-test=open-run]").click()
    await expect(page.locator("[data-test=run-state]")).to_contain_text("草稿")
    await page.locator("[data-test=publish]").click()
    await expect(page.locator("[data-test=run-state]")).to_contain_text("待审核")
    runs = teacher.get(f"/courses/{course['id']}/runs")["items"]
    assert [(r["term_code"], r["state"]) for r in runs] == [(CURRENT_TERM["code"], "pending_review")]

    # Asking to become a MOOC with a few seconds of video: the server's rule is shown, nothing is filed.
    await page.get_by_role("tab", name="基本信息").click()
    card = page.locator("[data-test=mooc-application]")
    await card.locator("[data-test=apply-mooc]").click()
    await expect(card.get_by_role("alert")).to_contain_text("240")
    assert not [a for a in school.admin.get("/mooc-applications")["items"] if a["course_id"] == course["id"]]


async def test_a_broken_upload_resumes_with_the_parts_the_server_lacks(
    page: Page, api: Api, school: SchoolWorld, clips: Path
) -> None:
    username, teacher = new_teacher(api, school)
    clip = media_clips.make_clip(clips / "two-parts.mp4", seconds=4, video_bitrate="14000k")
    assert clip.stat().st_size > 5 * 1024 * 1024  # two parts of 5 MiB
    await sign_in(page, username, PASSWORD)
    await page.goto("/teacher/media")
    parts: list[str] = []
    page.on("request", lambda r: parts.append(r.url) if r.method == "PUT" and "partNumber=" in r.url else None)

    async def cut_second_part(route: Route) -> None:
        await route.abort("connectionreset")

    await page.route("**/*partNumber=2*", cut_second_part)
    await page.locator("[data-test=upload-input]").set_input_files(clip)
    await expect(page.get_by_role("alert")).to_be_visible()
    asset_id = next(a["id"] for a in teacher.get("/media/assets")["items"] if a["filename"] == clip.name)
    assert teacher.get(f"/media/uploads/{asset_id}")["uploaded_parts"] == [1]

    await page.unroute("**/*partNumber=2*")
    parts.clear()
    await page.locator("[data-test=upload-input]").set_input_files(clip)
    await expect(page.locator("[data-test=upload-note]")).to_contain_text("服务器已有 1 个分片")
    await expect(page.locator("[data-test=upload-progress]")).to_contain_text("100%")
    await expect(page.locator("[data-test=latest-asset]")).to_contain_text("就绪", timeout=60_000)
    assert len(parts) == 1 and "partNumber=2" in parts[0]  # only the missing part went again
    assert teacher.get(f"/media/assets/{asset_id}")["state"] == "ready"
