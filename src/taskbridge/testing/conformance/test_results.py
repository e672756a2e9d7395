"""CONTRACT §4: Result handles — fields, statuses, transitions, refresh, wait, lookup by id."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest

from taskbridge import ResultNotFound, Status, TaskCanceled, TaskFailed
from taskbridge._status import TRANSITIONS
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, allocate, fail, flaky, sleep


def _aware_utc(value: dt.datetime | None) -> bool:
    return value is not None and value.utcoffset() == dt.timedelta(0)


def test_new_result_is_pending(backend: Harness) -> None:
    """A task not yet started is PENDING with no attempts, value or error."""
    result = backend.park(add).enqueue(1, 2)
    try:
        assert result.refresh().status is Status.PENDING
        assert isinstance(result.id, str) and result.id
        assert result.attempts == 0 and result.started_at is None and result.finished_at is None
        assert result.value is None and result.error is None
        assert _aware_utc(result.enqueued_at)
    finally:
        result.cancel()


def test_succeeded_result_fields(backend: Harness) -> None:
    """A finished Result reports what was asked and what happened, with aware UTC times."""
    result = add.enqueue(2, b=3)
    assert backend.finish(result) is result
    assert result.status is Status.SUCCEEDED
    assert result.value == 5 and result.error is None
    assert (result.task_name, result.queue) == ("conformance.add", "default")
    assert (result.args, result.kwargs) == ([2], {"b": 3})
    assert (result.attempts, result.max_attempts) == (1, 1)
    assert result.idempotency_key is None and result.deduplicated is False
    enqueued, started, finished = result.enqueued_at, result.started_at, result.finished_at
    assert enqueued is not None and started is not None and finished is not None
    assert all(_aware_utc(t) for t in (enqueued, started, finished))
    assert enqueued <= started <= finished
    assert result.duration is not None
    span = finished - started
    assert abs((result.duration - span).total_seconds()) < 0.001


def test_ids_are_unique(backend: Harness) -> None:
    """Every enqueue gets its own id."""
    results = add.enqueue_many([(i, i) for i in range(20)])
    assert len({r.id for r in results}) == 20
    for result in results:
        backend.finish(result)


def test_refresh_reloads_in_place(backend: Harness) -> None:
    """refresh() reloads the same Result object and returns it."""
    result = add.enqueue(1, 1)
    backend.finish(result)
    assert result.refresh() is result
    assert result.refresh().status is Status.SUCCEEDED


def test_wait_returns_the_value(backend: Harness) -> None:
    """wait() returns the task's value."""
    assert add.enqueue(20, 22).wait(timeout=30) == 42


def test_wait_async_returns_the_value(backend: Harness) -> None:
    """wait_async() returns the task's value from async code."""
    result = add.enqueue(1, 2)
    assert asyncio.run(result.wait_async(timeout=30)) == 3


def test_wait_raises_task_failed_with_the_error(backend: Harness) -> None:
    """wait() on a FAILED task raises TaskFailed carrying the Result and its ErrorInfo."""
    result = fail.enqueue("for wait")
    with pytest.raises(TaskFailed) as caught:
        result.wait(timeout=30)
    assert caught.value.result.id == result.id
    assert caught.value.error is not None
    assert caught.value.error.type == "ValueError"
    assert "conformance failure: for wait" in caught.value.error.message
    assert "ValueError" in caught.value.error.traceback
    assert result.refresh().status is Status.FAILED
    assert result.error == caught.value.error


def test_wait_raises_task_canceled(backend: Harness) -> None:
    """wait() on a CANCELED task raises TaskCanceled."""
    result = backend.park(add).enqueue(1, 1)
    result.cancel()
    with pytest.raises(TaskCanceled):
        result.wait(timeout=30)


def test_wait_times_out(backend: Harness) -> None:
    """wait(timeout=...) raises TimeoutError while the task is not final."""
    result = backend.park(add).enqueue(1, 1)
    try:
        with pytest.raises(TimeoutError):
            result.wait(timeout=0.2)
        with pytest.raises(TimeoutError):
            asyncio.run(result.wait_async(timeout=0.2))
    finally:
        result.cancel()


def test_result_from_another_bridge(backend: Harness) -> None:
    """get_result(id) from another bridge on the same URL rebuilds the same execution."""
    result = add.enqueue(4, 5)
    backend.finish(result)
    again = backend.other_bridge().get_result(result.id)
    assert again == result
    assert (again.status, again.value, again.args) == (Status.SUCCEEDED, 9, [4, 5])
    assert again.finished_at == result.finished_at


def test_unknown_id_is_result_not_found(backend: Harness) -> None:
    """An id nobody knows raises ResultNotFound (a LookupError), never a silent PENDING."""
    with pytest.raises(ResultNotFound):
        backend.bridge.get_result("0" * 32)
    with pytest.raises(LookupError):
        backend.other_bridge().get_result("no-such-id")


def test_observed_statuses_follow_allowed_transitions(backend: Harness) -> None:
    """Polling a retried task only ever shows transitions the contract allows."""
    reachable = _reachable()
    result = flaky.enqueue(2)
    seen = [result.status]

    def observe() -> bool:
        status: Status = result.refresh().status
        if status is not seen[-1]:
            seen.append(status)
        return status.is_final

    backend.wait_for(observe, what="flaky task to finish")
    assert seen[-1] is Status.SUCCEEDED
    for before, after in itertools.pairwise(seen):
        assert after in reachable[before], f"{before} -> {after} in {seen}"


def test_final_states_never_change(backend: Harness) -> None:
    """A SUCCEEDED task stays SUCCEEDED: cancel() after the fact changes nothing."""
    result = add.enqueue(3, 3)
    backend.finish(result)
    finished_at = result.finished_at
    assert result.cancel().status is Status.SUCCEEDED
    assert result.refresh().value == 6 and result.finished_at == finished_at


def test_status_is_the_status_enum(backend: Harness) -> None:
    """status is a Status member, with the contract's six names."""
    result = sleep.enqueue(0)
    assert isinstance(result.status, Status)
    assert {s.value for s in Status} == {
        "PENDING", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELED"}
    backend.finish(result)


def _reachable() -> dict[Status, set[Status]]:
    closure = {status: set(targets) for status, targets in TRANSITIONS.items()}
    changed = True
    while changed:
        changed = False
        for targets in closure.values():
            extra = set().union(*(closure[t] for t in targets)) - targets if targets else set()
            if extra:
                targets |= extra
                changed = True
    return closure


def test_attempt_history_keeps_each_attempt(backend: Harness) -> None:
    """result.attempt_history has one entry per attempt: its worker, start and end, outcome
    and error, and the CPU time it used."""
    result = flaky.enqueue(2)
    backend.finish(result)
    first, second = result.attempt_history
    assert (first.attempt, first.outcome, second.attempt, second.outcome) == (
        1, "RETRYING", 2, "SUCCEEDED")
    assert first.error is not None and first.error.type == "ConnectionError"
    assert second.error is None
    for attempt in (first, second):
        assert attempt.worker and attempt.cpu_time is not None and attempt.cpu_time >= 0
        assert attempt.started_at is not None and attempt.finished_at is not None
        assert attempt.started_at <= attempt.finished_at
    assert first.finished_at <= second.started_at  # type: ignore[operator]
    assert second.worker == result.record.worker


def test_attempt_history_measures_cpu_and_peak_memory(backend: Harness) -> None:
    """An attempt's CPU time and peak resident memory are its own: at least what it burned
    and held (memory is unknown, None, where other attempts ran beside it)."""
    result = allocate.enqueue(48, seconds=0.3)
    backend.finish(result)
    [attempt] = result.attempt_history
    assert attempt.cpu_time is not None and attempt.cpu_time >= 0.25
    assert attempt.peak_memory is None or attempt.peak_memory >= 48 * 1024 * 1024


def test_an_execution_names_its_worker_as_the_worker_announces_itself(backend: Harness) -> None:
    """record.worker is the id of the worker that ran it, as the store's worker list (and
    `taskbridge status`) shows it, with the pool that worker really runs."""
    if backend.in_process:
        pytest.skip(f"{backend.engine} runs tasks in the producer's process, with no worker")
    result = add.enqueue(1, 1)
    backend.finish(result)
    announced = {w["id"]: w for w in backend.bridge.store.workers()}
    assert result.record.worker in announced, (result.record.worker, sorted(announced))
    assert announced[result.record.worker]["pool"] in backend.bridge.backend.pools
