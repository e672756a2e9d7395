"""CONTRACT §12: errors — one root, importable from taskbridge, carrying what callers need."""

from __future__ import annotations

import pytest

import taskbridge
from taskbridge import Status, TaskFailed
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import bad_return

PUBLIC = ["ConfigurationError", "ArgumentsNotSerializable", "EnqueueError", "TaskFailed",
          "TaskCanceled", "TaskTimeout", "Retry", "ResultNotFound", "UnsupportedFeature"]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_errors_share_one_root(name: str) -> None:
    """Every public exception is importable from taskbridge and derives from TaskBridgeError."""
    error = getattr(taskbridge, name)
    assert issubclass(error, taskbridge.TaskBridgeError)


def test_errors_are_also_the_matching_builtins() -> None:
    """ArgumentsNotSerializable is a TypeError and ResultNotFound a LookupError."""
    assert issubclass(taskbridge.ArgumentsNotSerializable, TypeError)
    assert issubclass(taskbridge.ResultNotFound, LookupError)


def test_non_json_return_value_fails_the_task(backend: Harness) -> None:
    """A task whose return value is not JSON ends FAILED with ArgumentsNotSerializable naming
    where the bad value is."""
    result = bad_return.enqueue()
    with pytest.raises(TaskFailed) as caught:
        result.wait(timeout=30)
    error = caught.value.error
    assert result.refresh().status is Status.FAILED
    assert error is not None and error.type.endswith("ArgumentsNotSerializable")
    assert "result['when']" in error.message and "datetime" in error.message
