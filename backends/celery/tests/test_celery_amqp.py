"""celery+amqp:// end to end: RabbitMQ carries the messages, Redis keeps the state."""

from __future__ import annotations

from collections.abc import Iterator

import celery_testtasks as tasks
import pytest
from celery_testkit import amqp_backend_url, poll, requires_amqp
from taskbridge_celery.testing import delete_amqp_entities

from taskbridge import Bridge, EnqueueError, Status
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.redis_server import unique_prefix
from taskbridge.testing.workers import WorkerProcess

# The module shares one worker: under pytest-xdist its tests run on one xdist worker.
pytestmark = [requires_amqp, pytest.mark.xdist_group("celery-amqp-module")]


@pytest.fixture(scope="module")
def url(redis_url: str, namespace: str) -> Iterator[str]:
    yield amqp_backend_url(redis_url, namespace)
    delete_amqp_entities(namespace, ["default", "idle"])



def test_tasks_run_end_to_end(bridge: Bridge, worker: WorkerProcess) -> None:
    """Tasks published to RabbitMQ run on the Celery worker; delays and batches included."""
    result = tasks.add.using(bridge=bridge).enqueue(2, 3)
    delayed = tasks.add.using(bridge=bridge, delay=1).enqueue(5, 5)
    batch = tasks.add.using(bridge=bridge).enqueue_many([(1, 1), (2, 2)])
    assert result.wait(timeout=20) == 5
    assert [r.wait(timeout=20) for r in batch] == [2, 4]
    assert delayed.wait(timeout=20) == 10
    assert delayed.started_at is not None and delayed.run_at is not None
    assert (delayed.started_at - delayed.run_at).total_seconds() >= -0.5


def test_task_names_are_registered_with_celery(bridge: Bridge, worker: WorkerProcess) -> None:
    """inspect().registered() over RabbitMQ lists every taskbridge task under its own name."""
    app = bridge.backend.app  # type: ignore[attr-defined]
    replies: dict[str, list[str]] = {}

    def answered() -> bool:
        try:
            replies.update(app.control.inspect(timeout=1.0).registered() or {})
        except OSError:  # a pooled connection RabbitMQ closed while idle: kombu reconnects
            return False
        return bool(replies)

    poll(answered, timeout=20, what="a reply to inspect().registered()")
    [names] = replies.values()
    assert {"celery_testtasks.add", "celery_testtasks.count_run"} <= set(names)


def test_cancel_revokes_a_waiting_task(bridge: Bridge, worker: WorkerProcess) -> None:
    """A canceled delayed task is CANCELED and Celery discards its message when due."""
    result = tasks.add.using(bridge=bridge, delay=2).enqueue(1, 1)
    worker.wait_for_output(f"add[{result.id}] received")
    assert result.cancel().status is Status.CANCELED
    worker.wait_for_output(f"Discarding revoked task: celery_testtasks.add[{result.id}]")
    assert result.refresh().status is Status.CANCELED


def test_queue_depth_is_a_passive_declare(bridge: Bridge) -> None:
    """queue_depth counts ready messages on a queue nobody consumes; 0 for an unknown queue."""
    for priority in (-100, 0, 100):
        tasks.add.using(bridge=bridge, queue="idle", priority=priority).enqueue(1, 2)
    poll(lambda: bridge.backend.queue_depth("idle") == 3, timeout=5, what="3 ready messages")
    assert bridge.backend.queue_depth("never-declared") == 0


def test_a_batch_is_published_with_one_wait_for_its_confirms(bridge: Bridge) -> None:
    """enqueue_many on RabbitMQ publishes the whole batch, confirmed, with priorities kept:
    every message is on the queue once enqueue_many returns."""
    before = bridge.backend.queue_depth("idle")
    calls = [(n, n) for n in range(300)]
    results = tasks.add.using(bridge=bridge, queue="idle", priority=5).enqueue_many(calls)
    assert len({r.id for r in results}) == 300
    poll(lambda: bridge.backend.queue_depth("idle") == before + 300, timeout=10,
         what="300 more ready messages")
    assert all(r.refresh().status is Status.PENDING for r in results)


def test_a_batch_the_broker_cannot_take_leaves_no_records(redis_url: str) -> None:
    """A batch that cannot reach RabbitMQ raises EnqueueError and leaves none of its records."""
    own = unique_prefix("amqp-down")
    down = Bridge(amqp_backend_url(redis_url, own).replace(":5672/", ":1/"))
    try:
        with pytest.raises(EnqueueError, match="could not"):
            tasks.add.using(bridge=down).enqueue_many([(1, 1), (2, 2), (3, 3)])
        assert down.count() == 0
    finally:
        down.close()
        delete_namespace(redis_url, own)
