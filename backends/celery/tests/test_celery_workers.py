"""Worker lifecycles: priority order on both transports, warm shutdown, the other pools."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import celery_testtasks as tasks
import pytest
import redis
from celery_testkit import (
    amqp_backend_url,
    make_bridge,
    poll,
    redis_backend_url,
    requires_amqp,
    start_worker,
)
from taskbridge_celery.backend import POOLS
from taskbridge_celery.testing import delete_amqp_entities

from taskbridge import Bridge, Status
from taskbridge.testing.workers import Workers


@pytest.fixture(params=["redis", pytest.param("amqp", marks=requires_amqp)])
def transport_url(request: pytest.FixtureRequest, redis_url: str,
                  namespace: str) -> Iterator[str]:
    if request.param == "redis":
        yield redis_backend_url(redis_url, namespace)
    else:
        yield amqp_backend_url(redis_url, namespace)
        delete_amqp_entities(namespace, ["prio"])


def test_higher_priority_runs_first(
    transport_url: str, tracker: tuple[str, str], workers: Workers
) -> None:
    """Waiting tasks run highest priority first (one worker, concurrency 1, prefetch 1)."""
    bridge = make_bridge(transport_url)
    # Eight of Celery's ten levels, one each (priorities sharing a level run first in, first out).
    priorities = [-100, -1, 0, 30, 100, 60, 1, -50]
    for priority in priorities:
        tasks.note.using(bridge=bridge, queue="prio", priority=priority).enqueue(
            *tracker, str(priority))
    bridge.close()
    client = redis.Redis.from_url(tracker[0])
    worker = start_worker(workers, transport_url, queues=("prio",), concurrency=1)
    try:
        poll(lambda: client.llen(tracker[1]) == len(priorities), timeout=30,
             what="every task to run")
    finally:
        assert worker.stop(timeout=30) == 0, worker.output()
    ran = [int(label) for label in client.lrange(tracker[1], 0, -1)]
    assert ran == sorted(priorities, reverse=True)


@pytest.fixture()
def bridge(redis_url: str, namespace: str) -> Iterator[Bridge]:
    bridge = make_bridge(redis_backend_url(redis_url, namespace))
    yield bridge
    bridge.close()


def test_sigterm_finishes_the_running_task_then_exits(bridge: Bridge, workers: Workers) -> None:
    """SIGTERM is Celery's warm shutdown: the running task completes, then the worker exits 0."""
    worker = start_worker(workers, bridge.settings.url, queues=("shutdown",))
    result = tasks.nap.using(bridge=bridge, queue="shutdown").enqueue(2)
    poll(lambda: result.refresh().status is Status.RUNNING, what="the task to start")
    assert worker.stop(timeout=30, signum=signal.SIGTERM) == 0, worker.output()
    assert "Warm shutdown" in worker.output()
    assert result.refresh().status is Status.SUCCEEDED and result.value == 2


@pytest.mark.parametrize("pool", ["threads", "solo"])
def test_other_pools_run_tasks(bridge: Bridge, pool: str, workers: Workers) -> None:
    """--pool threads and --pool solo run tasks too; timeouts hold where the pool allows them."""
    queue = f"pool-{pool}"
    worker = start_worker(workers, bridge.settings.url, queues=(queue,), concurrency=2, pool=pool)
    try:
        assert tasks.add.using(bridge=bridge, queue=queue).enqueue(20, 22).wait(timeout=20) == 42
        timed = tasks.nap.using(bridge=bridge, queue=queue, timeout=1).enqueue(3)
        poll(lambda: timed.refresh().status.is_final, timeout=20, what="the timed task to end")
    finally:
        assert worker.stop(timeout=30) == 0, worker.output()
    if POOLS[pool].timeouts:
        assert timed.status is Status.FAILED
        assert timed.error is not None and timed.error.type == "taskbridge.TaskTimeout"
    else:
        assert timed.status is Status.SUCCEEDED  # as the capability flag warns
