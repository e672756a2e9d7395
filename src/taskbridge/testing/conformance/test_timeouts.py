"""CONTRACT §6: timeouts — an attempt running too long is stopped and FAILED with TaskTimeout."""

from __future__ import annotations

import pytest

from taskbridge import Status, UnsupportedFeature
from taskbridge._task import Task
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import async_sleep, sleep


@pytest.mark.parametrize("sleeper", [sleep, async_sleep], ids=["sync", "async"])
def test_attempt_past_its_timeout_fails(backend: Harness, sleeper: Task[[float], float]) -> None:
    """An attempt longer than timeout= is stopped and the task FAILED with a TaskTimeout."""
    if not backend.capabilities.timeouts:
        with pytest.raises(UnsupportedFeature):
            sleeper.using(timeout=1).enqueue(0)
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('timeouts')}")
    result = sleeper.using(timeout=1).enqueue(30)
    backend.finish(result)
    assert result.status is Status.FAILED
    assert result.error is not None and result.error.type.endswith("TaskTimeout")
    assert result.duration is not None and result.duration.total_seconds() < 10


def test_attempt_within_its_timeout_succeeds(backend: Harness) -> None:
    """A task finishing before its timeout is not disturbed."""
    if not backend.capabilities.timeouts:
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('timeouts')}")
    result = backend.finish(sleep.using(timeout=10).enqueue(0.1))
    assert (result.status, result.value) == (Status.SUCCEEDED, 0.1)
