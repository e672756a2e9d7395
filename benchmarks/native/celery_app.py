"""Native Celery: one app on the benchmark Redis (broker and result backend), one no-op task.

Workers run ``celery -A benchmarks.native.celery_app worker``; the harness sets the Redis URL
through the environment before importing this module.
"""

from __future__ import annotations

import os

from celery import Celery

from benchmarks import stamps
from benchmarks.native import CELERY_CONFIG_ENV, REDIS_ENV, setting

_redis = setting(REDIS_ENV)

app = Celery("bench_native", broker=_redis, backend=_redis)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
if os.environ.get(CELERY_CONFIG_ENV) == "taskbridge":
    # What taskbridge's Celery app sets for crash safety and priorities: late acks, one
    # message prefetched, ten priority lists.
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"priority_steps": list(range(10)),
                                  "queue_order_strategy": "priority"},
    )


@app.task(name="bench.native.noop")  # type: ignore[untyped-decorator]
def noop(i: int) -> int:
    """Do nothing but leave a completion stamp; return the argument."""
    stamps.record()
    return i
