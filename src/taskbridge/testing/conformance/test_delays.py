"""CONTRACT §7: delay= and run_at= — a task does not start before its time (± 1 s)."""

from __future__ import annotations

import datetime as dt

import pytest

from taskbridge import InvalidTaskOptions, Status, UnsupportedFeature
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add

TOLERANCE = 1.0


def _require_delays(backend: Harness) -> None:
    if not backend.capabilities.delays:
        with pytest.raises(UnsupportedFeature):
            add.using(delay=1).enqueue(1, 1)
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('delays')}")


def test_delay_postpones_the_start(backend: Harness) -> None:
    """delay=2 sets run_at two seconds after enqueueing, and the task starts then."""
    _require_delays(backend)
    result = add.using(delay=2).enqueue(1, 2)
    assert result.run_at is not None and result.enqueued_at is not None
    assert abs((result.run_at - result.enqueued_at).total_seconds() - 2) < 0.01
    backend.finish(result)
    assert result.status is Status.SUCCEEDED and result.started_at is not None
    assert abs((result.started_at - result.run_at).total_seconds()) <= TOLERANCE
    assert (result.started_at - result.enqueued_at).total_seconds() >= 2 - TOLERANCE


def test_run_at_postpones_the_start(backend: Harness) -> None:
    """run_at=aware datetime is kept as given, and the task starts then."""
    _require_delays(backend)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    result = add.using(run_at=when).enqueue(2, 2)
    assert result.run_at is not None
    assert abs((result.run_at - when).total_seconds()) < 0.001
    backend.finish(result)
    assert result.status is Status.SUCCEEDED and result.started_at is not None
    assert abs((result.started_at - when).total_seconds()) <= TOLERANCE


def test_naive_run_at_is_refused() -> None:
    """A naive datetime is ambiguous, so run_at= refuses it."""
    with pytest.raises(InvalidTaskOptions, match="timezone-aware"):
        add.using(run_at=dt.datetime.now())
