"""celery+redis:// end to end, with one real Celery worker (prefork) for the whole module."""

from __future__ import annotations

import json
import time

import celery_testtasks as tasks
import pytest
import redis
from celery import Celery
from celery_testkit import poll, redis_backend_url

from taskbridge import Bridge, Envelope, Status, TaskFailed
from taskbridge.plugin import record_for
from taskbridge.testing.workers import WorkerProcess

#: Short, so the ETA test below outlives it several times over.
VISIBILITY_TIMEOUT = 2

# The module shares one worker: under pytest-xdist its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("celery-redis-module")


@pytest.fixture(scope="module")
def url(redis_url: str, namespace: str) -> str:
    return redis_backend_url(redis_url, namespace, visibility_timeout=VISIBILITY_TIMEOUT)



def test_tasks_run_end_to_end(bridge: Bridge, worker: WorkerProcess) -> None:
    """Enqueued tasks, single and batched, run on the Celery worker and their values come back."""
    result = tasks.add.using(bridge=bridge).enqueue(2, 3)
    batch = tasks.add.using(bridge=bridge).enqueue_many([(1, 1), (2, 2), (3, 3)])
    assert result.wait(timeout=20) == 5
    assert [r.wait(timeout=20) for r in batch] == [2, 4, 6]
    assert result.refresh().status is Status.SUCCEEDED
    assert result.attempts == 1


def test_task_names_are_registered_with_celery(bridge: Bridge, worker: WorkerProcess) -> None:
    """Every taskbridge task is a Celery task under its own name, as `celery inspect` shows."""
    app = bridge.backend.app  # type: ignore[attr-defined]
    replies: dict[str, list[str]] = {}

    def answered() -> bool:
        replies.update(app.control.inspect(timeout=1.0).registered() or {})
        return bool(replies)

    poll(answered, timeout=20, what="a reply to inspect().registered()")
    [names] = replies.values()
    assert {"celery_testtasks.add", "celery_testtasks.note", "celery_testtasks.nap"} <= set(names)


def _waiting_record(bridge: Bridge, id: str) -> None:
    envelope = Envelope(id=id, task_name="celery_testtasks.add", args=(1, 2),
                        enqueued_at=time.time())
    bridge.store.create([record_for(envelope)], now=time.time(), idempotency_ttl=60)


def test_pickled_message_is_refused_reported_and_worker_survives(
    bridge: Bridge, worker: WorkerProcess, redis_url: str, namespace: str
) -> None:
    """A pickled task message never runs: Celery refuses it, the log names it, the record FAILS."""
    message_id = f"pickled-{time.time_ns()}"
    _waiting_record(bridge, message_id)
    sender = Celery("intruder", broker=redis_url, set_as_current=False)
    sender.conf.accept_content = ["pickle", "json"]
    sender.send_task("celery_testtasks.add", args=[{"v": 1}], task_id=message_id,
                     queue=f"{namespace}.default", serializer="pickle")
    sender.close()
    worker.wait_for_output(f"message {message_id} for celery_testtasks.add refused and never run "
                        "(content type 'application/x-python-serialize')")
    # The worker logs the refusal, then records it (a failed attempt: RUNNING, then FAILED).
    poll(lambda: bridge.store.get(message_id).status.is_final, timeout=20,
         what=f"{message_id} to be recorded as refused")
    record = bridge.store.get(message_id)
    assert record.status is Status.FAILED
    assert record.error is not None and record.error.type == "taskbridge.MessageRejected"
    assert tasks.add.using(bridge=bridge).enqueue(1, 1).wait(timeout=20) == 2


def test_malformed_queue_items_are_dropped_and_worker_survives(
    bridge: Bridge, worker: WorkerProcess, redis_url: str, namespace: str
) -> None:
    """Items that are not kombu messages are logged and skipped; the worker keeps working."""
    client = redis.Redis.from_url(redis_url)
    queue = f"{namespace}.default"
    marker = f"not-json-{time.time_ns()}"
    client.lpush(queue, marker)
    client.lpush(queue, json.dumps([1, 2]))
    no_content_type = {"body": "e30=", "headers": {"task": "celery_testtasks.add", "id": "x"},
                       "properties": {"delivery_tag": "t", "body_encoding": "base64",
                                      "delivery_info": {"exchange": "", "routing_key": queue}}}
    client.lpush(queue, json.dumps(no_content_type))
    worker.wait_for_output(marker)
    worker.wait_for_output("a JSON list, not an object")
    worker.wait_for_output("message x for celery_testtasks.add refused and never run")
    assert tasks.add.using(bridge=bridge).enqueue(4, 4).wait(timeout=20) == 8
    assert worker.process.poll() is None


def test_eta_longer_than_visibility_timeout_runs_once(
    bridge: Bridge, worker: WorkerProcess, tracker: tuple[str, str]
) -> None:
    """Celery-on-Redis redelivers an ETA task held past the visibility timeout; it runs once."""
    delay = 3 * VISIBILITY_TIMEOUT + 1
    result = tasks.count_run.using(bridge=bridge, delay=delay).enqueue(*tracker)
    # The trap is live: the held message comes back while it waits for its ETA...
    worker.wait_for_output(f"Task celery_testtasks.count_run[{result.id}] received")
    poll(lambda: worker.output().count(f"count_run[{result.id}] received") >= 2, timeout=delay + 10,
         what="Celery to redeliver the ETA message after the visibility timeout")
    # ...and the store's start() guard refuses every copy after the first.
    assert result.wait(timeout=delay + 20) == 1
    worker.wait_for_output(f"not running celery_testtasks.count_run [{result.id}]")
    assert redis.Redis.from_url(tracker[0]).get(tracker[1]) == b"1"
    assert result.refresh().attempts == 1


def test_timeout_stops_an_attempt_in_a_prefork_child(bridge: Bridge, worker: WorkerProcess) -> None:
    """timeout= interrupts a task in Celery's prefork pool and fails it with TaskTimeout."""
    result = tasks.nap.using(bridge=bridge, timeout=1).enqueue(30)
    with pytest.raises(TaskFailed) as failed:
        result.wait(timeout=20)
    assert failed.value.error.type == "taskbridge.TaskTimeout"


def test_cancel_revokes_a_waiting_task(
    bridge: Bridge, worker: WorkerProcess, tracker: tuple[str, str]
) -> None:
    """A canceled delayed task is revoked in Celery and never runs, even once due."""
    result = tasks.count_run.using(bridge=bridge, delay=2).enqueue(*tracker)
    worker.wait_for_output(f"count_run[{result.id}] received")
    assert result.cancel().status is Status.CANCELED
    worker.wait_for_output(f"Discarding revoked task: celery_testtasks.count_run[{result.id}]")
    assert redis.Redis.from_url(tracker[0]).get(tracker[1]) is None
    assert result.refresh().status is Status.CANCELED


def test_queue_depth_counts_every_priority_level(bridge: Bridge) -> None:
    """queue_depth sums the messages waiting at every priority level of an unconsumed queue."""
    using = tasks.add.using(bridge=bridge, queue="idle")
    for priority in (-100, 0, 7, 100):
        using.using(priority=priority).enqueue(1, 2)
    assert bridge.backend.queue_depth("idle") == 4
    assert bridge.backend.queue_depth("never-used") == 0
