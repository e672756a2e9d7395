"""CONTRACT §7: priority — one scale, -100 to 100, higher runs first on every backend."""

from __future__ import annotations

import pytest

from taskbridge import Status, UnsupportedFeature
from taskbridge.testing.conformance.harness import SOLO, Harness
from taskbridge.testing.conformance.tasks import record_start


def test_higher_priority_runs_first(backend: Harness) -> None:
    """Tasks waiting on one queue start in priority order, highest first, for one worker."""
    if not backend.capabilities.priority:
        with pytest.raises(UnsupportedFeature):
            record_start.using(priority=5).enqueue("refused")
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('priority')}")
    priorities = [0, 100, -100, 10, -5, 50]
    waiting = record_start.using(queue=SOLO)
    results = [waiting.using(priority=p).enqueue(f"p{p}") for p in priorities]
    with backend.serving([SOLO], concurrency=1):
        for result in results:
            backend.wait_status(result, Status.SUCCEEDED, timeout=30)
    started = sorted(results, key=lambda r: r.record.started_at or 0.0)
    assert [r.priority for r in started] == sorted(priorities, reverse=True)


def test_default_priority_is_zero(backend: Harness) -> None:
    """A task enqueued without priority= has priority 0."""
    result = record_start.enqueue("plain")
    assert result.priority == 0
    backend.finish(result)
