"""taskbridge errors raised in a view, answered as JSON problem responses (RFC 9457)."""

from __future__ import annotations

from flask import Flask, Response, current_app

from taskbridge import (
    EnqueueError,
    ResultNotFound,
    ScheduleNotFound,
    StoreUnavailable,
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
    if isinstance(error, EnqueueError | StoreUnavailable):
        current_app.logger.warning("taskbridge: %s", error)
        return unavailable(error.__cause__ or error)
    current_app.logger.error("taskbridge error in a view", exc_info=error)
    return problem(500, f"internal error ({type(error).__name__}); see the server's log")


def register(app: Flask) -> None:
    """Answer taskbridge errors raised in the app's views with problem responses. A store or
    broker that does not answer is ``EnqueueError`` or ``StoreUnavailable`` (the core translates
    driver errors); a 500 handler the app registered stays for every other error."""
    app.register_error_handler(TaskBridgeError, taskbridge_error)
