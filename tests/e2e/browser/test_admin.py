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
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, decide, review_item
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


async def test_a_school_admin_files_a_registry_entry_and_nominates_a_mooc_run_to_the_open_list(
    page: Page, api: Api, center: Api, school: SchoolWorld
) -> None:
    from tests.e2e.test_sharing import list_dates, mooc_run, new_term

    tag = uuid.uuid4().hex[:4]
    term = new_term(center)
    title = f"{term} 申报清单{tag}"
    sharing_list = center.post("/sharing/lists", {"term_code": term, "title": title, **list_dates(term)})
    user, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"M{tag}",
                                  name="吴老师")
    mooc = mooc_run(center, school, leader, "吴老师", f"大学物理{tag}", term)

    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="课程与共享").click()
    await page.get_by_role("tab", name="慕课登记").click()
    await page.locator("input[name=registry_name]").fill(f"线性代数{tag}")
    await page.locator("[data-test=registry-leader]").click()
    await page.get_by_role("option", name=f"吴老师（M{tag}）").click()
    await page.locator("[data-test=file-registry]").click()
    await expect(page.locator("[data-test=registry]")).to_contain_text(f"线性代数{tag}")
    filed = [e for e in school.admin.get("/registry", params={"page_size": 200})["items"]
             if e["name"] == f"线性代数{tag}"]
    assert [(e["leader_id"], e["status"]) for e in filed] == [(user["id"], "pending")]

    await page.get_by_role("tab", name="共享清单申报").click()
    await page.locator("[data-test=nominate-list]").click()
    await page.get_by_role("option", name=title, exact=False).click()
    await page.locator("[data-test=nominate-run]").click()
    await page.get_by_role("option", name=f"大学物理{tag} · {term}").click()
    await page.locator("[data-test=nominate]").click()
    await expect(page.locator("[data-test=nominations]")).to_contain_text(f"大学物理{tag}")
    await page.locator("[data-test=submit-entries]").click()
    await expect(page.locator("[data-test=nominations]")).to_contain_text("待审核")
    entries = school.admin.get(f"/sharing/lists/{sharing_list['id']}/entries")["items"]
    assert [(e["run_id"], e["state"]) for e in entries] == [(mooc["run"]["id"], "submitted")]


async def test_a_school_admin_imports_the_registry_and_asks_the_center_to_change_a_leader(
    page: Page, api: Api, center: Api, school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:4]
    create_account(school.admin, api, role="teacher", school_id=school.id, number=f"R{tag}", name="钱老师")
    create_account(school.admin, api, role="teacher", school_id=school.id, number=f"Q{tag}", name="郑老师")
    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="课程与共享").click()
    await page.get_by_role("tab", name="慕课登记").click()

    header = "课程名称,课程负责人工号或用户名"
    bad = f"{header}\n数值分析{tag},R{tag}\n概率论{tag},NOBODY{tag}\n".encode()
    upload = page.locator("[data-test=registry-import]")
    await upload.set_input_files(files=[{"name": "registry.csv", "mimeType": "text/csv", "buffer": bad}])
    await expect(page.locator("[data-test=import-report]")).to_contain_text("未登记任何课程")
    errors = page.locator("[data-test=import-errors] .el-table__row")
    await expect(errors).to_have_count(1)
    await expect(errors).to_contain_text(f"NOBODY{tag}")
    assert school.admin.get("/registry", params={"query": tag})["total"] == 0  # a bad row files nothing

    good = f"{header}\n数值分析{tag},R{tag}\n".encode()
    await upload.set_input_files(files=[{"name": "registry.csv", "mimeType": "text/csv", "buffer": good}])
    await expect(page.locator("[data-test=import-report]")).to_contain_text("已登记 1 门课程")
    [entry] = school.admin.get("/registry", params={"query": f"数值分析{tag}"})["items"]
    assert entry["leader_name"] == "钱老师" and entry["status"] == "pending"
    decide(center, "registry_entry", entry["id"])
    wait_until(lambda: school.admin.get(f"/registry/{entry['id']}")["status"] == "approved")

    await page.locator("input[name=registry_query]").fill(f"数值分析{tag}")
    await page.locator("input[name=registry_query]").press("Enter")
    row = page.locator("[data-test=registry] .el-table__row").filter(has_text=f"数值分析{tag}")
    await expect(row).to_contain_text("已通过")
    await row.locator("[data-test=request-change]").click()
    dialog = page.get_by_role("dialog")
    await dialog.locator("[data-test=change-leader]").click()
    await page.get_by_role("option", name=f"郑老师（Q{tag}）").click()
    await dialog.locator("[data-test=send-change]").click()
    await expect(dialog.get_by_role("alert")).to_be_visible()  # the center wants to know why
    await dialog.locator("textarea[name=change_reason]").fill("钱老师调往外校，由郑老师接任")
    await dialog.locator("[data-test=send-change]").click()
    await expect(dialog).to_be_hidden()
    await expect(row.locator("[data-test=request-change]")).to_have_text("变更待审")
    [change] = school.admin.get(f"/registry/{entry['id']}")["changes"]
    assert (change["leader_name"], change["status"]) == ("郑老师", "pending")

    # The center reads the request in the registry's history, then approves it in its review queue.
    await sign_in(page, center.get("/me")["username"], PASSWORD)
    await page.get_by_role("menuitem", name="慕课课程库").click()
    await page.locator("input[name=registry_query]").fill(f"数值分析{tag}")
    await page.locator("input[name=registry_query]").press("Enter")
    row = page.locator("[data-test=registry] .el-table__row").filter(has_text=f"数值分析{tag}")
    await expect(row).to_contain_text("钱老师")
    await row.locator(".el-table__expand-icon").click()
    history = page.locator("[data-test=registry-changes]")
    await expect(history).to_contain_text("钱老师调往外校，由郑老师接任")
    await expect(history).to_contain_text("待审核")
    await page.get_by_role("tab", name="SPOC 转慕课申请").click()
    await expect(page.locator("[data-test=mooc-applications]")).to_be_visible()

    await page.get_by_role("menuitem", name="审核").click()
    item = page.locator("[data-test=review-items] .el-table__row", has_text=f"数值分析{tag}")
    await item.locator("[data-test=open-item]").click()
    await page.locator(".el-drawer [data-test=approve]").click()
    await expect(page.locator(".el-drawer")).to_be_hidden()
    wait_until(lambda: school.admin.get(f"/registry/{entry['id']}")["leader_name"] == "郑老师")
