"""CONTRACT §6: retries — the policy's schedule, Retry(delay), dont_retry_on, dead letters."""

from __future__ import annotations

import pytest

from taskbridge import InvalidTaskOptions, Status
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import (
    fail,
    fail_with_backoff,
    flaky,
    not_retried,
    retry_later,
)

#: Slack for a failing attempt's own run time between its start and its failure.
SLACK = 0.5


def test_retries_follow_the_policy_schedule(backend: Harness) -> None:
    """Without jitter, attempt n+1 is due backoff * factor**(n-1) after attempt n failed,
    then the task is FAILED after max_attempts with its error kept."""
    result = fail_with_backoff.enqueue()
    policy = fail_with_backoff.retry
    for attempt in (1, 2):
        backend.wait_status(result, Status.RETRYING, attempts=attempt)
        expected = policy.delay(attempt)  # 1.0, then 2.0
        assert result.run_at is not None and result.started_at is not None
        waited = (result.run_at - result.started_at).total_seconds()
        assert expected <= waited <= expected + SLACK, (attempt, waited)
        assert result.error is not None and result.error.type == "RuntimeError"
    backend.wait_status(result, Status.FAILED, timeout=30)
    assert result.attempts == result.max_attempts == 3
    assert result.error is not None and "fails on every attempt" in result.error.message


def test_flaky_task_succeeds_on_a_later_attempt(backend: Harness) -> None:
    """A task failing on its first attempts SUCCEEDS on the attempt that works."""
    result = backend.finish(flaky.enqueue(3))
    assert (result.status, result.value, result.attempts) == (Status.SUCCEEDED, 3, 3)


def test_retry_exception_uses_its_delay(backend: Harness) -> None:
    """raise Retry(delay=d) schedules another attempt d seconds later."""
    result = retry_later.enqueue(1.5)
    backend.wait_status(result, Status.RETRYING, attempts=1)
    assert result.run_at is not None and result.started_at is not None
    waited = (result.run_at - result.started_at).total_seconds()
    assert 1.5 <= waited <= 1.5 + SLACK
    backend.wait_status(result, Status.SUCCEEDED)
    assert (result.value, result.attempts) == (2, 2)


def test_dont_retry_on_fails_at_once(backend: Harness) -> None:
    """An exception listed in dont_retry_on ends the task FAILED after one attempt."""
    result = backend.finish(not_retried.enqueue())
    assert (result.status, result.attempts, result.max_attempts) == (Status.FAILED, 1, 3)
    assert result.error is not None and result.error.type == "ValueError"


def test_failed_tasks_are_listed_and_can_be_retried(backend: Harness) -> None:
    """A FAILED task is in bridge.failed() until bridge.retry(id) re-enqueues it."""
    result = backend.finish(fail.enqueue("dead letter"))
    assert result.status is Status.FAILED
    assert result.id in {r.id for r in backend.bridge.failed()}
    again = backend.bridge.retry(result.id)
    assert again.id != result.id
    assert (again.task_name, again.args) == (result.task_name, result.args)
    assert result.refresh().retried_as == again.id
    failed_ids = {r.id for r in backend.bridge.failed()}
    assert result.id not in failed_ids
    backend.finish(again)
    assert (again.status, again.attempts) == (Status.FAILED, 1)
    assert again.id in {r.id for r in backend.bridge.failed()}
    with pytest.raises(InvalidTaskOptions):
        backend.bridge.retry(result.id)
