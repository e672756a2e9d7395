"""Our hand-written RQ jobs are the jobs RQ itself writes and reads."""

from __future__ import annotations

import time

import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from taskbridge import Bridge

from taskbridge_rq.jobs import RUNNER

import rq_test_tasks


def test_job_fetch_reads_our_job_by_task_name(bridge: Bridge, client: redis.Redis,
                                             namespace: str) -> None:
    """RQ's Job.fetch and Queue see an enqueued task: our runner, the envelope, the task name."""
    result = rq_test_tasks.add.using(bridge=bridge).enqueue(2, 3)
    job = Job.fetch(result.id, connection=client, serializer=JSONSerializer)
    assert job.func_name == RUNNER
    assert job.args[0]["id"] == result.id and job.args[0]["args"] == [2, 3]
    assert job.description == "rq_test_tasks.add"
    assert job.meta == {"task": "rq_test_tasks.add", "id": result.id, "attempt": 1}
    assert job.get_status() == JobStatus.QUEUED
    assert job.origin == f"{namespace}.default"
    assert job.result_ttl == 0 and job.timeout == -1
    queue = Queue(f"{namespace}.default", connection=client, serializer=JSONSerializer)
    assert queue.job_ids == [result.id]
    assert queue in Queue.all(connection=client)
    assert bridge.backend.queue_depth("default") == 1


def test_our_hash_has_the_fields_rq_writes(bridge: Bridge, client: redis.Redis,
                                           namespace: str) -> None:
    """The job hash we write has exactly the fields RQ's own enqueue_call writes."""
    result = rq_test_tasks.add.using(bridge=bridge).enqueue(1, 1)
    queue = Queue(f"{namespace}.native", connection=client, serializer=JSONSerializer)
    native = queue.enqueue_call(RUNNER, args=({"x": 1},), timeout=-1, result_ttl=0,
                                failure_ttl=60, description="d", meta={"m": 1},
                                job_id=f"{namespace}-native")
    ours = set(client.hkeys(f"rq:job:{result.id}"))
    assert ours == set(client.hkeys(native.key))


def test_delayed_job_is_in_rq_scheduled_registry(bridge: Bridge, client: redis.Redis,
                                                 namespace: str) -> None:
    """A delayed task is a scheduled RQ job at its run_at (whole seconds), not in the queue."""
    result = rq_test_tasks.add.using(bridge=bridge, delay=100).enqueue(1, 2)
    name = f"{namespace}.default"
    registry = ScheduledJobRegistry(name, connection=client, serializer=JSONSerializer)
    assert registry.get_job_ids() == [result.id]
    scheduled = registry.get_scheduled_time(result.id).timestamp()
    assert result.refresh().run_at is not None
    assert scheduled == int(result.run_at.timestamp())
    job = Job.fetch(result.id, connection=client, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.SCHEDULED
    assert bridge.backend.queue_depth("default") == 0
    assert time.time() < scheduled


def test_cancel_removes_waiting_job_natively(bridge: Bridge, client: redis.Redis,
                                             namespace: str) -> None:
    """Canceling a waiting task cancels its RQ job: out of the queue, in RQ's canceled registry."""
    result = rq_test_tasks.add.using(bridge=bridge).enqueue(1, 2)
    delayed = rq_test_tasks.add.using(bridge=bridge, delay=100).enqueue(3, 4)
    result.cancel()
    delayed.cancel()
    assert bridge.backend.queue_depth("default") == 0
    for handle in (result, delayed):
        job = Job.fetch(handle.id, connection=client, serializer=JSONSerializer)
        assert job.get_status() == JobStatus.CANCELED
    registry = ScheduledJobRegistry(f"{namespace}.default", connection=client,
                                    serializer=JSONSerializer)
    assert registry.get_job_ids() == []


def test_duplicate_idempotency_key_writes_no_second_job(bridge: Bridge, namespace: str) -> None:
    """A deduplicated enqueue returns the same id and pushes nothing to RQ."""
    task = rq_test_tasks.add.using(bridge=bridge, idempotency_key=f"{namespace}-k")
    first, second = task.enqueue(1, 2), task.enqueue(1, 2)
    assert second.id == first.id and second.deduplicated
    assert bridge.backend.queue_depth("default") == 1
