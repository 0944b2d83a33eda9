"""The provincial center in the console: a sharing entry approved from the review queue, the list published, and
another school's admin finding the course by a Chinese search and asking to adopt it; the province's statistics
drawn as charts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from devmesh.client import Api
from tests.e2e.browser.conftest import SCREENSHOTS, sign_in
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account
from tests.e2e.test_sharing import list_dates, mooc_run, new_term
from tests.support import wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


def username(user: Api) -> str:
    return user.get("/me")["username"]


async def test_the_center_publishes_a_list_and_another_school_finds_and_adopts_a_course(
    page: Page, browser: Browser, console_url: str, api: Api, center: Api, school: SchoolWorld,
    other_school: SchoolWorld,
) -> None:
    tag = uuid.uuid4().hex[:4]
    term = new_term(center)
    title = f"{term} 浏览器共享清单{tag}"
    sharing_list = center.post("/sharing/lists", {"term_code": term, "title": title, **list_dates(term)})
    leader = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                            name="周老师")[1]
    name = f"机器学习基础{tag}"
    mooc = mooc_run(center, school, leader, "周老师", name, term)
    entry = school.admin.post(f"/sharing/lists/{sharing_list['id']}/entries", {"run_id": mooc["run"]["id"]})
    school.admin.post(f"/sharing/lists/{sharing_list['id']}/submit")

    # The center approves the entry in its review queue, then publishes the list.
    await sign_in(page, username(center), PASSWORD)
    await expect(page).to_have_url("/center/statistics")
    await page.get_by_role("menuitem", name="审核").click()
    item = page.locator("[data-test=review-items] .el-table__row", has_text=name)
    await item.locator("[data-test=open-item]").click()
    await page.locator(".el-drawer [data-test=approve]").click()
    wait_until(lambda: center.get(f"/sharing/entries/{entry['id']}")["state"] == "approved")
    await page.get_by_role("menuitem", name="共享清单").click()
    row = page.locator("[data-test=lists] .el-table__row", has_text=title)
    await row.locator("[data-test=publish]").click()
    await expect(row.locator("[data-test=list-state]")).to_contain_text("已发布")
    assert next(x for x in center.get("/sharing/lists")["items"] if x["id"] == sharing_list["id"])["state"] == \
        "published"

    # Another school's admin finds it by a Chinese substring and asks to adopt it.
    context = await browser.new_context(base_url=console_url, locale="zh-CN")
    other = await context.new_page()
    try:
        await sign_in(other, username(other_school.admin), PASSWORD)
        await other.get_by_role("menuitem", name="共享课程").click()
        await other.locator(".toolbar .el-select").first.click()
        await other.get_by_role("option", name=title).click()
        await other.locator("input[name=query]").fill("机器学习")
        await other.locator("[data-test=search]").click()
        results = other.locator("[data-test=entries] .el-table__row")
        await expect(results).to_have_count(1)
        await expect(results).to_contain_text(name)
        await other.locator("input[name=query]").fill("量子力学")
        await other.locator("[data-test=search]").click()
        await expect(results).to_have_count(0)
        await other.locator("input[name=query]").fill("")
        await other.locator("[data-test=search]").click()
        await results.filter(has_text=name).get_by_role("link").click()
        await expect(other.locator("[data-test=entry]")).to_contain_text("周老师")
        await other.locator("[data-test=adopt]").click()
        await other.locator(".el-dialog [data-test=send-adoption]").click()
        await expect(other.locator(".el-dialog")).to_be_hidden()
    finally:
        await context.close()
    adoptions = other_school.admin.get("/sharing/adoptions")["items"]
    assert [(a["entry_id"], a["state"]) for a in adoptions if a["entry_id"] == entry["id"]] == [
        (entry["id"], "requested")]


async def test_the_statistics_page_draws_the_provinces_charts(page: Page, center: Api) -> None:
    await page.set_viewport_size({"width": 1280, "height": 800})
    await sign_in(page, username(center), PASSWORD)
    await expect(page.get_by_role("heading", name="全省课程统计")).to_be_visible()
    for chart in ("chart-courses", "chart-terms"):
        await expect(page.locator(f"[data-test={chart}]")).to_be_visible()
    await expect(page.get_by_text("各校课程数（按类别）")).to_be_visible()
    await expect(page.locator("[data-test=chart-courses] canvas")).to_have_count(1)  # the province has courses
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(1500)  # the charts' entry animation
    await page.screenshot(path=Path(SCREENSHOTS) / "center-statistics.png", full_page=True)
