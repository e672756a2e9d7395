"""CONTRACT §7: cancel — waiting tasks never run; running ones see context.canceled."""

from __future__ import annotations

import pytest

from taskbridge import Status, TaskCanceled
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, cooperative, retry_later


def test_canceled_pending_task_never_runs(backend: Harness) -> None:
    """cancel() on a PENDING task makes it CANCELED at once, and it never runs."""
    result = backend.park(add).enqueue(1, 1)
    assert result.cancel().status is Status.CANCELED
    assert result.finished_at is not None
    marker = backend.park(add).enqueue(2, 2)  # queued behind the canceled one
    with backend.release_parked():
        backend.wait_status(marker, Status.SUCCEEDED)
    result.refresh()
    assert (result.status, result.attempts, result.started_at) == (Status.CANCELED, 0, None)
    with pytest.raises(TaskCanceled):
        result.wait(timeout=5)


def test_canceled_retrying_task_never_runs_again(backend: Harness) -> None:
    """cancel() on a RETRYING task makes it CANCELED and its next attempt never runs."""
    result = retry_later.enqueue(2)
    backend.wait_status(result, Status.RETRYING, attempts=1)
    assert result.cancel().status is Status.CANCELED
    marker = add.using(delay=2.5).enqueue(0, 0) if backend.capabilities.delays else None
    if marker is not None:
        backend.finish(marker)
    result.refresh()
    assert (result.status, result.attempts) == (Status.CANCELED, 1)


def test_running_task_sees_cancel(backend: Harness) -> None:
    """cancel() on a RUNNING task sets context.canceled; a task that stops ends CANCELED."""
    if not backend.capabilities.cancel_running:
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('cancel_running')}")
    with backend.background():
        result = cooperative.enqueue(30)
        backend.wait_for(lambda: result.refresh().progress is not None,
                         what="the cooperative task to report its first step")
        assert result.status is Status.RUNNING
        result.cancel()
        backend.wait_status(result, Status.CANCELED, timeout=15)
    assert result.value is None and result.attempts == 1
    assert result.error is not None and "canceled" in result.error.message
    with pytest.raises(TaskCanceled):
        result.wait(timeout=5)
