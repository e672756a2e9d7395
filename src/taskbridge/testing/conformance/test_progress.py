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


def test_progress_log_keeps_each_report_with_its_time(backend: Harness) -> None:
    """result.progress_log holds every report (up to the last 50), in order, each timed
    within the attempt that made it."""
    result = progress.enqueue(0)
    backend.finish(result)
    assert [(p.percent, p.message) for p in result.progress_log] == [
        (40.0, "loaded sheet"), (100.0, "done")]
    started, finished = result.record.started_at, result.record.finished_at
    assert started is not None and finished is not None
    first, last = result.progress_log
    assert started <= first.at <= last.at <= finished
