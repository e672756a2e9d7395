"""The example app (examples/flask), started with its one command on huey+sqlite and on
celery+redis, driven in a real browser (Playwright + Debian's Chromium): start a selection,
watch the progress bar reach 100 %, find it on the mounted dashboard; and its JSON API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskbridge.plugin import installed_engines
from taskbridge.testing.cleanup import delete_url_namespace
from taskbridge.testing.conformance.harness import isolate
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import test_redis_url

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "flask"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("flask-example")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Example:
    """``python examples/flask/run.py`` in a folder of its own."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = folder / "example.log"
        env = dict(os.environ, TASKBRIDGE_URL=url, TASKBRIDGE_HEARTBEAT_INTERVAL="1",
                   FLASK_SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'selection.db'}",
                   FLASK_SELECTION_STEP_SECONDS="0.15", FLASK_SHEET_FAILURE_RATE="0.5")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(EXAMPLE / "run.py"), "--port", self.base.rsplit(":", 1)[1],
                 "--dir", str(folder)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.serving, 60, f"the example to serve; its log:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def serving(self) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            with urllib.request.urlopen(self.base + "/", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    def call(self, method: str, path: str, data: bytes | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> None:
        """SIGTERM the whole process group (app, worker, scheduler) and wait until none of it
        is left: a worker still shutting down after the app exits puts the messages it held
        back on the queue (Celery restores unacknowledged ones), after the namespace's cleanup
        if that came first."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
            wait_for(self._group_gone, 30, "the example's worker and scheduler to exit")
        except (subprocess.TimeoutExpired, AssertionError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def _group_gone(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False


@pytest.fixture(scope="module", params=["huey+sqlite", "celery+redis"])
def example(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The example app, worker and scheduler, on the embedded default or on Celery."""
    folder = tmp_path_factory.mktemp(request.param.replace("+", "-"))
    if request.param == "huey+sqlite":
        url = f"huey+sqlite:///{folder / 'taskbridge.db'}"
    else:
        if "celery" not in installed_engines():
            pytest.skip("taskbridge-celery is not installed")
        url = isolate(f"celery+{test_redis_url()}", folder)
    started = Example(url, folder)
    yield started
    started.stop()
    delete_url_namespace(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; never Playwright's own browser download."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $TASKBRIDGE_SCREENSHOTS, or a pytest temporary directory."""
    given = os.environ.get("TASKBRIDGE_SCREENSHOTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_json_api_polls_status_cancels_and_maps_errors(example: Example) -> None:
    """POST starts a selection (202 with an id), GET polls it to SUCCEEDED with its messages,
    cancel stops one, and an unknown id is a 404 problem response."""
    status, started = example.call("POST", "/selections", b"people=4")
    assert status == 202

    def finished() -> Any:
        code, data = example.call("GET", f"/selections/{started['id']}")
        assert code == 200, data
        return data if data["status"] in ("SUCCEEDED", "FAILED") else None

    data = wait_for(finished, 90, f"the selection to finish; log:\n{example.output()}")
    assert data["status"] == "SUCCEEDED", data
    assert data["percent"] == 100 and len(data["value"]["selected"]) == 4
    assert data["messages"][0] == "loading the respondents sheet"
    assert data["messages"][-1] == "selected 4 people"
    _, other = example.call("POST", "/selections", b"people=4")
    assert example.call("POST", f"/selections/{other['id']}/cancel")[0] == 202
    wait_for(lambda: example.call("GET", f"/selections/{other['id']}")[1]["status"]
             == "CANCELED", 60, "the canceled selection to end CANCELED")
    code, problem = example.call("GET", "/selections/no-such-id")
    assert code == 404 and "no-such-id" in problem["detail"]


def test_in_a_browser_the_progress_bar_reaches_100_and_the_dashboard_shows_it(
    example: Example, browser: Any, shots: Path, request: pytest.FixtureRequest,
) -> None:
    """Start a selection from the page, watch the bar reach 100 %, see the execution (and the
    retried sheet loads) on the dashboard mounted at /tasks/."""
    kind = request.node.callspec.params["example"].replace("+", "-")
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(example.base + "/")
    page.fill("input[name=people]", "12")
    page.click("text=Start selection")
    page.wait_for_function(
        "() => { const v = Number(document.querySelector('.bar').getAttribute('aria-valuenow'));"
        " return v > 0 && v < 100; }", timeout=60_000)
    page.screenshot(path=str(shots / f"example-{kind}-running.png"))
    page.wait_for_selector(".bar[aria-valuenow='100']", timeout=60_000)
    page.wait_for_selector("#status:text('SUCCEEDED')", timeout=30_000)
    assert page.inner_text("#percent") == "100 %"
    assert "selected 12 people" in page.inner_text("#messages")
    page.screenshot(path=str(shots / f"example-{kind}-done.png"))
    page.click("text=Task dashboard")
    page.wait_for_url(example.base + "/tasks/")
    page.goto(example.base + "/tasks/executions")
    page.wait_for_selector("text=selection_app.tasks.run_selection", timeout=30_000)
    page.screenshot(path=str(shots / f"example-{kind}-dashboard.png"), full_page=True)
    page.close()
