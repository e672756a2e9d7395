"""taskbridge's record of an execution as Django's ``TaskResult``: statuses, one error and one
worker id per attempt, the return value and the four timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from taskbridge import Attempt, ErrorInfo, Record, Status
from taskbridge_django.django_tasks_api import TaskError, TaskResult, TaskResultStatus

#: PENDING and RETRYING wait to run (again): Django's READY. CANCELED is final without success.
STATUSES = {
    Status.PENDING: TaskResultStatus.READY,
    Status.RETRYING: TaskResultStatus.READY,
    Status.RUNNING: TaskResultStatus.RUNNING,
    Status.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    Status.FAILED: TaskResultStatus.FAILED,
    Status.CANCELED: TaskResultStatus.FAILED,
}


def _time(timestamp: float | None) -> dt.datetime | None:
    return None if timestamp is None else dt.datetime.fromtimestamp(timestamp, dt.UTC)


def exception_class_path(error: ErrorInfo) -> str:
    """The error's type as Django's ``import_string`` finds it (taskbridge stores built-in
    types by their bare name: ``ValueError``)."""
    return error.type if "." in error.type else f"builtins.{error.type}"


def _task_error(error: ErrorInfo) -> Any:
    return TaskError(exception_class_path=exception_class_path(error), traceback=error.traceback)


def _attempts(record: Record) -> list[Attempt]:
    """One entry per attempt started, oldest first; attempts older than the record's history
    (over ``ATTEMPT_HISTORY_SIZE``) are known only by their number."""
    kept = {attempt.attempt: attempt for attempt in record.attempt_history}
    return [kept.get(n) or Attempt(n) for n in range(1, record.attempts + 1)]


def _errors(record: Record, attempts: list[Attempt]) -> list[Any]:
    """One ``TaskError`` per failed attempt; the last one whole (its history entry keeps only
    the start of the message and the end of the traceback)."""
    errors = [_task_error(a.error) for a in attempts if a.error is not None]
    if record.error is not None:
        errors[-1:] = [_task_error(record.error)]
    return errors


def task_result(task: Any, record: Record, backend: str) -> Any:
    """The ``TaskResult`` of ``task`` (a Django task) for ``record``."""
    attempts = _attempts(record)
    started = [a.started_at for a in attempts if a.started_at is not None]
    result = TaskResult(
        task=task,
        id=record.id,
        status=STATUSES[record.status],
        enqueued_at=_time(record.enqueued_at),
        started_at=_time(started[0] if started else record.started_at),
        finished_at=_time(record.finished_at),
        last_attempted_at=_time(record.started_at),
        args=list(record.args),
        kwargs=dict(record.kwargs),
        backend=backend,
        errors=_errors(record, attempts),
        worker_ids=[a.worker or "" for a in attempts],
    )
    if record.status is Status.SUCCEEDED:
        # Django's TaskResult keeps its return value in a field it sets itself (init=False).
        object.__setattr__(result, "_return_value", record.value)
    return result
