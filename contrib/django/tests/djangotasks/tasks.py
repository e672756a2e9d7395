"""Tasks written against Django's own task API only, as a project's code is: they run through
``taskbridge_django.TaskBridgeBackend`` (settings.TASKS). Imported by autodiscovery in every
process, workers included."""

from __future__ import annotations

import os
from typing import Any

from taskbridge import RetryPolicy

try:
    from django.tasks import TaskContext, task
except ImportError:  # Django 5.2: the django-tasks backport
    from django_tasks import TaskContext, task  # type: ignore[no-redef]


@task()
def noop_task(*args: Any, **kwargs: Any) -> None:
    return None


@task
def noop_task_from_bare_decorator(*args: Any, **kwargs: Any) -> None:
    return None


@task()
async def noop_task_async(*args: Any, **kwargs: Any) -> None:
    return None


@task()
def calculate_meaning_of_life() -> int:
    return 42


@task()
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@task()
async def echo_async(value: Any) -> Any:
    return value


@task()
def failing_task_value_error() -> None:
    raise ValueError("This task failed due to ValueError")


@task()
def complex_exception() -> None:
    raise ValueError(ValueError("This task failed"))


@task()
def complex_return_value() -> object:
    return object()


@task(takes_context=True)
def get_task_id(context: TaskContext) -> str:
    return str(context.task_result.id)


@task(takes_context=True)
def test_context(context: TaskContext, attempt: int) -> None:
    assert isinstance(context, TaskContext)
    assert context.attempt == attempt


@task(queue_name="emails")
def send_email(address: str) -> str:
    return f"sent to {address}"


@task(takes_context=True, retry=RetryPolicy(max_attempts=3, backoff=0.1))
def fails_twice(context: TaskContext, marker: str) -> dict[str, Any]:
    """Fails on its first two attempts (``marker`` counts them), then reports what its
    context said."""
    with open(marker, "a") as file:
        file.write(f"{context.attempt}\n")
    if context.attempt < 3:
        raise RuntimeError(f"attempt {context.attempt} fails on purpose")
    return {"attempt": context.attempt, "errors": len(context.task_result.errors),
            "worker_ids": len(context.task_result.worker_ids)}


@task(idempotency_key=lambda order: f"order:{order}")
def charge(order: int) -> int:
    return order


@task(timeout=0.5)
def sleeps(seconds: float) -> None:
    import time

    time.sleep(seconds)


@task()
def note(path: str, token: str) -> str:
    """Append ``token`` to the file at ``path``."""
    with open(path, "a") as file:
        file.write(token + "\n")
    return os.path.basename(path)
