"""Result handles: waiting, outcomes, refresh, times, lookup by id."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from taskbridge import (
    Bridge,
    ErrorInfo,
    Result,
    ResultNotFound,
    Status,
    TaskCanceled,
    TaskFailed,
    task,
)


@task(name="result.value")
def value(x: Any) -> Any:
    return x


@task(name="result.fails")
def fails() -> None:
    raise KeyError("missing")


def test_wait_returns_the_value(bridge: Bridge) -> None:
    """wait() returns the task's return value once SUCCEEDED."""
    result = value.using(bridge=bridge).enqueue({"a": [1, 2]})
    assert result.wait(timeout=5) == {"a": [1, 2]}
    assert result.status is Status.SUCCEEDED and result.value == {"a": [1, 2]}


def test_wait_raises_task_failed_with_result_and_error(bridge: Bridge) -> None:
    """wait() on a FAILED task raises TaskFailed carrying .result and .error."""
    result = fails.using(bridge=bridge).enqueue()
    with pytest.raises(TaskFailed) as caught:
        result.wait(timeout=5)
    assert caught.value.result == result and caught.value.result.id == result.id
    assert isinstance(caught.value.error, ErrorInfo)
    assert caught.value.error.type == "KeyError"
    assert result.id in str(caught.value) and "KeyError" in str(caught.value)


def test_wait_raises_task_canceled(bridge: Bridge) -> None:
    """wait() on a CANCELED task raises TaskCanceled."""
    result = value.using(bridge=bridge).enqueue(1).cancel()
    with pytest.raises(TaskCanceled) as caught:
        result.wait(timeout=5)
    assert caught.value.result.id == result.id


def test_wait_times_out_on_a_task_not_yet_due(bridge: Bridge) -> None:
    """wait(timeout) raises TimeoutError when the task is still not final."""
    result = value.using(bridge=bridge, delay=3600).enqueue(1)
    with pytest.raises(TimeoutError, match="still PENDING"):
        result.wait(timeout=0.05)


def test_wait_async_gives_the_same_outcomes(bridge: Bridge) -> None:
    """wait_async returns the value, or raises TaskFailed / TaskCanceled / TimeoutError."""
    on = value.using(bridge=bridge)

    async def scenario() -> None:
        assert await on.enqueue(3).wait_async(timeout=5) == 3
        with pytest.raises(TaskFailed):
            await fails.using(bridge=bridge).enqueue().wait_async(timeout=5)
        with pytest.raises(TaskCanceled):
            await on.enqueue(4).cancel().wait_async(timeout=5)
        with pytest.raises(TimeoutError):
            await on.using(delay=3600).enqueue(5).wait_async(timeout=0.05)

    asyncio.run(scenario())


def test_refresh_reloads_in_place_and_returns_self(bridge: Bridge) -> None:
    """refresh() updates the same handle and returns it."""
    result = value.using(bridge=bridge).enqueue(1)
    other = bridge.get_result(result.id)
    bridge.drive()
    assert result.status is Status.PENDING  # a snapshot until refreshed
    assert result.refresh() is result
    assert result.status is Status.SUCCEEDED
    assert other.refresh().status is Status.SUCCEEDED


def test_deduplicated_survives_refresh(bridge: Bridge) -> None:
    """A deduplicated handle stays marked deduplicated after refresh."""
    keyed = value.using(bridge=bridge, idempotency_key="same")
    keyed.enqueue(1)
    second = keyed.enqueue(1)
    assert second.refresh().deduplicated


def test_times_are_aware_utc_datetimes(bridge: Bridge) -> None:
    """enqueued_at, run_at, started_at and finished_at are aware UTC; duration is derived."""
    result = value.using(bridge=bridge, delay=0).enqueue(1)
    result.wait(timeout=5)
    stamps = [result.enqueued_at, result.run_at, result.started_at, result.finished_at]
    for stamp in stamps:
        assert isinstance(stamp, dt.datetime)
        assert stamp.utcoffset() == dt.timedelta(0) and stamp.tzinfo == dt.UTC
    assert result.enqueued_at <= result.started_at <= result.finished_at  # type: ignore[operator]
    elapsed = result.finished_at - result.started_at  # type: ignore[operator]
    assert result.duration is not None
    assert abs(result.duration - elapsed) <= dt.timedelta(microseconds=1)  # float rounding


def test_unfinished_results_have_no_duration(bridge: Bridge) -> None:
    """duration is None until the task has started and finished."""
    assert value.using(bridge=bridge).enqueue(1).duration is None


def test_unknown_ids_are_result_not_found(bridge: Bridge) -> None:
    """An id nobody knows is ResultNotFound (a LookupError), never a silent PENDING."""
    with pytest.raises(ResultNotFound, match="no-such-id"):
        bridge.get_result("no-such-id")
    with pytest.raises(LookupError):
        bridge.get_result("")


def test_handles_compare_by_id(bridge: Bridge) -> None:
    """Two handles on one execution are equal and hash alike; repr shows name, id, status."""
    result = value.using(bridge=bridge).enqueue(1)
    again = bridge.get_result(result.id)
    assert result == again and hash(result) == hash(again) and len({result, again}) == 1
    assert isinstance(result, Result)
    assert repr(result) == f"<Result result.value [{result.id}] PENDING>"
