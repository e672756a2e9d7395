"""The dashboard blueprint: the core's pages and API under the app's prefix, authorized by the
app's callable (denied by default), CSRF tokens for cookie sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import flask_app
import pytest
from flask import Flask, request, session

from taskbridge import Status

ORIGIN = "http://localhost"


def make_app(**config: Any) -> Flask:
    app = flask_app.create_app(TASKBRIDGE_URL="memory://", **config)
    app.register_blueprint(flask_app.tasks_ext.dashboard, url_prefix="/tasks")

    @app.post("/login")
    def login() -> str:
        session["user"] = "ops"
        return "ok"

    return app


@pytest.fixture
def app() -> Iterator[Flask]:
    """An app whose dashboard lets in sessions that logged in."""
    made = make_app(TASKBRIDGE_DASHBOARD_AUTHORIZE=lambda: session.get("user") == "ops")
    yield made
    flask_app.tasks_ext.close(made)


def failed_execution(app: Flask) -> str:
    with app.app_context():
        bridge = flask_app.tasks_ext.bridge
        result = flask_app.whoami.enqueue()
        bridge.store.start(result.id, 1, worker="test", now=1.0)
        bridge.store.finish(result.id, 1, Status.FAILED, now=2.0, idempotency_ttl=60)
        return result.id


def csrf_token(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', page)
    assert found is not None
    return found.group(1)


def test_the_dashboard_is_denied_unless_the_app_says_who_may_see_it() -> None:
    """Without TASKBRIDGE_DASHBOARD_AUTHORIZE every page and API call is a 403 naming it."""
    app = make_app()
    for path in ("/tasks/", "/tasks/api/executions", "/tasks/api/health"):
        answer = app.test_client().get(path)
        assert answer.status_code == 403
        assert "TASKBRIDGE_DASHBOARD_AUTHORIZE" in answer.get_json()["detail"]


def test_the_authorize_callable_runs_inside_the_request(app: Flask) -> None:
    """The callable sees the request's session: denied before login, allowed after."""
    client = app.test_client()
    assert client.get("/tasks/api/executions").status_code == 403
    client.post("/login")
    answer = client.get("/tasks/api/executions")
    assert answer.status_code == 200
    assert answer.get_json() == {"items": [], "next_cursor": None}


def test_an_authorize_callable_may_abort_with_its_own_response() -> None:
    """An authorize callable can abort (e.g. 401 for an API client) and Flask answers it."""
    from flask import abort

    def api_key_only() -> bool:
        if request.headers.get("X-Api-Key") != "k":
            abort(401)
        return True

    client = make_app(TASKBRIDGE_DASHBOARD_AUTHORIZE=api_key_only).test_client()
    assert client.get("/tasks/api/health").status_code == 401
    assert client.get("/tasks/api/health", headers={"X-Api-Key": "k"}).status_code == 200


def test_the_pages_are_mounted_under_the_prefix(app: Flask) -> None:
    """The HTML shell names the blueprint's prefix as its root and loads its static files."""
    client = app.test_client()
    client.post("/login")
    page = client.get("/tasks/executions").get_data(as_text=True)
    assert '<meta name="taskbridge-root" content="/tasks/">' in page
    assert client.get("/tasks/static/core.js").status_code == 200
    assert client.get("/tasks/api/openapi.json").get_json()["openapi"].startswith("3.1")


def test_state_changes_from_a_cookie_session_need_the_pages_csrf_token(app: Flask) -> None:
    """A logged-in browser's POST needs the token the page carried; with it, retry works."""
    id = failed_execution(app)
    client = app.test_client()
    client.post("/login")
    token = csrf_token(client.get("/tasks/").get_data(as_text=True))
    assert token
    headers = {"Origin": ORIGIN}
    refused = client.post(f"/tasks/api/executions/{id}/retry", json={}, headers=headers)
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["detail"]
    wrong = client.post(f"/tasks/api/executions/{id}/retry", json={},
                        headers={**headers, "X-CSRFToken": "guess"})
    assert wrong.status_code == 403
    done = client.post(f"/tasks/api/executions/{id}/retry", json={},
                       headers={**headers, "X-CSRFToken": token})
    assert done.status_code == 202, done.get_json()
    assert done.get_json()["id"] != id


def test_a_cross_site_form_post_is_refused_even_with_the_token(app: Flask) -> None:
    """Form posts and other origins are refused before the token is even looked at."""
    id = failed_execution(app)
    client = app.test_client()
    client.post("/login")
    token = csrf_token(client.get("/tasks/").get_data(as_text=True))
    form = client.post(f"/tasks/api/executions/{id}/cancel", data={"x": "1"},
                       headers={"X-CSRFToken": token})
    assert form.status_code == 415
    other = client.post(f"/tasks/api/executions/{id}/cancel", json={},
                        headers={"X-CSRFToken": token, "Origin": "http://evil.example"})
    assert other.status_code == 403


def test_a_script_without_cookies_posts_json_without_a_token() -> None:
    """A client that authenticates each request itself (no cookie) needs no CSRF token."""
    app = make_app(TASKBRIDGE_DASHBOARD_AUTHORIZE=lambda: request.headers.get("X-Api-Key") == "k")
    id = failed_execution(app)
    client = app.test_client(use_cookies=False)
    done = client.post(f"/tasks/api/executions/{id}/retry", json={}, headers={"X-Api-Key": "k"})
    assert done.status_code == 202


def test_without_a_secret_key_state_changes_say_what_to_set() -> None:
    """With no SECRET_KEY a cookie session cannot hold the token: the 403 says to set it."""
    app = make_app(SECRET_KEY=None, TASKBRIDGE_DASHBOARD_AUTHORIZE=lambda: True)
    id = failed_execution(app)
    client = app.test_client()
    client.set_cookie("other", "1")
    answer = client.post(f"/tasks/api/executions/{id}/retry", json={},
                         headers={"X-CSRFToken": "x"})
    assert answer.status_code == 403
    assert "SECRET_KEY" in answer.get_json()["detail"]


def test_the_dashboard_reads_the_test_bridge_under_taskbridge_memory(
    app: Flask, taskbridge_memory: Any,
) -> None:
    """Under taskbridge_memory the mounted dashboard shows the test's executions."""
    client = app.test_client()
    client.post("/login")
    sent = client.post("/whoami").get_json()["id"]
    items = client.get("/tasks/api/executions").get_json()["items"]
    assert [item["id"] for item in items] == [sent]
