"""after_commit(task).enqueue(...): sent when the Flask-SQLAlchemy session commits, never
when it rolls back (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask_app
import pytest
from flask import Flask
from flask_app import Note, db
from taskbridge_flask import after_commit

from taskbridge import ArgumentsNotSerializable


@pytest.fixture
def app(postgres_url: str, taskbridge_memory: Any) -> Iterator[Flask]:
    """The test app on its own PostgreSQL database, inside an app context."""
    made = flask_app.create_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    with made.app_context():
        db.create_all()
        yield made
        db.session.remove()
        db.engine.dispose()


def add_note(text: str) -> Note:
    note = Note(text=text)
    db.session.add(note)
    db.session.flush()
    return note


def test_sent_on_commit(app: Flask, taskbridge_memory: Any) -> None:
    """Nothing is sent before the commit; the commit sends it, and the handle has the result."""
    note = add_note("a")
    waiting = after_commit(flask_app.mark_done).enqueue(note.id)
    taskbridge_memory.assert_not_enqueued(flask_app.mark_done)
    assert not waiting.sent
    db.session.commit()
    [sent] = taskbridge_memory.assert_enqueued(flask_app.mark_done, args=[note.id], count=1)
    assert waiting.result is not None and waiting.result.id == sent.id


def test_never_sent_on_rollback(app: Flask, taskbridge_memory: Any) -> None:
    """A rollback drops the call; a later commit of a new transaction does not send it."""
    note = add_note("b")
    waiting = after_commit(flask_app.mark_done).enqueue(note.id)
    db.session.rollback()
    add_note("c")
    db.session.commit()
    taskbridge_memory.assert_not_enqueued(flask_app.mark_done)
    assert waiting.dropped and not waiting.sent


def test_a_savepoint_rollback_drops_only_its_own_calls(
    app: Flask, taskbridge_memory: Any,
) -> None:
    """Calls made inside a rolled-back savepoint are dropped; the others go at the commit."""
    kept = after_commit(flask_app.mark_done).enqueue(add_note("outer").id)
    savepoint = db.session.begin_nested()
    dropped = after_commit(flask_app.mark_done).enqueue(add_note("inner").id)
    savepoint.rollback()
    released = db.session.begin_nested()
    inner_kept = after_commit(flask_app.whoami).enqueue()
    released.commit()
    db.session.commit()
    assert kept.sent and inner_kept.sent and dropped.dropped
    assert len(taskbridge_memory.jobs) == 2


def test_a_released_savepoint_is_still_undone_by_the_outer_rollback(
    app: Flask, taskbridge_memory: Any,
) -> None:
    """A call in a savepoint that was released is dropped when the outer transaction rolls
    back."""
    add_note("x")
    with db.session.begin_nested():
        waiting = after_commit(flask_app.whoami).enqueue()
    db.session.rollback()
    assert waiting.dropped
    assert taskbridge_memory.jobs == {}


def test_a_session_closed_without_commit_drops_the_call(
    app: Flask, taskbridge_memory: Any,
) -> None:
    """The request ends (session removed) without a commit: nothing is sent."""
    add_note("y")
    waiting = after_commit(flask_app.whoami).enqueue()
    db.session.remove()
    assert waiting.dropped
    assert taskbridge_memory.jobs == {}


def test_outside_a_transaction_it_is_sent_at_once(app: Flask, taskbridge_memory: Any) -> None:
    """With no transaction in progress there is nothing to wait for."""
    db.session.commit()
    waiting = after_commit(flask_app.whoami).enqueue()
    assert waiting.sent
    taskbridge_memory.assert_enqueued(flask_app.whoami, count=1)


def test_arguments_are_checked_at_the_call(app: Flask) -> None:
    """A non-JSON argument fails in the view, not later inside session.commit()."""
    add_note("z")
    with pytest.raises(ArgumentsNotSerializable, match=r"args\[0\]"):
        after_commit(flask_app.mark_done).enqueue({1, 2})  # type: ignore[arg-type]


def test_a_view_that_commits_sends_once(app: Flask, taskbridge_memory: Any) -> None:
    """Through the test client: the view's commit sends the task, whose id it returns."""
    answer = app.test_client().post("/notes/hello")
    assert answer.status_code == 202
    [sent] = taskbridge_memory.assert_enqueued(flask_app.mark_done, count=1)
    assert sent.id == answer.get_json()["id"]
    taskbridge_memory.run_pending()
    db.session.expire_all()
    assert db.session.get(Note, answer.get_json()["note"]).done_by == "tests"
