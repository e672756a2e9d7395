"""Real ``flask taskbridge worker`` processes on huey+sqlite and celery+redis: every task runs
in the app's context, with current_app, a fresh g and the app's Flask-SQLAlchemy session on
PostgreSQL; ``flask taskbridge scheduler`` enqueues the app's schedules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_app
import pytest
from flask import Flask
from flask_app import Note, db
from processes import environment, running

from taskbridge import Every, Status
from taskbridge.plugin import installed_engines
from taskbridge.testing.cleanup import delete_url_namespace
from taskbridge.testing.conformance.harness import isolate
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import test_redis_url

pytestmark = pytest.mark.slow


def backend_url(kind: str, folder: Path) -> str:
    engine = {"huey+sqlite": "huey", "celery+redis": "celery"}[kind]
    if engine not in installed_engines():
        pytest.skip(f"taskbridge-{engine} is not installed")
    if kind == "huey+sqlite":
        return f"huey+sqlite:///{folder / 'tasks.db'}"
    return isolate(f"celery+{test_redis_url()}", folder)


@pytest.fixture(params=["huey+sqlite", "celery+redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path,
          postgres_url: str) -> Iterator[tuple[Flask, dict[str, str], Path]]:
    """The producer app, and the environment its worker processes build the same app from."""
    url = backend_url(request.param, tmp_path)
    app = flask_app.create_app(TASKBRIDGE_URL=url, SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        db.create_all()
    yield app, environment(url, postgres_url), tmp_path
    flask_app.tasks_ext.close(app)
    with app.app_context():
        db.engine.dispose()
    delete_url_namespace(url)


def log(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def test_a_flask_worker_runs_tasks_in_the_app_context(stack: Any) -> None:
    """Tasks enqueued by a request run on a flask taskbridge worker with current_app, a fresh
    g per task and the app's database session (PostgreSQL)."""
    app, env, folder = stack
    with app.app_context():
        note = Note(text="from the web")
        db.session.add(note)
        db.session.commit()
        note_id = note.id
    worker_log = folder / "worker.log"
    with running(["taskbridge", "worker", "-c", "2"], env, worker_log) as worker:
        client = app.test_client()
        ids = [client.post("/whoami").get_json()["id"] for _ in range(3)]
        with app.app_context():
            done = flask_app.mark_done.enqueue(note_id)
            results = [flask_app.tasks_ext.bridge.get_result(id) for id in ids]

            def finished() -> bool:
                assert worker.poll() is None, log(worker_log)
                return all(r.refresh().status.is_final for r in [*results, done])

            wait_for(finished, 60, f"the tasks to finish; worker log:\n{log(worker_log)}")
            assert [r.value for r in results] == [
                {"app": "flask_app", "label": "tests", "fresh_g": True}] * 3, (
                [r.error for r in results])
            assert done.status is Status.SUCCEEDED, done.error
            db.session.expire_all()
            assert db.session.get(Note, note_id).done_by == "tests"


def test_a_flask_scheduler_enqueues_the_apps_schedules(stack: Any) -> None:
    """flask taskbridge scheduler and worker, from the app's config alone, run a schedule."""
    app, env, folder = stack
    with app.app_context():
        bridge = flask_app.tasks_ext.bridge
        bridge.schedules.add("every-second", flask_app.whoami_tick, Every(seconds=1))
    with running(["taskbridge", "worker"], env, folder / "worker.log"), \
            running(["taskbridge", "scheduler", "--max-sleep", "0.2"], env,
                    folder / "scheduler.log"):
        def ran() -> Any:
            found = bridge.list(task_name="flask_app.whoami_tick", status=Status.SUCCEEDED)
            return found[0] if found else None

        tick = wait_for(ran, 60, f"a scheduled tick to run; logs:\n{log(folder / 'worker.log')}"
                                 f"\n{log(folder / 'scheduler.log')}")
    assert tick.value["app"] == "flask_app"
