"""CONTRACT §6: crash recovery — a worker killed mid-task leaves nothing stuck in RUNNING."""

from __future__ import annotations

import pytest

from taskbridge import Status
from taskbridge._execution import WORKER_LOST
from taskbridge.testing.conformance.harness import SOLO, Harness
from taskbridge.testing.conformance.tasks import hang, hang_once


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
