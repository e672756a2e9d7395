"""CONTRACT §6: crash recovery — a worker killed mid-task leaves nothing stuck in RUNNING."""

from __future__ import annotations

import time

import attrs
import pytest

from taskbridge import Status
from taskbridge._execution import WORKER_LOST
from taskbridge._record import ErrorInfo
from taskbridge.testing.conformance.harness import SOLO, Harness
from taskbridge.testing.conformance.tasks import add, flaky, hang, hang_once


def test_killed_worker_tasks_are_retried_or_failed(backend: Harness) -> None:
    """SIGKILL a worker mid-task: its task is retried if attempts remain, else FAILED with
    "worker lost" — by the other live workers, within a few heartbeats."""
    if not backend.capabilities.worker_processes:
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('worker_processes')}")
    doomed = backend.start_worker([SOLO], concurrency=2)
    last_chance = hang.using(queue=SOLO).enqueue(60)
    second_chance = hang_once.using(queue=SOLO).enqueue(60)
    backend.wait_status(last_chance, Status.RUNNING)
    backend.wait_status(second_chance, Status.RUNNING)
    backend.kill_worker(doomed)

    # Recovery needs two silent heartbeats (1 s here) plus a housekeeping pass.
    backend.wait_status(last_chance, Status.FAILED, timeout=30)
    assert last_chance.error is not None and last_chance.error.message == WORKER_LOST
    assert last_chance.attempts == 1
    backend.wait_status(second_chance, Status.RETRYING, Status.PENDING, attempts=1, timeout=30)
    assert second_chance.error is not None and second_chance.error.message == WORKER_LOST

    with backend.serving([SOLO]):
        backend.wait_status(second_chance, Status.SUCCEEDED, timeout=30)
    assert (second_chance.value, second_chance.attempts) == (2, 2)


def test_waiting_records_whose_messages_were_lost_are_sent_again(backend: Harness) -> None:
    """A record left waiting with no message anywhere (its worker died between taking the
    message and starting it, a scheduler died holding a due retry, a retry recorded but never
    sent) runs once a worker on its queue finds the queue empty and the record past due."""
    if not backend.capabilities.worker_processes:
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('worker_processes')}")
    bridge, now = backend.bridge, time.time()
    ttl = bridge.settings.idempotency_ttl
    fresh, _ = bridge._prepare(add.using(queue=SOLO), (2, 3), {}, now)
    retried, retried_envelope = bridge._prepare(flaky.using(queue=SOLO), (2,), {}, now)
    bridge.store.create([fresh, retried], now=now, idempotency_ttl=ttl)  # records, no messages
    assert bridge.store.start(retried.id, 1, worker="killed-worker", now=now) is not None
    next_attempt = attrs.evolve(retried_envelope, attempt=2, run_at=now)
    bridge.store.finish(retried.id, 1, Status.RETRYING, now=now, idempotency_ttl=ttl,
                        error=ErrorInfo("RuntimeError", "first try"), run_at=now,
                        envelope=next_attempt)

    lost_fresh, lost_retry = bridge.get_result(fresh.id), bridge.get_result(retried.id)
    with backend.serving([SOLO]):
        backend.wait_status(lost_fresh, Status.SUCCEEDED, timeout=30)
        backend.wait_status(lost_retry, Status.SUCCEEDED, timeout=30)
    assert (lost_fresh.value, lost_fresh.attempts) == (5, 1)
    assert (lost_retry.value, lost_retry.attempts) == (2, 2)
