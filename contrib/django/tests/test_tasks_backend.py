"""TaskBridgeBackend without workers (tasks run inline by ``taskbridge_memory``): Django's
validation rules and taskbridge's, the settings the backend reads, the mapping from records to
``TaskResult``, statuses taskbridge has and Django does not (RETRYING, CANCELED), and the
signals of executions that end in the producer's process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from djangotasks import tasks
from taskbridge_django.backend import TaskBridgeBackend
from taskbridge_django.django_tasks_api import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    default_task_backend,
    task_backends,
    task_finished,
)
from taskbridge_django.results import task_result
from testapp.tasks import add

from taskbridge import ArgumentsNotSerializable, Attempt, ErrorInfo, Record, Status
from taskbridge.plugin import ATTEMPT_HISTORY_SIZE

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task  # type: ignore[no-redef]

BACKEND = "taskbridge_django.TaskBridgeBackend"


def module_level(value: int) -> int:
    return value


async def module_level_async() -> None:
    return None


def test_the_configured_backend_is_taskbridges() -> None:
    """settings.TASKS names the backend: Django builds it with its alias, queues and flags."""
    assert isinstance(task_backends["default"], TaskBridgeBackend)
    assert default_task_backend.alias == "default"
    assert default_task_backend.queues == {"default", "emails"}
    assert default_task_backend.supports_defer is True
    assert default_task_backend.supports_async_task is True
    assert default_task_backend.supports_get_result is True


@pytest.mark.parametrize(("url", "priority"), [("huey+sqlite:///tasks.db", True),
                                               ("rq+redis://127.0.0.1:6379/0", False),
                                               ("celery+redis://127.0.0.1:6379/0", True)])
def test_priority_support_follows_the_engine(url: str, priority: bool) -> None:
    """supports_priority is the configured engine's, read without connecting to it; a
    priority the engine cannot order by is refused as Django's rules say."""
    with override_settings(TASKBRIDGE={"URL": url}):
        assert default_task_backend.supports_priority is priority
        if priority:
            assert tasks.noop_task.using(priority=5).priority == 5
        else:
            with pytest.raises(InvalidTask, match="does not support setting priority"):
                tasks.noop_task.using(priority=5)


def test_options_and_bad_queue_names_are_refused() -> None:
    """OPTIONS (taskbridge is configured in settings.TASKBRIDGE) and queue names taskbridge
    cannot use are configuration errors naming the setting."""
    with override_settings(TASKS={"default": {"BACKEND": BACKEND, "OPTIONS": {"URL": "x"}}}), \
            pytest.raises(ImproperlyConfigured, match=r"TASKS\['default'\]\['OPTIONS'\]"):
        task_backends["default"]
    with override_settings(TASKS={"default": {"BACKEND": BACKEND, "QUEUES": ["no spaces"]}}), \
            pytest.raises(ImproperlyConfigured, match=r"\['QUEUES'\]: queue name 'no spaces'"):
        task_backends["default"]


def test_django_rules() -> None:
    """Django's own rules hold: a module-level function, a 'context' first argument for
    takes_context, a priority within -100..100, an aware run_after, a queue in QUEUES."""

    def local() -> None: ...

    with pytest.raises(InvalidTask, match="module level"):
        task()(local)
    with pytest.raises(InvalidTask, match="first argument of 'context'"):
        task(takes_context=True)(module_level)
    with pytest.raises(InvalidTask, match="priority must be a whole number"):
        tasks.noop_task.using(priority=101)
    with pytest.raises(InvalidTask, match="aware datetime"):
        tasks.noop_task.using(run_after=dt.datetime.now())
    with pytest.raises(InvalidTask, match="Queue 'unknown' is not valid for backend"):
        tasks.noop_task.using(queue_name="unknown")
    assert task()(module_level_async).func is module_level_async


def test_validate_on_enqueue_and_aenqueue(taskbridge_memory: Any) -> None:
    """A task made valid under other settings is validated again when enqueued, in sync and
    async code alike; nothing is stored."""
    import asyncio

    with override_settings(TASKS={"default": {"BACKEND": BACKEND, "QUEUES": []}}):
        elsewhere = tasks.noop_task.using(queue_name="unknown_queue")
    with pytest.raises(InvalidTask, match="Queue 'unknown_queue' is not valid for backend"):
        elsewhere.enqueue()
    with pytest.raises(InvalidTask, match="Queue 'unknown_queue' is not valid for backend"):
        asyncio.run(elsewhere.aenqueue())
    assert taskbridge_memory.jobs == {}


def test_taskbridges_rules() -> None:
    """taskbridge's rules come on top: a queue name it can use, an aware run_after even with
    USE_TZ off, and the extra options' types; each error names the task."""
    with override_settings(TASKS={"default": {"BACKEND": BACKEND, "QUEUES": []}}), \
            pytest.raises(InvalidTask, match="noop_task: queue name 'bad name!' is invalid"):
        tasks.noop_task.using(queue_name="bad name!")
    with override_settings(USE_TZ=False), pytest.raises(InvalidTask, match="timezone-aware"):
        tasks.noop_task.using(run_after=dt.datetime.now())
    with pytest.raises(InvalidTask, match="timeout must be a positive number"):
        task(timeout=-1)(module_level)
    with pytest.raises(InvalidTask, match=r"retry= takes a taskbridge\.RetryPolicy"):
        task(retry=3)(module_level)
    with pytest.raises(InvalidTask, match="idempotency_key must be a non-empty str"):
        task(idempotency_key=5)(module_level)


def test_a_taskbridge_task_name_is_not_taken_over() -> None:
    """A Django task whose module path a taskbridge @task already uses is refused, naming it."""
    clash = type(module_level)(module_level.__code__, globals(), "add")
    clash.__module__, clash.__qualname__ = "testapp.tasks", "add"
    with pytest.raises(InvalidTask, match="already used by"):
        task()(clash)


def test_arguments_must_be_json(taskbridge_memory: Any) -> None:
    """Arguments that are not JSON raise taskbridge's ArgumentsNotSerializable (a TypeError)
    naming the bad value, before anything is stored or sent."""
    with pytest.raises(ArgumentsNotSerializable, match=r"kwargs\['when'\]: datetime"):
        tasks.echo.enqueue(when=dt.datetime.now(dt.UTC))
    with pytest.raises(TypeError):
        tasks.echo.enqueue({1, 2})
    assert taskbridge_memory.jobs == {}


def test_an_execution_of_another_kind_does_not_exist(taskbridge_memory: Any) -> None:
    """get_result() of a taskbridge task's execution (not a Django task) and of an unknown id
    raise TaskResultDoesNotExist."""
    plain = add.enqueue(1, 2)
    with pytest.raises(TaskResultDoesNotExist, match="not a Django task"):
        default_task_backend.get_result(plain.id)
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("unknown")


def test_a_canceled_execution_is_failed_and_finished(taskbridge_memory: Any) -> None:
    """Canceled before it ran, an execution is FAILED for Django, and task_finished fires
    where the cancel happened."""
    finished: list[Any] = []

    def receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        finished.append(task_result)

    result = tasks.noop_task.enqueue()
    task_finished.connect(receiver)
    try:
        taskbridge_memory.bridge.cancel(result.id)
    finally:
        task_finished.disconnect(receiver)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.is_finished
    assert [(r.id, r.status) for r in finished] == [(result.id, TaskResultStatus.FAILED)]


def test_a_failed_execution_is_retried_like_any_other(taskbridge_memory: Any) -> None:
    """bridge.retry() (the admin's and the command line's retry) re-enqueues a failed Django
    task's execution; Django's API reads the new one."""
    failed = tasks.failing_task_value_error.enqueue()
    taskbridge_memory.run_pending()
    failed.refresh()
    assert failed.status == TaskResultStatus.FAILED
    again = taskbridge_memory.bridge.retry(failed.id)
    taskbridge_memory.run_pending()
    retried = tasks.failing_task_value_error.get_result(again.id)
    assert retried.id != failed.id
    assert retried.status == TaskResultStatus.FAILED and retried.attempts == 1


def record(status: Status, **fields: Any) -> Record:
    return Record(id="r1", task_name="djangotasks.tasks.noop_task", queue="default",
                  status=status, enqueued_at=1_000.0, **fields)


@pytest.mark.parametrize(("status", "expected"), [
    (Status.PENDING, TaskResultStatus.READY),
    (Status.RETRYING, TaskResultStatus.READY),
    (Status.RUNNING, TaskResultStatus.RUNNING),
    (Status.SUCCEEDED, TaskResultStatus.SUCCESSFUL),
    (Status.FAILED, TaskResultStatus.FAILED),
    (Status.CANCELED, TaskResultStatus.FAILED),
])
def test_statuses_map_onto_djangos(status: Status, expected: Any) -> None:
    """Each taskbridge status has its TaskResultStatus (waiting ones are READY)."""
    assert task_result(tasks.noop_task, record(status), "default").status == expected


def test_one_error_and_one_worker_per_attempt_beyond_the_history() -> None:
    """worker_ids has one entry per attempt even past the attempt history a record keeps;
    errors one per failed attempt kept, the last one whole; started_at is the first attempt's
    start and last_attempted_at the latest one's."""
    attempts = ATTEMPT_HISTORY_SIZE + 5
    history = [
        Attempt(n, worker=f"w{n}", started_at=1_000.0 + n, finished_at=1_000.5 + n,
                outcome="RETRYING", error=ErrorInfo("KeyError", "short", "…tail"))
        for n in range(6, attempts + 1)
    ]
    whole = ErrorInfo("KeyError", "the whole message", "the whole traceback")
    result = task_result(tasks.noop_task, record(
        Status.FAILED, attempts=attempts, attempt_history=history, error=whole,
        started_at=1_000.0 + attempts, finished_at=1_000.5 + attempts,
    ), "default")
    assert result.attempts == attempts
    assert result.worker_ids[:5] == [""] * 5 and result.worker_ids[-1] == f"w{attempts}"
    assert len(result.errors) == ATTEMPT_HISTORY_SIZE
    assert result.errors[-1].traceback == "the whole traceback"
    assert result.errors[0].exception_class is KeyError
    assert result.started_at == dt.datetime.fromtimestamp(1_006.0, dt.UTC)
    assert result.last_attempted_at == dt.datetime.fromtimestamp(1_000.0 + attempts, dt.UTC)


def test_the_check_wants_the_adapters_app() -> None:
    """manage.py check reports taskbridge.E006 when TASKS names the backend but
    taskbridge_django is not installed (workers would not autodiscover the tasks)."""
    from django.conf import settings
    from django.core import checks

    assert task_backends["default"].check() == []
    apps = [app for app in settings.INSTALLED_APPS if app != "taskbridge_django"]
    with override_settings(INSTALLED_APPS=apps):
        messages = checks.run_checks()
    assert [m.id for m in messages if m.id and m.id.startswith("taskbridge")] == [
        "taskbridge.E006"]
