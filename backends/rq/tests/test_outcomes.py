"""RQ's own tools see the real outcome: a failed task is a failed RQ job in its FailedJobRegistry
(what ``rq info`` and rq-dashboard count), without RQ retrying it or keeping a value."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from taskbridge import Bridge, TaskFailed
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

import rq_test_tasks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("pool", ["fork", "simple"])
def test_a_failed_task_is_a_failed_rq_job(
    bridge: Bridge, client: redis.Redis, namespace: str, redis_url: str, workers: Workers,
    pool: str,
) -> None:
    """The last attempt of a FAILED task lands in RQ's FailedJobRegistry with its error; an
    attempt taskbridge retries and a task that succeeds do not; RQ runs no attempt twice."""
    worker = workers.start(pool=pool)
    failed = rq_test_tasks.always_fails.using(bridge=bridge).enqueue("x")
    retried = rq_test_tasks.fails_once.using(bridge=bridge).enqueue()
    assert rq_test_tasks.add.using(bridge=bridge).enqueue(2, 3).wait(timeout=30) == 5
    assert retried.wait(timeout=30) == 2
    with pytest.raises(TaskFailed):
        failed.wait(timeout=30)
    name = f"{namespace}.default"
    registry = FailedJobRegistry(name, connection=client, serializer=JSONSerializer)
    last = f"{failed.id}-2"
    wait_for(lambda: registry.get_job_ids() == [last], what="the failed attempt's RQ job")
    job = Job.fetch(last, connection=client, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.FAILED
    result = job.latest_result()
    assert result is not None and result.exc_string is not None
    assert "AttemptFailed" in result.exc_string
    assert "ValueError: always fails: x" in result.exc_string
    assert result.return_value is None
    assert failed.refresh().attempts == 2 and retried.refresh().attempts == 2
    info = subprocess.run(
        [sys.executable, "-m", "rq.cli", "info", "--url", redis_url, "--raw", "--only-queues",
         name], capture_output=True, text=True, check=True,
    ).stdout
    assert f"queue {name} 0, 0 executing, 0 finished, 1 failed" in info
    assert "RQ job" not in worker.output()  # no failure was mistaken for a refused job
