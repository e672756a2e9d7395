"""Messages nested too deep, written to the queue by hand: each is refused and its execution
FAILED, and the worker (one prefork slot) goes on to run the next task."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import celery_testtasks as tasks
import pytest
import redis
from celery_testkit import (
    amqp_backend_url,
    make_bridge,
    redis_backend_url,
    requires_amqp,
    start_worker,
)
from taskbridge_celery.testing import delete_amqp_entities

from taskbridge import Bridge, Envelope, Status
from taskbridge.plugin import record_for
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import WorkerProcess, Workers

pytestmark = pytest.mark.slow


@pytest.fixture(params=["redis", pytest.param("amqp", marks=requires_amqp)])
def setup(request: pytest.FixtureRequest, redis_url: str, namespace: str,
          workers: Workers) -> Iterator[tuple[Bridge, WorkerProcess]]:
    """A bridge and a worker with a single prefork slot: one slot lost would stop it."""
    url = (redis_backend_url(redis_url, namespace) if request.param == "redis"
           else amqp_backend_url(redis_url, namespace))
    bridge = make_bridge(url)
    worker = start_worker(workers, url, queues=("hostile",), concurrency=1)
    yield bridge, worker
    worker.stop()
    bridge.close()
    if request.param == "amqp":
        delete_amqp_entities(namespace, ["hostile"])


def _victim(bridge: Bridge) -> str:
    """A waiting record whose message we write by hand."""
    envelope = Envelope(id=f"victim-{time.time_ns()}", task_name="celery_testtasks.add",
                        args=(1, 2), queue="hostile", enqueued_at=time.time())
    bridge.store.create([record_for(envelope)], now=time.time(), idempotency_ttl=60)
    return envelope.id


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _publish(bridge: Bridge, id: str, body: str) -> None:
    """A Celery protocol-2 message for ``id`` with ``body`` as its raw JSON body."""
    app = bridge.backend.app  # type: ignore[attr-defined]
    message = app.amqp.create_task_message(id, "celery_testtasks.add", [], {})
    with app.producer_or_acquire() as producer:
        # retry: a pooled connection RabbitMQ closed while idle is reconnected, as the
        # backend's own publish does.
        producer.publish(body.encode(), exchange="", routing_key=f"{bridge.url.namespace}.hostile",
                         headers=message.headers, content_type="application/json",
                         content_encoding="utf-8", retry=True,
                         retry_policy={"max_retries": 3, "interval_start": 0,
                                       "interval_step": 0.2}, **message.properties)


def test_messages_nested_too_deep_never_wedge_the_worker(
    setup: tuple[Bridge, WorkerProcess],
) -> None:
    """An envelope past the nesting limit, a body too deep for the pool's pickle, and one too
    deep for any JSON decoder: each execution ends FAILED naming why; the next task runs."""
    bridge, worker = setup
    victims = {name: _victim(bridge) for name in ("past-limit", "past-pickle", "past-json")}
    envelope = Envelope(id=victims["past-limit"], task_name="celery_testtasks.add",
                        queue="hostile").to_dict()
    _publish(bridge, victims["past-limit"],
             json.dumps([[envelope | {"args": [_nested(65), 1]}], {}, {}]))
    envelope["id"] = victims["past-pickle"]
    _publish(bridge, victims["past-pickle"],
             json.dumps([[envelope | {"args": [_nested(600), 1]}], {}, {}]))
    deep = "[" * 100_000 + "]" * 100_000
    _publish(bridge, victims["past-json"], f"[[{deep}], {{}}, {{}}]")
    assert tasks.add.using(bridge=bridge, queue="hostile").enqueue(2, 2).wait(timeout=30) == 4
    for name, id in victims.items():
        wait_for(lambda id=id: bridge.store.get(id).status is Status.FAILED, what=f"{name} FAILED")
        error = bridge.store.get(id).error
        assert error is not None and error.type == "taskbridge.MessageRejected", name
    assert "nested deeper than 64 levels" in str(bridge.store.get(victims["past-limit"]).error)
    assert "nests deeper than 70 levels" in str(bridge.store.get(victims["past-pickle"]).error)
    assert worker.process.poll() is None


def test_queue_items_too_deep_to_parse_are_dropped(
    redis_url: str, namespace: str, workers: Workers
) -> None:
    """On Redis, a list item whose kombu framing nests too deep for JSON is logged and skipped;
    the worker keeps working."""
    url = redis_backend_url(redis_url, namespace)
    bridge = make_bridge(url)
    worker = start_worker(workers, url, queues=("deep-items",))
    try:
        client = redis.Redis.from_url(redis_url)
        deep = "[" * 100_000 + "]" * 100_000
        client.lpush(f"{namespace}.deep-items", f'{{"body": "", "headers": {deep}}}')
        assert tasks.add.using(bridge=bridge, queue="deep-items").enqueue(3, 3).wait(30) == 6
        worker.wait_for_output("nested too deep")
        assert worker.poll() is None
    finally:
        bridge.close()
        assert worker.stop() == 0, worker.output()
