"""The admin in a real browser (Playwright on Debian's Chromium), against the live server and
real ``manage.py taskbridge worker`` and ``scheduler`` processes: log in as staff, see a failed
execution with its traceback, retry it from the changelist action, create a cron schedule in the
form and see it fire. Screenshots go to ``$TASKBRIDGE_SCREENSHOTS`` (or the test's folder)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from processes import environment, log_text, start, stop
from taskbridge_django.conf import make_bridge
from testapp.tasks import fails_once

from taskbridge import Status
from taskbridge._bridge import set_bridge
from taskbridge.testing.polling import wait_for

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "staff-password"


@pytest.fixture
def stack(live_server: Any, tmp_path: Path, django_user_model: Any) -> Iterator[Any]:
    """Staff user, the project's bridge on a Huey file of this test's own, one worker and one
    scheduler process; the live server's URL."""
    url = f"huey+sqlite:///{tmp_path / 'tasks.db'}"
    django_user_model.objects.create_user("staff", password=PASSWORD, is_staff=True,
                                          is_superuser=True)
    env = environment(TASKBRIDGE_DJANGO_TEST_URL=url)
    with override_settings(TASKBRIDGE={"URL": url, "STORE": "django"}):
        bridge = make_bridge()
        previous = set_bridge(bridge)
        processes = [start(["taskbridge", "worker", "-c", "2"], env, tmp_path / "worker.log"),
                     start(["taskbridge", "scheduler", "--max-sleep", "0.2"], env,
                           tmp_path / "scheduler.log")]
        try:
            yield live_server.url, bridge, tmp_path
        finally:
            for process in processes:
                stop(process)
            set_bridge(previous)
            bridge.close()


@pytest.fixture
def page(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Chromium page logged in to the admin as staff."""
    # Playwright's sync API keeps an event loop running in this thread, which Django takes
    # for an async context; the test's own ORM calls are synchronous all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base, _, _ = stack
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        opened = browser.new_page(viewport={"width": 1400, "height": 900})
        opened.goto(f"{base}/admin/login/?next=/admin/")
        opened.fill("#id_username", "staff")
        opened.fill("#id_password", PASSWORD)
        opened.click("input[type=submit]")
        sync_api.expect(opened.locator("#site-name")).to_be_visible()
        yield opened
        browser.close()


def shot(page: Any, folder: Path, name: str) -> None:
    target = Path(os.environ.get("TASKBRIDGE_SCREENSHOTS") or folder)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"django-admin-{name}.png"), full_page=True)


def test_failed_execution_traceback_and_retry_from_the_changelist(page: Any, stack: Any) -> None:
    """A failed execution shows FAILED in the changelist and its traceback on its page; the
    changelist's retry action makes a new execution that succeeds."""
    base, bridge, folder = stack
    failing = fails_once.using(bridge=bridge).enqueue(str(folder / f"marker-{uuid.uuid4().hex}"))
    wait_for(lambda: failing.refresh().status is Status.FAILED, 30,
             f"the worker to fail the task\n{log_text([folder / 'worker.log'])}")
    page.goto(f"{base}/admin/taskbridge_django/execution/?status=FAILED")
    row = page.locator("#result_list tbody tr", has_text=failing.id[:12])
    sync_api.expect(row).to_contain_text("FAILED")
    shot(page, folder, "changelist-failed")
    row.locator("th a").click()
    sync_api.expect(page.locator(".field-traceback")).to_contain_text(
        "RuntimeError: first attempt fails on purpose")
    shot(page, folder, "detail-failed")
    page.goto(f"{base}/admin/taskbridge_django/execution/?status=FAILED")
    page.locator("#result_list tbody tr", has_text=failing.id[:12]).locator(
        "input.action-select").check()
    page.select_option("select[name=action]", "retry_selected")
    page.click("button[name=index]")
    sync_api.expect(page.locator("ul.messagelist")).to_contain_text(f"Retried 1: {failing.id}")
    new_id = wait_for(lambda: failing.refresh().retried_as, 10, "the retry's id")
    retried = bridge.get_result(new_id)
    wait_for(lambda: retried.refresh().status is Status.SUCCEEDED, 30, "the retry to succeed")
    page.goto(f"{base}/admin/taskbridge_django/execution/")
    sync_api.expect(page.locator("#result_list tbody tr", has_text=new_id[:12])).to_contain_text(
        "SUCCEEDED")
    shot(page, folder, "changelist-retried")


def test_a_cron_schedule_created_in_the_form_fires(page: Any, stack: Any) -> None:
    """The form shows errors beside their fields (a bad cron expression, arguments the task
    cannot take); a valid cron schedule, every two seconds, is listed and fires."""
    base, bridge, folder = stack
    name = f"cron-{uuid.uuid4().hex[:6]}"
    page.goto(f"{base}/admin/taskbridge_django/schedule/add/")
    page.fill("#id_name", name)
    page.select_option("#id_task", "testapp.tasks.tick")
    page.fill("#id_cron", "61 * * * *")
    page.fill("#id_kwargs", '{"nope": 1}')
    page.click("input[name=_save]")
    sync_api.expect(page.locator(".field-cron .errorlist")).to_contain_text("cron")
    sync_api.expect(page.locator(".field-args .errorlist")).to_contain_text("nope")
    shot(page, folder, "schedule-form-errors")
    page.fill("#id_cron", "* * * * * */2")
    page.fill("#id_kwargs", '{"label": "from the admin"}')
    page.click("input[name=_save]")
    sync_api.expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    sync_api.expect(page.locator("#result_list")).to_contain_text(name)

    def fired() -> list[Any]:
        return [r for r in bridge.list(task_name="testapp.tasks.tick", limit=50)
                if (r.idempotency_key or "").startswith(f"schedule:{name}:")
                and r.status is Status.SUCCEEDED]

    [tick, *_] = wait_for(fired, 30, f"schedule {name} to fire\n"
                          + log_text([folder / "scheduler.log", folder / "worker.log"]))
    assert tick.kwargs == {"label": "from the admin"}
    page.reload()
    sync_api.expect(page.locator("#result_list")).to_contain_text("SUCCEEDED")
    shot(page, folder, "schedules")
