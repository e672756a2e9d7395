"""Django tasks on taskbridge's workers: each Django task is registered with taskbridge under
its module path (so a worker that imports the task's module finds it, as autodiscovery does),
runs with Django's ``TaskContext``, and Django's task signals are sent from where it runs.

Nothing here imports Django's task API until a Django task has been registered: the hooks
below run for every execution of every bridge.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import attrs

from taskbridge import Record, Task, TaskContext, get_bridge, task
from taskbridge.plugin import current_worker

logger = logging.getLogger("taskbridge.django")


@attrs.frozen
class Registered:
    """A Django task as taskbridge knows it: the definition (the module-level ``Task``, with
    its defaults and extra options), the alias of the backend it was defined for, and the
    taskbridge task that runs it."""

    django_task: Any
    alias: str
    bridge_task: Task[Any, Any]


_lock = threading.Lock()
_registered: dict[str, Registered] = {}


def register(django_task: Any, alias: str) -> Task[Any, Any]:
    """The taskbridge task running ``django_task``, registered under its module path on first
    sight (its definition; ``using()`` copies share it). ``DuplicateTaskName`` when a
    taskbridge ``@task`` already has that name."""
    name = django_task.module_path
    with _lock:
        known = _registered.get(name)
        if known is not None and known.django_task.func is django_task.func:
            return known.bridge_task
        bridge_task = task(
            name=name, context=True, retry=getattr(django_task, "retry", None)
        )(_runner(name))
        _registered[name] = Registered(django_task, alias, bridge_task)
        return bridge_task


def registered(name: str) -> Registered | None:
    """The Django task registered under ``name``, if one is."""
    return _registered.get(name)


def _runner(name: str) -> Any:
    def run_django_task(context: TaskContext, *args: Any, **kwargs: Any) -> Any:
        return run(name, context, args, kwargs)

    run_django_task.__qualname__ = run_django_task.__name__ = name.rpartition(".")[2]
    return run_django_task


def _bridge() -> Any:
    try:
        return current_worker().bridge
    except RuntimeError:  # run inline, by memory://
        return get_bridge()


def run(name: str, context: TaskContext, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """One attempt of the Django task ``name``: its function called as Django calls it (an
    ``async def`` one through ``async_to_sync``), with a ``TaskContext`` whose ``task_result``
    is this execution as it now stands when the task takes one."""
    known = _registered[name]
    django_task = known.django_task
    if not django_task.takes_context:
        return django_task.call(*args, **kwargs)
    from taskbridge_django.django_tasks_api import TaskContext as DjangoTaskContext
    from taskbridge_django.results import task_result

    record = _bridge().store.get(context.id)
    result = task_result(django_task, record, known.alias)
    return django_task.call(DjangoTaskContext(task_result=result), *args, **kwargs)


# -- Django's task signals, from taskbridge's lifecycle hooks (taskbridge_django.plugin) ------


def started(record: Record) -> None:
    """``task_started`` for an attempt of a Django task that started running."""
    if record.task_name in _registered:
        from taskbridge_django.django_tasks_api import task_started

        _send(task_started, record)


def finished(record: Record) -> None:
    """``task_finished`` for an execution of a Django task that ended (SUCCESSFUL, or FAILED:
    its last attempt failed, its worker was lost, or it was canceled)."""
    if record.task_name in _registered:
        from taskbridge_django.django_tasks_api import task_finished

        _send(task_finished, record)


def _send(signal: Any, record: Record) -> None:
    from taskbridge_django.backend import TaskBridgeBackend
    from taskbridge_django.results import task_result

    known = _registered[record.task_name]
    result = task_result(known.django_task, record, known.alias)
    # A receiver's error must not become the task's: it is logged, as Django logs a failed
    # request_finished receiver.
    for receiver, answer in signal.send_robust(TaskBridgeBackend, task_result=result):
        if isinstance(answer, Exception):
            logger.error("%r receiver %r failed for %s [%s]", signal, receiver,
                         record.task_name, record.id, exc_info=answer)

