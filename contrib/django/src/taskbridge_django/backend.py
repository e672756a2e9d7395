"""``TaskBridgeBackend``: Celery, RQ or Huey behind Django's own task API (``django.tasks``,
or the ``django-tasks`` backport on Django 5.2)::

    TASKS = {"default": {"BACKEND": "taskbridge_django.TaskBridgeBackend",
                         "QUEUES": ["default", "emails"]}}

Enqueues go through the bridge ``settings.TASKBRIDGE`` configures (taskbridge's JSON checks,
idempotency, retries, records, enqueue on commit); results are read back from its records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from taskbridge import (
    Capabilities,
    DuplicateTaskName,
    InvalidTaskOptions,
    ResultNotFound,
    RetryPolicy,
    UnsupportedFeature,
    get_bridge,
)
from taskbridge.plugin import BackendURL, check_queue, engine_factory
from taskbridge_django import running
from taskbridge_django.django_tasks_api import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResultDoesNotExist,
    task_enqueued,
)
from taskbridge_django.results import task_result


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TaskBridgeTask(Task):  # type: ignore[misc,unused-ignore]
    """Django's ``Task`` with what ``using()`` cannot pass, given as ``@task(...)`` keyword
    arguments (Django 6.1+ and the backport hand them to the backend's task class)."""

    #: A fixed key, or a callable of the task's arguments returning one: while an execution
    #: with the key waits, runs or succeeded recently, enqueueing again returns it instead.
    idempotency_key: str | Callable[..., str] | None = None
    #: How failed attempts are retried; part of the definition (workers read it from there).
    retry: RetryPolicy | None = None
    #: Seconds an attempt may run before it fails with ``TaskTimeout``.
    timeout: float | None = None


def _check_options(task: Any) -> None:
    """taskbridge's rules for a Django task: its queue name, an aware ``run_after`` (even with
    ``USE_TZ = False``) and the extra options' types."""
    check_queue(task.queue_name)
    run_after = task.run_after
    if run_after is not None and run_after.utcoffset() is None:
        raise InvalidTaskOptions(
            f"run_after must be a timezone-aware datetime, got {run_after!r}; use "
            "django.utils.timezone.now() + timedelta(...)"
        )
    key = getattr(task, "idempotency_key", None)
    if key is not None and not callable(key) and (not isinstance(key, str) or not key):
        raise InvalidTaskOptions(
            f"idempotency_key must be a non-empty str or a callable of the task's arguments "
            f"returning one, got {key!r}"
        )
    retry = getattr(task, "retry", None)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidTaskOptions(f"retry= takes a taskbridge.RetryPolicy, got {retry!r}")
    timeout = getattr(task, "timeout", None)
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise InvalidTaskOptions(f"timeout must be a positive number of seconds, got {timeout!r}")


class TaskBridgeBackend(BaseTaskBackend):  # type: ignore[misc,unused-ignore]
    """A ``django.tasks`` backend whose tasks run on taskbridge's workers."""

    task_class = TaskBridgeTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        where = f"settings.TASKS[{alias!r}]"
        if self.options:
            raise ImproperlyConfigured(
                f"{where}['OPTIONS']: TaskBridgeBackend takes no options (got "
                f"{', '.join(sorted(map(str, self.options)))}); configure taskbridge in "
                "settings.TASKBRIDGE"
            )
        for queue in self.queues:
            try:
                check_queue(queue)
            except InvalidTaskOptions as exc:
                raise ImproperlyConfigured(f"{where}['QUEUES']: {exc}") from None

    @property
    def capabilities(self) -> Capabilities:
        """What the configured engine's worker pool can do, read from its plugin without
        connecting (Django builds backends while apps load, before a bridge may be built)."""
        from taskbridge_django.conf import read

        url = BackendURL.parse(read().core.url)
        factory = engine_factory(url.engine, url=url)
        return factory.pools[url.options.get("pool") or next(iter(factory.pools))]

    @property
    def supports_priority(self) -> bool:
        return self.capabilities.priority

    def check(self, **kwargs: Any) -> list[Any]:
        """``manage.py check``: the adapter's app must be installed, or workers would not
        import the apps' ``tasks.py`` (where Django tasks are registered with taskbridge) and
        the settings would not reach the bridge."""
        from django.apps import apps
        from django.core import checks

        if apps.is_installed("taskbridge_django"):
            return []
        return [checks.Error(
            "TaskBridgeBackend needs the taskbridge_django app",
            hint="add 'taskbridge_django' to INSTALLED_APPS",
            obj=f"settings.TASKS[{self.alias!r}]", id="taskbridge.E006",
        )]

    def validate_task(self, task: Any) -> None:
        """Django's rules (a module-level function, a queue in ``QUEUES``, a priority the
        engine can order by, ...), then taskbridge's; registers the task with taskbridge so
        workers that import its module can run it."""
        super().validate_task(task)
        try:
            _check_options(task)
            running.register(task, self.alias)
        except (InvalidTaskOptions, DuplicateTaskName) as exc:
            raise InvalidTask(f"{task.module_path}: {exc}") from None

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Send ``task`` to a worker through the bridge's enqueue path; its ``TaskResult``."""
        self.validate_task(task)
        options: dict[str, Any] = {"queue": task.queue_name, "priority": int(task.priority)}
        if task.run_after is not None:
            options["run_at"] = task.run_after
        timeout = getattr(task, "timeout", None)
        if timeout is not None:
            options["timeout"] = timeout
        key = getattr(task, "idempotency_key", None)
        if key is not None:
            options["idempotency_key"] = key(*args, **kwargs) if callable(key) else key
        bridge_task = running.register(task, self.alias)
        try:
            result = bridge_task.using(**options).enqueue(*args, **kwargs)
        except (InvalidTaskOptions, UnsupportedFeature) as exc:
            # A bad key, or what the engine's pool cannot do (a timeout on thread workers).
            raise InvalidTask(f"{task.module_path}: {exc}") from exc
        enqueued = task_result(task, result.record, self.alias)
        if not result.deduplicated:
            task_enqueued.send(type(self), task_result=enqueued)
        return enqueued

    def get_result(self, result_id: Any) -> Any:
        """The ``TaskResult`` of execution ``result_id`` as its record stands now;
        ``TaskResultDoesNotExist`` for an id nobody knows or an execution of another kind."""
        try:
            record = get_bridge().get_result(str(result_id)).record
        except ResultNotFound:
            raise TaskResultDoesNotExist(f"no task result has id {result_id!r}") from None
        known = running.registered(record.task_name)
        if known is None:
            raise TaskResultDoesNotExist(
                f"execution {result_id!r} runs {record.task_name!r}, which is not a Django "
                "task known to this process (import the module defining it)"
            )
        task = dataclasses.replace(
            known.django_task, queue_name=record.queue, priority=record.priority,
            backend=self.alias,
        )
        return task_result(task, record, self.alias)
