"""CONTRACT §7: progress — context.set_progress is visible in result.progress everywhere."""

from __future__ import annotations

from taskbridge import Status
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import progress


def test_progress_is_visible_from_another_bridge(backend: Harness) -> None:
    """Progress set while running shows in result.progress from another bridge, and the last
    report stays after the task ends."""
    observer = backend.other_bridge()
    with backend.background():
        result = progress.enqueue(1.0)
        seen = backend.wait_for(
            lambda: observer.get_result(result.id).progress == (40.0, "loaded sheet"),
            what="progress (40, 'loaded sheet') to show while the task runs",
        )
        assert seen
        backend.wait_status(result, Status.SUCCEEDED)
    assert observer.get_result(result.id).progress == (100.0, "done")
    assert result.progress == (100.0, "done")


def test_no_progress_until_reported(backend: Harness) -> None:
    """A task that never reports progress has progress None."""
    result = backend.park(progress).enqueue(0)
    try:
        assert result.refresh().progress is None
    finally:
        result.cancel()
