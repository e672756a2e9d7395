"""taskbridge errors raised in a view, answered as JSON problem responses (RFC 9457)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, has_app_context
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import InternalServerError

from taskbridge import (
    EnqueueError,
    ResultNotFound,
    ScheduleNotFound,
    TaskBridgeError,
    TaskNotRegistered,
)
from taskbridge.plugin import DashboardResponse, HTTPProblem, problem_response

#: Seconds a client is told to wait before trying again while the backend or store is down.
RETRY_AFTER = 5
_NOT_FOUND = (ResultNotFound, ScheduleNotFound, TaskNotRegistered)


def flask_response(response: DashboardResponse) -> Response:
    """A core HTTP response as a Flask one."""
    return Response(response.body, status=response.status, headers=list(response.headers))


def problem(status: int, detail: str, **headers: str) -> Response:
    return flask_response(problem_response(HTTPProblem(status, detail, headers=headers)))


def unavailable(cause: BaseException) -> Response:
    return problem(
        503, f"the task backend is unreachable right now ({type(cause).__name__}); "
             f"try again in {RETRY_AFTER} seconds",
        **{"Retry-After": str(RETRY_AFTER)},
    )


def taskbridge_error(error: TaskBridgeError) -> Response:
    """An unknown id or name is 404; a backend that cannot be reached is 503; anything else
    is a bug in the view (500, logged, details kept out of the response)."""
    if isinstance(error, _NOT_FOUND):
        return problem(404, str(error))
    if isinstance(error, EnqueueError):
        current_app.logger.warning("taskbridge: %s", error)
        return unavailable(error)
    current_app.logger.error("taskbridge error in a view", exc_info=error)
    return problem(500, f"internal error ({type(error).__name__}); see the server's log")


def store_unreachable(error: BaseException) -> bool:
    """Whether ``error`` is the current bridge's store saying it cannot be reached now."""
    if not has_app_context():
        return False
    from taskbridge import get_bridge

    transient = getattr(get_bridge().store, "transient_errors", ())
    return bool(transient) and isinstance(error, transient)


def register(app: Flask) -> None:
    """Answer taskbridge errors, and a store's driver errors meaning "unreachable" (a Redis
    connection refused while reading a result), with problem responses.

    The store's errors reach Flask unhandled, as a 500; a 500 handler registered earlier still
    answers every other one. With ``PROPAGATE_EXCEPTIONS`` (testing, debug) Flask re-raises
    them before any handler runs.
    """
    app.register_error_handler(TaskBridgeError, taskbridge_error)
    earlier: Any = app.error_handler_spec[None].get(500, {}).get(InternalServerError)

    def server_error(error: InternalServerError) -> ResponseReturnValue:
        cause = error.original_exception
        if cause is not None and store_unreachable(cause):
            return unavailable(cause)
        if earlier is None:
            return error
        answer: ResponseReturnValue = current_app.ensure_sync(earlier)(error)
        return answer

    app.register_error_handler(InternalServerError, server_error)
