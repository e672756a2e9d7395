"""CONTRACT §5: idempotency keys — one execution per live key, across threads and processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import pytest

from taskbridge import Result, Status
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, fail, keyed


def _key(label: str) -> str:
    return f"conformance-{label}-{uuid.uuid4().hex}"


def test_same_key_returns_the_same_id(backend: Harness) -> None:
    """While a keyed task is PENDING, enqueueing its key again sends nothing and returns the
    same id with deduplicated=True."""
    key = _key("pending")
    parked = backend.park(add).using(idempotency_key=key)
    first = parked.enqueue(1, 2)
    before = backend.bridge.count(task_name=add.name)
    second = parked.enqueue(1, 2)
    try:
        assert (first.deduplicated, second.deduplicated) == (False, True)
        assert second.id == first.id
        assert second.idempotency_key == key
        assert backend.bridge.count(task_name=add.name) == before
    finally:
        first.cancel()


def test_key_from_a_callable(backend: Harness) -> None:
    """@task(idempotency_key=callable) computes the key from the task's arguments."""
    user = uuid.uuid4().int % 10**9
    first = backend.park(keyed).enqueue(user, token="a")
    second = backend.park(keyed).enqueue(user, token="b")
    try:
        assert first.idempotency_key == f"conformance-user:{user}"
        assert second.deduplicated and second.id == first.id
    finally:
        first.cancel()


def test_succeeded_key_still_deduplicates(backend: Harness) -> None:
    """A key whose task SUCCEEDED within idempotency_ttl still returns that execution."""
    key = _key("succeeded")
    first = add.using(idempotency_key=key).enqueue(2, 2)
    backend.finish(first)
    again = add.using(idempotency_key=key).enqueue(2, 2)
    assert again.deduplicated and again.id == first.id
    assert again.status is Status.SUCCEEDED and again.value == 4


def test_key_is_free_after_failure(backend: Harness) -> None:
    """After FAILED, the key is free: the next enqueue is a new execution."""
    key = _key("failed")
    first = fail.using(idempotency_key=key).enqueue("once")
    assert backend.finish(first).status is Status.FAILED
    second = fail.using(idempotency_key=key).enqueue("twice")
    assert not second.deduplicated and second.id != first.id
    backend.finish(second)


def test_key_is_free_after_cancel(backend: Harness) -> None:
    """After CANCELED, the key is free: the next enqueue is a new execution."""
    key = _key("canceled")
    parked = backend.park(add).using(idempotency_key=key)
    first = parked.enqueue(1, 1)
    assert first.cancel().status is Status.CANCELED
    second = parked.enqueue(1, 1)
    try:
        assert not second.deduplicated and second.id != first.id
    finally:
        second.cancel()


def test_racing_threads_enqueue_once(backend: Harness) -> None:
    """Twelve threads racing on one key: exactly one enqueue wins, all get its id, and the
    task runs once."""
    key = _key("threads")
    barrier = threading.Barrier(12)
    results: list[Result] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def produce() -> None:
        try:
            barrier.wait(10)
            result = add.using(idempotency_key=key).enqueue(5, 5)
            with lock:
                results.append(result)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=produce) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(results) == 12
    assert len({r.id for r in results}) == 1
    assert sum(not r.deduplicated for r in results) == 1
    winner = backend.finish(results[0])
    assert (winner.status, winner.value, winner.attempts) == (Status.SUCCEEDED, 10, 1)


PRODUCER = """
import json, sys
from taskbridge import Bridge
from taskbridge.testing.conformance.tasks import add
bridge = Bridge(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
result = add.using(bridge=bridge, idempotency_key=sys.argv[2]).enqueue(7, 7)
print(json.dumps({"id": result.id, "deduplicated": result.deduplicated}), flush=True)
bridge.close()
"""


def test_racing_processes_enqueue_once(backend: Harness) -> None:
    """Several producer processes racing on one key: exactly one enqueue wins."""
    if backend.in_process:
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('worker_processes')}; "
                    "other processes cannot share its state")
    key = _key("processes")
    producers = [
        subprocess.Popen([sys.executable, "-c", PRODUCER, backend.url, key], text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    try:
        for producer in producers:  # a barrier across processes: all connected, then go
            assert producer.stdout is not None and producer.stdout.readline() == "ready\n"
        for producer in producers:
            assert producer.stdin is not None
            producer.stdin.write("go\n")
            producer.stdin.flush()
        answers = [json.loads(p.communicate(timeout=60)[0]) for p in producers]
    finally:
        for producer in producers:
            producer.kill()
            producer.wait()
    assert len({a["id"] for a in answers}) == 1
    assert sum(not a["deduplicated"] for a in answers) == 1
    winner = backend.finish(backend.bridge.get_result(answers[0]["id"]))
    assert (winner.status, winner.value, winner.attempts) == (Status.SUCCEEDED, 14, 1)


def test_duplicate_delivery_does_not_run_again(backend: Harness) -> None:
    """A message delivered again for a task that already SUCCEEDED is not run again."""
    result = backend.finish(add.enqueue(8, 8))
    envelope = result.record.envelope
    assert envelope is not None, "a record keeps the envelope it was sent with"
    started_at = result.started_at
    backend.bridge.send([envelope])
    marker = backend.finish(add.enqueue(0, 0))  # sent after the duplicate
    assert marker.status is Status.SUCCEEDED
    result.refresh()
    assert (result.status, result.attempts, result.started_at) == (
        Status.SUCCEEDED, 1, started_at)
