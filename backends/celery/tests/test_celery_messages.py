"""The messages we write by hand: kombu's own wire form, one round trip, the priority scale."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import celery_testtasks as tasks
import pytest
import redis
from celery_testkit import make_bridge, redis_backend_url
from hypothesis import given
from hypothesis import strategies as st
from taskbridge_celery.messages import celery_priority, redis_priority, redis_push

from taskbridge import Bridge, Envelope
from taskbridge.testing.redis_server import start_private_server, stop_private_server

priorities = st.integers(min_value=-100, max_value=100)


@given(priorities, priorities)
def test_priority_mapping_keeps_the_order(low: int, high: int) -> None:
    """A higher taskbridge priority never maps to a lower Celery level (or a later Redis list)."""
    if low <= high:
        assert celery_priority(low) <= celery_priority(high)
        assert redis_priority(low) >= redis_priority(high)


@given(priorities)
def test_priority_mapping_keeps_the_sign(priority: int) -> None:
    """0 has a level of its own, so any nonzero priority orders against the default."""
    level = celery_priority(priority)
    assert 0 <= level <= 9 and redis_priority(priority) == 9 - level
    assert (level > 4) == (priority > 0) and (level < 4) == (priority < 0)


def test_extremes_use_the_ends_of_the_scale() -> None:
    """100 is Celery's 9 (RabbitMQ's highest, Redis list 0); -100 is 0."""
    assert (celery_priority(100), redis_priority(100)) == (9, 0)
    assert (celery_priority(-100), redis_priority(-100)) == (0, 9)


@pytest.fixture()
def bridge(redis_url: str, namespace: str) -> Iterator[Bridge]:
    bridge = make_bridge(redis_backend_url(redis_url, namespace))
    yield bridge
    bridge.close()


def test_hand_made_message_matches_what_kombu_pushes(
    bridge: Bridge, redis_url: str, namespace: str
) -> None:
    """Our LPUSH payload has exactly the list key and fields kombu writes for Celery's send_task."""
    backend = bridge.backend
    queue = f"{namespace}.wire"
    envelope = Envelope(id="wire-1", task_name="celery_testtasks.add", args=(1, 2),
                        queue="wire", priority=100, enqueued_at=time.time(),
                        run_at=time.time() + 60, timeout=5)
    key, payload = redis_push(backend.app, backend.config, envelope)
    ours = json.loads(payload)
    backend.app.send_task(envelope.task_name, args=[envelope.to_dict()], task_id="wire-2",
                          queue=queue, priority=0, countdown=60, time_limit=10)
    client = redis.Redis.from_url(redis_url)
    [kombu_key] = [k.decode() for k in client.scan_iter(match=f"{queue}*")]
    theirs = json.loads(client.rpop(kombu_key) or b"")
    assert key == kombu_key == queue  # priority 100 -> Redis level 0: the unsuffixed list
    assert ours.keys() == theirs.keys()
    assert ours["headers"].keys() == theirs["headers"].keys()
    assert ours["properties"].keys() == theirs["properties"].keys()
    assert ours["properties"]["delivery_info"] == theirs["properties"]["delivery_info"]
    assert ours["headers"]["eta"] and ours["headers"]["timelimit"] == [10.0, 6.0]
    body = json.loads(base64.b64decode(ours["body"]))
    assert body[0] == [envelope.to_dict()] and body[1] == {}


def _top_level_commands(url: str, action: Callable[[], object]) -> list[str]:
    """The commands clients sent while ``action`` ran, as MONITOR reports them.

    MONITOR marks the commands a Lua script runs as ``lua``: those are not round trips.
    """
    marker = f"end-{time.time_ns()}"
    seen: list[str] = []
    watching, signaller = redis.Redis.from_url(url), redis.Redis.from_url(url)
    signaller.ping()  # connected (HELLO and all) before the watch starts
    ready = threading.Event()

    def watch() -> None:
        with watching.monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                if marker in entry["command"]:
                    return
                if entry["client_type"] != "lua":
                    seen.append(entry["command"].split(" ", 1)[0])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(5)
    action()
    signaller.echo(marker)
    watcher.join(10)
    watching.close()
    signaller.close()
    return [command for command in seen if command != "ECHO"]


def test_enqueue_is_one_round_trip_to_redis(namespace: str) -> None:
    """Storing the record, claiming its key and pushing the Celery message is one EVALSHA."""
    url = start_private_server()
    bridge = make_bridge(redis_backend_url(url, namespace))
    try:
        tasks.add.using(bridge=bridge).enqueue(0, 0)  # loads the script and connects
        results: list[Any] = []
        sent = _top_level_commands(url, lambda: results.append(
            tasks.add.using(bridge=bridge, idempotency_key="once").enqueue(1, 2)))
        assert sent == ["EVALSHA"]
        assert bridge.backend.queue_depth("default") == 2
        assert bridge.store.get(results[0].id).idempotency_key == "once"
    finally:
        bridge.close()
        stop_private_server(url)


def test_deduplicated_enqueue_sends_no_message(bridge: Bridge) -> None:
    """A second enqueue with a live idempotency key returns the same id and pushes nothing."""
    first = tasks.add.using(bridge=bridge, queue="dedupe", idempotency_key="k").enqueue(1, 1)
    again = tasks.add.using(bridge=bridge, queue="dedupe", idempotency_key="k").enqueue(1, 1)
    assert again.id == first.id and again.deduplicated
    assert bridge.backend.queue_depth("dedupe") == 1
