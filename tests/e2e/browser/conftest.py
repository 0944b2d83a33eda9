"""The console in a real browser: Chromium through Playwright's async API, on the suite's session-scoped mesh.

Every test module here says `pytestmark = pytest.mark.asyncio(loop_scope="session")`: the browser lives in the
session's event loop. Browser tests run once, against the SQLite mesh (the API behind the pages is tested on both
backends by the other end-to-end tests). A failing test leaves a screenshot in test-results/browser/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from devmesh.mesh import Mesh
from gateway.console import console_dir
from tests.e2e.browser.chromium import ensure_chromium

SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-results" / "browser"
HERE = Path(__file__).resolve().parent
expect.set_options(timeout=20_000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            keep.append(item)
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("mesh") == "postgresql":
            drop.append(item)
            continue
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:  # type: ignore[type-arg]
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = ensure_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def console_url(mesh: Mesh) -> str:
    if not (console_dir() / "index.html").is_file():
        pytest.fail(f"the console is not built in {console_dir()}: run `make web` (make test does)")
    return mesh.gateway_url


async def _context(browser: Browser, console_url: str, **options: object) -> BrowserContext:
    context = await browser.new_context(base_url=console_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                        **options)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    return context


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser, console_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh browser context (no session) with one page, desktop-sized."""
    context = await _context(browser, console_url, viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    yield page
    await _screenshot_if_failed(request, page)
    await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def phone(browser: Browser, console_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A fresh browser context the size of a phone, with touch."""
    context = await _context(browser, console_url, viewport={"width": 390, "height": 844}, is_mobile=True,
                             has_touch=True, device_scale_factor=2)
    page = await context.new_page()
    yield page
    await _screenshot_if_failed(request, page)
    await context.close()


async def _screenshot_if_failed(request: pytest.FixtureRequest, page: Page) -> None:
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def sign_in(page: Page, login: str, password: str) -> None:
    """Sign in through the console's sign-in page and wait until it has left it."""
    await page.goto("/login")
    await page.locator("input[name=login]").fill(login)
    await page.locator("input[name=password]").fill(password)
    await page.locator("[data-test=sign-in]").click()
    await page.wait_for_url(lambda url: "/login" not in url)
