"""The platform admin in the console: out-of-province applications answered, schools created with their first
admin, and the mesh's health."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from devmesh.client import Api
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.e2e.browser.conftest import sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld, new_phone
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_platform_admin_answers_an_application_and_creates_a_school(page: Page, api: Api,
                                                                               platform: Api) -> None:
    name = f"河南浏览器学院{uuid.uuid4().hex[:6]}"
    application = api.post("/school-applications", {
        "school_name": name, "province_code": "41", "contact_name": "赵主任", "phone": new_phone(),
        "email": "jwc@example.edu.cn", "reason": "希望选用共享课程"})
    wait_until(lambda: any(i["subject_id"] == application["id"] for i in platform.get(
        "/reviews", params={"kind": "school_application", "page_size": 200})["items"]))
    await sign_in(page, ADMIN_USERNAME, ADMIN_PASSWORD)
    await expect(page).to_have_url("/platform/applications")
    row = page.locator("[data-test=applications] .el-table__row", has_text=name)
    await expect(row).to_contain_text("待审核")
    await row.locator("[data-test=approve]").click()
    approved = wait_until(lambda: (a := platform.get(f"/school-applications/{application['id']}"))[
        "status"] == "approved" and a)
    assert api.get("/schools", params={"query": name})["items"][0]["id"] == approved["school_id"]
    await page.locator(".el-radio-button", has_text="已通过").click()
    row = page.locator("[data-test=applications] .el-table__row", has_text=name)
    await row.get_by_role("button", name="重发管理员初始密码").click()
    password = await page.locator("[data-test=credentials-password]").inner_text()
    username = await page.locator("[data-test=credentials-username]").inner_text()
    api.first_login(username, password, PASSWORD)  # the page showed credentials that work

    code = "B" + uuid.uuid4().hex[:7].upper()
    await page.get_by_role("menuitem", name="学校", exact=True).click()
    await page.locator("[data-test=new-school]").click()
    dialog = page.locator(".el-dialog")
    await dialog.locator("input[name=code]").fill(code)
    await dialog.locator("input[name=name]").fill(f"浏览器大学{code}")
    await dialog.locator(".el-select").click()
    await page.get_by_role("option", name="浙江省").click()
    await dialog.locator("input[name=admin_name]").fill("教务处")
    await dialog.locator("input[name=admin_phone]").fill(new_phone())
    await dialog.locator("[data-test=create-school]").click()
    await expect(page.locator("[data-test=credentials-username]")).to_be_visible()
    school = api.get("/schools", params={"query": code})["items"][0]
    assert school["province_code"] == "33"
    admin = api.first_login(await page.locator("[data-test=credentials-username]").inner_text(),
                            await page.locator("[data-test=credentials-password]").inner_text(), PASSWORD)
    assert admin.get("/me")["school_id"] == school["id"]
    await page.locator("input[name=query]").fill(code)
    await page.get_by_role("button", name="搜索").click()
    await expect(page.locator("[data-test=schools] .el-table__row")).to_have_count(1)

    await page.get_by_role("menuitem", name="运行状况").click()
    await expect(page.locator("[data-test=overall]")).to_contain_text("正常")
    await expect(page.get_by_text("SERVING").first).to_be_visible()


async def test_other_roles_cannot_open_the_platform_pages(page: Page, school: SchoolWorld) -> None:
    await sign_in(page, school.admin.get("/me")["username"], PASSWORD)
    await page.goto("/platform/schools")
    await expect(page.get_by_text("当前角色无权访问该页面")).to_be_visible()
    await expect(page.locator("[data-test=schools]")).to_have_count(0)
    await expect(page.get_by_role("menuitem", name="学校", exact=True)).to_have_count(0)  # not in this role's menu
