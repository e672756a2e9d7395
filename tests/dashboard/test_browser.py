"""A real browser (Playwright driving Debian's Chromium) against a real ``taskbridge dashboard``
process, with a real worker and scheduler, on huey+sqlite and on rq+redis."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashboard_tasks as tasks
import pytest
from stack import PASSWORD, USER, Stack, running

from conftest import bridge_url
from taskbridge import Status
from taskbridge.testing.cleanup import delete_url_namespace
from taskbridge.testing.polling import wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
XSS = "<script>alert(1)</script>"

# One browser and one stack per kind for the module: under pytest-xdist, one xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard-browser")]
sync_api = pytest.importorskip("playwright.sync_api")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; never Playwright's own browser download."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    """Worker, scheduler and dashboard processes on huey+sqlite or rq+redis."""
    workdir = tmp_path_factory.mktemp(f"stack-{request.param}")
    url = bridge_url(request.param, workdir)
    with running(url, workdir) as served:
        yield served
    delete_url_namespace(url)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $TASKBRIDGE_SCREENSHOTS, or a pytest temporary directory."""
    given = os.environ.get("TASKBRIDGE_SCREENSHOTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Browser:
    """A logged-in page that fails the test on any script error or dialog (an XSS would)."""

    def __init__(self, browser: Any, stack: Stack, shots: Path, size: str = "desktop") -> None:
        self.context = browser.new_context(
            viewport=SIZES[size], http_credentials={"username": USER, "password": PASSWORD})
        self.page = self.context.new_page()
        self.stack, self.shots, self.size = stack, shots, size
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("dialog", lambda dialog: (self.problems.append(f"dialog: {dialog.message}"),
                                               dialog.dismiss()))
        # A 4xx the page handles (a validation error shown in a form) is logged as a resource
        # error by Chromium; anything else on the console is a problem.
        self.page.on("console", lambda m: m.type == "error" and "status of 4" not in m.text
                     and self.problems.append(m.text))

    def open(self, path: str) -> Any:
        self.page.goto(self.stack.base_url + path)
        return self.page

    def shot(self, name: str) -> None:
        engine = self.stack.url.split("+")[0]
        self.page.screenshot(path=self.shots / f"{name}-{self.size}-{engine}.png", full_page=True)

    def close(self) -> None:
        self.context.close()
        assert not self.problems, self.problems


@pytest.fixture
def web(browser: Any, stack: Stack, shots: Path) -> Iterator[Browser]:
    opened = Browser(browser, stack, shots)
    yield opened
    opened.close()


def test_failed_task_traceback_and_retry(web: Browser, stack: Stack, tmp_path: Path) -> None:
    """A failing task shows FAILED in the list, its traceback on the detail page, and Retry
    leads to a new execution that the page shows SUCCEEDED; its argument shows as text."""
    failing = tasks.fails_once.using(bridge=stack.bridge).enqueue(
        str(tmp_path / f"marker-{uuid.uuid4().hex}"), note=XSS)
    page = web.open("executions")
    row = page.locator(f'tr[data-id="{failing.id}"]')
    sync_api.expect(row).to_have_attribute("data-status", "FAILED", timeout=30_000)
    sync_api.expect(row.locator(".badge")).to_have_text("FAILED")
    web.shot("executions")
    row.locator("a").first.click()
    sync_api.expect(page.locator("#traceback")).to_contain_text(
        "RuntimeError: first attempt fails on purpose", timeout=10_000)
    sync_api.expect(page.locator("#kwargs")).to_contain_text(XSS)
    assert page.locator("main script").count() == 0
    web.shot("detail-failed")
    page.locator("#retry").click()
    page.wait_for_url(re.compile(r".*/executions/[0-9a-f]+\?from=" + failing.id))
    sync_api.expect(page.locator("h1 .badge")).to_have_text("SUCCEEDED", timeout=30_000)
    sync_api.expect(page.locator("#value")).to_contain_text('"fixed"')
    new_id = page.url.split("/executions/")[1].split("?")[0]
    assert stack.bridge.get_result(new_id).status is Status.SUCCEEDED
    assert stack.bridge.get_result(failing.id).retried_as == new_id
    web.shot("detail-retried")


def test_schedule_created_in_the_form_fires(web: Browser, stack: Stack) -> None:
    """Validation errors show beside their field; a valid schedule created in the form fires."""
    name = f"every-second-{uuid.uuid4().hex[:6]}"
    page = web.open("schedules")
    page.locator("#new-schedule").click()
    form = page.locator("#schedule-form")
    form.locator('input[name="name"]').fill(name)
    form.locator('input[name="task"]').fill("dash.tick")
    form.locator('input[name="expr"]').fill("61 * * * *")
    form.locator('textarea[name="kwargs"]').fill('{"label": ')
    form.locator('button[type="submit"]').click()
    sync_api.expect(form.locator('[data-error-for="schedule.expr"]')).to_contain_text(
        "invalid cron expression")
    sync_api.expect(form.locator('[data-error-for="kwargs"]')).to_contain_text("not valid JSON")
    web.shot("schedule-form-errors")
    form.locator('select[name="type"]').select_option("every")
    form.locator('input[name="every"]').fill("1")
    form.locator('select[name="unit"]').select_option("1")
    form.locator('textarea[name="kwargs"]').fill(f'{{"label": "{XSS}"}}')
    form.locator('button[type="submit"]').click()
    row = page.locator(f'tr[data-name="{name}"]')
    sync_api.expect(row).to_contain_text("every 1s", timeout=10_000)

    def fired() -> list[Any]:
        return [r for r in stack.bridge.list(task_name="dash.tick", limit=50)
                if (r.idempotency_key or "").startswith(f"schedule:{name}:")
                and r.status is Status.SUCCEEDED]

    [tick, *_] = wait_for(fired, 30, f"schedule {name} to fire")
    assert tick.kwargs == {"label": XSS}
    sync_api.expect(row.locator(".badge.SUCCEEDED")).to_be_visible(timeout=20_000)
    row.locator('[data-action="pause"]').click()
    sync_api.expect(row.locator(".badge.PAUSED")).to_be_visible(timeout=10_000)
    web.shot("schedules")


def test_dashboard_counts_change_without_a_reload(web: Browser, stack: Stack) -> None:
    """The dashboard's numbers move on their own as work finishes: no reload."""
    page = web.open("")
    succeeded = page.locator('[data-count="Succeeded"] .value')
    sync_api.expect(succeeded).to_have_text(re.compile(r"^\d"), timeout=10_000)
    before = int(succeeded.inner_text().replace(",", ""))
    page.evaluate("window.__notReloaded = true")
    results = tasks.add.using(bridge=stack.bridge).enqueue_many([(i, i) for i in range(5)])
    for result in results:
        result.wait(timeout=30)
    sync_api.expect(succeeded).to_have_text(str(before + 5), timeout=20_000)
    assert page.evaluate("window.__notReloaded") is True
    sync_api.expect(page.locator("#workers")).to_contain_text(stack.url.split("+")[0])
    web.shot("dashboard")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_renders_at_each_size(browser: Any, stack: Stack, shots: Path,
                                         size: str) -> None:
    """Every page renders without script errors at desktop and phone width (screenshots)."""
    done = tasks.add.using(bridge=stack.bridge).enqueue(20, 22)
    done.wait(timeout=30)
    web = Browser(browser, stack, shots, size)
    try:
        for name, path, ready in (("dashboard", "", "#tasks table"),
                                  ("executions", "executions", "#executions table"),
                                  ("detail", f"executions/{done.id}", "#value"),
                                  ("schedules", "schedules", "#schedules")):
            page = web.open(path)
            sync_api.expect(page.locator(ready)).to_be_visible(timeout=15_000)
            web.shot(f"page-{name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"] + 1, f"{name} scrolls sideways at {size}"
    finally:
        web.close()
