"""The school admin in the console: the review queue (a teacher's video played and approved, a teacher registration
rejected, with a reason only), and a student import with its per-row report."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests import media_clips
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, review_item
from tests.e2e.media_support import upload_file, wait_for_state
from tests.e2e.test_registration_and_reviews import login_problem, register
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-admin-clips")


async def test_a_school_admin_plays_and_approves_a_video_and_rejects_a_registration_with_a_reason(
    page: Page, api: Api, school: SchoolWorld, clips: Path
) -> None:
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"T{uuid.uuid4().hex[:6]}", name="孙老师")
    asset = upload_file(teacher, media_clips.compliant_720p(clips, seconds=4))
    wait_for_state(teacher, asset["id"], "ready")
    review_item(school.admin, "media_asset", asset["id"])
    username, registration = register(api, school, name="待审老师")
    review_item(school.admin, "teacher_registration", registration["user_id"])

    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await expect(page).to_have_url("/admin/reviews")
    items = page.locator("[data-test=review-items] .el-table__row")
    await items.filter(has_text=asset["filename"]).locator("[data-test=open-item]").click()
    drawer = page.locator(".el-drawer")
    await expect(drawer.locator("[data-test=spec-report]")).to_be_visible()
    await page.wait_for_function(
        "() => { const v = document.querySelector('.el-drawer [data-test=video]'); return v && v.currentTime > 0.5 }",
        timeout=30_000)
    await drawer.locator("[data-test=approve]").click()
    await expect(drawer).to_be_hidden()
    wait_until(lambda: teacher.get(f"/media/assets/{asset['id']}")["referenceable"])

    await items.filter(has_text="待审老师").locator("[data-test=open-item]").click()
    await drawer.locator("[data-test=reject]").click()
    await expect(drawer.get_by_role("alert")).to_be_visible()  # the server wants a reason
    await drawer.locator("textarea[name=reason]").fill("工号与人事系统不符")
    await drawer.locator("[data-test=reject]").click()
    await expect(drawer).to_be_hidden()
    wait_until(
        lambda: (p := login_problem(api, username)) and "工号与人事系统不符" in p.get("detail", "") and p)


async def test_a_student_import_reports_each_bad_row_and_adds_the_good_ones(page: Page, school: SchoolWorld) -> None:
    tag = uuid.uuid4().hex[:5]
    rows = [f"A{tag}1,赵一,13900000001,,计科1班", f"A{tag}2,钱二,not-a-phone,,计科1班",
            f"A{tag}3,孙三,13900000003,,计科2班"]
    content = "\n".join(["number,name,phone,email,class_name", *rows]).encode()
    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="账号与导入").click()
    await page.locator("[data-test=valid-rows]").click()
    await page.locator("[data-test=import-input]").set_input_files(
        files=[{"name": "students.csv", "mimeType": "text/csv", "buffer": content}])
    report = page.locator("[data-test=import-report]")
    await expect(report).to_contain_text("新建 2")
    errors = page.locator("[data-test=import-errors] .el-table__row")
    await expect(errors).to_have_count(1)
    await expect(errors).to_contain_text("3")  # the bad row's line (the header is line 1)
    numbers = {u["number"] for u in school.admin.get("/users", params={"query": f"A{tag}"})["items"]}
    assert numbers == {f"A{tag}1", f"A{tag}3"}
