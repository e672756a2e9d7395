"""A small Flask app for the adapter's tests: an app factory, a Flask-SQLAlchemy model and
tasks that use ``current_app``, ``g`` and ``db.session``. Workers import it by name."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, g, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column
from taskbridge_flask import TaskBridge, after_commit

from taskbridge import RetryPolicy, TaskContext, task

db = SQLAlchemy()
tasks_ext = TaskBridge()


class Note(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    done_by: Mapped[str | None]


@task(name="flask_app.whoami")
def whoami() -> dict[str, Any]:
    """Where the task runs: the app's name, a value from its config, a fresh ``g``."""
    fresh = not hasattr(g, "marker")
    g.marker = True
    return {"app": current_app.name, "label": current_app.config.get("LABEL"),
            "fresh_g": fresh}


@task(name="flask_app.whoami_tick")
def whoami_tick(timestamp: int) -> dict[str, Any]:
    """A periodic task: where it runs, for the scheduler's tick."""
    return {"app": current_app.name, "tick": timestamp}


@task(name="flask_app.mark_done")
def mark_done(note_id: int) -> dict[str, Any]:
    """Reads and writes a row through the app's db.session; reports the session it used."""
    note = db.session.get(Note, note_id)
    if note is None:
        raise LookupError(f"no note {note_id}")
    note.done_by = current_app.config["LABEL"]
    db.session.commit()
    return {"text": note.text, "session": id(db.session())}


@task(name="flask_app.progress", context=True, retry=RetryPolicy(max_attempts=2, backoff=0.1))
def progress(context: TaskContext, steps: int) -> int:
    for step in range(steps):
        context.set_progress(100 * (step + 1) / steps, f"step {step + 1}")
    return steps


def create_app(**config: Any) -> Flask:
    """The app factory: ``TASKBRIDGE_*`` and the database from ``config`` or the environment
    (``FLASK_TEST_CONFIG`` lets worker processes build the same app)."""
    app = Flask("flask_app")
    app.config.update(
        LABEL="tests", SECRET_KEY="not secret", TASKBRIDGE_IMPORTS=["flask_app"],
        SQLALCHEMY_DATABASE_URI=os.environ.get("FLASK_TEST_DATABASE", "sqlite://"),
    )
    url = os.environ.get("FLASK_TEST_TASKBRIDGE_URL")
    if url:
        app.config["TASKBRIDGE_URL"] = url
    app.config.update(config)
    db.init_app(app)
    tasks_ext.init_app(app)

    @app.post("/notes/<text>")
    def add_note(text: str) -> Any:
        note = Note(text=text)
        db.session.add(note)
        db.session.flush()
        waiting = after_commit(mark_done).enqueue(note.id)
        db.session.commit()
        assert waiting.result is not None
        return jsonify(id=waiting.result.id, note=note.id), 202

    @app.post("/whoami")
    def start_whoami() -> Any:
        return jsonify(id=whoami.enqueue().id), 202

    @app.get("/results/<id>")
    def result(id: str) -> Any:
        found = tasks_ext.bridge.get_result(id)
        return jsonify(status=found.status.value, value=found.value)

    return app
