"""The native side of each benchmark: the engines' own apps, tasks and workers, used directly."""

from __future__ import annotations

import os

#: Environment variables through which the harness configures native apps in worker processes.
REDIS_ENV = "TASKBRIDGE_BENCH_REDIS"
HUEY_NAME_ENV = "TASKBRIDGE_BENCH_HUEY_NAME"
HUEY_SQLITE_ENV = "TASKBRIDGE_BENCH_HUEY_SQLITE"
#: The PostgreSQL database (a libpq URL) native Procrastinate uses.
POSTGRESQL_ENV = "TASKBRIDGE_BENCH_POSTGRESQL"
#: The queue the native Dramatiq worker's actor is declared on.
DRAMATIQ_QUEUE_ENV = "TASKBRIDGE_BENCH_DRAMATIQ_QUEUE"
#: Set to "taskbridge" to give native Celery the delivery settings taskbridge's Celery app uses.
CELERY_CONFIG_ENV = "TASKBRIDGE_BENCH_CELERY_CONFIG"


def setting(name: str) -> str:
    """A required benchmark setting, with an error that says who sets it."""
    try:
        return os.environ[name]
    except KeyError:
        raise RuntimeError(
            f"{name} is not set; the native benchmark apps are configured by the harness "
            "(python -m benchmarks), which sets it before starting workers"
        ) from None
