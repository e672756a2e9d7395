"""taskbridge errors raised in views become JSON problem responses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask_app
import pytest
from flask import Flask

from taskbridge import InvalidTaskOptions

#: Nothing listens on port 9 (discard): Redis engines fail to connect at once.
DOWN = "rq+redis://127.0.0.1:9/0"


@pytest.fixture
def app() -> Iterator[Flask]:
    """The test app on a Redis backend that is down, with a view raising a plain bug."""
    made = flask_app.create_app(TASKBRIDGE_URL=DOWN, PROPAGATE_EXCEPTIONS=False)

    @made.get("/bug")
    def bug() -> Any:
        raise InvalidTaskOptions("priority must be an int")

    yield made
    flask_app.tasks_ext.close(made)


@pytest.fixture
def memory_app() -> Iterator[Flask]:
    """The test app on memory://."""
    made = flask_app.create_app(TASKBRIDGE_URL="memory://")
    yield made
    flask_app.tasks_ext.close(made)


def test_an_unknown_id_is_a_404_problem(memory_app: Flask) -> None:
    """ResultNotFound in a view answers 404 application/problem+json naming the id."""
    answer = memory_app.test_client().get("/results/nope")
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["status"] == 404 and "nope" in answer.get_json()["detail"]


def test_an_unreachable_backend_is_a_503_with_retry_after(app: Flask) -> None:
    """EnqueueError (the backend is down) answers 503 with Retry-After, not an HTML 500."""
    answer = app.test_client().post("/whoami")
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert int(answer.headers["Retry-After"]) > 0
    assert "try again" in answer.get_json()["detail"]


def test_an_unreachable_store_while_reading_is_a_503(app: Flask) -> None:
    """A Redis connection error while reading a result answers 503 too."""
    answer = app.test_client().get("/results/abc")
    assert answer.status_code == 503, answer.data[:500]
    assert answer.headers["Retry-After"]
    assert "ConnectionError" in answer.get_json()["detail"]


def test_other_taskbridge_errors_are_a_500_problem_without_details(app: Flask) -> None:
    """A taskbridge error that is a bug in the view answers 500 JSON, details in the log."""
    answer = app.test_client().get("/bug")
    assert answer.status_code == 500
    assert answer.get_json()["detail"] == (
        "internal error (InvalidTaskOptions); see the server's log"
    )


def test_an_earlier_500_handler_still_answers_other_errors() -> None:
    """A 500 handler the app registered before init_app keeps answering other errors."""
    from flask import Flask

    made = Flask("own500")
    made.config.update(TASKBRIDGE_URL="memory://", PROPAGATE_EXCEPTIONS=False)
    made.register_error_handler(500, lambda error: ("our own page", 500))

    @made.get("/boom")
    def boom() -> Any:
        raise ZeroDivisionError

    flask_app.tasks_ext.init_app(made)
    answer = made.test_client().get("/boom")
    assert (answer.status_code, answer.data) == (500, b"our own page")


def test_json_errors_can_be_turned_off() -> None:
    """TASKBRIDGE_JSON_ERRORS=False leaves taskbridge errors to Flask (an HTML 500)."""
    made = flask_app.create_app(TASKBRIDGE_URL=DOWN, TASKBRIDGE_JSON_ERRORS=False,
                                PROPAGATE_EXCEPTIONS=False)
    answer = made.test_client().post("/whoami")
    assert answer.status_code == 500
    assert answer.mimetype == "text/html"
    flask_app.tasks_ext.close(made)
