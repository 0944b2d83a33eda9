"""Policies in the console: the center keeps the course categories, corrects a term and files a new version of its
province's policy layer; a school admin files the school's layer and sees the number in force marked as the
school's; the province's layer is not the school admin's to edit, and the policy page is not a teacher's."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Locator, Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import CURRENT_TERM, PASSWORD, SchoolWorld, create_account
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_sharing import new_term

pytestmark = pytest.mark.asyncio(loop_scope="session")


def username(user: Api) -> str:
    return user.get("/me")["username"]


async def choose(page: Page, select: Locator, option: str) -> None:
    await select.click()
    await page.get_by_role("option", name=option).click()


async def set_number(editor: Locator, name: str, value: str) -> None:
    """Ticks "set in this layer" for a number (when it is not) and types its value."""
    row = editor.locator(f"[data-test=number-{name}]")
    if not await row.locator("[data-test=set] input").is_checked():
        await row.locator("[data-test=set]").click()
    box = row.locator(f"input[name={name}]")
    await box.fill(value)
    await box.press("Tab")


async def test_the_center_adds_and_retires_a_category_and_corrects_a_term(page: Page, center: Api) -> None:
    tag = uuid.uuid4().hex[:4]
    category = f"浏览器类别{tag}"
    await sign_in(page, username(center), PASSWORD)

    await page.get_by_role("menuitem", name="课程类别").click()
    await page.locator("input[name=category-name]").fill(category)
    await page.locator("[data-test=add-category]").click()
    row = page.locator("[data-test=categories] .el-table__row", has_text=category)
    await expect(row.locator("[data-test=category-state]")).to_have_text("在用")
    await row.locator("[data-test=retire-category]").click()
    await page.locator(".el-message-box").get_by_role("button", name="停用").click()
    await expect(row.locator("[data-test=category-state]")).to_have_text("已停用")
    await expect(row.locator("[data-test=retire-category]")).to_have_count(0)
    listed = center.get("/categories", params={"include_retired": "true"})["items"]
    assert [c["retired"] for c in listed if c["name"] == category] == [True]
    assert category not in {c["name"] for c in center.get("/categories")["items"]}  # courses cannot pick it now

    # A term corrected: its name; then an end before its start, refused with the API's words.
    term = new_term(center)
    await page.get_by_role("menuitem", name="学期").click()
    term_row = page.locator("[data-test=terms] .el-table__row", has_text=term)
    await term_row.locator("[data-test=correct-term]").click()
    dialog = page.locator(".el-dialog", has=page.locator("[data-test=term-correction]"))
    await dialog.locator("input[name=term-name]").fill(f"{term} 更正")
    await dialog.locator("[data-test=save-term]").click()
    await expect(dialog).to_be_hidden()
    await expect(term_row).to_contain_text(f"{term} 更正")
    corrected = next(t for t in center.get("/terms")["items"] if t["code"] == term)
    assert corrected["name"] == f"{term} 更正"

    await term_row.locator("[data-test=correct-term]").click()
    ends = dialog.locator("input[name=term-ends-on]")
    too_early = f"{int(term[:4]) - 1}-12-31"
    await ends.fill(too_early)
    await ends.press("Enter")
    await dialog.locator("[data-test=save-term]").click()
    await expect(dialog.locator("[data-test=term-refusal]")).to_contain_text(too_early)  # the API's refusal
    assert next(t for t in center.get("/terms")["items"] if t["code"] == term)["ends_on"] == corrected["ends_on"]


async def test_the_center_files_a_new_version_of_the_province_layer(page: Page, center: Api) -> None:
    term = new_term(center)  # a future term: the version waits for it and changes nothing in force today
    before = center.get("/provinces/33/policy/layer")["versions"]
    await sign_in(page, username(center), PASSWORD)
    await page.get_by_role("menuitem", name="省级政策").click()
    await expect(page.get_by_role("heading", name="省级政策（33）")).to_be_visible()
    editor = page.locator("[data-test=layer-editor]")
    await expect(editor.locator("[data-test=group-credits]")).to_contain_text("每学分视频分钟数")
    await choose(page, editor.locator("[data-test=effective-from]"), f"{term}（{term}）")

    # Out of range: refused, the API's words next to the number.
    await set_number(editor, "pass_mark", "150")
    await editor.locator("[data-test=save-layer]").click()
    await expect(editor.locator("[data-test=refusal]")).to_contain_text("150")
    await expect(editor.locator("[data-test=number-pass_mark] .el-form-item__error")).to_contain_text("100")
    await expect(editor.locator("[data-test=number-minutes_per_credit] .el-form-item__error")).to_have_count(0)
    assert len(center.get("/provinces/33/policy/layer")["versions"]) == len(before)

    await set_number(editor, "pass_mark", "60")
    await editor.locator("textarea[name=note]").fill("浏览器测试")
    await editor.locator("[data-test=save-layer]").click()
    versions = page.locator("[data-test=versions] .el-table__row")
    await expect(versions).to_have_count(len(before) + 1)
    await expect(versions.first).to_contain_text(term)
    await expect(versions.first).to_contain_text("浏览器测试")
    newest = center.get("/provinces/33/policy/layer")["versions"][0]
    assert (newest["version"], newest["effective_from_term"], newest["numbers"]["pass_mark"]) == (
        len(before) + 1, term, 60)
    if before:  # the draft started from the newest version: what it set is kept
        assert {k: v for k, v in newest["numbers"].items() if k != "pass_mark"} == {
            k: v for k, v in before[0]["numbers"].items() if k != "pass_mark"}


async def test_a_school_admin_files_the_school_layer_and_sees_the_number_marked_as_the_schools(
    page: Page, center: Api, school: SchoolWorld  # center: the term calendar
) -> None:
    await sign_in(page, username(school.admin), PASSWORD)
    await page.get_by_role("menuitem", name="本校政策").click()
    await expect(page.locator("[data-test=value-minutes_per_credit]")).to_have_text("240 分钟")
    await expect(page.locator("[data-test=source-minutes_per_credit]")).to_contain_text("平台默认")

    await page.get_by_role("tab", name="本校政策层").click()
    editor = page.locator("[data-test=layer-editor]")
    await expect(page.locator("[data-test=no-versions]")).to_be_visible()
    current = f"{CURRENT_TERM['code']}（{CURRENT_TERM['name']}）"
    await choose(page, editor.locator("[data-test=effective-from]"), current)
    await set_number(editor, "minutes_per_credit", "120")
    await editor.locator("[data-test=save-layer]").click()
    versions = page.locator("[data-test=versions] .el-table__row")
    await expect(versions).to_have_count(1)
    await expect(versions.first).to_contain_text("现行")

    await page.get_by_role("tab", name="现行政策").click()
    await expect(page.locator("[data-test=value-minutes_per_credit]")).to_have_text("120 分钟")
    await expect(page.locator("[data-test=source-minutes_per_credit]")).to_contain_text("本校 第 1 版")
    await expect(page.locator("[data-test=source-pass_mark]")).to_contain_text("平台默认")
    assert school.admin.get(f"/schools/{school.id}/policy")["numbers"]["minutes_per_credit"]["layer"] == "school"

    # The province's layer: read only here, its page not the school admin's, and the API refuses an edit.
    await page.get_by_role("tab", name="省级政策层（只读）").click()
    await expect(page.get_by_text("省级政策由省课程中心维护，学校只能查看。")).to_be_visible()
    await expect(page.locator("[data-test=layer-editor]")).to_have_count(1)  # the school's own only
    await page.goto("/center/policy")
    await expect(page.get_by_text("当前角色无权访问该页面")).to_be_visible()
    expect_problem(403, lambda: school.admin.request("PUT", "/provinces/33/policy/layer", json={
        "effective_from_term": CURRENT_TERM["code"], "numbers": {"minutes_per_credit": 120}}))


async def test_a_teacher_cannot_reach_the_policy_page(page: Page, api: Api, school: SchoolWorld) -> None:
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"T{uuid.uuid4().hex[:6]}", name="钱老师")
    await sign_in(page, username(teacher), PASSWORD)
    await expect(page.get_by_role("menuitem", name="本校政策")).to_have_count(0)
    await page.goto("/admin/policy")
    await expect(page.get_by_text("当前角色无权访问该页面")).to_be_visible()
    await expect(page.locator("[data-test=layer-editor]")).to_have_count(0)
