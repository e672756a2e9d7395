"""Django's task API, from wherever this Django has it: ``django.tasks`` (Django 6+) or the
``django-tasks`` backport (Django 5.2), with its exception names (``InvalidTask`` on Django,
``InvalidTaskError`` in the backport) under one spelling."""

from __future__ import annotations

try:
    from django.tasks import (  # type: ignore[import-not-found,unused-ignore]
        DEFAULT_TASK_QUEUE_NAME,
        Task,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        default_task_backend,
        task_backends,
    )
    from django.tasks.backends.base import (  # type: ignore[import-not-found,unused-ignore]
        BaseTaskBackend,
    )
    from django.tasks.base import (  # type: ignore[import-not-found,unused-ignore]
        DEFAULT_TASK_PRIORITY,
        TaskError,
    )
    from django.tasks.exceptions import (  # type: ignore[import-not-found,unused-ignore]
        InvalidTask,
        TaskResultDoesNotExist,
    )
    from django.tasks.signals import (  # type: ignore[import-not-found,unused-ignore]
        task_enqueued,
        task_finished,
        task_started,
    )
except ImportError as django_missing:
    try:
        from django_tasks import (  # type: ignore[import-not-found,unused-ignore]
            DEFAULT_TASK_QUEUE_NAME,
            TaskContext,
            TaskResult,
            TaskResultStatus,
            default_task_backend,
            task_backends,
        )
        from django_tasks.backends.base import (  # type: ignore[import-not-found,unused-ignore]
            BaseTaskBackend,
        )
        from django_tasks.base import (  # type: ignore[import-not-found,unused-ignore]
            DEFAULT_TASK_PRIORITY,
            Task,
            TaskError,
        )
        from django_tasks.exceptions import (  # type: ignore[import-not-found,unused-ignore]
            InvalidTaskError as InvalidTask,
        )
        from django_tasks.exceptions import (  # type: ignore[import-not-found,unused-ignore]
            TaskResultDoesNotExist,
        )
        from django_tasks.signals import (  # type: ignore[import-not-found,unused-ignore]
            task_enqueued,
            task_finished,
            task_started,
        )
    except ImportError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "taskbridge_django.TaskBridgeBackend needs Django's task API: Django 6+ has it as "
            "django.tasks; on Django 5.2 pip install django-tasks (its backport)"
        ) from django_missing

__all__ = [
    "DEFAULT_TASK_PRIORITY",
    "DEFAULT_TASK_QUEUE_NAME",
    "BaseTaskBackend",
    "InvalidTask",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "default_task_backend",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]
