"""Hostile jobs in our queues: a hash RQ cannot read, an envelope nested too deep. The worker
rejects each, says why, and goes on: no quitting, no restart, the next task runs."""

from __future__ import annotations

import json
import zlib

import pytest
import redis
from taskbridge import Bridge, Result, Status
from taskbridge.plugin import Envelope
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import WorkerProcess, Workers

from taskbridge_rq.jobs import RUNNER, queue_key

import rq_test_tasks

pytestmark = pytest.mark.slow

#: Fields RQ parses as it reads a job off the queue, before any of our code runs, each made
#: unreadable. Stock RQ quits its worker on every one of them.
MALFORMED = {
    "status": "bogus",
    "created_at": "yesterday",
    "enqueued_at": "2024-13-45T99:00:00Z",
    "timeout": "banana",
    "result_ttl": "forever",
    "retry_intervals": "[1, 2",
    "dependency_ids": "{not json",
    "retries_left": "many",
}

QUITS = ("found an unhandled exception", "quit without being asked")


def _victims_and_canaries(bridge: Bridge, count: int) -> list[tuple[Result, Result]]:
    """Pairs of (victim, canary) queued before any worker runs, each canary after its victim."""
    return [(rq_test_tasks.add.using(bridge=bridge).enqueue(i, i),
             rq_test_tasks.add.using(bridge=bridge).enqueue(i, 100)) for i in range(count)]


def _assert_went_on(worker: WorkerProcess, pairs: list[tuple[Result, Result]]) -> None:
    for index, (_, canary) in enumerate(pairs):
        assert canary.wait(timeout=30) == index + 100
    log = worker.output()
    assert not any(quit in log for quit in QUITS), log


def test_malformed_job_hashes_are_rejected_and_the_worker_goes_on(
    bridge: Bridge, client: redis.Redis, namespace: str, workers: Workers
) -> None:
    """A real job whose hash has one field RQ cannot parse ends FAILED naming the problem; a
    foreign one is logged and dropped; the worker never quits and the canary after each runs."""
    pairs = _victims_and_canaries(bridge, len(MALFORMED))
    for (victim, _), (field, bad) in zip(pairs, MALFORMED.items(), strict=True):
        client.hset(f"rq:job:{victim.id}", field, bad)
    foreign = f"{namespace}-foreign"
    client.hset(f"rq:job:{foreign}", mapping={"status": "bogus", "data": b"", "origin": "x"})
    client.lpush(queue_key(f"{namespace}.default"), foreign)
    worker = workers.start()
    _assert_went_on(worker, pairs)
    for (victim, _), (field, bad) in zip(pairs, MALFORMED.items(), strict=True):
        record = victim.refresh()
        assert record.status is Status.FAILED, field
        assert record.error is not None and record.error.type == "taskbridge_rq.MalformedJob"
        assert f"RQ job {victim.id} cannot be read" in record.error.message
        assert not client.exists(f"rq:job:{victim.id}")
        assert f"'{field}': '{bad}'" in worker.output()
    wait_for(lambda: f"RQ job {foreign} cannot be read" in worker.output(),
             what="foreign logged")
    assert not client.exists(f"rq:job:{foreign}")


@pytest.mark.parametrize("pool", ["fork", "simple"])
def test_malformed_scheduled_job_hashes_do_not_stop_the_scheduler(
    bridge: Bridge, client: redis.Redis, workers: Workers, pool: str
) -> None:
    """A delayed job whose hash RQ cannot parse is reported and dropped when due; RQ's scheduler
    lives on and enqueues the delayed task after it (stock RQ's scheduler dies on it, and again
    after every restart)."""
    victim = rq_test_tasks.add.using(bridge=bridge, delay=1).enqueue(1, 1)
    client.hset(f"rq:job:{victim.id}", "created_at", "yesterday")
    canary = rq_test_tasks.add.using(bridge=bridge, delay=2).enqueue(2, 2)
    worker = workers.start(pool=pool)
    assert canary.wait(timeout=30) == 4
    record = victim.refresh()
    assert record.status is Status.FAILED
    assert record.error is not None and record.error.type == "taskbridge_rq.MalformedJob"
    assert "Scheduler [PID" not in worker.output()  # RQ's "raised an exception" line


def _job_data(envelope: dict[str, object]) -> bytes:
    return zlib.compress(json.dumps([RUNNER, None, [envelope], {}]).encode())


def test_messages_nested_too_deep_are_rejected_and_the_worker_goes_on(
    bridge: Bridge, client: redis.Redis, workers: Workers
) -> None:
    """A job whose envelope nests past the limit, or too deep for any JSON decoder, fails its
    execution without running; the worker goes on with the next task."""
    pairs = _victims_and_canaries(bridge, 2)
    (past_limit, _), (unparsable, _) = pairs
    deep: object = 0
    for _ in range(65):
        deep = [deep]
    envelope = Envelope(id=past_limit.id, task_name="rq_test_tasks.add").to_dict()
    client.hset(f"rq:job:{past_limit.id}", "data", _job_data(envelope | {"args": [deep, 1]}))
    text = "[" * 100_000 + "]" * 100_000
    client.hset(f"rq:job:{unparsable.id}", "data",
                zlib.compress(f'["{RUNNER}", null, [{text}], {{}}]'.encode()))
    worker = workers.start()
    _assert_went_on(worker, pairs)
    record = past_limit.refresh()
    assert record.status is Status.FAILED
    assert record.error is not None and "nested deeper than 64 levels" in record.error.message
    assert unparsable.refresh().status is Status.FAILED
