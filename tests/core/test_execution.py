"""The one worker-side execution path on memory://: retries, failures, timeouts, recovery."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from taskbridge import (
    Bridge,
    Envelope,
    Retry,
    RetryPolicy,
    Status,
    TaskBridgeError,
    TaskCanceled,
    TaskContext,
    WorkerLost,
    task,
)
from taskbridge._bridge import record_for
from taskbridge._execution import WORKER_LOST, execute, recover_lost
from taskbridge.testing.recorder import HookRecorder

from .conftest import run_all

runs: list[Any] = []


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    runs.clear()


@task(name="exec.flaky", retry=RetryPolicy(max_attempts=3, backoff=30.0))
def flaky(failures: int) -> str:
    runs.append("flaky")
    if len(runs) <= failures:
        raise ConnectionError(f"failure {len(runs)}")
    return "ok"


def only_envelope(bridge: Bridge) -> Envelope:
    """Take the one waiting envelope off a memory:// backend, as a worker would receive it."""
    [envelope] = bridge.backend.pending()  # type: ignore[attr-defined]
    bridge.backend.cancel(envelope.id)
    return envelope


def test_a_failed_attempt_is_retried_after_the_policy_delay(
    bridge: Bridge, recorder: HookRecorder
) -> None:
    """A retryable failure leaves RETRYING with the error and run_at, then SUCCEEDED."""
    result = flaky.using(bridge=bridge).enqueue(1)
    before = time.time()
    record = execute(bridge, only_envelope(bridge))
    assert record is not None and record.status is Status.RETRYING
    assert result.refresh().status is Status.RETRYING
    assert result.error is not None and result.error.type == "ConnectionError"
    assert result.error.message == "failure 1" and "Traceback" in result.error.traceback
    assert result.attempts == 1 and result.run_at is not None
    assert before + 29 <= result.run_at.timestamp() <= time.time() + 31
    bridge.drive()  # not due yet: nothing runs
    assert result.refresh().status is Status.RETRYING and runs == ["flaky"]
    run_all(bridge)
    assert result.refresh().status is Status.SUCCEEDED
    assert (result.value, result.attempts) == ("ok", 2)
    assert recorder.of(result.id) == ["enqueued", "started", "retrying", "started", "succeeded"]


def test_the_last_attempt_fails_for_good(bridge: Bridge) -> None:
    """After max_attempts failures the task is FAILED with the last error."""
    result = flaky.using(bridge=bridge).enqueue(10)
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.attempts == 3 and result.error is not None
    assert result.error.message == "failure 3"


def test_retry_raised_by_the_task_uses_its_delay(bridge: Bridge) -> None:
    """raise Retry(delay=...) schedules the next attempt that many seconds later."""

    @task(name="exec.asks", retry=RetryPolicy(max_attempts=2, backoff=999.0))
    def asks() -> str:
        runs.append("asks")
        if len(runs) == 1:
            raise Retry(delay=0.5, reason="not yet")
        return "done"

    result = asks.using(bridge=bridge).enqueue()
    before = time.time()
    execute(bridge, only_envelope(bridge))
    assert result.refresh().status is Status.RETRYING
    assert result.run_at is not None
    assert before + 0.4 <= result.run_at.timestamp() <= time.time() + 0.6
    assert result.error is not None and result.error.message == "not yet"
    assert result.wait(timeout=10) == "done"


def test_retry_without_attempts_left_fails(bridge: Bridge) -> None:
    """Retry on the last attempt ends FAILED."""

    @task(name="exec.no-more")
    def no_more() -> None:
        raise Retry(delay=0)

    result = no_more.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.error is not None and result.error.type == "taskbridge.Retry"


def test_a_non_json_result_fails_without_retrying(bridge: Bridge) -> None:
    """A return value that is not JSON ends FAILED with ArgumentsNotSerializable, no retry."""

    @task(name="exec.bad-result", retry=RetryPolicy(max_attempts=5))
    def bad_result() -> Any:
        runs.append("bad")
        return {"when": {1, 2}}

    result = bad_result.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.error is not None
    assert result.error.type == "taskbridge.ArgumentsNotSerializable"
    assert result.error.message.startswith("result['when']: set is not a JSON value")
    assert runs == ["bad"]


def test_a_duplicate_delivery_runs_once(bridge: Bridge) -> None:
    """Executing the same envelope twice runs the task once; the second returns None."""
    result = flaky.using(bridge=bridge).enqueue(0)
    envelope = only_envelope(bridge)
    assert execute(bridge, envelope) is not None
    assert execute(bridge, envelope) is None
    assert runs == ["flaky"]
    assert result.refresh().status is Status.SUCCEEDED


def test_an_unregistered_task_name_fails(bridge: Bridge) -> None:
    """An envelope naming a task nobody registered ends FAILED with TaskNotRegistered."""
    envelope = Envelope(id="lost-name", task_name="exec.nobody.defined.this", max_attempts=3)
    bridge.store.create([record_for(envelope)], now=time.time(), idempotency_ttl=60)
    record = execute(bridge, envelope)
    assert record is not None and record.status is Status.FAILED
    assert record.error is not None
    assert record.error.type == "taskbridge.TaskNotRegistered"
    assert "exec.nobody.defined.this" in record.error.message


def test_a_sync_task_past_its_timeout_is_stopped(bridge: Bridge) -> None:
    """A sync attempt running past timeout= (main thread, SIGALRM) fails with TaskTimeout."""

    @task(name="exec.slow", timeout=0.1)
    def slow() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
        runs.append("finished anyway")

    result = slow.using(bridge=bridge).enqueue()
    started = time.monotonic()
    run_all(bridge)
    assert time.monotonic() - started < 5
    assert result.refresh().status is Status.FAILED
    assert result.error is not None and result.error.type == "taskbridge.TaskTimeout"
    assert runs == []


def test_an_async_task_past_its_timeout_is_stopped_and_retried(bridge: Bridge) -> None:
    """An async attempt past timeout= fails with TaskTimeout and counts as a failed attempt."""

    @task(name="exec.slow-async", timeout=0.1, retry=RetryPolicy(max_attempts=2, backoff=0))
    async def slow_async() -> None:
        runs.append("attempt")
        await asyncio.sleep(10)

    result = slow_async.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.attempts == 2 and runs == ["attempt", "attempt"]
    assert result.error is not None and result.error.type == "taskbridge.TaskTimeout"


def test_a_timeout_within_the_limit_changes_nothing(bridge: Bridge) -> None:
    """A task finishing inside its timeout succeeds, and the alarm is disarmed afterwards."""

    @task(name="exec.quick", timeout=0.2)
    def quick() -> int:
        return 1

    assert quick.using(bridge=bridge).enqueue().wait(timeout=5) == 1
    time.sleep(0.3)  # an alarm left armed would fire here and fail the test


def test_context_reports_progress(bridge: Bridge) -> None:
    """A context=True task gets its id and attempt, and its progress is stored."""

    @task(name="exec.progress", context=True)
    def report(context: TaskContext, total: int) -> list[Any]:
        context.set_progress(40, "loaded sheet")
        return [context.id, context.attempt, context.max_attempts, total]

    result = report.using(bridge=bridge).enqueue(7)
    assert result.wait(timeout=5) == [result.id, 1, 1, 7]
    assert result.refresh().progress == (40.0, "loaded sheet")


@pytest.mark.parametrize("percent", [-1, 101, "50", True])
def test_bad_progress_fails_the_task(bridge: Bridge, percent: Any) -> None:
    """set_progress outside 0-100, or not a number, is an error in the task."""

    @task(name="exec.bad-progress", context=True)
    def bad_progress(context: TaskContext) -> None:
        context.set_progress(percent)

    result = bad_progress.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.error is not None and "progress percent" in result.error.message


def test_a_running_task_sees_cancel_through_its_heartbeat(
    bridge: Bridge, recorder: HookRecorder
) -> None:
    """cancel() from another thread sets context.canceled; a task that stops ends CANCELED."""

    @task(name="exec.cancelable", context=True)
    def cancelable(context: TaskContext) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            context.raise_if_canceled()
            time.sleep(0.01)
        raise AssertionError("cancel never reached the task")

    result = cancelable.using(bridge=bridge).enqueue()

    def cancel_once_running() -> None:
        deadline = time.monotonic() + 10
        while result.refresh().status is not Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.01)
        result.cancel()

    canceler = threading.Thread(target=cancel_once_running)
    canceler.start()
    run_all(bridge)
    canceler.join()
    assert result.refresh().status is Status.CANCELED
    assert recorder.of(result.id)[-1] == "canceled"


def test_the_old_cancelled_spellings_still_work_and_warn() -> None:
    """context.cancelled and raise_if_cancelled() still answer, with a DeprecationWarning
    pointing at the caller."""
    context = TaskContext("id", "exec.old", 1, 1, lambda percent, message: None)
    with pytest.warns(DeprecationWarning, match="use context.canceled") as caught:
        assert context.cancelled is False
    assert caught[0].filename == __file__
    context._canceled.set()
    renamed = r"use context.raise_if_canceled\(\)"
    with pytest.warns(DeprecationWarning, match=renamed) as caught, pytest.raises(TaskCanceled):
        context.raise_if_cancelled()
    assert caught[0].filename == __file__
    assert context.canceled is True


def stale_running(bridge: Bridge, attempts: int) -> Any:
    """Enqueue a task and mark it RUNNING by a worker whose heartbeat stopped long ago."""
    result = flaky.using(bridge=bridge).enqueue(0)
    envelope = only_envelope(bridge)
    long_ago = time.time() - 3600
    assert bridge.store.start(envelope.id, 1, worker="dead:1:1", now=long_ago) is not None
    if attempts == 3:
        # Simulate a task already on its last attempt when the worker died.
        for attempt in (2, 3):
            bridge.store.finish(envelope.id, attempt - 1, Status.RETRYING, now=long_ago,
                                idempotency_ttl=60, envelope=envelope)
            bridge.store.start(envelope.id, attempt, worker="dead:1:1", now=long_ago)
    return result


def test_recovery_retries_a_task_whose_worker_died(bridge: Bridge) -> None:
    """A RUNNING task silent for two heartbeats is retried while attempts remain."""
    result = stale_running(bridge, attempts=1)
    [recovered] = recover_lost(bridge)
    assert recovered.id == result.id and recovered.status is Status.RETRYING
    assert result.refresh().error is not None and result.error.message == WORKER_LOST
    run_all(bridge)
    assert result.refresh().status is Status.SUCCEEDED and result.attempts == 2


def test_recovery_fails_a_lost_task_on_its_last_attempt(bridge: Bridge) -> None:
    """A lost task with no attempts left ends FAILED with 'worker lost'."""
    result = stale_running(bridge, attempts=3)
    [recovered] = recover_lost(bridge)
    assert recovered.status is Status.FAILED
    assert result.refresh().error is not None
    assert result.error.message.startswith("worker lost")
    assert bridge.failed()[0].id == result.id


def test_a_lost_worker_is_stored_as_the_exported_worker_lost_error(bridge: Bridge) -> None:
    """The error type stored for a lost worker is taskbridge.WorkerLost, a TaskBridgeError."""
    result = stale_running(bridge, attempts=3)
    recover_lost(bridge)
    assert result.refresh().error is not None
    assert result.error.type == "taskbridge.WorkerLost"
    assert issubclass(WorkerLost, TaskBridgeError)


def test_recovery_leaves_live_tasks_alone(bridge: Bridge) -> None:
    """A RUNNING task with a recent heartbeat is not touched."""
    result = flaky.using(bridge=bridge).enqueue(0)
    envelope = only_envelope(bridge)
    bridge.store.start(envelope.id, 1, worker="alive", now=time.time())
    assert recover_lost(bridge) == []
    assert result.refresh().status is Status.RUNNING


def test_an_outcome_is_recorded_once_the_store_answers_again(bridge: Bridge) -> None:
    """A store outage while the outcome is written is ridden out: the task ends SUCCEEDED."""

    class Outage(Exception):
        """The store's 'unreachable right now' error."""

    store = bridge.store
    failures = iter([Outage("down"), Outage("still down")])
    real_finish = store.finish

    def flaky_finish(*args: Any, **kwargs: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_finish(*args, **kwargs)

    @task(name="exec.add_during_outage")
    def add(a: int, b: int) -> int:
        return a + b

    store.transient_errors = (Outage,)  # type: ignore[attr-defined]
    store.finish = flaky_finish  # type: ignore[method-assign]
    result = add.using(bridge=bridge).enqueue(2, 3)
    run_all(bridge)
    assert result.refresh().status is Status.SUCCEEDED
    assert result.value == 5
    assert next(failures, None) is None  # both outage errors were met and ridden out


def test_recovery_spares_an_attempt_that_beats_again_after_an_outage(bridge: Bridge) -> None:
    """An attempt found silent (its heartbeats held back by a store outage) whose next beat
    lands just after recovery looked is not taken for lost."""
    result = stale_running(bridge, attempts=1)
    store = bridge.store
    real_stale = store.stale

    def stale_then_beat(*args: Any, **kwargs: Any) -> Any:
        found = real_stale(*args, **kwargs)
        # The running attempt's first heartbeat since the store answered again.
        assert store.heartbeat(result.id, 1, now=time.time()) is False
        return found

    store.stale = stale_then_beat  # type: ignore[method-assign]
    assert recover_lost(bridge) == []
    assert result.refresh().status is Status.RUNNING
    assert result.attempts == 1
