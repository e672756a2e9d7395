"""Jobs pushed into our queues by hand (pickled, foreign, malformed) never run, and are reported."""

from __future__ import annotations

import pathlib
import pickle
import zlib

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from taskbridge import Bridge, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

from taskbridge_rq.jobs import RUNNER

import rq_test_tasks

pytestmark = pytest.mark.slow


def test_hand_pushed_jobs_never_run_and_are_reported(
    bridge: Bridge, client: redis.Redis, namespace: str, workers: Workers,
    tmp_path: pathlib.Path,
) -> None:
    """Pickled, foreign-function and malformed jobs fail into RQ's FailedJobRegistry, with a log
    line naming each; none runs, the worker survives, and our record is FAILED when known."""
    name = f"{namespace}.default"
    marks = [tmp_path / f"ran-{i}" for i in range(3)]
    pickled = Queue(name, connection=client).enqueue_call(
        "rq_test_tasks.touch", args=(str(marks[0]),), job_id=f"{namespace}-pickled")
    json_queue = Queue(name, connection=client, serializer=JSONSerializer)
    foreign = json_queue.enqueue_call(
        "rq_test_tasks.touch", args=(str(marks[1]),), job_id=f"{namespace}-foreign")
    garbage = json_queue.enqueue_call(RUNNER, args=({"v": 1, "id": 7},),
                                      job_id=f"{namespace}-garbage")
    # A real task whose RQ job someone overwrote with a pickle: the record must not stay PENDING.
    hijacked = rq_test_tasks.touch_task.using(bridge=bridge).enqueue(str(marks[2]))
    payload = pickle.dumps(("rq_test_tasks.touch", None, (str(marks[2]),), {}))
    client.hset(f"rq:job:{hijacked.id}", "data", zlib.compress(payload))

    proc = workers.start()
    assert rq_test_tasks.add.using(bridge=bridge).enqueue(1, 2).wait(timeout=20) == 3
    registry = FailedJobRegistry(name, connection=client, serializer=JSONSerializer)
    expected = {pickled.id, foreign.id, garbage.id, hijacked.id}
    wait_for(lambda: set(registry.get_job_ids()) == expected, 20, "failed registry")
    assert proc.poll() is None
    assert not any(mark.exists() for mark in marks)
    for job_id in expected:
        assert Job.fetch(job_id, connection=client, serializer=JSONSerializer).get_status() \
            == JobStatus.FAILED
    log = proc.output()
    assert all(f"RQ job {job_id} on queue {name} was not run" in log for job_id in expected)
    record = hijacked.refresh()
    assert record.status is Status.FAILED
    assert record.error is not None and "pickled" in record.error.message
