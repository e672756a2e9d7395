"""Enqueueing costs one Redis round trip: records, claims and RQ jobs in one script."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
import redis
from rq_testkit import rq_url
from taskbridge import Bridge
from taskbridge.testing.redis_server import start_private_server, stop_private_server

import rq_test_tasks


@pytest.fixture(scope="module")
def private_url() -> Iterator[str]:
    """A redis-server of our own, so MONITOR sees no other client's commands."""
    url = start_private_server()
    yield url
    stop_private_server(url)


@pytest.fixture
def private_bridge(private_url: str, namespace: str) -> Iterator[Bridge]:
    made = Bridge(rq_url(private_url, namespace), imports=["rq_test_tasks"])
    made.store.ping()
    rq_test_tasks.add.using(bridge=made).enqueue(0, 0)  # loads the store's scripts
    yield made
    made.close()


def client_commands(url: str, action: Callable[[], Any]) -> list[str]:
    """The commands clients sent while ``action`` ran (not those scripts ran inside Redis)."""
    watcher, marker = redis.Redis.from_url(url), f"end-{time.monotonic_ns()}"
    signaller = redis.Redis.from_url(url)
    signaller.ping()  # connected before MONITOR starts, so its handshake is not counted
    seen: list[str] = []
    with watcher.monitor() as monitor:
        action()
        signaller.echo(marker)
        for entry in monitor.listen():
            if marker in entry["command"]:
                break
            if entry["client_type"] != "lua":
                seen.append(entry["command"].split()[0].upper())
    watcher.close()
    signaller.close()
    return seen


def test_enqueue_is_one_evalsha(private_bridge: Bridge, private_url: str) -> None:
    """One enqueue (record, idempotency claim, RQ job) is exactly one EVALSHA."""
    task = rq_test_tasks.add.using(bridge=private_bridge, idempotency_key="k")
    assert client_commands(private_url, lambda: task.enqueue(1, 2)) == ["EVALSHA"]


def test_delayed_enqueue_is_one_evalsha(private_bridge: Bridge, private_url: str) -> None:
    """A delayed enqueue (record and RQ scheduled job) is exactly one EVALSHA."""
    task = rq_test_tasks.add.using(bridge=private_bridge, delay=60)
    assert client_commands(private_url, lambda: task.enqueue(1, 2)) == ["EVALSHA"]


def test_enqueue_many_is_one_evalsha(private_bridge: Bridge, private_url: str) -> None:
    """enqueue_many of 20 calls is exactly one EVALSHA."""
    task = rq_test_tasks.add.using(bridge=private_bridge)
    calls = [(i, i) for i in range(20)]
    assert client_commands(private_url, lambda: task.enqueue_many(calls)) == ["EVALSHA"]
    assert private_bridge.backend.queue_depth("default") >= 20


def test_backend_enqueue_is_one_evalsha(private_bridge: Bridge, private_url: str) -> None:
    """Re-sending envelopes (retries, recovery) is one EVALSHA for the whole batch."""
    results = rq_test_tasks.add.using(bridge=private_bridge).enqueue_many([(1, 1), (2, 2)])
    envelopes = [attrs.evolve(r.refresh().record.envelope, attempt=2) for r in results]
    private_bridge.send(envelopes[:1])  # loads the script (a first call also loads it)
    assert client_commands(
        private_url, lambda: private_bridge.send(envelopes)
    ) == ["EVALSHA"]
