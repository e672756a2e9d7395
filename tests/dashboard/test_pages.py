"""The HTML shell and its static files: shipped in the package, escaped, locked down by CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from conftest import TASKS, Api
from taskbridge import Bridge
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.messages import Request
from taskbridge._dashboard.security import allow_everyone


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    """These checks do not depend on the store: memory:// only."""
    made = Bridge("memory://", imports=[TASKS])
    yield made
    made.close()


def test_every_page_path_serves_the_shell(bridge: Bridge, api: Api) -> None:
    """Dashboard, executions, an execution and schedules all answer the HTML shell."""
    for path in ("/", "/executions", "/executions/abc123", "/schedules", "/tasks/dash.add"):
        response = api.call("GET", path)
        assert response.status == 200, path
        headers = dict(response.headers)
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"


def test_assets_are_local_and_the_shell_loads_nothing_from_elsewhere(api: Api) -> None:
    """Every src/href in the shell points into the package's static files, which are served."""
    html = api.call("GET", "/").body.decode()
    links = re.findall(r'<(?:script src|link rel="\w+" href)="([^"]+)"', html)
    assert links and all(link.startswith("/static/") for link in links), links
    for link in links:
        response = api.call("GET", link)
        assert response.status == 200, link
        text = response.body.replace(b"http://www.w3.org/2000/svg", b"")  # a name, not a load
        assert b"http://" not in text and b"https://" not in text and b"//cdn" not in text, link
    etag = dict(api.call("GET", links[0]).headers)["ETag"]
    assert api.call("GET", links[0], headers={"if-none-match": etag}).status == 304


def test_mount_prefix_is_written_escaped(bridge: Bridge) -> None:
    """The mount prefix lands in the page attribute-escaped."""
    handler = Handler(bridge, authorize=allow_everyone)
    response = handler(Request("GET", "/", root='/x"><script>/'))
    body = response.body.decode()
    assert '<script>/' not in body and "/x&quot;&gt;&lt;script&gt;/" in body


def test_unknown_paths_and_methods(api: Api) -> None:
    """Unknown paths are 404 problems, wrong methods 405 with Allow, no path escapes static."""
    assert api.call("GET", "/static/../pyproject.toml").status == 404
    assert api.call("GET", "/static/index.html").status == 404
    assert api.call("GET", "/static/nope.js").status == 404
    assert api.call("GET", "/api/nothing").status == 404
    response = api.call("DELETE", "/api/executions")
    assert response.status == 405 and dict(response.headers)["Allow"] == "GET"
