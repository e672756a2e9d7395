"""The taskbridge_memory fixture with Flask's test client and an app factory."""

from __future__ import annotations

from typing import Any

import flask_app

from taskbridge import Status

#: A backend nothing listens on: reaching it would fail the test.
UNREACHABLE = "rq+redis://127.0.0.1:9/0"


def test_a_request_enqueues_on_the_test_bridge_not_the_apps_backend(
    taskbridge_memory: Any,
) -> None:
    """Tasks a request enqueues are asserted on taskbridge_memory; the app's configured
    backend is never opened."""
    app = flask_app.create_app(TASKBRIDGE_URL=UNREACHABLE)
    client = app.test_client()
    answer = client.post("/whoami")
    assert answer.status_code == 202
    [sent] = taskbridge_memory.assert_enqueued(flask_app.whoami, count=1)
    assert sent.id == answer.get_json()["id"]
    with app.app_context():
        taskbridge_memory.run_pending()
    assert client.get(f"/results/{sent.id}").get_json() == {
        "status": "SUCCEEDED", "value": {"app": "flask_app", "label": "tests", "fresh_g": True},
    }
    assert app.extensions["taskbridge"]._bridge is None


def test_tasks_ext_bridge_is_the_test_bridge(taskbridge_memory: Any) -> None:
    """Inside the app's context, tasks_ext.bridge is the fixture's bridge during the test."""
    app = flask_app.create_app(TASKBRIDGE_URL=UNREACHABLE)
    with app.app_context():
        assert flask_app.tasks_ext.bridge is taskbridge_memory.bridge
        flask_app.progress.enqueue(4)
        taskbridge_memory.run_pending()
    [done] = taskbridge_memory.succeeded_jobs
    assert done.status is Status.SUCCEEDED and done.progress == (100.0, "step 4")
