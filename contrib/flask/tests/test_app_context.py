"""Tasks run in the application context: current_app, g and Flask-SQLAlchemy sessions work
inside a task, and the session is removed after each task."""

from __future__ import annotations

from typing import Any

import flask_app
import pytest
from flask import Flask
from flask_app import Note, db

from taskbridge import Status


@pytest.fixture
def pg_app(postgres_url: str) -> Any:
    """The test app on its own PostgreSQL database, with the notes table."""
    app = flask_app.create_app(SQLALCHEMY_DATABASE_URI=postgres_url, LABEL="pg")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_run_pending_runs_each_task_in_a_fresh_app_context(taskbridge_memory: Any) -> None:
    """run_pending() inside app.app_context() gives every task current_app and a fresh g."""
    app = flask_app.create_app(LABEL="kit")
    with app.app_context():
        first, second = flask_app.whoami.enqueue(), flask_app.whoami.enqueue()
        taskbridge_memory.run_pending()
    for result in (first, second):
        assert result.refresh().value == {"app": "flask_app", "label": "kit", "fresh_g": True}


def test_a_task_uses_the_apps_database_session_on_postgresql(
    pg_app: Flask, taskbridge_memory: Any,
) -> None:
    """A task reads and writes a Flask-SQLAlchemy model on PostgreSQL through db.session, in a
    session of its own that is removed when the task ends."""
    with pg_app.app_context():
        note = Note(text="buy milk")
        db.session.add(note)
        db.session.commit()
        request_session = id(db.session())
        results = [flask_app.mark_done.enqueue(note.id) for _ in range(2)]
        taskbridge_memory.run_pending()
        values = [r.refresh().value for r in results]
        assert [r.status for r in results] == [Status.SUCCEEDED] * 2, [r.error for r in results]
        assert [v["text"] for v in values] == ["buy milk"] * 2
        # Each attempt had its own session, neither of them the caller's.
        sessions = {v["session"] for v in values} | {request_session}
        assert len(sessions) == 3
        db.session.expire_all()
        assert db.session.get(Note, note.id).done_by == "pg"


def test_the_session_is_removed_after_each_task(
    pg_app: Flask, taskbridge_memory: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Flask-SQLAlchemy's session is removed once per task, when its app context ends."""
    removed: list[int] = []
    original = db.session.remove

    def remove() -> None:
        removed.append(1)
        original()

    monkeypatch.setattr(db.session, "remove", remove)
    with pg_app.app_context():
        note = Note(text="x")
        db.session.add(note)
        db.session.commit()
        for _ in range(3):
            flask_app.mark_done.enqueue(note.id)
        before = len(removed)
        taskbridge_memory.run_pending()
        assert len(removed) - before == 3
