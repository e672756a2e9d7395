"""Celery's own tools see the real outcome: a FAILED task is a failed Celery task in its logs and
events (Flower shows it red), a retried attempt is "retried", a success succeeds; on every pool,
with taskbridge's retries and acks intact and no result payload handed to Celery."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import celery_testtasks as tasks
import pytest
import redis
from celery_testkit import (
    HERE,
    CapturedEvents,
    amqp_backend_url,
    make_bridge,
    poll,
    redis_backend_url,
    requires_amqp,
    start_worker,
)
from taskbridge_celery.testing import delete_amqp_entities

from taskbridge import Bridge, TaskFailed
from taskbridge.testing.workers import WorkerProcess, Workers

pytestmark = pytest.mark.slow


@pytest.fixture(params=[
    ("redis", "prefork"), ("redis", "solo"), ("redis", "threads"),
    pytest.param(("amqp", "prefork"), marks=requires_amqp),
], ids=lambda p: "-".join(p))
def events_worker(request: pytest.FixtureRequest, redis_url: str, namespace: str,
                  workers: Workers) -> Iterator[tuple[Bridge, WorkerProcess, str]]:
    """A bridge, one real worker started with -E on the pool and transport asked for, and the
    queue it consumes."""
    transport, pool = request.param
    queue = f"outcomes-{pool}"
    url = (redis_backend_url(redis_url, namespace) if transport == "redis"
           else amqp_backend_url(redis_url, namespace))
    bridge = make_bridge(url)
    worker = start_worker(workers, url, queues=(queue,), pool=pool, args=("-E",))
    yield bridge, worker, queue
    worker.stop()
    bridge.close()
    if transport == "amqp":
        delete_amqp_entities(namespace, [queue])


def test_failed_attempts_are_failed_celery_tasks(
    events_worker: tuple[Bridge, WorkerProcess, str], tracker: tuple[str, str]
) -> None:
    """A task that fails twice sends task-retried then task-failed with its error, and Celery
    logs it failed; a succeeding task sends task-succeeded without its value; every message is
    acknowledged and Celery retries nothing."""
    bridge, worker, queue = events_worker
    events = CapturedEvents(bridge.backend.app)  # type: ignore[attr-defined]
    try:
        failing = tasks.always_fails.using(bridge=bridge, queue=queue).enqueue(*tracker)
        ok = tasks.add.using(bridge=bridge, queue=queue).enqueue(20, 22)
        assert ok.wait(timeout=30) == 42
        with pytest.raises(TaskFailed):
            failing.wait(timeout=30)
        poll(lambda: "task-failed" in events.types(failing.id), what="task-failed")
        poll(lambda: "task-succeeded" in events.types(ok.id), what="task-succeeded")
    finally:
        events.close()
    kinds = [t for t in events.types(failing.id) if t in ("task-retried", "task-failed",
                                                           "task-succeeded")]
    assert kinds == ["task-retried", "task-failed"]
    [failed] = [e for e in events.of(failing.id) if e["type"] == "task-failed"]
    assert "AttemptFailed" in failed["exception"]
    assert "ValueError: always fails" in failed["exception"]
    [succeeded] = [e for e in events.of(ok.id) if e["type"] == "task-succeeded"]
    assert succeeded["result"] == "None"  # the value stays in taskbridge's store
    worker.wait_for_output(f"Task celery_testtasks.always_fails[{failing.id}] raised unexpected: "
                        "AttemptFailed(")
    assert worker.stop() == 0, worker.output()
    # Acknowledged, not handed back: nothing waits in the queue or in kombu's unacked hash
    # once the worker is gone, and the task ran exactly its two attempts.
    assert bridge.backend.queue_depth(queue) == 0
    client = redis.Redis.from_url(tracker[0])
    if bridge.url.transport == "redis":
        assert client.hlen(f"{bridge.url.namespace}:unacked") == 0
    assert client.get(tracker[1]) == b"2"
    assert failing.refresh().attempts == 2


def test_celery_command_line_and_monitors_load_the_app_from_the_environment(
    redis_url: str, namespace: str, tracker: tuple[str, str], workers: Workers
) -> None:
    """`celery -A taskbridge_celery.app` finds a taskbridge worker with TASKBRIDGE_URL alone:
    `inspect ping` gets its pong, `events --dump` shows a failed task as failed."""
    url = redis_backend_url(redis_url, namespace)
    queue = "cli"
    worker = start_worker(workers, url, queues=(queue,), args=("--events",))
    env = dict(os.environ, TASKBRIDGE_URL=url, TASKBRIDGE_IMPORTS="celery_testtasks",
               PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
                   [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]))
    celery = [sys.executable, "-m", "celery", "-A", "taskbridge_celery.app"]
    dump = subprocess.Popen([*celery, "events", "--dump"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    printed: list[str] = []
    assert dump.stdout is not None
    reader = threading.Thread(target=lambda: printed.extend(dump.stdout or ()), daemon=True)
    reader.start()
    bridge = make_bridge(url)
    try:
        ping = subprocess.run([*celery, "inspect", "ping", "--timeout", "10"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert f"{namespace}.{worker.pid}@" in ping.stdout and "pong" in ping.stdout
        failing = tasks.always_fails.using(bridge=bridge, queue=queue).enqueue(*tracker)
        with pytest.raises(TaskFailed):
            failing.wait(timeout=30)
        wanted = f"task failed: celery_testtasks.always_fails({failing.id})"
        poll(lambda: any(wanted in line for line in list(printed)), timeout=30,
             what="the failed task in `celery events --dump`")
    finally:
        dump.terminate()
        dump.wait(10)
        reader.join(10)
        dump.stdout.close()
        bridge.close()
        assert worker.stop() == 0, worker.output()
